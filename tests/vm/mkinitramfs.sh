#!/usr/bin/env bash
# Build a throw-away initramfs for booting KVER under qemu:
#   tests/vm/mkinitramfs.sh KVER OUT
# OUT is two concatenated cpio archives (the kernel unpacks both):
#  - a per-kernel base, cached in build/initramfs/KVER/: busybox, dmsetup, fio,
#    e2fsprogs and their shared libraries, and the in-tree modules we need
#    (decompressed, since busybox insmod cannot read .ko.xz), in load order;
#  - a small project part rebuilt every time: /init, the tests/ tree at /tests,
#    build/KVER/dm-clone.ko at /lib/modules/dm-clone.ko and build/tools/* in
#    /usr/local/bin.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kver=${1:?usage: mkinitramfs.sh KVER OUT}
out=${2:?usage: mkinitramfs.sh KVER OUT}
# The host's /lib/modules, or the debug kernel's own root (vm/lib.sh).
modroot=$(kernel_modroot "$kver")
[ -d "$modroot/lib/modules/$kver" ] || die "kernel $kver is not installed"

# In-tree modules loaded at boot, dependencies first (resolved below).
# dm-clone itself is not: tests load it through load_clone_module.
MODULES="virtio_pci virtio_blk dm-mod dm-bufio libcrc32c crc32c-intel crc32c_generic
	dm-persistent-data dm-delay dm-flakey dm-log-writes dm-snapshot dm-zero loop nbd ext4 xfs"
# Modules the tests of a remote source load themselves (tests/lib/remote.sh):
# netem for a lossy link, the LIO iSCSI target and the initiator. A kernel
# that lacks one gets none of them, and those tests skip.
REMOTE_MODULES="sch_netem configfs target_core_mod target_core_iblock iscsi_target_mod
	iscsi_tcp sd_mod"
# Host programs the tests use (with their libraries); busybox covers the rest.
PROGRAMS="dmsetup fio mke2fs mkfs.ext4 e2fsck fsck.ext4 dumpe2fs debugfs blkid bash flock mkfs.xfs fallocate
	nbd-server nbd-client tc iscsid iscsiadm lvm nbdkit xz"
# nbdkit's plugin and filters that the tests use, loaded from its own
# directory (the same path in the guest), with their libraries; xz (above)
# makes the compressed image that the xz filter reads (busybox only unpacks)
NBDKIT_MODULES="plugins/nbdkit-curl-plugin.so filters/nbdkit-retry-filter.so filters/nbdkit-xz-filter.so"
NBDKIT_DIR=/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)/nbdkit

cache=$BUILD/initramfs/$kver
mkdir -p "$cache"

# Compress a directory tree to a cpio newc archive; gzip -1 is the best
# trade here: the guest decompresses it slowly under TCG either way.
pack() { (cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1); }

# Print the insmod paths of MODS and their dependencies, in load order, once
# each. A module built into the kernel ("builtin") needs nothing.
module_paths() {
	local m
	for m in "$@"; do
		modprobe ${modroot:+-d "$modroot"} -S "$kver" --show-depends "$m" 2>/dev/null || echo "missing $m"
	done | awk '$1 == "missing" { print "error: no module " $2 > "/dev/stderr"; bad = 1 }
		$1 == "insmod" && !seen[$2]++ { print $2 } END { exit bad }'
}

# Copy modules (decompressed) into DIR/lib/modules/kernel and append their
# guest paths, in order, to DIR/lib/modules/LIST.
add_modules() {
	local dir=$1 list=$2 p name dst
	shift 2
	mkdir -p "$dir/usr/lib/modules/kernel"
	for p in "$@"; do
		name=$(basename "$p"); name=${name%.xz}; name=${name%.zst}; name=${name%.gz}
		dst=$dir/usr/lib/modules/kernel/$name
		case $p in
		*.xz) xz -dc "$p" >"$dst" ;;
		*.zst) zstd -qdc "$p" >"$dst" ;;
		*.gz) gzip -dc "$p" >"$dst" ;;
		*) cp "$p" "$dst" ;;
		esac
		echo "/lib/modules/kernel/$name" >>"$dir/usr/lib/modules/$list"
	done
}

# Copy FILES (programs) and every shared library ldd lists, at their own
# paths, unless already present in DIR or listed in SKIPLIST.
add_with_libs() {
	local dir=$1 skip=$2 f lib dst
	shift 2
	for f in "$@"; do
		{ ldd "$f" 2>/dev/null || true; } | awk '/=> \//{ print $3 } /^\t\//{ print $1 }'
	done | sort -u | while read -r lib; do
		# Always under usr/: the base's /lib is a symlink that a second
		# archive must not try to replace with a directory.
		dst=/usr${lib#/usr}
		[ -e "$dir$dst" ] && continue
		[ -n "$skip" ] && grep -qxF ".$dst" "$skip" && continue
		mkdir -p "$dir$(dirname "$dst")"
		cp -L "$lib" "$dir$dst"
	done
}

build_base() {
	local stage=$cache/base.d p real
	rm -rf "$stage"
	mkdir -p "$stage"/usr/{bin,sbin,lib,lib64} "$stage"/{dev,proc,sys,tmp,run,mnt,results,etc}
	# The same merged-/usr layout as the host, so ldd's paths work as is.
	ln -s usr/bin "$stage/bin"; ln -s usr/sbin "$stage/sbin"
	ln -s usr/lib "$stage/lib"; ln -s usr/lib64 "$stage/lib64"

	cp /bin/busybox "$stage/usr/bin/busybox"
	for p in $(/bin/busybox --list-full); do
		[ -e "$stage/$p" ] || ln -s /usr/bin/busybox "$stage/$p"
	done
	for p in $PROGRAMS; do
		real=$(command -v "$p") || die "host program $p is missing (run tests/vm/deps.sh)"
		# Drop the busybox applet of the same name wherever it is.
		rm -f "$stage"/usr/bin/"$p" "$stage"/usr/sbin/"$p"
		cp -L "$real" "$stage/usr/sbin/$p"
		add_with_libs "$stage" "" "$real"
	done
	for p in $NBDKIT_MODULES; do
		real=$NBDKIT_DIR/$p
		[ -e "$real" ] || die "$real is missing (run tests/vm/deps.sh)"
		mkdir -p "$stage$(dirname "$real")"
		cp -L "$real" "$stage$real"
		add_with_libs "$stage" "" "$real"
	done

	add_modules "$stage" boot.list $(module_paths $MODULES)
	if p=$(module_paths $REMOTE_MODULES 2>/dev/null); then
		add_modules "$stage" remote.list $p
	fi
	echo "$kver" >"$stage/etc/kernel-version"
	(cd "$stage" && find . | LC_ALL=C sort) >"$cache/base.files"
	pack "$stage" >"$cache/base.cpio.gz.tmp"
	mv "$cache/base.cpio.gz.tmp" "$cache/base.cpio.gz"
	rm -rf "$stage"
}

# Rebuild the base only when this script, the kernel, its modules or a
# program changed (a base built while the kernel's package was still being
# unpacked lacked virtio_blk: a guest without disks).
key=$( { sha256sum "$0"; ls -lL --time-style=+%s "$(kernel_image "$kver")" /bin/busybox \
		"$modroot/lib/modules/$kver/modules.dep";
	for p in $PROGRAMS; do ls -lL --time-style=+%s "$(command -v "$p")"; done
	for p in $NBDKIT_MODULES; do ls -lL --time-style=+%s "$NBDKIT_DIR/$p"; done; } 2>&1 | sha256sum)
if [ ! -e "$cache/base.cpio.gz" ] || [ "$(cat "$cache/base.key" 2>/dev/null)" != "$key" ]; then
	build_base
	echo "$key" >"$cache/base.key"
fi

# The project part.
stage=$(mktemp -d "$cache/project.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/usr/lib/modules" "$stage/usr/local/bin"
install -m 755 "$VM_DIR/guest-init.sh" "$stage/init"
cp -a "$TESTS_DIR" "$stage/tests"

ko=$BUILD/$kver/dm-clone.ko
if [ -e "$ko" ]; then
	cp "$ko" "$stage/usr/lib/modules/dm-clone.ko"
	# Dependencies of dm-clone that the base does not already load.
	deps=$(modinfo -F depends "$ko" | tr ',' ' ')
	if [ -n "$deps" ]; then
		extra=$(module_paths $deps | while read -r p; do
			n=$(basename "$p"); n=${n%.xz}; n=${n%.zst}; n=${n%.gz}
			grep -qxF "./usr/lib/modules/kernel/$n" "$cache/base.files" || echo "$p"
		done)
		[ -n "$extra" ] && add_modules "$stage" extra.list $extra
	fi
else
	echo "warning: $ko not built; the guest has no dm-clone module" >&2
fi

# The in-kernel dm-clone, built by bench/run as a peer to benchmark against.
peer=$BUILD/peer/$kver/dm-clone.ko
[ -e "$peer" ] && mkdir -p "$stage/usr/lib/modules/peer" && cp "$peer" "$stage/usr/lib/modules/peer/dm-clone.ko"

# Test programs built by tests/tools (and any libraries they need).
if [ -d "$BUILD/tools" ]; then
	for p in "$BUILD"/tools/*; do
		[ -f "$p" ] && [ -x "$p" ] || continue
		cp "$p" "$stage/usr/local/bin/"
		add_with_libs "$stage" "$cache/base.files" "$p"
	done
fi

# The project's scripts (clone-migrate, clone-activate) in /usr/local/bin.
if [ -d "$REPO/scripts" ]; then
	for p in "$REPO"/scripts/*; do
		[ -f "$p" ] && [ -x "$p" ] && cp "$p" "$stage/usr/local/bin/"
	done
fi

mkdir -p "$(dirname "$out")"
{ cat "$cache/base.cpio.gz"; pack "$stage"; } >"$out.tmp"
mv "$out.tmp" "$out"
