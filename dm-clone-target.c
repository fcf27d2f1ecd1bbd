// SPDX-License-Identifier: GPL-2.0
/*
 * dm-clone: a device-mapper target that presents a writable copy of a
 * read-only source device at once, while it copies ("hydrates") the source
 * onto a destination device in the background.
 *
 * Reads of regions not yet hydrated go to the source; everything else goes
 * to the destination. A write to an unhydrated region first copies the
 * region, unless it covers the whole region. Which regions are hydrated is
 * kept by dm-clone-metadata.c; this file never touches a metadata block.
 *
 * Locking:
 * - clone->lock (spinlock, interrupts off: ranges are released from bio
 *   completion) protects the busy tree, the bio lists, ->hydrating and the
 *   stats message's rate samples.
 *   It nests outside the metadata's own lock.
 * - The hydrated-region fast path (clone_map -> remap) takes no lock.
 * - clone->copy_lock (spinlock, interrupts off: chunks end in bio
 *   completion) protects the copier's two queues, ->copies and ->chunks_done,
 *   and the max_hydration_rate budget (charged as copies start).
 *   It nests inside clone->lock (a write that waits for a queued copy moves
 *   it to the front while it holds the busy range), never the other way.
 *   Everything else of the copier (the free chunks, the progress of each
 *   copy) belongs to the copier work item alone.
 * - Everything else runs in work items, each one at a time. The
 *   worker owns the background hydration cursor, discards and deferred
 *   bios; the committer commits, quickly for flushes and FUA completions and
 *   in full once a second, so copies keep starting while a commit waits for
 *   its flushes; the copier moves copies through its buffers; with
 *   discard_source, the discarder discards committed regions on the
 *   source (it may sleep for reads in flight, see there). The copier
 *   has a workqueue of its own: the worker may sleep in mempool_alloc() for
 *   a busy range that only a copy's end gives back, and under memory
 *   pressure each WQ_MEM_RECLAIM workqueue runs its items on one rescuer
 *   thread, one after the other.
 *   Commits are serialised by the metadata.
 *
 * Flags the block layer changes under us: submit_bio_noacct() clears
 * REQ_FUA and REQ_PREFLUSH in the bio itself when the device it goes to has
 * no volatile write cache (and ends an empty flush at once). A FUA write is
 * then durable on such a destination when it completes, but the bit that
 * says its region is to be read from there may not be. So whether a bio
 * is a FUA write or a FLUSH is read once, in clone_map(), and kept in the
 * per-bio data (clone_io->fua, ->flush); nothing reads REQ_FUA or
 * REQ_PREFLUSH from a bio after that.
 *
 * Trace events (dm-clone-trace.h) mark each step of the commit protocol;
 * tests/tools/tracecheck.c checks recorded sequences against the model.
 */

#include <linux/device-mapper.h>
#include <linux/jiffies.h>
#include <linux/math64.h>
#include <linux/mempool.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/rbtree.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "dm-clone-compat.h"
#include "dm-clone-format.h"
#include "dm-clone-metadata.h"

#define CREATE_TRACE_POINTS
#include "dm-clone-trace.h"

#define DM_MSG_PREFIX "clone"

#define MIN_REGION_SIZE			8		/* 4 KiB */
#define MAX_REGION_SIZE			2097152		/* 1 GiB */
#define DEFAULT_HYDRATION_THRESHOLD	1
#define DEFAULT_HYDRATION_BATCH_SIZE	1
#define COMMIT_PERIOD			HZ
#define MIN_RANGES			256		/* mempool reserve */

/*
 * Background hydration backs off while its copies fail (a source that went
 * away, a failing destination): after a failure it starts no copy for
 * RETRY_DELAY_MIN, then one copy at a time, the wait doubling after each
 * that fails, up to RETRY_DELAY_MAX, each one longer by up to half at
 * random. The first copy that works ends it; the retry message, or a
 * resume, retries at once and starts the waits over. Within
 * RETRY_DELAY_MAX of copies that worked again after failing, the wait
 * stops doubling at RETRY_DELAY_FLAP: a source that comes and goes (a
 * flaky link) is tried every few seconds, not left alone for a minute
 * after a run of unlucky tries; one that never came back still is.
 */
#define RETRY_DELAY_MIN			HZ
#define RETRY_DELAY_FLAP		(2 * HZ)
#define RETRY_DELAY_MAX			(60 * HZ)

/* Ranges the prefetch message may queue at once. */
#define MAX_PREFETCH			16

/*
 * Background copies are at least MIN_COPY_SECTORS long where contiguous
 * unhydrated regions allow, and MIN_INFLIGHT_SECTORS may be in flight,
 * whatever the (compatible, per-region) threshold and batch size say: the
 * defaults of one region each would otherwise copy 4 KiB at a time. In
 * flight includes copies queued in the copier: four times its buffers, so
 * that it always has the next chunk to start when one ends.
 */
#define MIN_COPY_SECTORS		2048		/* 1 MiB */
#define MIN_INFLIGHT_SECTORS		65536		/* 32 MiB */

/*
 * Background copies yield to foreground I/O. Once a bio came in within the
 * last FOREGROUND_WINDOW, the MIN_INFLIGHT_SECTORS floor is off, so the
 * threshold holds as set (one copy in flight at the defaults), and a copy
 * starts at most once every FOREGROUND_PACE: 50 MiB/s at the default batch
 * size (1 MiB copies), more for a larger hydration_batch_size. A worker that
 * waits for its turn is woken by the first bio of a tick (CLONE_PACED).
 * Once the bios stop, a copy that ends or the once-a-second waker finds
 * the clone idle, and the floor holds again.
 */
#define FOREGROUND_WINDOW		HZ
#define FOREGROUND_PACE			(HZ / 50 ?: 1)

/*
 * The copier's buffers: up to COPY_CHUNKS chunks of COPY_CHUNK_SECTORS. A
 * clone that is not hydrated gets one when loaded, so that copies always
 * make progress; the copier adds more while copies wait for one and memory
 * gives them, and frees them all once the clone is hydrated. Allocating all
 * eight at load took 30 to 70 ms of a 1 GiB clone's table load (zeroing
 * 8 MiB under emulation), and an idle clone held them for nothing.
 * dm-kcopyd allocates fresh pages for every copy, and with init_on_alloc
 * (on in Debian's kernels) every one of them is zeroed first, which cost
 * more than the copy itself: hydration ran 2.5 times faster without it.
 * Large chunks keep the number of bios low: under emulation 1 MiB chunks
 * hydrated twice as fast as 128 KiB ones, and eight of them kept the disks
 * busy enough to match a raw copy where four reached 0.6 of it.
 */
#define COPY_CHUNK_SECTORS		2048		/* 1 MiB */
#define COPY_CHUNK_PAGES		(COPY_CHUNK_SECTORS >> (PAGE_SHIFT - SECTOR_SHIFT))
#define COPY_CHUNKS			8		/* 8 MiB in all */

/*
 * The stats message's hydration rate: the bytes copied over the last
 * RATE_SAMPLES - 1 seconds, from samples the waker takes once a second.
 */
#define RATE_SAMPLES			11

/*
 * max_hydration_rate: copies start while the budget (in sectors, refilled
 * at the rate) is positive, and take it below zero by their size; it holds
 * a quarter of a second's worth at most, and a copy is a tenth of a
 * second's worth at most (one region at least), so that over any 5 s the
 * rate holds within 10 %. Copies a write waits for count too, but never
 * wait.
 */
#define RATE_BURST_DIV			4
#define RATE_COPY_DIV			10

enum clone_flag {
	CLONE_HYDRATION_ENABLED,
	CLONE_DISCARD_PASSDOWN,
	CLONE_SUSPENDED,	/* no new background copies */
	CLONE_HYDRATED_REPORTED,
	CLONE_PACED,		/* the worker waits for a tick to copy */
	CLONE_SOURCE_FAILING,	/* the last source read of a copy failed */
	CLONE_DEST_FAILING,	/* the last destination write of a copy failed */
	CLONE_RETRY,		/* the retry message: retry failed copies now */
	CLONE_HYDRATE_ON_READ,	/* feature: a read queues its regions' copy */
	CLONE_DISCARD_SOURCE,	/* feature: discard hydrated regions on the source */
	CLONE_SOURCE_DISCARD_FAILED,	/* a discard of the source failed: no more */
	CLONE_DETECT_ZEROES,	/* feature: zero chunks go as WRITE_ZEROES */
	CLONE_NO_WRITE_ZEROES,	/* the destination refused one: data writes only */
};

struct clone {
	struct dm_target *ti;
	struct dm_dev *metadata_dev;
	struct dm_dev *dest_dev;
	struct dm_dev *source_dev;
	/* Where the source ends: past it, the clone reads as zeroes. */
	sector_t source_end;
	struct clone_metadata *cmd;

	sector_t region_size;
	unsigned int region_shift;
	unsigned long nr_regions;
	unsigned long flags;
	unsigned int hydration_threshold;	/* READ_ONCE/WRITE_ONCE */
	unsigned int hydration_batch_size;	/* READ_ONCE/WRITE_ONCE */
	unsigned int max_hydration_rate;	/* KiB/s, 0: none; READ/WRITE_ONCE */

	/* Protected by ->lock. */
	spinlock_t lock;
	struct rb_root busy;		/* region ranges with I/O in flight */
	struct bio_list deferred;	/* bios to map again */
	struct bio_list discards;
	struct bio_list flushes;	/* flushes that need a commit first */
	struct bio_list fua_ends;	/* completions that need a commit */
	unsigned long hydrating;	/* regions being copied */
	/*
	 * Discards that wait for a copy, and the regions they cover (a union,
	 * [discard_lo, discard_hi)): no background copy starts there while any
	 * waits, and queued ones that have not started are dropped. Read
	 * without the lock only by the copier, where a stale value costs a
	 * copy at worst.
	 */
	unsigned long discards_held;
	unsigned long discard_lo;
	unsigned long discard_hi;
	/*
	 * The prefetch message's region ranges, [lo, hi), oldest first: the
	 * message adds at the end, the worker moves the first one's lo on and
	 * takes it off once passed.
	 */
	struct {
		unsigned long lo;
		unsigned long hi;
	} prefetch[MAX_PREFETCH];
	unsigned int nr_prefetch;

	/* Worker only. */
	unsigned long cursor;		/* next region background hydration tries */
	unsigned long next_pass;	/* jiffies: no background copy before */
	unsigned long retry_delay;	/* jiffies; 0: copies work */
	unsigned long back_at;		/* jiffies: copies worked again after failing */
	u64 copied_seen;		/* ->copied when last looked at */
	unsigned long next_copy;	/* jiffies: under foreground I/O, copy after */
	unsigned long refilled;		/* jiffies: the rate budget's last refill */
	enum clone_md_mode reported_mode;

	unsigned long last_commit;	/* jiffies, last full commit; READ/WRITE_ONCE */
	unsigned long last_bio;		/* jiffies, last bio mapped; READ/WRITE_ONCE */

	struct workqueue_struct *wq;		/* worker, committer, timers */
	struct workqueue_struct *copy_wq;	/* the copier */
	struct work_struct worker;
	struct work_struct committer;
	struct work_struct copier;
	struct delayed_work waker;
	struct delayed_work pacer;	/* wakes the worker: budget, backoff */
	mempool_t range_pool;

	/*
	 * The copier: queues under ->copy_lock, free chunks its own; ->budget
	 * under ->copy_lock too.
	 */
	spinlock_t copy_lock;
	struct list_head copies;	/* copies with chunks still to start */
	struct list_head chunks_done;	/* chunks whose bio ended */
	struct list_head free_chunks;
	unsigned int nr_chunks;		/* allocated, free or not */
	s64 budget;			/* max_hydration_rate: sectors to copy */
	wait_queue_head_t copies_done;
	atomic_t copy_errors;		/* failed background copies, not yet seen */

	/*
	 * Statistics for the stats message: counters, and the samples of
	 * ->copied the waker takes (under ->lock) to tell the rate.
	 */
	atomic64_t copied;		/* sectors copied to the destination */
	atomic64_t source_errors;	/* failed source reads of copies */
	atomic64_t dest_errors;		/* failed destination writes of copies */
	atomic64_t metadata_errors;	/* failed commits */
	atomic64_t source_discarded;	/* sectors discarded on the source */
	u64 rate_sectors[RATE_SAMPLES];
	unsigned long rate_jiffies[RATE_SAMPLES];
	unsigned int rate_count;	/* samples taken, up to RATE_SAMPLES */
	unsigned int rate_next;		/* where the next one goes */

	/*
	 * discard_source (see the discarder): the regions discarded on the
	 * source, and the next ones to, the discarder's own; the epoch of
	 * source reads and the reads in flight of each.
	 */
	unsigned long *src_done;
	unsigned long *src_todo;
	unsigned int read_epoch;	/* READ_ONCE/WRITE_ONCE */
	atomic_t source_reads[2];
	wait_queue_head_t reads_done;
	struct work_struct discarder;

	unsigned int nr_ctr_args;
	char **ctr_args;
};

/*
 * A range of regions with I/O in flight that must not be mixed with other
 * I/O to those regions: a copy from the source, a write of a whole region
 * straight to the destination, or a discard being recorded. Bios that touch
 * a busy range wait on it and are mapped again once it is released.
 */
struct busy_range {
	struct rb_node node;
	struct clone *clone;
	unsigned long start;
	unsigned long end;		/* exclusive */
	bool copy;			/* counted in clone->hydrating */
	bool urgent;			/* a copy a read asked for (hydrate_on_read) */
	struct bio *bio;		/* the write that asked for this copy */
	struct bio_list waiters;

	/* A copy, in the copier (see there). */
	struct list_head copy_list;	/* in clone->copies */
	sector_t next;			/* where its next chunk starts */
	sector_t stop;			/* where it ends */
	unsigned int chunks;		/* chunks in flight */
	bool dropping;			/* off the queue, to be released */
	bool read_err;
	bool write_err;
};

/*
 * A buffer of the copier and the bio that fills and empties it: a piece of
 * a copy is read from the source into it, then written to the destination
 * (with detect_zeroes, a piece that read all zeroes is written as a
 * WRITE_ZEROES that carries no data). Its pages come in as few allocations
 * as memory allows.
 */
struct copy_chunk {
	struct list_head list;		/* free, or done */
	struct clone *clone;
	struct busy_range *copy;	/* the copy it moves a piece of */
	sector_t sector;
	unsigned int sectors;
	unsigned int nr_segs;
	struct page *segs[COPY_CHUNK_PAGES];
	u8 orders[COPY_CHUNK_PAGES];
	struct bio bio;
	struct bio_vec bvecs[COPY_CHUNK_PAGES];
};

/* Per-bio data. */
struct clone_io {
	struct busy_range *range;	/* whole-region write holding a range */
	unsigned long region;		/* the regions a write went to */
	unsigned long nr;
	bool fua;			/* a FUA write (REQ_FUA as mapped) */
	bool flush;			/* a FLUSH (REQ_PREFLUSH as mapped) */
	bool held;			/* a discard counted in ->discards_held */
	bool committed;			/* a FUA write already waited for a commit */
	bool source_read;		/* discard_source: counted in its epoch */
	u8 epoch;
};

static struct kmem_cache *range_cache;

atomic64_t clone_trace_seq = ATOMIC64_INIT(0);

static const char *clone_name(struct clone *clone)
{
	return dm_table_device_name(clone->ti->table);
}

/* Which clone a trace event is about: its metadata device. */
static dev_t trace_dev(struct clone *clone)
{
	return clone->metadata_dev->bdev->bd_dev;
}

static void wake_worker(struct clone *clone)
{
	queue_work(clone->wq, &clone->worker);
}

static void wake_committer(struct clone *clone)
{
	queue_work(clone->wq, &clone->committer);
}

/* ---- Regions and remapping ---- */

static sector_t region_to_sector(struct clone *clone, unsigned long region)
{
	return (sector_t)region << clone->region_shift;
}

/* Sector just past @end regions, clamped to the target's length. */
static sector_t regions_end_sector(struct clone *clone, unsigned long end)
{
	return min(region_to_sector(clone, end), clone->ti->len);
}

/* The regions [*first, *end) the data of @bio touches. */
static void bio_regions(struct clone *clone, struct bio *bio,
			unsigned long *first, unsigned long *end)
{
	sector_t start = dm_target_offset(clone->ti, bio->bi_iter.bi_sector);

	*first = start >> clone->region_shift;
	*end = max(*first + 1, (unsigned long)((start + bio_sectors(bio) +
				clone->region_size - 1) >> clone->region_shift));
}

/*
 * Keep the part of @bio before region @end and have dm send the rest as
 * another bio. Only from clone_map(): dm_accept_partial_bio() works there
 * alone. Bios are not split at region boundaries before they get here, so
 * that I/O over runs of regions in the same state goes down whole.
 */
static void trim_bio(struct clone *clone, struct bio *bio, unsigned long end)
{
	sector_t start = dm_target_offset(clone->ti, bio->bi_iter.bi_sector);
	sector_t stop = region_to_sector(clone, end);

	if (start + bio_sectors(bio) > stop)
		dm_accept_partial_bio(bio, stop - start);
}

static void remap(struct clone *clone, struct bio *bio, struct dm_dev *dev)
{
	bio_set_dev(bio, dev->bdev);
	if (bio_sectors(bio) || bio_op(bio) == REQ_OP_DISCARD)
		bio->bi_iter.bi_sector =
			dm_target_offset(clone->ti, bio->bi_iter.bi_sector);
}

/* Does this write cover all of @region, so nothing needs copying? */
static bool is_whole_region(struct clone *clone, struct bio *bio,
			    unsigned long region)
{
	sector_t start = region_to_sector(clone, region);

	return dm_target_offset(clone->ti, bio->bi_iter.bi_sector) == start &&
	       bio_sectors(bio) == regions_end_sector(clone, region + 1) - start;
}

/* ---- Busy ranges. All with clone->lock held. ---- */

/* The busy range overlapping [start, end), if any. */
static struct busy_range *busy_find(struct clone *clone, unsigned long start,
				    unsigned long end)
{
	struct rb_node *n = clone->busy.rb_node;
	struct busy_range *br;

	while (n) {
		br = rb_entry(n, struct busy_range, node);
		if (end <= br->start)
			n = n->rb_left;
		else if (start >= br->end)
			n = n->rb_right;
		else
			return br;
	}
	return NULL;
}

/* Where the first busy range at or after @from starts (ULONG_MAX: none). */
static unsigned long busy_next_start(struct clone *clone, unsigned long from)
{
	struct rb_node *n = clone->busy.rb_node;
	unsigned long next = ULONG_MAX;
	struct busy_range *br;

	while (n) {
		br = rb_entry(n, struct busy_range, node);
		if (br->start >= from) {
			next = br->start;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	return next;
}

static void busy_insert(struct clone *clone, struct busy_range *br)
{
	struct rb_node **p = &clone->busy.rb_node, *parent = NULL;

	while (*p) {
		parent = *p;
		if (br->start < rb_entry(parent, struct busy_range, node)->start)
			p = &parent->rb_left;
		else
			p = &parent->rb_right;
	}
	rb_link_node(&br->node, parent, p);
	rb_insert_color(&br->node, &clone->busy);
}

static void init_range(struct busy_range *br, struct clone *clone,
		       unsigned long start, unsigned long end, bool copy,
		       struct bio *bio)
{
	br->clone = clone;
	br->start = start;
	br->end = end;
	br->copy = copy;
	br->bio = bio;
	br->urgent = false;
	bio_list_init(&br->waiters);
	INIT_LIST_HEAD(&br->copy_list);
	br->dropping = false;
}

/*
 * A discard waits for a copy over [start, end): until it ends, no
 * background copy starts there (see ->discards_held). With clone->lock held.
 */
static void hold_discard(struct clone *clone, struct clone_io *io,
			 unsigned long start, unsigned long end)
{
	if (io->held)
		return;
	io->held = true;
	if (clone->discards_held) {
		start = min(clone->discard_lo, start);
		end = max(clone->discard_hi, end);
	}
	WRITE_ONCE(clone->discard_lo, start);
	WRITE_ONCE(clone->discard_hi, end);
	WRITE_ONCE(clone->discards_held, clone->discards_held + 1);
}

/* A discard that waited ended. From bio completion. */
static void unhold_discard(struct clone *clone, struct clone_io *io)
{
	unsigned long flags;

	if (!io->held)
		return;
	io->held = false;
	spin_lock_irqsave(&clone->lock, flags);
	WRITE_ONCE(clone->discards_held, clone->discards_held - 1);
	spin_unlock_irqrestore(&clone->lock, flags);
}

/* Does a waiting discard cover part of [start, end)? Racy outside ->lock. */
static bool discard_held(struct clone *clone, unsigned long start,
			 unsigned long end)
{
	return READ_ONCE(clone->discards_held) &&
	       start < READ_ONCE(clone->discard_hi) &&
	       end > READ_ONCE(clone->discard_lo);
}

/* The I/O of @br is over: let the bios that waited on it be mapped again. */
static void release_range(struct clone *clone, struct busy_range *br)
{
	bool wake = br->copy;
	unsigned long flags;

	spin_lock_irqsave(&clone->lock, flags);
	rb_erase(&br->node, &clone->busy);
	if (!bio_list_empty(&br->waiters)) {
		bio_list_merge(&clone->deferred, &br->waiters);
		wake = true;
	}
	if (br->copy)
		clone->hydrating -= br->end - br->start;
	spin_unlock_irqrestore(&clone->lock, flags);

	if (br->copy)
		wake_up(&clone->copies_done);
	mempool_free(br, &clone->range_pool);
	/*
	 * The worker has something to do after a copy (start the next one), for
	 * the bios that waited, and when the last region is hydrated (report
	 * it); a whole-region write with none of these must not cost a switch
	 * to the worker.
	 */
	if (wake || clone_md_nr_hydrated(clone->cmd) == clone->nr_regions)
		wake_worker(clone);
}

/* ---- Metadata failures and commits ---- */

static const char *mode_name(enum clone_md_mode mode)
{
	switch (mode) {
	case CLONE_MD_RW:
		return "read-write";
	case CLONE_MD_RO:
		return "read-only";
	default:
		return "fail";
	}
}

/*
 * A metadata write failed: stop changing metadata (read-only mode). The
 * in-core state stays right, so I/O that needs no change goes on. Only if
 * the device no longer holds our metadata at all (someone wrote over it)
 * is nothing trusted any more (fail mode).
 */
static void metadata_failed(struct clone *clone, int r)
{
	enum clone_md_mode mode = CLONE_MD_RO;

	atomic64_inc(&clone->metadata_errors);
	if (clone_md_check_superblock(clone->cmd) == -EILSEQ)
		mode = CLONE_MD_FAIL;
	DMERR("%s: metadata commit failed (error %d): switching to %s mode; %s",
	      clone_name(clone), r, mode_name(mode),
	      mode == CLONE_MD_FAIL ?
	      "the metadata device no longer holds this clone's superblock (see clone_check)" :
	      "reload the table once the metadata device works again");
	clone_md_set_mode(clone->cmd, mode);
}

/* Tell user space (dmsetup wait) when the metadata mode changed. Process context. */
static void report_mode(struct clone *clone)
{
	enum clone_md_mode mode = clone_md_mode(clone->cmd);

	if (mode == clone->reported_mode)
		return;
	clone->reported_mode = mode;
	DMINFO("%s: metadata is now in %s mode", clone_name(clone),
	       mode_name(mode));
	dm_table_event(clone->ti->table);
}

/*
 * A quick commit serves waiting FLUSH and FUA bios; the full ones come once
 * a second, counted from the last full one, so that the second copy of the
 * metadata never lags for long under a steady stream of flushes.
 */
static int commit(struct clone *clone, bool quick, bool *dest_flushed)
{
	int r = clone_md_commit(clone->cmd, clone->dest_dev->bdev, quick,
				dest_flushed);

	if (r && r != -EROFS)
		metadata_failed(clone, r);
	if (!quick)
		WRITE_ONCE(clone->last_commit, jiffies);
	if (!r && test_bit(CLONE_DISCARD_SOURCE, &clone->flags))
		queue_work(clone->wq, &clone->discarder);
	return r;
}

/* Is the once-a-second commit due? */
static bool commit_due(struct clone *clone)
{
	return time_after_eq(jiffies,
			     READ_ONCE(clone->last_commit) + COMMIT_PERIOD) &&
	       clone_md_changed(clone->cmd) &&
	       clone_md_mode(clone->cmd) == CLONE_MD_RW;
}

/* ---- Copies (hydration) ---- */

/*
 * A write waits for background copy @br: let it go before the other queued
 * copies, as a copy the write started would. With clone->lock held.
 */
static void promote_copy(struct clone *clone, struct busy_range *br)
{
	spin_lock(&clone->copy_lock);
	if (!list_empty(&br->copy_list) && !br->dropping)
		list_move(&br->copy_list, &clone->copies);
	spin_unlock(&clone->copy_lock);
}

/* A copy ended (in the copier). */
static void copy_done(bool read_err, bool write_err, struct busy_range *br)
{
	struct clone *clone = br->clone;
	struct bio *bio = br->bio;
	unsigned long region = br->start;
	bool ok = !read_err && !write_err;

	if (ok)
		clone_md_set_hydrated(clone->cmd, br->start, br->end - br->start);
	else if (bio)
		/* The write fails: say why (background copies say it once). */
		DMERR_LIMIT("%s: hydration of regions %lu-%lu failed: %s error",
			    clone_name(clone), br->start, br->end - 1,
			    read_err ? "source read" : "destination write");
	else
		atomic_inc(&clone->copy_errors);
	release_range(clone, br);

	if (!bio)
		return;
	if (!ok) {
		bio_io_error(bio);
		return;
	}
	/* The write that asked for the copy now lands on hydrated data. */
	clone_md_note_write(clone->cmd, region, 1);
	remap(clone, bio, clone->dest_dev);
	submit_bio_noacct(bio);
}

/*
 * The copier. A copy is cut into chunks of up to COPY_CHUNK_SECTORS; each
 * chunk takes a free buffer, is read from the source, then written to the
 * destination from the same buffer. All chunks of a copy may be in flight
 * at once, and copies start in order, except that a copy a write waits for
 * goes before background ones. A copy ends once its last chunk is written,
 * or once a chunk failed and the others in flight have ended.
 */
static void queue_copier(struct clone *clone)
{
	queue_work(clone->copy_wq, &clone->copier);
}

/* May background copies start, or queued ones go on? */
static bool hydration_allowed(struct clone *clone)
{
	return test_bit(CLONE_HYDRATION_ENABLED, &clone->flags) &&
	       !test_bit(CLONE_SUSPENDED, &clone->flags) &&
	       READ_ONCE(clone->hydration_threshold) &&
	       clone_md_mode(clone->cmd) == CLONE_MD_RW;
}

/*
 * A chunk's bio ended. The copier is queued before the lock is dropped:
 * once the chunk is on the list, the copier may end its copy, a suspend
 * that waited for that copy may go on, and the clone may be freed (dm
 * waits for its own bios, never for these): nothing here may touch the
 * clone after the unlock.
 */
static void chunk_endio(struct bio *bio)
{
	struct copy_chunk *c = container_of(bio, struct copy_chunk, bio);
	struct clone *clone = c->clone;
	unsigned long flags;

	spin_lock_irqsave(&clone->copy_lock, flags);
	list_add_tail(&c->list, &clone->chunks_done);
	queue_copier(clone);
	spin_unlock_irqrestore(&clone->copy_lock, flags);
}

static void submit_chunk(struct clone *clone, struct copy_chunk *c,
			 enum req_op op)
{
	unsigned int left = to_bytes(c->sectors), len, i;

	/* What lies past the source's end is in the buffer already: zeroes. */
	if (op == REQ_OP_READ)
		left = to_bytes(min_t(sector_t, c->sectors,
				      clone->source_end - c->sector));

	bio_reset(&c->bio, op == REQ_OP_READ ? clone->source_dev->bdev :
		  clone->dest_dev->bdev, op);
	c->bio.bi_iter.bi_sector = c->sector;
	c->bio.bi_end_io = chunk_endio;
	if (op == REQ_OP_WRITE_ZEROES) {
		/* No pages: the buffer keeps the data for a fallback. */
		c->bio.bi_iter.bi_size = left;
		submit_bio_noacct(&c->bio);
		return;
	}
	for (i = 0; left; i++) {
		len = min_t(unsigned int, left, PAGE_SIZE << c->orders[i]);
		__bio_add_page(&c->bio, c->segs[i], len, 0);
		left -= len;
	}
	submit_bio_noacct(&c->bio);
}

static void start_copy(struct clone *clone, struct busy_range *br)
{
	br->next = region_to_sector(clone, br->start);
	br->stop = regions_end_sector(clone, br->end);
	br->chunks = 0;
	br->read_err = false;
	br->write_err = false;

	spin_lock_irq(&clone->copy_lock);
	if (br->bio || br->urgent)
		list_add(&br->copy_list, &clone->copies);
	else
		list_add_tail(&br->copy_list, &clone->copies);
	if (READ_ONCE(clone->max_hydration_rate))
		clone->budget -= br->stop - br->next;
	spin_unlock_irq(&clone->copy_lock);
	queue_copier(clone);
}

static void free_chunk(struct copy_chunk *c)
{
	unsigned int i;

	for (i = 0; i < c->nr_segs; i++)
		__free_pages(c->segs[i], c->orders[i]);
	bio_uninit(&c->bio);
	kfree(c);
}

/* Free the chunks no copy is using. Copier context, or no copier. */
static void free_chunks(struct clone *clone)
{
	struct copy_chunk *c, *tmp;

	list_for_each_entry_safe(c, tmp, &clone->free_chunks, list) {
		list_del(&c->list);
		free_chunk(c);
		clone->nr_chunks--;
	}
}

/*
 * Add a chunk to the copier's buffers, its pages in allocations as large as
 * memory gives. Copier context, or the constructor.
 */
static int add_chunk(struct clone *clone, gfp_t gfp)
{
	unsigned int pages, order = ilog2(COPY_CHUNK_PAGES);
	struct copy_chunk *c;
	struct page *page;

	c = kzalloc(sizeof(*c), gfp);
	if (!c)
		return -ENOMEM;
	c->clone = clone;
	bio_init(&c->bio, NULL, c->bvecs, COPY_CHUNK_PAGES, 0);
	for (pages = 0; pages < COPY_CHUNK_PAGES; pages += 1U << order) {
		order = min_t(unsigned int, order,
			      ilog2(COPY_CHUNK_PAGES - pages));
		for (;;) {
			page = alloc_pages(order ? gfp | __GFP_NORETRY |
					   __GFP_NOWARN : gfp, order);
			if (page || !order)
				break;
			order--;
		}
		if (!page) {
			free_chunk(c);
			return -ENOMEM;
		}
		c->segs[c->nr_segs] = page;
		c->orders[c->nr_segs++] = order;
	}
	list_add(&c->list, &clone->free_chunks);
	clone->nr_chunks++;
	return 0;
}

/* Zero the chunk's buffer from byte @from on. */
static void zero_chunk(struct copy_chunk *c, unsigned int from)
{
	unsigned int left = to_bytes(c->sectors), len, i;

	for (i = 0; left; i++) {
		len = min_t(unsigned int, left, PAGE_SIZE << c->orders[i]);
		if (from < len)
			memset(page_address(c->segs[i]) + from, 0, len - from);
		from = from > len ? from - len : 0;
		left -= len;
	}
}

/* Can zeroes go to the destination as a WRITE_ZEROES, without data? */
static bool dest_write_zeroes(struct clone *clone)
{
	return !test_bit(CLONE_NO_WRITE_ZEROES, &clone->flags) &&
	       bdev_write_zeroes_sectors(clone->dest_dev->bdev);
}

/*
 * Start a chunk: a read from the source, of what lies before the source's
 * end; past it the buffer holds zeroes, and a chunk that lies past it
 * whole goes to the destination at once (a WRITE_ZEROES if it can).
 */
static void read_chunk(struct clone *clone, struct copy_chunk *c)
{
	sector_t end = clone->source_end;

	if (c->sector + c->sectors <= end) {
		submit_chunk(clone, c, REQ_OP_READ);
		return;
	}
	if (c->sector < end) {
		zero_chunk(c, to_bytes(end - c->sector));
		submit_chunk(clone, c, REQ_OP_READ);
	} else if (dest_write_zeroes(clone)) {
		/* no data: chunk_done() zeroes it if the fallback needs it */
		submit_chunk(clone, c, REQ_OP_WRITE_ZEROES);
	} else {
		zero_chunk(c, 0);
		submit_chunk(clone, c, REQ_OP_WRITE);
	}
}

/*
 * Give free buffers to the chunks of queued copies. Copier only. While
 * background hydration is paused (disabled, suspended, threshold 0, metadata
 * not writable), a background copy not started yet is dropped, so that
 * pausing takes effect at once and a suspend waits for little: its regions
 * stay unhydrated and are copied when hydration goes on.
 */
static void start_chunks(struct clone *clone)
{
	struct copy_chunk *c;
	struct busy_range *br;
	bool drop;

	for (;;) {
		spin_lock_irq(&clone->copy_lock);
		br = list_first_entry_or_null(&clone->copies, struct busy_range,
					      copy_list);
		if (br && list_empty(&clone->free_chunks)) {
			spin_unlock_irq(&clone->copy_lock);
			/* Every buffer is busy: add one if memory allows. */
			if (clone->nr_chunks >= COPY_CHUNKS ||
			    add_chunk(clone, GFP_NOIO | __GFP_NORETRY |
				      __GFP_NOWARN))
				return;
			continue;
		}
		drop = br && !br->bio && !br->urgent &&
		       br->next == region_to_sector(clone, br->start) &&
		       !hydration_allowed(clone);
		if (br && (drop || br->stop - br->next <= COPY_CHUNK_SECTORS))
			list_del_init(&br->copy_list);	/* dropped, or its last chunk */
		spin_unlock_irq(&clone->copy_lock);
		if (!br)
			return;
		if (drop) {
			release_range(clone, br);
			continue;
		}

		c = list_first_entry(&clone->free_chunks, struct copy_chunk, list);
		list_del(&c->list);
		c->copy = br;
		c->sector = br->next;
		c->sectors = min_t(sector_t, COPY_CHUNK_SECTORS, br->stop - br->next);
		br->next += c->sectors;
		br->chunks++;
		read_chunk(clone, c);
	}
}

/*
 * Drop the queued background copies that have not started and lie where a
 * discard waits: the discard marks those regions hydrated with no copy, so
 * it waits only for the copies already moving data. Copier only.
 */
static void drop_discarded_copies(struct clone *clone)
{
	struct busy_range *br, *tmp;
	LIST_HEAD(dropped);

	if (!READ_ONCE(clone->discards_held))
		return;
	spin_lock_irq(&clone->copy_lock);
	list_for_each_entry_safe(br, tmp, &clone->copies, copy_list) {
		if (br->bio || br->next != region_to_sector(clone, br->start) ||
		    !discard_held(clone, br->start, br->end))
			continue;
		/* Not to be moved back by promote_copy(). */
		br->dropping = true;
		list_move_tail(&br->copy_list, &dropped);
	}
	spin_unlock_irq(&clone->copy_lock);
	list_for_each_entry_safe(br, tmp, &dropped, copy_list) {
		list_del_init(&br->copy_list);
		release_range(clone, br);
	}
}

/*
 * A source read (@read) or destination write of a copy failed (@failing)
 * or worked: on a change, one kernel line and a dm event (dmsetup wait
 * returns), not one per error. Copier context.
 */
static void io_state(struct clone *clone, bool read, bool failing)
{
	int bit = read ? CLONE_SOURCE_FAILING : CLONE_DEST_FAILING;
	const char *what = read ? "source reads" : "destination writes";

	if (failing == test_bit(bit, &clone->flags))
		return;
	if (failing) {
		set_bit(bit, &clone->flags);
		DMERR("%s: %s fail: hydration retries in %u s, waiting twice as long after each failure up to %u s (%u s if copies worked again in the last %u s), or at the retry message%s",
		      clone_name(clone), what, RETRY_DELAY_MIN / HZ,
		      RETRY_DELAY_MAX / HZ, RETRY_DELAY_FLAP / HZ,
		      RETRY_DELAY_MAX / HZ,
		      read ? "; reads of regions not hydrated fail" : "");
	} else {
		clear_bit(bit, &clone->flags);
		DMINFO("%s: %s work again", clone_name(clone), what);
	}
	dm_table_event(clone->ti->table);
}

/*
 * Did the chunk read all zeroes? Its pages have no highmem (add_chunk()
 * asks for none), so page_address() reaches each allocation whole.
 */
static bool chunk_is_zero(struct copy_chunk *c)
{
	unsigned int left = to_bytes(c->sectors), len, i;

	for (i = 0; left; i++) {
		len = min_t(unsigned int, left, PAGE_SIZE << c->orders[i]);
		if (memchr_inv(page_address(c->segs[i]), 0, len))
			return false;
		left -= len;
	}
	return true;
}

/*
 * How to write a chunk that was read: detect_zeroes writes one that read
 * all zeroes as a WRITE_ZEROES without REQ_NOUNMAP, so that a thin or
 * sparse destination may leave it unallocated, if the destination takes
 * WRITE_ZEROES; everything else as data. Either way the chunk's copy ends,
 * and its regions are marked, only once the write completed.
 */
static enum req_op chunk_write_op(struct clone *clone, struct copy_chunk *c)
{
	if (test_bit(CLONE_DETECT_ZEROES, &clone->flags) &&
	    dest_write_zeroes(clone) && chunk_is_zero(c))
		return REQ_OP_WRITE_ZEROES;
	return REQ_OP_WRITE;
}

/* A chunk's bio ended: write what was read, or retire the chunk. */
static void chunk_done(struct clone *clone, struct copy_chunk *c)
{
	struct busy_range *br = c->copy;
	bool read = bio_op(&c->bio) == REQ_OP_READ;
	bool failed = c->bio.bi_status != BLK_STS_OK;

	/*
	 * The destination does not take WRITE_ZEROES after all (its limits
	 * changed, or it only said so): write the data, which the buffer
	 * still holds, and send no more of them.
	 */
	if (bio_op(&c->bio) == REQ_OP_WRITE_ZEROES &&
	    c->bio.bi_status == BLK_STS_NOTSUPP) {
		if (!test_and_set_bit(CLONE_NO_WRITE_ZEROES, &clone->flags))
			DMINFO("%s: the destination does not support WRITE_ZEROES: zeroes are written as data",
			       clone_name(clone));
		/* past the source's end nothing was read into the buffer */
		if (c->sector >= clone->source_end)
			zero_chunk(c, 0);
		submit_chunk(clone, c, REQ_OP_WRITE);
		return;
	}
	io_state(clone, read, failed);
	if (read && !failed && !br->read_err && !br->write_err) {
		submit_chunk(clone, c, chunk_write_op(clone, c));
		return;
	}
	if (failed)
		atomic64_inc(read ? &clone->source_errors : &clone->dest_errors);
	else if (!read)
		atomic64_add(c->sectors, &clone->copied);
	list_add(&c->list, &clone->free_chunks);
	if (failed && !br->read_err && !br->write_err) {
		/* Start no more of it: off the queue if still there. */
		if (br->next < br->stop) {
			spin_lock_irq(&clone->copy_lock);
			list_del_init(&br->copy_list);
			spin_unlock_irq(&clone->copy_lock);
			br->next = br->stop;
		}
		if (read)
			br->read_err = true;
		else
			br->write_err = true;
	}
	if (--br->chunks || br->next < br->stop)
		return;
	copy_done(br->read_err, br->write_err, br);
}

static void do_copier(struct work_struct *ws)
{
	struct clone *clone = container_of(ws, struct clone, copier);
	struct copy_chunk *c, *tmp;
	LIST_HEAD(done);

	spin_lock_irq(&clone->copy_lock);
	list_splice_init(&clone->chunks_done, &done);
	spin_unlock_irq(&clone->copy_lock);

	list_for_each_entry_safe(c, tmp, &done, list)
		chunk_done(clone, c);
	drop_discarded_copies(clone);
	start_chunks(clone);
	/* A hydrated clone never copies again: give the buffers back. */
	if (clone_md_nr_hydrated(clone->cmd) == clone->nr_regions)
		free_chunks(clone);
}

/*
 * A write to an unhydrated region: copy the region first and write after,
 * or, if the write covers the whole region, write it with no copy and mark
 * the region when it completes. Either way the region is busy meanwhile.
 */
static int process_unhydrated_write(struct clone *clone, struct bio *bio,
				    unsigned long region)
{
	struct clone_io *io = dm_per_bio_data(bio, sizeof(*io));
	bool whole = is_whole_region(clone, bio, region);
	struct busy_range *br, *busy;

	if (clone_md_mode(clone->cmd) != CLONE_MD_RW)
		return DM_MAPIO_KILL;

	br = mempool_alloc(&clone->range_pool, GFP_NOIO);
	spin_lock_irq(&clone->lock);
	if (clone_md_hydrated(clone->cmd, region)) {
		/* A copy finished while we allocated. */
		spin_unlock_irq(&clone->lock);
		mempool_free(br, &clone->range_pool);
		clone_md_note_write(clone->cmd, region, 1);
		remap(clone, bio, clone->dest_dev);
		return DM_MAPIO_REMAPPED;
	}
	busy = busy_find(clone, region, region + 1);
	if (busy) {
		bio_list_add(&busy->waiters, bio);
		if (busy->copy && !busy->bio)
			promote_copy(clone, busy);
		spin_unlock_irq(&clone->lock);
		mempool_free(br, &clone->range_pool);
		return DM_MAPIO_SUBMITTED;
	}
	init_range(br, clone, region, region + 1, !whole, whole ? NULL : bio);
	busy_insert(clone, br);
	if (!whole)
		clone->hydrating++;
	spin_unlock_irq(&clone->lock);

	if (whole) {
		io->range = br;
		remap(clone, bio, clone->dest_dev);
		return DM_MAPIO_REMAPPED;
	}
	start_copy(clone, br);
	return DM_MAPIO_SUBMITTED;
}

/*
 * hydrate_on_read: a read of unhydrated regions from @r up to @end queues
 * the copy of those regions ahead of background hydration, also while it is
 * paused. Best effort, and the read never waits: none if @r is busy or
 * hydrated meanwhile, or no busy range is free at once.
 */
static void copy_on_read(struct clone *clone, unsigned long r,
			 unsigned long end)
{
	struct busy_range *br;
	unsigned long n;

	if (clone_md_mode(clone->cmd) != CLONE_MD_RW)
		return;
	br = mempool_alloc(&clone->range_pool, GFP_NOWAIT);
	if (!br)
		return;
	spin_lock_irq(&clone->lock);
	if (busy_find(clone, r, r + 1) || discard_held(clone, r, r + 1) ||
	    clone_md_hydrated(clone->cmd, r)) {
		spin_unlock_irq(&clone->lock);
		mempool_free(br, &clone->range_pool);
		return;
	}
	end = min(end, busy_next_start(clone, r));
	if (clone->discards_held && r < clone->discard_lo)
		end = min(end, clone->discard_lo);
	n = clone_md_next_hydrated(clone->cmd, r + 1, end) - r;
	init_range(br, clone, r, r + n, true, NULL);
	br->urgent = true;
	busy_insert(clone, br);
	clone->hydrating += n;
	spin_unlock_irq(&clone->lock);
	start_copy(clone, br);
}

/* ---- Background hydration ---- */

static unsigned long min_regions(struct clone *clone, sector_t sectors)
{
	return max_t(unsigned long, 1, sectors >> clone->region_shift);
}

/*
 * Start a background copy of up to @batch regions from unhydrated region @r,
 * not past @end, and move *@pos (the cursor, or a prefetch range's start)
 * past it; or, if @r is busy, past the busy range. An @urgent copy (a
 * prefetch) goes ahead of the others and is not dropped while hydration is
 * disabled.
 */
static void start_background_copy(struct clone *clone, unsigned long r,
				  unsigned long end, unsigned long *pos,
				  bool urgent, unsigned long batch,
				  unsigned long limit)
{
	struct busy_range *br, *busy;
	unsigned long n, max_n;
	bool held;

	br = mempool_alloc(&clone->range_pool, GFP_NOIO);
	spin_lock_irq(&clone->lock);
	/*
	 * Every bit is set before its busy range is released, so under the
	 * lock @r is either busy, or hydrated by a copy that just ended (copying
	 * it again would overwrite writes that followed), or free to copy.
	 */
	busy = busy_find(clone, r, r + 1);
	held = !busy && discard_held(clone, r, r + 1);
	if (busy || held || clone_md_hydrated(clone->cmd, r)) {
		*pos = busy ? busy->end : held ? clone->discard_hi : r + 1;
		spin_unlock_irq(&clone->lock);
		mempool_free(br, &clone->range_pool);
		return;
	}
	max_n = min3(batch, limit > clone->hydrating ? limit - clone->hydrating : 1,
		     end - r);
	max_n = min(max_n, busy_next_start(clone, r) - r);
	if (clone->discards_held && r < clone->discard_lo)
		max_n = min(max_n, clone->discard_lo - r);
	n = clone_md_next_hydrated(clone->cmd, r + 1, r + max_n) - r;
	init_range(br, clone, r, r + n, true, NULL);
	br->urgent = urgent;
	busy_insert(clone, br);
	clone->hydrating += n;
	spin_unlock_irq(&clone->lock);

	*pos = r + n;
	start_copy(clone, br);
}

/*
 * With max_hydration_rate set: refill the budget for the time since the
 * last refill and tell whether a copy may start now; if not, have the
 * pacer wake the worker once it may. *@batch shrinks to a tenth of a
 * second's worth. Worker only.
 */
static bool rate_allows(struct clone *clone, unsigned long *batch)
{
	unsigned int kib = READ_ONCE(clone->max_hydration_rate);
	unsigned long now = jiffies, wait;
	u64 per_sec = (u64)kib << 1;	/* sectors a second */
	s64 budget, burst;

	if (!kib)
		return true;
	*batch = min(*batch, min_regions(clone, div_u64(per_sec, RATE_COPY_DIV)));
	burst = max_t(s64, div_u64(per_sec, RATE_BURST_DIV), clone->region_size);
	spin_lock_irq(&clone->copy_lock);
	/* More than a second's worth would only be capped to the burst. */
	budget = clone->budget +
		 div_u64(per_sec * min(now - clone->refilled, (unsigned long)HZ), HZ);
	clone->budget = min(budget, burst);
	clone->refilled = now;
	budget = clone->budget;
	spin_unlock_irq(&clone->copy_lock);
	if (budget > 0)
		return true;
	wait = div64_u64((u64)(1 - budget) * HZ + per_sec - 1, per_sec);
	queue_delayed_work(clone->wq, &clone->pacer, max(wait, 1UL));
	return false;
}

/*
 * Must background hydration wait, after failed copies? Background copies
 * that failed since the last look start a wait (or double it, once the
 * last wait is over: copies that were in flight together fail together,
 * and only up to RETRY_DELAY_FLAP if copies worked again after failing in
 * the last RETRY_DELAY_MAX); a copy that worked ends the backoff. Worker
 * only.
 */
static bool backing_off(struct clone *clone)
{
	unsigned long now = jiffies, wait, cap = RETRY_DELAY_MAX;
	u64 copied = atomic64_read(&clone->copied);

	/* Copies that worked after a wait (not ones in flight at a failure). */
	if (clone->retry_delay && copied != clone->copied_seen &&
	    !time_before(now, clone->next_pass))
		clone->back_at = now;
	if (atomic_xchg(&clone->copy_errors, 0)) {
		if (clone->back_at &&
		    time_before(now, clone->back_at + RETRY_DELAY_MAX))
			cap = RETRY_DELAY_FLAP;
		if (!clone->retry_delay)
			clone->retry_delay = RETRY_DELAY_MIN;
		else if (!time_before(now, clone->next_pass))
			clone->retry_delay = min(2 * clone->retry_delay, cap);
		else
			goto out;
		/*
		 * Up to half as long again, at random: waits of whole seconds
		 * would keep hitting a source that fails on a period of its
		 * own at the same phase, and never find it working.
		 */
		wait = clone->retry_delay +
		       get_random_u32() % (clone->retry_delay / 2 + 1);
		clone->next_pass = now + wait;
		/* The waker would do, a second late at worst. */
		queue_delayed_work(clone->wq, &clone->pacer, wait);
	} else if (copied != clone->copied_seen) {
		clone->retry_delay = 0;
	}
out:
	clone->copied_seen = copied;
	if (test_and_clear_bit(CLONE_RETRY, &clone->flags)) {
		clone->next_pass = now;
		clone->retry_delay = 0;
		clone->back_at = 0;
	}
	return time_before(now, clone->next_pass);
}

/*
 * The first unhydrated region of the oldest prefetch range, in *@r, and the
 * range's end, in *@end; ranges passed are taken off. False once none is
 * left. Worker only.
 */
static bool next_prefetch(struct clone *clone, unsigned long *r,
			  unsigned long *end)
{
	unsigned long lo, hi;

	for (;;) {
		spin_lock_irq(&clone->lock);
		if (!clone->nr_prefetch) {
			spin_unlock_irq(&clone->lock);
			return false;
		}
		lo = clone->prefetch[0].lo;
		hi = clone->prefetch[0].hi;
		spin_unlock_irq(&clone->lock);

		*r = clone_md_next_unhydrated(clone->cmd, lo, hi);
		if (*r < hi) {
			*end = hi;
			return true;
		}
		spin_lock_irq(&clone->lock);
		clone->nr_prefetch--;
		memmove(&clone->prefetch[0], &clone->prefetch[1],
			clone->nr_prefetch * sizeof(clone->prefetch[0]));
		spin_unlock_irq(&clone->lock);
	}
}

/*
 * The next background copy to start, from the cursor, in *@r; one pass over
 * the end at most (*@wrapped), so that a device whose remaining regions are
 * all busy does not keep the worker spinning. Worker only.
 */
static bool next_background(struct clone *clone, unsigned long *r,
			    bool *wrapped)
{
	for (;;) {
		*r = clone_md_next_unhydrated(clone->cmd, clone->cursor,
					      clone->nr_regions);
		if (*r < clone->nr_regions)
			return true;
		if (*wrapped || !clone->cursor)
			return false;
		*wrapped = true;
		clone->cursor = 0;
	}
}

/*
 * Keep up to the threshold of regions copying: the prefetch message's
 * ranges first (also while hydration is disabled), then background
 * hydration from the cursor. While backing off, one copy at a time.
 */
static void do_hydration(struct clone *clone)
{
	unsigned long threshold = READ_ONCE(clone->hydration_threshold);
	unsigned long batch = READ_ONCE(clone->hydration_batch_size);
	unsigned long limit, r, end, pos;
	bool wrapped = false, busy, prefetch;

	if (test_bit(CLONE_SUSPENDED, &clone->flags) ||
	    clone_md_mode(clone->cmd) != CLONE_MD_RW ||
	    (!READ_ONCE(clone->nr_prefetch) && !hydration_allowed(clone)) ||
	    backing_off(clone))
		return;

	busy = time_before(jiffies, READ_ONCE(clone->last_bio) + FOREGROUND_WINDOW);
	batch = max(batch, min_regions(clone, MIN_COPY_SECTORS));
	if (!busy)
		threshold = max(threshold, min_regions(clone, MIN_INFLIGHT_SECTORS));
	limit = max(threshold, batch);
	if (clone->retry_delay && READ_ONCE(clone->hydrating))
		return;
	while (READ_ONCE(clone->hydrating) < limit) {
		prefetch = next_prefetch(clone, &r, &end);
		if (!prefetch) {
			if (!hydration_allowed(clone) ||
			    !next_background(clone, &r, &wrapped))
				break;
			end = clone->nr_regions;
		}
		if (busy) {
			if (time_before(jiffies, clone->next_copy)) {
				set_bit(CLONE_PACED, &clone->flags);
				break;
			}
			clone->next_copy = jiffies + FOREGROUND_PACE;
		}
		if (!rate_allows(clone, &batch))
			break;
		if (prefetch) {
			start_background_copy(clone, r, end, &pos, true, batch,
					      limit);
			spin_lock_irq(&clone->lock);
			clone->prefetch[0].lo = pos;
			spin_unlock_irq(&clone->lock);
		} else {
			start_background_copy(clone, r, end, &clone->cursor,
					      false, batch, limit);
		}
		if (clone->retry_delay)
			break;
	}
}

static void check_hydration_done(struct clone *clone)
{
	if (clone_md_nr_hydrated(clone->cmd) < clone->nr_regions ||
	    test_and_set_bit(CLONE_HYDRATED_REPORTED, &clone->flags))
		return;
	DMINFO("%s: hydration complete", clone_name(clone));
	dm_table_event(clone->ti->table);
	/* The copier frees its buffers. */
	queue_copier(clone);
}

/* ---- Discards and flushes (worker) ---- */

/* The whole regions a discard covers: [*start, *end). */
static void discard_regions(struct clone *clone, struct bio *bio,
			    unsigned long *start, unsigned long *end)
{
	sector_t first = dm_target_offset(clone->ti, bio->bi_iter.bi_sector);
	sector_t last = first + bio_sectors(bio);

	*start = (first + clone->region_size - 1) >> clone->region_shift;
	*end = last >> clone->region_shift;
	if (last == clone->ti->len)
		*end = clone->nr_regions;
}

/*
 * Mark the whole regions a discard covers hydrated, with no copy, once no
 * I/O to them is in flight (a copy in flight would otherwise land after
 * writes that follow the discard), then pass it down trimmed to them.
 */
static void process_discard(struct clone *clone, struct bio *bio)
{
	struct clone_io *io = dm_per_bio_data(bio, sizeof(*io));
	struct busy_range *br, *busy;
	unsigned long start, end;
	sector_t first;

	discard_regions(clone, bio, &start, &end);
	if (clone_md_mode(clone->cmd) != CLONE_MD_RW) {
		/* A discard is a hint: dropping it loses nothing. */
		bio_endio(bio);
		return;
	}

	br = mempool_alloc(&clone->range_pool, GFP_NOIO);
	spin_lock_irq(&clone->lock);
	busy = busy_find(clone, start, end);
	if (busy) {
		bio_list_add(&busy->waiters, bio);
		hold_discard(clone, io, start, end);
		spin_unlock_irq(&clone->lock);
		mempool_free(br, &clone->range_pool);
		/* Queued copies in its way need not run. */
		queue_copier(clone);
		return;
	}
	init_range(br, clone, start, end, false, NULL);
	busy_insert(clone, br);
	spin_unlock_irq(&clone->lock);

	clone_md_set_hydrated(clone->cmd, start, end - start);
	release_range(clone, br);

	if (!test_bit(CLONE_DISCARD_PASSDOWN, &clone->flags)) {
		bio_endio(bio);
		return;
	}
	first = region_to_sector(clone, start);
	bio->bi_iter.bi_sector = clone->ti->begin + first;
	bio->bi_iter.bi_size = to_bytes(regions_end_sector(clone, end) - first);
	remap(clone, bio, clone->dest_dev);
	submit_bio_noacct(bio);
}

/* Commit for the flushes and FUA completions that wait for one. */
static void process_flushes(struct clone *clone)
{
	struct bio_list flushes, fua_ends;
	struct clone_io *io;
	bool dest_flushed;
	struct bio *bio;
	int r;

	spin_lock_irq(&clone->lock);
	flushes = clone->flushes;
	fua_ends = clone->fua_ends;
	bio_list_init(&clone->flushes);
	bio_list_init(&clone->fua_ends);
	spin_unlock_irq(&clone->lock);

	if (bio_list_empty(&flushes) && bio_list_empty(&fua_ends))
		return;

	r = commit(clone, true, &dest_flushed);
	while ((bio = bio_list_pop(&flushes))) {
		if (r) {
			bio_io_error(bio);
		} else if (dest_flushed) {
			/* The commit flushed the destination after it came. */
			bio_endio(bio);
		} else {
			trace_clone_flush_pass(trace_dev(clone), bio, 0);
			remap(clone, bio, clone->dest_dev);
			submit_bio_noacct(bio);
		}
	}
	while ((bio = bio_list_pop(&fua_ends))) {
		io = dm_per_bio_data(bio, sizeof(*io));
		io->committed = true;
		if (r)
			bio->bi_status = BLK_STS_IOERR;
		trace_clone_fua_ack(trace_dev(clone), io->region, io->nr, r);
		bio_endio(bio);
	}
}

/* ---- discard_source (the discarder) ---- */

/*
 * With discard_source, a region is discarded on the source once its bit is
 * durable on the metadata device (in one copy at least: what a crash leaves,
 * and what the next full commit, within a second, puts in both), never
 * before: after a crash at any instant, every region the metadata calls
 * unhydrated still has its data on the source. The discarder runs after
 * each commit that worked, and at resume: it discards the regions committed
 * and not yet discarded by this table, in runs, one call at a time, so that
 * a new table discards once more what an older one did (or a crash kept it
 * from doing), which costs the source nothing.
 *
 * A read of unhydrated regions is sent to the source and may still be in
 * flight there when their copy ends, is committed and would be discarded:
 * the discard could pass it and the read return what the source makes of a
 * discarded range. So reads that may go to the source are counted, each in
 * the epoch it started in (counted before the hydrated bits are read), and
 * the discarder, before it discards regions committed so far, starts a new
 * epoch and waits for the reads of the old one to end. A read counted in
 * the new one read the bits after they were set, and goes to the
 * destination; one that read the old epoch but was counted too late to be
 * waited for read the bits after the discarder looked at the count, so it
 * sees them too (the two smp_mb() pair up).
 */
static bool discarding_source(struct clone *clone)
{
	return test_bit(CLONE_DISCARD_SOURCE, &clone->flags) &&
	       !test_bit(CLONE_SOURCE_DISCARD_FAILED, &clone->flags) &&
	       !test_bit(CLONE_SUSPENDED, &clone->flags) &&
	       clone_md_mode(clone->cmd) != CLONE_MD_FAIL;
}

/* A read about to look at the hydrated bits (see above). */
static void source_read_begin(struct clone *clone, struct clone_io *io)
{
	io->epoch = READ_ONCE(clone->read_epoch) & 1;
	atomic_inc(&clone->source_reads[io->epoch]);
	io->source_read = true;
	/* Counted before the bits are read: pairs with the discarder's. */
	smp_mb__after_atomic();
}

static void source_read_end(struct clone *clone, struct clone_io *io)
{
	if (!io->source_read)
		return;
	io->source_read = false;
	if (atomic_dec_and_test(&clone->source_reads[io->epoch]) &&
	    wq_has_sleeper(&clone->reads_done))
		wake_up(&clone->reads_done);
}

/* The most the discarder asks of the source at once: 1 GiB. */
#define SOURCE_DISCARD_SECTORS		2097152U

static void do_discarder(struct work_struct *ws)
{
	struct clone *clone = container_of(ws, struct clone, discarder);
	unsigned long nr, start, end, max, epoch;
	sector_t first, len;
	int r;

	/* The regions that hold source data (a clone may be longer). */
	nr = dm_sector_div_up(clone->source_end, clone->region_size);
	if (!discarding_source(clone))
		return;
	clone_md_committed_map(clone->cmd, clone->src_todo);
	if (!bitmap_andnot(clone->src_todo, clone->src_todo, clone->src_done,
			   nr))
		return;

	epoch = READ_ONCE(clone->read_epoch);
	/* The committed bits seen before the new epoch... */
	smp_mb();
	WRITE_ONCE(clone->read_epoch, epoch + 1);
	/* ...and the new epoch before the old one's count: see above. */
	smp_mb();
	wait_event(clone->reads_done,
		   !atomic_read(&clone->source_reads[epoch & 1]));

	max = max(SOURCE_DISCARD_SECTORS >> clone->region_shift, 1UL);
	for (start = find_first_bit(clone->src_todo, nr); start < nr;
	     start = find_next_bit(clone->src_todo, nr, end)) {
		end = min(find_next_zero_bit(clone->src_todo, nr, start),
			  start + max);
		if (!discarding_source(clone))
			return;
		first = region_to_sector(clone, start);
		len = min(regions_end_sector(clone, end), clone->source_end) -
		      first;
		r = blkdev_issue_discard(clone->source_dev->bdev, first, len,
					 GFP_NOIO);
		if (r) {
			DMERR("%s: discard of regions %lu-%lu on the source failed (error %d): no more source discards until the table is reloaded",
			      clone_name(clone), start, end - 1, r);
			set_bit(CLONE_SOURCE_DISCARD_FAILED, &clone->flags);
			return;
		}
		bitmap_set(clone->src_done, start, end - start);
		atomic64_add(len, &clone->source_discarded);
		cond_resched();
	}
}

/* ---- Mapping bios ---- */

/* Queue @bio on @list for @work (the worker or the committer). */
static void defer_bio(struct clone *clone, struct bio_list *list,
		      struct bio *bio, struct work_struct *work)
{
	unsigned long flags;

	spin_lock_irqsave(&clone->lock, flags);
	bio_list_add(list, bio);
	spin_unlock_irqrestore(&clone->lock, flags);
	queue_work(clone->wq, work);
}

/*
 * Map @bio. From clone_map() (@in_map) a bio over regions in different states
 * is trimmed to its first run of regions in one state (a write to an
 * unhydrated region: to that region); the worker maps only bios that waited
 * on a busy range, which were trimmed to one region before.
 */
/*
 * A read of regions not hydrated (never deferred: mapped at once) goes to
 * the source; past the source's end it reads zeroes, touching neither
 * device, and a read across that end is split there.
 */
static int read_source(struct clone *clone, struct bio *bio)
{
	sector_t start = dm_target_offset(clone->ti, bio->bi_iter.bi_sector);

	if (start >= clone->source_end) {
		zero_fill_bio(bio);
		bio_endio(bio);
		return DM_MAPIO_SUBMITTED;
	}
	if (start + bio_sectors(bio) > clone->source_end)
		dm_accept_partial_bio(bio, clone->source_end - start);
	remap(clone, bio, clone->source_dev);
	return DM_MAPIO_REMAPPED;
}

static int process_bio(struct clone *clone, struct bio *bio, bool in_map)
{
	struct clone_io *io = dm_per_bio_data(bio, sizeof(*io));
	unsigned long start, end, stop;

	if (clone_md_mode(clone->cmd) == CLONE_MD_FAIL)
		return DM_MAPIO_KILL;

	if (io->flush) {
		/* dm sends flushes with no data: data comes in a later bio. */
		trace_clone_flush_arrive(trace_dev(clone), bio, 0);
		if (clone_md_flush_needs_commit(clone->cmd)) {
			defer_bio(clone, &clone->flushes, bio,
				  &clone->committer);
			return DM_MAPIO_SUBMITTED;
		}
		trace_clone_flush_pass(trace_dev(clone), bio, 0);
		remap(clone, bio, clone->dest_dev);
		return DM_MAPIO_REMAPPED;
	}

	if (bio_op(bio) == REQ_OP_DISCARD) {
		discard_regions(clone, bio, &start, &end);
		if (start >= end) {
			/* No whole region: nothing to skip or pass down. */
			bio_endio(bio);
			return DM_MAPIO_SUBMITTED;
		}
		defer_bio(clone, &clone->discards, bio, &clone->worker);
		return DM_MAPIO_SUBMITTED;
	}

	/* discard_source: a read that may go to the source is counted first. */
	if (!op_is_write(bio_op(bio)) && !io->source_read &&
	    test_bit(CLONE_DISCARD_SOURCE, &clone->flags) &&
	    clone_md_nr_hydrated(clone->cmd) < clone->nr_regions)
		source_read_begin(clone, io);

	bio_regions(clone, bio, &start, &end);
	if (clone_md_hydrated(clone->cmd, start)) {
		stop = clone_md_next_unhydrated(clone->cmd, start + 1, end);
		if (in_map)
			trim_bio(clone, bio, stop);
		if (op_is_write(bio_op(bio))) {
			io->region = start;
			io->nr = stop - start;
			clone_md_note_write(clone->cmd, start, io->nr);
		}
		source_read_end(clone, io);
		remap(clone, bio, clone->dest_dev);
		return DM_MAPIO_REMAPPED;
	}
	if (!op_is_write(bio_op(bio))) {
		stop = clone_md_next_hydrated(clone->cmd, start + 1, end);
		if (in_map)
			trim_bio(clone, bio, stop);
		if (test_bit(CLONE_HYDRATE_ON_READ, &clone->flags))
			copy_on_read(clone, start, stop);
		return read_source(clone, bio);
	}
	if (in_map)
		trim_bio(clone, bio, start + 1);
	io->region = start;
	io->nr = 1;
	return process_unhydrated_write(clone, bio, start);
}

static int clone_map(struct dm_target *ti, struct bio *bio)
{
	struct clone *clone = ti->private;
	struct clone_io *io = dm_per_bio_data(bio, sizeof(*io));
	unsigned long now = jiffies;

	/* Once a tick at most: background copies yield (FOREGROUND_WINDOW). */
	if (READ_ONCE(clone->last_bio) != now) {
		WRITE_ONCE(clone->last_bio, now);
		if (test_bit(CLONE_PACED, &clone->flags) &&
		    test_and_clear_bit(CLONE_PACED, &clone->flags))
			wake_worker(clone);
	}
	io->range = NULL;
	io->nr = 0;
	/* Not later: the block layer may clear REQ_FUA (see the top). */
	io->fua = op_is_write(bio_op(bio)) && (bio->bi_opf & REQ_FUA);
	io->flush = bio->bi_opf & REQ_PREFLUSH;
	io->held = false;
	io->committed = false;
	io->source_read = false;
	return process_bio(clone, bio, true);
}

static int clone_endio(struct dm_target *ti, struct bio *bio,
		       blk_status_t *error)
{
	struct clone *clone = ti->private;
	struct clone_io *io = dm_per_bio_data(bio, sizeof(*io));
	struct busy_range *br = io->range;
	bool wait;

	source_read_end(clone, io);
	unhold_discard(clone, io);
	if (br) {
		/* A whole-region write: the region now holds its data. */
		io->range = NULL;
		if (!*error) {
			clone_md_set_hydrated(clone->cmd, br->start, 1);
			clone_md_note_write(clone->cmd, br->start, 1);
		}
		release_range(clone, br);
	}

	/* Every FLUSH ends here: passed down, or ended by process_flushes(). */
	if (io->flush)
		trace_clone_flush_ack(trace_dev(clone), bio,
				      blk_status_to_errno(*error));
	/* A FUA write is durable only once its region's bit is, too. */
	wait = !*error && !io->committed && io->fua &&
	       !clone_md_committed(clone->cmd, io->region, io->nr);
	/* io->nr: a write to regions (not a read, a FLUSH or a discard). */
	if (trace_clone_write_end_enabled() && io->nr && !io->committed)
		trace_clone_write_end(trace_dev(clone), io->region, io->nr,
				      io->fua, wait,
				      blk_status_to_errno(*error));
	if (!wait)
		return DM_ENDIO_DONE;
	defer_bio(clone, &clone->fua_ends, bio, &clone->committer);
	return DM_ENDIO_INCOMPLETE;
}

/* ---- The worker ---- */

static void process_deferred(struct clone *clone)
{
	struct bio_list bios, discards;
	struct bio *bio;

	spin_lock_irq(&clone->lock);
	bios = clone->deferred;
	discards = clone->discards;
	bio_list_init(&clone->deferred);
	bio_list_init(&clone->discards);
	spin_unlock_irq(&clone->lock);

	while ((bio = bio_list_pop(&bios))) {
		switch (process_bio(clone, bio, false)) {
		case DM_MAPIO_REMAPPED:
			submit_bio_noacct(bio);
			break;
		case DM_MAPIO_KILL:
			bio_io_error(bio);
			break;
		}
	}
	while ((bio = bio_list_pop(&discards)))
		process_discard(clone, bio);
}

static void do_worker(struct work_struct *ws)
{
	struct clone *clone = container_of(ws, struct clone, worker);

	process_deferred(clone);
	if (commit_due(clone))
		wake_committer(clone);
	do_hydration(clone);
	check_hydration_done(clone);
	report_mode(clone);
}

static void do_committer(struct work_struct *ws)
{
	struct clone *clone = container_of(ws, struct clone, committer);

	process_flushes(clone);
	if (commit_due(clone))
		commit(clone, false, NULL);
	/* A failed commit changed the mode: the worker reports it. */
	if (clone_md_mode(clone->cmd) != CLONE_MD_RW)
		wake_worker(clone);
}

/*
 * Take a sample of the sectors copied, for the rate (the waker, once a
 * second). After a gap (the clone was suspended), start over.
 */
static void sample_rate(struct clone *clone)
{
	unsigned int last = (clone->rate_next + RATE_SAMPLES - 1) % RATE_SAMPLES;
	unsigned long now = jiffies;

	spin_lock_irq(&clone->lock);
	if (clone->rate_count &&
	    time_after(now, clone->rate_jiffies[last] + 2 * COMMIT_PERIOD))
		clone->rate_count = 0;
	clone->rate_sectors[clone->rate_next] = atomic64_read(&clone->copied);
	clone->rate_jiffies[clone->rate_next] = now;
	clone->rate_next = (clone->rate_next + 1) % RATE_SAMPLES;
	if (clone->rate_count < RATE_SAMPLES)
		clone->rate_count++;
	spin_unlock_irq(&clone->lock);
}

/* Once a second: commit, and restart background hydration if it paused. */
static void do_waker(struct work_struct *ws)
{
	struct clone *clone = container_of(to_delayed_work(ws), struct clone,
					   waker);

	sample_rate(clone);
	wake_worker(clone);
	queue_delayed_work(clone->wq, &clone->waker, COMMIT_PERIOD);
}

/* max_hydration_rate: the budget allows a copy again. */
static void do_pacer(struct work_struct *ws)
{
	wake_worker(container_of(to_delayed_work(ws), struct clone, pacer));
}

/* ---- Status and messages ---- */

enum clone_state {
	STATE_HYDRATING,
	STATE_PAUSED,
	STATE_SOURCE_FAILING,
	STATE_HYDRATED,
	STATE_READ_ONLY,
	STATE_FAILED,
};

static const char * const state_names[] = {
	[STATE_HYDRATING] = "hydrating",
	[STATE_PAUSED] = "paused",
	[STATE_SOURCE_FAILING] = "source_failing",
	[STATE_HYDRATED] = "hydrated",
	[STATE_READ_ONLY] = "read_only",
	[STATE_FAILED] = "failed",
};

static enum clone_state clone_state(struct clone *clone)
{
	switch (clone_md_mode(clone->cmd)) {
	case CLONE_MD_FAIL:
		return STATE_FAILED;
	case CLONE_MD_RO:
		return STATE_READ_ONLY;
	default:
		break;
	}
	if (clone_md_nr_hydrated(clone->cmd) == clone->nr_regions)
		return STATE_HYDRATED;
	if (test_bit(CLONE_SOURCE_FAILING, &clone->flags))
		return STATE_SOURCE_FAILING;
	if (!hydration_allowed(clone))
		return STATE_PAUSED;
	return STATE_HYDRATING;
}

/*
 * Bytes copied a second, from the oldest sample the waker took to now; 0
 * while there is none, or the newest is stale (suspended).
 */
static u64 hydration_rate(struct clone *clone)
{
	unsigned long flags, now = jiffies, first, last;
	unsigned int oldest;
	u64 sectors;

	spin_lock_irqsave(&clone->lock, flags);
	if (!clone->rate_count) {
		spin_unlock_irqrestore(&clone->lock, flags);
		return 0;
	}
	oldest = (clone->rate_next + RATE_SAMPLES - clone->rate_count) %
		 RATE_SAMPLES;
	sectors = clone->rate_sectors[oldest];
	first = clone->rate_jiffies[oldest];
	last = clone->rate_jiffies[(clone->rate_next + RATE_SAMPLES - 1) %
				   RATE_SAMPLES];
	spin_unlock_irqrestore(&clone->lock, flags);

	if (now == first || time_after(now, last + 2 * COMMIT_PERIOD))
		return 0;
	sectors = atomic64_read(&clone->copied) - sectors;
	return div64_u64(sectors * SECTOR_SIZE * HZ, now - first);
}

/*
 * The stats message: one line of key=value pairs, in a fixed order (new
 * keys go at the end). Counters run from the table's load. No I/O.
 */
static void emit_stats(struct clone *clone, char *result, unsigned int maxlen)
{
	unsigned long hydrated = clone_md_nr_hydrated(clone->cmd);
	enum clone_state state = clone_state(clone);
	u64 rate = hydration_rate(clone), left;
	long long eta = -1;
	ssize_t sz = 0;

	if (state == STATE_HYDRATED) {
		eta = 0;
	} else if (state == STATE_HYDRATING && rate) {
		left = (u64)(clone->nr_regions - hydrated) * clone->region_size *
		       SECTOR_SIZE;
		eta = div64_u64(left + rate - 1, rate);
	}
	DMEMIT("hydrated_regions=%lu total_regions=%lu copied_bytes=%llu hydration_rate=%llu eta_seconds=%lld ",
	       hydrated, clone->nr_regions,
	       (unsigned long long)atomic64_read(&clone->copied) << SECTOR_SHIFT,
	       (unsigned long long)rate, eta);
	DMEMIT("source_read_errors=%llu dest_write_errors=%llu metadata_errors=%llu state=%s",
	       (unsigned long long)atomic64_read(&clone->source_errors),
	       (unsigned long long)atomic64_read(&clone->dest_errors),
	       (unsigned long long)atomic64_read(&clone->metadata_errors),
	       state_names[state]);
	if (test_bit(CLONE_DISCARD_SOURCE, &clone->flags))
		DMEMIT(" source_discarded_bytes=%llu",
		       (unsigned long long)atomic64_read(&clone->source_discarded) << SECTOR_SHIFT);
}

/* The tunable a core argument or message names, or NULL. */
/*
 * The core arguments, which are also messages: the in-kernel target's two,
 * and ours, max_hydration_rate (in status only when set).
 */
static const struct core_arg_def {
	const char *name;
	size_t offset;
	char *invalid;			/* the table load's error (ti->error) */
} core_args[] = {
	{ "hydration_threshold", offsetof(struct clone, hydration_threshold),
	  "Invalid value for argument `hydration_threshold'" },
	{ "hydration_batch_size", offsetof(struct clone, hydration_batch_size),
	  "Invalid value for argument `hydration_batch_size'" },
	{ "max_hydration_rate", offsetof(struct clone, max_hydration_rate),
	  "Invalid value for argument `max_hydration_rate'" },
};

static const struct core_arg_def *core_arg(const char *key)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(core_args); i++)
		if (!strcasecmp(key, core_args[i].name))
			return &core_args[i];
	return NULL;
}

static unsigned int *core_field(struct clone *clone,
				const struct core_arg_def *def)
{
	return (unsigned int *)((char *)clone + def->offset);
}

static void clone_status(struct dm_target *ti, status_type_t type,
			 unsigned int status_flags, char *result,
			 unsigned int maxlen)
{
	struct clone *clone = ti->private;
	unsigned long long used, total;
	bool no_hydration, no_passdown, on_read, discard_src, zeroes;
	enum clone_md_mode mode;
	unsigned int i, rate;
	ssize_t sz = 0;

	switch (type) {
	case STATUSTYPE_INFO:
		mode = clone_md_mode(clone->cmd);
		if (mode == CLONE_MD_FAIL) {
			DMEMIT("Fail");
			break;
		}
		clone_md_usage(clone->cmd, &used, &total);
		no_hydration = !test_bit(CLONE_HYDRATION_ENABLED, &clone->flags);
		no_passdown = !test_bit(CLONE_DISCARD_PASSDOWN, &clone->flags);
		DMEMIT("%u %llu/%llu %llu %lu/%lu %lu ", CLONE_BLOCK_SECTORS,
		       used, total, (unsigned long long)clone->region_size,
		       clone_md_nr_hydrated(clone->cmd), clone->nr_regions,
		       READ_ONCE(clone->hydrating));
		on_read = test_bit(CLONE_HYDRATE_ON_READ, &clone->flags);
		discard_src = test_bit(CLONE_DISCARD_SOURCE, &clone->flags);
		zeroes = test_bit(CLONE_DETECT_ZEROES, &clone->flags);
		DMEMIT("%u %s%s%s%s%s",
		       no_hydration + no_passdown + on_read + discard_src +
		       zeroes,
		       no_hydration ? "no_hydration " : "",
		       no_passdown ? "no_discard_passdown " : "",
		       on_read ? "hydrate_on_read " : "",
		       discard_src ? "discard_source " : "",
		       zeroes ? "detect_zeroes " : "");
		rate = READ_ONCE(clone->max_hydration_rate);
		DMEMIT("%u hydration_threshold %u hydration_batch_size %u ",
		       rate ? 6 : 4, READ_ONCE(clone->hydration_threshold),
		       READ_ONCE(clone->hydration_batch_size));
		if (rate)
			DMEMIT("max_hydration_rate %u ", rate);
		DMEMIT("%s", mode == CLONE_MD_RW ? "rw" : "ro");
		break;

	case STATUSTYPE_TABLE:
		DMEMIT("%u:%u %u:%u %u:%u",
		       MAJOR(clone->metadata_dev->bdev->bd_dev),
		       MINOR(clone->metadata_dev->bdev->bd_dev),
		       MAJOR(clone->dest_dev->bdev->bd_dev),
		       MINOR(clone->dest_dev->bdev->bd_dev),
		       MAJOR(clone->source_dev->bdev->bd_dev),
		       MINOR(clone->source_dev->bdev->bd_dev));
		for (i = 0; i < clone->nr_ctr_args; i++)
			DMEMIT(" %s", clone->ctr_args[i]);
		break;

	case STATUSTYPE_IMA:
		*result = '\0';
		break;
	}
}

/*
 * How much of a word of a bad message the error shows: printk cuts longer
 * lines, newline and all, and an unterminated line stays out of the log
 * until the next one comes.
 */
#define MSG_WORD_MAX	64

/*
 * The prefetch message: queue the regions that sectors [@argv[0], + @argv[1])
 * touch for copying ahead of background hydration, also while it is
 * disabled. In core only: a reload forgets it.
 */
static int prefetch_message(struct clone *clone, char **argv)
{
	unsigned long long start, len;
	int r = 0;

	if (kstrtoull(argv[0], 10, &start) || kstrtoull(argv[1], 10, &len) ||
	    !len || start >= clone->ti->len || len > clone->ti->len - start) {
		DMERR("%s: invalid prefetch range `%.*s %.*s': expected a start sector and a number of sectors within the device's %llu",
		      clone_name(clone), MSG_WORD_MAX, argv[0], MSG_WORD_MAX,
		      argv[1], (unsigned long long)clone->ti->len);
		return -EINVAL;
	}
	spin_lock_irq(&clone->lock);
	if (clone->nr_prefetch == MAX_PREFETCH) {
		r = -EBUSY;
	} else {
		clone->prefetch[clone->nr_prefetch].lo = start >> clone->region_shift;
		clone->prefetch[clone->nr_prefetch].hi =
			((start + len - 1) >> clone->region_shift) + 1;
		clone->nr_prefetch++;
	}
	spin_unlock_irq(&clone->lock);
	if (r) {
		DMERR("%s: %u prefetch ranges wait already: try again once their copies have started",
		      clone_name(clone), MAX_PREFETCH);
		return r;
	}
	wake_worker(clone);
	return 0;
}

static int clone_message(struct dm_target *ti, unsigned int argc, char **argv,
			 char *result, unsigned int maxlen)
{
	struct clone *clone = ti->private;
	const struct core_arg_def *def;
	unsigned int value;

	if (argc == 1 && !strcasecmp(argv[0], "stats")) {
		emit_stats(clone, result, maxlen);
		return 1;	/* the result goes back to user space */
	}
	if (argc == 1 && !strcasecmp(argv[0], "retry")) {
		set_bit(CLONE_RETRY, &clone->flags);
		wake_worker(clone);
		return 0;
	}
	if (argc == 1 && !strcasecmp(argv[0], "enable_hydration")) {
		set_bit(CLONE_HYDRATION_ENABLED, &clone->flags);
		wake_worker(clone);
		return 0;
	}
	if (argc == 1 && !strcasecmp(argv[0], "disable_hydration")) {
		clear_bit(CLONE_HYDRATION_ENABLED, &clone->flags);
		queue_copier(clone);	/* to drop queued copies */
		return 0;
	}
	if (argc == 3 && !strcasecmp(argv[0], "prefetch"))
		return prefetch_message(clone, argv + 1);
	def = argc == 2 ? core_arg(argv[0]) : NULL;
	if (def) {
		if (kstrtouint(argv[1], 10, &value)) {
			DMERR("%s: invalid value `%.*s' for %s", clone_name(clone),
			      MSG_WORD_MAX, argv[1], def->name);
			return -EINVAL;
		}
		WRITE_ONCE(*core_field(clone, def), value);
		wake_worker(clone);
		queue_copier(clone);	/* threshold 0 drops queued copies */
		return 0;
	}
	DMERR("%s: unsupported message `%.*s' with %u argument(s); expected enable_hydration, disable_hydration, stats, retry, prefetch <start sector> <#sectors>, hydration_threshold <#regions>, hydration_batch_size <#regions> or max_hydration_rate <KiB/s>",
	      clone_name(clone), MSG_WORD_MAX, argc ? argv[0] : "",
	      argc ? argc - 1 : 0);
	return -EINVAL;
}

/* ---- Suspend and resume ---- */

static void clone_presuspend(struct dm_target *ti)
{
	struct clone *clone = ti->private;

	set_bit(CLONE_SUSPENDED, &clone->flags);
	queue_copier(clone);	/* to drop queued copies */
}

static void clone_presuspend_undo(struct dm_target *ti)
{
	struct clone *clone = ti->private;

	clear_bit(CLONE_SUSPENDED, &clone->flags);
	wake_worker(clone);
}

/* dm has drained our bios; wait for background copies, then commit. */
static void clone_postsuspend(struct dm_target *ti)
{
	struct clone *clone = ti->private;

	cancel_delayed_work_sync(&clone->waker);
	wait_event(clone->copies_done, !READ_ONCE(clone->hydrating));
	flush_workqueue(clone->copy_wq);
	flush_workqueue(clone->wq);
	if (clone_md_mode(clone->cmd) == CLONE_MD_RW)
		commit(clone, false, NULL);
	report_mode(clone);
}

/*
 * A reload with a larger length, over the live table's metadata: grow it
 * now, before the first I/O. The old table is suspended for good (dm swaps
 * the tables before this and destroys the old one after the resume), and
 * this one has taken no I/O yet.
 */
static int clone_preresume(struct dm_target *ti)
{
	struct clone *clone = ti->private;

	return clone_md_grow(clone->cmd, clone->dest_dev->bdev,
			     clone->nr_regions);
}

static void clone_resume(struct dm_target *ti)
{
	struct clone *clone = ti->private;

	/* The fault may have been cleared: try to leave read-only mode. */
	if (clone_md_mode(clone->cmd) == CLONE_MD_RO) {
		clone_md_set_mode(clone->cmd, CLONE_MD_RW);
		if (clone_md_commit(clone->cmd, clone->dest_dev->bdev, false,
				    NULL))
			clone_md_set_mode(clone->cmd, CLONE_MD_RO);
	}
	report_mode(clone);

	/*
	 * A reload or resume retries failed copies at once. Set while the
	 * worker still leaves hydration alone (suspended, no copy in flight).
	 */
	clone->next_pass = jiffies;
	clone->retry_delay = 0;
	clone->back_at = 0;
	atomic_set(&clone->copy_errors, 0);
	clear_bit(CLONE_SUSPENDED, &clone->flags);
	WRITE_ONCE(clone->last_commit, jiffies);
	queue_delayed_work(clone->wq, &clone->waker, COMMIT_PERIOD);
	wake_worker(clone);
	if (test_bit(CLONE_DISCARD_SOURCE, &clone->flags))
		queue_work(clone->wq, &clone->discarder);
}

/* ---- Queue limits ---- */

static void clone_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct clone *clone = ti->private;
	struct queue_limits *dest = &bdev_get_queue(clone->dest_dev->bdev)->limits;
	unsigned int region_bytes = to_bytes(clone->region_size);

	/* Prefer I/O of whole regions, unless the stacked size fits them. */
	if (limits->io_opt < region_bytes || limits->io_opt % region_bytes) {
		limits->io_min = region_bytes;
		limits->io_opt = region_bytes;
	}

	/*
	 * Discards are split on region boundaries, so that every piece covers
	 * whole regions: a region cut in two would never be skipped. What we
	 * pass down is split again to the destination's own limits.
	 */
	limits->discard_granularity = max(region_bytes, dest->discard_granularity);
	limits->discard_alignment = 0;
	clone_set_max_discard(limits, round_down(UINT_MAX >> SECTOR_SHIFT,
						 clone->region_size));
}

static int clone_iterate_devices(struct dm_target *ti,
				 iterate_devices_callout_fn fn, void *data)
{
	struct clone *clone = ti->private;

	return fn(ti, clone->source_dev, 0, clone->source_end, data) ?:
	       fn(ti, clone->dest_dev, 0, ti->len, data);
}

/* ---- Constructor and destructor ---- */

/*
 * Read a number in [min, max]. Strict, unlike dm_read_arg(), which takes
 * 4294967424 for 128: a table line that says one thing must not mean another.
 */
static int read_uint(struct dm_target *ti, struct dm_arg_set *as,
		     unsigned int min, unsigned int max, char *error,
		     unsigned int *value)
{
	const char *arg = dm_shift_arg(as);

	if (!arg || kstrtouint(arg, 10, value) || *value < min || *value > max) {
		ti->error = error;
		return -EINVAL;
	}
	return 0;
}

/*
 * Read "<#args> <arg>*": the count, checking that many args follow. The
 * whole group is optional at the end of the line.
 */
static int read_group(struct dm_target *ti, struct dm_arg_set *as,
		      unsigned int max, char *error, unsigned int *count)
{
	int r;

	*count = 0;
	if (!as->argc)
		return 0;
	r = read_uint(ti, as, 0, max, error, count);

	if (!r && *count > as->argc) {
		ti->error = error;
		r = -EINVAL;
	}
	return r;
}

static int parse_features(struct clone *clone, struct dm_arg_set *as)
{
	struct dm_target *ti = clone->ti;
	unsigned int argc;
	const char *arg;
	int r;

	r = read_group(ti, as, 5, "Invalid number of feature arguments", &argc);
	if (r)
		return r;
	while (argc--) {
		arg = dm_shift_arg(as);
		if (!strcasecmp(arg, "no_hydration")) {
			__clear_bit(CLONE_HYDRATION_ENABLED, &clone->flags);
		} else if (!strcasecmp(arg, "no_discard_passdown")) {
			__clear_bit(CLONE_DISCARD_PASSDOWN, &clone->flags);
		} else if (!strcasecmp(arg, "hydrate_on_read")) {
			__set_bit(CLONE_HYDRATE_ON_READ, &clone->flags);
		} else if (!strcasecmp(arg, "discard_source")) {
			__set_bit(CLONE_DISCARD_SOURCE, &clone->flags);
		} else if (!strcasecmp(arg, "detect_zeroes")) {
			__set_bit(CLONE_DETECT_ZEROES, &clone->flags);
		} else {
			ti->error = "Invalid feature argument";
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_core_args(struct clone *clone, struct dm_arg_set *as)
{
	struct dm_target *ti = clone->ti;
	const struct core_arg_def *def;
	unsigned int argc;
	int r;

	r = read_group(ti, as, 2 * ARRAY_SIZE(core_args),
		       "Invalid number of core arguments", &argc);
	if (r)
		return r;
	if (argc & 1) {
		ti->error = "Number of core arguments must be even";
		return -EINVAL;
	}
	for (; argc; argc -= 2) {
		def = core_arg(dm_shift_arg(as));
		if (!def) {
			ti->error = "Invalid core argument";
			return -EINVAL;
		}
		if (kstrtouint(dm_shift_arg(as), 10, core_field(clone, def))) {
			ti->error = def->invalid;
			return -EINVAL;
		}
	}
	return 0;
}

static int open_device(struct clone *clone, struct dm_arg_set *as,
		      struct dm_dev **dev, bool writable, const char *what)
{
	struct dm_target *ti = clone->ti;
	int r;

	r = dm_get_device(ti, dm_shift_arg(as),
			  writable ? CLONE_OPEN_RW : CLONE_OPEN_READ, dev);
	if (r) {
		ti->error = "Error opening device";
		DMERR("cannot open the %s device (error %d)", what, r);
		return r;
	}
	return 0;
}

/*
 * discard_source: the source was opened for reading like the others; open
 * it again for writing (discards are writes), and refuse a source that
 * cannot take them.
 */
static int reopen_source(struct clone *clone, const char *path)
{
	struct dm_target *ti = clone->ti;
	struct block_device *bdev;
	int r;

	dm_put_device(ti, clone->source_dev);
	clone->source_dev = NULL;
	r = dm_get_device(ti, path, CLONE_OPEN_RW, &clone->source_dev);
	if (r) {
		ti->error = "discard_source: cannot open the source device for writing";
		DMERR("discard_source: cannot open the source device for writing (error %d)",
		      r);
		return r;
	}
	bdev = clone->source_dev->bdev;
	if (bdev_read_only(bdev)) {
		ti->error = "discard_source: the source device is read-only";
		return -EINVAL;
	}
	if (!bdev_max_discard_sectors(bdev)) {
		ti->error = "discard_source: the source device does not support discards";
		return -EINVAL;
	}
	return 0;
}

static int check_devices(struct clone *clone)
{
	struct dm_target *ti = clone->ti;
	dev_t meta = clone->metadata_dev->bdev->bd_dev;
	dev_t dest = clone->dest_dev->bdev->bd_dev;
	dev_t source = clone->source_dev->bdev->bd_dev;
	unsigned int lbs;

	if (meta == dest || meta == source || dest == source) {
		ti->error = "The metadata, destination and source devices must differ";
		return -EINVAL;
	}
	if (bdev_nr_sectors(clone->dest_dev->bdev) < ti->len) {
		ti->error = "Device size larger than destination device";
		return -EINVAL;
	}
	/*
	 * A clone may be longer than its source (a golden image restored
	 * onto a larger disk): past the source's end it reads as zeroes, and
	 * hydration writes zeroes there. The end must fall on a logical block
	 * of both devices, where a read can be split.
	 */
	clone->source_end = min(bdev_nr_sectors(clone->source_dev->bdev),
				ti->len);
	lbs = max(bdev_logical_block_size(clone->source_dev->bdev),
		  bdev_logical_block_size(clone->dest_dev->bdev));
	if (!clone->source_end ||
	    clone->source_end % (lbs >> SECTOR_SHIFT)) {
		ti->error = "Source size is zero or not a multiple of the logical block size";
		return -EINVAL;
	}
	return 0;
}

static int parse_region_size(struct clone *clone, struct dm_arg_set *as)
{
	struct dm_target *ti = clone->ti;
	unsigned int size, lbs;
	sector_t nr_regions;
	int r;

	r = read_uint(ti, as, MIN_REGION_SIZE, MAX_REGION_SIZE,
		      "Invalid region size", &size);
	if (r)
		return r;
	if (!is_power_of_2(size)) {
		ti->error = "Region size is not a power of 2";
		return -EINVAL;
	}
	lbs = max(bdev_logical_block_size(clone->source_dev->bdev),
		  bdev_logical_block_size(clone->dest_dev->bdev));
	if (size % (lbs >> SECTOR_SHIFT)) {
		ti->error = "Region size is not a multiple of device logical block size";
		return -EINVAL;
	}
	clone->region_size = size;
	clone->region_shift = __ffs(size);

	nr_regions = dm_sector_div_up(ti->len, size);
	if (nr_regions > CLONE_MAX_REGIONS) {
		ti->error = "Too many regions. Consider increasing the region size";
		return -EINVAL;
	}
	clone->nr_regions = nr_regions;
	return 0;
}

static int copy_ctr_args(struct clone *clone, unsigned int argc, char **argv)
{
	unsigned int i;

	clone->ctr_args = kcalloc(argc, sizeof(*clone->ctr_args), GFP_KERNEL);
	if (!clone->ctr_args)
		return -ENOMEM;
	for (i = 0; i < argc; i++) {
		clone->ctr_args[i] = kstrdup(argv[i], GFP_KERNEL);
		if (!clone->ctr_args[i])
			return -ENOMEM;
		clone->nr_ctr_args++;
	}
	return 0;
}

static void free_clone(struct clone *clone)
{
	struct dm_target *ti = clone->ti;
	unsigned int i;

	/* No copy is in flight: dm suspended the target, which waited for them. */
	if (clone->copy_wq)
		destroy_workqueue(clone->copy_wq);
	if (clone->wq)
		destroy_workqueue(clone->wq);
	free_chunks(clone);
	mempool_exit(&clone->range_pool);
	kvfree(clone->src_done);
	kvfree(clone->src_todo);
	if (!IS_ERR_OR_NULL(clone->cmd))
		clone_md_put(clone->cmd);
	if (clone->source_dev)
		dm_put_device(ti, clone->source_dev);
	if (clone->dest_dev)
		dm_put_device(ti, clone->dest_dev);
	if (clone->metadata_dev)
		dm_put_device(ti, clone->metadata_dev);
	for (i = 0; i < clone->nr_ctr_args; i++)
		kfree(clone->ctr_args[i]);
	kfree(clone->ctr_args);
	kfree(clone);
}

/*
 * clone <metadata dev> <destination dev> <source dev> <region size>
 *       [<#feature args> [<feature arg>]* [<#core args> [<core arg>]*]]
 */
static int clone_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct dm_arg_set as = { .argc = argc, .argv = argv };
	struct clone *clone;
	int r;

	if (argc < 4) {
		ti->error = "Invalid number of arguments";
		return -EINVAL;
	}
	clone = kzalloc(sizeof(*clone), GFP_KERNEL);
	if (!clone) {
		ti->error = "Failed to allocate clone structure";
		return -ENOMEM;
	}
	clone->ti = ti;
	ti->private = clone;
	__set_bit(CLONE_HYDRATION_ENABLED, &clone->flags);
	__set_bit(CLONE_DISCARD_PASSDOWN, &clone->flags);
	__set_bit(CLONE_SUSPENDED, &clone->flags);
	clone->hydration_threshold = DEFAULT_HYDRATION_THRESHOLD;
	clone->hydration_batch_size = DEFAULT_HYDRATION_BATCH_SIZE;
	clone->last_bio = jiffies - FOREGROUND_WINDOW;
	/* Not 0: 32-bit jiffies start 5 minutes short of wrapping past 0. */
	clone->next_copy = jiffies;
	spin_lock_init(&clone->lock);
	clone->busy = RB_ROOT;
	bio_list_init(&clone->deferred);
	bio_list_init(&clone->discards);
	bio_list_init(&clone->flushes);
	bio_list_init(&clone->fua_ends);
	init_waitqueue_head(&clone->copies_done);
	INIT_WORK(&clone->worker, do_worker);
	INIT_WORK(&clone->committer, do_committer);
	INIT_WORK(&clone->copier, do_copier);
	spin_lock_init(&clone->copy_lock);
	INIT_LIST_HEAD(&clone->copies);
	INIT_LIST_HEAD(&clone->chunks_done);
	INIT_LIST_HEAD(&clone->free_chunks);
	INIT_DELAYED_WORK(&clone->waker, do_waker);
	INIT_DELAYED_WORK(&clone->pacer, do_pacer);
	init_waitqueue_head(&clone->reads_done);
	INIT_WORK(&clone->discarder, do_discarder);

	r = open_device(clone, &as, &clone->metadata_dev, true, "metadata");
	if (!r)
		r = open_device(clone, &as, &clone->dest_dev, true, "destination");
	if (!r)
		r = open_device(clone, &as, &clone->source_dev, false, "source");
	if (!r)
		r = check_devices(clone);
	if (!r)
		r = parse_region_size(clone, &as);
	if (!r)
		r = parse_features(clone, &as);
	if (!r)
		r = parse_core_args(clone, &as);
	if (!r && as.argc) {
		ti->error = "Too many arguments";
		r = -EINVAL;
	}
	if (!r && test_bit(CLONE_DISCARD_SOURCE, &clone->flags))
		r = reopen_source(clone, argv[2]);
	if (r)
		goto bad;

	if (test_bit(CLONE_DISCARD_PASSDOWN, &clone->flags) &&
	    !bdev_max_discard_sectors(clone->dest_dev->bdev)) {
		DMWARN("destination device %pg does not support discards: disabling discard passdown",
		       clone->dest_dev->bdev);
		__clear_bit(CLONE_DISCARD_PASSDOWN, &clone->flags);
	}

	clone->cmd = clone_md_get(dm_table_get_md(ti->table),
				  clone->metadata_dev, clone->dest_dev,
				  clone->source_dev, clone->region_size,
				  clone->nr_regions, &ti->error);
	if (IS_ERR(clone->cmd)) {
		r = PTR_ERR(clone->cmd);
		goto bad;
	}
	clone->reported_mode = clone_md_mode(clone->cmd);

	r = -ENOMEM;
	ti->error = "Failed to allocate clone resources";
	if (mempool_init_slab_pool(&clone->range_pool, MIN_RANGES, range_cache))
		goto bad;
	/* A clone hydrated when loaded never copies again. */
	if (clone_md_nr_hydrated(clone->cmd) < clone->nr_regions &&
	    add_chunk(clone, GFP_KERNEL))
		goto bad;
	if (test_bit(CLONE_DISCARD_SOURCE, &clone->flags)) {
		clone->src_done = kvcalloc(BITS_TO_LONGS(clone->nr_regions),
					   sizeof(long), GFP_KERNEL);
		clone->src_todo = kvcalloc(BITS_TO_LONGS(clone->nr_regions),
					   sizeof(long), GFP_KERNEL);
		if (!clone->src_done || !clone->src_todo)
			goto bad;
	}
	clone->wq = alloc_workqueue("dm-clone", WQ_MEM_RECLAIM, 0);
	clone->copy_wq = alloc_workqueue("dm-clone-copy", WQ_MEM_RECLAIM, 0);
	if (!clone->wq || !clone->copy_wq)
		goto bad;
	r = copy_ctr_args(clone, argc - 3, argv + 3);
	if (r)
		goto bad;

	ti->num_flush_bios = 1;
	ti->flush_supported = true;
	ti->num_discard_bios = 1;
	ti->discards_supported = true;
	/*
	 * WRITE_ZEROES goes where a write would: a whole unhydrated region
	 * takes it as it takes a whole-region write (hydrated without a
	 * copy), a partial one is copied first. Offered when the source and
	 * the destination both offer it (the limits stack over both); else
	 * the block layer writes zeroes as data.
	 */
	ti->num_write_zeroes_bios = 1;
	ti->per_io_data_size = sizeof(struct clone_io);
	return 0;

bad:
	free_clone(clone);
	return r;
}

static void clone_dtr(struct dm_target *ti)
{
	struct clone *clone = ti->private;

	/* Suspended: the worker no longer queues the pacer. */
	cancel_delayed_work_sync(&clone->waker);
	cancel_delayed_work_sync(&clone->pacer);
	free_clone(clone);
}

/*
 * Alone in its table: the source is opened for reading only (without
 * discard_source), and a later target of the same table opening it for
 * writing would make device-mapper reopen it and free the struct dm_dev
 * this target holds.
 */
static struct target_type clone_target = {
	.name = "clone",
	.version = {1, 0, 0},
	.features = DM_TARGET_SINGLETON,
	.module = THIS_MODULE,
	.ctr = clone_ctr,
	.dtr = clone_dtr,
	.map = clone_map,
	.end_io = clone_endio,
	.presuspend = clone_presuspend,
	.presuspend_undo = clone_presuspend_undo,
	.postsuspend = clone_postsuspend,
	.preresume = clone_preresume,
	.resume = clone_resume,
	.status = clone_status,
	.message = clone_message,
	.io_hints = clone_io_hints,
	.iterate_devices = clone_iterate_devices,
};

static int __init dm_clone_init(void)
{
	int r;

	range_cache = KMEM_CACHE(busy_range, 0);
	if (!range_cache)
		return -ENOMEM;
	r = dm_register_target(&clone_target);
	if (r) {
		DMERR("failed to register the clone target (error %d)", r);
		kmem_cache_destroy(range_cache);
	}
	return r;
}

static void __exit dm_clone_exit(void)
{
	dm_unregister_target(&clone_target);
	kmem_cache_destroy(range_cache);
}

module_init(dm_clone_init);
module_exit(dm_clone_exit);

MODULE_DESCRIPTION(DM_NAME " clone target: hydrate a copy of a read-only device in the background");
MODULE_LICENSE("GPL");
