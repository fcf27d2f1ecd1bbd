// SPDX-License-Identifier: GPL-2.0
/*
 * tracecheck: checks what a running dm-clone did against the model of its
 * commit protocol (tests/model/commit.pml). The module marks each step of
 * the protocol with a trace event (dm-clone-trace.h); this reads a recording
 * of them (the text of /sys/kernel/tracing/trace) and follows it step by
 * step with the model's state: the bits in core, the two copies of each
 * bitmap block and what a power cut would leave of them, the destination's
 * data, and what the user was promised. It fails on the first event the
 * model has no step for, and on any instant at which a power cut would
 * break one of the model's properties:
 *
 *   (a) every region an acknowledged FLUSH or FUA write covers (writes
 *       acknowledged before the FLUSH arrived; the FUA write's own regions)
 *       is hydrated in a durable bitmap copy when it is acknowledged, and
 *       the data of those writes is durable on the destination;
 *       and it stays so: no bitmap copy is written while the other copy
 *       lacks a bit that was promised (a torn write of the one copy that
 *       holds it would lose it);
 *   (b) no bitmap copy is written holding a bit whose region's data is not
 *       durable yet (no destination flush began after the bit was set and
 *       ended before the write).
 *
 * Metadata format version 2 (clone_load ring=L, L > 0) adds records: a
 * quick commit writes the runs of regions hydrated since the last one into
 * the record at the next ring position, both copies at once with FUA, and a
 * record that ended well makes its regions durable. So in version 2 a
 * region is durably hydrated if a durable bitmap copy holds it or a record
 * load would replay does; (a) counts both (and a bitmap copy may be written
 * while the other lacks a promised bit that such a record holds); (b)
 * applies to each region a record names, when the record begins. Also:
 *
 *   (h) records come one after the other from the position load found
 *       (load stops replaying at a gap), and one at position P reuses the
 *       slot of P - L: P must be below L past the checkpoint of both
 *       superblock copies (either alone must find every record it needs);
 *   (sb) a superblock copy written naming checkpoint S (the end of a
 *       checkpoint, which is version 1's full commit) stops load replaying
 *       the records before S: S is the position after the last record, and
 *       every region of those records is in both durable bitmap copies.
 *
 * Durability is judged as the model judges it, for devices with a volatile
 * write cache: a write is durable once a flush of its device that began
 * after it completed has ended; a bitmap copy with a write not yet durable
 * may be torn, and then holds nothing; a FUA write is durable when it
 * completes. Bits set in core before a snapshot of their block are in the
 * copies written from that snapshot (both happen under one lock, and every
 * event carries seq, one counter taken when it is recorded).
 *
 * The recording must start before the clone's table is loaded on empty
 * metadata (the clone_load event, hydrated=0) and hold one table's life; a
 * gap in seq (events the ring buffer dropped) makes it uncheckable. A
 * version 1 recording with a version 2 event is refused (no step for it).
 *
 *   tracecheck [-d MAJOR:MINOR] TRACE
 *     -d   the clone's metadata device, when the recording holds several
 *
 * Prints one line of counts (key=value; version 2 adds records= and
 * sb_writes=) and "allowed", or the violation.
 * Exit status: 0 allowed; 1 a violation; 2 bad usage or a recording that
 * cannot be checked (unreadable, malformed, events lost, no clone_load).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum type {
	E_LOAD, E_SET, E_SNAPSHOT, E_COMMIT_BEGIN, E_COMMIT_END,
	E_DEST_FLUSH_BEGIN, E_DEST_FLUSH_END, E_MD_FLUSH_BEGIN, E_MD_FLUSH_END,
	E_MD_WRITE_BEGIN, E_MD_WRITE_END, E_RECORD_BEGIN, E_RECORD_RUN,
	E_RECORD_END, E_SB_WRITE, E_WRITE_END, E_FUA_ACK,
	E_FLUSH_ARRIVE, E_FLUSH_PASS, E_FLUSH_ACK, E_NTYPES
};

static const char *const names[E_NTYPES] = {
	"clone_load", "clone_set", "clone_snapshot", "clone_commit_begin",
	"clone_commit_end", "clone_dest_flush_begin", "clone_dest_flush_end",
	"clone_md_flush_begin", "clone_md_flush_end", "clone_md_write_begin",
	"clone_md_write_end", "clone_record_begin", "clone_record_run",
	"clone_record_end", "clone_sb_write", "clone_write_end", "clone_fua_ack",
	"clone_flush_arrive", "clone_flush_pass", "clone_flush_ack",
};

struct ev {
	uint64_t seq;
	enum type type;
	unsigned int maj, min;
	uint64_t v[5];		/* the event's numbers, in its format's order */
	char id[40];		/* FLUSH events: the bio's (hashed) address */
	long line;
};

/* The numeric fields of each event, in order (err last where there is one). */
static const char *const fields[E_NTYPES][5] = {
	[E_LOAD] = { "regions", "per_block", "hydrated", "ring", "pos" },
	[E_SET] = { "start", "end" },
	[E_SNAPSHOT] = { "block", "first", "both" },
	[E_COMMIT_BEGIN] = { "err" }, [E_COMMIT_END] = { "err" },
	[E_DEST_FLUSH_BEGIN] = { "err" }, [E_DEST_FLUSH_END] = { "err" },
	[E_MD_FLUSH_BEGIN] = { "err" }, [E_MD_FLUSH_END] = { "err" },
	[E_MD_WRITE_BEGIN] = { "block", "count", "copy", "err" },
	[E_MD_WRITE_END] = { "block", "count", "copy", "err" },
	[E_RECORD_BEGIN] = { "pos", "runs", "err" },
	[E_RECORD_RUN] = { "pos", "first", "count" },
	[E_RECORD_END] = { "pos", "runs", "err" },
	[E_SB_WRITE] = { "copy", "checkpoint", "err" },
	[E_WRITE_END] = { "region", "nr", "fua", "wait", "err" },
	[E_FUA_ACK] = { "region", "nr", "err" },
	[E_FLUSH_ARRIVE] = { "err" }, [E_FLUSH_PASS] = { "err" },
	[E_FLUSH_ACK] = { "err" },
};

static const char *prog = "tracecheck";

static void die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(code);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		die(2, "out of memory");
	return p;
}

/* Room in array @p (*@alloc elements of @size) for element @n. */
static void *grow(void *p, size_t *alloc, size_t n, size_t size, size_t min)
{
	if (n < *alloc)
		return p;
	*alloc = *alloc ? 2 * *alloc : min;
	p = realloc(p, *alloc * size);
	if (!p)
		die(2, "out of memory");
	return p;
}

/* ---- Reading the recording ---- */

/* " KEY=" in @s: the text after it, or NULL. */
static const char *after_key(const char *s, const char *key)
{
	size_t n = strlen(key);

	for (s = strchr(s, ' '); s; s = strchr(s + 1, ' '))
		if (!strncmp(s + 1, key, n) && s[1 + n] == '=')
			return s + 2 + n;
	return NULL;
}

static bool parse_line(const char *line, long lineno, struct ev *e)
{
	const char *p = strstr(line, ": clone_"), *q;
	char *end;
	size_t n;
	int t, i;

	if (!p)
		return false;
	p += 2;
	q = strchr(p, ':');
	if (!q)
		return false;
	n = (size_t)(q - p);
	for (t = 0; t < E_NTYPES; t++)
		if (strlen(names[t]) == n && !strncmp(p, names[t], n))
			break;
	if (t == E_NTYPES)
		die(2, "line %ld: unknown event %.*s", lineno, (int)n, p);
	memset(e, 0, sizeof(*e));
	e->type = t;
	e->line = lineno;
	p = after_key(q, "seq");
	if (!p || (e->seq = strtoull(p, &end, 10), end == p))
		die(2, "line %ld: %s without seq", lineno, names[t]);
	p = after_key(q, "dev");
	if (!p || sscanf(p, "%u:%u", &e->maj, &e->min) != 2)
		die(2, "line %ld: %s without dev", lineno, names[t]);
	for (i = 0; i < 5 && fields[t][i]; i++) {
		p = after_key(q, fields[t][i]);
		if (!p)
			die(2, "line %ld: %s without %s", lineno, names[t], fields[t][i]);
		/* err is negative: keep it as its two's complement */
		e->v[i] = (uint64_t)strtoll(p, &end, 10);
		if (end == p)
			die(2, "line %ld: %s: bad %s", lineno, names[t], fields[t][i]);
	}
	if (t >= E_FLUSH_ARRIVE) {
		p = after_key(q, "id");
		if (!p || sscanf(p, "%39s", e->id) != 1)
			die(2, "line %ld: %s without id", lineno, names[t]);
	}
	return true;
}

static int by_seq(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ---- The model's state ---- */

/* One copy of a bitmap block, as a power cut would find it. */
struct copy {
	bool known;		/* its content survives a power cut now */
	uint64_t snap;		/* ... and holds the bits set before seq @snap */
	bool pending;		/* a write issued, not durable yet */
	uint64_t wsnap;		/* what that write holds */
	uint64_t wend;		/* when it completed (0: not yet, or failed) */
};

/* A bitmap block, and its part in the commit under way. */
struct block {
	struct copy c[2];
	uint64_t promised;	/* the newest set seq of a promised region */
	bool in_commit;		/* snapshotted by the commit under way */
	uint64_t snap;		/* that snapshot's seq */
	unsigned int first;
	bool both;
	int step;		/* 0 snapshotted, 1 first copy written, 2 it is
				   durable, 3 the other copy written, 4 durable */
};

struct uwrite {			/* a write acknowledged to the user */
	uint64_t ack, end;	/* seqs: acknowledged, data completed */
	uint64_t region, nr;
	bool fua;
};

struct flush {
	char id[40];
	uint64_t arrive, pass;
	bool live;
};

/* Version 2: regions [first, first + count) named by a record. */
struct run {
	uint64_t first, count;
};

/* A record that ended well: its runs are runs[run0, run0 + nruns). */
struct record {
	uint64_t pos;
	size_t run0, nruns;
};

static struct {
	const struct ev *ev;		/* the event being checked */
	uint64_t nr_regions, per_block, nr_blocks;
	uint64_t *set;			/* per region: seq of its set, 0 none */
	struct block *blk;
	uint64_t dest_upto;		/* data that completed before is durable */
	uint64_t dest_begin, md_begin;	/* flushes under way: their begin */
	bool in_commit, quick, commit_failed;
	struct uwrite *w;		/* acknowledged writes, in order */
	size_t nw, aw, promised_to;	/* used, allocated, first not promised */
	struct uwrite *waits;		/* FUA writes waiting for a commit */
	size_t nwaits, awaits;
	struct flush fl[64];
	bool *prom;			/* per region: promised to the user */
	/*
	 * Version 2 (@ring slots; 0 in version 1). Records go at consecutive
	 * positions from the one load found; load replays them from the
	 * checkpoint of the superblock copy it takes.
	 */
	uint64_t ring, load_pos, next_pos;
	uint64_t ckpt[2];		/* what each superblock copy durably names */
	uint64_t ckpt_hi[2];		/* ... or may name: a failed write may have landed */
	uint64_t *rec_pos;		/* per region: 1 + position of its durable record */
	struct record *recs;		/* records that ended well, by position */
	size_t nrecs, arecs;
	struct run *runs;
	size_t nruns, aruns;
	bool in_record, did_record, sb_done[2];
	uint64_t rec_at, rec_runs, rec_seen;	/* the record being written */
	uint64_t rec_upto;		/* dest_upto when it began */
	size_t rec_run0;
	/* counts */
	unsigned long events, quick_commits, full_commits, md_writes,
		md_flushes, dest_flushes, flush_commit, flush_pass, flush_err,
		fua_now, fua_wait, writes, promised, records, sb_writes;
} S;

static void violation(const char *prop, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("VIOLATION %s at seq %" PRIu64 " (%s, line %ld): ", prop,
	       S.ev->seq, names[S.ev->type], S.ev->line);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	exit(1);
}

static struct block *block_of(uint64_t region)
{
	return &S.blk[region / S.per_block];
}

/* Would a power cut now leave region @r hydrated? */
static bool bit_durable(uint64_t r)
{
	const struct block *b = block_of(r);
	uint64_t s = S.set[r];
	int c;

	if (!s)
		return false;
	for (c = 0; c < 2; c++)
		if (b->c[c].known && b->c[c].snap > s)
			return true;
	return false;
}

/*
 * Version 2: would a power cut now leave region @r hydrated through a
 * record? One that ended well was written with FUA, both copies, and its
 * slot is not reused while a superblock copy still names a checkpoint at
 * or before it ((h)). But load replays only from the checkpoint of the copy
 * it takes, the higher one: a record below what either copy may name is
 * not replayed (the superblock rule made sure both bitmap copies hold it).
 */
static bool record_live(uint64_t r)
{
	uint64_t from = S.ckpt_hi[0] > S.ckpt_hi[1] ? S.ckpt_hi[0] : S.ckpt_hi[1];

	return S.rec_pos[r] && S.rec_pos[r] - 1 >= from;
}

static bool durable(uint64_t r)
{
	return bit_durable(r) || record_live(r);
}

static void check_regions(uint64_t region, uint64_t nr)
{
	if (region + nr > S.nr_regions || !nr)
		violation("event", "regions %" PRIu64 "+%" PRIu64 " outside the clone",
			  region, nr);
}

/* (a): regions [region, region + nr) acknowledged durable; promise them. */
static void promise(uint64_t region, uint64_t nr, const char *what)
{
	uint64_t r;
	struct block *b;

	for (r = region; r < region + nr; r++) {
		if (!S.set[r])
			violation("(a)", "%s: region %" PRIu64 " is not hydrated even in core",
				  what, r);
		if (!durable(r))
			violation("(a)", "%s: region %" PRIu64 " (set at seq %" PRIu64
				  ") is in no durable bitmap copy%s: a power cut now loses it",
				  what, r, S.set[r], S.ring ? " and no durable record" : "");
		S.prom[r] = true;
		b = block_of(r);
		if (S.set[r] > b->promised)
			b->promised = S.set[r];
		S.promised++;
	}
}

static struct flush *find_flush(const char *id)
{
	size_t i;

	for (i = 0; i < sizeof(S.fl) / sizeof(S.fl[0]); i++)
		if (S.fl[i].live && !strcmp(S.fl[i].id, id))
			return &S.fl[i];
	return NULL;
}

static void ack_flush(struct flush *f)
{
	struct uwrite *w;

	for (; S.promised_to < S.nw && S.w[S.promised_to].ack < f->arrive;
	     S.promised_to++) {
		w = &S.w[S.promised_to];
		if (!w->fua && w->end >= S.dest_upto)
			violation("(a)", "FLUSH acknowledged, but the data of the write to regions %"
				  PRIu64 "+%" PRIu64 " (completed at seq %" PRIu64
				  ") was covered by no destination flush", w->region,
				  w->nr, w->end);
		promise(w->region, w->nr, "FLUSH acknowledged");
	}
}

static void user_ack(const struct ev *e, uint64_t region, uint64_t nr,
		     bool fua, uint64_t end)
{
	S.w = grow(S.w, &S.aw, S.nw, sizeof(*S.w), 1024);
	S.w[S.nw++] = (struct uwrite){ .ack = e->seq, .end = end,
				       .region = region, .nr = nr, .fua = fua };
	S.writes++;
	if (fua)
		promise(region, nr, "FUA write acknowledged");
}

/*
 * The newest set seq of a promised region in [lo, hi) that copy @o lacks
 * and no record a load would replay holds: what a torn write of the other
 * copy would lose (0: nothing).
 */
static uint64_t unsafe_promised(uint64_t lo, uint64_t hi, const struct copy *o)
{
	uint64_t r, newest = 0;

	for (r = lo; r < hi; r++)
		if (S.prom[r] && !(o->known && o->snap > S.set[r]) &&
		    !record_live(r) && S.set[r] > newest)
			newest = S.set[r];
	return newest;
}

/* (b) and the torn-write rule, as copy @c of block @k is written. */
static void check_md_write(uint64_t k, unsigned int c)
{
	struct block *b = &S.blk[k];
	const struct copy *o = &b->c[!c];
	uint64_t r, lo = k * S.per_block, hi = lo + S.per_block, newest = 0;
	uint64_t lost;

	if (hi > S.nr_regions)
		hi = S.nr_regions;
	for (r = lo; r < hi; r++)
		if (S.set[r] && S.set[r] < b->snap && S.set[r] > newest)
			newest = S.set[r];
	if (newest && newest >= S.dest_upto)
		violation("(b)", "copy %c of bitmap block %" PRIu64
			  " written with a bit set at seq %" PRIu64
			  ", and no destination flush began after it and ended",
			  'A' + c, k, newest);
	if (!b->promised || (o->known && o->snap > b->promised))
		return;
	/* Version 2: a bit a live record holds is safe in any case. */
	lost = S.ring ? unsafe_promised(lo, hi, o) : b->promised;
	if (lost)
		violation("(a)", "copy %c of bitmap block %" PRIu64
			  " written while copy %c %s: a torn write would lose a promised region (set at seq %"
			  PRIu64 ")", 'A' + c, k, 'A' + !c,
			  o->known ? "lacks promised bits" : "may be torn itself",
			  lost);
}

static void md_write_begin(const struct ev *e)
{
	uint64_t k, first = e->v[0], count = e->v[1];
	unsigned int c = (unsigned int)e->v[2];
	struct block *b;

	if (!S.in_commit)
		violation("step", "a bitmap write outside a commit");
	if (c > 1 || first + count > S.nr_blocks || !count)
		violation("event", "bitmap blocks %" PRIu64 "+%" PRIu64 " copy %u",
			  first, count, c);
	for (k = first; k < first + count; k++) {
		b = &S.blk[k];
		if (!b->in_commit)
			violation("step", "bitmap block %" PRIu64 " written without a snapshot in this commit", k);
		if (!(b->step == 0 && c == b->first) &&
		    !(b->step == 2 && b->both && c != b->first))
			violation("step", "copy %c of bitmap block %" PRIu64
				  " written at step %d of its snapshot (first %c, both %d)",
				  'A' + c, k, b->step, 'A' + b->first, b->both);
		check_md_write(k, c);
		b->step++;
		b->c[c] = (struct copy){ .pending = true, .wsnap = b->snap };
		S.md_writes++;
	}
}

static void md_write_end(const struct ev *e)
{
	uint64_t k, first = e->v[0], count = e->v[1];
	unsigned int c = (unsigned int)e->v[2];

	if (c > 1 || first + count > S.nr_blocks)
		violation("event", "bitmap blocks %" PRIu64 "+%" PRIu64 " copy %u",
			  first, count, c);
	for (k = first; k < first + count; k++) {
		if (!S.blk[k].c[c].pending)
			violation("step", "a bitmap write ended that did not begin");
		if (!e->v[3])
			S.blk[k].c[c].wend = e->seq;
		else
			S.commit_failed = true;
	}
}

/* A metadata flush that began at @begin ended well. */
static void md_flushed(uint64_t begin)
{
	struct block *b;
	struct copy *c;
	uint64_t k;
	int i;

	for (k = 0; k < S.nr_blocks; k++) {
		b = &S.blk[k];
		for (i = 0; i < 2; i++) {
			c = &b->c[i];
			if (!c->pending || !c->wend || c->wend > begin)
				continue;
			*c = (struct copy){ .known = true, .snap = c->wsnap };
			if (b->in_commit && (b->step == 1 || b->step == 3))
				b->step++;
		}
	}
}

/*
 * Version 2: a quick commit that found no room for a record (the ring full,
 * or the runs too many for one) is a checkpoint, which @what shows.
 */
static void to_checkpoint(const char *what)
{
	if (!S.ring || !S.quick)
		return;
	if (S.in_record || S.did_record)
		violation("step", "%s in a quick commit that wrote a record", what);
	S.quick = false;
	S.quick_commits--;
	S.full_commits++;
}

static void snapshot(const struct ev *e)
{
	uint64_t k = e->v[0];
	struct block *b;

	if (!S.in_commit)
		violation("step", "a snapshot outside a commit");
	to_checkpoint("a snapshot");
	if (k >= S.nr_blocks || e->v[1] > 1)
		violation("event", "snapshot of bitmap block %" PRIu64, k);
	b = &S.blk[k];
	if (b->in_commit)
		violation("step", "bitmap block %" PRIu64 " snapshotted twice in one commit", k);
	b->in_commit = true;
	b->snap = e->seq;
	b->first = (unsigned int)e->v[1];
	b->both = e->v[2];
	b->step = 0;
	if (b->both && S.quick)
		violation("step", "a quick commit writes both copies of block %" PRIu64, k);
}

static void commit_end(const struct ev *e)
{
	uint64_t k;
	struct block *b;

	if (!S.in_commit)
		violation("step", "a commit ended that did not begin");
	for (k = 0; k < S.nr_blocks; k++) {
		b = &S.blk[k];
		if (!b->in_commit)
			continue;
		if (!e->v[0] && b->step != (b->both ? 4 : 2))
			violation("step", "the commit ended well, but bitmap block %" PRIu64
				  " is at step %d of its snapshot", k, b->step);
		b->in_commit = false;
	}
	if (S.in_record)
		violation("step", "the commit ended with its record in flight");
	if (!e->v[0] && S.commit_failed)
		violation("step", "the commit ended well after a failed write");
	S.in_commit = false;
}

/* ---- Version 2: records and superblocks ---- */

static void record_begin(const struct ev *e)
{
	uint64_t pos = e->v[0], lo = S.ckpt[0] < S.ckpt[1] ? S.ckpt[0] : S.ckpt[1];

	if (!S.in_commit || !S.quick)
		violation("step", "a record outside a quick commit");
	if (S.in_record || S.did_record)
		violation("step", "a second record in one commit");
	if (!e->v[1])
		violation("event", "a record of no runs");
	/*
	 * (h): load replays from a checkpoint while the positions follow: a
	 * record after a gap is never replayed, and one written again at
	 * its position replaces a record that was promised from.
	 */
	if (pos != S.next_pos)
		violation("(h)", "a record at ring position %" PRIu64
			  ", but the next position is %" PRIu64 " (%s)", pos,
			  S.next_pos, pos > S.next_pos ?
			  "load would stop at the gap before it" :
			  "a record there already ended well");
	/* Its slot held position pos - L: a superblock copy may still need it. */
	if (pos >= lo + S.ring)
		violation("(h)", "a record at ring position %" PRIu64 " reuses the slot of position %"
			  PRIu64 ", which superblock copy %d still replays from its checkpoint %"
			  PRIu64 " (ring of %" PRIu64 " slots)", pos, pos - S.ring,
			  S.ckpt[0] == lo ? 0 : 1, lo, S.ring);
	S.in_record = true;
	S.rec_at = pos;
	S.rec_runs = e->v[1];
	S.rec_seen = 0;
	S.rec_upto = S.dest_upto;
	S.rec_run0 = S.nruns;
}

static void record_run(const struct ev *e)
{
	uint64_t first = e->v[1], count = e->v[2], r;

	if (!S.in_record || e->v[0] != S.rec_at)
		violation("step", "a run of a record at position %" PRIu64
			  " that is not being written", e->v[0]);
	if (S.rec_seen++ == S.rec_runs)
		violation("event", "more runs than the record's %" PRIu64, S.rec_runs);
	check_regions(first, count);
	/* (b), as for a bitmap write: taken when the record began */
	for (r = first; r < first + count; r++) {
		if (!S.set[r])
			violation("(b)", "the record at ring position %" PRIu64
				  " names region %" PRIu64 ", which is not hydrated even in core",
				  S.rec_at, r);
		if (S.set[r] >= S.rec_upto)
			violation("(b)", "the record at ring position %" PRIu64
				  " names region %" PRIu64 ", set at seq %" PRIu64
				  ", and no destination flush began after it and ended before the record",
				  S.rec_at, r, S.set[r]);
	}
	S.runs = grow(S.runs, &S.aruns, S.nruns, sizeof(*S.runs), 256);
	S.runs[S.nruns++] = (struct run){ .first = first, .count = count };
}

static void record_end(const struct ev *e)
{
	uint64_t r;
	size_t i;

	if (!S.in_record || e->v[0] != S.rec_at || e->v[1] != S.rec_runs)
		violation("step", "the end of a record at position %" PRIu64
			  " that is not being written", e->v[0]);
	if (S.rec_seen != S.rec_runs)
		violation("event", "a record of %" PRIu64 " runs ended after %" PRIu64,
			  S.rec_runs, S.rec_seen);
	S.in_record = false;
	S.did_record = true;
	if (e->v[2]) {
		/* Failed: maybe on disk, but nothing may be promised from it. */
		S.commit_failed = true;
		S.nruns = S.rec_run0;
		return;
	}
	/* Both copies written with FUA, completed: durable now. */
	for (i = S.rec_run0; i < S.nruns; i++)
		for (r = S.runs[i].first; r < S.runs[i].first + S.runs[i].count; r++)
			S.rec_pos[r] = S.rec_at + 1;
	S.recs = grow(S.recs, &S.arecs, S.nrecs, sizeof(*S.recs), 256);
	S.recs[S.nrecs++] = (struct record){ .pos = S.rec_at,
		.run0 = S.rec_run0, .nruns = S.nruns - S.rec_run0 };
	S.next_pos = S.rec_at + 1;
	S.records++;
}

/*
 * A superblock copy naming checkpoint @ck stops load replaying the records
 * before it: each of their regions must be in both bitmap copies (the
 * copies are what is left of them, and either may be lost to a media
 * error). The bitmap cannot change between the write and its event (both
 * under the commit lock), so checking at the event is checking at the write.
 */
static void check_checkpoint(uint64_t ck)
{
	uint64_t lo = S.ckpt[0] < S.ckpt[1] ? S.ckpt[0] : S.ckpt[1], r;
	const struct record *rec;
	const struct copy *cp;
	size_t i, j;
	int c;

	/* Records below lo were checked by the superblock that named it. */
	for (i = lo - S.load_pos; i < S.nrecs && S.recs[i].pos < ck; i++) {
		rec = &S.recs[i];
		for (j = rec->run0; j < rec->run0 + rec->nruns; j++)
			for (r = S.runs[j].first; r < S.runs[j].first + S.runs[j].count; r++)
				for (c = 0; c < 2; c++) {
					cp = &block_of(r)->c[c];
					if (!cp->known || cp->snap <= S.set[r])
						violation("(sb)", "superblock names checkpoint %" PRIu64
							  " before record %" PRIu64
							  " is in both bitmap copies: region %" PRIu64
							  " (set at seq %" PRIu64 ") is in no durable copy %c of bitmap block %"
							  PRIu64, ck, rec->pos, r, S.set[r], 'A' + c,
							  r / S.per_block);
				}
	}
}

static void sb_write(const struct ev *e)
{
	unsigned int c = (unsigned int)e->v[0];
	uint64_t ck = e->v[1];

	if (!S.in_commit)
		violation("step", "a superblock written outside a commit");
	to_checkpoint("a superblock write");
	if (S.quick)
		violation("step", "a superblock written in a quick commit");
	if (c > 1)
		violation("event", "superblock copy %u", c);
	if (S.sb_done[c])
		violation("step", "superblock copy %u written twice in one checkpoint", c);
	S.sb_done[c] = true;
	if (ck != S.next_pos)
		violation("(sb)", "superblock copy %u names checkpoint %" PRIu64
			  ", but the position after the last record is %" PRIu64,
			  c, ck, S.next_pos);
	check_checkpoint(ck);
	if (ck > S.ckpt_hi[c])
		S.ckpt_hi[c] = ck;
	if (e->v[2])
		S.commit_failed = true;	/* torn, or either checkpoint */
	else
		S.ckpt[c] = ck;
	S.sb_writes++;
}

static void load(const struct ev *e)
{
	uint64_t k;
	int c;

	if (S.set)
		violation("step", "a second clone_load: one table's life only");
	S.nr_regions = e->v[0];
	S.per_block = e->v[1];
	if (!S.nr_regions || !S.per_block)
		violation("event", "a clone of no regions");
	if (e->v[2])
		die(2, "the clone was loaded with %" PRIu64
		    " regions hydrated: start the recording on empty metadata", e->v[2]);
	S.nr_blocks = (S.nr_regions + S.per_block - 1) / S.per_block;
	S.set = xcalloc(S.nr_regions, sizeof(*S.set));
	S.prom = xcalloc(S.nr_regions, sizeof(*S.prom));
	S.rec_pos = xcalloc(S.nr_regions, sizeof(*S.rec_pos));
	/*
	 * Version 2 on empty metadata: an empty ring, both superblock copies
	 * naming the position load found (or the checkpoint load runs
	 * writes them so).
	 */
	S.ring = e->v[3];
	S.load_pos = S.next_pos = e->v[4];
	for (c = 0; c < 2; c++)
		S.ckpt[c] = S.ckpt_hi[c] = S.load_pos;
	S.blk = xcalloc(S.nr_blocks, sizeof(*S.blk));
	/* Empty metadata: both copies durable, holding no bit. */
	for (k = 0; k < S.nr_blocks; k++)
		for (c = 0; c < 2; c++)
			S.blk[k].c[c].known = true;
}

static void step(const struct ev *e)
{
	struct flush *f;
	uint64_t r;
	size_t i;

	S.ev = e;
	switch (e->type) {
	case E_LOAD:
		load(e);
		break;
	case E_SET:
		if (e->v[0] >= e->v[1] || e->v[1] > S.nr_regions)
			violation("event", "set of regions %" PRIu64 "-%" PRIu64, e->v[0], e->v[1]);
		for (r = e->v[0]; r < e->v[1]; r++)
			if (!S.set[r])
				S.set[r] = e->seq;
		break;
	case E_SNAPSHOT:
		snapshot(e);
		break;
	case E_COMMIT_BEGIN:
		if (S.in_commit)
			violation("step", "a commit began inside another");
		S.in_commit = true;
		S.quick = e->v[0];
		S.commit_failed = false;
		S.did_record = false;
		S.sb_done[0] = S.sb_done[1] = false;
		if (S.quick)
			S.quick_commits++;
		else
			S.full_commits++;
		break;
	case E_COMMIT_END:
		commit_end(e);
		break;
	case E_DEST_FLUSH_BEGIN:
		if (!S.in_commit)
			violation("step", "a destination flush outside a commit");
		S.dest_begin = e->seq;
		break;
	case E_DEST_FLUSH_END:
		if (!S.dest_begin)
			violation("step", "a destination flush ended that did not begin");
		if (!e->v[0] && S.dest_begin > S.dest_upto)
			S.dest_upto = S.dest_begin;
		if (e->v[0])
			S.commit_failed = true;
		S.dest_begin = 0;
		S.dest_flushes++;
		break;
	case E_MD_FLUSH_BEGIN:
		S.md_begin = e->seq;
		break;
	case E_MD_FLUSH_END:
		if (!S.md_begin)
			violation("step", "a metadata flush ended that did not begin");
		if (!e->v[0])
			md_flushed(S.md_begin);
		else if (S.in_commit)
			S.commit_failed = true;
		S.md_begin = 0;
		S.md_flushes++;
		break;
	case E_MD_WRITE_BEGIN:
		md_write_begin(e);
		break;
	case E_MD_WRITE_END:
		md_write_end(e);
		break;
	case E_RECORD_BEGIN:
	case E_RECORD_RUN:
	case E_RECORD_END:
	case E_SB_WRITE:
		if (!S.ring)
			violation("step", "no step for this event: the clone is version 1 (clone_load ring=0)");
		if (e->type == E_RECORD_BEGIN)
			record_begin(e);
		else if (e->type == E_RECORD_RUN)
			record_run(e);
		else if (e->type == E_RECORD_END)
			record_end(e);
		else
			sb_write(e);
		break;
	case E_WRITE_END:
		check_regions(e->v[0], e->v[1]);
		if (e->v[4])
			break;	/* failed: the user was promised nothing */
		if (e->v[3]) {
			if (!e->v[2])
				violation("event", "a write that is not FUA waits for a commit");
			S.waits = grow(S.waits, &S.awaits, S.nwaits, sizeof(*S.waits), 64);
			S.waits[S.nwaits++] = (struct uwrite){ .end = e->seq,
				.region = e->v[0], .nr = e->v[1], .fua = true };
			S.fua_wait++;
			break;
		}
		if (e->v[2])
			S.fua_now++;
		user_ack(e, e->v[0], e->v[1], e->v[2], e->seq);
		break;
	case E_FUA_ACK:
		for (i = 0; i < S.nwaits; i++)
			if (S.waits[i].region == e->v[0] && S.waits[i].nr == e->v[1])
				break;
		if (i == S.nwaits)
			violation("step", "a FUA write acknowledged that did not wait");
		S.waits[i] = S.waits[--S.nwaits];
		if (!e->v[2])
			user_ack(e, e->v[0], e->v[1], true, e->seq);
		break;
	case E_FLUSH_ARRIVE:
		if (find_flush(e->id))
			violation("event", "FLUSH %s arrived twice", e->id);
		for (i = 0; i < sizeof(S.fl) / sizeof(S.fl[0]) && S.fl[i].live; i++)
			;
		if (i == sizeof(S.fl) / sizeof(S.fl[0]))
			die(2, "more than %zu FLUSHes in flight", i);
		S.fl[i] = (struct flush){ .arrive = e->seq, .live = true };
		strcpy(S.fl[i].id, e->id);
		break;
	case E_FLUSH_PASS:
		f = find_flush(e->id);
		if (!f || f->pass)
			violation("step", "FLUSH %s passed down %s", e->id,
				  f ? "twice" : "before it arrived");
		f->pass = e->seq;
		break;
	case E_FLUSH_ACK:
		f = find_flush(e->id);
		if (!f)
			violation("step", "FLUSH %s acknowledged before it arrived", e->id);
		f->live = false;
		if (e->v[0]) {
			S.flush_err++;
			break;
		}
		/* A FLUSH passed down is a flush of the destination. */
		if (f->pass && f->pass > S.dest_upto)
			S.dest_upto = f->pass;
		if (f->pass)
			S.flush_pass++;
		else
			S.flush_commit++;
		ack_flush(f);
		break;
	case E_NTYPES:
		break;
	}
}

int main(int argc, char **argv)
{
	unsigned int want_maj = 0, want_min = 0;
	bool want = false;
	struct ev *evs = NULL;
	size_t n = 0, alloc = 0, i, kept = 0;
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	FILE *f;
	int opt;

	while ((opt = getopt(argc, argv, "d:")) != -1) {
		if (opt == 'd' && sscanf(optarg, "%u:%u", &want_maj, &want_min) == 2)
			want = true;
		else
			die(2, "usage: tracecheck [-d MAJOR:MINOR] TRACE");
	}
	if (optind + 1 != argc)
		die(2, "usage: tracecheck [-d MAJOR:MINOR] TRACE");
	f = fopen(argv[optind], "r");
	if (!f)
		die(2, "cannot read %s", argv[optind]);
	while (getline(&line, &cap, f) != -1) {
		lineno++;
		if (strstr(line, "LOST") && strstr(line, "EVENTS"))
			die(2, "line %ld: the ring buffer lost events: %s", lineno, line);
		evs = grow(evs, &alloc, n, sizeof(*evs), 4096);
		if (parse_line(line, lineno, &evs[n]))
			n++;
	}
	free(line);
	fclose(f);
	if (!n)
		die(2, "no dm_clone events in %s", argv[optind]);
	qsort(evs, n, sizeof(*evs), by_seq);
	for (i = 1; i < n; i++)
		if (evs[i].seq != evs[i - 1].seq + 1)
			die(2, "events %" PRIu64 " to %" PRIu64 " are missing (dropped by the ring buffer?)",
			    evs[i - 1].seq + 1, evs[i].seq - 1);

	/* The clone: the one named, or the one the first clone_load is about. */
	for (i = 0; i < n && !want; i++)
		if (evs[i].type == E_LOAD) {
			want_maj = evs[i].maj;
			want_min = evs[i].min;
			want = true;
		}
	for (i = 0; i < n; i++) {
		if (evs[i].maj != want_maj || evs[i].min != want_min)
			continue;
		if (!S.set && evs[i].type != E_LOAD)
			continue;	/* before the table: formatting */
		step(&evs[i]);
		kept++;
	}
	if (!S.set)
		die(2, "no clone_load of %u:%u: start the recording before the table is loaded",
		    want_maj, want_min);
	S.events = kept;
	printf("events=%lu quick_commits=%lu full_commits=%lu bitmap_writes=%lu "
	       "md_flushes=%lu dest_flushes=%lu flush_commit=%lu flush_pass=%lu "
	       "flush_err=%lu fua_now=%lu fua_wait=%lu writes=%lu promised=%lu",
	       S.events, S.quick_commits, S.full_commits, S.md_writes,
	       S.md_flushes, S.dest_flushes, S.flush_commit, S.flush_pass,
	       S.flush_err, S.fua_now, S.fua_wait, S.writes, S.promised);
	if (S.ring)
		printf(" records=%lu sb_writes=%lu", S.records, S.sb_writes);
	printf("\nallowed\n");
	free(evs);
	free(S.set);
	free(S.prom);
	free(S.rec_pos);
	free(S.recs);
	free(S.runs);
	free(S.blk);
	free(S.w);
	free(S.waits);
	return 0;
}
