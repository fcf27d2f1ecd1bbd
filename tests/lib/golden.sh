# Guest helpers of the boot tests (tests/boot/), whose root is a clone
# named golden of an ext4 image the host made with golden_image
# (tests/vm/rootfs.sh). POSIX sh (busybox ash):
#   . /tests/lib/golden.sh
. /tests/lib/clone.sh

# The root is the device-mapper device golden, mounted read only.
check_root() {
	r=$(awk '$2 == "/" && $1 != "rootfs" { print $1, $4 }' /proc/mounts | tail -n 1)
	case $r in
	"/dev/mapper/golden ro"* | "/dev/dm-"*" ro"*) log "ok: / is $r" ;;
	*) fail "the root is '$r', not /dev/mapper/golden read-only"; return 1 ;;
	esac
	check "major:minor of /" "$(stat -c '%d' /)" "$(stat -L -c '%t %T' /dev/mapper/golden | { read -r a b; echo $((0x$a * 256 + 0x$b)); })"
}

# check_files WHAT: every file of the golden image has its md5
check_files() {
	(cd / && md5sum -c /etc/golden.md5 >"$TMPDIR/md5.out" 2>&1)
	rc=$?
	n=$(grep -c ': OK$' "$TMPDIR/md5.out")
	if [ $rc != 0 ]; then
		grep -v ': OK$' "$TMPDIR/md5.out" | head -n 5
		fail "$1: files differ from the golden image"
		return 1
	fi
	log "ok: $1: all $n files match the golden image's md5s"
}
