/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The on-disk metadata format of dm-clone, shared by the kernel module and
 * the userspace tools so that it is defined in exactly one place.
 * docs/metadata-format.md describes it byte by byte; this header is the
 * authority for the numbers.
 *
 * All fields are little-endian. The metadata device is cut into 4 KiB
 * blocks:
 *
 *   block 0                    superblock, copy 0
 *   block 1                    superblock, copy 1
 *   blocks 2 .. 2+N-1          bitmap, copy A (copy 0)
 *   blocks 2+N .. 2+2N-1       bitmap, copy B (copy 1)
 *
 * where N = ceil(region count / CLONE_BITS_PER_BLOCK). Every block starts
 * with a struct clone_block_header. A bitmap block holds one bit per region,
 * set once the region is hydrated. Bits only ever go from 0 to 1, so the
 * state of a bitmap block is the OR of its valid copies, and a block of
 * 4096 zero bytes is a valid block with no bit set (formatting writes only
 * the superblocks).
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

#define CLONE_MAGIC		"dm-clone"	/* 8 bytes, no terminator */
#define CLONE_MAGIC_SIZE	8
#define CLONE_VERSION		1

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
	/* zero up to the end of the block */
};

/* Bitmap blocks in each copy for @nr_regions regions. */
static inline unsigned long clone_bitmap_blocks(unsigned long nr_regions)
{
	return (nr_regions + CLONE_BITS_PER_BLOCK - 1) / CLONE_BITS_PER_BLOCK;
}

/* Blocks the format uses on the metadata device for @nr_regions regions. */
static inline unsigned long clone_metadata_blocks(unsigned long nr_regions)
{
	return CLONE_SB_BLOCKS + CLONE_COPIES * clone_bitmap_blocks(nr_regions);
}

#endif /* DM_CLONE_FORMAT_H */
