#!/usr/bin/env bash
# Build dm-clone.ko for one kernel in build/KVER/, from a copy of the sources,
# so builds for several kernels never share object files.
#   tests/vm/build-module.sh KVER
# MODULE_SRC=dir overrides where the sources come from (default: repo top).
# Any "warning:" or "error:" from the compiler fails the build.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kver=${1:?usage: build-module.sh KVER}
kdir=$(kernel_build "$kver")
[ -e "$kdir/Makefile" ] || die "no headers for $kver ($kdir)"
src=${MODULE_SRC:-$REPO}
out=$BUILD/$kver

shopt -s nullglob
files=("$src"/*.c "$src"/*.h "$src"/Kbuild)
[ -e "$src/Kbuild" ] || die "no Kbuild in $src"
[ ${#files[@]} -gt 1 ] || die "no module sources (*.c) in $src"

# Fresh copy each time: stale objects from removed files must not survive.
rm -rf "$out"
mkdir -p "$out"
cp "${files[@]}" "$out/"

log=$out/build.log
if ! make -C "$kdir" M="$out" W=1 modules >"$log" 2>&1; then
	cat "$log" >&2
	die "module build failed for $kver"
fi
if grep -iE 'warning:|error:' "$log" >&2; then
	die "module build for $kver printed warnings (above); full log: $log"
fi
[ -e "$out/dm-clone.ko" ] || die "build produced no dm-clone.ko"
echo "$out/dm-clone.ko"
