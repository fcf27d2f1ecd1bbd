#!/usr/bin/env bash
# Build, once, the debug kernel `make check-debug` boots: Debian's
# linux-source-6.12 with x86_64_defconfig, kvm_guest.config and
# tests/vm/debug-kernel.config (KASAN, lockdep, kmemleak, UBSAN, ...).
#   tests/vm/debug-kernel.sh
# Prints the kernel's directory on stdout; tests/check boots it when
# DEBUG_KERNEL_DIR names it (see tests/vm/lib.sh). The directory holds
#   vmlinuz, System.map, release  the image and its `uname -r`
#   src/                          the built tree, cleaned (`make clean` keeps
#                                 what external modules need): KDIR
#   root/lib/modules/RELEASE/     modules_install (modules.builtin, ...), for
#                                 modprobe -d root -S RELEASE
#   build.log                     the build's output
# It lives in DEBUG_KERNEL_CACHE (default /var/cache/dm-clone/debug-kernel),
# under a key made of the source version and the config fragment; a finished
# build is reused. Measured here (2 cores, make -j3): 23 minutes idle, 65
# with other VMs running; 1.7 GiB kept (more while building).
# DEBUG_KERNEL_SOURCE: another source tarball (default
# /usr/src/linux-source-6.12.tar.xz, from the package linux-source-6.12).
set -euo pipefail
# shellcheck disable=SC1091 # lib.sh: VM_DIR, die, note
. "$(dirname "$0")/lib.sh"

pkg=linux-source-6.12
tarball=${DEBUG_KERNEL_SOURCE:-/usr/src/$pkg.tar.xz}
cache=${DEBUG_KERNEL_CACHE:-/var/cache/dm-clone/debug-kernel}
frag=$VM_DIR/debug-kernel.config

[ -e "$tarball" ] || die "no $tarball (apt install $pkg, or run LONG=debug tests/vm/deps.sh)"
if [ -n "${DEBUG_KERNEL_SOURCE:-}" ]; then
	version=$(sha256sum "$tarball" | cut -d' ' -f1)
else
	version="$pkg $(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null)" ||
		die "$pkg is not installed"
fi
key=$({ echo "$version"; cat "$frag"; } | sha256sum | cut -c1-16)
dir=$cache/$key
mkdir -p "$cache"

# One build per key at a time; a second caller waits and then reuses it.
exec {lockfd}>"$cache/$key.lock"
if ! flock -n "$lockfd"; then
	note "debug kernel: waiting for another build of $dir"
	flock "$lockfd"
fi
if [ -e "$dir/ready" ]; then
	echo "$dir"
	exit 0
fi

note "debug kernel: building in $dir (23 to 65 minutes on 2 cores; log: $dir/build.log)"
rm -rf "$dir"
mkdir -p "$dir"
log=$dir/build.log
t0=$SECONDS
{
	echo "source: $version ($tarball)"
	tar -xJf "$tarball" -C "$dir"
	mv "$dir/$pkg" "$dir/src"
} >"$log" 2>&1 || die "extracting $tarball failed (see $log)"

src=$dir/src
jobs=$(($(nproc) + 1))
kmake() { make -C "$src" -j"$jobs" "$@" >>"$log" 2>&1 || die "make $* failed; last lines of $log:
$(tail -n 20 "$log")"; }

# The fragment's lines: CONFIG_X=V or "# CONFIG_X is not set".
wanted() { grep -E '^(CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set$)' "$frag"; }

kmake x86_64_defconfig
kmake kvm_guest.config
args=()
while read -r line; do
	case $line in
	"# CONFIG_"*) opt=${line#\# CONFIG_}; args+=(--disable "${opt%% *}") ;;
	*=y) opt=${line%%=*}; args+=(--enable "${opt#CONFIG_}") ;;
	*=\"*) opt=${line%%=*}; val=${line#*=}; val=${val#\"}; val=${val%\"}
		args+=(--set-str "${opt#CONFIG_}" "$val") ;;
	*) opt=${line%%=*}; args+=(--set-val "${opt#CONFIG_}" "${line#*=}") ;;
	esac
done < <(wanted)
"$src/scripts/config" --file "$src/.config" "${args[@]}" >>"$log" 2>&1 || die "scripts/config failed (see $log)"
kmake olddefconfig

# Every wanted line must have survived olddefconfig (a missing dependency
# silently drops an option).
lost=()
while read -r line; do
	case $line in
	"# CONFIG_"*)
		opt=${line#\# }; opt=${opt%% *}
		grep -q "^$opt=" "$src/.config" && lost+=("$line (is: $(grep "^$opt=" "$src/.config"))") ;;
	*)
		grep -qxF "$line" "$src/.config" ||
			lost+=("$line (is: $(grep -E "^(# )?${line%%=*}[= ]" "$src/.config" || echo absent))") ;;
	esac
done < <(wanted)
[ ${#lost[@]} = 0 ] || die "the config lost options (missing dependencies?):$(printf '\n  %s' "${lost[@]}")"

kmake bzImage modules
kmake INSTALL_MOD_PATH="$dir/root" modules_install
release=$(make -s -C "$src" kernelrelease)
cp "$src/arch/x86/boot/bzImage" "$dir/vmlinuz"
cp "$src/System.map" "$dir/System.map"
# make clean keeps what building external modules needs (.config, headers,
# scripts, Module.symvers) and drops the objects: about 2/3 of the disk.
kmake clean
echo "$release" >"$dir/release"
{ echo "built $release in $((SECONDS - t0)) s"; du -sh "$dir"; } >>"$log"
note "debug kernel: $release built in $((SECONDS - t0)) s, $(du -sh "$dir" | cut -f1) in $dir"
touch "$dir/ready"
echo "$dir"
