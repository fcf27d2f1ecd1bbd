// SPDX-License-Identifier: GPL-2.0
/*
 * Reading the in-kernel dm-clone's metadata (Linux 5.4+, persistent-data),
 * for clone_convert. Only the committed hydration bitmap is needed, so this
 * reads just the superblock and the bitset; the space map is left alone.
 *
 * The structures, all little-endian in 4 KiB blocks, each block checksummed
 * with CRC-32C (initial ~0, no final inversion) of bytes 4..4095 xor-ed
 * with a per-kind constant:
 *
 *   superblock (block 0): csum, flags, blocknr, uuid[16], magic 0x8af27f64
 *     at byte 32, version (1) at 40, space map root (128 bytes) at 44,
 *     region_size at 172, target_size at 180 (sectors), bitset_root at 188.
 *   btree node: csum, flags (1 internal, 2 leaf), blocknr, nr_entries (16),
 *     max_entries (20), value_size (24), padding; then max_entries le64 keys
 *     at 32, then the values. An internal node's values are its children's
 *     block numbers; the bitset's leaves map an array block index to the
 *     block number of that array block.
 *   array block: csum, max_entries (4), nr_entries (8), value_size (12),
 *     blocknr (16); the values from byte 24. The bitset's values are le64
 *     words: region r is bit r % 64 of word r / 64.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "clonemd.h"

#define SB_CSUM_XOR	257649492U
#define NODE_CSUM_XOR	121107U
#define ARRAY_CSUM_XOR	595846735U

#define SB_VERSION	40
#define SB_REGION_SIZE	172
#define SB_TARGET_SIZE	180
#define SB_BITSET_ROOT	188

#define NODE_INTERNAL	1
#define NODE_LEAF	2
#define NODE_HDR	32
#define ARRAY_HDR	24
#define WORDS_PER_ABLOCK ((CLONE_BLOCK_SIZE - ARRAY_HDR) / 8)	/* 509 */
#define MAX_DEPTH	8	/* 509^8 words: far more than 2^31 bits; a cycle */

uint32_t pd_csum(const void *block, uint32_t xor)
{
	return crc32c(~0U, (const uint8_t *)block + 4, CLONE_BLOCK_SIZE - 4) ^ xor;
}

struct walk {
	struct dev *d;
	struct upstream *u;
	uint64_t nr_words, nr_ablocks, found;
	uint8_t *seen;		/* array blocks found, by index */
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3)))
static int bad(struct walk *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->err, w->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Read block @b and check its header; 0 or -1 with the reason. */
static int read_checked(struct walk *w, uint64_t b, uint8_t *buf, uint32_t xor,
			size_t blocknr_off, const char *what)
{
	const char *why;

	dev_read(w->d, b, 1, buf, &why);
	if (why)
		return bad(w, "%s (block %llu): %s", what, (unsigned long long)b, why);
	if (get_le64(buf + blocknr_off) != b)
		return bad(w, "%s (block %llu): misplaced (says block %llu)", what,
			   (unsigned long long)b,
			   (unsigned long long)get_le64(buf + blocknr_off));
	if (get_le32(buf) != pd_csum(buf, xor))
		return bad(w, "%s (block %llu): checksum mismatch", what, (unsigned long long)b);
	return 0;
}

static int read_ablock(struct walk *w, uint64_t index, uint64_t b, uint8_t *buf)
{
	uint32_t max, nr;

	if (read_checked(w, b, buf, ARRAY_CSUM_XOR, 16, "bitset array block"))
		return -1;
	max = get_le32(buf + 4);
	nr = get_le32(buf + 8);
	if (get_le32(buf + 12) != 8 || max != WORDS_PER_ABLOCK || nr > max)
		return bad(w, "bitset array block %llu: %u of %u values of %u bytes: not a bitset's",
			   (unsigned long long)b, nr, max, get_le32(buf + 12));
	if (index >= w->nr_ablocks || w->seen[index])
		return bad(w, "bitset array block %llu: index %llu %s", (unsigned long long)b,
			   (unsigned long long)index,
			   index >= w->nr_ablocks ? "past the region count" : "found twice");
	if (nr != (index + 1 < w->nr_ablocks ? WORDS_PER_ABLOCK :
		   w->nr_words - index * WORDS_PER_ABLOCK))
		return bad(w, "bitset array block %llu (index %llu): %u words, not what %llu regions need",
			   (unsigned long long)b, (unsigned long long)index, nr,
			   (unsigned long long)w->u->nr_regions);
	w->seen[index] = 1;
	w->found++;
	for (uint32_t j = 0; j < nr; j++)
		w->u->bits[index * WORDS_PER_ABLOCK + j] = get_le64(buf + ARRAY_HDR + 8 * j);
	return 0;
}

static int walk_node(struct walk *w, uint64_t b, int depth)
{
	uint8_t *buf = xalloc_blocks(1);
	uint32_t flags, nr, max;
	int r = -1;

	if (depth > MAX_DEPTH) {
		bad(w, "bitset btree deeper than %d levels at block %llu (a cycle?)",
		    MAX_DEPTH, (unsigned long long)b);
		goto out;
	}
	if (read_checked(w, b, buf, NODE_CSUM_XOR, 8, "bitset btree node"))
		goto out;
	flags = get_le32(buf + 4);
	nr = get_le32(buf + 16);
	max = get_le32(buf + 20);
	if (get_le32(buf + 24) != 8 || nr > max ||
	    NODE_HDR + 16ULL * max > CLONE_BLOCK_SIZE ||
	    !(flags & (NODE_INTERNAL | NODE_LEAF))) {
		bad(w, "bitset btree node (block %llu): inconsistent header (flags %u, %u of %u entries of %u bytes)",
		    (unsigned long long)b, flags, nr, max, get_le32(buf + 24));
		goto out;
	}
	const uint8_t *keys = buf + NODE_HDR, *vals = keys + 8ULL * max;
	uint8_t *child = flags & NODE_INTERNAL ? NULL : xalloc_blocks(1);

	for (uint32_t i = 0; i < nr; i++) {
		uint64_t v = get_le64(vals + 8 * i);

		if (flags & NODE_INTERNAL ? walk_node(w, v, depth + 1) :
		    read_ablock(w, get_le64(keys + 8 * i), v, child)) {
			free(child);
			goto out;
		}
	}
	free(child);
	r = 0;
out:
	free(buf);
	return r;
}

int upstream_read(struct dev *d, struct upstream *u, uint64_t max_regions,
		  char *err, size_t errlen)
{
	uint8_t *sb = xalloc_blocks(1);
	struct walk w = { .d = d, .u = u, .err = err, .errlen = errlen };
	const char *why;
	int r = -1;

	memset(u, 0, sizeof(*u));
	/* the magic first: this module's metadata is not "damaged" */
	dev_read(d, 0, 1, sb, &why);
	if (!why && get_le64(sb + CLONE_UPSTREAM_MAGIC_OFFSET) != CLONE_UPSTREAM_MAGIC) {
		bad(&w, "block 0 holds no in-kernel dm-clone superblock (no magic 0x%llx at byte %d)",
		    CLONE_UPSTREAM_MAGIC, CLONE_UPSTREAM_MAGIC_OFFSET);
		goto out;
	}
	if (read_checked(&w, 0, sb, SB_CSUM_XOR, 8, "superblock"))
		goto out;
	u->version = get_le32(sb + SB_VERSION);
	u->region_size = get_le64(sb + SB_REGION_SIZE);
	u->target_size = get_le64(sb + SB_TARGET_SIZE);
	u->bitset_root = get_le64(sb + SB_BITSET_ROOT);
	if (u->version != 1) {
		bad(&w, "in-kernel dm-clone metadata version %u: only version 1 is known", u->version);
		goto out;
	}
	why = check_region_size(u->region_size);
	if (why) {
		bad(&w, "region size %llu sectors: %s", (unsigned long long)u->region_size, why);
		goto out;
	}
	u->nr_regions = u->target_size / u->region_size + (u->target_size % u->region_size != 0);
	why = check_nr_regions(u->nr_regions);
	if (!why && max_regions && u->nr_regions > max_regions)
		why = "more than this reader takes";
	if (why) {
		bad(&w, "%llu regions: %s", (unsigned long long)u->nr_regions, why);
		goto out;
	}
	w.nr_words = (u->nr_regions + 63) / 64;
	w.nr_ablocks = (w.nr_words + WORDS_PER_ABLOCK - 1) / WORDS_PER_ABLOCK;
	w.seen = xcalloc(w.nr_ablocks, 1);
	/* room for whole array blocks, and whole bitmap blocks for md_write() */
	u->bits = xcalloc(w.nr_ablocks * WORDS_PER_ABLOCK +
			  bitmap_blocks(u->nr_regions) * WORDS_PER_BLOCK, 8);
	if (walk_node(&w, u->bitset_root, 0))
		goto out;
	if (w.found != w.nr_ablocks) {
		for (uint64_t i = 0; i < w.nr_ablocks; i++)
			if (!w.seen[i]) {
				bad(&w, "bitset array block %llu (regions %llu-) is missing from the btree",
				    (unsigned long long)i,
				    (unsigned long long)(i * WORDS_PER_ABLOCK * 64));
				break;
			}
		goto out;
	}
	/* bits past the last region mean nothing */
	if (u->nr_regions % 64)
		u->bits[u->nr_regions / 64] &= (1ULL << (u->nr_regions % 64)) - 1;
	u->hydrated = bits_count(u->bits, u->nr_regions);
	r = 0;
out:
	if (r) {
		free(u->bits);
		u->bits = NULL;
	}
	free(w.seen);
	free(sb);
	return r;
}
