# shellcheck shell=bash
# Host-side helpers of the boot tests (tests/boot/), sourced by tests/check
# before a test's host_prepare, host_boot and host_check functions run:
#   rootfs_base DIR       a small root file system tree in DIR: static
#                         busybox, dmsetup, e2fsck, blkid (with their
#                         libraries), the metadata tools, clone-activate,
#                         the tests/ tree and tests/vm/golden-init.sh as
#                         /sbin/init (runs the test's boot N, powers off)
#   rootfs_manifest DIR   DIR/etc/golden.md5: the md5 of every file, to check
#                         in the guest with (cd / && md5sum -c /etc/golden.md5)
#   golden_image DIR IMG MIB
#                         DIR with some data (files of random bytes: 12 MiB,
#                         3 MiB, 150 small ones), its manifest, as an ext4
#                         image IMG of MIB MiB labelled golden: the source
# (tests/lib/golden.sh has the guest's checks of such a root).

ROOTFS_PROGRAMS="dmsetup e2fsck blkid"

# Copy the shared libraries ldd lists for FILES into DIR, at their paths
# under usr/ (DIR has the merged-/usr layout).
_rootfs_libs() {
	local dir=$1 lib dst
	shift
	for f in "$@"; do
		{ ldd "$f" 2>/dev/null || true; } | awk '/=> \//{ print $3 } /^\t\//{ print $1 }'
	done | sort -u | while read -r lib; do
		dst=/usr${lib#/usr}
		[ -e "$dir$dst" ] && continue
		mkdir -p "$dir$(dirname "$dst")"
		cp -L "$lib" "$dir$dst"
	done
}

rootfs_base() {
	local dir=$1 p real
	rm -rf "$dir"
	mkdir -p "$dir"/usr/{bin,sbin,lib,lib64,local/bin,local/sbin} "$dir"/{dev,proc,sys,run,tmp,mnt,etc,root}
	ln -s usr/bin "$dir/bin"; ln -s usr/sbin "$dir/sbin"
	ln -s usr/lib "$dir/lib"; ln -s usr/lib64 "$dir/lib64"
	cp /bin/busybox "$dir/usr/bin/busybox"
	for p in $(/bin/busybox --list-full); do
		[ -e "$dir/$p" ] || [ -L "$dir/$p" ] || ln -s /usr/bin/busybox "$dir/$p"
	done
	for p in $ROOTFS_PROGRAMS; do
		real=$(command -v "$p") || { echo "rootfs: no $p on the host" >&2; return 1; }
		rm -f "$dir/usr/bin/$p" "$dir/usr/sbin/$p"
		cp -L "$real" "$dir/usr/sbin/$p"
		_rootfs_libs "$dir" "$real"
	done
	for p in "$BUILD"/tools/*; do
		[ -f "$p" ] && [ -x "$p" ] && cp "$p" "$dir/usr/local/bin/"
	done
	for p in "$REPO"/scripts/*; do
		[ -f "$p" ] && [ -x "$p" ] && cp "$p" "$dir/usr/local/sbin/"
	done
	cp -a "$TESTS_DIR" "$dir/tests"
	rm -f "$dir/usr/sbin/init"
	install -m 755 "$VM_DIR/golden-init.sh" "$dir/usr/sbin/init"
	echo golden >"$dir/etc/hostname"
}

rootfs_manifest() {
	local dir=$1
	local sums
	rm -f "$dir/etc/golden.md5"
	# -0: a Debian root has names with a backslash (systemd's \x2d)
	sums=$(cd "$dir" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum) || return 1
	printf '%s\n' "$sums" >"$dir/etc/golden.md5"
}

golden_image() {
	local dir=$1 img=$2 mib=$3 i
	mkdir -p "$dir/data/small"
	head -c 12M /dev/urandom >"$dir/data/big"
	head -c 3M /dev/urandom >"$dir/data/medium"
	for i in $(seq 1 150); do
		head -c $((i * 397 % 20000 + 1)) /dev/urandom >"$dir/data/small/f$i"
	done
	rootfs_manifest "$dir" || return 1
	rm -f "$img"
	mkfs.ext4 -q -F -L golden -b 4096 -d "$dir" "$img" "${mib}M"
}
