#!/usr/bin/env bash
# host/bench-figures: the arithmetic of `make bench` (tests/bench/figures.sh)
# on figures whose answers are known, so that a table of ratios cannot go
# wrong unseen:
#  - fio_flatten reads fio's JSON into the keys the others look up;
#  - pick takes the round whose ratio is the median, for throughput (higher
#    is better) and for latency (lower is), and falls back to single runs;
#  - ratio and bench_result turn figures the right way up, and a "peer"
#    target becomes the peer's ratio against its own baseline;
#  - fio_brief names what was done;
#  - round_vals lists every round's figure in round order, bench_rounds
#    and add_round put them in a BENCH line (bench/collect's medians are
#    checked by tests/host/bench-collect.sh).
#   tests/host/bench-figures.sh WORKDIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1091 # bench-lib.sh: the workdir, figures.sh, check and finish
. "$here/bench-lib.sh" "${1:-}"
T=$W

# fio_json NAME DIR IOPS BW_KIB P50_NS P99_NS: a fio JSON output as fio 3.33
# writes it (the parts read here), flattened to $T/NAME.kv
fio_json() {
	cat >"$T/$1.json" <<-J
	{
	  "fio version" : "fio-3.33",
	  "jobs" : [
	    {
	      "jobname" : "$1",
	      "error" : 0,
	      "$2" : {
	        "io_bytes" : 4096,
	        "bw" : $4,
	        "iops" : $3,
	        "total_ios" : 100,
	        "clat_ns" : {
	          "mean" : 1.0,
	          "percentile" : {
	            "50.000000" : $5,
	            "99.000000" : $6,
	            "99.900000" : 999999
	          }
	        }
	      },
	      "$([ "$2" = read ] && echo write || echo read)" : {
	        "bw" : 0,
	        "iops" : 0.000000,
	        "total_ios" : 0
	      }
	    }
	  ]
	}
	J
	fio_flatten <"$T/$1.json" >"$T/$1.kv"
}

# make_rounds NAME iops|lat OURS:BASE...: rounds ours-NAME-r1, base-NAME-r1,
# ... as `rounds` leaves them: reads with those IOPS (1 MiB/s), or writes
# with those p50 and p99 latencies (ns)
make_rounds() {
	_n=$1 _kind=$2 _i=1
	shift 2
	for _p in "$@"; do
		for _s in "ours:${_p%:*}" "base:${_p#*:}"; do
			if [ "$_kind" = iops ]; then
				fio_json "${_s%%:*}-$_n-r$_i" read "${_s#*:}" 1024 1000 2000
			else
				fio_json "${_s%%:*}-$_n-r$_i" write 10 40 "${_s#*:}" "${_s#*:}"
			fi
		done
		_i=$((_i + 1))
	done
}

# -- fio_flatten
fio_json one read 1234.5 2048 300000 900000
check "fio_flatten: iops" "$(fio_val one jobs.0.read.iops)" 1234.5
check "fio_flatten: percentile keys" "$(fio_val one jobs.0.read.clat_ns.percentile.99.000000)" 900000
check "fio_flatten: the other direction" "$(fio_val one jobs.0.write.total_ios)" 0
check "fio_flatten: error" "$(fio_val one jobs.0.error)" 0
check "fio_brief: only the direction that did I/O" "$(fio_brief one)" \
	"read 1234.5 IOPS 2 MiB/s p50 300 p99 900 us; "

# -- pick, throughput: ratios 1.0, 0.5, 0.9 -> the round of 0.9
make_rounds x iops 100:100 50:100 90:100
pick ours base x iops read
check "pick: median round, iops" "$PICK_O $PICK_B" "90 100"
# bw is in KiB/s in fio's output, MiB/s here
check "pick: bw in MiB/s" "$(pick ours base x bw read; echo "$PICK_O")" 1

# -- pick, latency (lower is better): ours 200/100/400 us against 100 us:
# ratios 0.5, 1, 0.25 -> the round of 0.5
make_rounds l lat 200000:100000 100000:100000 400000:100000
pick ours base l p99 write
check "pick: median round, latency" "$PICK_O $PICK_B" "200 100"
pick ours base l p50 write
check "pick: p50" "$PICK_O" 200

# the median of the ratios, not of each side: ours 10/30/25 against
# 5/60/10 are ratios 2, 0.5, 2.5 -> the round of 2, "10 against 5", where
# the sides' own medians would say "25 against 10"
make_rounds m iops 10:5 30:60 25:10
pick ours base m iops read
check "pick: a round's own pair" "$PICK_O $PICK_B" "10 5"

# no rounds: the single runs
fio_json ours-s read 700 1 1 1
fio_json base-s read 1000 1 1 1
pick ours base s iops read
check "pick: single runs" "$PICK_O $PICK_B" "700 1000"

# -- ratio
check "ratio: higher" "$(ratio higher 90 100)" 0.900
check "ratio: lower" "$(ratio lower 200 100)" 0.500
check "ratio: missing figure" "$(ratio higher "" 100)" null
check "ratio: zero baseline" "$(ratio higher 5 0)" null

# -- bench_result
line=$(bench_result job-a IOPS higher 90 100 "dm-linear" peer 45 '"settings":"s"' 50)
check "bench_result: prefix" "${line%% *}" BENCH
json=${line#BENCH }
if command -v jq >/dev/null; then
	check "bench_result: valid JSON" "$(jq -c . <<<"$json" >/dev/null 2>&1 && echo yes)" yes
	check "bench_result: fields" "$(jq -r '[.job, .ours, .baseline, .ratio, .unit, .peer, .peer_baseline, .peer_ratio, .target, .settings] | @tsv' <<<"$json")" \
		"$(printf 'job-a\t90\t100\t0.9\tIOPS\t45\t50\t0.9\t0.9\ts')"
	line=$(bench_result job-b us lower 200 100 "off" 0.95 300)
	check "bench_result: latency, peer against the same baseline" \
		"$(jq -r '[.ratio, .peer_ratio, .target] | @tsv' <<<"${line#BENCH }")" "$(printf '0.5\t0.333\t0.95')"
	line=$(bench_result job-c MiB/s higher 10 20 "raw" "")
	check "bench_result: no peer, no target" \
		"$(jq -r '[.ratio, (.target == null), has("peer"), has("peer_ratio")] | @tsv' <<<"${line#BENCH }")" "$(printf '0.5\ttrue\tfalse\tfalse')"
else
	echo "FAIL: jq is missing (tests/vm/deps.sh installs it)"
	failed=$((failed + 1))
fi

# -- round_vals: every round, in order, in the units of pick
check "round_vals: iops" "$(round_vals ours base x iops read)" "100,50,90 100,100,100"
check "round_vals: bw in MiB/s" "$(round_vals ours base x bw read)" "1,1,1 1,1,1"
check "round_vals: latency in us" "$(round_vals ours base l p99 write)" "200,100,400 100,100,100"
check "round_vals: single runs" "$(round_vals ours base s iops read)" "700 1000"
# a round fio left without the figure reads null, in its place
sed -i '/jobs.0.read.iops=/d' "$T/base-x-r2.kv"
check "round_vals: a missing figure" "$(round_vals ours base x iops read)" "100,50,90 100,null,100"

# -- add_round, bench_rounds
unset R
add_round R 5
add_round R ""
add_round R 7.5
check "add_round" "$R" "5,null,7.5"
line=$(bench_rounds job-r MiB/s higher "raw copy" peer "1,2,3" "2,2,2" "4,5,6" "3,3,3" '"settings":"s"')
check "bench_rounds: prefix" "${line%% *}" BENCH
if command -v jq >/dev/null; then
	check "bench_rounds: fields" "$(jq -c '[.job, .unit, .better, .baseline_name, .target, .rounds, .settings]' <<<"${line#BENCH }")" \
		'["job-r","MiB/s","higher","raw copy","peer",{"ours":[1,2,3],"baseline":[2,2,2],"peer":[4,5,6],"peer_baseline":[3,3,3]},"s"]'
	line=$(bench_rounds job-s us lower "off" "" "1,null" "2,2")
	check "bench_rounds: no peer, no target" "$(jq -c '[.target, .rounds]' <<<"${line#BENCH }")" \
		'[null,{"ours":[1,null],"baseline":[2,2]}]'
fi

# -- mibps
check "mibps" "$(mibps $((512 * 1048576)) 2000)" 256.0

finish tests/bench/figures.sh
