# Helpers for the benchmark jobs in tests/bench (POSIX sh, busybox ash in
# the guest). A job sources it:
#   . /tests/bench/lib.sh
# and prints its results as lines
#   BENCH {"job":..., "unit":..., "baseline_name":..., "target":...,
#          "rounds":{"ours":[...], "baseline":[...], "peer":[...], ...}}
# (bench_rounds: every round's figures; bench/collect makes the medians,
# spreads and ratios) or, for a job that reduces its figures itself,
#   BENCH {"job":..., "ours":..., "baseline":..., "baseline_name":...,
#          "ratio":..., "target":..., "unit":..., "peer":...}
# (bench_result), which bench/run collects from results/<kver>/bench/*.out
# (it adds the kernel). Time series (fio logs, hydration progress) go into
# the output between "BENCHLOG <job>/<name>" and "BENCHLOG-END" lines, for
# the plots.
#
# A job fails only on errors (fio failed, wrong data, a device that would
# not load), never on a timing.

. /tests/lib/clone.sh
. /tests/bench/figures.sh

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

# fresh_meta DEV: zero the metadata slice (both formats format a zeroed
# device), flushed: the host writes back its copy of those bytes now, not
# during the next measurement
fresh_meta() {
	dd if=/dev/zero of="${1:-$META}" bs=1M count="$BENCH_META_MIB" oflag=direct conv=fsync 2>/dev/null ||
		{ fail "cannot zero ${1:-$META}"; return 1; }
}

# ---- time and arithmetic -----------------------------------------------------

# now_us: microseconds (bash's EPOCHREALTIME; busybox date has no %N)
now_us() { bash -c 'echo "${EPOCHREALTIME/./}"'; }

# time_us CMD...: run CMD, print its wall time in microseconds on stdout
# (CMD's own stdout goes to stderr); returns CMD's status.
time_us() {
	bash -c 't0=$EPOCHREALTIME; "$@" >&2; rc=$?; t1=$EPOCHREALTIME
		echo $(( ${t1/./} - ${t0/./} )); exit $rc' time_us "$@"
}

# median_spread FILE: "median min max" of the numbers in FILE, one a line
# (the median of an even count is the lower middle one)
median_spread() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1], v[NR] }'; }

# med_var VAR FILE [COL]: VAR becomes the median of column COL (default 1)
# of FILE's lines, VAR_sp their spread "min-max"
med_var() {
	_mv=$(awk -v n="${3:-1}" '{ print $n }' "$2" | sort -n |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1] "-" v[NR] }')
	eval "$1=\${_mv%% *} ${1}_sp=\${_mv#* }"
}

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

# fio_dev DEV: the fio options every device job shares (direct, no page cache)
fio_dev() {
	echo "--filename=$1 --direct=1 --ioengine=psync --randrepeat=1 --norandommap=1 --group_reporting=1"
}

# ---- results ---------------------------------------------------------------

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
# message that starts hydration, the copying, the return of the `dmsetup
# wait` that the completion event ends and an fsync of the clone (its data
# on stable storage, as raw_copy's is; raw_copy counts fio's own I/O time
# and its fsync with dd's exec, so the hydration has the message's exec
# more). Under emulation every exec costs tens of milliseconds, so a
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
		f0=${EPOCHREALTIME/./}
		dd if=/dev/null of="/dev/mapper/$n" bs=4k count=0 conv=notrunc,fsync 2>/dev/null || exit 1
		f1=${EPOCHREALTIME/./}
		echo $(((t1 - t0 + f1 - f0) / 1000))' hydrate "$_n" "$_ev" "$_cap")
	_rc=$?
	kill $_smp 2>/dev/null
	wait $_smp 2>/dev/null
	[ $_rc = 0 ] && [ -n "$HYD_MS" ] || { fail "hydrating $_n: enable_hydration or status failed"; return 1; }
	clone_status "$_n" || return 1
	HYD_DONE=$CS_HYD HYD_TOTAL=$CS_REGIONS
	echo "$HYD_MS $HYD_DONE" >>"$_log"
}

# The raw copy's I/O is as parallel as the copier: RAW_DEPTH reads of
# RAW_BS from the source and as many writes to the destination in flight.
# The copier (dm-clone-target.c) moves data through COPY_CHUNKS buffers of
# COPY_CHUNK_SECTORS, eight of 1 MiB, each read from the source and then
# written from the same buffer: all eight may be reading, or writing, at a
# time.
RAW_DEPTH=${RAW_DEPTH:-8}
RAW_BS=${RAW_BS:-1m}
RAW_NAME="raw copy I/O (fio, $RAW_BS direct reads of the source and writes of the destination at once, $RAW_DEPTH of each in flight, flushed every second, fsync)"

# raw_copy VAR FROM TO MIBS: the I/O of a raw copy of MIBS MiB made
# durable, as fast as the disks do it: one fio run of two jobs at once,
# sequential direct reads of FROM and sequential direct writes of TO (the
# writes carry fio's data, not FROM's: TO is only ever overwritten after),
# libaio, RAW_DEPTH in flight each, then an fsync of TO (a hydration is
# done only when its data is on stable storage). While fio runs, TO is
# flushed once a second, as a hydration's once-a-second commits flush its
# destination while the copies go on: the host's write-back of the data
# is then spread over the copy for both (one flush at the end alone took
# 28 to 46 % of the raw copy's time). Its time is the longer of the two
# jobs' own runtimes (fio takes a second or more to start under emulation,
# which is not the disks' time) plus the fsync's, timed with dd's exec as
# hydrate times the clone's. Eight dd's over disjoint ranges, the first
# way tried, kept the copy at about half the copier's rate: under
# emulation every system call costs tens of microseconds of CPU. VAR
# becomes the rate in MiB/s.
raw_copy() {
	RAW_N=$((${RAW_N:-0} + 1))
	_rn=raw-$RAW_N
	(
		while sleep 1; do
			dd if=/dev/null of="$3" bs=4k count=0 conv=notrunc,fsync 2>/dev/null
		done
	) &
	_fl=$!
	fio_run "$_rn" --filename="$2" --allow_file_create=0 --rw=read --bs="$RAW_BS" --size="$4m" \
		--direct=1 --ioengine=libaio --iodepth="$RAW_DEPTH" \
		--name="$_rn-w" --filename="$3" --allow_file_create=0 --rw=write --bs="$RAW_BS" --size="$4m" \
		--direct=1 --ioengine=libaio --iodepth="$RAW_DEPTH"
	_rf=$?
	kill $_fl 2>/dev/null
	wait $_fl 2>/dev/null
	[ $_rf = 0 ] || return 1
	_fs=$(time_us dd if=/dev/null of="$3" bs=4k count=0 conv=notrunc,fsync 2>/dev/null) ||
		{ fail "fsync of $3 failed"; return 1; }
	_rt=$(awk -F= -v b=$(($4 * 1048576)) '
		/^jobs\.[01]\.error=/ && $2 != 0 { bad = 1 }
		/^jobs\.0\.read\.io_bytes=/ { r = $2 }
		/^jobs\.1\.write\.io_bytes=/ { w = $2 }
		/^jobs\.[01]\.job_runtime=/ { if ($2 + 0 > ms) ms = $2 + 0 }
		END { print (bad || r != b || w != b) ? "" : ms }' "$T/$_rn.kv")
	[ -n "$_rt" ] || { fail "raw copy $2 to $3: fio did not read and write $4 MiB: $(fio_brief "$_rn")"; return 1; }
	_rc=$(mibps $(($4 * 1048576)) $((_rt + _fs / 1000)))
	log "raw copy I/O $2 to $3 ($RAW_DEPTH x $RAW_BS each way, flushed every second): fio $_rt ms, fsync $((_fs / 1000)) ms: $_rc MiB/s"
	eval "$1=\$_rc"
}

# ---- workloads -----------------------------------------------------------------

# One fio run's length (fio's time syntax), and how a job's settings name it.
# A run takes about a second and a half more under emulation (fio's start,
# the ramp), and `make bench` has some 170 of them on each kernel: 1 s
# keeps it within its time (1500ms: 3 minutes more).
FIO_RUNTIME=${FIO_RUNTIME:-1s}
runs_text() { echo "median of $ROUNDS rounds of $FIO_RUNTIME runs"; }

# fio_work TAG DEV NAME RW BS QD [MORE-FIO-ARGS...]: one timed fio job on DEV;
# result in $T/TAG-NAME.kv
fio_work() {
	_tag=$1 _dev=$2 _wn=$3 _rw=$4 _bs=$5 _qd=$6
	shift 6
	fio_run "$_tag-$_wn" $(fio_dev "$_dev") --ioengine=libaio --iodepth="$_qd" \
		--rw="$_rw" --bs="$_bs" --time_based=1 --runtime="$FIO_RUNTIME" --ramp_time=0.25 "$@" &&
		log "$_tag-$_wn: $(fio_brief "$_tag-$_wn")"
}

# How many rounds `rounds` runs. The host's speed drifts by tens of per cent
# within seconds (other VMs, other tenants of the machine), so a few short
# runs taking turns with the baseline's, read as the median of the rounds'
# ratios with their spread (bench/collect), give a steadier ratio than one
# long run or a mean, and show how far a single round may stray.
ROUNDS=${ROUNDS:-3}

# rounds TAG_A DEV_A TAG_B DEV_B NAME RW BS QD [FIO-ARGS...]: the same fio job
# on A and on B, ROUNDS times, taking turns at going first (A B, B A, A B,
# ...); results TAG-NAME-r1, -r2, ... of each, which round_vals reads.
# Each round has its own random seed, the same for A and B: random writes
# to unhydrated regions find fresh ones in every round. (fio 3.33 ignores
# randseed unless randrepeat is off.)
rounds() {
	_ta=$1 _da=$2 _tb=$3 _db=$4 _an=$5
	shift 5
	_rr=1
	while [ $_rr -le "$ROUNDS" ]; do
		if [ $((_rr % 2)) = 1 ]; then
			fio_work "$_ta" "$_da" "$_an-r$_rr" "$@" --randrepeat=0 --randseed=$_rr &&
				fio_work "$_tb" "$_db" "$_an-r$_rr" "$@" --randrepeat=0 --randseed=$_rr
		else
			fio_work "$_tb" "$_db" "$_an-r$_rr" "$@" --randrepeat=0 --randseed=$_rr &&
				fio_work "$_ta" "$_da" "$_an-r$_rr" "$@" --randrepeat=0 --randseed=$_rr
		fi || return 1
		_rr=$((_rr + 1))
	done
}

# WORK, in the jobs that set it: their fio workloads, one
# "name:rw:bs:iodepth:direction:metric:unit" each.

# work_rounds TAG_A DEV_A TAG_B DEV_B: every $WORK workload in rounds on A and B
work_rounds() {
	for _k in $WORK; do
		IFS=: read -r _kn _krw _kbs _kqd _ <<-W
			$_k
		W
		rounds "$1" "$2" "$3" "$4" "$_kn" "$_krw" "$_kbs" "$_kqd" || return 1
	done
}

# work_results PREFIX TARGET BASELINE_NAME SETTINGS: a BENCH line per $WORK
# workload, from rounds of ours against linear-ours and of the peer against
# linear-peer (each against the baseline run beside it)
work_results() {
	for _k in $WORK; do
		IFS=: read -r _kn _ _ _kqd _kdir _km _ku <<-W
			$_k
		W
		bench_pair "$1$_kn" "$_ku" "$_kn" "$_km" "$_kdir" "$3" "$2" \
			"\"settings\":\"$4, fio direct libaio iodepth $_kqd, $(runs_text)\""
	done
}

# bench_pair JOB UNIT NAME iops|bw|p50|p99 read|write BASELINE_NAME TARGET
#            EXTRA-JSON [OURS BASE [PEER PEER_BASE]]: bench_rounds for the
# rounds NAME of ours against linear-ours and of the peer against
# linear-peer, or of the tags given (no peer when only OURS BASE are)
bench_pair() {
	_bj=$1 _bu=$2 _bn=$3 _bm=$4 _bd=$5 _bbn=$6 _btg=$7 _bx=$8
	shift 8
	[ $# -ge 2 ] || set -- ours linear-ours peer linear-peer
	read -r _bo _bb <<-V
		$(round_vals "$1" "$2" "$_bn" "$_bm" "$_bd")
	V
	_bp='' _bpb=''
	if [ -n "${3:-}" ] && have_peer; then
		read -r _bp _bpb <<-V
			$(round_vals "$3" "$4" "$_bn" "$_bm" "$_bd")
		V
	fi
	case $_bm in p*) _bdir=lower ;; *) _bdir=higher ;; esac
	bench_rounds "$_bj" "$_bu" "$_bdir" "$_bbn" "$_btg" "$_bo" "$_bb" "$_bp" "$_bpb" "$_bx"
}

# prefill DEV MIB: write DEV once (the host allocates its image file), so that
# later runs all overwrite; flushed, as fresh_meta is
prefill() {
	dd if=/dev/zero of="$1" bs=4M count=$(($2 / 4)) oflag=direct conv=fsync 2>/dev/null ||
		{ fail "cannot write $1"; return 1; }
}

# hydrated_clone NAME REGION LEN: a clone of $SRC on $DST, fully hydrated fast
hydrated_clone() {
	fresh_meta || return 1
	clone_create "$1" "$META" "$DST" "$SRC" "$2" "$3" 1 no_hydration || return 1
	msg "$1" hydration_threshold 1024 && msg "$1" hydration_batch_size 256 || return 1
	hydrate "$1" 120 "$T/hyd.progress" || return 1
	[ "$HYD_DONE" = "$HYD_TOTAL" ] || { fail "$1 not hydrated in 120 s"; return 1; }
}
