# Helpers for the benchmark jobs in tests/bench (POSIX sh, busybox ash in
# the guest). A job sources it:
#   . /tests/bench/lib.sh
# and prints its results as lines
#   BENCH {"job":..., "ours":..., "baseline":..., "baseline_name":...,
#          "ratio":..., "target":..., "unit":..., "peer":...}
# which bench/run collects from results/<kver>/bench/*.out (it adds the
# kernel). Time series (fio logs, hydration progress) go into the output
# between "BENCHLOG <job>/<name>" and "BENCHLOG-END" lines, for the plots.
#
# A job fails only on errors (fio failed, wrong data, a device that would
# not load), never on a timing.

. /tests/lib/clone.sh

OURS_KO=${CLONE_KO:-/lib/modules/dm-clone.ko}
PEER_KO=/lib/modules/peer/dm-clone.ko
BENCH_META_MIB=16	# the metadata slice zeroed before every clone

# ---- setup -----------------------------------------------------------------

# bench_setup: a temp dir $T, a clean kernel-log mark, no clone module loaded.
bench_setup() {
	T=$(mktemp -d /tmp/bench.XXXXXX) || return 1
	require_cmd fio bash >/dev/null || { fail "fio and bash are needed in the guest"; return 1; }
	unload_clone_module || { fail "cannot unload dm-clone"; return 1; }
	klog_mark
	log "load: $(cat /proc/loadavg) (guest); $(grep -c ^processor /proc/cpuinfo) CPU(s), $(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo) MiB"
}

have_peer() { [ -e "$PEER_KO" ]; }

# use_impl ours|peer: make that dm-clone the loaded one (both are module
# dm_clone with target "clone"). IMPL says which is loaded.
use_impl() {
	if clone_module_loaded; then
		rmmod dm_clone || { fail "cannot unload dm_clone"; return 1; }
	fi
	case $1 in
	ours) insmod "$OURS_KO" || { fail "cannot load $OURS_KO"; return 1; } ;;
	peer) insmod "$PEER_KO" || { fail "cannot load $PEER_KO"; return 1; } ;;
	*) fail "use_impl: $1?"; return 1 ;;
	esac
	IMPL=$1
}

# The implementations a job runs: ours, then the peer when it was built.
impls() { if have_peer; then echo "ours peer"; else echo ours; fi; }

# fresh_meta DEV: zero the metadata slice (both formats format a zeroed device)
fresh_meta() { zero_mib "${1:-$META}" "$BENCH_META_MIB"; }

# ---- time and arithmetic -----------------------------------------------------

# now_us: microseconds (bash's EPOCHREALTIME; busybox date has no %N)
now_us() { bash -c 'echo "${EPOCHREALTIME/./}"'; }

# time_us CMD...: run CMD, print its wall time in microseconds on stdout
# (CMD's own stdout goes to stderr); returns CMD's status.
time_us() {
	bash -c 't0=$EPOCHREALTIME; "$@" >&2; rc=$?; t1=$EPOCHREALTIME
		echo $(( ${t1/./} - ${t0/./} )); exit $rc' time_us "$@"
}

# calc EXPR: awk arithmetic, printed with up to 6 significant digits
calc() { awk "BEGIN { v = $1; printf \"%.6g\n\", v }"; }

# ---- fio -------------------------------------------------------------------

# fio_run NAME FIO-ARGS...: one fio job, JSON output in $T/NAME.json,
# flattened to $T/NAME.kv (lines "jobs.0.read.bw=1234"). Fails when fio
# fails or reports an error.
fio_run() {
	_fn=$1
	shift
	if ! fio --output-format=json --output="$T/$_fn.json" --percentile_list=50:99:99.9 \
		--name="$_fn" "$@" >"$T/$_fn.err" 2>&1; then
		cat "$T/$_fn.err" "$T/$_fn.json" 2>/dev/null | tail -n 20
		fail "fio $_fn failed: fio $*"
		return 1
	fi
	fio_flatten <"$T/$_fn.json" >"$T/$_fn.kv"
	_e=$(fio_val "$_fn" jobs.0.error)
	[ "${_e:-1}" = 0 ] || { cat "$T/$_fn.err"; fail "fio $_fn reported error ${_e:-?}"; return 1; }
}

# fio's JSON, one key per line, as path=value lines (array elements by index).
fio_flatten() {
	awk '{
		l = $0
		sub(/^[ \t]+/, "", l); sub(/[ \t,]+$/, "", l)
		if (l ~ /^"[^"]*" : /) {
			k = l; sub(/^"/, "", k); sub(/" : .*/, "", k)
			v = l; sub(/^"[^"]*" : /, "", v)
		} else { k = ""; v = l }
		if (v == "{" || v == "[") {
			if (d == 0 && k == "") { top = 1; next }	# the outer object
			if (k == "") { k = idx[d]++ }
			d++; name[d] = k; isarr[d] = (v == "["); idx[d] = 0
			next
		}
		if (v ~ /^[]}]/) { if (d > 0) d--; next }
		if (k == "" && isarr[d]) k = idx[d]++
		p = ""
		for (i = 1; i <= d; i++) p = p name[i] "."
		gsub(/"/, "", v)
		print p k "=" v
	}'
}

# fio_val NAME KEY: a value from fio_run NAME
fio_val() { sed -n "s/^$2=//p" "$T/$1.kv" | head -n 1; }

# fio_bw NAME read|write: MiB/s
fio_bw() { calc "$(fio_val "$1" "jobs.0.$2.bw") / 1024"; }
# fio_iops NAME read|write
fio_iops() { calc "$(fio_val "$1" "jobs.0.$2.iops")"; }
# fio_pct NAME read|write 50|99|99.9: completion latency percentile in us
fio_pct() {
	_k=$(printf 'jobs.0.%s.clat_ns.percentile.%.6f' "$2" "$3")
	calc "$(fio_val "$1" "$_k") / 1000"
}

# fio_dev DEV: the fio options every device job shares (direct, no page cache)
fio_dev() {
	echo "--filename=$1 --direct=1 --ioengine=psync --randrepeat=1 --norandommap=1 --group_reporting=1"
}

# ---- results ---------------------------------------------------------------

# bench_result JOB UNIT higher|lower OURS BASELINE BASELINE_NAME TARGET [PEER] [EXTRA-JSON]
# Prints one BENCH line. ratio = ours/baseline when higher is better,
# baseline/ours when lower is. TARGET is the ratio to reach ("" for none);
# PEER the in-kernel dm-clone's figure ("" when not measured); EXTRA more
# "key":value pairs.
bench_result() {
	_job=$1 _unit=$2 _dir=$3 _ours=$4 _base=$5 _bname=$6 _tgt=$7 _peer=${8:-} _extra=${9:-}
	_ratio=null
	if [ -n "$_ours" ] && [ -n "$_base" ]; then
		if [ "$_dir" = lower ]; then
			_ratio=$(awk -v o="$_ours" -v b="$_base" 'BEGIN { if (o > 0) printf "%.3f", b / o; else print "null" }')
		else
			_ratio=$(awk -v o="$_ours" -v b="$_base" 'BEGIN { if (b > 0) printf "%.3f", o / b; else print "null" }')
		fi
	fi
	_line="{\"job\":\"$_job\",\"ours\":${_ours:-null},\"baseline\":${_base:-null},\"baseline_name\":\"$_bname\",\"ratio\":$_ratio,\"target\":${_tgt:-null},\"unit\":\"$_unit\""
	[ -n "$_peer" ] && _line="$_line,\"peer\":$_peer"
	[ -n "$_extra" ] && _line="$_line,$_extra"
	echo "BENCH $_line}"
}

# bench_log NAME FILE: a time series into the output, for bench/run's plots
bench_log() {
	[ -s "$2" ] || return 0
	echo "BENCHLOG $1"
	cat "$2"
	echo "BENCHLOG-END"
}

# ---- hydration ---------------------------------------------------------------

# hydrate NAME CAP_S LOG: enable hydration of clone NAME and wait until it is
# done or CAP_S seconds passed; LOG gets "ms hydrated-regions" samples every
# half second. Sets HYD_MS (elapsed), HYD_DONE and HYD_TOTAL (regions).
#
# The timed part runs in one bash, whose clock is a builtin: it holds the
# message that starts hydration, the copying and the return of the
# `dmsetup wait` that the completion event ends, as time_us holds dd's exec
# and its copy. Under emulation every exec costs tens of milliseconds, so a
# clock read through an exec, or a status poll, would add a fixed cost that
# is a large part of a hydration lasting under a second.
hydrate() {
	_n=$1 _cap=$2 _log=$3
	clone_status "$_n" || return 1
	_ev=$(dm_events "$_n")
	_t0=$(now_us)
	echo "0 $CS_HYD" >"$_log"
	(
		while :; do
			sleep 0.5
			_h=$(dmsetup status "$_n" 2>/dev/null | awk '{ split($7, a, "/"); print a[1] }')
			[ -n "$_h" ] || break
			echo "$((($(now_us) - _t0) / 1000)) $_h" >>"$_log"
		done
	) &
	_smp=$!
	HYD_MS=$(bash -c '
		n=$1 ev=$2 cap=$3
		t0=${EPOCHREALTIME/./}
		dmsetup message "$n" 0 enable_hydration || exit 1
		end=$((t0 + cap * 1000000))
		while :; do
			left=$(((end - ${EPOCHREALTIME/./}) / 1000000))
			[ $left -gt 0 ] && timeout $left dmsetup wait "$n" "$ev" >/dev/null 2>&1
			t1=${EPOCHREALTIME/./}
			st=($(dmsetup status "$n")) && h=${st[6]} || exit 1
			[ "${h%/*}" = "${h#*/}" ] || [ $left -le 0 ] && break
			ev=$(dmsetup info -c -o events --noheadings "$n") || exit 1
		done
		echo $(((t1 - t0) / 1000))' hydrate "$_n" "$_ev" "$_cap")
	_rc=$?
	kill $_smp 2>/dev/null
	wait $_smp 2>/dev/null
	[ $_rc = 0 ] && [ -n "$HYD_MS" ] || { fail "hydrating $_n: enable_hydration or status failed"; return 1; }
	clone_status "$_n" || return 1
	HYD_DONE=$CS_HYD HYD_TOTAL=$CS_REGIONS
	echo "$HYD_MS $HYD_DONE" >>"$_log"
}

# mibps BYTES MS: MiB/s
mibps() { awk -v b="$1" -v ms="$2" 'BEGIN { if (ms > 0) printf "%.1f\n", b / 1048576 / (ms / 1000); else print 0 }'; }

# ---- workloads -----------------------------------------------------------------

FIO_RUNTIME=${FIO_RUNTIME:-2}

# fio_work TAG DEV NAME RW BS QD [MORE-FIO-ARGS...]: one timed fio job on DEV;
# result in $T/TAG-NAME.kv
fio_work() {
	_tag=$1 _dev=$2 _wn=$3 _rw=$4 _bs=$5 _qd=$6
	shift 6
	fio_run "$_tag-$_wn" $(fio_dev "$_dev") --ioengine=libaio --iodepth="$_qd" \
		--rw="$_rw" --bs="$_bs" --time_based=1 --runtime="$FIO_RUNTIME" --ramp_time=0.25 "$@"
}

# metric TAG NAME iops|bw|p50|p99 read|write: a figure of fio_work TAG ... NAME,
# the mean over its repetitions (TAG-NAME-r1, -r2, ... see abba) if any
metric() {
	if [ -e "$T/$1-$2-r1.kv" ]; then
		_sum=0 _n=0
		for _f in "$T/$1-$2"-r*.kv; do
			_r=${_f%.kv}; _r=${_r##*-}
			_v=$(metric "$1" "$2-$_r" "$3" "$4")
			_sum=$(calc "$_sum + $_v") _n=$((_n + 1))
		done
		calc "$_sum / $_n"
		return
	fi
	case $3 in
	iops) fio_iops "$1-$2" "$4" ;;
	bw) fio_bw "$1-$2" "$4" ;;
	p50) fio_pct "$1-$2" "$4" 50 ;;
	p99) fio_pct "$1-$2" "$4" 99 ;;
	esac
}

# abba TAG_A DEV_A TAG_B DEV_B NAME RW BS QD [FIO-ARGS...]: the same fio job on
# A, B, B, A (results TAG-NAME-r1 and -r2 of each), so that a drift in the
# host's load weighs on both alike; metric averages the two.
abba() {
	_ta=$1 _da=$2 _tb=$3 _db=$4
	shift 4
	_an=$1
	shift
	fio_work "$_ta" "$_da" "$_an-r1" "$@" &&
		fio_work "$_tb" "$_db" "$_an-r1" "$@" &&
		fio_work "$_tb" "$_db" "$_an-r2" "$@" &&
		fio_work "$_ta" "$_da" "$_an-r2" "$@"
}

# mean A B: the mean of two figures (either may be empty)
mean() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "") print b; else if (b == "") print a; else printf "%.6g\n", (a + b) / 2 }'; }

# prefill DEV MIB: write DEV once (the host allocates its image file), so that
# later runs all overwrite
prefill() { dd if=/dev/zero of="$1" bs=4M count=$(($2 / 4)) oflag=direct 2>/dev/null || { fail "cannot write $1"; return 1; }; }

# hydrated_clone NAME REGION LEN: a clone of $SRC on $DST, fully hydrated fast
hydrated_clone() {
	fresh_meta || return 1
	clone_create "$1" "$META" "$DST" "$SRC" "$2" "$3" 1 no_hydration || return 1
	msg "$1" hydration_threshold 1024 && msg "$1" hydration_batch_size 256 || return 1
	hydrate "$1" 120 "$T/hyd.progress" || return 1
	[ "$HYD_DONE" = "$HYD_TOTAL" ] || { fail "$1 not hydrated in 120 s"; return 1; }
}
