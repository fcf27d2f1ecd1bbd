#!/bin/sh
# /init of the test VM (busybox ash). Sets up a minimal system, loads the
# in-tree modules the tests need, then runs the test plan the host appended
# as /etc/plan, or an interactive shell when there is none (tests/vm/shell.sh).
export PATH=/usr/local/bin:/usr/sbin:/usr/bin
export HOME=/root TERM=${TERM:-linux}
# libdevmapper creates /dev/mapper nodes itself when there is no udev.
export DM_DISABLE_UDEV=1

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /root
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

for m in $(cat /lib/modules/boot.list /lib/modules/extra.list 2>/dev/null); do
	insmod "$m" || echo "init: insmod $m failed"
done

# A task stuck this long is a bug; panic so the host sees it at once and
# goes on with the remaining tests in a fresh boot. A slower kernel's plan
# sets TIMEOUT_FACTOR (tests/vm/lib.sh).
factor=$(sed -n 's/^TIMEOUT_FACTOR=\([0-9][0-9]*\)$/\1/p' /etc/plan 2>/dev/null)
echo $((30 * ${factor:-1})) >/proc/sys/kernel/hung_task_timeout_secs
echo 1 >/proc/sys/kernel/hung_task_panic
echo 1 >/proc/sys/kernel/softlockup_panic 2>/dev/null

# virtio_blk probes synchronously, but give the nodes a moment anyway.
i=0
while [ ! -b /dev/vdf ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done

. /tests/lib/guest.sh
if [ -e /etc/plan ]; then
	run_plan /etc/plan
else
	guest_env
	echo "test VM ready: SRC=$SRC DST=$DST META=$META SCRATCH=$SCRATCH SCRATCH2=$SCRATCH2"
	echo "helpers from /tests/lib/guest.sh are loaded in this shell; exit to power off"
	# ash reads $ENV when interactive: give the shell the helpers too.
	printf '. /tests/lib/guest.sh\nguest_env\n' >/tmp/shellrc
	ENV=/tmp/shellrc setsid cttyhack sh -i
fi
sync
poweroff -f
