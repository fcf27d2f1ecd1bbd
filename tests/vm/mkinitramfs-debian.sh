#!/usr/bin/env bash
# Build a real Debian initramfs (initramfs-tools' mkinitramfs) for KVER with
# the dm-clone boot integration installed as a package would install it:
#   tests/vm/mkinitramfs-debian.sh KVER OUT CLONETAB
# CLONETAB is a file: the /etc/clonetab the initramfs gets.
#
# The host is left alone: mkinitramfs runs in a private mount namespace in
# which read-only overlays add
#  - /etc/clonetab,
#  - clone-activate (`make -C scripts install`) and the static clone_check,
#    clone_dump of build/tools/ in /usr/local/sbin,
#  - build/KVER/dm-clone.ko (or $CLONE_KO) in /lib/modules/KVER/updates/dkms
#    (where DKMS puts it), with a depmod run whose files land in a scratch
#    upper layer;
# and a private initramfs-tools configuration directory (mkinitramfs -d)
# holds initramfs.conf (MODULES=list: virtio, ext4, dm-mod), the hook and
# the local-top script (`make -C scripts install-boot INITRAMFSDIR=...`).
# Every hook of the host's initramfs-tools runs as usual (udev, dmsetup,
# busybox, fsck, ...).
#
# With INSTALLED=DIR (tests/vm/deb-install.sh: the .debs installed for
# real) the overlays are that install's layers instead: the module DKMS
# built, the packages' tools, hook and local-top script in Debian's paths;
# only /etc/clonetab and the private configuration directory
# (initramfs.conf, modules) come from here.
#
# The result is cached in build/initramfs-debian/KVER/, keyed on all of
# these inputs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kver=${1:?usage: mkinitramfs-debian.sh KVER OUT CLONETAB}
out=${2:?usage: mkinitramfs-debian.sh KVER OUT CLONETAB}
clonetab=${3:?usage: mkinitramfs-debian.sh KVER OUT CLONETAB}
[ -d "/lib/modules/$kver" ] || die "kernel $kver is not installed"
command -v mkinitramfs >/dev/null || die "no mkinitramfs (apt-get install initramfs-tools)"
installed=${INSTALLED:-}
ko=${CLONE_KO:-$BUILD/$kver/dm-clone.ko}
TOOLS="clone_check clone_dump"
if [ -n "$installed" ]; then
	[ -e "$installed/done" ] || die "$installed is not a finished install (tests/vm/deb-install.sh)"
	ko=$installed/log
	TOOLS=
fi
[ -e "$ko" ] || die "$ko is not built (tests/vm/build-module.sh $kver)"
for t in $TOOLS; do
	[ -x "$BUILD/tools/$t" ] || die "$BUILD/tools/$t is not built (make -C tools guest)"
done
[ -r "$clonetab" ] || die "no clonetab $clonetab"

MODULES_LIST="virtio_pci virtio_blk ext4 dm-mod"
cache=$BUILD/initramfs-debian/$kver
mkdir -p "$cache"

key=$( {
	sha256sum "$0" "$REPO/scripts/Makefile" "$REPO/scripts/clone-activate" \
		"$REPO"/scripts/initramfs-tools/hooks/* "$REPO"/scripts/initramfs-tools/scripts/*/* \
		"$ko" "$clonetab" $(for t in $TOOLS; do echo "$BUILD/tools/$t"; done) | awk '{ print $1 }'
	echo "$MODULES_LIST $installed"
	dpkg-query -W initramfs-tools dmsetup udev busybox klibc-utils kmod 2>/dev/null
	ls -lL --time-style=+%s "/boot/vmlinuz-$kver" "/lib/modules/$kver/modules.dep"
} | sha256sum | cut -c1-16)
img=$cache/initrd-$key.img
if [ -e "$img" ]; then
	cp "$img" "$out"
	echo "cached: $img"
	exit 0
fi

stage=$(mktemp -d "$cache/stage.XXXXXX")
cleanup() { rm -rf "$stage"; }
trap cleanup EXIT

# What the packages install, into the stage (without INSTALLED).
conf=$stage/conf
mkdir -p "$stage/etc" "$conf/conf.d" "$stage/mod-up/updates/dkms" "$stage/mod-work"
install -m 644 "$clonetab" "$stage/etc/clonetab"
if [ -z "$installed" ]; then
	make -s -C "$REPO/scripts" install install-boot DESTDIR="$stage" PREFIX=/usr/local \
		INITRAMFSDIR=/conf UNITDIR=/units
	for t in $TOOLS; do install -m 755 "$BUILD/tools/$t" "$stage/usr/local/sbin/"; done
	cp "$ko" "$stage/mod-up/updates/dkms/dm-clone.ko"
fi
cat >"$conf/initramfs.conf" <<EOF
# dm-clone boot test: only the drivers the VM needs
MODULES=list
BUSYBOX=auto
KEYMAP=n
COMPRESS=zstd
DEVICE=
NFSROOT=auto
RUNSIZE=10%
FSTYPE=auto
EOF
printf '%s\n' $MODULES_LIST >"$conf/modules"

mods=$(readlink -f "/lib/modules/$kver")
if [ -z "$installed" ]; then
	inner='set -e
mount --make-rprivate /
mount -t overlay overlay -o "lowerdir=$S/etc:/etc" /etc
mount -t overlay overlay -o "lowerdir=$S/usr/local:/usr/local" /usr/local
mount -t overlay overlay -o "lowerdir=$M,upperdir=$S/mod-up,workdir=$S/mod-work" "$M"
depmod -a "$K"'
else
	# the install's layers (/etc/clonetab above them), writes (mkinitramfs
	# uses /var/tmp) to the stage
	inner='set -e
mount --make-rprivate /
for d in $(cat "$I/dirs"); do
	if [ $d = etc ]; then l=$S/etc:$I/etc; else l=$I/$d; fi
	mkdir -p "$S/up/$d" "$S/wk/$d"
	mount -t overlay overlay -o "lowerdir=$l:/$d,upperdir=$S/up/$d,workdir=$S/wk/$d" "/$d"
done'
fi
inner="$inner"'
modinfo -k "$K" -n dm-clone
mkinitramfs -v -d "$S/conf" -o "$O" "$K"'
t0=$SECONDS
S=$stage M=$mods K=$kver I=$installed O=$stage/initrd.img unshare -m sh -c "$inner" >"$cache/mkinitramfs.log" 2>&1 || {
	tail -n 40 "$cache/mkinitramfs.log" >&2
	die "mkinitramfs failed (log: $cache/mkinitramfs.log)"
}
# What the hook put in: the module, the tools, the clonetab.
lsinitramfs "$stage/initrd.img" >"$cache/contents.txt"
for f in 'updates/dkms/dm-clone.ko' 'sbin/dmsetup$' 'sbin/clone_check$' 'sbin/clone-activate$' \
	'etc/clonetab$' 'scripts/local-top/dm-clone$'; do
	grep -q "$f" "$cache/contents.txt" || die "the initramfs lacks $f (see $cache/contents.txt)"
done
rm -f "$cache"/initrd-*.img
mv "$stage/initrd.img" "$img"
cp "$img" "$out"
echo "built $img in $((SECONDS - t0))s"
