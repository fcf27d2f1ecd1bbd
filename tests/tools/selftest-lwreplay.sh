#!/bin/sh
# Host self-test of lwreplay: builds dm-log-writes logs byte by byte here (an
# implementation of the format independent of lwreplay's), replays them onto
# regular files and compares with images this script builds with dd.
#   selftest-lwreplay.sh LWREPLAY WORKDIR
set -u
LW=$1
. "$(dirname "$0")/selftest-lib.sh"
# same A B WHAT: files identical
same() {
	if cmp -s "$1" "$2"; then ok "$3"; else bad "$3 ($(cmp "$1" "$2" 2>&1 | head -n 1))"; fi
}

# ---- the log format, written independently ----------------------------------

# le N BYTES: N as BYTES little-endian bytes
le() {
	_n=$1 _i=0
	while [ $_i -lt "$2" ]; do
		# shellcheck disable=SC2059
		printf "\\$(printf %03o $((_n & 255)))"
		_n=$((_n >> 8))
		_i=$((_i + 1))
	done
}
# pat TAG BYTES: recognisable data
pat() { yes "$1" | tr -d '\n' | head -c "$2"; }

# lw_new LOG SS: start a log with sector size SS (the super is written last)
lw_new() {
	LOG=$1 SS=$2 NENT=0
	dd if=/dev/zero of="$LOG" bs="$SS" count=1 2>/dev/null
}
# lw_entry SECTOR COUNT FLAGS [NAME]: a header block; for writes, data from
# $W/data.<index> (made here, COUNT blocks of pattern "e<index>.")
lw_entry() {
	_name=${4:-}
	{ le "$1" 8; le "$2" 8; le "$3" 8; le "${#_name}" 8; printf %s "$_name"; } >"$W/hdr"
	dd if="$W/hdr" bs="$SS" count=1 conv=sync 2>/dev/null >>"$LOG"
	if [ $(($3 & 4)) = 0 ] && [ "$2" -gt 0 ]; then
		pat "e$NENT." $(($2 * SS)) >"$W/data.$NENT"
		cat "$W/data.$NENT" >>"$LOG"
	fi
	eval "E_$NENT=\"$1 $2 $3\""
	NENT=$((NENT + 1))
}
# lw_super [N]: write the super block (N entries, default all)
lw_super() {
	{ le 0x6a736677736872 8; le 1 8; le "${1:-$NENT}" 8; le "$SS" 4; } >"$W/sb"
	dd if="$W/sb" of="$LOG" conv=notrunc 2>/dev/null
}

# ---- a model: what replaying entries should give ----------------------------

# model OUT BASE [-k KEEPMODE] INDEX...: BASE with the listed entries applied
# by dd (discards as zeroes)
model() {
	_out=$1
	cp "$2" "$_out"
	shift 2
	for _i in "$@"; do
		eval "set -- \$E_$_i"
		if [ $(($3 & 8)) != 0 ] || [ "$2" = 0 ]; then
			continue
		elif [ $(($3 & 4)) != 0 ]; then
			dd if=/dev/zero of="$_out" bs="$SS" seek="$1" count="$2" conv=notrunc 2>/dev/null
		else
			dd if="$W/data.$_i" of="$_out" bs="$SS" seek="$1" conv=notrunc 2>/dev/null
		fi
	done
}
seq_to() { _a=$1; while [ "$_a" -lt "$2" ]; do echo "$_a"; _a=$((_a + 1)); done; }

# region FILE SECTOR COUNT: bytes of a sector range (to stdout)
region() { dd if="$1" bs="$SS" skip="$2" count="$3" 2>/dev/null; }

# ---- a log with writes, flushes, FUA, a discard and marks --------------------

BASE=$W/base
pat "base." 65536 >"$BASE"	# the device before the log: 128 sectors
lw_new "$W/log" 512
lw_entry 0 8 0             # 0
lw_entry 16 4 0            # 1
lw_entry 0 0 1             # 2 FLUSH
lw_entry 0 0 8 m1          # 3 MARK
lw_entry 4 8 0             # 4 overlaps 0
lw_entry 32 8 4            # 5 DISCARD
lw_entry 40 2 2            # 6 FUA
lw_entry 64 16 16          # 7 METADATA
lw_entry 100 2 1           # 8 FLUSH with data
lw_entry 0 0 8 "mark two"  # 9 MARK
lw_entry 120 8 0           # 10
lw_entry 90 1 0            # 11
lw_entry 0 0 1             # 12 FLUSH
lw_entry 50 4 0            # 13
lw_entry 60 2 0            # 14
lw_entry 70 1 2            # 15 FUA
lw_entry 0 0 8 end         # 16 MARK
lw_super
ALL=$(seq_to 0 17)

expect 0 "info" "$LW" info "$W/log"
out_has "^entries=17$"
out_has "^sectorsize=512$"
out_has "^flushes=3$"
out_has "^fua=2$"
out_has "^discards=1$"
out_has "^marks=3$"
out_has "^end_sector=128$"
expect 0 "points" "$LW" points "$W/log"
if [ "$(cut -d' ' -f1 "$W/out" | tr '\n' ' ')" = "2 3 6 8 9 12 15 16 " ]; then
	ok "points are the flushes, FUA writes and marks"
else
	bad "points: $(tr '\n' ' ' <"$W/out")"
fi
out_has "^9 MARK mark two$"
out_has "^15 FUA$"
expect 0 "list" "$LW" list "$W/log"
[ "$(wc -l <"$W/out")" = 17 ] && ok "list: 17 lines" || bad "list: $(wc -l <"$W/out") lines"
out_has "^5 DISCARD 32 8$"
out_has "^7 META 64 16$"
out_has "^8 FLUSH 100 2$"
out_has "^3 MARK 0 0 m1$"
expect 0 "list a window" "$LW" list "$W/log" --start 4 --end 6
[ "$(cut -d' ' -f1 "$W/out" | tr '\n' ' ')" = "4 5 " ] && ok "list window is 4 5" || bad "list window: $(cat "$W/out")"
expect 0 "history" "$LW" history "$W/log" 4
# sector 4: byte 2048 of entry 0's "e0.e0..." pattern, byte 0 of entry 4's
if [ "$(cut -d' ' -f1-6 "$W/out" | tr '\n' ';')" = "0 WRITE 0 8 data 2e30652e;3 MARK m1;4 WRITE 4 8 data 652e3465;9 MARK mark two;16 MARK end;" ]; then
	ok "history of sector 4: its writes with their data, and the marks"
else
	bad "history of sector 4: $(tr '\n' ';' <"$W/out")"
fi
expect 0 "history of a discarded sector" "$LW" history "$W/log" 33 --start 4 --end 9
[ "$(tr '\n' ';' <"$W/out")" = "5 DISCARD 32 8;" ] && ok "history: a discard, no data" || bad "history of sector 33: $(tr '\n' ';' <"$W/out")"
expect 2 "history needs a sector" "$LW" history "$W/log"
expect 0 "find" "$LW" find "$W/log" "mark two"
out_has "^9$"

# whole replays and cuts
for cut in 0 1 3 5 8 12 17; do
	cp "$BASE" "$W/dev"
	expect 0 "replay --end $cut" "$LW" replay "$W/log" "$W/dev" --end $cut
	model "$W/want" "$BASE" $(seq_to 0 $cut)
	same "$W/dev" "$W/want" "replay --end $cut gives the model"
done
cp "$BASE" "$W/dev"
expect 0 "replay --all" "$LW" replay "$W/log" "$W/dev" --all
out_has "11 writes (56 sectors), 1 discards, 3 flushes, 3 marks"
model "$W/want" "$BASE" $ALL
same "$W/dev" "$W/want" "replay --all gives the model"
if region "$W/dev" 32 8 | tr -d '\000' | grep -q .; then bad "discard zeroed"; else ok "discard zeroed"; fi
cp "$BASE" "$W/dev"
expect 0 "replay --mark" "$LW" replay "$W/log" "$W/dev" --mark "mark two"
model "$W/want" "$BASE" $(seq_to 0 10)
same "$W/dev" "$W/want" "replay --mark includes the mark's predecessors"
cp "$BASE" "$W/dev"
expect 0 "replay in two steps (1)" "$LW" replay "$W/log" "$W/dev" --end 5
expect 0 "replay in two steps (2)" "$LW" replay "$W/log" "$W/dev" --start 5 --all
model "$W/want" "$BASE" $ALL
same "$W/dev" "$W/want" "two steps give the whole replay"
cp "$BASE" "$W/dev"
expect 0 "replay --discard keep" "$LW" replay "$W/log" "$W/dev" --all --discard keep
model "$W/want" "$BASE" $(seq_to 0 5) $(seq_to 6 17)
same "$W/dev" "$W/want" "--discard keep leaves the old data"
cp "$BASE" "$W/dev"
expect 0 "replay --keep-cache" "$LW" replay "$W/log" "$W/dev" --all --keep-cache
model "$W/want" "$BASE" $ALL
same "$W/dev" "$W/want" "replay --keep-cache gives the model"
cp "$BASE" "$W/dev"
expect 0 "replay a window onto the base" "$LW" replay "$W/log" "$W/dev" --start 10 --end 12
model "$W/want" "$BASE" 10 11
same "$W/dev" "$W/want" "a window replays only its entries"

# ---- torn: writes no later flush covers are dropped or kept --------------------

# torn_check END DROPPABLE...: replay [0, END) with 24 seeds; the result must
# be the model of every entry but a subset of DROPPABLE, which are each
# found kept and dropped by some seed; the same seed gives the same image.
# $TORN_OPTS: more replay options.
torn_check() {
	_end=$1
	shift
	_drop="$*" _seen=
	for _s in $(seq_to 1 25); do
		cp "$BASE" "$W/dev"
		# shellcheck disable=SC2086
		"$LW" replay "$W/log" "$W/dev" --end "$_end" --torn "$_s" ${TORN_OPTS:-} >"$W/out" 2>&1 ||
			{ bad "torn replay seed $_s exit $?"; cat "$W/out"; continue; }
		_apply=
		for _i in $(seq_to 0 "$_end"); do
			case " $_drop " in
			*" $_i "*)
				eval "set -- \$E_$_i"
				if region "$W/dev" "$1" "$2" | cmp -s - "$W/data.$_i"; then
					_apply="$_apply $_i"; _seen="$_seen k$_i"
				else
					_seen="$_seen d$_i"
				fi ;;
			*) _apply="$_apply $_i" ;;
			esac
		done
		# shellcheck disable=SC2086
		model "$W/want" "$BASE" $_apply
		if ! cmp -s "$W/dev" "$W/want"; then
			bad "torn --end $_end seed $_s: not the model of entries$_apply"
			continue
		fi
		cp "$BASE" "$W/dev2"
		# shellcheck disable=SC2086
		"$LW" replay "$W/log" "$W/dev2" --end "$_end" --torn "$_s" ${TORN_OPTS:-} >/dev/null 2>&1
		cmp -s "$W/dev" "$W/dev2" || bad "torn seed $_s is not deterministic"
	done
	for _i in $_drop; do
		case "$_seen " in *" k$_i "*) ;; *) bad "torn --end $_end: entry $_i never kept" ;; esac
		case "$_seen " in *" d$_i "*) ;; *) bad "torn --end $_end: entry $_i never dropped" ;; esac
	done
	ok "torn --end $_end: 24 seeds, only entries $_drop ever dropped, each kept and dropped"
}
n0=$failed
torn_check 17 13 14        # after flush 12: 13, 14 unflushed; 15 is FUA
torn_check 12 8 10 11      # flush 8's own data is not covered by it; 6 is FUA, 7 flushed
torn_check 2 0 1           # no flush yet
# a device with no volatile cache at sectors 50-54: entry 13 is durable
TORN_OPTS="--write-through 50:55" torn_check 17 14
[ "$failed" = "$n0" ] && ok "torn replays"
expect 1 "an entry straddling the write-through range" "$LW" replay "$W/log" "$W/dev" --end 17 --torn 1 --write-through 52:60
out_has "entry 13 (sectors 50+4) straddles"
expect 2 "an empty write-through range" "$LW" replay "$W/log" "$W/dev" --end 17 --write-through 5:5
expect 2 "write-through is a replay option" "$LW" list "$W/log" --write-through 0:8
# --write-through-ahead: write-through writes logged after the cut, up to the
# next flush entry, are applied too; nothing past that flush
ahead_check() { # WHAT END RANGE INDEX...: replay to END with RANGE ahead = model of INDEX...
	_what=$1 _end=$2 _wt=$3
	shift 3
	cp "$BASE" "$W/dev"
	"$LW" replay "$W/log" "$W/dev" --end "$_end" --write-through "$_wt" --write-through-ahead >"$W/out" 2>&1 ||
		{ bad "$_what: exit $?"; cat "$W/out"; return; }
	model "$W/want" "$BASE" "$@"
	if cmp -s "$W/dev" "$W/want"; then ok "$_what"; else bad "$_what: not the model of entries $*"; fi
}
ahead_check "ahead: entry 11 (in the range) before flush 12 applied, 10 (outside) not" 10 90:91 0 1 2 3 4 5 6 7 8 9 11
out_has "1 write-through writes after the cut applied (up to entry 12)"
ahead_check "ahead: no flush after the cut: up to the log's end" 13 50:55 0 1 2 3 4 5 6 7 8 9 10 11 12 13
ahead_check "ahead stops at the next flush: entry 10 after flush 8 not applied" 7 120:128 0 1 2 3 4 5 6
cp "$BASE" "$W/dev"
"$LW" replay "$W/log" "$W/dev" --end 10 --write-through 90:91 >/dev/null 2>&1
model "$W/want" "$BASE" 0 1 2 3 4 5 6 7 8 9
cmp -s "$W/dev" "$W/want" && ok "without ahead, entry 11 after the cut is not applied" ||
	bad "without --write-through-ahead a write after the cut was applied"
# --durable-only: what no later flush covers is dropped, FUA writes kept
cp "$BASE" "$W/dev"
"$LW" replay "$W/log" "$W/dev" --end 17 --durable-only >"$W/out" 2>&1 || bad "durable-only: exit $?"
model "$W/want" "$BASE" 0 1 2 3 4 5 6 7 8 9 10 11 12 15
cmp -s "$W/dev" "$W/want" && ok "durable-only: entries 13 and 14 dropped, FUA 15 kept" ||
	bad "durable-only: not the model of entries 0-12 and 15"
out_has "durable only: 2 not flushed, dropped"
expect 2 "durable-only and torn are exclusive" "$LW" replay "$W/log" "$W/dev" --end 17 --durable-only --torn 1
expect 2 "ahead needs a write-through range" "$LW" replay "$W/log" "$W/dev" --end 10 --write-through-ahead
cp "$BASE" "$W/dev"
expect 0 "torn with a window" "$LW" replay "$W/log" "$W/dev" --start 13 --end 17 --torn 3
out_has "torn (seed 3): 2 not flushed"

# torn blocks: each block of an unflushed write is old or new, all else exact
nb_old=0 nb_new=0
for s in $(seq_to 1 13); do
	cp "$BASE" "$W/dev"
	"$LW" replay "$W/log" "$W/dev" --end 12 --torn-blocks "$s" >"$W/out" 2>&1 ||
		{ bad "torn-blocks seed $s"; continue; }
	cp "$W/dev" "$W/fixed"
	for i in 8 10 11; do
		eval "set -- \$E_$i"
		b=0
		while [ $b -lt "$2" ]; do
			got=$(region "$W/dev" $(($1 + b)) 1 | md5sum)
			new=$(dd if="$W/data.$i" bs=512 skip=$b count=1 2>/dev/null | md5sum)
			old=$(region "$BASE" $(($1 + b)) 1 | md5sum)
			if [ "$got" = "$new" ]; then nb_new=$((nb_new + 1))
			elif [ "$got" = "$old" ]; then nb_old=$((nb_old + 1))
			else bad "torn-blocks seed $s: entry $i block $b neither old nor new"; fi
			b=$((b + 1))
		done
		# put the new data in, so the rest can be compared with the model
		dd if="$W/data.$i" of="$W/fixed" bs=512 seek="$1" conv=notrunc 2>/dev/null
	done
	model "$W/want" "$BASE" $(seq_to 0 12)
	cmp -s "$W/fixed" "$W/want" || bad "torn-blocks seed $s changed something else"
done
[ $nb_old -gt 0 ] && [ $nb_new -gt 0 ] && ok "torn-blocks: $nb_new blocks new, $nb_old old" ||
	bad "torn-blocks: $nb_new blocks new, $nb_old old"

# --tear-unit 4096: entry 10 (sectors 120-127, one aligned 4 KiB unit) is
# all new or all old; entry 8 is inside one unit too
n_whole=0
for s in $(seq_to 1 13); do
	cp "$BASE" "$W/dev"
	"$LW" replay "$W/log" "$W/dev" --end 12 --torn-blocks "$s" --tear-unit 4096 >"$W/out" 2>&1 ||
		{ bad "torn-blocks --tear-unit seed $s"; cat "$W/out"; continue; }
	for i in 8 10; do
		eval "set -- \$E_$i"
		if region "$W/dev" "$1" "$2" | cmp -s - "$W/data.$i" ||
			region "$W/dev" "$1" "$2" | cmp -s - "$(region "$BASE" "$1" "$2" >"$W/old"; echo "$W/old")"; then
			n_whole=$((n_whole + 1))
		else
			bad "--tear-unit 4096 seed $s: entry $i torn inside a unit"
		fi
	done
done
[ $n_whole = 26 ] && ok "--tear-unit 4096: whole units only"
expect 2 "--tear-unit without --torn-blocks" "$LW" replay "$W/log" "$W/dev" --all --tear-unit 4096
expect 2 "--tear-unit not a multiple of the sectorsize" "$LW" replay "$W/log" "$W/dev" --all --torn-blocks 1 --tear-unit 1000

# ---- errors --------------------------------------------------------------------

cp "$W/log" "$W/badlog"
printf 'X' | dd of="$W/badlog" conv=notrunc 2>/dev/null
expect 1 "bad magic" "$LW" info "$W/badlog"
out_has "bad magic"
cp "$W/log" "$W/badlog"
le 2 1 | dd of="$W/badlog" bs=1 seek=8 conv=notrunc 2>/dev/null
expect 1 "unknown version" "$LW" list "$W/badlog"
out_has "version 2"
cp "$W/log" "$W/badlog"
le 3000 4 | dd of="$W/badlog" bs=1 seek=24 conv=notrunc 2>/dev/null
expect 1 "bad sectorsize" "$LW" info "$W/badlog"
head -c $(($(wc -c <"$W/log") - 100)) "$W/log" >"$W/badlog"
cp "$BASE" "$W/dev"
expect 1 "truncated in the last entry's data" "$LW" replay "$W/badlog" "$W/dev" --end 2
out_has "truncated"
same "$W/dev" "$BASE" "nothing written from a truncated log"
cp "$W/log" "$W/badlog"
le 40 8 | dd of="$W/badlog" bs=1 seek=16 conv=notrunc 2>/dev/null
expect 1 "more entries than the log holds" "$LW" points "$W/badlog"
out_has "truncated"
cp "$W/log" "$W/badlog"
le 99999999 8 | dd of="$W/badlog" bs=1 seek=16 conv=notrunc 2>/dev/null
expect 1 "absurd entry count" "$LW" info "$W/badlog"
cp "$W/log" "$W/badlog"
le 64 1 | dd of="$W/badlog" bs=1 seek=$((512 + 16)) conv=notrunc 2>/dev/null
expect 1 "unknown flag" "$LW" list "$W/badlog"
out_has "unknown flags 0x40"
lw_super 16 && cp "$W/log" "$W/log16" && lw_super
expect 0 "a super counting fewer entries" "$LW" info "$W/log16"
out_has "^entries=16$"
head -c 40960 "$BASE" >"$W/small"
cp "$W/small" "$W/small0"
expect 1 "entry beyond the device" "$LW" replay "$W/log" "$W/small" --all
out_has "entry 8 .* beyond the end"
same "$W/small" "$W/small0" "nothing written when an entry is beyond the device"
expect 0 "a prefix that fits the small device" "$LW" replay "$W/log" "$W/small" --end 8
expect 1 "unknown mark" "$LW" replay "$W/log" "$W/dev" --mark nosuch
out_has "no mark named 'nosuch'"
expect 1 "--end past the log" "$LW" replay "$W/log" "$W/dev" --end 18
expect 2 "no arguments" "$LW"
expect 2 "unknown command" "$LW" frob "$W/log"
expect 2 "replay without an end" "$LW" replay "$W/log" "$W/dev"
expect 2 "replay with two ends" "$LW" replay "$W/log" "$W/dev" --end 3 --all
expect 2 "bad number" "$LW" replay "$W/log" "$W/dev" --end 3x
expect 2 "unknown option" "$LW" list "$W/log" --frob
expect 2 "bad discard mode" "$LW" replay "$W/log" "$W/dev" --all --discard maybe
expect 2 "start after end" "$LW" replay "$W/log" "$W/dev" --start 5 --end 3
expect 3 "missing device" "$LW" replay "$W/log" "$W/nodev" --all
expect 3 "missing log" "$LW" info "$W/nolog"

# ---- a 4 KiB-sector log ----------------------------------------------------------
pat "big." 65536 >"$W/base4k"
BASE=$W/base4k
lw_new "$W/log4k" 4096
lw_entry 3 2 0
lw_entry 0 0 1
lw_entry 0 0 8 "a mark"
lw_entry 10 1 2
lw_entry 1 1 4
lw_super
cp "$BASE" "$W/dev"
expect 0 "replay a 4 KiB-sector log" "$LW" replay "$W/log4k" "$W/dev" --all
model "$W/want" "$BASE" 0 1 2 3 4
same "$W/dev" "$W/want" "4 KiB sectors: offsets and lengths in log sectors"
expect 0 "list a 4 KiB-sector log" "$LW" list "$W/log4k"
out_has "^4 DISCARD 1 1$"
out_has "^2 MARK 0 0 a mark$"

echo "lwreplay self-test: $pass passed, $failed failed"
[ "$failed" = 0 ]
