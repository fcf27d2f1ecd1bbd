/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The on-disk metadata format of dm-clone, shared by the kernel module and
 * the userspace tools so that it is defined in exactly one place.
 * docs/metadata-format.md describes it byte by byte; this header is the
 * authority for the numbers.
 *
 * All fields are little-endian. The metadata device is cut into 4 KiB
 * blocks. Version 1:
 *
 *   block 0                    superblock, copy 0
 *   block 1                    superblock, copy 1
 *   blocks 2 .. 2+N-1          bitmap, copy A (copy 0)
 *   blocks 2+N .. 2+2N-1       bitmap, copy B (copy 1)
 *
 * Version 2 adds a ring of L record slots between the superblocks and the
 * bitmap, and keeps the two copies of every block side by side:
 *
 *   block 0, 1                 superblock, copies 0 and 1
 *   block 2+2s+c               ring slot s (0 .. L-1), copy c
 *   block 2+2L+2k+c            bitmap block k (0 .. N-1), copy c
 *
 * where N = ceil(region count / CLONE_BITS_PER_BLOCK). Every block starts
 * with a struct clone_block_header. A bitmap block holds one bit per region,
 * set once the region is hydrated. Bits only ever go from 0 to 1, so the
 * state of a bitmap block is the OR of its valid copies, and a block of
 * 4096 zero bytes is a valid block with no bit set (formatting writes only
 * the superblocks).
 *
 * In version 2 a commit for a FLUSH or FUA writes one record (both copies)
 * naming the runs of regions hydrated since the last one; a checkpoint
 * writes the bitmap's two copies, then the superblocks naming the ring
 * position the next load replays records from (docs/metadata-format.md).
 */
#ifndef DM_CLONE_FORMAT_H
#define DM_CLONE_FORMAT_H

#include <linux/types.h>

#define CLONE_BLOCK_SIZE	4096
#define CLONE_BLOCK_SHIFT	12
#define CLONE_BLOCK_SECTORS	(CLONE_BLOCK_SIZE >> 9)
#define CLONE_HEADER_SIZE	32
#define CLONE_PAYLOAD_SIZE	(CLONE_BLOCK_SIZE - CLONE_HEADER_SIZE)
#define CLONE_BITS_PER_BLOCK	(CLONE_PAYLOAD_SIZE * 8)	/* 32512 */
#define CLONE_SB_BLOCKS		2
#define CLONE_COPIES		2

/* header.kind: 'SUPR' and 'BMAP' read as little-endian ASCII */
#define CLONE_KIND_SUPER	0x52505553U
#define CLONE_KIND_BITMAP	0x50414d42U
#define CLONE_KIND_RECORD	0x44434552U	/* 'RECD', version 2 */

#define CLONE_MAGIC		"dm-clone"	/* 8 bytes, no terminator */
#define CLONE_MAGIC_SIZE	8
#define CLONE_VERSION_MIN	1	/* the oldest version read and written */
#define CLONE_VERSION		2	/* what a new format gets, room permitting */
#define CLONE_VERSION_MAX	2	/* the newest version read and written */

/* Version 2's ring: slots by default, and the fewest a format may have. */
#define CLONE_RING_SLOTS	256
#define CLONE_RING_MIN_SLOTS	8

/* The largest region count, as in the in-kernel target. */
#define CLONE_MAX_REGIONS	(1UL << 31)

/*
 * The in-kernel dm-clone (persistent-data) superblock keeps a le64 magic at
 * this byte offset of block 0; recognised only to say what was found.
 */
#define CLONE_UPSTREAM_MAGIC		0x8af27f64ULL
#define CLONE_UPSTREAM_MAGIC_OFFSET	32

struct clone_block_header {
	__le32 csum;	/* CRC-32C (init ~0, final ~0) of bytes 4..4095 */
	__le32 kind;	/* CLONE_KIND_* */
	__le64 blocknr;	/* where this block lives: catches misdirected writes */
	__le64 nonce;	/* random, chosen at format; the same in every block */
	__le32 index;	/* bitmap block index within its copy; 0 in superblocks */
	__le32 copy;	/* 0 or 1: which copy of the superblock or bitmap */
};

struct clone_superblock {
	struct clone_block_header hdr;
	char magic[CLONE_MAGIC_SIZE];	/* CLONE_MAGIC */
	__le32 version;			/* CLONE_VERSION */
	__le32 flags;			/* none defined yet; must be 0 */
	__le64 region_size;		/* sectors */
	__le64 nr_regions;
	__le64 bitmap_blocks;		/* N: blocks in each bitmap copy */
	__le64 copy_start[CLONE_COPIES];	/* first block of copy A, B */
	__le32 block_size;		/* CLONE_BLOCK_SIZE */
	__le32 bits_per_block;		/* CLONE_BITS_PER_BLOCK */
	__le64 format_time;		/* seconds since the epoch, informational */
	/* version 2 on (zero in version 1): */
	__le64 checkpoint;		/* the ring position load replays from */
	__le64 ring_start;		/* first block of the ring: 2 */
	__le32 ring_slots;		/* L */
	__le32 reserved;		/* 0 */
	/* zero up to the end of the block */
};

/*
 * A run of regions a record marks hydrated. @csum and @flags are reserved
 * (0) in version 2: a run is logged only once the destination was flushed
 * after its data was written.
 */
struct clone_record_run {
	__le32 first;
	__le32 count;
	__le32 csum;
	__le32 flags;
};

#define CLONE_RECORD_HEADER	56
#define CLONE_RECORD_RUNS \
	((CLONE_BLOCK_SIZE - CLONE_RECORD_HEADER) / sizeof(struct clone_record_run))

/*
 * A record: ring slot @hdr.index, copy @hdr.copy. Ring position p (counted
 * from 0 at format, never wrapping) lives in slot p % L and has sequence
 * p + 1, so that a zeroed slot holds no record.
 */
struct clone_record {
	struct clone_block_header hdr;
	__le64 seq;			/* ring position + 1 */
	__le64 confirm;			/* reserved: 0 */
	__le32 nr_runs;			/* 1 .. CLONE_RECORD_RUNS */
	__le32 reserved;		/* 0 */
	struct clone_record_run runs[];	/* zero past the last run */
};

/* Bitmap blocks in each copy for @nr_regions regions. */
static inline unsigned long clone_bitmap_blocks(unsigned long nr_regions)
{
	return (nr_regions + CLONE_BITS_PER_BLOCK - 1) / CLONE_BITS_PER_BLOCK;
}

/* Blocks version 1 uses on the metadata device for @nr_regions regions. */
static inline unsigned long clone_metadata_blocks(unsigned long nr_regions)
{
	return CLONE_SB_BLOCKS + CLONE_COPIES * clone_bitmap_blocks(nr_regions);
}

/* Blocks version 2 uses for @nr_regions regions and @slots ring slots. */
static inline unsigned long long clone_metadata_blocks_v2(unsigned long nr_regions,
							  unsigned long slots)
{
	return CLONE_SB_BLOCKS + CLONE_COPIES * (unsigned long long)slots +
	       clone_metadata_blocks(nr_regions) - CLONE_SB_BLOCKS;
}

/*
 * Ring slots of a version 2 format of @nr_regions regions on a device of
 * @dev_blocks blocks: CLONE_RING_SLOTS when there is room, else as many as
 * fit; fewer than CLONE_RING_MIN_SLOTS (returned 0) do not fit.
 */
static inline unsigned long clone_ring_slots_for(unsigned long nr_regions,
						 unsigned long long dev_blocks)
{
	unsigned long long need = clone_metadata_blocks(nr_regions), slots;

	if (dev_blocks < need)
		return 0;
	slots = (dev_blocks - need) / CLONE_COPIES;
	if (slots > CLONE_RING_SLOTS)
		slots = CLONE_RING_SLOTS;
	return slots < CLONE_RING_MIN_SLOTS ? 0 : slots;
}

/* Where copy @copy of ring slot @slot lives (version 2). */
static inline unsigned long long clone_ring_block(unsigned long slot,
						  unsigned int copy)
{
	return CLONE_SB_BLOCKS + CLONE_COPIES * (unsigned long long)slot + copy;
}

/*
 * Where copy @copy of bitmap block @k lives: in version 1 after the whole
 * of copy 0 (@nr_blocks blocks), in version 2 beside its other copy, past
 * the @slots slots of the ring.
 */
static inline unsigned long long clone_bitmap_block(unsigned int version,
						    unsigned long slots,
						    unsigned long nr_blocks,
						    unsigned long k,
						    unsigned int copy)
{
	if (version < 2)
		return CLONE_SB_BLOCKS + (unsigned long long)copy * nr_blocks + k;
	return clone_ring_block(slots, 0) + CLONE_COPIES * (unsigned long long)k + copy;
}

#endif /* DM_CLONE_FORMAT_H */
