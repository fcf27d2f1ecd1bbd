#!/usr/bin/env bash
# host/dkms: `dkms add` and `dkms build` of the module, from the files
# dm-clone-dkms installs in /usr/src (Kbuild, dm-clone-*.[ch], dkms.conf),
# for every test kernel (the newest of each installed line, 6.1 and 6.12):
# the built dm-clone.ko exists for each, with that kernel's vermagic.
#   tests/host/dkms.sh WORKDIR [KVER...]
# The host's DKMS state is left alone: the source and DKMS trees are in
# WORKDIR (--sourcetree, --dkmstree), and dkms runs in a private mount
# namespace with a tmpfs on /var/lib/dkms, where it would otherwise make
# its module signing key. tests/check runs it in the background while the
# VMs run (results/host/dkms.*).
set -uo pipefail
# shellcheck disable=SC1091 # ../vm/lib.sh: REPO, default_kernels
. "$(dirname "$0")/../vm/lib.sh"

work=${1:?usage: dkms.sh WORKDIR [KVER...]}
shift
command -v dkms >/dev/null || { echo "FAIL: no dkms (tests/vm/deps.sh installs it)"; exit 1; }
rm -rf "$work"
mkdir -p "$work/src" "$work/tree"
work=$(cd "$work" && pwd)

if [ $# -gt 0 ]; then
	kernels=("$@")
else
	mapfile -t kernels < <(default_kernels)
fi
[ ${#kernels[@]} -gt 0 ] || { echo "FAIL: no kernel with headers installed"; exit 1; }

ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$REPO/dkms.conf")
[ -n "$ver" ] || { echo "FAIL: no PACKAGE_VERSION in dkms.conf"; exit 1; }
src=$work/src/dm-clone-$ver
mkdir -p "$src"
# what debian/rules installs into /usr/src/dm-clone-VERSION
install -m 644 "$REPO"/Kbuild "$REPO"/dm-clone-*.c "$REPO"/dm-clone-*.h "$REPO"/dkms.conf "$src/"

# The commands, in a private mount namespace (see above).
cat >"$work/run.sh" <<'EOF'
set -u
if [ -d /var/lib/dkms ]; then
	mount --make-rprivate / && mount -t tmpfs tmpfs /var/lib/dkms || exit 1
fi
D="--dkmstree $W/tree --sourcetree $W/src"
echo "\$ dkms add -m dm-clone -v $V"
dkms add -m dm-clone -v "$V" $D || exit 1
for k in $KERNELS; do
	echo "\$ dkms build -m dm-clone -v $V -k $k"
	t0=$(date +%s)
	dkms build -m dm-clone -v "$V" -k "$k" $D || { cat "$W/tree/dm-clone/$V/build/make.log" 2>/dev/null | tail -n 30; exit 1; }
	echo "built for $k in $(($(date +%s) - t0))s"
done
echo "\$ dkms status -m dm-clone"
dkms status -m dm-clone $D
# A kernel with a dm-clone of its own: the headers of the first test
# kernel, with CONFIG_DM_CLONE=m in a .config of their own. DKMS must skip
# it (BUILD_EXCLUSIVE_CONFIG, exit 77) and build nothing.
k=${KERNELS%% *}
mkdir -p "$W/own"
for f in /lib/modules/$k/build/* /lib/modules/$k/build/.[!.]*; do
	[ "${f##*/}" = .config ] || ln -s "$f" "$W/own/"
done
{ grep -v '^# CONFIG_DM_CLONE is not set' "/lib/modules/$k/build/.config"; echo CONFIG_DM_CLONE=m; } >"$W/own/.config"
echo "\$ dkms build -m dm-clone -v $V -k $k-own --kernelsourcedir $W/own (CONFIG_DM_CLONE=m)"
dkms build -m dm-clone -v "$V" -k "$k-own" --kernelsourcedir "$W/own" $D >"$W/own.log" 2>&1
echo "exit $?" >>"$W/own.log"
cat "$W/own.log"
EOF
W=$work V=$ver KERNELS="${kernels[*]}" unshare -m bash "$work/run.sh" 2>&1
rc=$?
[ $rc = 0 ] || { echo "FAIL: dkms add/build failed (exit $rc)"; exit 1; }

fails=0
for k in "${kernels[@]}"; do
	ko=$(find "$work/tree/dm-clone/$ver/$k" -path '*/module/dm-clone.ko*' 2>/dev/null | head -n 1)
	if [ -z "$ko" ]; then
		echo "FAIL: no built dm-clone.ko for $k in the DKMS tree"
		fails=$((fails + 1))
		continue
	fi
	vm=$(modinfo -F vermagic "$ko" | awk '{ print $1 }')
	if [ "$vm" != "$k" ]; then
		echo "FAIL: ${ko#"$work"/} has vermagic $vm, not $k"
		fails=$((fails + 1))
		continue
	fi
	echo "ok: ${ko#"$work"/} (vermagic $vm, $(stat -c %s "$ko") bytes)"
done
if grep -qx 'exit 77' "$work/own.log" && grep -q BUILD_EXCLUSIVE "$work/own.log"; then
	echo "ok: dkms skips a kernel that has CONFIG_DM_CLONE (exit 77, BUILD_EXCLUSIVE)"
else
	echo "FAIL: dkms did not skip a kernel that has CONFIG_DM_CLONE: $(tail -n 3 "$work/own.log" | tr '\n' ' ')"
	fails=$((fails + 1))
fi
dkms status -m dm-clone --dkmstree "$work/tree" --sourcetree "$work/src" | grep -c ': built' |
	{ read -r n; [ "$n" = ${#kernels[@]} ] || { echo "FAIL: dkms status shows $n built, not ${#kernels[@]}"; exit 1; }; } ||
	fails=$((fails + 1))
rm -rf "$work"
[ $fails = 0 ] || exit 1
echo "ok: dkms built dm-clone $ver for ${kernels[*]}"
