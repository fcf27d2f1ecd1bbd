#!/usr/bin/env bash
# host/install: `make install` from source, for every test kernel (the
# newest of each installed line), each built in its own copy of the tree
# (the files git knows, as make deb takes them) in WORKDIR:
#  - make install KVER=K DESTDIR=D puts dm-clone.ko with K's vermagic in
#    D/lib/modules/K/updates/ (no depmod files in D), the metadata tools,
#    clone-migrate, clone-activate, their man pages and dm-clone(7) under
#    D/usr/local, the initramfs-tools hook and local-top script under
#    D/usr/share, the systemd units under D/usr/local/lib/systemd/system
#    with ExecStart= at the installed clone-activate, the generator
#    clone-activate-generator under D/usr/local/lib/systemd/system-generators,
#    and writes nothing outside D;
#  - KDIR=/lib/modules/K/build alone installs for K as well;
#  - PREFIX=/opt/dm-clone moves the tools, the man pages, the units and
#    their ExecStart=, the generator, and the hook's sbindir=;
#  - without DESTDIR it installs in /lib/modules/K and runs depmod for K,
#    not for the running kernel: modinfo -k K finds the module;
#  - make and make install for a kernel without headers stop before kbuild
#    and say what to install (so does a plain make if the running kernel has
#    none).
# The host is left alone: everything runs in a private mount namespace with
# overlays on /usr, /etc (and /lib if it is not a link to usr/lib) whose
# upper layers are on a tmpfs; whatever make writes outside WORKDIR lands
# there, and is checked.
#   tests/host/install.sh WORKDIR [KVER...]
set -uo pipefail
# shellcheck disable=SC1091 # ../vm/lib.sh: REPO, default_kernels
. "$(dirname "$0")/../vm/lib.sh"

work=${1:?usage: install.sh WORKDIR [KVER...]}
shift

if [ -z "${INSTALL_SH_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "FAIL: needs root (mount namespace, overlays)"; exit 1; }
	command -v unshare >/dev/null || { echo "FAIL: no unshare (util-linux)"; exit 1; }
	rm -rf "$work"
	mkdir -p "$work"
	work=$(cd "$work" && pwd)
	case $work/ in /usr/* | /etc/* | /lib/*) echo "FAIL: WORKDIR $work is under an overlaid directory"; exit 1 ;; esac
	t0=$SECONDS
	INSTALL_SH_NS=1 unshare -m bash "$0" "$work" "$@"
	rc=$?
	echo "install.sh: $((SECONDS - t0))s"
	[ $rc = 0 ] && rm -rf "$work"
	exit $rc
fi

# ---- in the private mount namespace
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
die_ns() { echo "FAIL: $*"; exit 1; }

if [ $# -gt 0 ]; then
	kernels=("$@")
else
	mapfile -t kernels < <(default_kernels)
fi
[ ${#kernels[@]} -gt 0 ] || die_ns "no kernel with headers installed"

ovl=$work/ovl
mkdir -p "$ovl" "$work/logs"
mount --make-rprivate / || die_ns "mount --make-rprivate / failed"
mount -t tmpfs tmpfs "$ovl" || die_ns "cannot mount a tmpfs on $ovl"
OVERLAID=()
for d in /usr /etc /lib; do
	[ -L "$d" ] && continue
	n=${d#/}
	mkdir -p "$ovl/$n-up" "$ovl/$n-work"
	mount -t overlay overlay -o "lowerdir=$d,upperdir=$ovl/$n-up,workdir=$ovl/$n-work" "$d" ||
		die_ns "cannot mount an overlay on $d"
	OVERLAID+=("$d")
done

# What was written under the overlaid directories so far, one path a line.
written() {
	local d
	for d in "${OVERLAID[@]}"; do
		(cd "$ovl/${d#/}-up" && find . -mindepth 1 \( ! -type d -o -empty \) -printf "$d/%P\n")
	done | sort
}

# The tree as make deb takes it: the files git knows, in their working copies.
if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$REPO" ls-files -z --cached --others --exclude-standard |
		(cd "$REPO" && tar --null --ignore-failed-read -T - -cf - 2>/dev/null)
else
	tar -C "$REPO" --exclude=./build --exclude=./results -cf - .
fi >"$work/src.tar" || die_ns "cannot copy the tree"
tree() { # tree DIR: a fresh copy of the sources in DIR
	rm -rf "$1"
	mkdir -p "$1"
	tar -xf "$work/src.tar" -C "$1"
}

# run NAME ARGS...: make ARGS, its output in logs/NAME; 1 if make failed
run() {
	local name=$1 t0=$SECONDS
	shift
	make "$@" >"$work/logs/$name" 2>&1
	local rc=$?
	echo "  $name: exit $rc, $((SECONDS - t0))s"
	[ $rc = 0 ] || { sed 's/^/    | /' "$work/logs/$name" | tail -n 15; return 1; }
}

tools=$(sed -n 's/^TOOLS *:= *//p' "$REPO/tools/Makefile")
[ -n "$tools" ] || die_ns "cannot read TOOLS from tools/Makefile"
units="clone-activate.service clone-activate-netdev.service clone-finish.service clone-trim.service"

# vermagic FILE: its kernel version
vermagic() { modinfo -F vermagic "$1" 2>/dev/null | awk '{ print $1 }'; }

# check_module ROOT KVER: ROOT/lib/modules/KVER/updates/dm-clone.ko* for KVER
check_module() {
	local root=$1 k=$2 ko vm
	ko=$(find "$root/lib/modules/$k/updates" -maxdepth 1 -name 'dm-clone.ko*' 2>/dev/null | head -n 1)
	if [ -z "$ko" ]; then
		bad "$k: no dm-clone.ko in ${root#"$work"/}/lib/modules/$k/updates/ (there: $(find "$root/lib/modules" -name 'dm-clone.ko*' 2>/dev/null | tr '\n' ' '))"
		return
	fi
	vm=$(vermagic "$ko")
	[ "$vm" = "$k" ] || bad "$k: ${ko#"$work"/} has vermagic '$vm'"
}

# check_files ROOT PREFIX: tools, scripts, man pages, hook, units under ROOT
check_files() {
	local root=$1 prefix=$2 sbin=$1$2/sbin man=$1$2/share/man udir=$1$2/lib/systemd/system
	local t u exe n what=${1#"$work"/}
	[ -n "$what" ] || what="no DESTDIR"
	for t in $tools clone-migrate clone-activate; do
		[ -x "$sbin/$t" ] || bad "$what: no executable $prefix/sbin/$t"
	done
	for t in $tools clone-migrate clone-activate; do
		[ -f "$man/man8/$t.8" ] || bad "$what: no $prefix/share/man/man8/$t.8"
	done
	[ -f "$man/man5/clonetab.5" ] || bad "$what: no $prefix/share/man/man5/clonetab.5"
	[ -f "$man/man7/dm-clone.7" ] || bad "$what: no $prefix/share/man/man7/dm-clone.7"
	cmp -s "$work/src-none/scripts/clone-activate" "$sbin/clone-activate" ||
		bad "$what: $prefix/sbin/clone-activate is not scripts/clone-activate"
	local hook=$root/usr/share/initramfs-tools/hooks/dm-clone
	local top=$root/usr/share/initramfs-tools/scripts/local-top/dm-clone
	[ -x "$hook" ] || bad "$what: no executable /usr/share/initramfs-tools/hooks/dm-clone"
	[ -x "$top" ] || bad "$what: no executable /usr/share/initramfs-tools/scripts/local-top/dm-clone"
	if [ -f "$hook" ]; then
		sh -n "$hook" || bad "$what: the installed hook is not valid sh"
		grep -qx "sbindir=$prefix/sbin" "$hook" ||
			bad "$what: the hook does not look in $prefix/sbin ($(grep '^sbindir=' "$hook"))"
	fi
	for u in $units; do
		if [ ! -f "$udir/$u" ]; then
			bad "$what: no $prefix/lib/systemd/system/$u"
			continue
		fi
		n=0
		while read -r exe; do
			n=$((n + 1))
			[ "$exe" = "$prefix/sbin/clone-activate" ] || bad "$what: $u runs $exe, not $prefix/sbin/clone-activate"
			[ -x "$root$exe" ] || bad "$what: $u runs $exe, which is not installed"
		done < <(sed -n 's/^ExecStart=[-@:+!]*\([^ ]*\).*/\1/p' "$udir/$u")
		[ $n -gt 0 ] || bad "$what: $u has no ExecStart="
	done
	[ -x "$1$2/lib/systemd/system-generators/clone-activate-generator" ] ||
		bad "$what: no executable $prefix/lib/systemd/system-generators/clone-activate-generator"
}

# ---- 1. no headers: the message, before kbuild
echo "== make without the kernel's headers"
tree "$work/src-none"
nohdr() { # nohdr NAME ARGS...: make ARGS fails before kbuild; its output in logs/NAME
	local name=$1
	shift
	make -C "$work/src-none" "$@" >"$work/logs/$name" 2>&1 && { bad "make $* succeeded"; return; }
	echo "  make ${*:-(no arguments)}:"
	sed 's/^/    | /' "$work/logs/$name"
	! grep -qE 'Entering directory .*(/lib/modules|/usr/src)|No such file or directory' "$work/logs/$name" ||
		bad "make $*: kbuild ran, or a raw error"
	says "$name" "KVER=<version>"
}
says() { # says NAME TEXT...: logs/NAME has each TEXT
	local name=$1 t
	shift
	for t in "$@"; do
		grep -qF -- "$t" "$work/logs/$name" || bad "$name: the message lacks '$t'"
	done
}
nohdr none-make KVER=9.9.9-nonexistent
says none-make "apt install linux-headers-9.9.9-nonexistent" "kernel-devel-9.9.9-nonexistent"
nohdr none-install install KVER=9.9.9-nonexistent DESTDIR="$work/root-none"
says none-install "apt install linux-headers-9.9.9-nonexistent"
[ -z "$(find "$work/root-none" -path '*/lib/modules/*' 2>/dev/null)" ] || bad "make install KVER=9.9.9-nonexistent installed a module"
nohdr none-kdir KDIR="$work/no-kdir"
says none-kdir "KDIR=$work/no-kdir"
running=$(uname -r)
if [ ! -e "/lib/modules/$running/build/Makefile" ]; then
	nohdr none-running
	says none-running "apt install linux-headers-$running"
fi

# ---- 2. DESTDIR installs
for k in "${kernels[@]}"; do
	echo "== $k: make install DESTDIR=root-$k KVER=$k"
	src=$work/src-$k
	tree "$src"
	root=$work/root-$k
	if run "install-$k" -C "$src" install DESTDIR="$root" KVER="$k"; then
		check_module "$root" "$k"
		[ -z "$(find "$root/lib/modules/$k" -maxdepth 1 -name 'modules.*' 2>/dev/null)" ] ||
			bad "$k: depmod wrote into DESTDIR: $(cd "$root/lib/modules/$k" && echo modules.*)"
		other=$(find "$root/lib/modules" -mindepth 1 -maxdepth 1 ! -name "$k" -printf '%f ' 2>/dev/null)
		[ -z "$other" ] || bad "$k: make install KVER=$k installed for $other too"
		check_files "$root" /usr/local
	else
		bad "$k: make install DESTDIR=... KVER=$k failed"
	fi
	echo "== $k: make install DESTDIR=root-kdir-$k KDIR=/lib/modules/$k/build"
	if run "install-kdir-$k" -C "$src" install DESTDIR="$work/root-kdir-$k" KDIR="/lib/modules/$k/build"; then
		check_module "$work/root-kdir-$k" "$k"
	else
		bad "$k: make install DESTDIR=... KDIR=/lib/modules/$k/build failed"
	fi
done
k=${kernels[0]}
echo "== $k: make install DESTDIR=root-opt PREFIX=/opt/dm-clone"
if run install-opt -C "$work/src-$k" install DESTDIR="$work/root-opt" PREFIX=/opt/dm-clone KVER="$k"; then
	check_files "$work/root-opt" /opt/dm-clone
else
	bad "make install PREFIX=/opt/dm-clone failed"
fi
w=$(written)
[ -z "$w" ] || bad "make install with DESTDIR wrote outside it: $(echo "$w" | head -n 5 | tr '\n' ' ')"

# ---- 3. installs in place (into the overlays): depmod for the right kernel
for k in "${kernels[@]}"; do
	echo "== $k: make install KVER=$k (no DESTDIR, into the overlays)"
	if run "install-real-$k" -C "$work/src-$k" install KVER="$k"; then
		check_module "" "$k"
		p=$(modinfo -k "$k" -n dm-clone 2>/dev/null)
		case $p in
		/lib/modules/$k/updates/dm-clone.ko*) echo "  modinfo -k $k -n dm-clone: $p" ;;
		*) bad "$k: after make install, modinfo -k $k finds dm-clone at '$p' (depmod not run for $k?)" ;;
		esac
	else
		bad "$k: make install KVER=$k failed"
	fi
	check_files "" /usr/local
done
# the module directories written: only those of the kernels installed for
mods=$(readlink -f /lib/modules)
for d in $(written | sed -n "s|^$mods/\([^/]*\)/.*|\1|p" | sort -u); do
	printf '%s\n' "${kernels[@]}" | grep -qxF -- "$d" || bad "make install wrote in $mods/$d"
done
echo "written outside WORKDIR by the installs without DESTDIR:"
written | sed 's/^/  /'

[ $fails = 0 ] || { echo "FAIL: $fails checks failed (logs in $work/logs)"; exit 1; }
echo "ok: make install for ${kernels[*]}: DESTDIR, KDIR, PREFIX, depmod, no headers"
