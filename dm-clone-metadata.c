// SPDX-License-Identifier: GPL-2.0
/*
 * dm-clone metadata: which regions are hydrated, in core and on disk.
 *
 * The format (dm-clone-format.h, docs/metadata-format.md) keeps two copies
 * of every bitmap block, and loading takes the OR of the usable ones. Each
 * write of a block holds every bit set in core, so the copy written last
 * holds everything the other does, and a commit rewrites the *older* copy
 * of each changed block: at any instant the copy not being written holds
 * everything committed before, and a torn or failed write leaves a block
 * whose checksum fails. A quick commit (for a waiting FLUSH or FUA) stops
 * there, with one metadata flush; a full commit (once a second, at suspend)
 * then flushes and writes the other copy too, and catches up any copy left
 * behind by quick commits, so that a copy lost to a media error later costs
 * nothing. Before any bit is written the destination is flushed, so no bit
 * reaches the disk before the data of its region. Nothing else is ever
 * rewritten: the superblocks are written when the device is formatted and
 * only again to repair a damaged copy.
 *
 * Version 2 (docs/commit-v2.md) leaves the bitmap to checkpoints. A quick
 * commit writes one record naming the runs of regions hydrated since the
 * last one, both copies of it at once with FUA, after the destination
 * flush; a checkpoint (once a second, at suspend, when the ring is full or
 * a record too small) writes the changed bitmap blocks as a full commit
 * does, then both superblocks, the one holding the older checkpoint first,
 * each naming the ring position from which load replays the records. Ring
 * slots are reused only once both superblock copies name a checkpoint past
 * them, so either copy finds every record it needs; load refuses where the
 * ring shows a record lost or written over, and writes a checkpoint of what
 * it found before the clone takes any I/O, so that nothing acknowledged
 * rests on one copy of anything.
 *
 * Locking:
 * - registry_lock (mutex) protects the registry list, the list of loads
 *   under way and every ->refs. It is never held across I/O: a metadata
 *   device that hangs holds up the loads of that device only.
 * - cmd->lock (spinlock, taken with interrupts off because bits are set
 *   from bio completion) protects every change to ->hydrated,
 *   ->nr_hydrated, ->dirty and ->nr_dirty. Readers of ->hydrated take no
 *   lock: bits only go from 0 to 1.
 * - cmd->commit_lock (mutex) serialises commits, owns the commit buffer,
 *   ->lagging, ->newer_b, ->entries, ->head and ->sb_ckpt, and is the only
 *   writer of ->committed and ->nr_lagging, whose readers take no lock.
 */

#include <linux/crc32c.h>
#include <linux/delay.h>
#include <linux/dm-io.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/vmalloc.h>

#include "dm-clone-compat.h"
#include "dm-clone-format.h"
#include "dm-clone-metadata.h"
#include "dm-clone-trace.h"

#define DM_MSG_PREFIX "clone"

/*
 * Blocks written per commit round and read per step of a load: 1 MiB at
 * most; a clone with fewer bitmap blocks keeps two per block (both copies
 * of every block fit in one step of a load), so that a small clone does not
 * hold a buffer of 1 MiB.
 */
#define BATCH_BLOCKS 256
static_assert(CLONE_SB_BLOCKS <= 2);

/* A block of the commit buffer: which bitmap block, and where it goes. */
struct commit_entry {
	unsigned long block;
	u8 first;		/* the copy written first: the older one */
	bool changed;		/* bits were set since the last commit */
	bool both;		/* then the other copy too (a full commit) */
};

struct clone_metadata {
	struct list_head list;		/* in the registry */
	unsigned int refs;
	struct mapped_device *owner;
	dev_t dest_dev;
	dev_t source_dev;

	struct block_device *bdev;
	struct dm_io_client *io;
	sector_t region_size;
	unsigned long nr_regions;
	unsigned long nr_blocks;	/* bitmap blocks in each copy */
	unsigned long grow_to;		/* while loading: the table's regions */
	unsigned long long dev_blocks;	/* metadata device size */
	u64 nonce;
	u64 format_time;
	u32 version;
	unsigned long ring_slots;	/* L, version 2 */
	u64 head;			/* the next ring position to write */
	u64 sb_ckpt[CLONE_SB_BLOCKS];	/* the checkpoint each copy names */
	enum clone_md_mode mode;

	spinlock_t lock;
	unsigned long *hydrated;	/* one bit per region */
	unsigned long nr_hydrated;
	unsigned long *dirty;		/* one bit per bitmap block */
	unsigned long nr_dirty;
	unsigned long *committed;	/* one bit per region: durable on disk */
	/*
	 * One bit per bitmap block: its two copies differ (@lagging), and
	 * then @newer_b tells which one holds everything committed (set:
	 * copy B). The other one is what the next write of the block
	 * replaces.
	 */
	unsigned long *lagging;
	unsigned long *newer_b;
	unsigned long nr_lagging;
	bool sb_stale[CLONE_SB_BLOCKS];	/* a superblock copy needs rewriting */
	/* Set when loaded: the valid superblock, to rewrite a stale one from. */
	void *sb_good;

	/*
	 * Writes issued to regions whose bit was not durable yet, and how
	 * many of them the last successful commit covered.
	 */
	atomic_long_t writes;
	unsigned long committed_writes;

	struct mutex commit_lock;
	void *buf;			/* @batch blocks, vmalloc'd */
	unsigned int batch;		/* 2 ... BATCH_BLOCKS, even */
	struct commit_entry *entries;	/* what each block of @buf is */
};

static LIST_HEAD(registry);
static DEFINE_MUTEX(registry_lock);

/* A metadata device being read (or formatted) for a table load. */
struct md_load {
	struct list_head list;		/* in loads */
	dev_t dev;
};
static LIST_HEAD(loads);

/* ---- Blocks ---- */

enum block_state {
	BLOCK_VALID,
	BLOCK_ZERO,		/* never written: an empty bitmap block */
	BLOCK_BAD,		/* damaged, misplaced or from another format */
	BLOCK_IO_ERROR,
};

static u32 block_csum(const void *block)
{
	return ~crc32c(~0U, block + 4, CLONE_BLOCK_SIZE - 4);
}

static void seal_block(void *block, u32 kind, u64 blocknr, u64 nonce,
		       u32 index, u32 copy)
{
	struct clone_block_header *h = block;

	h->kind = cpu_to_le32(kind);
	h->blocknr = cpu_to_le64(blocknr);
	h->nonce = cpu_to_le64(nonce);
	h->index = cpu_to_le32(index);
	h->copy = cpu_to_le32(copy);
	h->csum = cpu_to_le32(block_csum(block));
}

/*
 * Check the header of a block read from @blocknr. @nonce is NULL while the
 * superblock, which defines it, is being looked for. *why says what is wrong.
 */
static enum block_state check_block(const void *block, u32 kind, u64 blocknr,
				    const u64 *nonce, u32 index, u32 copy,
				    const char **why)
{
	const struct clone_block_header *h = block;

	if (!memchr_inv(block, 0, CLONE_BLOCK_SIZE)) {
		*why = "zeroed";
		return BLOCK_ZERO;
	}
	if (le32_to_cpu(h->csum) != block_csum(block)) {
		*why = "checksum mismatch";
		return BLOCK_BAD;
	}
	if (le32_to_cpu(h->kind) != kind) {
		*why = "wrong block kind";
		return BLOCK_BAD;
	}
	if (le64_to_cpu(h->blocknr) != blocknr ||
	    le32_to_cpu(h->index) != index || le32_to_cpu(h->copy) != copy) {
		*why = "misplaced block";
		return BLOCK_BAD;
	}
	if (nonce && le64_to_cpu(h->nonce) != *nonce) {
		*why = "left over from another format";
		return BLOCK_BAD;
	}
	*why = "valid";
	return BLOCK_VALID;
}

static int md_rw(struct clone_metadata *cmd, blk_opf_t opf, u64 block,
		 unsigned int count, void *data)
{
	struct dm_io_region where = {
		.bdev = cmd->bdev,
		.sector = block << (CLONE_BLOCK_SHIFT - SECTOR_SHIFT),
		.count = (sector_t)count << (CLONE_BLOCK_SHIFT - SECTOR_SHIFT),
	};
	struct dm_io_request req = {
		.bi_opf = opf,
		.mem.type = DM_IO_VMA,
		.mem.ptr.vma = data,
		.client = cmd->io,
	};
	unsigned long error_bits;

	return dm_io(&req, 1, &where, &error_bits, IOPRIO_DEFAULT);
}

/* Writes sent at once, and how the first of them to fail failed. */
struct md_wait {
	atomic_t pending;
	int error;
	struct completion done;
};

static void md_wait_init(struct md_wait *w)
{
	atomic_set(&w->pending, 1);
	w->error = 0;
	init_completion(&w->done);
}

static void md_put_wait(struct md_wait *w)
{
	if (atomic_dec_and_test(&w->pending))
		complete(&w->done);
}

static void md_async_done(unsigned long error_bits, void *context)
{
	struct md_wait *w = context;

	if (error_bits)
		cmpxchg(&w->error, 0, -EIO);
	md_put_wait(w);
}

/* Send a write of one block, not waiting for it: md_wait_all() does. */
static void md_write_async(struct clone_metadata *cmd, blk_opf_t opf, u64 block,
			   void *data, struct md_wait *w)
{
	struct dm_io_region where = {
		.bdev = cmd->bdev,
		.sector = block << (CLONE_BLOCK_SHIFT - SECTOR_SHIFT),
		.count = CLONE_BLOCK_SECTORS,
	};
	struct dm_io_request req = {
		.bi_opf = REQ_OP_WRITE | opf,
		.mem.type = DM_IO_VMA,
		.mem.ptr.vma = data,
		.notify.fn = md_async_done,
		.notify.context = w,
		.client = cmd->io,
	};
	int r;

	atomic_inc(&w->pending);
	r = dm_io(&req, 1, &where, NULL, IOPRIO_DEFAULT);
	if (r) {
		/* not sent: no callback will come */
		cmpxchg(&w->error, 0, r);
		md_put_wait(w);
	}
}

/* Wait for every write sent with @w; the first error, or 0. */
static int md_wait_all(struct md_wait *w)
{
	md_put_wait(w);
	wait_for_completion_io(&w->done);
	return w->error;
}

/*
 * Read @count blocks; on error read them one by one and record which failed
 * in @failed (a bitmap of @count bits), so one bad sector costs one block.
 */
static void md_read(struct clone_metadata *cmd, u64 block, unsigned int count,
		    void *data, unsigned long *failed)
{
	unsigned int i;

	bitmap_zero(failed, count);
	if (!md_rw(cmd, REQ_OP_READ, block, count, data))
		return;
	for (i = 0; i < count; i++)
		if (md_rw(cmd, REQ_OP_READ, block + i, 1,
			  data + i * CLONE_BLOCK_SIZE))
			__set_bit(i, failed);
}

static int md_flush(struct clone_metadata *cmd)
{
	int r;

	trace_clone_md_flush_begin(cmd->bdev->bd_dev, 0);
	r = blkdev_issue_flush(cmd->bdev);
	trace_clone_md_flush_end(cmd->bdev->bd_dev, r);
	return r;
}

/* ---- Superblock ---- */

/* Where copy @copy of bitmap block @k lives. */
static u64 copy_block(struct clone_metadata *cmd, u32 copy, unsigned long k)
{
	return clone_bitmap_block(cmd->version, cmd->ring_slots, cmd->nr_blocks,
				  k, copy);
}

static u64 bitmap_start(struct clone_metadata *cmd, u32 copy)
{
	return copy_block(cmd, copy, 0);
}

/* Blocks the format uses for @nr_regions regions. */
static unsigned long long blocks_for(struct clone_metadata *cmd,
				     unsigned long nr_regions)
{
	if (cmd->version < 2)
		return clone_metadata_blocks(nr_regions);
	return clone_metadata_blocks_v2(nr_regions, cmd->ring_slots);
}

static unsigned long long format_blocks(struct clone_metadata *cmd)
{
	return blocks_for(cmd, cmd->nr_regions);
}

static void build_superblock(struct clone_metadata *cmd, void *block, u32 copy)
{
	struct clone_superblock *sb = block;

	memset(block, 0, CLONE_BLOCK_SIZE);
	memcpy(sb->magic, CLONE_MAGIC, CLONE_MAGIC_SIZE);
	sb->version = cpu_to_le32(cmd->version);
	sb->region_size = cpu_to_le64(cmd->region_size);
	sb->nr_regions = cpu_to_le64(cmd->nr_regions);
	sb->bitmap_blocks = cpu_to_le64(cmd->nr_blocks);
	sb->copy_start[0] = cpu_to_le64(bitmap_start(cmd, 0));
	sb->copy_start[1] = cpu_to_le64(bitmap_start(cmd, 1));
	sb->block_size = cpu_to_le32(CLONE_BLOCK_SIZE);
	sb->bits_per_block = cpu_to_le32(CLONE_BITS_PER_BLOCK);
	sb->format_time = cpu_to_le64(cmd->format_time);
	if (cmd->version >= 2) {
		sb->checkpoint = cpu_to_le64(cmd->head);
		sb->ring_start = cpu_to_le64(clone_ring_block(0, 0));
		sb->ring_slots = cpu_to_le32(cmd->ring_slots);
	}
	seal_block(block, CLONE_KIND_SUPER, copy, cmd->nonce, 0, copy);
}

/*
 * Write superblock copy @copy (block @copy) and make it durable. In version
 * 2 it names the checkpoint ->head.
 */
static int write_superblock(struct clone_metadata *cmd, u32 copy, void *buf)
{
	int r;

	if (cmd->version < 2 && cmd->sb_good) {
		/* A repair: the body of the valid copy, reserved bytes and all. */
		memcpy(buf, cmd->sb_good, CLONE_BLOCK_SIZE);
		seal_block(buf, CLONE_KIND_SUPER, copy, cmd->nonce, 0, copy);
	} else {
		build_superblock(cmd, buf, copy);
	}
	r = md_rw(cmd, REQ_OP_WRITE, copy, 1, buf);
	return r ? r : md_flush(cmd);
}

/*
 * Check a valid superblock's body against the format and the table. Sets
 * *error and logs the details on a mismatch.
 */
static int check_superblock(struct clone_metadata *cmd,
			    const struct clone_superblock *sb, char **error)
{
	u64 nr_regions = le64_to_cpu(sb->nr_regions);
	u64 region_size = le64_to_cpu(sb->region_size);

	if (memcmp(sb->magic, CLONE_MAGIC, CLONE_MAGIC_SIZE)) {
		*error = "Metadata superblock has a bad magic";
		return -EILSEQ;
	}
	if (le32_to_cpu(sb->version) < CLONE_VERSION_MIN ||
	    le32_to_cpu(sb->version) > CLONE_VERSION_MAX) {
		DMERR("%pg: unsupported metadata version %u (this module reads versions %u to %u)",
		      cmd->bdev, le32_to_cpu(sb->version), CLONE_VERSION_MIN,
		      CLONE_VERSION_MAX);
		*error = "Unsupported metadata version";
		return -EINVAL;
	}
	if (le32_to_cpu(sb->flags)) {
		DMERR("%pg: unsupported metadata flags 0x%x",
		      cmd->bdev, le32_to_cpu(sb->flags));
		*error = "Unsupported metadata flags";
		return -EINVAL;
	}
	if (region_size != cmd->region_size) {
		DMERR("%pg: region size mismatch: the metadata was made with %llu sectors, the table says %llu",
		      cmd->bdev, region_size,
		      (unsigned long long)cmd->region_size);
		*error = "Region size mismatch with metadata";
		return -EINVAL;
	}
	if (nr_regions > cmd->nr_regions) {
		DMERR("%pg: the metadata describes %llu regions, the table only %lu: a clone cannot shrink (load it with its whole length)",
		      cmd->bdev, nr_regions, cmd->nr_regions);
		*error = "Table shorter than the clone in the metadata";
		return -EINVAL;
	}
	if (nr_regions < cmd->nr_regions) {
		if (le32_to_cpu(sb->version) < 2) {
			DMERR("%pg: the table asks for %lu regions, the metadata describes %llu: metadata format version 1 cannot grow; convert it to version 2 with clone_convert first",
			      cmd->bdev, cmd->nr_regions, nr_regions);
			*error = "Metadata format version 1 cannot grow";
			return -EINVAL;
		}
		/* A grow: load what the metadata holds, then grow it. */
		cmd->grow_to = cmd->nr_regions;
		cmd->nr_regions = nr_regions;
		cmd->nr_blocks = clone_bitmap_blocks(nr_regions);
	}
	cmd->version = le32_to_cpu(sb->version);
	cmd->ring_slots = 0;
	if (cmd->version >= 2) {
		cmd->ring_slots = le32_to_cpu(sb->ring_slots);
		if (cmd->ring_slots < CLONE_RING_MIN_SLOTS ||
		    le64_to_cpu(sb->ring_start) != clone_ring_block(0, 0) ||
		    sb->reserved ||
		    memchr_inv(sb + 1, 0, CLONE_BLOCK_SIZE - sizeof(*sb))) {
			DMERR("%pg: metadata superblock describes an inconsistent ring",
			      cmd->bdev);
			*error = "Metadata superblock is inconsistent";
			return -EILSEQ;
		}
	}
	if (le32_to_cpu(sb->block_size) != CLONE_BLOCK_SIZE ||
	    le32_to_cpu(sb->bits_per_block) != CLONE_BITS_PER_BLOCK ||
	    le64_to_cpu(sb->bitmap_blocks) != cmd->nr_blocks ||
	    le64_to_cpu(sb->copy_start[0]) != bitmap_start(cmd, 0) ||
	    le64_to_cpu(sb->copy_start[1]) != bitmap_start(cmd, 1)) {
		DMERR("%pg: metadata superblock describes an inconsistent layout",
		      cmd->bdev);
		*error = "Metadata superblock is inconsistent";
		return -EILSEQ;
	}
	return 0;
}

/* ---- Loading and formatting ---- */

/* Is the device large enough for @nr_regions regions (a grow: more)? */
static int check_size(struct clone_metadata *cmd, unsigned long nr_regions,
		      char **error)
{
	unsigned long long need = blocks_for(cmd, nr_regions);

	if (cmd->dev_blocks >= need)
		return 0;
	DMERR("%pg: metadata device too small: %llu sectors, need at least %llu sectors (%llu KiB) for %lu regions",
	      cmd->bdev, cmd->dev_blocks * CLONE_BLOCK_SECTORS,
	      need * CLONE_BLOCK_SECTORS, need * (CLONE_BLOCK_SIZE / 1024),
	      nr_regions);
	*error = "Metadata device too small";
	return -ENOSPC;
}

/*
 * What a zeroed device is formatted as: version 2 with as many ring slots as
 * fit, up to CLONE_RING_SLOTS; version 1 on a device too small for
 * CLONE_RING_MIN_SLOTS of them (check_size then says if even that does not
 * fit).
 */
static void choose_format(struct clone_metadata *cmd)
{
	unsigned long long v2;

	cmd->ring_slots = clone_ring_slots_for(cmd->nr_regions, cmd->dev_blocks);
	if (cmd->ring_slots) {
		cmd->version = CLONE_VERSION;
		return;
	}
	cmd->version = 1;
	if (cmd->dev_blocks < clone_metadata_blocks(cmd->nr_regions))
		return;
	v2 = clone_metadata_blocks_v2(cmd->nr_regions, CLONE_RING_MIN_SLOTS);
	DMWARN("%pg: metadata device too small for format version 2 (%llu KiB at least): formatting version 1",
	       cmd->bdev, v2 * (CLONE_BLOCK_SIZE / 1024));
}

/* Blocks [2, end of the format) must all read as zeroes before formatting. */
static int check_zeroed(struct clone_metadata *cmd, char **error)
{
	unsigned long long end = format_blocks(cmd);
	unsigned long long block = CLONE_SB_BLOCKS;
	DECLARE_BITMAP(failed, BATCH_BLOCKS);
	unsigned int i, n;
	void *p;

	while (block < end) {
		n = min_t(unsigned long long, cmd->batch, end - block);
		md_read(cmd, block, n, cmd->buf, failed);
		if (!bitmap_empty(failed, n)) {
			*error = "Cannot read metadata device";
			return -EIO;
		}
		p = memchr_inv(cmd->buf, 0, (size_t)n * CLONE_BLOCK_SIZE);
		if (p) {
			i = (p - cmd->buf) / CLONE_BLOCK_SIZE;
			DMERR("%pg: metadata device holds no dm-clone superblock and is not zeroed: block %llu holds data; refusing to format it (zero the whole device if it is the right one)",
			      cmd->bdev, block + i);
			*error = "Metadata device is not zeroed";
			return -EINVAL;
		}
		block += n;
	}
	return 0;
}

static int format_device(struct clone_metadata *cmd, char **error)
{
	int r;

	cmd->nonce = get_random_u64();
	cmd->format_time = ktime_get_real_seconds();
	/* Copy 1 first: until copy 0 is durable the device reads as ours. */
	r = write_superblock(cmd, 1, cmd->buf);
	if (!r)
		r = write_superblock(cmd, 0, cmd->buf);
	if (r) {
		*error = "Failed to format metadata device";
		return r;
	}
	DMINFO("%pg: formatted metadata version %u for %lu regions of %llu sectors, %lu ring slots",
	       cmd->bdev, cmd->version, cmd->nr_regions,
	       (unsigned long long)cmd->region_size, cmd->ring_slots);
	return 0;
}

/* Explain why neither superblock copy is usable, with what was found. */
static int refuse_device(struct clone_metadata *cmd, const void *blocks,
			 const char **why, char **error)
{
	const __le64 *upstream = blocks + CLONE_UPSTREAM_MAGIC_OFFSET;
	const struct clone_block_header *h;
	unsigned int i;

	if (le64_to_cpu(*upstream) == CLONE_UPSTREAM_MAGIC) {
		DMERR("%pg: metadata device holds in-kernel dm-clone (persistent-data) metadata; this module keeps its own format: convert it with clone_convert, or give a zeroed device",
		      cmd->bdev);
		*error = "Metadata of the in-kernel dm-clone found";
		return -EINVAL;
	}
	for (i = 0; i < CLONE_SB_BLOCKS; i++) {
		h = blocks + i * CLONE_BLOCK_SIZE;
		if (le32_to_cpu(h->kind) == CLONE_KIND_SUPER)
			break;
	}
	if (i < CLONE_SB_BLOCKS) {
		DMERR("%pg: no valid superblock: copy 0 %s, copy 1 %s; see clone_check, clone_repair rebuilds it",
		      cmd->bdev, why[0], why[1]);
		*error = "No valid metadata superblock";
		return -EILSEQ;
	}
	DMERR("%pg: metadata device is not zeroed and holds no dm-clone superblock (unrecognised data); refusing to format it (zero it first if it is the right device)",
	      cmd->bdev);
	*error = "Metadata device is not zeroed";
	return -EINVAL;
}

/* The checkpoint a valid superblock names: 0 in version 1. */
static u64 sb_checkpoint(const void *block)
{
	const struct clone_superblock *sb = block;

	return le32_to_cpu(sb->version) >= 2 ? le64_to_cpu(sb->checkpoint) : 0;
}

static bool same_bytes(const void *a, const void *b, size_t from, size_t to)
{
	return !memcmp(a + from, b + from, to - from);
}

/* The geometry a valid superblock names: its region count. */
static u64 sb_regions(const void *block)
{
	return le64_to_cpu(((const struct clone_superblock *)block)->nr_regions);
}

/*
 * Do two valid superblock copies describe the same metadata? In version 2
 * they may differ in the checkpoint they name (a checkpoint writes one,
 * then the other) and in the geometry, region count and bitmap blocks (a
 * grow is a checkpoint), as long as the copy with more regions names no
 * older checkpoint; in nothing else.
 */
static bool sb_agree(const void *a, const void *b)
{
	size_t geo = offsetof(struct clone_superblock, nr_regions);
	size_t ck = offsetof(struct clone_superblock, checkpoint);
	size_t ck_end = ck + sizeof_field(struct clone_superblock, checkpoint);

	if (le32_to_cpu(((const struct clone_superblock *)a)->version) < 2)
		return same_bytes(a, b, CLONE_HEADER_SIZE, CLONE_BLOCK_SIZE);
	if (sb_regions(a) < sb_regions(b))
		swap(a, b);
	if (sb_regions(a) > sb_regions(b)) {
		if (sb_checkpoint(a) < sb_checkpoint(b))
			return false;
		geo = offsetof(struct clone_superblock, copy_start);
	}
	return same_bytes(a, b, CLONE_HEADER_SIZE,
			  offsetof(struct clone_superblock, nr_regions)) &&
	       same_bytes(a, b, geo, ck) &&
	       same_bytes(a, b, ck_end, CLONE_BLOCK_SIZE);
}

/* Find and check the superblock; format the device if it is zeroed. */
static int load_superblock(struct clone_metadata *cmd, char **error)
{
	enum block_state state[CLONE_SB_BLOCKS];
	const char *why[CLONE_SB_BLOCKS];
	const struct clone_superblock *sb = NULL;
	DECLARE_BITMAP(failed, CLONE_SB_BLOCKS);
	void *b;
	int r;
	u32 i;

	if (cmd->dev_blocks < CLONE_SB_BLOCKS) {
		choose_format(cmd);
		return check_size(cmd, cmd->nr_regions, error);
	}

	md_read(cmd, 0, CLONE_SB_BLOCKS, cmd->buf, failed);
	for (i = 0; i < CLONE_SB_BLOCKS; i++) {
		b = cmd->buf + i * CLONE_BLOCK_SIZE;
		if (test_bit(i, failed)) {
			state[i] = BLOCK_IO_ERROR;
			why[i] = "unreadable";
			continue;
		}
		state[i] = check_block(b, CLONE_KIND_SUPER, i, NULL, 0, i,
				       &why[i]);
		if (state[i] == BLOCK_VALID && !sb)
			sb = b;
	}

	if (state[0] == BLOCK_ZERO && state[1] == BLOCK_ZERO) {
		choose_format(cmd);
		r = check_size(cmd, cmd->nr_regions, error);
		if (!r)
			r = check_zeroed(cmd, error);
		return r ? r : format_device(cmd, error);
	}
	if (!sb && (state[0] == BLOCK_IO_ERROR || state[1] == BLOCK_IO_ERROR)) {
		/* Not "foreign data": what failed to read was never looked at. */
		DMERR("%pg: cannot read the metadata superblock: copy 0 %s, copy 1 %s",
		      cmd->bdev, why[0], why[1]);
		*error = "Cannot read metadata device";
		return -EIO;
	}
	if (!sb)
		return refuse_device(cmd, cmd->buf, why, error);

	if (state[0] == BLOCK_VALID && state[1] == BLOCK_VALID) {
		if (!sb_agree(cmd->buf, cmd->buf + CLONE_BLOCK_SIZE)) {
			DMERR("%pg: the two superblock copies disagree; see clone_check",
			      cmd->bdev);
			*error = "Metadata superblock copies disagree";
			return -EILSEQ;
		}
		/*
		 * Version 2: the newer checkpoint (version 1 has none); of
		 * two that name the same one, the grown copy (a grow writes
		 * superblocks only once its bitmap blocks are durable).
		 */
		b = cmd->buf + CLONE_BLOCK_SIZE;
		if (sb_checkpoint(b) > sb_checkpoint(cmd->buf) ||
		    (sb_checkpoint(b) == sb_checkpoint(cmd->buf) &&
		     sb_regions(b) > sb_regions(cmd->buf)))
			sb = b;
	}

	r = check_superblock(cmd, sb, error);
	if (r)
		return r;
	r = check_size(cmd, max(cmd->nr_regions, cmd->grow_to), error);
	if (r)
		return r;

	cmd->nonce = le64_to_cpu(sb->hdr.nonce);
	cmd->format_time = le64_to_cpu(sb->format_time);
	cmd->head = sb_checkpoint(sb);
	for (i = 0; i < CLONE_SB_BLOCKS; i++) {
		b = cmd->buf + i * CLONE_BLOCK_SIZE;
		if (state[i] == BLOCK_VALID && sb_regions(b) != sb_regions(sb)) {
			/* Grown in one copy only: load's checkpoint ends it. */
			DMWARN("%pg: superblock copy %u names %llu regions, the copy in use %llu (a grow cut short): rewriting it",
			       cmd->bdev, i, sb_regions(b), sb_regions(sb));
			cmd->sb_ckpt[i] = sb_checkpoint(b);
			cmd->sb_stale[i] = true;
			continue;
		}
		if (state[i] == BLOCK_VALID) {
			cmd->sb_ckpt[i] = sb_checkpoint(b);
			continue;
		}
		DMWARN("%pg: superblock copy %u %s: rewriting it from copy %u",
		       cmd->bdev, i, why[i], !i);
		cmd->sb_stale[i] = true;
	}
	if (cmd->version < 2 && (cmd->sb_stale[0] || cmd->sb_stale[1])) {
		/* so that the copies agree again, whatever the body holds */
		cmd->sb_good = kmemdup(sb, CLONE_BLOCK_SIZE, GFP_KERNEL);
		if (!cmd->sb_good) {
			*error = "Cannot allocate metadata";
			return -ENOMEM;
		}
	}
	return 0;
}

/* Mark bitmap block @k as changed so that the next commit rewrites it. */
static void mark_dirty(struct clone_metadata *cmd, unsigned long k)
{
	if (!__test_and_set_bit(k, cmd->dirty))
		cmd->nr_dirty++;
}

/* Regions covered by bitmap block @k. */
static unsigned int block_bits(struct clone_metadata *cmd, unsigned long k)
{
	return min_t(unsigned long, CLONE_BITS_PER_BLOCK,
		     cmd->nr_regions - k * CLONE_BITS_PER_BLOCK);
}

/*
 * Record whether the copies of bitmap block @k differ and, if so, which one
 * holds everything committed (@newer: 0 for copy A, 1 for copy B).
 */
static void set_lagging(struct clone_metadata *cmd, unsigned long k,
			bool lagging, u32 newer)
{
	if (!lagging) {
		if (__test_and_clear_bit(k, cmd->lagging))
			WRITE_ONCE(cmd->nr_lagging, cmd->nr_lagging - 1);
		return;
	}
	if (!__test_and_set_bit(k, cmd->lagging))
		WRITE_ONCE(cmd->nr_lagging, cmd->nr_lagging + 1);
	__assign_bit(k, cmd->newer_b, newer);
}

/*
 * Merge the two copies of bitmap block @k (@a and @b, whose headers were
 * checked into @state) into the in-core bitmap. Returns -EIO if neither is
 * usable and one could not be read, -EILSEQ if both are damaged. A copy that
 * is unusable, or holds less than the other, is the one the next write
 * replaces; copies that each hold bits the other lacks were not written by
 * us, and the block is rewritten whole by the next commit.
 */
static int merge_block(struct clone_metadata *cmd, unsigned long k,
		       void *a, const void *b, enum block_state *state,
		       const char **why)
{
	__le64 *wa = a + CLONE_HEADER_SIZE;
	const __le64 *wb = b + CLONE_HEADER_SIZE;
	u64 *w = (u64 *)wa;
	unsigned int i, nbits = block_bits(cmd, k);
	unsigned int words = CLONE_PAYLOAD_SIZE / sizeof(u64);
	unsigned long first = k * CLONE_BITS_PER_BLOCK;
	bool usable[CLONE_COPIES];
	u64 only_a = 0, only_b = 0;
	bool stray = false;

	for (i = 0; i < CLONE_COPIES; i++)
		usable[i] = state[i] == BLOCK_VALID || state[i] == BLOCK_ZERO;
	if (!usable[0] && !usable[1]) {
		if (state[0] == BLOCK_IO_ERROR || state[1] == BLOCK_IO_ERROR) {
			/* A read error says nothing of what the block holds. */
			DMERR("%pg: cannot read bitmap block %lu (regions %lu-%lu): copy A %s, copy B %s",
			      cmd->bdev, k, first, first + nbits - 1,
			      why[0], why[1]);
			return -EIO;
		}
		DMERR("%pg: bitmap block %lu (regions %lu-%lu) is lost: copy A %s, copy B %s; clone_check tells what was lost, clone_repair salvages the rest",
		      cmd->bdev, k, first, first + nbits - 1, why[0], why[1]);
		return -EILSEQ;
	}

	for (i = 0; i < words; i++) {
		u64 x = usable[0] ? le64_to_cpu(wa[i]) : 0;
		u64 y = usable[1] ? le64_to_cpu(wb[i]) : 0;
		/* the bits of regions in this word (stray ones come below) */
		u64 mask = i * 64 >= nbits ? 0 : nbits - i * 64 >= 64 ?
			   ~0ULL : BIT_ULL(nbits - i * 64) - 1;

		only_a |= x & ~y & mask;
		only_b |= y & ~x & mask;
		w[i] = x | y;
	}
	/* Bits past the last region: not ours to keep. */
	for (i = nbits; i < CLONE_BITS_PER_BLOCK; i++) {
		if (w[i / 64] & BIT_ULL(i % 64)) {
			stray = true;
			break;
		}
	}
	bitmap_from_arr64(cmd->hydrated + first / BITS_PER_LONG, w, nbits);

	if (!usable[0] || !usable[1]) {
		DMWARN("%pg: bitmap block %lu copy %c %s: using copy %c and rewriting",
		       cmd->bdev, k, usable[0] ? 'B' : 'A',
		       why[usable[0] ? 1 : 0], usable[0] ? 'A' : 'B');
		set_lagging(cmd, k, true, usable[0] ? 0 : 1);
	} else if (only_a && only_b) {
		DMWARN("%pg: bitmap block %lu: each copy holds regions the other lacks: using both and rewriting",
		       cmd->bdev, k);
		mark_dirty(cmd, k);
	} else if (only_a || only_b) {
		set_lagging(cmd, k, true, only_a ? 0 : 1);
	}
	if (stray) {
		DMWARN("%pg: bitmap block %lu has bits set past the last region: cleared",
		       cmd->bdev, k);
		mark_dirty(cmd, k);
	}
	return 0;
}

/*
 * Read the bitmap, both copies of @batch / 2 blocks a step: in version 1 a
 * run of copy A's blocks and one of copy B's, in version 2 one run where the
 * copies alternate. Block i of the step, copy c, is block j of the buffer.
 */
static int load_bitmap(struct clone_metadata *cmd, char **error)
{
	DECLARE_BITMAP(failed, BATCH_BLOCKS);
	DECLARE_BITMAP(failed_b, BATCH_BLOCKS);
	void *half = cmd->buf + (cmd->batch / 2) * CLONE_BLOCK_SIZE;
	unsigned long start, k, n, step = cmd->batch / 2;
	enum block_state state[CLONE_COPIES];
	const char *why[CLONE_COPIES];
	unsigned int i, j, c;
	void *blk[CLONE_COPIES];
	int r;

	for (start = 0; start < cmd->nr_blocks; start += n) {
		n = min(step, cmd->nr_blocks - start);
		if (cmd->version < 2) {
			md_read(cmd, copy_block(cmd, 0, start), n, cmd->buf,
				failed);
			md_read(cmd, copy_block(cmd, 1, start), n, half,
				failed_b);
			for (i = 0; i < n; i++)
				__assign_bit(step + i, failed,
					     test_bit(i, failed_b));
		} else {
			md_read(cmd, copy_block(cmd, 0, start), 2 * n, cmd->buf,
				failed);
		}
		for (i = 0; i < n; i++) {
			k = start + i;
			for (c = 0; c < CLONE_COPIES; c++) {
				u64 where = copy_block(cmd, c, k);

				j = cmd->version < 2 ? c * step + i : 2 * i + c;
				blk[c] = cmd->buf + j * CLONE_BLOCK_SIZE;
				if (test_bit(j, failed)) {
					state[c] = BLOCK_IO_ERROR;
					why[c] = "unreadable";
					continue;
				}
				state[c] = check_block(blk[c], CLONE_KIND_BITMAP,
						       where, &cmd->nonce, k, c,
						       &why[c]);
			}
			r = merge_block(cmd, k, blk[0], blk[1], state, why);
			if (r) {
				*error = r == -EIO ?
					 "Cannot read metadata device" :
					 "Metadata bitmap block lost in both copies";
				return r;
			}
		}
		cond_resched();
	}
	cmd->nr_hydrated = bitmap_weight(cmd->hydrated, cmd->nr_regions);
	return 0;
}

/* ---- Version 2: the ring of records ---- */

/* What a copy of the ring slot of position @pos holds, for load. */
enum record_state {
	RECORD_VALID,		/* the record of @pos */
	RECORD_NONE,		/* zeroed, torn, older, or not a record */
	RECORD_NEWER,		/* a record of a later lap: the ring was reused */
	RECORD_CORRUPT,		/* sealed, of @pos, but its body is invalid */
	RECORD_IO_ERROR,
};

static const char *const record_state_name[] = {
	"valid", "no record", "a newer record", "corrupt", "unreadable",
};

static enum record_state check_record(struct clone_metadata *cmd,
				      const void *block, u64 pos, u32 copy)
{
	const struct clone_record *rec = block;
	unsigned long slot = pos % cmd->ring_slots;
	u32 i, n = le32_to_cpu(rec->nr_runs);
	u64 first, count, seq;
	const char *why;

	seq = le64_to_cpu(rec->seq);
	if (check_block(block, CLONE_KIND_RECORD, clone_ring_block(slot, copy),
			&cmd->nonce, slot, copy, &why) != BLOCK_VALID) {
		/*
		 * Torn or never written: the log's end. Sealed as the record
		 * of @pos but misplaced or of another format: not that.
		 */
		if (le32_to_cpu(rec->hdr.csum) == block_csum(block) &&
		    le32_to_cpu(rec->hdr.kind) == CLONE_KIND_RECORD &&
		    seq == pos + 1)
			return RECORD_CORRUPT;
		return RECORD_NONE;
	}
	if (seq > pos + 1)
		return RECORD_NEWER;
	if (seq != pos + 1)
		return RECORD_NONE;
	if (!n || n > CLONE_RECORD_RUNS || rec->confirm || rec->reserved)
		return RECORD_CORRUPT;
	for (i = 0; i < n; i++) {
		first = le32_to_cpu(rec->runs[i].first);
		count = le32_to_cpu(rec->runs[i].count);
		if (!count || first + count > cmd->nr_regions ||
		    rec->runs[i].csum || rec->runs[i].flags)
			return RECORD_CORRUPT;
	}
	if (memchr_inv(&rec->runs[n], 0, CLONE_BLOCK_SIZE - CLONE_RECORD_HEADER -
		       n * sizeof(rec->runs[0])))
		return RECORD_CORRUPT;
	return RECORD_VALID;
}

/* Read both copies of the slot of @pos into the buffer and check them. */
static void read_record(struct clone_metadata *cmd, u64 pos,
			enum record_state *state)
{
	DECLARE_BITMAP(failed, CLONE_COPIES);
	u32 c;

	md_read(cmd, clone_ring_block(pos % cmd->ring_slots, 0), CLONE_COPIES,
		cmd->buf, failed);
	for (c = 0; c < CLONE_COPIES; c++)
		state[c] = test_bit(c, failed) ? RECORD_IO_ERROR :
			   check_record(cmd, cmd->buf + c * CLONE_BLOCK_SIZE,
					pos, c);
}

/* The regions a valid record names are hydrated: the checkpoint writes them. */
static void apply_record(struct clone_metadata *cmd,
			 const struct clone_record *rec)
{
	u32 i, n = le32_to_cpu(rec->nr_runs);
	unsigned long first, end, k;

	for (i = 0; i < n; i++) {
		first = le32_to_cpu(rec->runs[i].first);
		end = first + le32_to_cpu(rec->runs[i].count);
		bitmap_set(cmd->hydrated, first, end - first);
		for (k = first / CLONE_BITS_PER_BLOCK;
		     k <= (end - 1) / CLONE_BITS_PER_BLOCK; k++)
			mark_dirty(cmd, k);
	}
}

/*
 * Replay the records from the checkpoint on, while their sequence follows,
 * at most a ring's worth; ->head ends past the last one. Where they stop
 * the slot may hold nothing, an older record or a torn one (the log's end
 * at a crash); a newer record there means the ring was written over past
 * the checkpoint, a record after it that the log was cut in the middle
 * (both copies of one lost), and both copies unreadable leave a record
 * acknowledged there possible: refused, all of them.
 */
static int replay_ring(struct clone_metadata *cmd, unsigned long *replayed,
		       char **error)
{
	u64 pos, end = cmd->head + cmd->ring_slots;
	enum record_state state[CLONE_COPIES], next[CLONE_COPIES];
	u32 c;

	*replayed = 0;
	for (pos = cmd->head; pos < end; pos++) {
		read_record(cmd, pos, state);
		if (state[0] != RECORD_VALID && state[1] != RECORD_VALID)
			break;
		for (c = 0; c < CLONE_COPIES; c++)
			if (state[c] == RECORD_VALID)
				apply_record(cmd, cmd->buf + c * CLONE_BLOCK_SIZE);
		(*replayed)++;
		cond_resched();
	}
	cmd->head = pos;
	cmd->nr_hydrated = bitmap_weight(cmd->hydrated, cmd->nr_regions);
	if (pos == end)
		return 0;

	if (state[0] == RECORD_NEWER || state[1] == RECORD_NEWER ||
	    state[0] == RECORD_CORRUPT || state[1] == RECORD_CORRUPT) {
		DMERR("%pg: metadata record ring slot %llu (position %llu, after the checkpoint at %llu): copy 0 %s, copy 1 %s; the ring does not hold what the superblock says: see clone_check",
		      cmd->bdev, pos % cmd->ring_slots, pos, end - cmd->ring_slots,
		      record_state_name[state[0]], record_state_name[state[1]]);
		*error = "Metadata record ring is inconsistent";
		return -EILSEQ;
	}
	if (state[0] == RECORD_IO_ERROR && state[1] == RECORD_IO_ERROR) {
		DMERR("%pg: cannot read either copy of metadata ring slot %llu (position %llu): a record committed there cannot be ruled out; see clone_check",
		      cmd->bdev, pos % cmd->ring_slots, pos);
		*error = "Cannot read metadata device";
		return -EIO;
	}
	if (pos + 1 < end) {
		read_record(cmd, pos + 1, next);
		if (next[0] == RECORD_VALID || next[1] == RECORD_VALID) {
			DMERR("%pg: metadata record at ring position %llu is lost (copy 0 %s, copy 1 %s) while the next one is there: regions it marked may be lost; see clone_check",
			      cmd->bdev, pos, record_state_name[state[0]],
			      record_state_name[state[1]]);
			*error = "Metadata record lost";
			return -EILSEQ;
		}
	}
	return 0;
}

/*
 * The runs of regions hydrated and not yet durable, in the changed bitmap
 * blocks, into @rec; CLONE_RECORD_RUNS + 1 if they do not fit.
 */
static unsigned int gather_runs(struct clone_metadata *cmd,
				struct clone_record *rec)
{
	unsigned long k, r, e, end, flags;
	struct clone_record_run *run = NULL;
	unsigned int n = 0;

	for (k = find_first_bit(cmd->dirty, cmd->nr_blocks); k < cmd->nr_blocks;
	     k = find_next_bit(cmd->dirty, cmd->nr_blocks, k + 1)) {
		r = k * CLONE_BITS_PER_BLOCK;
		end = r + block_bits(cmd, k);
		spin_lock_irqsave(&cmd->lock, flags);
		while ((r = find_next_zero_bit(cmd->committed, end, r)) < end) {
			if (!test_bit(r, cmd->hydrated)) {
				r = find_next_bit(cmd->hydrated, end, r);
				continue;
			}
			e = min(find_next_bit(cmd->committed, end, r),
				find_next_zero_bit(cmd->hydrated, end, r));
			if (run && le32_to_cpu(run->first) +
				   le32_to_cpu(run->count) == r) {
				le32_add_cpu(&run->count, e - r);
				r = e;
				continue;
			}
			if (n == CLONE_RECORD_RUNS) {
				spin_unlock_irqrestore(&cmd->lock, flags);
				return n + 1;
			}
			run = &rec->runs[n++];
			run->first = cpu_to_le32(r);
			run->count = cpu_to_le32(e - r);
			r = e;
		}
		spin_unlock_irqrestore(&cmd->lock, flags);
	}
	return n;
}

/*
 * A quick commit in version 2: flush the destination, then write the
 * record of ring position ->head, both copies at once with FUA. -EAGAIN if
 * the ring is full or the runs do not fit in a record: a checkpoint then.
 */
static int commit_record(struct clone_metadata *cmd, struct block_device *dest,
			 bool *dest_flushed)
{
	struct clone_record *rec = cmd->buf;
	u64 pos = cmd->head;
	unsigned long slot = pos % cmd->ring_slots;
	struct md_wait w;
	unsigned int n, i;
	int r;
	u32 c;

	memset(rec, 0, CLONE_BLOCK_SIZE);
	n = gather_runs(cmd, rec);
	if (!n)
		return 0;
	if (n > CLONE_RECORD_RUNS ||
	    pos - min(cmd->sb_ckpt[0], cmd->sb_ckpt[1]) >= cmd->ring_slots)
		return -EAGAIN;
	rec->seq = cpu_to_le64(pos + 1);
	rec->nr_runs = cpu_to_le32(n);

	trace_clone_dest_flush_begin(cmd->bdev->bd_dev, 0);
	r = blkdev_issue_flush(dest);
	trace_clone_dest_flush_end(cmd->bdev->bd_dev, r);
	if (r)
		return r;
	if (dest_flushed)
		*dest_flushed = true;

	memcpy(cmd->buf + CLONE_BLOCK_SIZE, rec, CLONE_BLOCK_SIZE);
	trace_clone_record_begin(cmd->bdev->bd_dev, pos, n, 0);
	for (i = 0; i < n; i++)
		trace_clone_record_run(cmd->bdev->bd_dev, pos,
				       le32_to_cpu(rec->runs[i].first),
				       le32_to_cpu(rec->runs[i].count));
	md_wait_init(&w);
	for (c = 0; c < CLONE_COPIES; c++) {
		void *b = cmd->buf + c * CLONE_BLOCK_SIZE;

		seal_block(b, CLONE_KIND_RECORD, clone_ring_block(slot, c),
			   cmd->nonce, slot, c);
		md_write_async(cmd, REQ_SYNC | REQ_FUA, clone_ring_block(slot, c),
			       b, &w);
	}
	r = md_wait_all(&w);
	trace_clone_record_end(cmd->bdev->bd_dev, pos, n, r);
	if (r)
		return r;
	cmd->head = pos + 1;
	for (i = 0; i < n; i++)
		bitmap_set(cmd->committed, le32_to_cpu(rec->runs[i].first),
			   le32_to_cpu(rec->runs[i].count));
	return 0;
}

/*
 * The end of a checkpoint in version 2: each superblock copy that does not
 * name ->head yet, the damaged one or the one naming the older checkpoint
 * first, each made durable before the other is written.
 */
static int write_superblocks(struct clone_metadata *cmd)
{
	u32 first, i, c;
	int r;

	first = cmd->sb_stale[1] ||
		(!cmd->sb_stale[0] && cmd->sb_ckpt[1] < cmd->sb_ckpt[0]);
	for (i = 0; i < CLONE_SB_BLOCKS; i++) {
		c = first ^ i;
		if (!cmd->sb_stale[c] && cmd->sb_ckpt[c] == cmd->head)
			continue;
		r = write_superblock(cmd, c, cmd->buf);
		trace_clone_sb_write(cmd->bdev->bd_dev, c, cmd->head, r);
		if (r)
			return r;
		cmd->sb_ckpt[c] = cmd->head;
		WRITE_ONCE(cmd->sb_stale[c], false);
	}
	return 0;
}

/* ---- Creation and the registry ---- */

/* The in-core maps, and the commit scratch space sized for them. */
struct md_maps {
	unsigned long *hydrated, *committed;		/* a bit per region */
	unsigned long *dirty, *lagging, *newer_b;	/* a bit per block */
	struct commit_entry *entries;
	void *buf;
};

static void free_maps(struct md_maps *m)
{
	kvfree(m->hydrated);
	kvfree(m->committed);
	kvfree(m->dirty);
	kvfree(m->lagging);
	kvfree(m->newer_b);
	kfree(m->entries);
	vfree(m->buf);
}

static void free_metadata(struct clone_metadata *cmd)
{
	struct md_maps m = {
		cmd->hydrated, cmd->committed, cmd->dirty, cmd->lagging,
		cmd->newer_b, cmd->entries, cmd->buf,
	};

	kfree(cmd->sb_good);
	if (!IS_ERR_OR_NULL(cmd->io))
		dm_io_client_destroy(cmd->io);
	free_maps(&m);
	kfree(cmd);
}

/*
 * The in-core maps for @nr_regions regions (more than now, or the first
 * ones), what they hold kept. Scratch space (the commit buffer and its
 * entries) is sized for the new bitmap too.
 */
static int resize_maps(struct clone_metadata *cmd, unsigned long nr_regions)
{
	unsigned long nr_blocks = clone_bitmap_blocks(nr_regions), flags;
	unsigned int batch = min_t(unsigned long, BATCH_BLOCKS,
				   2 * max(nr_blocks, 1UL));
	size_t rl = BITS_TO_LONGS(nr_regions), bl = BITS_TO_LONGS(nr_blocks);
	struct md_maps m = {
		.hydrated = kvcalloc(rl, sizeof(long), GFP_KERNEL),
		.committed = kvcalloc(rl, sizeof(long), GFP_KERNEL),
		.dirty = kvcalloc(bl, sizeof(long), GFP_KERNEL),
		.lagging = kvcalloc(bl, sizeof(long), GFP_KERNEL),
		.newer_b = kvcalloc(bl, sizeof(long), GFP_KERNEL),
		.entries = kcalloc(batch, sizeof(*m.entries), GFP_KERNEL),
		.buf = vmalloc(batch * CLONE_BLOCK_SIZE),
	};

	if (!m.hydrated || !m.committed || !m.dirty || !m.lagging ||
	    !m.newer_b || !m.entries || !m.buf) {
		free_maps(&m);
		return -ENOMEM;
	}

	spin_lock_irqsave(&cmd->lock, flags);
	if (cmd->hydrated) {
		bitmap_copy(m.hydrated, cmd->hydrated, cmd->nr_regions);
		bitmap_copy(m.committed, cmd->committed, cmd->nr_regions);
		bitmap_copy(m.dirty, cmd->dirty, cmd->nr_blocks);
		bitmap_copy(m.lagging, cmd->lagging, cmd->nr_blocks);
		bitmap_copy(m.newer_b, cmd->newer_b, cmd->nr_blocks);
	}
	swap(cmd->hydrated, m.hydrated);
	swap(cmd->committed, m.committed);
	swap(cmd->dirty, m.dirty);
	swap(cmd->lagging, m.lagging);
	swap(cmd->newer_b, m.newer_b);
	spin_unlock_irqrestore(&cmd->lock, flags);
	swap(cmd->entries, m.entries);
	swap(cmd->buf, m.buf);
	cmd->batch = batch;
	free_maps(&m);		/* the old ones */
	return 0;
}

/*
 * Version 2: the clone now has @nr_regions regions (more than the metadata
 * on disk describes; the maps hold them). The next checkpoint writes both
 * copies of every new bitmap block (what the device held past the old
 * format is not trusted to be zero), then both superblocks with the new
 * geometry, one after the other: ring.pml's GROW. Until both are durable
 * the clone must take no I/O: a clone that ran on the new geometry once one
 * copy was could log records for regions the other copy, if it is the one
 * left readable, does not have.
 */
static void grow_geometry(struct clone_metadata *cmd, unsigned long nr_regions)
{
	unsigned long k, old_blocks = cmd->nr_blocks, flags;

	DMINFO("%pg: growing the clone from %lu to %lu regions",
	       cmd->bdev, cmd->nr_regions, nr_regions);
	spin_lock_irqsave(&cmd->lock, flags);
	cmd->nr_regions = nr_regions;
	cmd->nr_blocks = clone_bitmap_blocks(nr_regions);
	for (k = old_blocks; k < cmd->nr_blocks; k++)
		mark_dirty(cmd, k);
	spin_unlock_irqrestore(&cmd->lock, flags);
	cmd->sb_stale[0] = true;
	cmd->sb_stale[1] = true;
}

/*
 * Version 2: what load found goes into a checkpoint before the clone takes
 * any I/O, so that nothing it serves rests on one copy of a block or on a
 * record (the next load would not replay a record once a later one reused
 * its slot). If that fails the metadata is read-only, as after any failed
 * commit; a load that grows the clone is refused instead (the new geometry
 * is not durable, the table cannot run on the old one).
 */
static int load_checkpoint(struct clone_metadata *cmd,
			   struct block_device *dest, unsigned long replayed,
			   char **error)
{
	int r;

	if (!replayed && !clone_md_changed(cmd) &&
	    cmd->sb_ckpt[0] == cmd->head && cmd->sb_ckpt[1] == cmd->head)
		return 0;
	r = clone_md_commit(cmd, dest, false, NULL);
	if (!r) {
		DMINFO("%pg: %lu metadata records replayed, checkpoint at %llu",
		       cmd->bdev, replayed, cmd->head);
		return 0;
	}
	if (cmd->grow_to) {
		DMERR("%pg: metadata commit failed (error %d) writing the grown geometry: the clone was not grown",
		      cmd->bdev, r);
		*error = "Cannot write the grown metadata";
		return r;
	}
	DMERR("%pg: metadata commit failed (error %d) writing the checkpoint of what was loaded: metadata is read-only; reload the table once the metadata device works again",
	      cmd->bdev, r);
	cmd->mode = CLONE_MD_RO;
	return 0;
}

static struct clone_metadata *create_metadata(struct dm_dev *meta,
					      struct block_device *dest,
					      sector_t region_size,
					      unsigned long nr_regions,
					      char **error)
{
	struct clone_metadata *cmd;
	unsigned long replayed = 0;
	int r = -ENOMEM;

	BUILD_BUG_ON(sizeof(struct clone_block_header) != CLONE_HEADER_SIZE);
	BUILD_BUG_ON(sizeof(struct clone_superblock) > CLONE_BLOCK_SIZE);
	BUILD_BUG_ON(CLONE_BITS_PER_BLOCK % 64);

	cmd = kzalloc(sizeof(*cmd), GFP_KERNEL);
	if (!cmd) {
		*error = "Cannot allocate metadata";
		return ERR_PTR(-ENOMEM);
	}
	cmd->bdev = meta->bdev;
	cmd->region_size = region_size;
	cmd->dev_blocks = bdev_nr_sectors(meta->bdev) >>
			  (CLONE_BLOCK_SHIFT - SECTOR_SHIFT);
	cmd->mode = CLONE_MD_RW;
	spin_lock_init(&cmd->lock);
	mutex_init(&cmd->commit_lock);
	atomic_long_set(&cmd->writes, 0);

	cmd->io = dm_io_client_create();
	if (IS_ERR(cmd->io) || resize_maps(cmd, nr_regions)) {
		*error = "Cannot allocate metadata";
		goto bad;
	}
	cmd->nr_regions = nr_regions;
	cmd->nr_blocks = clone_bitmap_blocks(nr_regions);

	/* A grow loads what the metadata describes, fewer regions. */
	r = load_superblock(cmd, error);
	if (!r)
		r = load_bitmap(cmd, error);
	if (!r && cmd->version >= 2)
		r = replay_ring(cmd, &replayed, error);
	if (r)
		goto bad;
	/* What one usable copy holds is durable. */
	bitmap_copy(cmd->committed, cmd->hydrated, cmd->nr_regions);
	trace_clone_load(cmd->bdev->bd_dev, cmd->nr_regions,
			 CLONE_BITS_PER_BLOCK, cmd->nr_hydrated,
			 cmd->ring_slots, cmd->head);
	if (cmd->grow_to)
		grow_geometry(cmd, cmd->grow_to);
	if (cmd->version >= 2)
		r = load_checkpoint(cmd, dest, replayed, error);
	if (r)
		goto bad;
	cmd->grow_to = 0;
	return cmd;
bad:
	free_metadata(cmd);
	return ERR_PTR(r);
}

/*
 * A live table of the same device already has this metadata open (a table
 * reload): share its in-core state, which may be newer than the disk. NULL
 * if the state must be read from disk instead.
 */
static struct clone_metadata *share_live(struct clone_metadata *cmd,
					 struct mapped_device *owner,
					 dev_t dest, dev_t source,
					 sector_t region_size,
					 unsigned long nr_regions, char **error)
{
	if (cmd->owner != owner) {
		*error = "Metadata device is in use by another clone device";
		return ERR_PTR(-EBUSY);
	}
	if (cmd->dest_dev != dest || cmd->source_dev != source) {
		*error = "The live table on this metadata uses another destination or source";
		return ERR_PTR(-EINVAL);
	}
	if (cmd->region_size != region_size) {
		*error = "Region size mismatch with the live table";
		return ERR_PTR(-EINVAL);
	}
	if (nr_regions < cmd->nr_regions) {
		DMERR("%pg: the live table has %lu regions, the new one only %lu: a clone cannot shrink",
		      cmd->bdev, cmd->nr_regions, nr_regions);
		*error = "Table shorter than the live clone";
		return ERR_PTR(-EINVAL);
	}
	if (nr_regions > cmd->nr_regions) {
		/* A grow, at the new table's resume (clone_md_grow()). */
		if (cmd->version < 2) {
			DMERR("%pg: metadata format version 1 cannot grow: convert it to version 2 with clone_convert first",
			      cmd->bdev);
			*error = "Metadata format version 1 cannot grow";
			return ERR_PTR(-EINVAL);
		}
		cmd->dev_blocks = bdev_nr_sectors(cmd->bdev) >>
				  (CLONE_BLOCK_SHIFT - SECTOR_SHIFT);
		if (check_size(cmd, nr_regions, error))
			return ERR_PTR(-ENOSPC);
	}
	if (READ_ONCE(cmd->mode) == CLONE_MD_FAIL) {
		/* Do not inherit a failed state. */
		list_del_init(&cmd->list);
		return NULL;
	}
	cmd->refs++;
	return cmd;
}

/* Is a load of metadata device @dev under way? With registry_lock held. */
static bool loading(dev_t dev)
{
	struct md_load *load;

	list_for_each_entry(load, &loads, list)
		if (load->dev == dev)
			return true;
	return false;
}

struct clone_metadata *clone_md_get(struct mapped_device *owner,
				    struct dm_dev *meta, struct dm_dev *dest,
				    struct dm_dev *source, sector_t region_size,
				    unsigned long nr_regions, char **error)
{
	dev_t dest_dev = dest->bdev->bd_dev, source_dev = source->bdev->bd_dev;
	struct md_load load = { .dev = meta->bdev->bd_dev };
	struct clone_metadata *cmd = NULL, *live;

	mutex_lock(&registry_lock);
	/* Another load of this device (rare: two at once) goes first. */
	while (loading(load.dev)) {
		mutex_unlock(&registry_lock);
		msleep(20);
		mutex_lock(&registry_lock);
	}
	list_for_each_entry(live, &registry, list) {
		if (live->bdev->bd_dev == load.dev) {
			cmd = share_live(live, owner, dest_dev, source_dev,
					 region_size, nr_regions, error);
			break;
		}
	}
	if (cmd) {
		mutex_unlock(&registry_lock);
		return cmd;
	}
	list_add(&load.list, &loads);
	mutex_unlock(&registry_lock);

	cmd = create_metadata(meta, dest->bdev, region_size, nr_regions, error);

	mutex_lock(&registry_lock);
	list_del(&load.list);
	if (!IS_ERR(cmd)) {
		cmd->refs = 1;
		cmd->owner = owner;
		cmd->dest_dev = dest_dev;
		cmd->source_dev = source_dev;
		list_add(&cmd->list, &registry);
	}
	mutex_unlock(&registry_lock);
	return cmd;
}

void clone_md_put(struct clone_metadata *cmd)
{
	mutex_lock(&registry_lock);
	if (--cmd->refs) {
		mutex_unlock(&registry_lock);
		return;
	}
	list_del(&cmd->list);
	mutex_unlock(&registry_lock);
	free_metadata(cmd);
}

int clone_md_grow(struct clone_metadata *cmd, struct block_device *dest,
		  unsigned long nr_regions)
{
	char *error;
	int r;

	if (nr_regions <= READ_ONCE(cmd->nr_regions))
		return 0;
	mutex_lock(&cmd->commit_lock);
	if (READ_ONCE(cmd->mode) != CLONE_MD_RW) {
		DMERR("%pg: cannot grow the clone to %lu regions: the metadata is read-only",
		      cmd->bdev, nr_regions);
		r = -EROFS;
		goto out;
	}
	/* A metadata device grown in place is used as it is now. */
	cmd->dev_blocks = bdev_nr_sectors(cmd->bdev) >>
			  (CLONE_BLOCK_SHIFT - SECTOR_SHIFT);
	r = check_size(cmd, nr_regions, &error);
	if (!r)
		r = resize_maps(cmd, nr_regions);
	if (!r)
		grow_geometry(cmd, nr_regions);
out:
	mutex_unlock(&cmd->commit_lock);
	if (r)
		return r;
	r = clone_md_commit(cmd, dest, false, NULL);
	if (r) {
		DMERR("%pg: metadata commit failed (error %d) writing the grown geometry: metadata is read-only; resume again once the metadata device works",
		      cmd->bdev, r);
		clone_md_set_mode(cmd, CLONE_MD_RO);
	}
	return r;
}

/* ---- Hydration state ---- */

bool clone_md_hydrated(struct clone_metadata *cmd, unsigned long region)
{
	return test_bit(region, cmd->hydrated);
}

unsigned long clone_md_next_unhydrated(struct clone_metadata *cmd,
				       unsigned long from, unsigned long limit)
{
	return find_next_zero_bit(cmd->hydrated, limit, from);
}

unsigned long clone_md_next_hydrated(struct clone_metadata *cmd,
				     unsigned long from, unsigned long limit)
{
	return find_next_bit(cmd->hydrated, limit, from);
}

unsigned long clone_md_nr_hydrated(struct clone_metadata *cmd)
{
	return READ_ONCE(cmd->nr_hydrated);
}

/* Set the clear bits of [start, end), all in one bitmap block. */
static unsigned long set_in_block(struct clone_metadata *cmd, unsigned long k,
				  unsigned long start, unsigned long end)
{
	unsigned long r, e, n = 0;
	unsigned long flags;

	spin_lock_irqsave(&cmd->lock, flags);
	r = find_next_zero_bit(cmd->hydrated, end, start);
	if (r < end) {
		mark_dirty(cmd, k);
		trace_clone_set(cmd->bdev->bd_dev, start, end);
	}
	while (r < end) {
		e = find_next_bit(cmd->hydrated, end, r);
		bitmap_set(cmd->hydrated, r, e - r);
		n += e - r;
		r = find_next_zero_bit(cmd->hydrated, end, e);
	}
	cmd->nr_hydrated += n;
	spin_unlock_irqrestore(&cmd->lock, flags);
	return n;
}

unsigned long clone_md_set_hydrated(struct clone_metadata *cmd,
				    unsigned long start, unsigned long nr)
{
	unsigned long end = start + nr, stop, k, n = 0;

	/* One block at a time, to keep interrupts off for short. */
	while (start < end) {
		k = start / CLONE_BITS_PER_BLOCK;
		stop = min(end, (k + 1) * CLONE_BITS_PER_BLOCK);
		n += set_in_block(cmd, k, start, stop);
		start = stop;
	}
	return n;
}

bool clone_md_committed(struct clone_metadata *cmd, unsigned long start,
			unsigned long nr)
{
	return find_next_zero_bit(cmd->committed, start + nr, start) >=
	       start + nr;
}

void clone_md_note_write(struct clone_metadata *cmd, unsigned long start,
			 unsigned long nr)
{
	if (!clone_md_committed(cmd, start, nr))
		atomic_long_inc(&cmd->writes);
}

void clone_md_committed_map(struct clone_metadata *cmd, unsigned long *map)
{
	bitmap_copy(map, cmd->committed, cmd->nr_regions);
}

bool clone_md_flush_needs_commit(struct clone_metadata *cmd)
{
	return atomic_long_read(&cmd->writes) != READ_ONCE(cmd->committed_writes);
}

bool clone_md_changed(struct clone_metadata *cmd)
{
	return READ_ONCE(cmd->nr_dirty) || READ_ONCE(cmd->nr_lagging) ||
	       READ_ONCE(cmd->sb_stale[0]) || READ_ONCE(cmd->sb_stale[1]);
}

/* ---- Commit ---- */

/*
 * Take up to @batch blocks to write, from block *@from on: the changed ones,
 * and for a full commit also those whose copies differ. Copy their bits
 * into the commit buffer and decide which copies each one gets; *@from
 * moves past the last one. Returns how many. Each block is taken under
 * cmd->lock of its own (its bits copied and its dirty bit cleared at once):
 * a batch is up to 1 MiB, too much to copy with interrupts off.
 */
static unsigned int snapshot(struct clone_metadata *cmd, bool quick,
			     unsigned long *from)
{
	unsigned long k = *from, next, flags;
	struct commit_entry *e;
	unsigned int n = 0;
	void *block;

	while (n < cmd->batch) {
		spin_lock_irqsave(&cmd->lock, flags);
		next = find_next_bit(cmd->dirty, cmd->nr_blocks, k);
		if (!quick)
			next = min(next, find_next_bit(cmd->lagging,
						       cmd->nr_blocks, k));
		k = next;
		if (k >= cmd->nr_blocks) {
			spin_unlock_irqrestore(&cmd->lock, flags);
			break;
		}
		block = cmd->buf + n * CLONE_BLOCK_SIZE;
		bitmap_to_arr64(block + CLONE_HEADER_SIZE,
				cmd->hydrated + k * CLONE_BITS_PER_BLOCK / BITS_PER_LONG,
				block_bits(cmd, k));
		e = &cmd->entries[n];
		e->block = k;
		e->changed = __test_and_clear_bit(k, cmd->dirty);
		if (e->changed)
			cmd->nr_dirty--;
		/* ->lagging and ->newer_b are the committer's own. */
		e->first = test_bit(k, cmd->lagging) && !test_bit(k, cmd->newer_b);
		/* Unchanged, only the older copy needs the bits. */
		e->both = !quick && e->changed;
		trace_clone_snapshot(cmd->bdev->bd_dev, k, e->first, e->both);
		spin_unlock_irqrestore(&cmd->lock, flags);
		n++;
		k++;
	}
	*from = k;
	return n;
}

/* The copy of @e that pass @pass writes (0: the older one), or -1. */
static int entry_copy(const struct commit_entry *e, unsigned int pass)
{
	if (pass && !e->both)
		return -1;
	return e->first ^ pass;
}

/*
 * Write pass @pass of the @n snapshot blocks, run by run, then flush; and
 * record what the copies hold now.
 */
static int write_pass(struct clone_metadata *cmd, unsigned int n,
		      unsigned int pass)
{
	const struct commit_entry *e = cmd->entries;
	unsigned int i, run;
	bool wrote = false;
	int c, r;

	for (i = 0; i < n; i++) {
		c = entry_copy(&e[i], pass);
		if (c >= 0)
			seal_block(cmd->buf + i * CLONE_BLOCK_SIZE,
				   CLONE_KIND_BITMAP, copy_block(cmd, c, e[i].block),
				   cmd->nonce, e[i].block, c);
	}
	for (i = 0; i < n; i += run) {
		run = 1;
		c = entry_copy(&e[i], pass);
		if (c < 0)
			continue;
		while (i + run < n && entry_copy(&e[i + run], pass) == c &&
		       copy_block(cmd, c, e[i + run].block) ==
		       copy_block(cmd, c, e[i].block) + run)
			run++;
		trace_clone_md_write_begin(cmd->bdev->bd_dev, e[i].block, run,
					   c, 0);
		r = md_rw(cmd, REQ_OP_WRITE, copy_block(cmd, c, e[i].block),
			  run, cmd->buf + i * CLONE_BLOCK_SIZE);
		trace_clone_md_write_end(cmd->bdev->bd_dev, e[i].block, run,
					 c, r);
		if (r)
			return r;
		wrote = true;
	}
	if (!wrote)
		return 0;
	r = md_flush(cmd);
	if (r)
		return r;

	/*
	 * The copy just written holds every bit the other does: it differs
	 * from it only if bits were set since the other was written.
	 */
	for (i = 0; i < n; i++) {
		c = entry_copy(&e[i], pass);
		if (c >= 0)
			set_lagging(cmd, e[i].block, e[i].changed && !pass, c);
	}
	return 0;
}

/* Payload to little-endian and the tail past the last region zeroed. */
static void prepare_payloads(struct clone_metadata *cmd, unsigned int n)
{
	unsigned int i, j, words;
	u64 *w;

	for (i = 0; i < n; i++) {
		w = cmd->buf + i * CLONE_BLOCK_SIZE + CLONE_HEADER_SIZE;
		words = DIV_ROUND_UP(block_bits(cmd, cmd->entries[i].block), 64);
		memset(w + words, 0, CLONE_PAYLOAD_SIZE - words * sizeof(u64));
		for (j = 0; j < words; j++)
			w[j] = (__force u64)cpu_to_le64(w[j]);
	}
}

/* The @n blocks just written are durable: so are the bits they hold. */
static void mark_committed(struct clone_metadata *cmd, unsigned int n)
{
	unsigned int i, j, words = CLONE_PAYLOAD_SIZE / sizeof(u64);
	unsigned long k;
	u64 *w;

	for (i = 0; i < n; i++) {
		k = cmd->entries[i].block;
		w = cmd->buf + i * CLONE_BLOCK_SIZE + CLONE_HEADER_SIZE;
		for (j = 0; j < words; j++)
			w[j] = le64_to_cpu((__force __le64)w[j]);
		/* A snapshot holds every bit committed before: copy, not OR. */
		bitmap_from_arr64(cmd->committed +
				  k * CLONE_BITS_PER_BLOCK / BITS_PER_LONG,
				  w, block_bits(cmd, k));
	}
}

/*
 * Write one snapshot of up to @batch blocks: the older copies, and for a
 * full commit then the other ones.
 */
static int commit_batch(struct clone_metadata *cmd, struct block_device *dest,
			unsigned int n)
{
	unsigned long flags;
	unsigned int i;
	int r;

	prepare_payloads(cmd, n);
	trace_clone_dest_flush_begin(cmd->bdev->bd_dev, 0);
	r = blkdev_issue_flush(dest);
	trace_clone_dest_flush_end(cmd->bdev->bd_dev, r);
	if (!r)
		r = write_pass(cmd, n, 0);
	if (!r)
		r = write_pass(cmd, n, 1);
	if (!r) {
		mark_committed(cmd, n);
		return 0;
	}

	/* Not durable: the next commit writes these blocks again. */
	spin_lock_irqsave(&cmd->lock, flags);
	for (i = 0; i < n; i++)
		mark_dirty(cmd, cmd->entries[i].block);
	spin_unlock_irqrestore(&cmd->lock, flags);
	return r;
}

static int repair_superblocks(struct clone_metadata *cmd)
{
	u32 i;
	int r;

	for (i = 0; i < CLONE_SB_BLOCKS; i++) {
		if (!READ_ONCE(cmd->sb_stale[i]))
			continue;
		r = write_superblock(cmd, i, cmd->buf);
		if (r)
			return r;
		WRITE_ONCE(cmd->sb_stale[i], false);
	}
	return 0;
}

int clone_md_commit(struct clone_metadata *cmd, struct block_device *dest,
		    bool quick, bool *dest_flushed)
{
	unsigned long writes, from = 0;
	unsigned int n;
	int r = 0;

	if (dest_flushed)
		*dest_flushed = false;
	mutex_lock(&cmd->commit_lock);
	if (READ_ONCE(cmd->mode) != CLONE_MD_RW) {
		mutex_unlock(&cmd->commit_lock);
		return -EROFS;
	}
	trace_clone_commit_begin(cmd->bdev->bd_dev, quick);
	/*
	 * One pass over the blocks: every block changed before we started is
	 * at or past the cursor until it is taken. A block changed again
	 * behind the cursor waits for the next commit; chasing it would keep
	 * this one (and the flushes waiting on it) going for as long as
	 * writes or copies keep setting bits.
	 */
	writes = atomic_long_read(&cmd->writes);
	if (cmd->version >= 2) {
		/* a record, or when there is no room for one a checkpoint */
		r = quick ? commit_record(cmd, dest, dest_flushed) : -EAGAIN;
		if (r != -EAGAIN)
			goto done;
		quick = false;
	}
	while ((n = snapshot(cmd, quick, &from))) {
		r = commit_batch(cmd, dest, n);
		if (r)
			goto out;
		if (dest_flushed)
			*dest_flushed = true;
	}
	r = cmd->version < 2 ? repair_superblocks(cmd) : write_superblocks(cmd);
done:
	if (!r)
		WRITE_ONCE(cmd->committed_writes, writes);
out:
	trace_clone_commit_end(cmd->bdev->bd_dev, r);
	mutex_unlock(&cmd->commit_lock);
	return r;
}

/*
 * A readable superblock copy that is not ours at all: zeroed, or a header
 * of another kind or format. Ours with a bad checksum or at the wrong place
 * is damage (a media fault, a torn sector), not proof of an overwrite.
 */
static bool foreign_superblock(const struct clone_metadata *cmd,
			       const void *block)
{
	const struct clone_block_header *h = block;

	return !memchr_inv(block, 0, CLONE_BLOCK_SIZE) ||
	       le32_to_cpu(h->kind) != CLONE_KIND_SUPER ||
	       le64_to_cpu(h->nonce) != cmd->nonce;
}

int clone_md_check_superblock(struct clone_metadata *cmd)
{
	DECLARE_BITMAP(failed, CLONE_SB_BLOCKS);
	int r = -EIO;
	const char *why;
	void *b;
	u32 i;

	mutex_lock(&cmd->commit_lock);
	md_read(cmd, 0, CLONE_SB_BLOCKS, cmd->buf, failed);
	for (i = 0; i < CLONE_SB_BLOCKS; i++) {
		b = cmd->buf + i * CLONE_BLOCK_SIZE;
		if (test_bit(i, failed))
			continue;
		if (check_block(b, CLONE_KIND_SUPER, i, &cmd->nonce, 0, i,
				&why) == BLOCK_VALID) {
			r = 0;
			break;
		}
		if (foreign_superblock(cmd, b))
			r = -EILSEQ;
	}
	mutex_unlock(&cmd->commit_lock);
	return r;
}

enum clone_md_mode clone_md_mode(struct clone_metadata *cmd)
{
	return READ_ONCE(cmd->mode);
}

void clone_md_set_mode(struct clone_metadata *cmd, enum clone_md_mode mode)
{
	WRITE_ONCE(cmd->mode, mode);
}

void clone_md_usage(struct clone_metadata *cmd, unsigned long long *used,
		    unsigned long long *total)
{
	*used = format_blocks(cmd);
	*total = cmd->dev_blocks;
}
