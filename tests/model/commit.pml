/*
 * A model of dm-clone's metadata commit protocol, for SPIN.
 *
 * It follows dm-clone-metadata.c and dm-clone-target.c step by step, and
 * every step names the C function it stands for. docs/commit-model.md says
 * what is modeled and what is left out; tests/model/run checks it.
 *
 * Two processes:
 *   world      the user's requests (writes, FUA writes, FLUSHes), background
 *              copies, the completions of destination I/O, and power cuts;
 *              after a power cut it loads the metadata as the module does,
 *              checks the properties and goes on from the loaded state;
 *   committer  do_committer() (process_flushes(), the commit that is due)
 *              and clone_resume()'s retry after a failed commit, as a state
 *              machine whose state a power cut throws away.
 * and two devices, a metadata device and a destination, each with a
 * volatile write cache: a completed write that was not flushed is lost,
 * lands or is torn when the power goes. -DWRITE_THROUGH: a destination
 * without one (its writes are durable when they complete, a flush is a
 * no-op, and the block layer strips REQ_FUA from the bios sent to it).
 *
 * Every step is one atomic action; a power cut can come between any two.
 *
 * Configuration (cpp macros, spin -D...):
 *   NB, RPB      bitmap blocks, regions per block (NB * RPB <= 7)
 *   BATCH        blocks per commit round (cmd->batch; the code has 2 * NB
 *                for a clone this small, so one round takes every block)
 *   CRASHES      power cuts, each followed by a load and the checks
 *   OPS, OPS2    requests (writes and FLUSHes) in the first run and in each
 *                run after a power cut
 *   ERRORS=n     up to n I/O errors in all (metadata writes and flushes,
 *                destination flushes and writes, copies); RESUMES retries
 *                of a failed commit by a resume
 *   WRITE_THROUGH  the destination has no volatile write cache
 *   NOBG         no background copies (regions are copied for writes only)
 *   MEDIA        at one load, one metadata block (any) reads back with an
 *                I/O error from then on, until it is rewritten; for that
 *                load only (e) and (b) are checked
 *   FIX_E=1      a quick commit writes both copies (not enough for (e))
 *   FIX_E=2      what would fix (e): that, and a load counts as committed
 *                only the bits both usable copies hold
 *   MUT_*        mutants (docs/commit-model.md)
 *
 * Properties (assertions; the variable's name says which one failed):
 *   a_acked_is_durable        (a) every region an acknowledged FLUSH or FUA
 *                             write covers is hydrated on disk and its data
 *                             is durable on the destination
 *   b_no_bit_before_data      (b) no bit is durable before its region's data
 *   c_no_bit_lost_by_load     (c) no committed bit is 0 after a load
 *   d_load_accepts_own_writes (d) load never refuses what the protocol wrote
 *   e_one_bad_block_no_loss   (e) one unreadable metadata block never makes
 *                             a load lose an acknowledged bit (MEDIA only)
 */

#ifndef NB
#define NB	2
#endif
#ifndef RPB
#define RPB	1
#endif
#define NR	(NB * RPB)		/* regions */
#define NS	(2 * NB)		/* metadata blocks: copy c of block k is slot c*NB+k */
#ifndef BATCH
#define BATCH	(2 * NB)		/* create_metadata(): min(BATCH_BLOCKS, 2 * nr_blocks) */
#endif
#define NF	2			/* FLUSHes outstanding at once */
#ifndef CRASHES
#define CRASHES	2
#endif
#ifndef OPS
#define OPS	3
#endif
#ifndef OPS2
#define OPS2	OPS
#endif
#ifndef ERRORS
#define ERRORS	0
#endif
#ifndef RESUMES
#define RESUMES	1
#endif

#define BIT(x)		(1 << (x))
#define HAS(m, x)	(((m) >> (x)) & 1)
#define BLK(r)		((r) / RPB)
#define BMASK(k)	(((1 << RPB) - 1) << ((k) * RPB))
#define BBITS(m, k)	(((m) >> ((k) * RPB)) & ((1 << RPB) - 1))
#define SLOT(c, k)	((c) * NB + (k))
#define COPYNAME(c)	('A' + (c))

/* enum block_state, as load sees a block */
#define ZERO	0	/* BLOCK_ZERO: never written, usable, no bit set */
#define VALID	1	/* BLOCK_VALID */
#define BAD	2	/* BLOCK_BAD: a torn write, its checksum fails */
#define UNREAD	3	/* BLOCK_IO_ERROR: a media error (MEDIA), until rewritten */

/* enum clone_md_mode (CLONE_MD_FAIL needs a foreign superblock: not modeled) */
#define RW	0
#define RO	1

/* results */
#define OK	0
#define EIO	1
#define EROFS	2

/* where a region's request is (world) */
#define IDLE	0	/* nothing in flight */
#define COPY	1	/* a partial write waits for the copy of its region */
#define COPIED	2	/* the copy ended and set the bit; the write not sent yet */
#define BG	3	/* a background copy is in flight */
#define HWR	4	/* a write to hydrated data is in flight */
#define WHOLE	5	/* a whole-region write is in flight */
#define WHOLE2	6	/* it completed and clone_endio() set the bit */
#define FUAW	7	/* a FUA write waits (clone->fua_ends) for a commit */

/* a FLUSH */
#define F_IDLE	0
#define F_WAIT	1	/* on clone->flushes, or taken by process_flushes() */
#define F_DOWN	2	/* remapped to the destination: its flush is in flight */

/* the committer: where it is */
#define C_IDLE		0	/* do_committer() not running */
#define C_BEGIN		1	/* clone_md_commit(): mode, writes */
#define C_SNAP		2	/* snapshot() */
#define C_DFLUSH	3	/* commit_batch(): blkdev_issue_flush(dest) */
#define C_PASS		4	/* write_pass(): the next run of blocks */
#define C_MFLUSH	5	/* write_pass(): md_flush(), set_lagging() */
#define C_MARK		6	/* commit_batch(): mark_committed() */
#define C_FAILB		7	/* commit_batch(): failed, mark_dirty() again */
#define C_FINISH	8	/* clone_md_commit(): committed_writes */
#define C_FAILED	9	/* commit(): metadata_failed(), or clone_resume() */
#define C_BIOS		10	/* process_flushes(): end the bios */

/* who called clone_md_commit() */
#define BY_FLUSHES	0	/* process_flushes(): quick */
#define BY_DUE		1	/* do_committer() when commit_due(): full */
#define BY_RESUME	2	/* clone_resume(): full */

#define NOCOPY	2	/* entry_copy(): -1 */

/* ---- The metadata device: what each block holds on the medium and in the cache ---- */
byte dBits[NS];		/* bits on the medium */
byte dSt[NS];		/* ZERO, VALID, BAD or UNREAD on the medium */
bool pend[NS];		/* a completed write not yet flushed */
byte pBits[NS];
byte pSt[NS];

/* ---- The destination, per region (masks) ---- */
byte hydD;		/* the region's copy (or whole-region write) is on the medium */
byte hydC;		/* ... only in the volatile cache */
byte usrC;		/* the last partial user write is only in the volatile cache */

/* ---- struct clone_metadata, in core ---- */
byte hydrated;		/* ->hydrated, per region */
byte dirty;		/* ->dirty, per block */
byte committed;		/* ->committed, per region */
byte lagging;		/* ->lagging, per block */
byte newerB;		/* ->newer_b, per block (kept 0 while not lagging: unused then) */
byte wdelta;		/* ->writes - ->committed_writes */
byte mode;		/* ->mode */

/* ---- struct clone ---- */
byte lflush;		/* clone->flushes: FLUSH slots */
byte lfua;		/* clone->fua_ends: regions */
byte io[NR];		/* per region: IDLE ... FUAW */
bool fua[NR];		/* clone_io->fua: decided in clone_map() */
byte fst[NF];		/* per FLUSH */

/* ---- The committer (its locals: a power cut resets them) ---- */
byte cpc;		/* C_IDLE ... */
byte caller;		/* BY_* */
bool q;			/* quick */
byte sd;		/* the writes counted when the commit began */
byte from;		/* snapshot()'s cursor */
byte n;			/* blocks in this round */
bool snapped;		/* snapshot() took its last block of the round */
byte pass;
byte i;			/* write_pass(): next entry */
byte r;			/* result */
bool wr;		/* write_pass() wrote something */
bool dfl;		/* *dest_flushed */
byte tf;		/* the FLUSHes process_flushes() took */
byte tw;		/* the FUA completions it took */
byte eBlock[BATCH];	/* cmd->entries and the bits of cmd->buf */
byte eBits[BATCH];
bool eFirst[BATCH];
bool eChanged[BATCH];
bool eBoth[BATCH];
byte j, k, s, c, nrun;	/* scratch, 0 between steps */

/* ---- What the user was told (for the properties) ---- */
byte wrote;		/* regions a write completed to successfully (this run) */
byte done;		/* regions whose last write completed, none in flight since */
byte covH[NF];		/* per FLUSH, when it arrived: wrote */
byte covD[NF];		/* per FLUSH, when it arrived: done */
byte promH;		/* regions promised hydrated (acknowledged FLUSH or FUA) */
byte promD;		/* regions whose last write's data was promised durable */
byte usrLost;		/* at a power cut: the last user write to it was lost */

/* ---- Budgets ---- */
byte crashes = CRASHES;	/* the run goes on while > 0 */
byte ops = OPS;
byte errs = ERRORS;
byte resumes = RESUMES;
#ifdef MEDIA
byte medias = 1;	/* one metadata block goes bad, once */
#endif

/* the checks (not part of the state) */
hidden byte a_acked_is_durable, b_no_bit_before_data, c_no_bit_lost_by_load,
	d_load_accepts_own_writes, e_one_bad_block_no_loss;

/* An I/O that may fail: a budget of ERRORS in all. */
#if ERRORS > 0
#define MAY_FAIL(res)	if :: errs > 0 -> errs--; res = EIO :: true fi
#define IO_STEP		atomic
#else
#define MAY_FAIL(res)	skip
#define IO_STEP		d_step	/* no choice in it: one step */
#endif

/* ===================== The devices ===================== */

/* What a volatile cache does with a write it holds when the power goes, or
 * when a later write of the same block replaces it: it never reached the
 * medium, it did, or it was torn (some sectors only: the checksum fails). */
inline settle(s)
{
	if
	:: pend[s] ->
		if
		:: printf("  copy %c of block %d: its write is lost\n", COPYNAME(s / NB), s % NB)
		:: printf("  copy %c of block %d: its write lands (bits %x)\n", COPYNAME(s / NB), s % NB, pBits[s]);
			dBits[s] = pBits[s]; dSt[s] = pSt[s]
		:: printf("  copy %c of block %d: its write is torn\n", COPYNAME(s / NB), s % NB);
			dBits[s] = 0; dSt[s] = BAD
		fi;
		pend[s] = 0; pBits[s] = 0; pSt[s] = 0
	:: else
	fi
}

/* A completed write of a metadata block: in the cache until a flush. */
inline cache_write(s, bits, st)
{
	settle(s);
	pend[s] = 1; pBits[s] = bits; pSt[s] = st
}

/* md_flush(): blkdev_issue_flush() of the metadata device */
inline md_flush(res)
{
	res = OK;
	MAY_FAIL(res);
	if
	:: res == OK ->
		printf("committer: metadata device flushed\n");
		for (s : 0 .. NS - 1) {
			if
			:: pend[s] ->
				dBits[s] = pBits[s]; dSt[s] = pSt[s];
				pend[s] = 0; pBits[s] = 0; pSt[s] = 0
			:: else
			fi
		}
		s = 0
	:: else -> printf("committer: metadata flush fails\n")
	fi
}

/* blkdev_issue_flush() of the destination: its cache to the medium. One
 * without a volatile cache: a no-op that ends at once. */
inline dest_flush(res)
{
	res = OK;
#ifndef WRITE_THROUGH
	MAY_FAIL(res);
	if
	:: res == OK -> hydD = hydD | hydC; hydC = 0; usrC = 0
	:: else
	fi
#endif
}

/* A copy's (or a whole-region write's) data completed on the destination:
 * durable if the write was FUA or the destination has no cache. */
inline dest_write_hyd(R, durable)
{
#ifdef WRITE_THROUGH
	hydD = hydD | BIT(R)
#else
	if
	:: durable -> hydD = hydD | BIT(R)
	:: else -> hydC = hydC | BIT(R)
	fi
#endif
}

/* A partial user write to hydrated data completed on the destination. */
inline dest_write_usr(R, durable)
{
#ifdef WRITE_THROUGH
	usrC = usrC & ~BIT(R)
#else
	if
	:: durable -> usrC = usrC & ~BIT(R)
	:: else -> usrC = usrC | BIT(R)
	fi
#endif
}

/* ===================== dm-clone-metadata.c ===================== */

/* clone_md_set_hydrated() -> set_in_block() -> mark_dirty() */
inline set_hydrated(R)
{
	if
	:: !HAS(hydrated, R) ->
		hydrated = hydrated | BIT(R);
		dirty = dirty | BIT(BLK(R))
	:: else
	fi
}

/* clone_md_note_write(): count a write whose region's bit is not durable */
inline note_write(R)
{
	if
	:: !HAS(committed, R) -> wdelta++
	:: else
	fi
}

/* set_lagging() */
inline set_lagging(kk, lag, newer)
{
	if
	:: lag ->
		lagging = lagging | BIT(kk);
		if
		:: newer -> newerB = newerB | BIT(kk)
		:: else -> newerB = newerB & ~BIT(kk)
		fi
	:: else ->
		lagging = lagging & ~BIT(kk);
		newerB = newerB & ~BIT(kk)
	fi
}

/* entry_copy(): the copy pass p writes of entry x (0: the older one) */
#define ENTRY_COPY(x, p)	(((p) && !eBoth[x]) -> NOCOPY : (eFirst[x] ^ (p)))

/* clone_md_commit(), as it begins: commit_lock, the mode, the writes */
inline md_commit_begin()
{
	dfl = 0;
	if
	:: mode != RW ->
		r = EROFS;
		printf("committer: commit refused: read-only\n")
	:: else ->
		r = OK; sd = wdelta; from = 0; n = 0;	/* atomic_long_read(&cmd->writes) */
		if
		:: q -> printf("committer: quick commit begins, writes counted %d\n", sd)
		:: else -> printf("committer: full commit begins, writes counted %d\n", sd)
		fi
	fi
}

/* snapshot(): one block a step, each under cmd->lock of its own (so bits
 * may be set between two blocks of one round): the next changed block (or,
 * for a full commit, lagging one) from the cursor on, with its bits; the
 * round ends at BATCH blocks or past the last one (snapped). */
inline snapshot()
{
	k = from;
	do
	:: k < NB && !(HAS(dirty, k) || (!q && HAS(lagging, k))) -> k++
	:: else -> break
	od;
	if
	:: n < BATCH && k < NB ->
		eBlock[n] = k;
		eBits[n] = BBITS(hydrated, k);	/* bitmap_to_arr64() */
		eChanged[n] = HAS(dirty, k);
#ifndef MUT_CLEAR_DIRTY_LATE
		dirty = dirty & ~BIT(k);
#endif
#ifdef MUT_A_FIRST
		eFirst[n] = 0;
#else
		eFirst[n] = HAS(lagging, k) && !HAS(newerB, k);
#endif
#if defined(FIX_E) && FIX_E >= 1
		eBoth[n] = eChanged[n];
#else
		eBoth[n] = !q && eChanged[n];
#endif
#ifdef MUT_COMMITTED_EARLY
		/* the bits count as committed once snapshotted */
		committed = (committed & ~BMASK(k)) | (eBits[n] << (k * RPB));
#endif
		printf("committer: snapshot block %d bits %x changed %d, older copy %c, both %d\n",
		       k, eBits[n], eChanged[n], COPYNAME(eFirst[n]), eBoth[n]);
		n++;
		from = k + 1;
		snapped = (n == BATCH)
	:: else ->
		from = k;
		snapped = 1
	fi;
	k = 0
}

/* md_rw(REQ_OP_WRITE) of a run of blocks of copy cc, entries x .. x+cnt-1:
 * it completes into the cache. A failed one may have written any of them,
 * whole or torn, or none. */
inline md_write_run(cc, x, cnt)
{
	r = OK;
	MAY_FAIL(r);
	for (j : x .. x + cnt - 1) {
		s = SLOT(cc, eBlock[j]);
		if
		:: r == OK ->
			printf("committer: write copy %c of block %d (bits %x)\n", COPYNAME(cc), eBlock[j], eBits[j]);
			cache_write(s, eBits[j], VALID)
		:: r != OK -> printf("committer: write of copy %c of block %d fails: nothing written\n", COPYNAME(cc), eBlock[j])
		:: r != OK -> printf("committer: write of copy %c of block %d fails: written\n", COPYNAME(cc), eBlock[j]);
			cache_write(s, eBits[j], VALID)
		:: r != OK -> printf("committer: write of copy %c of block %d fails: torn\n", COPYNAME(cc), eBlock[j]);
			cache_write(s, 0, BAD)
		fi
	}
	j = 0; s = 0
}

/* write_pass(): past the entries pass has nothing for */
inline skip_nocopy()
{
	do
	:: i < n && ENTRY_COPY(i, pass) == NOCOPY -> i++
	:: else -> break
	od
}

/* write_pass(), one run: consecutive blocks of the same copy, one md_rw() */
inline write_run()
{
	c = ENTRY_COPY(i, pass);
	nrun = 1;
	do
	:: i + nrun < n && ENTRY_COPY(i + nrun, pass) == c &&
	   eBlock[i + nrun] == eBlock[i] + nrun -> nrun++
	:: else -> break
	od;
	md_write_run(c, i, nrun);
	i = i + nrun; c = 0; nrun = 0;
	if
	:: r != OK -> cpc = C_FAILB
	:: else ->
		wr = 1;
		skip_nocopy();
		if
		:: i >= n -> cpc = C_MFLUSH
		:: else
		fi
	fi
}

/* write_pass(): the flush after the runs, then set_lagging() for what the
 * copies hold now; commit_batch() goes on to pass 1 (if it has anything to
 * write: write_pass() returns at once otherwise) or to mark_committed() */
inline pass_flush()
{
#ifdef MUT_NO_MID_FLUSH
	if
	:: pass == 0 && !q -> r = OK	/* no flush between the two passes */
	:: else -> md_flush(r)
	fi;
#else
	md_flush(r);
#endif
	if
	:: r != OK -> cpc = C_FAILB
	:: else ->
		for (j : 0 .. n - 1) {
			c = ENTRY_COPY(j, pass);
			if
			:: c != NOCOPY -> set_lagging(eBlock[j], eChanged[j] && !pass, c)
			:: else
			fi
		}
		j = 0; c = 0;
		if
		:: pass == 0 ->
			pass = 1; i = 0; wr = 0;
			skip_nocopy();
			if
			:: i < n -> cpc = C_PASS
			:: else -> cpc = C_MARK
			fi
		:: else -> cpc = C_MARK
		fi
	fi
}

/* mark_committed(): the blocks just written are durable, and so are their
 * bits (copied, not ORed) */
inline mark_committed()
{
	for (j : 0 .. n - 1) {
		committed = (committed & ~BMASK(eBlock[j])) |
			    (eBits[j] << (eBlock[j] * RPB));
#ifdef MUT_CLEAR_DIRTY_LATE
		dirty = dirty & ~BIT(eBlock[j]);
#endif
		eBlock[j] = 0; eBits[j] = 0; eFirst[j] = 0; eChanged[j] = 0; eBoth[j] = 0
	}
	j = 0;
	printf("committer: committed %x\n", committed)
}

/* The load, after a power cut: create_metadata() -> load_bitmap() ->
 * check_block() and merge_block() for each block, then committed =
 * hydrated. A fresh struct clone_metadata: writes and committed_writes 0. */
inline load()
{
	hydrated = 0; dirty = 0; lagging = 0; newerB = 0; refused = 0;
	for (k : 0 .. NB - 1) {
		ua = (dSt[SLOT(0, k)] == ZERO || dSt[SLOT(0, k)] == VALID);
		ub = (dSt[SLOT(1, k)] == ZERO || dSt[SLOT(1, k)] == VALID);
		printf("load: block %d: copy A usable %d bits %x, copy B usable %d bits %x\n",
		       k, ua, dBits[SLOT(0, k)], ub, dBits[SLOT(1, k)]);
		if
		:: !ua && !ub -> refused = 1	/* -EILSEQ "lost in both copies", or -EIO "Cannot read" */
		:: else ->
			x = (ua -> dBits[SLOT(0, k)] : 0);
			y = (ub -> dBits[SLOT(1, k)] : 0);
#ifdef MUT_LOAD_ONE_COPY
			hydrated = hydrated | ((ua -> x : y) << (k * RPB));	/* not the OR */
#else
			hydrated = hydrated | ((x | y) << (k * RPB));
#endif
			if
			:: !ua || !ub -> set_lagging(k, 1, !ua)
			:: else ->
				if
				:: (x & ~y) && (y & ~x) -> dirty = dirty | BIT(k)
				:: else ->
					if
					:: (x & ~y) -> set_lagging(k, 1, 0)
					:: (y & ~x) -> set_lagging(k, 1, 1)
					:: else
					fi
				fi
			fi
		fi
	}
	committed = hydrated;	/* bitmap_copy(cmd->committed, cmd->hydrated) */
#if defined(FIX_E) && FIX_E >= 2
	/* what only one copy holds is not committed yet: the next commit
	 * writes both copies of such a block, and FUA and FLUSH wait for it */
	for (k : 0 .. NB - 1) {
		if
		:: HAS(lagging, k) || HAS(dirty, k) ->
			x = ((dSt[SLOT(0, k)] == ZERO || dSt[SLOT(0, k)] == VALID) -> dBits[SLOT(0, k)] : 0);
			y = ((dSt[SLOT(1, k)] == ZERO || dSt[SLOT(1, k)] == VALID) -> dBits[SLOT(1, k)] : 0);
			committed = (committed & ~BMASK(k)) | ((x & y) << (k * RPB));
			dirty = dirty | BIT(k)
		:: else
		fi
	}
#endif
	wdelta = 0; mode = RW;
	k = 0; x = 0; y = 0; ua = 0; ub = 0
}

/* ===================== dm-clone-target.c ===================== */

/* bio_endio() of a write: the user has it */
inline ack_write(R)
{
	printf("r%d: write acknowledged (FUA %d)\n", R, fua[R]);
	io[R] = IDLE;
	done = done | BIT(R); wrote = wrote | BIT(R);
	if
	:: fua[R] -> promH = promH | BIT(R); promD = promD | BIT(R)
	:: else
	fi;
	fua[R] = 0
}

/* bio_io_error() of a write */
inline fail_write(R)
{
	printf("r%d: write fails\n", R);
	io[R] = IDLE; fua[R] = 0
}

/* bio_endio() of a FLUSH: what completed before it arrived is durable */
inline ack_flush(F)
{
	printf("FLUSH %d acknowledged: promises hydrated %x, data %x\n", F, covH[F], covD[F]);
	promH = promH | covH[F]; promD = promD | covD[F];
	fst[F] = F_IDLE; covH[F] = 0; covD[F] = 0
}

inline fail_flush(F)
{
	printf("FLUSH %d fails\n", F);
	fst[F] = F_IDLE; covH[F] = 0; covD[F] = 0
}

/* clone_endio(), the FUA part: a FUA write whose region's bit is not
 * durable waits for a commit (defer_bio() to clone->fua_ends). The FUA
 * decision is the one clone_map() took. */
#if defined(MUT_FUA_FROM_BIO) && defined(WRITE_THROUGH)
#define FUA_AT_END(R)	0	/* REQ_FUA read from the bio: the block layer cleared it */
#else
#define FUA_AT_END(R)	fua[R]
#endif
inline endio_fua(R)
{
	if
	:: FUA_AT_END(R) && !HAS(committed, R) ->
		printf("r%d: FUA write waits for a commit\n", R);
		io[R] = FUAW; lfua = lfua | BIT(R)
	:: else -> ack_write(R)
	fi
}

/* process_flushes(), the end: the bios of the FLUSHes (error, end, or remap
 * to the destination) and of the FUA writes (error or end) */
inline end_bios()
{
	for (x : 0 .. NF - 1) {
		if
		:: HAS(tf, x) ->
			if
			:: r != OK -> fail_flush(x)
			:: r == OK && dfl -> ack_flush(x)
			:: r == OK && !dfl ->
				printf("FLUSH %d remapped to the destination\n", x);
				fst[x] = F_DOWN
			fi
		:: else
		fi
	}
	for (x : 0 .. NR - 1) {
		if
		:: HAS(tw, x) ->
			if
			:: r != OK -> fail_write(x)
			:: else -> ack_write(x)
			fi
		:: else
		fi
	}
	x = 0
}

/* The committer's state, back to idle. */
inline committer_idle()
{
	cpc = C_IDLE; caller = 0; q = 0; sd = 0; from = 0; n = 0; pass = 0;
	i = 0; r = 0; wr = 0; dfl = 0; tf = 0; tw = 0;
	for (j : 0 .. BATCH - 1) {
		eBlock[j] = 0; eBits[j] = 0; eFirst[j] = 0; eChanged[j] = 0; eBoth[j] = 0
	}
	j = 0
}

/*
 * The committer work item: do_committer() runs process_flushes() when FLUSHes
 * or FUA completions wait, and the full commit when commit_due() (whose
 * once-a-second timer is free here: any time something changed); commit()
 * wraps clone_md_commit(). clone_resume() retries a failed commit. Each step
 * below is one atomic action of clone_md_commit() and what it calls.
 */
active proctype committer()
{
	byte x;

end_idle:
	do
	/* process_flushes(): take clone->flushes and clone->fua_ends, commit quickly */
	:: d_step { cpc == C_IDLE && crashes > 0 && (lflush != 0 || lfua != 0) ->
		tf = lflush; tw = lfua; lflush = 0; lfua = 0;
		printf("committer: process_flushes() takes FLUSHes %x, FUA writes %x\n", tf, tw);
#ifdef MUT_EARLY_FLUSH_ACK
		for (x : 0 .. NF - 1) {
			if
			:: HAS(tf, x) -> ack_flush(x)
			:: else
			fi
		}
		tf = 0; x = 0;
#endif
		caller = BY_FLUSHES; q = 1; cpc = C_BEGIN
	   }
	/* do_committer(): commit_due() -> commit(clone, false, NULL) */
	:: d_step { cpc == C_IDLE && crashes > 0 && (dirty != 0 || lagging != 0) && mode == RW ->
		caller = BY_DUE; q = 0; cpc = C_BEGIN
	   }
#if ERRORS > 0
	/* clone_resume(): read-only: try read-write again, with a full commit */
	:: d_step { cpc == C_IDLE && crashes > 0 && mode == RO && resumes > 0 ->
		resumes--;
		printf("committer: clone_resume() tries read-write again\n");
		mode = RW;
		caller = BY_RESUME; q = 0; cpc = C_BEGIN
	   }
#endif
	/* clone_md_commit(): commit_lock, the mode, the writes counted */
	:: d_step { cpc == C_BEGIN ->
		md_commit_begin();
		if
		:: r == OK -> cpc = C_SNAP
		:: else -> cpc = C_FINISH	/* -EROFS: no metadata_failed() */
		fi
	   }
	/* clone_md_commit(): snapshot() the next round, a block a step; none:
	 * the commit ends */
	:: d_step { cpc == C_SNAP ->
		snapshot();
		if
		:: snapped && n == 0 -> cpc = C_FINISH
		:: snapped -> cpc = C_DFLUSH
		:: else -> skip
		fi;
		snapped = 0
	   }
	/* commit_batch(): prepare_payloads() (byte order), blkdev_issue_flush(dest) */
	:: IO_STEP { cpc == C_DFLUSH ->
#ifdef MUT_NO_DEST_FLUSH
		r = OK;
#else
		dest_flush(r);
#endif
		if
		:: r == OK ->
			printf("committer: destination flushed\n");
			pass = 0; i = 0; wr = 0; cpc = C_PASS
		:: else ->
			printf("committer: destination flush fails\n");
			cpc = C_FAILB
		fi
	   }
	/* write_pass(): seal_block() (header, checksum), md_rw() of one run */
	:: atomic { cpc == C_PASS -> write_run() }
	/* write_pass(): md_flush(), set_lagging() */
	:: IO_STEP { cpc == C_MFLUSH -> pass_flush() }
	/* commit_batch(): mark_committed(); clone_md_commit(): *dest_flushed, next round */
	:: d_step { cpc == C_MARK ->
		mark_committed();
#ifndef MUT_DEST_FLUSHED_ALWAYS
		dfl = 1;
#endif
		pass = 0; i = 0; wr = 0; n = 0;
		cpc = C_SNAP
	   }
	/* commit_batch(): failed: mark_dirty() the blocks again */
	:: d_step { cpc == C_FAILB ->
		for (j : 0 .. n - 1) {
			dirty = dirty | BIT(eBlock[j])
		}
		j = 0;
		printf("committer: commit fails\n");
		cpc = C_FAILED
	   }
	/* clone_md_commit(): repair_superblocks() (not modeled), committed_writes */
	:: d_step { cpc == C_FINISH ->
		if
		:: r == OK ->
#ifdef MUT_DEST_FLUSHED_ALWAYS
			dfl = 1;	/* even when nothing was written */
#endif
#ifdef MUT_WRITES_LATE
			wdelta = 0;	/* the writes counted when it ends */
#else
			wdelta = wdelta - sd;	/* WRITE_ONCE(cmd->committed_writes, writes) */
#endif
			printf("committer: commit done, writes not covered %d\n", wdelta)
		:: else		/* -EROFS */
		fi;
		if
		:: caller == BY_FLUSHES -> cpc = C_BIOS
		:: else -> committer_idle()
		fi
	   }
	/* commit(): metadata_failed() (no readable superblock copy is foreign,
	 * i.e. the device was not written over: read-only);
	 * clone_resume(): read-only again */
	:: d_step { cpc == C_FAILED ->
		mode = RO;
		printf("committer: read-only\n");
		if
		:: caller == BY_FLUSHES -> cpc = C_BIOS
		:: else -> committer_idle()
		fi
	   }
	/* process_flushes(): the bios */
	:: d_step { cpc == C_BIOS -> end_bios(); committer_idle() }
	od
}

/* ===================== The world ===================== */

/* clone_map() -> process_bio() of a write to region R: io->fua decided here;
 * hydrated: clone_md_note_write(), remap; otherwise
 * process_unhydrated_write(): killed unless read-write, else a whole-region
 * write goes straight to the destination, a partial one waits for a copy
 * (start_copy()). */
inline map_write(R)
{
	ops--;
	if
	:: fua[R] = 1
	:: fua[R] = 0
	fi;
	/* a write in flight makes the region's data undefined until it ends */
	done = done & ~BIT(R); promD = promD & ~BIT(R);
	covD[0] = covD[0] & ~BIT(R); covD[1] = covD[1] & ~BIT(R);
	if
	:: HAS(hydrated, R) ->
		printf("r%d: write (FUA %d) to hydrated data\n", R, fua[R]);
		note_write(R); io[R] = HWR
	:: else ->
		if
		:: mode != RW ->
			printf("r%d: write (FUA %d) killed: read-only\n", R, fua[R]);
			fail_write(R)
		:: else ->
			if
			:: printf("r%d: partial write (FUA %d): the region is copied first\n", R, fua[R]);
				io[R] = COPY
			:: printf("r%d: whole-region write (FUA %d)\n", R, fua[R]);
				io[R] = WHOLE
			fi
		fi
	fi
}

/* clone_map() -> process_bio() of a FLUSH: to the committer if
 * clone_md_flush_needs_commit(), else remapped to the destination */
inline map_flush(F)
{
	ops--;
	covH[F] = wrote; covD[F] = done;
	if
	:: wdelta != 0 ->
		printf("FLUSH %d waits for a commit\n", F);
		fst[F] = F_WAIT; lflush = lflush | BIT(F)
	:: else ->
		printf("FLUSH %d remapped to the destination\n", F);
		fst[F] = F_DOWN
	fi
}

/* A power cut: the caches settle, the module loads the metadata, the
 * properties are checked, and the clone goes on from the loaded state. */
inline crash()
{
	crashes--;
	printf("POWER CUT\n");
	for (s : 0 .. NS - 1) {
		settle(s)
	}
#ifndef WRITE_THROUGH
	for (x : 0 .. NR - 1) {
		if
		:: HAS(hydC, x) ->
			if
			:: printf("  r%d: its copy lands\n", x); hydD = hydD | BIT(x)
			:: printf("  r%d: its copy is lost or torn\n", x)
			fi
		:: else
		fi;
		if
		:: HAS(usrC, x) ->
			if
			:: printf("  r%d: the last write lands\n", x)
			:: printf("  r%d: the last write is lost or torn\n", x); usrLost = usrLost | BIT(x)
			fi
		:: else
		fi
	}
	hydC = 0; usrC = 0;
#endif
	media = NS;
#ifdef MEDIA
	for (s : 0 .. NS - 1) {	/* none, or one of them */
		if
		:: media == NS && medias > 0 ->
			medias--; media = s; dSt[s] = UNREAD; dBits[s] = 0;
			printf("  copy %c of block %d now reads back with an I/O error\n", COPYNAME(s / NB), s % NB)
		:: true
		fi
	}
#endif
	s = 0; x = 0;
	d_step {	/* no choice from here on */
	oldc = committed;
	committer_idle();
	load();
	printf("load: hydrated %x (committed before: %x, promised: %x, data on disk: %x)\n",
	       hydrated, oldc, promH, hydD);

	/* the checks */
#ifdef MEDIA
	if
	:: media < NS ->
		e_one_bad_block_no_loss = refused || (promH & ~hydrated) == 0;
		assert(e_one_bad_block_no_loss);
		b_no_bit_before_data = (hydrated & ~hydD) == 0;
		assert(b_no_bit_before_data);
		if
		:: refused -> crashes = 0
		:: else
		fi
	:: else ->
#endif
		d_load_accepts_own_writes = !refused;
		assert(d_load_accepts_own_writes);
		c_no_bit_lost_by_load = (oldc & ~hydrated) == 0;
		assert(c_no_bit_lost_by_load);
		b_no_bit_before_data = (hydrated & ~hydD) == 0;
		assert(b_no_bit_before_data);
		a_acked_is_durable = (promH & ~hydrated) == 0 &&
				     (promH & ~hydD) == 0 &&
				     (promD & usrLost) == 0;
		assert(a_acked_is_durable);
#ifdef MEDIA
	fi;
#endif

	/* the next run: nothing in flight; the data of regions not hydrated
	 * is copied again */
	for (x : 0 .. NR - 1) {
		io[x] = IDLE; fua[x] = 0
	}
	for (x : 0 .. NF - 1) {
		fst[x] = F_IDLE; covH[x] = 0; covD[x] = 0
	}
	lflush = 0; lfua = 0;
	hydD = hydD & hydrated;
	wrote = 0; done = 0; usrLost = 0;
	ops = OPS2;
	s = 0; x = 0; oldc = 0; media = 0; refused = 0
	}
}

#ifdef MUT_NO_NOTE_COPY
#define NOTE_COPY(R)	skip	/* the write that waited for a copy is not counted */
#else
#define NOTE_COPY(R)	note_write(R)
#endif

#ifdef NOBG
#define BG_EVENT(R)
#else
#define BG_EVENT(R) \
	/* do_hydration() -> start_background_copy() (hydration_allowed()) */ \
	:: d_step { crashes > 0 && io[R] == IDLE && !HAS(hydrated, R) && mode == RW -> \
		printf("r%d: background copy\n", R); io[R] = BG }
#endif

#define REGION_EVENTS(R) \
	/* a write is mapped */ \
	:: atomic { crashes > 0 && ops > 0 && io[R] == IDLE -> map_write(R) } \
	BG_EVENT(R) \
	/* the copy's last write ended: chunk_done() -> copy_done(): \
	 * clone_md_set_hydrated(), release_range() */ \
	:: d_step { crashes > 0 && (io[R] == COPY || io[R] == BG) -> \
		printf("r%d: copied, bit set\n", R); \
		dest_write_hyd(R, 0); set_hydrated(R); \
		if :: io[R] == COPY -> io[R] = COPIED :: else -> io[R] = IDLE fi } \
	/* copy_done(): clone_md_note_write(), submit the write that waited */ \
	:: d_step { crashes > 0 && io[R] == COPIED -> NOTE_COPY(R); io[R] = HWR } \
	/* the write to hydrated data ended: clone_endio() */ \
	:: d_step { crashes > 0 && io[R] == HWR -> \
		dest_write_usr(R, fua[R]); endio_fua(R) } \
	/* the whole-region write ended: clone_endio(): clone_md_set_hydrated() */ \
	:: d_step { crashes > 0 && io[R] == WHOLE -> \
		printf("r%d: whole-region write ended, bit set\n", R); \
		dest_write_hyd(R, fua[R]); set_hydrated(R); io[R] = WHOLE2 } \
	/* clone_endio(): clone_md_note_write(), release_range(), the FUA part */ \
	:: d_step { crashes > 0 && io[R] == WHOLE2 -> note_write(R); endio_fua(R) } \
	ERROR_EVENTS(R)

#if ERRORS > 0
#define ERROR_EVENTS(R) \
	/* a copy fails: copy_done() with an error; a write waiting gets it */ \
	:: atomic { crashes > 0 && errs > 0 && (io[R] == COPY || io[R] == BG) -> \
		errs--; printf("r%d: copy fails\n", R); \
		if :: io[R] == COPY -> fail_write(R) :: else -> io[R] = IDLE fi } \
	/* a write fails on the destination: clone_endio() with *error */ \
	:: atomic { crashes > 0 && errs > 0 && (io[R] == HWR || io[R] == WHOLE) -> \
		errs--; fail_write(R) }
#else
#define ERROR_EVENTS(R)
#endif

#define FLUSH_EVENTS(F) \
	/* a FLUSH is mapped (in the first free slot: they are alike) */ \
	:: d_step { crashes > 0 && ops > 0 && fst[F] == F_IDLE && (F == 0 || fst[0] != F_IDLE) -> \
		map_flush(F) } \
	/* the destination's flush ends (at once without a cache) */ \
	:: IO_STEP { crashes > 0 && fst[F] == F_DOWN -> \
		dest_flush(r2); \
		if :: r2 == OK -> ack_flush(F) :: else -> fail_flush(F) fi; r2 = 0 }

active proctype world()
{
	byte x, y, r2, oldc, media;
	bool refused, ua, ub;

	atomic {
		assert(NR <= 7 && NB <= 7 && BATCH >= 1);
		for (s : 0 .. NS - 1) {
			dSt[s] = ZERO	/* formatting writes only the superblocks */
		}
		s = 0
	}
end_world:
	do
	REGION_EVENTS(0)
#if NR > 1
	REGION_EVENTS(1)
#endif
#if NR > 2
	REGION_EVENTS(2)
#endif
#if NR > 3
	REGION_EVENTS(3)
#endif
#if NR > 4
	REGION_EVENTS(4)
#endif
#if NR > 5
	REGION_EVENTS(5)
#endif
#if NR > 6
	REGION_EVENTS(6)
#endif
	FLUSH_EVENTS(0)
	FLUSH_EVENTS(1)
	:: atomic { crashes > 0 -> crash() }
	od
}
