#!/usr/bin/env bash
# Build the in-kernel dm-clone (Linux's drivers/md/dm-clone-*) for KVER as a
# peer to benchmark against, from Debian's linux-source-<line> tarball:
#   bench/build-peer.sh KVER        -> $BUILD/peer/KVER/dm-clone.ko
# Only the dm-clone sources and the drivers/md headers they include are
# extracted, into the build directory; nothing of them enters the repo.
set -euo pipefail
. "$(dirname "$0")/../tests/vm/lib.sh"

kver=${1:?usage: build-peer.sh KVER}
line=$(kernel_line "$kver")
tarball=/usr/src/linux-source-$line.tar.xz
out=$BUILD/peer/$kver
kdir=/lib/modules/$kver/build

[ -e "$kdir/Makefile" ] || die "no headers for $kver"
if [ ! -e "$tarball" ]; then
	[ -z "${NO_DEPS:-}" ] && [ "$(id -u)" = 0 ] &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "linux-source-$line" >/dev/null
	[ -e "$tarball" ] || die "no $tarball (apt-get install linux-source-$line)"
fi
if [ -e "$out/dm-clone.ko" ] && [ "$out/dm-clone.ko" -nt "$tarball" ]; then
	echo "$out/dm-clone.ko"
	exit 0
fi

rm -rf "$out"
mkdir -p "$out"
tar -xJf "$tarball" -C "$out" --strip-components=3 --wildcards \
	'*/drivers/md/dm-clone-*' '*/drivers/md/dm*.h' '*/drivers/md/persistent-data/*.h'
[ -e "$out/dm-clone-target.c" ] || die "$tarball has no drivers/md/dm-clone-target.c"
printf 'obj-m := dm-clone.o\ndm-clone-y := dm-clone-target.o dm-clone-metadata.o\n' >"$out/Kbuild"
make -C "$kdir" M="$out" modules >"$out/build.log" 2>&1 || { cat "$out/build.log" >&2; die "peer build failed for $kver"; }
[ -e "$out/dm-clone.ko" ] || die "peer build produced no dm-clone.ko"
echo "$out/dm-clone.ko"
