#!/bin/sh
# /sbin/init of the golden root images of the boot tests (tests/boot/),
# started by Debian's real initramfs once it has mounted the root (read
# only) from a clone. Runs one boot of one test with the harness's runner
# (tests/lib/guest.sh) and powers off. The host passes the plan on the
# kernel command line: dmclone.test=GROUP/NAME dmclone.boot=N
# dmclone.timeout=SECS dmclone.long=0|1. Results go to the raw results disk
# (/dev/vda) as with the test VM's own initramfs. On a root whose init is
# systemd (tests/boot/030-systemd-root) a service runs it instead, once
# systemd has mounted what it mounts.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/ TERM=linux
export DM_DISABLE_UDEV=1

# initramfs-tools moved /dev, /proc, /sys and /run here; mount what is not.
mountpoint() { [ -r /proc/mounts ] && awk -v d="$2" '$2 == d { f = 1 } END { exit !f }' /proc/mounts; }
mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mountpoint -q /run || mount -t tmpfs tmpfs /run
# The root is read only: everything the runner writes goes to /tmp.
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

echo 30 >/proc/sys/kernel/hung_task_timeout_secs
echo 1 >/proc/sys/kernel/hung_task_panic
echo 1 >/proc/sys/kernel/softlockup_panic 2>/dev/null

test_name= boot=1 timeout=300 long=0
for x in $(cat /proc/cmdline); do
	case $x in
	dmclone.test=*) test_name=${x#*=} ;;
	dmclone.boot=*) boot=${x#*=} ;;
	dmclone.timeout=*) timeout=${x#*=} ;;
	dmclone.long=*) long=${x#*=} ;;
	esac
done

export RESULTS_DIR=/tmp/results
. /tests/lib/guest.sh
# The runner's cleanup unmounts and removes every dm device after a test:
# here one of them is the root. Leave it alone.
_cleanup() { sync; return 0; }

if [ -n "$test_name" ]; then
	printf 'BOOT=%s\nPLAN_TIMEOUT=%s\nLONG=%s\nPLAN_TESTS="%s"\n' \
		"$boot" "$timeout" "$long" "$test_name" >/tmp/plan
	run_plan /tmp/plan
else
	echo "golden-init: no dmclone.test= on the kernel command line"
fi
sync
poweroff -f
