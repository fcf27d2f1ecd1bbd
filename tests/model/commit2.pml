/*
 * A model of the FLUSH path of the commit redesign (docs/commit-v2.md),
 * for SPIN: the design is checked here before any of it is written.
 *
 * What it models (the new parts of the design):
 *   - a destination with a volatile write cache: a completed write not yet
 *     flushed is lost, lands or is torn at a power cut, and stays in the
 *     cache at a reset (a crash that keeps the device powered);
 *   - whole-region writes (each writes a new value; a record may carry a
 *     checksum of it), partial writes to hydrated regions and background
 *     copies (no checksum: their runs are logged after a destination flush);
 *   - a FLUSH whose commit sends the destination flush and the log record
 *     at the same time when every run in it has a checksum, and one after
 *     the other when one has none; the acknowledgement once both are done;
 *   - confirm records, and the wait of a write to a region of an unsettled
 *     record for its confirm;
 *   - power cuts and resets at every step, then load: the records in order,
 *     settled ones taken whole, unsettled runs with a checksum taken only if
 *     the destination (flushed first) holds that value, then a checkpoint
 *     of what load found (records before it are never read again); then
 *     the next run goes on from there.
 *   - with -DFUA, FUA whole-region writes: each covers its own region only,
 *     and needs a commit of its own as a FLUSH does;
 *   - with -DOVERLAP, a FLUSH (or FUA write) that arrives while a commit
 *     runs: it covers what completed before it arrived, waits, and is
 *     acknowledged by the next commit, which starts once the running one
 *     is acknowledged, with its own destination flush and record (one
 *     waits at a time: a third arrival waits for a slot).
 * The ring's two copies, checkpoints, ring reuse, media and I/O errors are
 * ring.pml's. The properties checked:
 *   a_acked_is_durable   every region an acknowledged FLUSH covered is
 *                        hydrated after a load, and holds what was written
 *                        before the FLUSH if nothing was written since
 *   b_no_bit_before_data no region is hydrated after a load whose data never
 *                        reached the destination (it holds no junk)
 *   c_no_bit_lost        a region settled before the crash is hydrated
 *                        after the load
 * Mutants (-DMUT_...): NO_WAIT (an overwrite does not wait for the confirm),
 * NC_PARALLEL (runs without a checksum logged beside the destination flush),
 * NO_VALIDATE (load takes unsettled runs unchecked), EARLY_ACK (the FLUSH
 * acknowledged once its record is written), NO_LOAD_FLUSH (load validates
 * against the destination's cache), CSUM_STALE (a region written again
 * before its record keeps the first write's checksum), NO_BASE (load
 * writes no checkpoint: a record it dropped is taken by a later confirm),
 * FUA_NO_COMMIT (with FUA: a FUA write to a fresh region taken as durable
 * once its data is, without a record), JOIN_RUNNING (with OVERLAP: a FLUSH
 * that arrives while a commit runs is acknowledged with it), SHARE_FLUSH
 * (with OVERLAP: the waiting FLUSH's commit counts the running one's
 * destination flush as its own when that came after it arrived, but takes
 * its snapshot only when it starts: a copy completed between the two is
 * logged unflushed).
 */

#ifndef NR
#define NR	2		/* regions */
#endif
#ifndef OPS
#define OPS	4		/* user requests (writes, copies, FLUSHes) in all */
#endif
#ifndef CRASHES
#define CRASHES	2
#endif
#define NREC	(OPS + CRASHES + 2)	/* log records at most */

/* what a region of the destination holds */
#define JUNK	0		/* never written: not the region's data */
#define SRC	1		/* the source's data (a copy) */
#define TORN	15		/* a torn write: matches no checksum */
#define NOCS	255		/* no checksum */

/* a record slot */
#define R_NONE	0
#define R_FLY	1		/* sent, not completed */
#define R_OK	2		/* durable and valid */
#define R_BAD	3		/* torn: its checksum fails, load skips it */

/* a record's kind */
#define K_DATA	0		/* regions hydrated, a checksum for some */
#define K_CONF	1		/* every data record up to a sequence is settled */
#define K_BASE	2		/* load's checkpoint: what it found hydrated; older
				   records are never read again */

/* the commit of a FLUSH */
#define C_IDLE	0
#define C_RUN	1

/* ---- The destination ---- */
byte dv[NR];		/* on the medium */
bool pend[NR];		/* a completed write only in the cache */
byte pv[NR];		/* ... its value */

/* ---- The log ---- */
byte rst[NREC];		/* R_* */
byte rkind[NREC];	/* K_* */
byte rseq[NREC];	/* data: its sequence; confirm: every data record up to it is settled */
byte rmask[NREC];	/* data: its regions; base: the regions hydrated */
byte rcs[NREC * NR];	/* data: per region its checksum, or NOCS */
byte nrec;		/* slots used */
byte nseq;		/* the last data sequence given */

/* ---- In core ---- */
bool hyd[NR];
byte cs[NR];		/* the checksum of what the region holds, or NOCS */
bool logged[NR];	/* in a record (sent) */
bool unset[NR];		/* ... not settled: writes to it wait */
byte rs[NR];		/* the sequence of that record */
byte confq;		/* a confirm to send for records up to this sequence (0: none) */
byte fslot = NREC;	/* the confirm in flight */

/* ---- The commit of a FLUSH ---- */
byte cst;
bool dflushed;		/* its destination flush is done */
bool serial;		/* a run without a checksum: the record after the flush */
byte cslot;		/* its record's slot, NREC before it is sent */
byte cseq;
byte cmask;

/* ---- What the user was told ---- */
byte nextv = 2;		/* the next value a write puts */
byte gen[NR];		/* writes completed to the region, in all */
bool wrun[NR];		/* ... in this run (since the last crash) */
byte last[NR];		/* the value its last write put */
byte covgen[NR];	/* at the FLUSH's arrival */
byte covval[NR];
bool covered[NR];
bool prom[NR];		/* an acknowledged FLUSH covered it */
byte promgen[NR];
byte promval[NR];
bool settled[NR];	/* hydrated by a load, or a durable confirm covers its record */

/* ---- A FLUSH that arrived while a commit ran (OVERLAP) ---- */
bool waiting;
bool wflushed;		/* the running commit's destination flush came after it arrived */
bool wcovered[NR];	/* what it covers: as covered, at its arrival */
byte wcovgen[NR];
byte wcovval[NR];

byte ops = OPS;
byte fua = NR;		/* the region of the FUA write a commit is for; NR: a FLUSH */
byte crashes = CRASHES;
byte i, k;
byte base, conf;	/* load's scratch */

hidden byte a_acked_is_durable, b_no_bit_before_data, c_no_bit_lost;

/* what a read of region R returns now */
#define CUR(R)	(pend[R] -> pv[R] : dv[R])

/* a write may go to region R: not while its record is unsettled */
#ifdef MUT_NO_WAIT
#define MAY_WRITE(R)	true
#else
#define MAY_WRITE(R)	(!unset[R])
#endif

/* A write completes on the destination (into its cache). */
inline dest_write(R, V)
{
	pend[R] = 1; pv[R] = V;
	gen[R]++; last[R] = V; wrun[R] = 1
}

/* A whole-region write of a new value: hydrates the region. */
inline whole_write(R)
{
	printf("r%d: whole-region write of value %d\n", R, nextv);
	dest_write(R, nextv);
	hyd[R] = 1;
	if
	:: !logged[R] ->
#ifdef MUT_CSUM_STALE
		if
		:: cs[R] == NOCS && gen[R] == 1 -> cs[R] = nextv
		:: else
		fi
#else
		cs[R] = nextv
#endif
	:: else
	fi;
	nextv++
}

/* A partial write to a hydrated region: a new value, no checksum of it. */
inline partial_write(R)
{
	printf("r%d: partial write, value %d (no checksum)\n", R, nextv);
	dest_write(R, nextv);
	if
	:: !logged[R] -> cs[R] = NOCS
	:: else
	fi;
	nextv++
}

/* A background copy of an unhydrated region. */
inline copy(R)
{
	printf("r%d: copied from the source\n", R);
	dest_write(R, SRC);
	hyd[R] = 1; cs[R] = NOCS
}

/* blkdev_issue_flush() of the destination */
inline dest_flush()
{
	for (k : 0 .. NR - 1) {
		if
		:: pend[k] -> dv[k] = pv[k]; pend[k] = 0; pv[k] = 0
		:: else
		fi
	}
	k = 0
}

/*
 * What a FLUSH (fua == NR) or the FUA write to region fua covers: the
 * writes completed before it arrived.
 */
inline cover()
{
	for (k : 0 .. NR - 1) {
		covered[k] = wrun[k] && (fua == NR || fua == k); covgen[k] = gen[k]; covval[k] = last[k]
	}
	k = 0
}

/* ... and when one arrives while a commit runs: it waits */
inline cover_waiting()
{
	for (k : 0 .. NR - 1) {
		wcovered[k] = wrun[k] && (fua == NR || fua == k); wcovgen[k] = gen[k]; wcovval[k] = last[k]
	}
	k = 0;
	waiting = 1; wflushed = 0;
	printf("FLUSH arrives during a commit: it waits for the next\n")
}

/* the waiting FLUSH's commit starts: what it covers was taken at arrival */
inline take_waiting()
{
	for (k : 0 .. NR - 1) {
		covered[k] = wcovered[k]; covgen[k] = wcovgen[k]; covval[k] = wcovval[k];
		wcovered[k] = 0; wcovgen[k] = 0; wcovval[k] = 0
	}
	k = 0;
	waiting = 0
}

/* A FLUSH arrives: what it covers, and the snapshot of its commit. */
inline flush_arrives()
{
	cover();
	commit_start()
}

/* the snapshot of a commit: the regions hydrated and not yet logged */
inline commit_start()
{
	cmask = 0; serial = 0;
	for (k : 0 .. NR - 1) {
		if
		:: hyd[k] && !logged[k] ->
			cmask = cmask | (1 << k);
			serial = serial || cs[k] == NOCS
		:: else
		fi
	}
	k = 0;
#ifdef MUT_NC_PARALLEL
	serial = 0;
#endif
	if
	:: cmask != 0 ->
		nseq++; cseq = nseq;
		for (k : 0 .. NR - 1) {
			if
			:: (cmask >> k) & 1 -> logged[k] = 1; unset[k] = 1; rs[k] = cseq
			:: else
			fi
		}
		k = 0
	:: else -> cseq = 0
	fi;
	dflushed = 0; cslot = NREC; cst = C_RUN;
	printf("commit: record %d of regions %x, after the destination flush %d\n", cseq, cmask, serial)
}

/* the commit's record is sent (FUA) */
inline send_record()
{
	printf("record %d sent (slot %d)\n", cseq, nrec);
	cslot = nrec; nrec++;
	rst[cslot] = R_FLY; rkind[cslot] = K_DATA; rseq[cslot] = cseq; rmask[cslot] = cmask;
	for (k : 0 .. NR - 1) {
		if
		:: (cmask >> k) & 1 -> rcs[cslot * NR + k] = cs[k]
		:: else -> rcs[cslot * NR + k] = NOCS
		fi
	}
	k = 0
}

/* the FLUSH is acknowledged */
inline ack()
{
	printf("FLUSH acknowledged\n");
	for (k : 0 .. NR - 1) {
		if
		:: covered[k] -> prom[k] = 1; promgen[k] = covgen[k]; promval[k] = covval[k]
		:: else
		fi;
		covered[k] = 0
	}
	k = 0;
#ifdef MUT_JOIN_RUNNING
	/* the one that waits, acknowledged with the running commit */
	if
	:: waiting ->
		printf("the waiting FLUSH acknowledged with it\n");
		for (k : 0 .. NR - 1) {
			if
			:: wcovered[k] -> prom[k] = 1; promgen[k] = wcovgen[k]; promval[k] = wcovval[k]
			:: else
			fi;
			wcovered[k] = 0
		}
		k = 0;
		waiting = 0
	:: else
	fi;
#endif
	if
	:: cseq > 0 -> confq = cseq
	:: else
	fi;
	cst = C_IDLE; cslot = NREC; cseq = 0; cmask = 0; serial = 0; dflushed = 0
}

/* a confirm record completed: the records up to Q are settled */
inline settle_upto(Q)
{
	printf("confirm of records up to %d completed\n", Q);
	for (k : 0 .. NR - 1) {
		if
		:: logged[k] && unset[k] && rs[k] <= Q -> unset[k] = 0; settled[k] = 1
		:: else
		fi
	}
	k = 0
}

/* ---- Power cut or reset, load, checks ---- */

inline crash(power)
{
	if
	:: power -> printf("POWER CUT\n")
	:: else -> printf("RESET (the destination keeps its cache)\n")
	fi;
	/* the destination's cache */
	if
	:: power ->
		for (k : 0 .. NR - 1) {
			if
			:: pend[k] ->
				if
				:: printf("  r%d: its write (value %d) is lost\n", k, pv[k])
				:: printf("  r%d: its write (value %d) lands\n", k, pv[k]); dv[k] = pv[k]
				:: printf("  r%d: its write (value %d) is torn\n", k, pv[k]); dv[k] = TORN
				fi;
				pend[k] = 0; pv[k] = 0
			:: else
			fi
		}
		k = 0
	:: else
	fi;
	/* a record in flight */
	for (i : 0 .. NREC - 1) {
		if
		:: rst[i] == R_FLY ->
			if
			:: rst[i] = R_OK; printf("  record slot %d lands\n", i)
			:: rst[i] = R_BAD; printf("  record slot %d is torn\n", i)
			fi
		:: else
		fi
	}
	i = 0;
	/* the commit and the in-core state are gone */
	cst = C_IDLE; cslot = NREC; cseq = 0; cmask = 0; serial = 0; dflushed = 0; confq = 0; fslot = NREC;
	waiting = 0; wflushed = 0;
	for (k : 0 .. NR - 1) {
		covered[k] = 0; wrun[k] = 0; wcovered[k] = 0; wcovgen[k] = 0; wcovval[k] = 0;
		hyd[k] = 0; cs[k] = NOCS; logged[k] = 0; unset[k] = 0; rs[k] = 0
	}
	k = 0
}

inline load()
{
	/* the last checkpoint of a load, and the confirms after it */
	base = NREC; conf = 0;
	for (i : 0 .. NREC - 1) {
		if
		:: rst[i] == R_OK && rkind[i] == K_BASE -> base = i
		:: else
		fi
	}
	i = 0;
	if
	:: base < NREC ->
		for (k : 0 .. NR - 1) {
			hyd[k] = (rmask[base] >> k) & 1
		}
		k = 0
	:: else
	fi;
	for (i : 0 .. NREC - 1) {
		if
		:: rst[i] == R_OK && rkind[i] == K_CONF && (base == NREC || i > base) && rseq[i] > conf -> conf = rseq[i]
		:: else
		fi
	}
	i = 0;
#ifndef MUT_NO_LOAD_FLUSH
	dest_flush();
#endif
	for (i : 0 .. NREC - 1) {
		if
		:: rst[i] == R_OK && rkind[i] == K_DATA && (base == NREC || i > base) ->
			for (k : 0 .. NR - 1) {
				if
				:: (rmask[i] >> k) & 1 ->
					if
					:: rseq[i] <= conf -> hyd[k] = 1
#ifdef MUT_NO_VALIDATE
					:: else -> hyd[k] = 1
#else
					:: else ->
						if
						:: rcs[i * NR + k] == NOCS || rcs[i * NR + k] == CUR(k) -> hyd[k] = 1
						:: else
						fi
#endif
					fi
				:: else
				fi
			}
			k = 0
		:: else
		fi
	}
	i = 0;

	/* the checks */
	for (k : 0 .. NR - 1) {
		printf("load: r%d hydrated %d, holds %d (promised %d, value %d)\n", k, hyd[k], CUR(k), prom[k], promval[k]);
		if
		:: prom[k] ->
			a_acked_is_durable = hyd[k] && (gen[k] != promgen[k] || CUR(k) == promval[k]);
			assert(a_acked_is_durable)
		:: else
		fi;
		if
		:: hyd[k] ->
			b_no_bit_before_data = CUR(k) != JUNK;
			assert(b_no_bit_before_data)
		:: else
		fi;
		if
		:: settled[k] ->
			c_no_bit_lost = hyd[k];
			assert(c_no_bit_lost)
		:: else
		fi
	}
	k = 0;

	/*
	 * What load found is settled, and a record it dropped must never be
	 * taken later (by a confirm that covers its sequence): a checkpoint
	 * of the hydrated regions, after which older records are not read.
	 */
	if
#ifdef MUT_NO_BASE
	:: false ->
#else
	:: nrec < NREC ->
#endif
		rst[nrec] = R_OK; rkind[nrec] = K_BASE; rmask[nrec] = 0;
		for (k : 0 .. NR - 1) {
			if
			:: hyd[k] -> rmask[nrec] = rmask[nrec] | (1 << k)
			:: else
			fi
		}
		k = 0;
		nrec++
	:: else
	fi;
	for (k : 0 .. NR - 1) {
		logged[k] = hyd[k]; settled[k] = hyd[k]
	}
	k = 0;
	base = 0; conf = 0
}

#define USER(R) \
	:: atomic { ops > 0 && MAY_WRITE(R) -> whole_write(R); ops-- } \
	:: atomic { ops > 0 && hyd[R] && MAY_WRITE(R) -> partial_write(R); ops-- } \
	:: atomic { ops > 0 && !hyd[R] -> copy(R); ops-- }

active proctype world()
{
	do
	/* user requests */
	USER(0)
#if NR > 1
	USER(1)
#endif
#if NR > 2
	USER(2)
#endif
	:: atomic { ops > 0 && cst == C_IDLE && !waiting -> fua = NR; flush_arrives(); ops-- }
#ifdef OVERLAP
	:: atomic { ops > 0 && cst == C_RUN && !waiting -> fua = NR; cover_waiting(); ops-- }
	/* the running commit acknowledged: the waiting one's commit starts */
	:: atomic { cst == C_IDLE && waiting -> take_waiting(); commit_start()
#ifdef MUT_SHARE_FLUSH
		; dflushed = wflushed
#endif
		}
#endif
#ifdef FUA
	/* a FUA whole-region write: it covers its own region only */
	:: atomic { ops > 1 && (cst == C_IDLE && !waiting
#ifdef OVERLAP
			|| cst == C_RUN && !waiting
#endif
			) ->
		select(fua : 0 .. NR - 1);
		if
		:: MAY_WRITE(fua) ->
			printf("FUA write to r%d\n", fua);
			whole_write(fua);
#ifdef MUT_FUA_NO_COMMIT
			/* taken as durable once the data write completes */
			pend[fua] = 0; dv[fua] = pv[fua]; pv[fua] = 0;
			prom[fua] = 1; promgen[fua] = gen[fua]; promval[fua] = last[fua];
			fua = NR;
#else
			if
			:: cst == C_IDLE -> flush_arrives()
			:: else -> cover_waiting()
			fi;
#endif
			ops = ops - 2
		:: else -> fua = NR
		fi }
#endif

	/* the commit of a FLUSH */
	:: atomic { cst == C_RUN && !dflushed -> dest_flush(); dflushed = 1; wflushed = waiting; printf("destination flushed\n") }
	:: atomic { cst == C_RUN && cseq > 0 && cslot == NREC && nrec < NREC && (dflushed || !serial) -> send_record() }
	:: atomic { cst == C_RUN && cslot < NREC && rst[cslot] == R_FLY -> rst[cslot] = R_OK; printf("record %d completed\n", cseq) }
#ifdef MUT_EARLY_ACK
	:: atomic { cst == C_RUN && (cseq == 0 && dflushed || cslot < NREC && rst[cslot] == R_OK) -> ack() }
#else
	:: atomic { cst == C_RUN && dflushed && (cseq == 0 || cslot < NREC && rst[cslot] == R_OK) -> ack() }
#endif

	/* the confirm: sent, then completed */
	:: atomic { confq > 0 && fslot == NREC && nrec < NREC ->
		printf("confirm of records up to %d sent\n", confq);
		rst[nrec] = R_FLY; rkind[nrec] = K_CONF; rseq[nrec] = confq; fslot = nrec; nrec++; confq = 0 }
	:: atomic { fslot < NREC && rst[fslot] == R_FLY ->
		rst[fslot] = R_OK; settle_upto(rseq[fslot]); fslot = NREC }

	/* a power cut or a reset, then load */
	:: atomic { crashes > 0 -> crashes--; crash(1); load() }
	:: atomic { crashes > 0 -> crashes--; crash(0); load() }

	:: else -> break
	od
}
