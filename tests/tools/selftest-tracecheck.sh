#!/bin/sh
# Host self-test of tracecheck: recordings written here by hand, one that the
# commit protocol allows and, from it, one broken variant for each rule the
# checker enforces (each must be refused, naming the rule).
#   selftest-tracecheck.sh TRACECHECK WORKDIR
set -u
TC=$1
. "$(dirname "$0")/selftest-lib.sh"

# A recording is written as a script of steps, one per line ("NAME
# key=value ..."), turned into ftrace's text format by rec: seq numbered,
# dev 7:1, and the lines in an order other than seq's (as the trace file
# merges CPUs by clock), which the checker must undo.
rec() {
	awk '
		NF && $1 !~ /^#/ {
			n++
			line[n] = sprintf("  kworker/u4:1-42  [00%d] ..... %d.%06d: clone_%s: seq=%d dev=7:1", n % 2, 100 + n, n, $1, n + 10)
			for (i = 2; i <= NF; i++)
				line[n] = line[n] " " $i
		}
		END {
			print "# tracer: nop"
			for (i = 1; i <= n; i += 2) print line[i]
			for (i = 2; i <= n; i += 2) print line[i]
		}' "$1" >"$2"
}

# Steps of a commit of block 0: quick (Q=1) or full, copy F written first,
# then the other one if B=1. $MUT breaks one rule (see below).
commit() {
	_q=$1 _first=$2 _both=$3
	echo "commit_begin err=$_q"
	[ "$MUT" = write-without-snapshot ] || echo "snapshot block=0 first=$_first both=$_both"
	if [ "$MUT" != no-dest-flush ]; then
		echo "dest_flush_begin err=0"
		echo "dest_flush_end err=0"
	fi
	echo "md_write_begin block=0 count=1 copy=$_first err=0"
	echo "md_write_end block=0 count=1 copy=$_first err=0"
	if [ "$_both" = 0 ] || [ "$MUT" != no-flush-between-passes ]; then
		echo "md_flush_begin err=0"
		echo "md_flush_end err=0"
	fi
	if [ "$_both" = 1 ]; then
		echo "md_write_begin block=0 count=1 copy=$((1 - _first)) err=0"
		echo "md_write_end block=0 count=1 copy=$((1 - _first)) err=0"
		echo "md_flush_begin err=0"
		echo "md_flush_end err=0"
	fi
	echo "commit_end err=0"
}

# The allowed run ($MUT empty): copies and writes, FLUSHes served by quick
# commits (which alternate between the copies), a FUA write that waits for
# one, a full commit, a FLUSH passed down with nothing to commit, a FUA
# write to a committed region acknowledged at once.
steps() {
	echo "load regions=64 per_block=32 hydrated=0"
	echo "set start=0 end=1"
	echo "write_end region=0 nr=1 fua=0 wait=0 err=0"
	echo "flush_arrive id=f1 err=0"
	[ "$MUT" != flush-before-commit ] || echo "flush_ack id=f1 err=0"
	commit 1 0 0
	[ "$MUT" = flush-before-commit ] || echo "flush_ack id=f1 err=0"
	echo "set start=1 end=2"
	echo "write_end region=1 nr=1 fua=0 wait=0 err=0"
	echo "flush_arrive id=f2 err=0"
	if [ "$MUT" = same-copy-twice ]; then commit 1 0 0; else commit 1 1 0; fi
	echo "flush_ack id=f2 err=0"
	echo "set start=2 end=3"
	if [ "$MUT" = fua-not-deferred ]; then
		echo "write_end region=2 nr=1 fua=1 wait=0 err=0"
	else
		echo "write_end region=2 nr=1 fua=1 wait=1 err=0"
	fi
	commit 1 0 0
	[ "$MUT" = fua-not-deferred ] || echo "fua_ack region=2 nr=1 err=0"
	echo "set start=33 end=40"
	commit 0 1 1
	echo "write_end region=1 nr=1 fua=0 wait=0 err=0"
	if [ "$MUT" = pass-uncommitted ]; then
		echo "set start=3 end=4"
		echo "write_end region=3 nr=1 fua=0 wait=0 err=0"
	fi
	echo "flush_arrive id=f3 err=0"
	echo "flush_pass id=f3 err=0"
	echo "flush_ack id=f3 err=0"
	echo "write_end region=0 nr=2 fua=1 wait=0 err=0"
}

MUT= steps >"$W/good.steps"
rec "$W/good.steps" "$W/good"
expect 0 "an allowed recording passes" "$TC" "$W/good"
out_has "^allowed"
out_has "quick_commits=3 full_commits=1 bitmap_writes=5"
out_has "flush_commit=2 flush_pass=1 flush_err=0 fua_now=1 fua_wait=1"

# mutant NAME RULE: the allowed run broken by MUT=NAME must be refused for RULE
mutant() {
	MUT=$1 steps >"$W/$1.steps"
	rec "$W/$1.steps" "$W/$1"
	expect 1 "$1 is refused" "$TC" "$W/$1"
	out_has "^VIOLATION $2"
}

# the second quick commit writes copy A again, the only holder of region 0
mutant same-copy-twice "(a)"
# the first commit writes the bitmap with no destination flush before it
mutant no-dest-flush "(b)"
# FLUSH f1 acknowledged before its commit
mutant flush-before-commit "(a)"
# the FUA write to a fresh region acknowledged at once
mutant fua-not-deferred "(a)"
# the full commit's second pass with no metadata flush after the first
mutant no-flush-between-passes "step"
# bitmap writes with no snapshot in their commit
mutant write-without-snapshot "step"
# a FLUSH passed down while a write before it is in no durable copy
mutant pass-uncommitted "(a)"

# A recording that lost events cannot be checked.
sed '/dest_flush_end/d' "$W/good" >"$W/lost"
expect 2 "a recording with a gap in seq is not checked" "$TC" "$W/lost"
out_has "missing"
grep -v clone_load "$W/good" >"$W/noload"
expect 2 "a recording without clone_load is not checked" "$TC" "$W/noload"
expect 2 "usage" "$TC"

echo "selftest-tracecheck: $pass passed, $failed failed"
[ "$failed" = 0 ]
