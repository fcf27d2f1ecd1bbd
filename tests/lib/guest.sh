# Guest side of the test harness, sourced by busybox ash in the test VM
# (POSIX sh: no bashisms). Two parts:
#  - helpers every test can use: log, fail, skip, require_cmd,
#    load_clone_module, unload_clone_module, dmesg_mark, dmesg_since_mark,
#    state_save, state_load, state_clear;
#  - the runner (run_plan), which the VM's /init calls with the plan the host
#    appended to the initramfs.
# Never call the `test` command in here: each test file defines a function of
# that name. Use [ ... ] instead.

TESTS_DIR=${TESTS_DIR:-/tests}
RESULTS_DIR=${RESULTS_DIR:-/results}
CLONE_KO=${CLONE_KO:-/lib/modules/dm-clone.ko}

# Kernel messages that fail a test. Lines the harness or a test's `log`
# wrote to the kernel log (tagged dmclone-harness:/dmclone-test:) are exempt.
BAD_KERNEL_RE='Oops|(^|[^A-Za-z])BUG[: ]|WARNING:|blocked for more than|general protection fault|soft lockup|hard LOCKUP|detected stalls|RCU stall|Call Trace:|UBSAN|KASAN|kernel BUG|Kernel panic|list_(add|del) corruption|unreferenced object'
HARNESS_TAG_RE='dmclone-(harness|test):'
# Taint bits a test may add: O (out-of-tree module) and E (unsigned module).
TAINT_OK=$((4096 | 8192))

# The disks every boot gets, in the order the host attaches them.
guest_env() {
	export SRC=/dev/vdb DST=/dev/vdc META=/dev/vdd SCRATCH=/dev/vde SCRATCH2=/dev/vdf
	export TESTS_DIR RESULTS_DIR CLONE_KO DM_DISABLE_UDEV=1
	KVER=$(uname -r)
	export KVER
}

# ---------------------------------------------------------------- helpers

# Print a progress line to the test's output and to the kernel log, so a
# crash's console log shows how far the test got.
log() {
	echo "$*"
	echo "<5>dmclone-test: $*" >/dev/kmsg 2>/dev/null
	return 0
}

# Print why the test fails; returns 1 so a test can end with `... || fail MSG`
# or write `fail MSG; return 1`.
fail() {
	echo "FAIL: $*" >&2
	return 1
}

# End the current test as skipped, with MSG as the reason.
# (Inside $(...) this ends only that subshell.)
skip() {
	echo "$*" >"${SKIP_FILE:-/dev/null}"
	echo "skip: $*"
	exit 77
}

# require_cmd CMD...: for requires(); prints the missing ones, returns 1.
require_cmd() {
	_rc=0
	for _c in "$@"; do
		command -v "$_c" >/dev/null 2>&1 || { echo "missing command: $_c"; _rc=1; }
	done
	return $_rc
}

clone_module_loaded() { [ -d /sys/module/dm_clone ]; }

# insmod the module under test (extra args are module parameters).
# Idempotent: does nothing when it is already loaded.
load_clone_module() {
	clone_module_loaded && return 0
	[ -e "$CLONE_KO" ] || { echo "no $CLONE_KO in this VM (module not built?)" >&2; return 1; }
	insmod "$CLONE_KO" "$@"
}

# rmmod it; idempotent. Fails while a clone device still uses it.
unload_clone_module() {
	clone_module_loaded || return 0
	rmmod dm_clone
}

# dmesg_mark: remember this point of the kernel log;
# dmesg_since_mark: print what the kernel logged after it.
dmesg_mark() {
	_m="dmclone-harness: MARK $$.$(date +%s).$(cat /proc/sys/kernel/random/uuid 2>/dev/null)"
	echo "<5>$_m" >/dev/kmsg
	echo "$_m" >"${TMPDIR:-/tmp}/.dmesg_mark"
}
dmesg_since_mark() {
	_m=$(cat "${TMPDIR:-/tmp}/.dmesg_mark" 2>/dev/null) || { dmesg; return; }
	dmesg | awk -v m="$_m" 'f { print } index($0, m) { f = 1 }'
}

# A tiny key=value store in the last MiB of $SCRATCH2 that survives a crash
# and reboot (for BOOTS=2 tests). Tests using state_* must keep off that MiB.
_state_mib() { echo $(($(blockdev --getsize64 "$SCRATCH2") / 1048576 - 1)); }
_state_read() {
	dd if="$SCRATCH2" bs=1M skip="$(_state_mib)" count=1 2>/dev/null | tr -d '\000'
}
state_load() {
	_state_read | sed -n "s/^$1=//p" | tail -n 1
}
state_save() {
	_f=${TMPDIR:-/tmp}/.state.$$
	{ _state_read | grep -v "^$1=" | grep '^[A-Za-z0-9_.-]*='; echo "$1=$2"; } >"$_f"
	dd if="$_f" of="$SCRATCH2" bs=1M seek="$(_state_mib)" count=1 conv=sync,notrunc,fsync 2>/dev/null
	_rc=$?
	rm -f "$_f"
	return $_rc
}
state_clear() {
	dd if=/dev/zero of="$SCRATCH2" bs=1M seek="$(_state_mib)" count=1 conv=notrunc,fsync 2>/dev/null
}

# crash_vm [reboot]: end this boot at once, as a power cut would (a reset
# with sysrq-b, or `reboot -f`), for the next boot of a BOOTS=N test to
# check. The marker before it tells the host the boot ended on purpose: a
# boot that ends without a result and without the marker failed.
crash_vm() {
	_kmsg "CRASH $TEST_NAME"
	if [ "${1:-}" = reboot ]; then
		reboot -f
	else
		echo 1 >/proc/sys/kernel/sysrq
		echo b >/proc/sysrq-trigger
	fi
	sleep 30
	fail "still running after the crash ($([ "${1:-}" = reboot ] && echo 'reboot -f' || echo sysrq-b))"
	return 1
}

# ---------------------------------------------------------------- runner

_kmsg() { echo "<5>dmclone-harness: $*" >/dev/kmsg; }

# Write all results so far to the raw results disk (/dev/vda) as one tar,
# after every test, so a later crash keeps them.
_flush_results() {
	tar -cf - -C "$RESULTS_DIR" . | dd of=/dev/vda bs=64k conv=fsync 2>/dev/null
	sync
}

# Runs inside the test's own process (new session, see _run_test).
_test_main() {
	name=$1
	group=${name%%/*}
	TMPDIR=/tmp/test.$$
	mkdir -p "$TMPDIR"
	export TMPDIR TEST_NAME="$name" SKIP_FILE="$RESULTS_DIR/$name.skip"
	cd "$TMPDIR" || exit 1
	# Shared helpers of the test's group, e.g. tests/lib/clone.sh.
	[ -e "$TESTS_DIR/lib/$group.sh" ] && . "$TESTS_DIR/lib/$group.sh"
	. "$TESTS_DIR/$name"
	if type requires >/dev/null 2>&1; then
		if ! _why=$(requires 2>&1); then
			echo "${_why:-requires failed}" >"$SKIP_FILE"
			echo "skip: $_why"
			exit 77
		fi
	fi
	_fn="test"
	[ "$BOOT" -gt 1 ] && _fn=test_boot$BOOT
	type "$_fn" >/dev/null 2>&1 || { echo "$name defines no $_fn()"; exit 1; }
	"$_fn"
	exit $?
}

# Read a variable a test file sets at its top (TIMEOUT=, DMESG_IGNORE=).
_test_var() {
	(
		. "$TESTS_DIR/$1" >/dev/null 2>&1
		eval "printf '%s' \"\${$2}\""
	)
}

_dm_devices_left() { dmsetup ls 2>/dev/null | grep -vq '^No devices found'; }

# Best effort to leave the VM as a test found it: unmount what sits on our
# disks or dm/loop devices, remove all dm devices, detach loops, unload
# dm-clone. Prints what it could not do and returns 1 then.
_cleanup() {
	_bad=0
	sync
	awk '$1 ~ /^\/dev\/(mapper\/|dm-|loop|vd[b-z]|nbd)/ { print $2 }' /proc/mounts | sort -r |
		while read -r _mp; do
			echo "cleanup: unmounting $_mp"
			umount "$_mp" 2>/dev/null || umount -l "$_mp" || echo "cleanup: cannot unmount $_mp"
		done
	if _dm_devices_left; then
		# A suspended device would block removal of what it holds.
		for _d in $(dmsetup info -c --noheadings -o name 2>/dev/null); do
			dmsetup resume "$_d" >/dev/null 2>&1
		done
		echo "cleanup: removing leftover dm devices: $(dmsetup info -c --noheadings -o name 2>/dev/null | tr '\n' ' ')"
		dmsetup remove_all >/dev/null 2>&1 || dmsetup remove_all --force >/dev/null 2>&1
		if _dm_devices_left; then
			echo "cleanup: dm devices left:"; dmsetup ls
			_bad=1
		fi
	fi
	# A test of a remote source: its servers, sessions, qdisc.
	(. /tests/lib/remote.sh && remote_cleanup)
	for _l in /sys/block/loop*; do
		[ -e "$_l/loop/backing_file" ] || continue
		echo "cleanup: detaching /dev/${_l##*/}"
		losetup -d "/dev/${_l##*/}" 2>/dev/null
	done
	if ! unload_clone_module 2>/dev/null; then
		echo "cleanup: cannot unload dm-clone (refcount $(cat /sys/module/dm_clone/refcnt 2>/dev/null))"
		_bad=1
	fi
	return $_bad
}

# Mark the current test failed, adding WHY to the reasons.
_failed() {
	if [ "$status" = FAIL ]; then reason="$reason; $1"; else reason=$1; fi
	status=FAIL
}

# Run one test: its own process and session (so a timeout kills all of it),
# output to results/<test>.out, then cleanup and the kernel-log checks.
# Writes results/<test>.result: "ok SECS", "FAIL SECS REASON" or "skip SECS REASON".
_run_test() {
	name=$1
	r=$RESULTS_DIR/$name
	mkdir -p "${r%/*}"
	rm -f "$r".*
	tmo=
	[ "$LONG" = 1 ] && tmo=$(_test_var "$name" TIMEOUT_LONG)
	[ -n "$tmo" ] || tmo=$(_test_var "$name" TIMEOUT)
	tmo=$((${tmo:-$PLAN_TIMEOUT} * ${TIMEOUT_FACTOR:-1}))
	ignore=$(_test_var "$name" DMESG_IGNORE)
	taint0=$(cat /proc/sys/kernel/tainted)
	mark="START $name boot=$BOOT timeout=$tmo"
	_kmsg "$mark"
	t0=$(date +%s)

	setsid sh -c '. /tests/lib/guest.sh; guest_env; _test_main "$1"' sh "$name" \
		>"$r.out" 2>&1 </dev/null &
	pid=$!
	# Watchdog: the test's pid is its session and process group id.
	(
		sleep "$tmo"
		echo "$tmo" >"$r.timedout"
		# What was stuck, for the console: device-mapper state, I/O in
		# flight, and the stacks of blocked tasks (direct I/O waits are
		# invisible to the hung-task detector).
		{
			timeout 10 dmsetup status
			for q in /sys/block/*/inflight; do
				awk -v q="$q" '$1 + $2 { print q, "reads", $1, "writes", $2 }' "$q"
			done
			# Where the requests of a device with I/O in flight wait:
			# in the driver (busy: sent to qemu) or queued before it.
			for q in /sys/block/vd*/inflight; do
				d=${q%/inflight}; d=${d##*/}
				[ "$(awk '{ print $1 + $2 }' "$q")" = 0 ] && continue
				for f in /sys/kernel/debug/block/$d/hctx*/busy /sys/kernel/debug/block/$d/hctx*/dispatch \
					/sys/kernel/debug/block/$d/hctx*/state /sys/kernel/debug/block/$d/requeue_list; do
					[ -s "$f" ] && sed "s|^|$f: |" "$f" | head -n 8
				done
			done
			grep virtio /proc/interrupts | awk '{ $1 = $1; print "irq", $0 }' 
		} 2>&1 | while read -r l; do echo "timeout: $l" >/dev/kmsg; done
		echo w >/proc/sysrq-trigger
		kill -TERM -"$pid" 2>/dev/null
		sleep 5
		kill -KILL -"$pid" 2>/dev/null
	) >/dev/null 2>&1 &
	wd=$!
	wait "$pid"
	rc=$?
	kill "$wd" 2>/dev/null
	kill -KILL -"$pid" 2>/dev/null # leftovers of the test (background jobs)
	secs=$(($(date +%s) - t0))

	status=ok reason=
	if [ -e "$r.timedout" ]; then
		_failed "timed out after ${tmo}s"
		# I/O may still be stuck in this kernel: the cleanup could hang
		# and the next tests would fail for nothing. Record the result
		# and end the boot; the host runs the rest in a fresh one.
		echo "### harness: FAIL: $reason; ending this boot" >>"$r.out"
		dmesg | awk -v m="dmclone-harness: $mark" 'f { print } index($0, m) { f = 1 }' >"$r.dmesg"
		echo "$status $secs $reason" >"$r.result"
		echo "$name" >"$RESULTS_DIR/boot.aborted"
		_kmsg "END $name $status ${secs}s"
		_flush_results
		_kmsg "ABORT boot=$BOOT after a timeout"
		return 1
	elif [ $rc -eq 77 ]; then
		status=skip reason=$(head -n 1 "$r.skip" 2>/dev/null)
	elif [ $rc -ne 0 ]; then
		_failed "exit status $rc"
	fi

	_cleanup >"$r.cleanup" 2>&1 || _failed "cleanup failed"
	[ -s "$r.cleanup" ] && { echo "### harness cleanup:"; cat "$r.cleanup"; } >>"$r.out"
	rm -f "$r.cleanup"

	dmesg | awk -v m="dmclone-harness: $mark" 'f { print } index($0, m) { f = 1 }' |
		awk -f /tests/lib/klog-filter.awk >"$r.dmesg"
	emu=$(grep -m 1 'emulator: spurious' "$r.dmesg")
	bad=$(grep -Ev "$HARNESS_TAG_RE" "$r.dmesg" | grep -E "$BAD_KERNEL_RE")
	[ -n "$ignore" ] && bad=$(printf '%s\n' "$bad" | grep -Ev "$ignore")
	if [ -n "$bad" ]; then
		{
			echo "### harness: bad kernel messages:"
			printf '%s\n' "$bad"
			# the first report whole (its call trace is the point)
			echo "### harness: the first one in full:"
			grep -Ev "$HARNESS_TAG_RE" "$r.dmesg" | awk -v re="$BAD_KERNEL_RE" '
				!f && $0 ~ re { f = 1 }
				f { print; if (/---\[ end trace/ || ++n >= 40) exit }'
		} >>"$r.out"
		_failed "kernel: $(printf '%s\n' "$bad" | head -n 1 | sed 's/^\[[ 0-9.]*\] //')"
	fi
	taint1=$(cat /proc/sys/kernel/tainted)
	# the emulator's report (tests/lib/klog-filter.awk) taints W
	ok=$TAINT_OK
	if [ -n "$emu" ]; then
		ok=$((ok | 512))
		echo "### harness: note: $emu" >>"$r.out"
	fi
	[ $((taint1 & ~taint0 & ~ok)) -ne 0 ] && _failed "kernel tainted: $taint0 -> $taint1"

	[ $status = FAIL ] && echo "### harness: FAIL: $reason" >>"$r.out"
	echo "$status $secs $reason" >"$r.result"
	_kmsg "END $name $status ${secs}s"
	_flush_results
}

# A kernel with kmemleak (the debug kernel of make check-debug; it does not
# scan by itself): once the tests of a boot are done, scan (twice: an object
# only a running task still pointed to at the first scan is not a leak) and
# leave the report in results/kmemleak, the number of leaks in
# results/kmemleak.scan, for the host. Objects younger than 5 s are never
# reported, so wait that long first. A scan that fails (kmemleak disabled
# itself) is a report too.
_kmemleak_scan() {
	_kml=/sys/kernel/debug/kmemleak
	[ -e "$_kml" ] || return 0
	_kmsg "KMEMLEAK scanning"
	sleep 5
	if echo scan >"$_kml" && echo scan >"$_kml" && cat "$_kml" >"$RESULTS_DIR/kmemleak"; then
		grep -c 'unreferenced object' "$RESULTS_DIR/kmemleak" >"$RESULTS_DIR/kmemleak.scan"
	else
		echo "kmemleak: cannot scan (disabled? see the console)" >"$RESULTS_DIR/kmemleak"
		echo failed >"$RESULTS_DIR/kmemleak.scan"
	fi
	[ -s "$RESULTS_DIR/kmemleak" ] || rm -f "$RESULTS_DIR/kmemleak"
	_kmsg "KMEMLEAK $(cat "$RESULTS_DIR/kmemleak.scan")"
	_flush_results
}

# The VM's main loop. The plan (sh) sets BOOT (1 for the first boot of a
# sequence), PLAN_TESTS (names relative to tests/), PLAN_TIMEOUT, LONG
# (1: tests run their long form, see tests/check -l) and TIMEOUT_FACTOR
# (tests/vm/lib.sh: test timeouts are multiplied by it).
run_plan() {
	. "$1"
	LONG=${LONG:-0}
	TIMEOUT_FACTOR=${TIMEOUT_FACTOR:-1}
	export BOOT LONG TIMEOUT_FACTOR
	guest_env
	mkdir -p "$RESULTS_DIR"
	echo "$(uname -r) boot=$BOOT" >"$RESULTS_DIR/boot.started"
	_flush_results
	_kmsg "READY boot=$BOOT"
	for _t in $PLAN_TESTS; do
		_run_test "$_t" || return 1
	done
	_kmemleak_scan
	_kmsg "DONE boot=$BOOT"
}
