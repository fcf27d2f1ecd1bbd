# The arithmetic of the benchmark results (POSIX sh and awk, no devices):
# reading fio's output, ratios, the median round, BENCH lines. tests/bench/
# lib.sh sources it in the guest, and tests/host/bench-figures.sh on the
# host, which checks it against figures whose answers are known. fio's
# results are read from $T/NAME.kv (fio_run in lib.sh writes them).
#
# A job that runs rounds reports every round's figures (bench_rounds), and
# bench/collect on the host makes the medians, the spreads and the ratios
# of them (tests/host/bench-collect.sh checks that).

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

# fio_brief NAME: one line of fio_run NAME's figures, each direction that did
# I/O (one awk: every exec costs tens of milliseconds under emulation)
fio_brief() {
	awk -F= '{ v[$1] = $2 } END {
		for (i = 1; i <= 2; i++) {
			d = "jobs.0." (i == 1 ? "read" : "write")
			if (v[d ".total_ios"] + 0 == 0) continue
			p = d ".clat_ns.percentile."
			printf "%s %.6g IOPS %.6g MiB/s p50 %.6g p99 %.6g us; ", (i == 1 ? "read" : "write"),
				v[d ".iops"], v[d ".bw"] / 1024, v[p "50.000000"] / 1000, v[p "99.000000"] / 1000
		}
	}' "$T/$1.kv"
}

# ratio higher|lower FIGURE BASELINE: FIGURE over BASELINE when higher is
# better, BASELINE over FIGURE when lower is; "null" when either is missing
ratio() {
	awk -v d="$1" -v o="$2" -v b="$3" 'BEGIN {
		if (o == "" || b == "" || (d == "lower" ? o : b) <= 0) print "null"
		else printf "%.3f\n", (d == "lower") ? b / o : o / b }'
}

# bench_result JOB UNIT higher|lower OURS BASELINE BASELINE_NAME TARGET [PEER]
#              [EXTRA-JSON] [PEER_BASELINE]
# Prints one BENCH line. ratio = ours/baseline when higher is better,
# baseline/ours when lower is. TARGET is the ratio to reach ("" for none,
# "peer" for the in-kernel dm-clone's own ratio); PEER the in-kernel
# dm-clone's figure ("" when not measured), PEER_BASELINE the baseline run
# beside it (default BASELINE), which gives "peer_ratio"; EXTRA more
# "key":value pairs.
bench_result() {
	_job=$1 _unit=$2 _dir=$3 _ours=$4 _base=$5 _bname=$6 _tgt=$7 _peer=${8:-} _extra=${9:-} _pbase=${10:-$5}
	_ratio=$(ratio "$_dir" "$_ours" "$_base")
	_pratio=null
	[ -n "$_peer" ] && _pratio=$(ratio "$_dir" "$_peer" "$_pbase")
	[ "$_tgt" = peer ] && _tgt=$_pratio
	_line="{\"job\":\"$_job\",\"ours\":${_ours:-null},\"baseline\":${_base:-null},\"baseline_name\":\"$_bname\",\"ratio\":$_ratio,\"target\":${_tgt:-null},\"unit\":\"$_unit\""
	[ -n "$_peer" ] && _line="$_line,\"peer\":$_peer,\"peer_baseline\":${_pbase:-null},\"peer_ratio\":$_pratio"
	[ -n "$_extra" ] && _line="$_line,$_extra"
	echo "BENCH $_line}"
}

# mibps BYTES MS: MiB/s
mibps() { awk -v b="$1" -v ms="$2" 'BEGIN { if (ms > 0) printf "%.1f\n", b / 1048576 / (ms / 1000); else print 0 }'; }

# awk functions of pick and round_vals, with key and m (the metric) set:
# there(F), whether file F exists; fig(F), the figure in fio's key=value
# file F in m's unit (IOPS, MiB/s, microseconds), or "" if it has none
FIO_FIG_AWK='
	function there(f,   l, r) { r = (getline l < f) > 0; close(f); return r }
	function fig(f,   l, v) {
		v = ""
		while ((getline l < f) > 0)
			if (index(l, key "=") == 1) { v = substr(l, length(key) + 2); break }
		close(f)
		if (v == "") return ""
		return m == "bw" ? v / 1024 : (m == "iops" ? v + 0 : v / 1000)
	}'

# fio_key METRIC: FIO_KEY, where fio's JSON keeps iops, bw, p50 or p99 of a
# job's read or write (no subshell: execs are slow under emulation)
fio_key() {
	case $1 in
	iops) FIO_KEY=iops ;;
	bw) FIO_KEY=bw ;;
	p50) FIO_KEY=clat_ns.percentile.50.000000 ;;
	p99) FIO_KEY=clat_ns.percentile.99.000000 ;;
	*) echo "fio_key: $1?" >&2; return 1 ;;
	esac
}

# pick TAG BASE_TAG NAME iops|bw|p50|p99 read|write: of the rounds of TAG
# against BASE_TAG (TAG-NAME-r1 beside BASE_TAG-NAME-r1, ...; see rounds),
# the one whose ratio (higher is better) is the median; sets PICK_O and
# PICK_B to the two figures of that round. A drift in the host's speed
# moves both figures of a round alike, and the median round leaves out a
# round that one stall hit on one side. Without rounds, the single runs
# TAG-NAME and BASE_TAG-NAME. One awk: execs are slow under emulation.
pick() {
	fio_key "$4" || return 1
	_pk=$FIO_KEY
	set -- $(awk -v key="jobs.0.$5.$_pk" -v m="$4" -v a="$T/$1-$3" -v b="$T/$2-$3" "$FIO_FIG_AWK"'
		BEGIN {
			for (n = 0; there(a "-r" (n + 1) ".kv"); n++) {
				o[n] = fig(a "-r" (n + 1) ".kv"); q[n] = fig(b "-r" (n + 1) ".kv")
			}
			if (n == 0) { o[0] = fig(a ".kv"); q[0] = fig(b ".kv"); n = 1 }
			for (i = 0; i < n; i++) {
				lo = (m ~ /^p/) ? o[i] : q[i]
				r[i] = (o[i] == "" || q[i] == "" || lo <= 0) ? -1 : (m ~ /^p/ ? q[i] / o[i] : o[i] / q[i])
				x[i] = i
			}
			for (i = 1; i < n; i++)
				for (j = i; j > 0 && r[x[j - 1]] > r[x[j]]; j--) { t = x[j]; x[j] = x[j - 1]; x[j - 1] = t }
			k = x[int((n - 1) / 2)]
			print (o[k] == "" ? "-" : o[k]), (q[k] == "" ? "-" : q[k])
		}')
	PICK_O=${1#-} PICK_B=${2#-}
	[ "$PICK_O" != - ] || PICK_O=
	[ "$PICK_B" != - ] || PICK_B=
}

# round_vals TAG BASE_TAG NAME iops|bw|p50|p99 read|write: the figure of
# every round of TAG against BASE_TAG (TAG-NAME-r1 beside BASE_TAG-NAME-r1,
# ...; see rounds), as two comma-separated lists "O1,O2,.. B1,B2,.." in
# round order, "null" for a figure fio did not report; without rounds, the
# single runs TAG-NAME and BASE_TAG-NAME. IOPS as is, bw in MiB/s,
# latencies in microseconds. One awk: execs are slow under emulation.
round_vals() {
	fio_key "$4" || return 1
	_rk=$FIO_KEY
	awk -v key="jobs.0.$5.$_rk" -v m="$4" -v a="$T/$1-$3" -v b="$T/$2-$3" "$FIO_FIG_AWK"'
		function val(f,   v) { v = fig(f); return v == "" ? "null" : sprintf("%.6g", v) }
		BEGIN {
			for (n = 0; there(a "-r" (n + 1) ".kv"); n++) {
				o = o (n ? "," : "") val(a "-r" (n + 1) ".kv")
				q = q (n ? "," : "") val(b "-r" (n + 1) ".kv")
			}
			if (n == 0) { o = val(a ".kv"); q = val(b ".kv") }
			print o, q
		}'
}

# bench_rounds JOB UNIT higher|lower BASELINE_NAME TARGET OURS BASELINE
#              [PEER PEER_BASELINE] [EXTRA-JSON]
# Prints one BENCH line of rounds: OURS and BASELINE (and the in-kernel
# dm-clone's PEER and the baseline runs beside them, PEER_BASELINE) are
# comma-separated lists of each round's figure, in round order, round i of
# one beside round i of the other ("null" for a missing figure; "" for
# none). TARGET is the ratio to reach ("" for none, "peer" for the in-kernel
# dm-clone's own ratio). bench/collect turns them into "ours" (the median),
# "ours_min", "ours_max", the same for the others, and "ratio" (the median
# of the rounds' ratios, read higher is better) with its "ratio_min" and
# "ratio_max".
bench_rounds() {
	_job=$1 _unit=$2 _dir=$3 _bname=$4 _tgt=$5 _ro=$6 _rb=$7 _rp=${8:-} _rpb=${9:-} _extra=${10:-}
	case $_tgt in
	'') _tgt=null ;;
	peer) _tgt='"peer"' ;;
	esac
	_line="{\"job\":\"$_job\",\"unit\":\"$_unit\",\"better\":\"$_dir\",\"baseline_name\":\"$_bname\",\"target\":$_tgt"
	_line="$_line,\"rounds\":{\"ours\":[$_ro],\"baseline\":[$_rb]"
	[ -n "$_rp" ] && _line="$_line,\"peer\":[$_rp],\"peer_baseline\":[$_rpb]"
	_line="$_line}"
	[ -n "$_extra" ] && _line="$_line,$_extra"
	echo "BENCH $_line}"
}

# add_round VAR FIGURE: append FIGURE ("null" if empty) to the
# comma-separated list VAR (for bench_rounds)
add_round() {
	eval "_ar=\${$1:-}"
	eval "$1=\${_ar}\${_ar:+,}\${2:-null}"
}
