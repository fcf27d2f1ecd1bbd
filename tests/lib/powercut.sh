# Power-cut replay for the clone tests (POSIX sh, busybox ash). Source it
# after clone.sh:   . /tests/lib/powercut.sh
#
# Recording: the clone's destination, metadata and a crash journal are three
# slices of one device, the "base" (parts of $DST and $META joined by
# dm-linear), written through dm-log-writes, whose log goes to $SCRATCH2:
#
#   pcbase = DST[0, PC_LEN) + META[0, PC_MLEN + PC_JLEN)
#   pclw   = log-writes pcbase $SCRATCH2
#   pcdst, pcmeta, pcjrn = slices of pclw     (the clone runs on these)
#
# Checking: the first PC_BASE sectors of $SCRATCH are brought to the base's
# state when logging began (pc_replay_base), and the log is replayed onto
# them (lwreplay) up to each crash point in turn, in increasing order. Each
# point is checked through a throw-away non-persistent dm-snapshot (pcsnap,
# COW on the rest of $SCRATCH), so checking never changes the replay target:
#
#   pcorig = SCRATCH[0, PC_BASE)   pccow = SCRATCH[PC_COW, end)
#   pcsnap = snapshot pcorig pccow N      rdst, rmeta, rjrn = slices of it
#
# A point "E MODE SEED" cuts the log before entry E: entries [0, E) were
# written. Entries up to the last flush before E are replayed onto pcorig,
# the rest onto the snapshot: all of them (MODE clean), or as lwreplay
# --torn SEED (a volatile cache losing any unflushed write) or --torn-blocks
# SEED --tear-unit $PC_TEAR (any unflushed PC_TEAR-byte block, default 512).
#
# Variables a test sets before pc_layout: PC_LEN (clone length, sectors),
# PC_MLEN (metadata slice), PC_JLEN (journal slice); PC_SRC=1 for a source
# in the log too (discard_source): a fourth slice, pcsrc (rsrc when
# checking), of PC_LEN sectors after the journal, which starts out holding
# the pattern of seed $SEED, as prep puts on $SRC; PC_WT=1 for a
# destination without a volatile write cache: pcdst's queue is switched to
# "write through" before the clone opens it, so the block layer drops FUA and
# PREFLUSH from the clone's bios to it as it does on such a disk, and
# replays keep every write to it that completed (lwreplay --write-through;
# dm-log-writes under it cannot say "write through" itself). dm-log-writes
# logs such a write only at the next flush, while a FUA write (a metadata
# record) is logged when it completes: a cut between the two would lack a
# destination write the disk had. The replay applies the destination's
# writes logged after the cut up to the next flush entry
# (--write-through-ahead): it can make data durable early, never late, so
# the cut still loses every metadata write the log puts after it.
#
# One log for both devices means a flush of either is replayed as a flush of
# both, so these tests alone would miss code that counted on the metadata
# device's flush for the destination's data (or the reverse). The commit
# model (tests/model, docs/commit-model.md "Two devices") keeps a cache and
# a flush per device and catches exactly that mutant (no-dest-flush), which
# is why the replay keeps one log, and the order of all writes with it.

PC_LOG=${PC_LOG:-$SCRATCH2}

pc_layout() {
	PC_MLEN=${PC_MLEN:-8192}
	PC_JLEN=${PC_JLEN:-8192}
	PC_SLEN=0
	[ "${PC_SRC:-0}" = 1 ] && PC_SLEN=$PC_LEN
	PC_BASE=$((PC_LEN + PC_MLEN + PC_JLEN + PC_SLEN))
	# COW space: from the first 128 MiB boundary after the replay target
	PC_COW=$(((PC_BASE + 262143) / 262144 * 262144))
	PC_COWLEN=$(($(dev_sectors "$SCRATCH") - PC_COW))
	PC_POS=0	# entries of the log already on pcorig
}

# dm_table NAME FILE: create a device from a (multi-line) table file
dm_table() {
	dmsetup create "$1" "$2" || { fail "dmsetup create $1 from $2: $(tr '\n' ';' <"$2")"; return 1; }
	[ -b "/dev/mapper/$1" ] || dmsetup mknodes "$1"
	[ -b "/dev/mapper/$1" ] || { fail "no /dev/mapper/$1"; return 1; }
}

# pc_slices DEV PREFIX: PREFIX{dst,meta,jrn} (and PREFIXsrc) over DEV, laid
# out as the base
pc_slices() {
	linear "${2}dst" "$1" 0 "$PC_LEN" &&
		linear "${2}meta" "$1" "$PC_LEN" "$PC_MLEN" &&
		linear "${2}jrn" "$1" $((PC_LEN + PC_MLEN)) "$PC_JLEN" || return 1
	[ "$PC_SLEN" = 0 ] || linear "${2}src" "$1" $((PC_LEN + PC_MLEN + PC_JLEN)) "$PC_SLEN"
}

# pc_record_start: the base, dm-log-writes over it (log on $PC_LOG, wiped),
# the three slices pcdst, pcmeta, pcjrn. The base keeps what $DST and $META
# hold: pc_replay_base must be able to rebuild it (pc_init_base).
pc_record_start() {
	dd if=/dev/zero of="$PC_LOG" bs=1M count=1 oflag=direct 2>/dev/null || { fail "wipe log"; return 1; }
	printf '0 %s linear %s 0\n%s %s linear %s 0\n' "$PC_LEN" "$DST" "$PC_LEN" \
		$((PC_MLEN + PC_JLEN + PC_SLEN)) "$META" >"$T/base.table"
	dm_table pcbase "$T/base.table" || return 1
	dm_create pclw "0 $PC_BASE log-writes /dev/mapper/pcbase $PC_LOG" || return 1
	pc_slices /dev/mapper/pclw pc || return 1
	[ "${PC_WT:-0}" = 1 ] || return 0
	_q=/sys/dev/block/$(devno /dev/mapper/pcdst)/queue
	echo "write through" >"$_q/write_cache" 2>/dev/null
	[ "$(cat "$_q/write_cache")" = "write through" ] ||
		{ fail "pcdst: cannot switch its queue to write through"; return 1; }
	log "pcdst: write through (PC_WT=1)"
}

# pc_mark NAME: a mark in the log
pc_mark() { dmsetup message pclw 0 mark "$1" || { fail "mark $1"; return 1; }; }

# pc_record_stop: remove the slices, the log-writes device (its super block
# is final only then) and the base. Remove what sits on the slices first.
pc_record_stop() {
	dm_remove pcdst pcmeta pcjrn pcsrc pclw pcbase
}

# pc_init_base SEED: what the tests put on the base before recording: the
# destination part holds the cverify pattern of seed SEED (data read from
# it by mistake is recognisable), metadata and journal parts zeroes, the
# source part (PC_SRC=1) the pattern of seed $SEED.
# Called for $DST/$META before recording, and for $SCRATCH by pc_replay_base.
pc_init_base() { # DST_DEV META_DEV META_OFFSET_SECTORS SEED
	fill_dev "$1" "$T/junk.map" "$4" $((PC_LEN / 8)) || return 1
	dd if=/dev/zero of="$2" bs=512 seek="$3" count=$((PC_MLEN + PC_JLEN)) oflag=direct 2>/dev/null ||
		{ fail "zero metadata area of $2"; return 1; }
	[ "$PC_SLEN" = 0 ] && return 0
	linear pcinit "$2" $(($3 + PC_MLEN + PC_JLEN)) "$PC_SLEN" || return 1
	fill_dev /dev/mapper/pcinit "$T/srcpart.map" "$SEED" $((PC_SLEN / 8))
	_r=$?
	dm_remove pcinit
	return $_r
}

# pc_check_start JUNK_SEED: the replay target at the log's beginning, pcorig
# and pccow over $SCRATCH; lwreplay info/points of the log.
pc_check_start() {
	pc_init_base "$SCRATCH" "$SCRATCH" "$PC_LEN" "$1" || return 1
	linear pcorig "$SCRATCH" 0 "$PC_BASE" || return 1
	linear pccow "$SCRATCH" "$PC_COW" "$PC_COWLEN" || return 1
	lwreplay info "$PC_LOG" >"$T/lw.info" || { fail "lwreplay info: the log is invalid"; return 1; }
	# info dropped any stale cached page of the log: later runs keep the cache
	lwreplay points "$PC_LOG" --keep-cache >"$T/lw.points" || { fail "lwreplay points"; return 1; }
	PC_ENTRIES=$(sed -n 's/^entries=//p' "$T/lw.info")
	PC_POS=0
	log "log: $(tr '\n' ' ' <"$T/lw.info")"
}

# pc_log_consistent JUNK_SEED: does the whole log, replayed onto the state
# the recording began with, give what the base's devices hold now? The
# replay goes to pcfull, laid out as the base at the start of the COW area
# (no snapshot uses it yet), brought to the recording's first state by
# pc_init_base JUNK_SEED. dm-log-writes logs the writes a FLUSH took (those
# that completed before it was sent) when that FLUSH completes: two flushes
# that complete out of order put their writes in the log in the wrong
# order, and a write can come in the log before an earlier one it
# overwrote. Points after such a pair would fail for what the log says, not
# for what the clone did; the devices say what it did. Discards are
# replayed as zeroes, and if that differs, kept (a device may do either).
# Status 0 yes, 1 no (a line says where), 2 the check itself failed.
pc_log_consistent() {
	printf '0 %s linear %s 0\n%s %s linear %s 0\n' "$PC_LEN" "$DST" "$PC_LEN" \
		$((PC_MLEN + PC_JLEN + PC_SLEN)) "$META" >"$T/real.table"
	dm_table pcreal "$T/real.table" || return 2
	linear pcfull "$SCRATCH" "$PC_COW" "$PC_BASE" || { dm_remove pcreal; return 2; }
	_pc_rc=1
	for _pc_d in zero keep; do
		if ! pc_init_base /dev/mapper/pcfull /dev/mapper/pcfull "$PC_LEN" "$1"; then
			_pc_rc=2
		elif ! lwreplay replay "$PC_LOG" /dev/mapper/pcfull --all --discard $_pc_d --keep-cache >"$T/lw.out" 2>&1; then
			cat "$T/lw.out"
			fail "lwreplay replay --all"
			_pc_rc=2
		elif [ "$(md5sum </dev/mapper/pcfull)" = "$(md5sum </dev/mapper/pcreal)" ]; then
			_pc_rc=0	# (md5sum reads faster than busybox cmp)
		else
			cmp /dev/mapper/pcfull /dev/mapper/pcreal >"$T/cmp.out" 2>&1
		fi
		[ $_pc_rc = 1 ] || break
	done
	dm_remove pcfull pcreal
	if [ $_pc_rc = 1 ]; then
		# cmp: "... differ: char N, line L" (N counts from 1)
		_pc_b=$((($(sed -n 's/.*differ: char \([0-9]*\).*/\1/p' "$T/cmp.out") - 1) / 4096))
		log "the log replayed whole differs from the devices from 4 KiB block $_pc_b of the base on (the destination is blocks 0-$((PC_LEN / 8 - 1)))"
		lwreplay history "$PC_LOG" $((_pc_b * 8)) 2>/dev/null | tail -n 6 | sed 's/^/    /'
	fi
	return $_pc_rc
}

# pc_record FN JUNK_SEED: record with the test's FN (which ends with
# pc_record_stop), then pc_check_start JUNK_SEED; a recording whose log
# does not replay to what the devices hold (pc_log_consistent) is made
# again, three times at the most.
pc_record() {
	_pc_try=1
	while :; do
		"$1" || return 1
		pc_check_start "$2" || return 1
		pc_log_consistent "$2"
		case $? in
		0) return 0 ;;
		2) return 1 ;;
		esac
		dm_remove pcorig pccow
		[ $_pc_try -lt 3 ] || { fail "three recordings in a row whose logs do not replay to what the devices hold"; return 1; }
		log "recording $_pc_try: its log does not replay to what the devices hold (flushes completed out of order?): recording again"
		_pc_try=$((_pc_try + 1))
	done
}

# pc_last_flush E: index of the last FLUSH entry before E, or 0
pc_last_flush() {
	awk -v e="$1" '$1 < e && $2 ~ /FLUSH/ { f = $1 } END { print f + 0 }' "$T/lw.points"
}

# pc_last_mark E PREFIX: the name of the last mark called PREFIX<n> before E
# ("" if none)
pc_last_mark() {
	awk -v e="$1" -v p="$2" '$1 < e && $2 == "MARK" && index($3, p) == 1 { m = $3 } END { print m }' "$T/lw.points"
}

# pc_mark_index NAME: the index of a mark ("" if absent)
pc_mark_index() { awk -v n="$1" '$2 == "MARK" && $3 == n { print $1; exit }' "$T/lw.points"; }

# pc_snap_up E MODE SEED: pcorig advanced, pcsnap holding the state at point
# E, and its slices rdst, rmeta, rjrn
pc_snap_up() {
	_e=$1 _mode=$2 _seed=$3
	# the origin only ever advances to a flush: points come in increasing
	# order, and so do the last flushes before them
	_f=$(pc_last_flush "$_e")
	[ "$_f" -ge "$PC_POS" ] || { fail "points out of order: $_f < $PC_POS"; return 1; }
	if [ "$_f" -gt "$PC_POS" ]; then
		lwreplay replay "$PC_LOG" /dev/mapper/pcorig --start "$PC_POS" --end "$_f" --keep-cache >"$T/lw.out" 2>&1 ||
			{ cat "$T/lw.out"; fail "lwreplay replay $PC_POS..$_f"; return 1; }
		PC_POS=$_f
	fi
	# 64 KiB chunks: fewer exceptions to look up than 4 KiB ones
	dm_create pcsnap "0 $PC_BASE snapshot /dev/mapper/pcorig /dev/mapper/pccow N 128" || return 1
	PC_TORN=
	if [ "$_e" -gt "$_f" ]; then
		case $_mode in
		clean) set -- ;;
		torn) set -- --torn "$_seed" ;;
		tornb) set -- --torn-blocks "$_seed" --tear-unit "${PC_TEAR:-512}" ;;
		esac
		if [ "${PC_WT:-0}" = 1 ]; then
			# pcdst, in the log's sectors; its writes logged after the
			# cut up to the next flush may have completed before it
			set -- "$@" --write-through "0:$((PC_LEN * 512 / $(sed -n 's/^sectorsize=//p' "$T/lw.info")))" \
				--write-through-ahead
		fi
		lwreplay replay "$PC_LOG" /dev/mapper/pcsnap --start "$_f" --end "$_e" --keep-cache "$@" \
			>"$T/lw.out" 2>&1 || { cat "$T/lw.out"; fail "lwreplay replay $_f..$_e onto the snapshot"; return 1; }
		PC_TORN=$(sed -n 's/.*; torn/torn/p' "$T/lw.out")
	fi
	pc_slices /dev/mapper/pcsnap r
}

# pc_snap_down: remove the slices and the snapshot (the COW is forgotten)
pc_snap_down() { dm_remove rdst rmeta rjrn rsrc pcsnap; }

# pc_check_points CUTS DEV...: the test's check_point E MODE SEED at each
# crash point of the file CUTS (pc_points' lines, in order); after a point
# that failed, its devices DEV... and the snapshot are removed, and five
# failures end the loop. Sets PC_CHECKED and PC_FAILURES, and logs them
# with the time taken and a summary line.
pc_check_points() {
	_pc_cuts=$1 _pc_t0=$(now_ms)
	shift
	PC_CHECKED=0 PC_FAILURES=0
	while read -r _e _mode _seed; do
		[ "$_mode" = clean ] && _seed=
		PC_CHECKED=$((PC_CHECKED + 1))
		check_point "$_e" "$_mode" "$_seed" && continue
		PC_FAILURES=$((PC_FAILURES + 1))
		dm_remove "$@"
		pc_snap_down
		[ $PC_FAILURES -lt 5 ] || { log "giving up after $PC_FAILURES failures"; break; }
	done <"$_pc_cuts"
	log "crash points checked: $PC_CHECKED, failures: $PC_FAILURES ($((($(now_ms) - _pc_t0) / 1000)) s)"
	log "summary: crash-points $PC_CHECKED $PC_FAILURES"
}

# pc_points SEED NMARKS NFLUSH NRANDOM MARKPREFIX: crash points, one
# "E MODE SEED" a line, in increasing order of E: NMARKS marks called
# MARKPREFIX<n> (cut just after), NFLUSH random FLUSH/FUA entries (cut just
# after), NRANDOM random cuts anywhere with torn or tornb, and the end.
pc_points() {
	awk -v seed="$1" -v nm="$2" -v nf="$3" -v nr="$4" -v p="$5" -v n="$PC_ENTRIES" '
		$2 == "MARK" && index($3, p) == 1 { mk[++m] = $1 }
		$2 ~ /FLUSH|FUA/ { fl[++f] = $1 }
		END {
			srand(seed)
			if (nm > m) nm = m
			for (i = 1; i <= nm; i++) print mk[int((i - 0.5) * m / nm) + 1] + 1, "clean", 0
			for (i = 1; i <= nf && f; i++) print fl[int(rand() * f) + 1] + 1, "clean", 0
			for (i = 1; i <= nr; i++)
				print int(rand() * n) + 1, (i % 2 ? "torn" : "tornb"), int(rand() * 1000000) + 1
			print n, "clean", 0
		}' "$T/lw.points" | sort -k1,1n -k2,2 -u
}

# pc_hybrid NAME DUMP DST [SRC]: a device that reads every region the metadata
# dump (clone_dump text) calls hydrated from DST and every other from SRC
# ($SRC by default): what the clone must read like, built without the module.
pc_hybrid() {
	awk -v len="$PC_LEN" -v reg="$PC_REG" -v dst="$3" -v src="${4:-$SRC}" '
		BEGIN { pos = 0 }
		/^range / {
			split($2, a, "-")
			s = a[1] * reg; e = (a[2] + 1) * reg
			if (e > len) e = len
			if (s > pos) print pos, s - pos, "linear", src, pos
			print s, e - s, "linear", dst, s
			pos = e
		}
		END { if (pos < len) print pos, len - pos, "linear", src, pos }' "$2" >"$T/hyb.table"
	dm_table "$1" "$T/hyb.table"
}

# pc_mapdiff A B OUT: OUT = map A with every block whose generation differs
# in map B marked "any" (writes in flight at a crash: either is right)
pc_mapdiff() {
	cp "$1" "$3"
	# maps: a 32-byte header, then one u32 per 4 KiB block
	cmp -l "$1" "$2" 2>/dev/null | awk '$1 > 32 { b = int(($1 - 33) / 4); if (b != last) print b; last = b }' |
		awk 'NR == 1 { s = $1; e = $1 + 1; next }
		     $1 == e { e++; next }
		     { print s ":" e; s = $1; e = $1 + 1 }
		     END { if (NR) print s ":" e }' |
		while read -r _r; do
			cverify mark "$3" "$_r" any || return 1
		done
}

# pc_src_copy DEV BLOCK N: the source's 4 KiB blocks BLOCK.. written to DEV,
# synced: a clone's data stays the source's whatever a crash keeps
pc_src_copy() {
	dd if="$SRC" of="$1" bs=4096 skip="$2" seek="$2" count="$3" iflag=direct oflag=direct \
		conv=notrunc,fsync 2>/dev/null || { fail "dd $*"; return 1; }
}

# pc_metadata_ok WHAT E MODE: the metadata of the snapshot (rmeta) loads in
# the tools, and its hydrated count ($PC_NH) does not go down: at a clean cut,
# not below any earlier clean cut's; at a torn one, not below the clean cut
# at or before its last flush (what was committed then is durable). The
# caller sets PC_LAST_E and PC_LAST_H after each clean cut; $PC_CHK is
# clone_check's status.
PC_LAST_E=0 PC_LAST_H=0
pc_metadata_ok() {
	clone_check /dev/mapper/rmeta >"$T/chk" 2>&1
	PC_CHK=$?
	clone_dump /dev/mapper/rmeta >"$T/dump" 2>"$T/dump.err"
	_pc_dmp=$?
	if [ $_pc_dmp = 4 ]; then
		echo "hydrated 0" >"$T/dump"
	elif [ $_pc_dmp != 0 ] || [ $PC_CHK -gt 1 ]; then
		cat "$T/chk" "$T/dump.err"
		fail "$1: metadata: clone_check $PC_CHK, clone_dump $_pc_dmp"
		return 1
	fi
	PC_NH=$(sed -n 's/^hydrated //p' "$T/dump")
	if [ "$3" = clean ] || [ "$(pc_last_flush "$2")" -ge "$PC_LAST_E" ]; then
		[ "$PC_NH" -ge "$PC_LAST_H" ] ||
			{ fail "$1: $PC_NH regions hydrated, fewer than $PC_LAST_H at point $PC_LAST_E"; return 1; }
	fi
}
