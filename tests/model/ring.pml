/*
 * A model of the metadata layout of the commit redesign (docs/commit-v2.md):
 * log records in a ring of two copies, checkpoints that write the bitmap's
 * two copies and then the two superblocks, the reuse of ring space, and a
 * load that must survive any one unreadable block. For SPIN. The FLUSH path
 * (checksums, confirms, the destination's data) is commit2.pml's: here a
 * region hydrated in core has its data durable, and what is checked is that
 * the bits that say so are never lost, whatever one metadata block is lost.
 * Requests: up to two FLUSHes and FUA writes (a FUA write hydrates a whole
 * region and covers it alone) waiting at once; one record takes what is
 * hydrated and not logged, for all of them.
 *
 * The metadata device: superblock copies 0 and 1, bitmap copies A and B of
 * NBB blocks (1 by default; with NBB=2 region r is in block r * NBB / NR,
 * and a checkpoint writes the blocks whose bits changed or whose copies
 * are not both valid and the same), RING ring slots of two copies each. Records are FUA writes, one in
 * flight at a time, both copies at once; superblock and bitmap writes go to
 * the device's volatile cache and are made durable by a flush. At a power
 * cut a write not yet durable is lost, lands or is torn (a torn block fails
 * its checksum). A media error makes one block unreadable from a load on,
 * until it is written again (a drive remaps a sector it writes).
 *
 * A record at ring position P (slot P % RING) carries sequence P + 1; a
 * checkpoint S covers every record before position S and tells load to
 * start the ring there. Load: the valid superblock copy with the highest
 * checkpoint; of each bitmap block, the OR of its usable copies (none:
 * refused); records from S on, each
 * from either copy, while their sequences follow; a gap (the next slot
 * holding the following sequence) is refused; then, before anything else,
 * a checkpoint of what it found.
 *
 * Properties, at every load:
 *   a_acked_kept        every region an acknowledged FLUSH or FUA write
 *                       covered is hydrated, unless load refused
 *   c_no_bit_lost       every region a load found is found by the next
 *                       one, unless it refused (from when the device runs
 *                       again: once load's checkpoint is durable)
 *   d_refuse_only_fault load refuses only with an unreadable block present
 *   h_ring_intact       the ring from the checkpoint load starts at was
 *                       never written over (load refuses if it was)
 *   i_geometry          every region load finds marked lies within the
 *                       geometry of the superblock it took (with GROW: the
 *                       clone starts with NR - 1 regions, and from some load
 *                       on the table asks for NR: load's checkpoint grows)
 * Mutants (-DMUT_...): REUSE_ONE (ring space reused once superblock copy 0
 * names the new checkpoint), ONE_RING_COPY (records written to copy A only),
 * ACK_ONE_COPY (a FLUSH acknowledged when one copy of its record is
 * durable), SB_EARLY (superblock 0 written before bitmap copy B is
 * durable), NO_LOAD_CKPT (load lets the device run on the ring it read),
 * A_FIRST (copy A and superblock 0 always written first), GROW_EARLY (with
 * GROW: the device runs once one superblock copy carries the new geometry),
 * IGNORE_ERRORS (with ERRORS: a failed record write or metadata flush taken
 * for a success), ONE_BLOCK (with NBB=2: a checkpoint writes only the first
 * bitmap block that changed).
 * ERRORS=N: N metadata writes fail (a copy of a record, or a checkpoint's
 * flush: what it held lost, landed or torn); the device goes read-only,
 * the requests waiting fail, and RESUMES reloads (load, without a power
 * cut) bring it back.
 * And when nothing is left to do, no request waits (f_no_stuck_flush).
 *
 * The code it stands for (dm-clone-metadata.c, version 2; sources.sha256
 * follows each function): a record is commit_record() with gather_runs()
 * and the writes md_write_async()/md_wait_all(); a checkpoint is
 * clone_md_commit() going on to snapshot(), commit_batch() and write_pass()
 * (bm_write/bm_done), then write_superblocks() (sfirst: the damaged copy
 * or the one naming the older checkpoint); ring reuse is commit_record()'s
 * test against the lower of sb_ckpt[]; load is load_superblock() with
 * sb_checkpoint() and sb_agree(), load_bitmap() and merge_block(),
 * replay_ring() with read_record(), check_record() and apply_record(), and
 * load_checkpoint(); go_ro() is metadata_failed() in dm-clone-target.c and
 * load_checkpoint()'s read-only fallback.
 */

#ifndef NR
#define NR	2		/* regions */
#endif
#ifndef RING
#define RING	2		/* ring slots */
#endif
#ifndef OPS
#define OPS	5		/* hydrations, FLUSHes, FUA writes, confirms, in all */
#endif
#ifndef CRASHES
#define CRASHES	2		/* power cuts */
#endif
#ifndef MEDIA
#define MEDIA	1		/* unreadable blocks, in all */
#endif
#ifndef ERRORS
#define ERRORS	0		/* metadata write or flush errors, in all */
#endif
#ifndef RESUMES
#define RESUMES	1		/* reloads after an error */
#endif
/* GROW: the clone starts with NR - 1 regions; a table of NR may come */
#ifdef GROW
#define NR0	(NR - 1)
#else
#define NR0	NR
#endif

#ifndef NBB
#define NBB	1		/* bitmap blocks: region r in block r * NBB / NR */
#endif

/* the metadata blocks */
#define SB(c)		(c)
#define BM(j, c)	(2 + 2 * (j) + (c))	/* bitmap block j, copy c */
#define NCB		(2 + 2 * NBB)		/* written through the cache */
#define RS(s, c)	(NCB + 2 * (s) + (c))
#define NBLK		(NCB + 2 * RING)

byte bad[NBLK];		/* torn: fails its checksum */
bool unread[NBLK];	/* a media error: reads fail */
byte bseq[NBLK];	/* superblock: its checkpoint; record: its sequence (0: none) */
byte bmask[NBLK];	/* bitmap, record: the regions it marks; superblock: the
			   region count (the geometry) */

/* the cache of the metadata device (superblocks and bitmap) */
bool cpend[NCB];
byte cseqv[NCB];
byte cmaskv[NCB];
byte blkmask[NBB];	/* the regions of each bitmap block */

/* ---- In core ---- */
byte nrc = NR0;		/* regions: the geometry in use */
bool growing;		/* the table asks for NR regions (from a load on) */
byte hyd;		/* regions hydrated (their data durable) */
byte logged;		/* in a record sent */
byte durable;		/* in a completed record or checkpoint */
byte head;		/* the ring position of the next record */
byte sbknown[2];	/* the checkpoint each superblock copy durably names */
bool sbgood[2] = 1;	/* ... and that it is valid */
bool bmgood[2 * NBB] = 1;	/* each bitmap copy (block j, copy c: 2j + c) is valid */
byte bmseq[2 * NBB];	/* ... the checkpoint that wrote it */
byte bmknown[NBB];	/* the bits both copies of a block hold (NOBITS: not the same) */
byte bmk;		/* the bits all blocks' copies hold (NOBITS: not so) */

/* the record in flight */
bool rbusy;
bool rfly[2];		/* each copy: sent, not completed */
byte rpos;
byte rmask;

/* FLUSHes and FUA writes waiting: two at most */
bool rq[2];
byte rqcov[2];		/* what each covers: a FLUSH, what was hydrated when it
			   came; a FUA write, its own region */

/* the checkpoint */
byte ckst;		/* 0 idle, 1..8 its steps */
byte ckseq;
byte ckmask;
byte ckgeo;		/* the geometry its superblocks carry */
bit bfirst[NBB];	/* the copy of each bitmap block it writes first */
byte ckblk;		/* the bitmap blocks it writes (changed, or a copy not valid) */
bit sfirst;		/* the superblock copy it writes first */
bool mustck;		/* load's checkpoint: nothing else runs before it */

/* what the user and earlier loads were told */
byte prom;		/* covered by an acknowledged FLUSH */
byte settled;		/* found by a load */

/* errors: the device read-only until a reload */
byte errs = ERRORS;
byte resumes = RESUMES;
bool ro;
bool rfail;		/* a copy of the record in flight failed */

byte ops = OPS;
byte crashes = CRASHES;
byte media = MEDIA;
byte k, c, j, pos, use, bits;
bool found, refused, fb;

hidden byte a_acked_kept, c_no_bit_lost, d_refuse_only_fault, f_no_stuck_flush;
hidden byte h_ring_intact = 1, i_geometry;

#define NOBITS		255
#define USABLE(b)	(!bad[b] && !unread[b])
#define MIN(a, b)	((a) < (b) -> (a) : (b))
/* ring positions from the oldest one a superblock copy may start at */
#ifdef MUT_REUSE_ONE
#define FREE_FROM	sbknown[0]
#else
#define FREE_FROM	MIN(sbknown[0], sbknown[1])
#endif
#define RING_ROOM	(head - FREE_FROM < RING)

/* a write into the metadata cache */
inline mwrite(b, s, m)
{
	cpend[b] = 1; cseqv[b] = s; cmaskv[b] = m
}

/* the metadata device flushed */
inline mflush()
{
	for (k : 0 .. NCB - 1) {
		if
		:: cpend[k] -> bseq[k] = cseqv[k]; bmask[k] = cmaskv[k]; bad[k] = 0; unread[k] = 0; cpend[k] = 0
		:: else
		fi
	}
	k = 0
}

/* A record (FUA, both copies) sent at the head of the ring. */
inline send_record(m)
{
	rbusy = 1; rpos = head; rmask = m; head++;
	logged = logged | m;
	rfly[0] = 1;
#ifdef MUT_ONE_RING_COPY
	rfly[1] = 0;
#else
	rfly[1] = 1;
#endif
	printf("record %d (regions %x) sent to slot %d\n", rpos + 1, rmask, rpos % RING)
}

/* copy C of the record in flight completed: durable */
inline record_copy_done(C)
{
	bseq[RS(rpos % RING, C)] = rpos + 1; bmask[RS(rpos % RING, C)] = rmask;
	bad[RS(rpos % RING, C)] = 0; unread[RS(rpos % RING, C)] = 0;
	rfly[C] = 0;
	printf("record %d: copy %d durable\n", rpos + 1, C)
}

/* request I needs a record: it covers a region neither logged nor durable */
#define NEEDS(I)	(rq[I] && (rqcov[I] & ~logged & ~durable) != 0)

inline ack(I)
{
	prom = prom | rqcov[I]; rq[I] = 0;
	printf("request %d acknowledged (%x)\n", I, rqcov[I]); rqcov[I] = 0
}

#ifdef MUT_ACK_ONE_COPY
#define RECORD_DONE	(!rfly[0] || !rfly[1])
#else
#define RECORD_DONE	(!rfly[0] && !rfly[1])
#endif

/* ---- Power cut and load ---- */

/* a write not yet durable: lost, lands or torn */
inline cut(b, s, m)
{
	if
	:: printf("  block %d: lost\n", b)
	:: printf("  block %d: lands\n", b); bseq[b] = s; bmask[b] = m; bad[b] = 0; unread[b] = 0
	:: printf("  block %d: torn\n", b); bad[b] = 1; unread[b] = 0
	fi
}

/* read-only after an error: no record, no checkpoint; waiting requests fail */
inline go_ro()
{
	ro = 1; ckst = 0; ckseq = 0; ckmask = 0; ckblk = 0; ckgeo = 0;
	for (k : 0 .. 1) {
		if
		:: rq[k] -> printf("request %d fails (read-only)\n", k); rq[k] = 0; rqcov[k] = 0
		:: else
		fi
	}
	k = 0
}

/* a flush of the metadata device failed: what it held may or may not be there */
inline mflush_fails()
{
	printf("metadata flush FAILS: read-only\n");
	for (k : 0 .. NCB - 1) {
		if
		:: cpend[k] -> cut(k, cseqv[k], cmaskv[k]); cpend[k] = 0
		:: else
		fi
	}
	k = 0;
	go_ro()
}

inline power_cut()
{
	printf("POWER CUT\n");
	for (k : 0 .. NCB - 1) {
		if
		:: cpend[k] -> cut(k, cseqv[k], cmaskv[k]); cpend[k] = 0
		:: else
		fi
	}
	k = 0;
	for (c : 0 .. 1) {
		if
		:: rbusy && rfly[c] -> cut(RS(rpos % RING, c), rpos + 1, rmask); rfly[c] = 0
		:: else
		fi
	}
	c = 0;
	rbusy = 0; rpos = 0; rmask = 0; rq[0] = 0; rq[1] = 0; rqcov[0] = 0; rqcov[1] = 0;
	ro = 0; rfail = 0;
	ckst = 0; ckseq = 0; ckmask = 0; ckblk = 0;
	hyd = 0; logged = 0; durable = 0; head = 0
}

/* A reload after an error: the devices kept their power (the metadata
 * cache's writes land), a record copy still in flight may or may not have
 * been written; then load, as after a power cut. */
inline reload()
{
	printf("RELOAD (after an error)\n");
	for (k : 0 .. NCB - 1) {
		if
		:: cpend[k] -> bseq[k] = cseqv[k]; bmask[k] = cmaskv[k]; bad[k] = 0; unread[k] = 0; cpend[k] = 0
		:: else
		fi
	}
	k = 0;
	for (c : 0 .. 1) {
		if
		:: rbusy && rfly[c] -> cut(RS(rpos % RING, c), rpos + 1, rmask); rfly[c] = 0
		:: else
		fi
	}
	c = 0;
	rbusy = 0; rpos = 0; rmask = 0; rq[0] = 0; rq[1] = 0; rqcov[0] = 0; rqcov[1] = 0;
	ro = 0; rfail = 0;
	ckst = 0; ckseq = 0; ckmask = 0; ckblk = 0; ckgeo = 0;
	hyd = 0; logged = 0; durable = 0; head = 0
}

inline media_error()
{
	if
	:: media > 0 ->
		if
		:: true
		:: select(k : 0 .. NBLK - 1); unread[k] = 1; media--; printf("  block %d unreadable\n", k); k = 0
		fi
	:: else
	fi
}

inline load()
{
	refused = 0;
	/*
	 * the superblock copy with the newest checkpoint; of two with the same
	 * one, the one with the larger geometry (a grow cut short)
	 */
	use = 2;
	for (c : 0 .. 1) {
		if
		:: USABLE(SB(c)) && (use == 2 || bseq[SB(c)] > bseq[SB(use)] ||
		   (bseq[SB(c)] == bseq[SB(use)] && bmask[SB(c)] > bmask[SB(use)])) -> use = c
		:: else
		fi
	}
	c = 0;
	if
	:: use == 2 -> refused = 1; printf("load: no superblock copy: refused\n")
	:: else
	fi;
	/* the bitmap: of each block, the OR of its usable copies */
	bits = 0; found = 1;
	for (j : 0 .. NBB - 1) {
		fb = 0;
		for (c : 0 .. 1) {
			if
			:: USABLE(BM(j, c)) -> bits = bits | bmask[BM(j, c)]; fb = 1
			:: else
			fi
		}
		c = 0;
		found = found && fb
	}
	j = 0; fb = 0;
	if
	:: !refused && !found -> refused = 1; printf("load: a bitmap block with no copy: refused\n")
	:: else
	fi;
	/* the ring from the checkpoint on, while the sequences follow */
	if
	:: !refused ->
		pos = bseq[SB(use)];
		do
		:: pos - bseq[SB(use)] < RING ->
			found = 0;
			for (c : 0 .. 1) {
				if
				:: USABLE(RS(pos % RING, c)) && bseq[RS(pos % RING, c)] == pos + 1 ->
					bits = bits | bmask[RS(pos % RING, c)]; found = 1
				:: else
				fi
			}
			c = 0;
			if
			:: found -> pos++
			:: else -> break
			fi
		:: else -> break
		od;
		/*
		 * Where the sequence stops, the slot holds an older record (the
		 * ring's last lap), a record that never completed, or nothing.
		 * A newer one means the ring was written over past the
		 * checkpoint this superblock names: refuse.
		 */
		for (c : 0 .. 1) {
			if
			:: USABLE(RS(pos % RING, c)) && bseq[RS(pos % RING, c)] > pos + 1 ->
				h_ring_intact = 0; printf("load: slot %d holds record %d, not %d: ring overwritten\n",
					pos % RING, bseq[RS(pos % RING, c)], pos + 1)
			:: else
			fi
		}
		c = 0;
		assert(h_ring_intact);
		/* a gap: the next slot goes on where this one has nothing */
		if
		:: pos - bseq[SB(use)] < RING - 1 ->
			for (c : 0 .. 1) {
				if
				:: USABLE(RS((pos + 1) % RING, c)) && bseq[RS((pos + 1) % RING, c)] == pos + 2 ->
					refused = 1; printf("load: record %d missing, %d found: refused\n", pos + 1, pos + 2)
				:: else
				fi
			}
			c = 0
		:: else
		fi
	:: else
	fi;

	/* the checks */
	found = 0;
	for (k : 0 .. NBLK - 1) {
		found = found || unread[k]
	}
	k = 0;
	printf("load: checkpoint %d, ring to %d, regions %x (promised %x, found before %x), refused %d\n",
		bseq[SB(use)], pos, bits, prom, settled, refused);
	if
	:: refused ->
		d_refuse_only_fault = found;
		assert(d_refuse_only_fault)
	:: else ->
		a_acked_kept = (prom & bits) == prom;
		assert(a_acked_kept);
		c_no_bit_lost = (settled & bits) == settled;
		assert(c_no_bit_lost)
	fi;

	/* the geometry: the superblock's; every bit found lies within it */
	if
	:: !refused ->
		i_geometry = (bits >> bmask[SB(use)]) == 0;
		assert(i_geometry);
		nrc = bmask[SB(use)]
	:: else
	fi;
#ifdef GROW
	/* the table asks for NR regions from now on: load's checkpoint grows */
	if
	:: !growing -> growing = 1; printf("load: the table asks for %d regions\n", NR)
	:: true
	fi;
	if
	:: growing && nrc < NR -> nrc = NR; printf("load: grown to %d regions\n", NR)
	:: else
	fi;
#endif

	/* the next run */
	hyd = bits; logged = bits; head = pos;
	for (c : 0 .. 1) {
		if
		:: USABLE(SB(c)) -> sbknown[c] = bseq[SB(c)]
		:: else -> sbknown[c] = bseq[SB(use)]
		fi;
		sbgood[c] = USABLE(SB(c))
	}
	c = 0;
	bmk = bits;
	for (j : 0 .. NBB - 1) {
		for (c : 0 .. 1) {
			bmgood[2 * j + c] = USABLE(BM(j, c)); bmseq[2 * j + c] = bseq[BM(j, c)]
		}
		c = 0;
		if
		:: bmgood[2 * j] && bmgood[2 * j + 1] && bmask[BM(j, 0)] == bmask[BM(j, 1)] &&
		   bmask[BM(j, 0)] == (bits & blkmask[j]) -> bmknown[j] = bits & blkmask[j]
		:: else -> bmknown[j] = NOBITS; bmk = NOBITS
		fi
	}
	j = 0;
#ifdef MUT_NO_LOAD_CKPT
	durable = bits; settled = bits;
#else
	mustck = 1;
#endif
	use = 0; pos = 0; bits = 0; found = 0
}

/*
 * ---- The checkpoint: a copy of each bitmap block it writes, flush, the
 * other copies, flush, a superblock copy, flush, the other, flush. Of each
 * pair, a copy that is not valid (load found it torn or unreadable), or
 * else the older one, is written first: the valid one is then never the
 * only copy being written. The blocks it writes are those whose bits
 * changed, or whose copies are not both valid and the same.
 */

/* a copy of every block the checkpoint writes (FIRST: each one's first) */
inline bm_write(first)
{
	for (j : 0 .. NBB - 1) {
		if
		:: (ckblk >> j) & 1 ->
			c = (first -> bfirst[j] : 1 - bfirst[j]);
			mwrite(BM(j, c), ckseq, ckmask & blkmask[j]);
			printf("checkpoint %d: bitmap block %d copy %d (%x)\n", ckseq, j, c, ckmask & blkmask[j])
#ifdef MUT_ONE_BLOCK
			; break
#endif
		:: else
		fi
	}
	j = 0; c = 0
}

/* ... flushed */
inline bm_done(first)
{
	mflush();
	for (j : 0 .. NBB - 1) {
		if
		:: (ckblk >> j) & 1 ->
			c = (first -> bfirst[j] : 1 - bfirst[j]);
			bmgood[2 * j + c] = 1; bmseq[2 * j + c] = ckseq
		:: else
		fi
	}
	j = 0; c = 0
}

#ifdef MUT_SB_EARLY
#define SB_STEP	3
#else
#define SB_STEP	5
#endif

inline ck_step()
{
	if
	:: ckst == 1 -> bm_write(1)
	:: ckst == 2 -> bm_done(1)
#ifdef MUT_SB_EARLY
	:: ckst == 3 -> mwrite(SB(sfirst), ckseq, ckgeo); printf("checkpoint %d: superblock %d\n", ckseq, sfirst)
	:: ckst == 4 -> mflush(); sbgood[sfirst] = 1
	:: ckst == 5 -> bm_write(0)
	:: ckst == 6 -> bm_done(0); sbknown[sfirst] = ckseq
#else
	:: ckst == 3 -> bm_write(0)
	:: ckst == 4 -> bm_done(0)
	:: ckst == 5 -> mwrite(SB(sfirst), ckseq, ckgeo); printf("checkpoint %d: superblock %d\n", ckseq, sfirst)
	:: ckst == 6 -> mflush(); sbgood[sfirst] = 1; sbknown[sfirst] = ckseq;
#ifdef MUT_GROW_EARLY
		if
		:: mustck -> settled = ckmask; mustck = 0
		:: else
		fi
#else
		skip
#endif
#endif
	:: ckst == 7 -> mwrite(SB(1 - sfirst), ckseq, ckgeo); printf("checkpoint %d: superblock %d\n", ckseq, 1 - sfirst)
	:: ckst == 8 -> mflush(); sbgood[1 - sfirst] = 1; sbknown[1 - sfirst] = ckseq;
		for (j : 0 .. NBB - 1) {
			bmknown[j] = ckmask & blkmask[j]
		}
		j = 0; bmk = ckmask;
		durable = durable | ckmask; printf("checkpoint %d done\n", ckseq);
		if
		:: mustck -> settled = ckmask; mustck = 0
		:: else
		fi
	fi;
	if
	:: ckst == 8 -> ckst = 0; ckseq = 0; ckmask = 0; ckblk = 0
	:: else -> ckst++
	fi
}

active proctype world()
{
	bmask[SB(0)] = NR0; bmask[SB(1)] = NR0;
	for (k : 0 .. NR - 1) {
		blkmask[k * NBB / NR] = blkmask[k * NBB / NR] | (1 << k)
	}
	k = 0;
	do
	/* a region hydrated (a copy, or a whole-region write) */
	:: atomic { ops > 0 && !mustck && !ro && hyd != (1 << nrc) - 1 ->
		select(k : 0 .. NR - 1);
		if
		:: k < nrc && !((hyd >> k) & 1) -> hyd = hyd | (1 << k); ops--; printf("r%d hydrated\n", k)
		:: else
		fi;
		k = 0 }
	/* a FLUSH comes: it covers what is hydrated now */
	:: atomic { ops > 0 && !mustck && !ro && (!rq[0] || !rq[1]) -> ops--;
		k = rq[0]; rq[k] = 1; rqcov[k] = hyd;
		printf("FLUSH %d: covers %x\n", k, hyd); k = 0 }
	/* a FUA write hydrates a whole region: it covers that region */
	:: atomic { ops > 0 && !mustck && !ro && (!rq[0] || !rq[1]) && hyd != (1 << nrc) - 1 ->
		select(c : 0 .. NR - 1);
		if
		:: c < nrc && !((hyd >> c) & 1) -> ops--; hyd = hyd | (1 << c);
			k = rq[0]; rq[k] = 1; rqcov[k] = 1 << c;
			printf("FUA write %d: r%d hydrated\n", k, c); k = 0
		:: else
		fi;
		c = 0 }
	/* a confirm (a record with no region): ring space goes */
	:: atomic { ops > 0 && !mustck && !ro && !rbusy && RING_ROOM -> ops--; send_record(0) }
	/* a record for what the waiting requests need, and all else not logged */
	:: atomic { !mustck && !ro && !rbusy && RING_ROOM && (NEEDS(0) || NEEDS(1)) -> send_record(hyd & ~logged) }
	:: atomic { rbusy && rfly[0] -> record_copy_done(0) }
	:: atomic { rbusy && rfly[1] -> record_copy_done(1) }
	:: atomic { rbusy && RECORD_DONE ->
		if
		:: !rfail -> durable = durable | rmask
		:: else
		fi;
		if
		:: !rfly[0] && !rfly[1] -> rbusy = 0; rfail = 0
		:: else
		fi }
	/* a request acknowledged: what it covers is durable */
	:: atomic { rq[0] && (rqcov[0] & durable) == rqcov[0] -> ack(0) }
	:: atomic { rq[1] && (rqcov[1] & durable) == rqcov[1] -> ack(1) }
	/* a checkpoint starts: what is hydrated now, records before the head */
	:: atomic { ckst == 0 && !ro && (mustck || hyd != bmk || head != sbknown[1]) ->
		ckseq = head; ckmask = hyd; ckgeo = nrc; ckblk = 0;
		for (j : 0 .. NBB - 1) {
			if
			:: (ckmask & blkmask[j]) != bmknown[j] -> ckblk = ckblk | (1 << j)
			:: else
			fi;
#ifdef MUT_A_FIRST
			bfirst[j] = 0
#else
			bfirst[j] = bmgood[2 * j] && (!bmgood[2 * j + 1] || bmseq[2 * j + 1] < bmseq[2 * j])
#endif
		}
		j = 0;
		if
		:: ckblk == 0 -> ckst = SB_STEP	/* the bitmap did not change */
		:: else -> ckst = 1
		fi;
#ifdef MUT_A_FIRST
		sfirst = 0;
#else
		sfirst = sbgood[0] && (!sbgood[1] || sbknown[1] < sbknown[0]);
#endif
		printf("checkpoint %d begins (%x)\n", ckseq, ckmask) }
	:: atomic { ckst > 0 -> ck_step() }
#ifdef MUT_IGNORE_ERRORS
	:: atomic { errs > 0 && ckst > 0 && ckst % 2 == 0 -> errs--;
		printf("metadata flush FAILS: ignored\n");
		for (k : 0 .. NCB - 1) {
			if
			:: cpend[k] -> cut(k, cseqv[k], cmaskv[k]); cpend[k] = 0
			:: else
			fi
		}
		k = 0; ck_step() }
#else
	:: atomic { errs > 0 && ckst > 0 && ckst % 2 == 0 -> errs--; mflush_fails() }
#endif
	/* a copy of the record in flight fails: torn or not written */
	:: atomic { errs > 0 && rbusy && rfly[0] -> errs--; printf("record %d: copy 0 FAILS\n", rpos + 1);
		if
		:: bad[RS(rpos % RING, 0)] = 1
		:: skip
		fi;
#ifdef MUT_IGNORE_ERRORS
		rfly[0] = 0 }
#else
		rfly[0] = 0; rfail = 1; go_ro() }
#endif
	:: atomic { errs > 0 && rbusy && rfly[1] -> errs--; printf("record %d: copy 1 FAILS\n", rpos + 1);
		if
		:: bad[RS(rpos % RING, 1)] = 1
		:: skip
		fi;
#ifdef MUT_IGNORE_ERRORS
		rfly[1] = 0 }
#else
		rfly[1] = 0; rfail = 1; go_ro() }
#endif
	/* a reload after the error */
	:: atomic { ro && resumes > 0 && ckst == 0 -> resumes--; reload(); load();
		if
		:: refused -> break
		:: else
		fi }
	/* a power cut, then load */
	:: atomic { crashes > 0 -> crashes--; power_cut(); media_error(); load();
		if
		:: refused -> break
		:: else
		fi }
	:: else -> break
	od;
	f_no_stuck_flush = refused || !rq[0] && !rq[1];
	assert(f_no_stuck_flush)
}
