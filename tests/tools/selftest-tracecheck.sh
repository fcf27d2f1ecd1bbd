#!/bin/sh
# Host self-test of tracecheck: recordings written here by hand, one that the
# commit protocol allows and, from it, one broken variant for each rule the
# checker enforces (each must be refused, naming the rule); the same for
# metadata format version 2 (records and checkpoints).
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
	echo "load regions=64 per_block=32 hydrated=0 ring=0 pos=0"
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
	[ "$MUT" != v2-event-in-v1 ] || echo "sb_write copy=0 checkpoint=0 err=0"
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
# a version 2 event in a version 1 recording
mutant v2-event-in-v1 "step"
out_has "no step for this event"

# ---- Version 2: a ring of two slots ----

# Steps of a quick commit writing the record of POS (runs FIRST:COUNT...);
# R_INSIDE is a step between the record's writes and their end, R_ERR how
# it ends, R_NOFLUSH=1 leaves out the destination flush.
qrecord() {
	_pos=$1
	shift
	echo "commit_begin err=1"
	if [ "${R_NOFLUSH:-0}" = 0 ]; then
		echo "dest_flush_begin err=0"
		echo "dest_flush_end err=0"
	fi
	echo "record_begin pos=$_pos runs=$# err=0"
	for _run; do
		echo "record_run pos=$_pos first=${_run%:*} count=${_run#*:}"
	done
	[ -z "${R_INSIDE:-}" ] || echo "$R_INSIDE"
	echo "record_end pos=$_pos runs=$# err=${R_ERR:-0}"
	echo "commit_end err=${R_ERR:-0}"
}

# A superblock copy written naming checkpoint CK, then flushed.
sbwrite() {
	echo "md_flush_begin err=0"
	echo "md_flush_end err=0"
	echo "sb_write copy=$1 checkpoint=$2 err=0"
}

# Steps of a checkpoint of both bitmap blocks naming CK (Q=1: a quick
# commit that found no room for a record): version 1's full commit, then
# both superblocks. $MUT: sb-early writes superblock 0 before the second
# bitmap copy, one-sb writes superblock 0 only.
ckpt() {
	echo "commit_begin err=$1"
	echo "snapshot block=0 first=0 both=1"
	echo "snapshot block=1 first=0 both=1"
	echo "dest_flush_begin err=0"
	echo "dest_flush_end err=0"
	echo "md_write_begin block=0 count=2 copy=0 err=0"
	echo "md_write_end block=0 count=2 copy=0 err=0"
	echo "md_flush_begin err=0"
	echo "md_flush_end err=0"
	[ "$MUT" != sb-early ] || sbwrite 0 "$2"
	echo "md_write_begin block=0 count=2 copy=1 err=0"
	echo "md_write_end block=0 count=2 copy=1 err=0"
	echo "md_flush_begin err=0"
	echo "md_flush_end err=0"
	[ "$MUT" = sb-early ] || sbwrite 0 "$2"
	[ "$MUT" = one-sb ] || sbwrite 1 "$2"
	echo "commit_end err=0"
}

# The allowed run: a FLUSH and a FUA write served by records 0 and 1, a
# FLUSH by a quick commit that finds the ring full (a checkpoint naming 2),
# one by record 2, then a checkpoint naming 3.
steps2() {
	echo "load regions=64 per_block=32 hydrated=0 ring=2 pos=0"
	echo "set start=0 end=1"
	echo "write_end region=0 nr=1 fua=0 wait=0 err=0"
	echo "flush_arrive id=f1 err=0"
	case $MUT in
	rec-no-dest-flush) R_NOFLUSH=1 qrecord 0 0:1 ;;
	flush-before-record-end) R_INSIDE="flush_ack id=f1 err=0" qrecord 0 0:1 ;;
	ack-after-failed-record) R_ERR=-5 qrecord 0 0:1 ;;
	*) qrecord 0 0:1 ;;
	esac
	[ "$MUT" = flush-before-record-end ] || echo "flush_ack id=f1 err=0"
	echo "set start=2 end=3"
	echo "set start=40 end=42"
	echo "write_end region=40 nr=2 fua=1 wait=1 err=0"
	qrecord 1 2:1 40:2
	echo "fua_ack region=40 nr=2 err=0"
	echo "set start=3 end=4"
	echo "write_end region=3 nr=1 fua=0 wait=0 err=0"
	echo "flush_arrive id=f2 err=0"
	ckpt 1 2
	echo "flush_ack id=f2 err=0"
	echo "set start=4 end=5"
	echo "write_end region=4 nr=1 fua=0 wait=0 err=0"
	echo "flush_arrive id=f3 err=0"
	case $MUT in
	record-skipped) qrecord 3 4:1 ;;
	record-again) qrecord 1 4:1 ;;
	*) qrecord 2 4:1 ;;
	esac
	echo "flush_ack id=f3 err=0"
	if [ "$MUT" = sb-wrong-checkpoint ]; then ckpt 0 2; else ckpt 0 3; fi
}

MUT= steps2 >"$W/good2.steps"
rec "$W/good2.steps" "$W/good2"
expect 0 "an allowed version 2 recording passes" "$TC" "$W/good2"
out_has "^allowed"
out_has "quick_commits=3 full_commits=2 bitmap_writes=8"
out_has "records=3 sb_writes=4$"

# mutant2 NAME RULE: as mutant, for the version 2 run
mutant2() {
	MUT=$1 steps2 >"$W/$1.steps"
	rec "$W/$1.steps" "$W/$1"
	expect 1 "$1 is refused" "$TC" "$W/$1"
	out_has "^VIOLATION $2"
}

# record 0 written with no destination flush before it
mutant2 rec-no-dest-flush "(b)"
# FLUSH f1 acknowledged while its record is being written
mutant2 flush-before-record-end "(a)"
# FLUSH f1 acknowledged after its record failed
mutant2 ack-after-failed-record "(a)"
# superblock 0 names checkpoint 2 while the second bitmap copies are unwritten
mutant2 sb-early "(sb)"
out_has "before record 0 is in both bitmap copies"
# the last checkpoint names 2, with record 2 written
mutant2 sb-wrong-checkpoint "(sb)"
# the first checkpoint writes superblock 0 only: record 2 would reuse the
# slot of record 0, which superblock 1 still replays
mutant2 one-sb "(h)"
out_has "reuses the slot of position 0"
# record 2 written at position 3, or again at 1
mutant2 record-skipped "(h)"
mutant2 record-again "(h)"

# A recording that lost events cannot be checked.
sed '/dest_flush_end/d' "$W/good" >"$W/lost"
expect 2 "a recording with a gap in seq is not checked" "$TC" "$W/lost"
out_has "missing"
grep -v clone_load "$W/good" >"$W/noload"
expect 2 "a recording without clone_load is not checked" "$TC" "$W/noload"
expect 2 "usage" "$TC"

echo "selftest-tracecheck: $pass passed, $failed failed"
[ "$failed" = 0 ]
