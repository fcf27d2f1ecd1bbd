#!/usr/bin/env bash
# host/bench-collect: bench/collect on BENCH lines whose rounds are known,
# without a VM, so that the medians, spreads and ratios of `make bench`
# cannot go wrong unseen:
#  - a figure is the median round (the lower middle one of an even count),
#    with the rounds' min and max; a round without a figure counts nowhere;
#  - a ratio is the median of the rounds' ratios (round i of ours against
#    round i of its baseline), not the ratio of the medians, and reads
#    higher is better for throughput and for latency;
#  - the peer's figures and ratio the same way, against its own baseline
#    rounds, and a "peer" target becomes the peer's ratio;
#  - a job that reduces its figures itself passes through as it is;
#  - latest.md and latest-summary.md print those figures with their spread.
#   tests/host/bench-collect.sh WORKDIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1091 # bench-lib.sh: the workdir, figures.sh, check and finish
. "$here/bench-lib.sh" "${1:-}"
command -v jq >/dev/null || { echo "FAIL: jq is missing (tests/vm/deps.sh installs it)"; exit 1; }

# Two kernels' outputs, as tests/check -b leaves them (with other output
# around the BENCH lines).
K1=6.1.0-1-amd64 K2=6.12.1-amd64
mkdir -p "$W/res/$K1/bench" "$W/res/$K2/bench"
{
	echo "dmclone-test: something else"
	# throughput, three rounds: ours 10 30 25 against 5 60 10 are the
	# ratios 2, 0.5, 2.5: median 2, where the medians' ratio says 2.5;
	# the peer 4 5 6 against 3 3 3: 1.333, 1.667, 2
	bench_rounds t-iops IOPS higher "dm-linear" peer "10,30,25" "5,60,10" "4,5,6" "3,3,3" '"settings":"s1"'
	# latency (lower is better): ours 200 100 400 us against 100 each:
	# 0.5, 1, 0.25
	bench_rounds t-p99 us lower "off" 0.95 "200,100,400" "100,100,100"
	# four rounds, one without a figure of ours: ours 4 null 1 2 (median
	# of 1 2 4: 2), baseline 1 1 1 2 (the lower middle: 1); ratios of the
	# rounds that have both: 4, 1, 1 -> 1
	bench_rounds t-even MiB/s higher "raw" 0.9 "4,null,1,2" "1,1,1,2"
	# a job that reduced its figures itself
	bench_result t-plain ms lower 50 100 "dm-linear" "" "" '"spread":"40-60"'
} >"$W/res/$K1/bench/001-a.out"
{
	bench_rounds t-iops IOPS higher "dm-linear" peer "90,100,110" "100,100,100"
} >"$W/res/$K2/bench/001-a.out"
echo "Run of the self-test." >"$W/res/run-info.txt"

if ! "$here/../../bench/collect" "$W/res" "$W/out" >"$W/collect.log" 2>&1; then
	cat "$W/collect.log"
	echo "FAIL: bench/collect failed"
	exit 1
fi
J=$W/out/latest.json
q() { jq -c --arg k "$1" --arg j "$2" ".[] | select(.kernel == \$k and .job == \$j) | $3" "$J"; }

check "jobs collected" "$(jq -c '[.[] | [.kernel, .job]]' "$J")" \
	"[[\"$K1\",\"t-iops\"],[\"$K1\",\"t-p99\"],[\"$K1\",\"t-even\"],[\"$K1\",\"t-plain\"],[\"$K2\",\"t-iops\"]]"
check "throughput: median and spread of ours" "$(q "$K1" t-iops '[.ours, .ours_min, .ours_max]')" "[25,10,30]"
check "throughput: median and spread of the baseline" "$(q "$K1" t-iops '[.baseline, .baseline_min, .baseline_max]')" "[10,5,60]"
check "throughput: ratio is the median of the rounds' ratios" "$(q "$K1" t-iops '[.ratio, .ratio_min, .ratio_max]')" "[2,0.5,2.5]"
check "throughput: the peer" "$(q "$K1" t-iops '[.peer, .peer_min, .peer_max, .peer_baseline]')" "[5,4,6,3]"
check "throughput: the peer's ratio" "$(q "$K1" t-iops '[.peer_ratio, .peer_ratio_min, .peer_ratio_max]')" "[1.667,1.333,2]"
check "a peer target is the peer's ratio" "$(q "$K1" t-iops '.target')" 1.667
check "the rounds are kept" "$(q "$K1" t-iops '.rounds.ours')" "[10,30,25]"
check "latency: higher is better" "$(q "$K1" t-p99 '[.ours, .baseline, .ratio, .ratio_min, .ratio_max, .better]')" \
	'[200,100,0.5,0.25,1,"lower"]'
check "latency: no peer" "$(q "$K1" t-p99 '[has("peer"), has("peer_ratio"), .target]')" "[false,false,0.95]"
check "even count, a missing round" "$(q "$K1" t-even '[.ours, .ours_min, .ours_max, .baseline, .ratio, .ratio_min, .ratio_max]')" \
	"[2,1,4,1,1,1,4]"
check "a reduced job as it is" "$(q "$K1" t-plain '[.ours, .baseline, .ratio, .spread, has("ours_min")]')" '[50,100,2,"40-60",false]'
check "a peer target without a peer" "$(q "$K2" t-iops '[.ratio, .target]')" "[1,null]"

# The tables: figures with their spread (min–max).
M=$W/out/latest.md
row() { grep -F "| $1 |" "$2" | head -n 1; }
sec() { awk -v k="### $1" '$0 == k { on = 1; next } /^### / { on = 0 } on' "$M"; }
sec "$K1" >"$W/k1.md"
check "latest.md: throughput row" "$(row t-iops "$W/k1.md")" \
	"| t-iops | IOPS | 25 (10–30) | 10 (5–60) | dm-linear | 2 (0.5–2.5) ✔ | 1.667 | 5 (4–6) | 1.667 (1.333–2) | 1.2 |"
check "latest.md: latency row" "$(row t-p99 "$W/k1.md")" \
	"| t-p99 | us | 200 (100–400) | 100 (100–100) | off | 0.5 (0.25–1) | 0.95 | – | – | – |"
check "latest.md: a reduced job with its spread" "$(row t-plain "$W/k1.md")" \
	"| t-plain | ms | 50 (40-60) | 100 | dm-linear | 2 | – | – | – | – |"
check "latest.md: settings listed" "$(grep -c '^- t-iops: settings s1$' "$W/k1.md")" 1
S=$W/out/latest-summary.md
check "latest-summary.md: both kernels" "$(row t-iops "$S")" \
	"| t-iops | IOPS | ≥ peer | 25 | 2 (0.5–2.5) ✔ | 5 | 100 | 1 (0.9–1.1) | – |"

finish bench/collect
