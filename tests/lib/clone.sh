# Helpers for the clone tests (POSIX sh, busybox ash).  Source it:
#   . /tests/lib/clone.sh
# Sizes are in 512-byte sectors unless a name says otherwise; "blocks" are
# 4 KiB (what cverify counts in).  Helpers return non-zero and print why on
# failure, so a test writes `step || return 1`.

# The harness's helpers (log, fail, skip, load_clone_module, state_*).
if ! command -v fail >/dev/null 2>&1; then
	[ -r /tests/lib/guest.sh ] && . /tests/lib/guest.sh
fi
command -v log >/dev/null 2>&1 || log() { echo "$*"; }
command -v fail >/dev/null 2>&1 || fail() { echo "FAIL: $*"; return 1; }

: "${SRC:=/dev/vdb}" "${DST:=/dev/vdc}" "${META:=/dev/vdd}" "${SCRATCH:=/dev/vde}" "${SCRATCH2:=/dev/vdf}"
export DM_DISABLE_UDEV=1
MIB=2048	# sectors per MiB

# ---- general ---------------------------------------------------------------

# clone_setup: load the module, make a temp dir $T, mark the kernel log.
clone_setup() {
	if ! grep -q '^dm_clone ' /proc/modules; then
		load_clone_module || { fail "cannot load dm-clone"; return 1; }
	fi
	T=$(mktemp -d /tmp/clonetest.XXXXXX) || return 1
	SRC_W0=$(write_sectors "$SRC")
	klog_mark
}

now_ms() { awk '{ printf "%.0f\n", $1 * 1000 }' /proc/uptime; }

# check WHAT GOT WANT: equal, or fail saying both
check() {
	if [ "$2" = "$3" ]; then
		log "ok: $1 = $3"
	else
		fail "$1: expected '$3', got '$2'"
	fi
}

# check_cmp WHAT A OP B: numeric comparison (OP: -lt -le -eq -ne -ge -gt)
check_cmp() {
	if [ "$2" "$3" "$4" ] 2>/dev/null; then
		log "ok: $1: $2 $3 $4"
	else
		fail "$1: expected $2 $3 $4"
	fi
}

# ---- devices ---------------------------------------------------------------

dev_sectors() { blockdev --getsz "$1"; }

# devno DEV: decimal "major:minor"
devno() {
	stat -L -c '%t %T' "$1" | { read -r ma mi; echo "$((0x$ma)):$((0x$mi))"; }
}

# stat_field DEV N: field N of the device's /sys/block/*/stat
# (1 reads, 3 read sectors, 5 writes, 7 write sectors, 12 discards, 14 discard sectors)
stat_field() {
	awk -v n="$2" '{ print $n }' "/sys/dev/block/$(devno "$1")/stat"
}
read_sectors() { stat_field "$1" 3; }

# reads_started DEV PID [SECONDS]: wait until DEV's read count moves (the
# reader PID, started just before, is reading: fio can take seconds to start
# under emulation). Fails if PID exits or SECONDS (default 10) pass first.
reads_started() {
	_rs0=$(stat_field "$1" 1) _rst=$(now_ms)
	while [ "$(stat_field "$1" 1)" = "$_rs0" ]; do
		kill -0 "$2" 2>/dev/null && [ $(($(now_ms) - _rst)) -lt $((${3:-10} * 1000)) ] || return 1
		sleep 0.05
	done
}
write_sectors() { stat_field "$1" 7; }
discard_sectors() { v=$(stat_field "$1" 14); echo "${v:-0}"; }
# io_count DEV: reads + writes completed (any I/O at all moves it)
io_count() { awk '{ print $1 + $5 }' "/sys/dev/block/$(devno "$1")/stat"; }

# zero_mib DEV MIB: the first MIB MiB
zero_mib() {
	dd if=/dev/zero of="$1" bs=1M count="$2" oflag=direct 2>/dev/null ||
		{ fail "cannot zero $1"; return 1; }
}

# md5 DEV SECTORS [OFFSET]: checksum of a sector range (read 1 MiB at a time:
# 512-byte direct reads of 256 MiB take a minute under TCG)
md5() {
	dd if="$1" bs=1M count=$(($2 * 512)) skip=$((${3:-0} * 512)) \
		iflag=direct,count_bytes,skip_bytes 2>/dev/null | md5sum | cut -d' ' -f1
}

# ---- device-mapper -----------------------------------------------------------

dm_exists() { dmsetup info "$1" >/dev/null 2>&1; }

# dm_create NAME TABLE: create and make sure /dev/mapper/NAME exists
dm_create() {
	dmsetup create "$1" --table "$2" || { fail "dmsetup create $1 '$2' failed"; return 1; }
	[ -b "/dev/mapper/$1" ] || dmsetup mknodes "$1"
	[ -b "/dev/mapper/$1" ] || { fail "no /dev/mapper/$1"; return 1; }
}

# dm_remove NAME...: remove if present (retrying while busy)
dm_remove() {
	for n in "$@"; do
		dm_exists "$n" || continue
		dmsetup remove --retry "$n" >/dev/null 2>&1 || dmsetup remove --retry "$n" ||
			{ fail "cannot remove $n"; return 1; }
	done
}

# linear NAME DEV START LEN: a slice of DEV
linear() { dm_create "$1" "0 $4 linear $2 $3"; }
# delayed NAME DEV MS [LEN]: DEV with every I/O delayed by MS ms (a slow source)
delayed() { dm_create "$1" "0 ${4:-$(dev_sectors "$2")} delay $2 0 $3"; }
# zerodev NAME LEN: reads zeros, drops writes
zerodev() { dm_create "$1" "0 $2 zero"; }

# dm_events NAME: the device's event counter
dm_events() { dmsetup info -c -o events --noheadings "$1" | tr -d ' '; }

# ---- clone -----------------------------------------------------------------

# clone_table META DST SRC REGION LEN [ARGS...]: a table line
clone_table() {
	_m=$1 _d=$2 _s=$3 _r=$4 _l=$5
	shift 5
	echo "0 $_l clone $_m $_d $_s $_r${*:+ $*}"
}

# clone_create NAME META DST SRC REGION LEN [ARGS...]
clone_create() {
	_n=$1
	shift
	dm_create "$_n" "$(clone_table "$@")"
}

# clone_status NAME: parse `dmsetup status` into
#   CS_LINE CS_LEN CS_MUSED CS_MTOTAL CS_REGION CS_HYD CS_REGIONS CS_HYDRATING
#   CS_FEATURES ("" or "no_hydration ...") CS_THRESH CS_BATCH CS_MODE, and
#   CS_RATE (max_hydration_rate, 0 when not set)
# Returns 1 (and says why) if the line does not have the documented form.
clone_status() {
	CS_LINE=$(dmsetup status "$1") || { fail "dmsetup status $1 failed"; return 1; }
	_clone_parse $CS_LINE || { fail "malformed status of $1: '$CS_LINE'"; return 1; }
}
_clone_parse() {
	[ $# -ge 13 ] && [ "$3" = clone ] && [ "$4" = 8 ] || return 1
	CS_LEN=$2
	CS_MUSED=${5%/*} CS_MTOTAL=${5#*/} CS_REGION=$6
	CS_HYD=${7%/*} CS_REGIONS=${7#*/} CS_HYDRATING=$8
	_nf=$9
	shift 9
	case $_nf in 0|1|2|3|4|5) ;; *) return 1 ;; esac
	[ $# -ge "$_nf" ] || return 1
	CS_FEATURES=
	while [ "$_nf" -gt 0 ]; do
		CS_FEATURES="$CS_FEATURES${CS_FEATURES:+ }$1"
		shift
		_nf=$((_nf - 1))
	done
	# the in-kernel target's two core args, then ours when set
	CS_RATE=0
	if [ $# = 8 ] && [ "$1" = 6 ] && [ "$6" = max_hydration_rate ]; then
		CS_RATE=$7
		set -- 4 "$2" "$3" "$4" "$5" "$8"
	fi
	[ $# = 6 ] && [ "$1" = 4 ] && [ "$2" = hydration_threshold ] &&
		[ "$4" = hydration_batch_size ] || return 1
	CS_THRESH=$3 CS_BATCH=$5 CS_MODE=$6
	for _v in "$CS_LEN" "$CS_MUSED" "$CS_MTOTAL" "$CS_REGION" "$CS_HYD" "$CS_REGIONS" \
		"$CS_HYDRATING" "$CS_THRESH" "$CS_BATCH" "$CS_RATE"; do
		case $_v in ''|*[!0-9]*) return 1 ;; esac
	done
	case $CS_MODE in rw|ro) ;; *) return 1 ;; esac
}

# hydrated NAME: the hydrated region count
hydrated() { clone_status "$1" >/dev/null && echo "$CS_HYD"; }

# The stats message's keys, in their order.
STATS_KEYS="hydrated_regions total_regions copied_bytes hydration_rate eta_seconds source_read_errors dest_write_errors metadata_errors state"

# stats NAME: the stats message's line in ST_LINE, parsed into ST_<key>;
# fails unless it has exactly STATS_KEYS, in order, numbers where they go
# (and source_discarded_bytes last, with discard_source)
stats() {
	ST_LINE=$(dmsetup message "$1" 0 stats) || { fail "stats message failed"; return 1; }
	_keys=$(echo "$ST_LINE" | tr ' ' '\n' | sed 's/=.*//' | tr '\n' ' ')
	[ "$_keys" = "$STATS_KEYS " ] || [ "$_keys" = "$STATS_KEYS source_discarded_bytes " ] ||
		{ fail "stats keys: '$_keys' (line: $ST_LINE)"; return 1; }
	for _kv in $ST_LINE; do
		_k=${_kv%%=*} _v=${_kv#*=}
		case $_k in
		state) ;;
		eta_seconds) echo "$_v" | grep -Eq '^(-1|[0-9]+)$' || { fail "stats: $_kv"; return 1; } ;;
		*) echo "$_v" | grep -Eq '^[0-9]+$' || { fail "stats: $_kv"; return 1; } ;;
		esac
		eval "ST_$_k=\$_v"
	done
}

# wait_state NAME STATE SECONDS: poll stats until its state is STATE
wait_state() {
	_end=$(($(now_ms) + $3 * 1000))
	while stats "$1" && [ "$ST_state" != "$2" ]; do
		[ "$(now_ms)" -lt $_end ] || { fail "state still $ST_state after $3 s, expected $2 ($ST_LINE)"; return 1; }
		sleep 0.2
	done
	[ "$ST_state" = "$2" ] && log "ok: $ST_LINE"
}

# wait_hydrated NAME SECONDS: poll until every region is hydrated
wait_hydrated() {
	_end=$(($(now_ms) + $2 * 1000))
	while :; do
		clone_status "$1" || return 1
		[ "$CS_HYD" = "$CS_REGIONS" ] && return 0
		if [ "$(now_ms)" -gt "$_end" ]; then
			fail "$1 not hydrated after $2 s: $CS_HYD/$CS_REGIONS ($CS_LINE)"
			return 1
		fi
		sleep 0.1
	done
}

# wait_hydrated_at_least NAME COUNT SECONDS
wait_hydrated_at_least() {
	_end=$(($(now_ms) + $3 * 1000))
	while :; do
		clone_status "$1" || return 1
		[ "$CS_HYD" -ge "$2" ] && return 0
		if [ "$(now_ms)" -gt "$_end" ]; then
			fail "$1: fewer than $2 regions hydrated after $3 s: $CS_LINE"
			return 1
		fi
		sleep 0.05
	done
}

# msg NAME WORDS...: dmsetup message
msg() { _n=$1; shift; dmsetup message "$_n" 0 "$@"; }

# ---- trace events ----------------------------------------------------------

TR=/sys/kernel/tracing

# trace_on: record the dm_clone events from now on, into an empty buffer
# big enough for the run (16 MiB a CPU)
trace_on() {
	[ -e $TR/trace ] || mount -t tracefs nodev $TR || { fail "cannot mount tracefs"; return 1; }
	[ -d $TR/events/dm_clone ] || { fail "the module has no dm_clone trace events"; return 1; }
	BUF_KB=$(cat $TR/buffer_size_kb | tr -dc 0-9)
	echo 0 >$TR/tracing_on
	echo 16384 >$TR/buffer_size_kb
	echo >$TR/trace
	echo 1 >$TR/events/dm_clone/enable
	echo 1 >$TR/tracing_on
}

# trace_off: stop, keep the recording in $T/trace, give the memory back
trace_off() {
	echo 0 >$TR/tracing_on
	echo 0 >$TR/events/dm_clone/enable
	cat $TR/trace >"$T/trace"
	echo >$TR/trace
	echo "${BUF_KB:-1408}" >$TR/buffer_size_kb
}

# format_empty DEV VERSION REGION NR_REGIONS: empty metadata of that format
# version on DEV, written by clone_restore (a zeroed device gets version 2
# from the module; version 1 only this way, or on a device too small)
format_empty() {
	printf 'version %s\nregion_size %s\nnr_regions %s\n' "$2" "$3" "$4" |
		clone_restore --format-version "$2" -q -i - -o "$1" ||
		{ fail "clone_restore --format-version $2 onto $1"; return 1; }
}

# meta_blocks REGIONS [SLOTS]: metadata blocks a clone of REGIONS regions uses:
# 2 + 2N in format version 1, 2 + 2 SLOTS + 2N in version 2 with a ring of
# SLOTS (256 when there is room: what a zeroed 64 MiB metadata disk gets)
meta_blocks() { echo $((2 + 2 * ${2:-0} + 2 * (($1 + 32511) / 32512))); }

# regions LEN REGION: ceil(LEN / REGION)
regions() { echo $((($1 + $2 - 1) / $2)); }

# ---- kernel log ------------------------------------------------------------

# klog_mark: remember where the kernel log is now; klog_since prints what
# the kernel logged after it (lines of the harness and of `log` left out)
klog_mark() {
	KLOG_TAG="clonetest-mark-$$-$(now_ms)"
	echo "$KLOG_TAG" >/dev/kmsg
}
klog_since() {
	dmesg | awk -v m="$KLOG_TAG" 'f { print } index($0, m) { f = 1 }' |
		awk -f /tests/lib/klog-filter.awk | grep -Ev 'dmclone-(harness|test):'
}

# dmesg_clean: no oops, BUG, WARNING, hung task... since the mark
dmesg_clean() {
	_bad=$(klog_since | grep -E 'Oops|BUG[: ]|WARNING:|Call Trace|general protection|soft lockup|RCU stall|detected stalls|blocked for more than|UBSAN|KASAN')
	[ -z "$_bad" ] || { fail "kernel log: $_bad"; return 1; }
}

# dmesg_has PATTERN...: each (case-insensitive) PATTERN is in one line logged since the mark
dmesg_has() {
	_lines=$(klog_since)
	for _p in "$@"; do
		_lines=$(echo "$_lines" | grep -i -- "$_p")
	done
	[ -n "$_lines" ] || { fail "kernel log has no line with: $*"; klog_since | tail -5; return 1; }
	log "ok: kernel log: $(echo "$_lines" | tail -1)"
}

# ---- data ------------------------------------------------------------------

# prep BLOCKS [META_MIB]: source = cverify pattern of seed $SEED on BLOCKS 4 KiB
# blocks (map $T/src.map, copied to $T/map as the clone's model); destination =
# another pattern (data read from the wrong device shows as "seed $SEED+1000");
# the first META_MIB (default 8) MiB of metadata zeroed.
prep() {
	SEED=${SEED:-$$}
	fill_dev "$SRC" "$T/src.map" "$SEED" "$1" || return 1
	fill_dev "$DST" "$T/junk.map" $((SEED + 1000)) "$1" || return 1
	cp "$T/src.map" "$T/map"
	SRC_W0=$(write_sectors "$SRC")
	zero_mib "$META" "${2:-8}"
}

# fill_dev DEV MAP SEED BLOCKS: write the gen-0 pattern, quietly
fill_dev() { cverify fill "$@" >/dev/null || { fail "cverify fill $*"; return 1; }; }

# verify DEV MAP [-r FIRST:END]: every block as MAP says
verify() { cverify verify "$@" || { fail "data check of $1 failed"; return 1; }; }

# cwrite DEV MAP ARGS...: cverify write, failing loudly
cwrite() { cverify write "$@" || { fail "cverify write $* failed"; return 1; }; }

# src_untouched: the source was not written since clone_setup or prep
src_untouched() { check "sectors written to the source" "$(write_sectors "$SRC")" "$SRC_W0"; }

# toggler_start NAME ON_S OFF_S: in the background, enable hydration for ON_S
# seconds, disable it for OFF_S, again and again (slow, stop-and-go
# hydration with copies in flight now and then); toggler_stop ends it and
# leaves hydration disabled.
toggler_start() {
	touch "$T/toggle"
	(
		while [ -e "$T/toggle" ]; do
			dmsetup message "$1" 0 enable_hydration
			sleep "$2"
			dmsetup message "$1" 0 disable_hydration
			sleep "$3"
		done
	) >/dev/null 2>&1 &
	TOGGLER=$!
}
toggler_stop() {
	rm -f "$T/toggle"
	[ -n "$TOGGLER" ] && wait "$TOGGLER"
	TOGGLER=
	dmsetup message "$1" 0 disable_hydration
}
