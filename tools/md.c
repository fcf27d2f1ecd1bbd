// SPDX-License-Identifier: GPL-2.0
/*
 * Reading, judging and writing dm-clone metadata.
 *
 * md_analyze() applies the module's rules (docs/metadata-format.md,
 * "Reading the metadata") and says, for every problem, where it is and what
 * it means for the data: severity 1 when the module itself repairs it and
 * nothing is lost, 2 when the module refuses the metadata or hydration
 * state is lost. With md_opts.salvage it goes on where the module would
 * stop, for clone_repair and clone_dump --repair.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "clonemd.h"

/* Blocks of each copy read at a time: large reads, bounded memory. */
#define CHUNK 1024

/* a buffer for up to CHUNK blocks, no larger than @n blocks need */
static uint8_t *chunk_buf(uint64_t n)
{
	return xalloc_blocks(n < CHUNK ? (size_t)n : CHUNK);
}

_Static_assert(sizeof(struct clone_block_header) == CLONE_HEADER_SIZE,
	       "header layout");
_Static_assert(offsetof(struct clone_superblock, format_time) == 96 &&
	       offsetof(struct clone_superblock, checkpoint) == 104 &&
	       offsetof(struct clone_superblock, ring_slots) == 120 &&
	       sizeof(struct clone_superblock) == 128, "superblock layout");
_Static_assert(offsetof(struct clone_record, runs) == CLONE_RECORD_HEADER &&
	       sizeof(struct clone_record_run) == 16 && CLONE_RECORD_RUNS == 252,
	       "record layout");
_Static_assert(WORDS_PER_BLOCK * 64 == CLONE_BITS_PER_BLOCK,
	       "a bitmap block is whole 64-bit words");

/* ---- blocks ---- */

int block_is_zero(const void *block)
{
	const uint8_t *p = block;
	uint64_t acc = 0;

	for (size_t i = 0; i < CLONE_BLOCK_SIZE; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		acc |= w;
	}
	return acc == 0;
}

enum blk_state check_block(const void *block, uint32_t kind, uint64_t blocknr,
			   const uint64_t *nonce, uint32_t index, uint32_t copy,
			   const char **why)
{
	/* the order of the tests is the module's, so the reasons match */
	if (block_is_zero(block)) {
		*why = "zeroed";
		return BLK_ZERO;
	}
	if (get_le32(HDR(block, csum)) != block_csum(block)) {
		*why = "checksum mismatch";
		return BLK_BAD;
	}
	if (get_le32(HDR(block, kind)) != kind) {
		*why = "wrong block kind";
		return BLK_BAD;
	}
	if (get_le64(HDR(block, blocknr)) != blocknr ||
	    get_le32(HDR(block, index)) != index ||
	    get_le32(HDR(block, copy)) != copy) {
		*why = "misplaced block";
		return BLK_BAD;
	}
	if (nonce && get_le64(HDR(block, nonce)) != *nonce) {
		*why = "left over from another format (other nonce)";
		return BLK_BAD;
	}
	*why = "valid";
	return BLK_VALID;
}

void seal_block(void *block, uint32_t kind, uint64_t blocknr, uint64_t nonce,
		uint32_t index, uint32_t copy)
{
	put_le32(HDR(block, kind), kind);
	put_le64(HDR(block, blocknr), blocknr);
	put_le64(HDR(block, nonce), nonce);
	put_le32(HDR(block, index), index);
	put_le32(HDR(block, copy), copy);
	put_le32(HDR(block, csum), block_csum(block));
}

/* ---- geometry ---- */

const char *check_region_size(uint64_t rs)
{
	if (rs < REGION_SIZE_MIN || rs > REGION_SIZE_MAX || (rs & (rs - 1)))
		return "not a power of two from 8 to 2097152 sectors (4 KiB to 1 GiB)";
	return NULL;
}

const char *check_nr_regions(uint64_t n)
{
	if (!n)
		return "no region at all";
	if (n > CLONE_MAX_REGIONS)
		return "more than 2^31 regions";
	return NULL;
}

uint64_t block_first(uint64_t k)
{
	return k * CLONE_BITS_PER_BLOCK;
}

uint64_t block_regions(uint64_t nr_regions, uint64_t k)
{
	uint64_t left = nr_regions - block_first(k);

	return left < CLONE_BITS_PER_BLOCK ? left : CLONE_BITS_PER_BLOCK;
}

/* ---- bitmaps: region r is bit r % 64 of word r / 64 ---- */

uint64_t *bits_alloc(uint64_t nbits)
{
	/* whole bitmap blocks, so that writers can take 508 words a block */
	return xcalloc(bitmap_blocks(nbits) * WORDS_PER_BLOCK, 8);
}

void bits_set_range(uint64_t *bits, uint64_t first, uint64_t end)
{
	while (first < end && first % 64) {
		bits[first / 64] |= 1ULL << (first % 64);
		first++;
	}
	for (; first + 64 <= end; first += 64)
		bits[first / 64] = ~0ULL;
	for (; first < end; first++)
		bits[first / 64] |= 1ULL << (first % 64);
}

uint64_t bits_count(const uint64_t *bits, uint64_t nbits)
{
	uint64_t n = 0, i;

	for (i = 0; i < nbits / 64; i++)
		n += (uint64_t)__builtin_popcountll(bits[i]);
	if (nbits % 64)
		n += (uint64_t)__builtin_popcountll(bits[i] &
						    ((1ULL << (nbits % 64)) - 1));
	return n;
}

uint64_t bits_next(const uint64_t *bits, uint64_t from, uint64_t end, int want)
{
	uint64_t flip = want ? 0 : ~0ULL, w;

	if (from >= end)
		return end;
	w = (bits[from / 64] ^ flip) & (~0ULL << (from % 64));
	from -= from % 64;
	while (!w) {
		from += 64;
		if (from >= end)
			return end;
		w = bits[from / 64] ^ flip;
	}
	from += (uint64_t)__builtin_ctzll(w);
	return from < end ? from : end;
}

/* ---- analysis ---- */

struct ctx {
	struct md *m;
	report_fn report;
	void *arg;
};

__attribute__((format(printf, 3, 4)))
static void say(struct ctx *c, int sev, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sev > c->m->severity)
		c->m->severity = sev;
	if (c->report)
		c->report(c->arg, sev, msg);
}

/* "5" or "5-9", in one of 8 static buffers (a message takes up to 5) */
static const char *range(uint64_t first, uint64_t last)
{
	static char buf[8][48];
	static unsigned int n;
	char *b = buf[n++ % 8];

	if (first == last)
		snprintf(b, sizeof(buf[0]), "%llu", (unsigned long long)first);
	else
		snprintf(b, sizeof(buf[0]), "%llu-%llu",
			 (unsigned long long)first, (unsigned long long)last);
	return b;
}

/*
 * The first of the bytes that must be zero in a superblock of @version:
 * past format_time in version 1, from the reserved field on in version 2.
 */
static size_t tail_start(uint32_t version)
{
	return version == 2 ? offsetof(struct clone_superblock, reserved) :
	       offsetof(struct clone_superblock, checkpoint);
}

static void decode_super(const uint8_t *b, struct super *s)
{
	memset(s, 0, sizeof(*s));
	s->nonce = get_le64(HDR(b, nonce));
	memcpy(s->magic, SB(b, magic), CLONE_MAGIC_SIZE);
	s->version = get_le32(SB(b, version));
	s->flags = get_le32(SB(b, flags));
	s->region_size = get_le64(SB(b, region_size));
	s->nr_regions = get_le64(SB(b, nr_regions));
	s->bitmap_blocks = get_le64(SB(b, bitmap_blocks));
	s->copy_start[0] = get_le64(SB(b, copy_start[0]));
	s->copy_start[1] = get_le64(SB(b, copy_start[1]));
	s->block_size = get_le32(SB(b, block_size));
	s->bits_per_block = get_le32(SB(b, bits_per_block));
	s->format_time = get_le64(SB(b, format_time));
	s->checkpoint = get_le64(SB(b, checkpoint));
	s->ring_start = get_le64(SB(b, ring_start));
	s->ring_slots = get_le32(SB(b, ring_slots));
	s->reserved = get_le32(SB(b, reserved));
	for (size_t i = tail_start(s->version); i < CLONE_BLOCK_SIZE; i++)
		s->tail_dirty |= b[i] != 0;
}

/* The fields in which two superblock bodies differ, for the message. */
static void super_diff(const struct super *a, const struct super *b,
		       char *out, size_t len)
{
	out[0] = 0;
#define D(f) if (a->f != b->f) snprintf(out + strlen(out), len - strlen(out), \
		"%s%s %llu/%llu", out[0] ? ", " : "", #f, \
		(unsigned long long)a->f, (unsigned long long)b->f)
	D(version); D(flags); D(region_size); D(nr_regions); D(bitmap_blocks);
	D(copy_start[0]); D(copy_start[1]); D(block_size); D(bits_per_block);
	D(format_time);
	if (a->version == 2 && b->version == 2) {
		D(ring_start); D(ring_slots);
		/* the geometry may differ, the order of checkpoints says if rightly */
		if (a->nr_regions != b->nr_regions || a->bitmap_blocks != b->bitmap_blocks)
			D(checkpoint);
	}
#undef D
	if (memcmp(a->magic, b->magic, CLONE_MAGIC_SIZE))
		snprintf(out + strlen(out), len - strlen(out), "%smagic",
			 out[0] ? ", " : "");
	if (!out[0])
		snprintf(out, len, "the reserved bytes (%zu-4095)",
			 tail_start(a->version));
}

/*
 * Whether version 2 superblocks @a and @b fail the grow's order: the copy
 * with more regions names the older checkpoint. A grow writes the new
 * bitmap blocks, then one copy with the new geometry and the same or a
 * later checkpoint, then the other; no writer leaves the opposite.
 */
static int grow_out_of_order(const struct super *a, const struct super *b)
{
	return (a->nr_regions > b->nr_regions && a->checkpoint < b->checkpoint) ||
	       (b->nr_regions > a->nr_regions && b->checkpoint < a->checkpoint);
}

/*
 * Whether superblock payloads @a and @b agree as the module requires: in
 * everything, but, when both are version 2, for the checkpoint and the
 * geometry (nr_regions and bitmap_blocks, which a grow cut short leaves
 * differing) as long as the copy with more regions names a checkpoint no
 * older than the other's.
 */
static int super_agree(const uint8_t *a, const uint8_t *b)
{
	uint8_t x[CLONE_BLOCK_SIZE], y[CLONE_BLOCK_SIZE];

	memcpy(x, a, CLONE_BLOCK_SIZE);
	memcpy(y, b, CLONE_BLOCK_SIZE);
	if (get_le32(SB(x, version)) == 2 && get_le32(SB(y, version)) == 2) {
		struct super sa, sb;

		decode_super(x, &sa);
		decode_super(y, &sb);
		if (grow_out_of_order(&sa, &sb))
			return 0;
		put_le64(SB(x, checkpoint), 0);
		put_le64(SB(y, checkpoint), 0);
		/* of one region count, the bitmap block count must agree too */
		if (sa.nr_regions != sb.nr_regions) {
			put_le64(SB(x, nr_regions), 0);
			put_le64(SB(y, nr_regions), 0);
			put_le64(SB(x, bitmap_blocks), 0);
			put_le64(SB(y, bitmap_blocks), 0);
		}
	}
	return !memcmp(x + CLONE_HEADER_SIZE, y + CLONE_HEADER_SIZE,
		       CLONE_PAYLOAD_SIZE);
}

/* Check a superblock body as the module does; 0 if the layout is usable. */
static int check_super(struct ctx *c, const struct super *s, int copy)
{
	const char *why;
	int bad = 0;

	if (memcmp(s->magic, CLONE_MAGIC, CLONE_MAGIC_SIZE)) {
		say(c, 2, "superblock copy %d: bad magic (not \"%s\") under a valid checksum: the module refuses it",
		    copy, CLONE_MAGIC);
		return -1;
	}
	if (s->version < CLONE_VERSION_MIN || s->version > CLONE_VERSION_MAX) {
		say(c, 2, "superblock: format version %u; these tools and the module read versions %u to %u only: refused",
		    s->version, CLONE_VERSION_MIN, CLONE_VERSION_MAX);
		return -1;
	}
	if (s->flags) {
		say(c, 2, "superblock: unknown flags 0x%x set: the module refuses the metadata",
		    s->flags);
		return -1;
	}
	why = check_region_size(s->region_size);
	if (why) {
		say(c, 2, "superblock: region size %llu sectors is %s: no table can use it",
		    (unsigned long long)s->region_size, why);
		bad = 1;
	}
	why = check_nr_regions(s->nr_regions);
	if (why) {
		say(c, 2, "superblock: region count %llu: %s: no table can use it",
		    (unsigned long long)s->nr_regions, why);
		return -1;
	}
	if (s->block_size != CLONE_BLOCK_SIZE) {
		say(c, 2, "superblock: block size %u, not %d: the module refuses it (inconsistent layout)",
		    s->block_size, CLONE_BLOCK_SIZE);
		bad = 1;
	}
	if (s->bits_per_block != CLONE_BITS_PER_BLOCK) {
		say(c, 2, "superblock: %u bits per block, not %d: the module refuses it (inconsistent layout)",
		    s->bits_per_block, CLONE_BITS_PER_BLOCK);
		bad = 1;
	}
	uint64_t n = bitmap_blocks(s->nr_regions), slots = 0;

	if (s->version >= 2) {
		if (s->ring_start != CLONE_SB_BLOCKS) {
			say(c, 2, "superblock: the ring starts at block %llu, not %d: the module refuses it (inconsistent layout)",
			    (unsigned long long)s->ring_start, CLONE_SB_BLOCKS);
			bad = 1;
		}
		if (s->ring_slots < CLONE_RING_MIN_SLOTS) {
			say(c, 2, "superblock: a ring of %u slots, fewer than %d: the module refuses it (inconsistent layout)",
			    s->ring_slots, CLONE_RING_MIN_SLOTS);
			bad = 1;
		}
		slots = s->ring_slots;
	}
	uint64_t want0 = clone_bitmap_block(s->version, slots, n, 0, 0);
	uint64_t want1 = clone_bitmap_block(s->version, slots, n, 0, 1);

	if (s->bitmap_blocks != n) {
		say(c, 2, "superblock: %llu bitmap blocks per copy, but %llu regions need %llu: the module refuses it (inconsistent layout)",
		    (unsigned long long)s->bitmap_blocks,
		    (unsigned long long)s->nr_regions, (unsigned long long)n);
		bad = 1;
	}
	if (s->copy_start[0] != want0 || s->copy_start[1] != want1) {
		say(c, 2, "superblock: bitmap copies start at blocks %llu and %llu, not %llu and %llu: the module refuses it (inconsistent layout)",
		    (unsigned long long)s->copy_start[0],
		    (unsigned long long)s->copy_start[1],
		    (unsigned long long)want0, (unsigned long long)want1);
		bad = 1;
	}
	if (!bad && s->tail_dirty && s->version >= 2) {
		/* version 2 keeps them for what a later version adds */
		say(c, 2, "superblock: reserved bytes %zu-4095 are not zero: the module refuses it (inconsistent ring)",
		    tail_start(s->version));
		bad = 1;
	} else if (!bad && s->tail_dirty) {
		say(c, 1, "superblock: reserved bytes %zu-4095 are not zero: the module ignores them; clone_repair writes clean ones",
		    tail_start(s->version));
	}
	return bad ? -1 : 0;
}

/* Zeroed superblocks: find the first block holding data, as a hint. */
static void scan_zeroed(struct dev *d, struct md *m)
{
	uint64_t end = layout_blocks(CLONE_MAX_REGIONS), b, i;
	const char *why[CHUNK];
	uint8_t *buf;

	if (end > d->blocks)
		end = d->blocks;
	buf = chunk_buf(end);
	for (b = 0; b < end && !m->first_data; b += CHUNK) {
		size_t n = end - b < CHUNK ? (size_t)(end - b) : CHUNK;

		dev_read(d, b, n, buf, why);
		for (i = 0; i < n; i++)
			if (why[i] || !block_is_zero(buf + i * CLONE_BLOCK_SIZE)) {
				m->first_data = b + i;
				break;
			}
	}
	free(buf);
}

/*
 * Copy @cp and index @k of the bitmap block @i blocks into the bitmap area
 * (both copies, 2 * @nblocks blocks) of a format @version layout.
 */
static void area_block(uint32_t version, uint64_t nblocks, uint64_t i,
		       uint64_t *k, uint32_t *cp)
{
	if (version >= 2) {
		*k = i / 2;
		*cp = (uint32_t)(i % 2);
	} else {
		*cp = i >= nblocks;
		*k = i - *cp * nblocks;
	}
}

/*
 * No superblock to take the nonce from (salvage with a given geometry):
 * take the one most well-placed, checksummed bitmap blocks carry, in the
 * layout of m->sb (version, ring).
 */
static uint64_t guess_nonce(struct dev *d, const struct md *m)
{
	struct { uint64_t nonce, votes; } cand[8] = { { 0, 0 } };
	const char *why[CHUNK], *w;
	uint64_t nblocks = m->nr_blocks, first = md_bitmap_block(m, 0, 0);
	uint64_t b, end = first + 2 * nblocks, best = 0, votes = 0;
	uint8_t *buf = chunk_buf(end);

	for (b = first; b < end; b += CHUNK) {
		size_t n = end - b < CHUNK ? (size_t)(end - b) : CHUNK;

		dev_read(d, b, n, buf, why);
		for (size_t i = 0; i < n; i++) {
			uint8_t *blk = buf + i * CLONE_BLOCK_SIZE;
			uint64_t k;
			uint32_t copy;

			area_block(m->sb.version, nblocks, b + i - first, &k, &copy);
			if (why[i] || check_block(blk, CLONE_KIND_BITMAP, b + i, NULL,
						  (uint32_t)k, copy, &w) != BLK_VALID)
				continue;
			uint64_t nonce = get_le64(HDR(blk, nonce));
			int j;

			for (j = 0; j < 8 && cand[j].votes && cand[j].nonce != nonce; j++)
				;
			if (j < 8) {
				cand[j].nonce = nonce;
				cand[j].votes++;
			}
		}
	}
	for (int j = 0; j < 8; j++)
		if (cand[j].votes > votes) {
			votes = cand[j].votes;
			best = cand[j].nonce;
		}
	free(buf);
	return best;
}

/*
 * Salvage: the layout the valid bitmap blocks on @d say they are in, for
 * @nblocks blocks in each copy. A bitmap block's header names its index k
 * and copy c; found at block b, it votes for version 1 when b is
 * 2 + c * nblocks + k, for version 2 with a ring of L slots when b is
 * 2 + 2L + 2k + c. Returns the version with the most votes (ring slots in
 * *@slots), 0 when no block votes; *@votes: how many did.
 */
static uint32_t detect_layout(struct dev *d, uint64_t nblocks, uint64_t *slots,
			      uint64_t *votes)
{
	uint64_t v1 = 0, v2[CLONE_RING_SLOTS + 1] = { 0 };
	uint64_t end = CLONE_SB_BLOCKS + CLONE_COPIES * (CLONE_RING_SLOTS + nblocks), b;
	const char *io[CHUNK], *w;
	uint32_t version = 0;
	uint8_t *buf;

	if (end > d->blocks)
		end = d->blocks;
	buf = chunk_buf(end);
	for (b = CLONE_SB_BLOCKS; b < end; b += CHUNK) {
		size_t n = end - b < CHUNK ? (size_t)(end - b) : CHUNK;

		dev_read(d, b, n, buf, io);
		for (size_t i = 0; i < n; i++) {
			uint8_t *blk = buf + i * CLONE_BLOCK_SIZE;
			uint64_t at = b + i, k = get_le32(HDR(blk, index)), l;
			uint32_t cp = get_le32(HDR(blk, copy));

			if (io[i] || k >= nblocks || cp >= CLONE_COPIES ||
			    check_block(blk, CLONE_KIND_BITMAP, at, NULL, (uint32_t)k,
					cp, &w) != BLK_VALID)
				continue;
			if (at == CLONE_SB_BLOCKS + cp * nblocks + k)
				v1++;
			if (at < CLONE_SB_BLOCKS + 2 * k + cp ||
			    (at - CLONE_SB_BLOCKS - 2 * k - cp) % 2)
				continue;
			l = (at - CLONE_SB_BLOCKS - 2 * k - cp) / 2;
			if (l >= CLONE_RING_MIN_SLOTS && l <= CLONE_RING_SLOTS)
				v2[l]++;
		}
	}
	free(buf);
	*votes = 0;
	for (uint64_t l = CLONE_RING_MIN_SLOTS; l <= CLONE_RING_SLOTS; l++)
		if (v2[l] > *votes) {
			*votes = v2[l];
			*slots = l;
			version = 2;
		}
	if (v1 > *votes) {
		*votes = v1;
		*slots = 0;
		version = 1;
	}
	return version;
}

/*
 * Valid superblock copies @s that agree but for their geometry: a grow cut
 * short between its two superblock writes. Copy @use is used, the module
 * takes copy @pick.
 */
static void grow_note(struct ctx *c, const struct super s[2], int use, int pick)
{
	char ckpt[96] = "", why[128];

	if (s[0].checkpoint != s[1].checkpoint)
		snprintf(ckpt, sizeof(ckpt), " and name checkpoints %llu and %llu",
			 (unsigned long long)s[0].checkpoint,
			 (unsigned long long)s[1].checkpoint);
	if (use != pick)
		snprintf(why, sizeof(why), " as told; the module uses copy %d (%llu regions) and rewrites copy %d at its next load",
			 pick, (unsigned long long)s[pick].nr_regions, !pick);
	else
		snprintf(why, sizeof(why), "%s; the module rewrites the other at its next load",
			 s[0].checkpoint != s[1].checkpoint ? ", the newer checkpoint" :
			 ", the grown one (the checkpoints are equal)");
	say(c, 0, "superblock copies 0 and 1 describe %llu and %llu regions (a grow cut short)%s: using copy %d (%llu regions)%s",
	    (unsigned long long)s[0].nr_regions, (unsigned long long)s[1].nr_regions,
	    ckpt, use, (unsigned long long)s[use].nr_regions, why);
}

/* Find the superblock to use; 0 when the bitmap can be read. */
static int load_super(struct dev *d, const struct md_opts *o, struct ctx *c)
{
	struct md *m = c->m;
	uint8_t *buf = xalloc_blocks(CLONE_SB_BLOCKS);
	const char *io[CLONE_SB_BLOCKS];
	struct super s[CLONE_SB_BLOCKS];
	int valid[CLONE_SB_BLOCKS], i, use = -1, r = -1;

	dev_read(d, 0, CLONE_SB_BLOCKS, buf, io);
	for (i = 0; i < CLONE_SB_BLOCKS; i++) {
		uint8_t *b = buf + i * CLONE_BLOCK_SIZE;

		if (io[i]) {
			m->sb_state[i] = BLK_UNREADABLE;
			m->sb_why[i] = io[i];
		} else {
			m->sb_state[i] = check_block(b, CLONE_KIND_SUPER, i, NULL,
						     0, i, &m->sb_why[i]);
		}
		valid[i] = m->sb_state[i] == BLK_VALID;
		if (valid[i])
			decode_super(b, &s[i]);
	}

	if (m->sb_state[0] == BLK_ZERO && m->sb_state[1] == BLK_ZERO) {
		m->found = FOUND_ZEROED;
		scan_zeroed(d, m);
		goto out;
	}

	if (!valid[0] && !valid[1]) {
		if (!io[0] && get_le64(buf + CLONE_UPSTREAM_MAGIC_OFFSET) ==
		    CLONE_UPSTREAM_MAGIC) {
			m->found = FOUND_UPSTREAM;
			say(c, 2, "block 0 holds the in-kernel dm-clone's metadata (persistent-data, magic 0x%llx), not this module's format: convert it with clone_convert",
			    CLONE_UPSTREAM_MAGIC);
			goto out;
		}
		m->found = FOUND_NOSB;
		if (get_le32(HDR(buf, kind)) != CLONE_KIND_SUPER &&
		    get_le32(HDR(buf + CLONE_BLOCK_SIZE, kind)) != CLONE_KIND_SUPER &&
		    !io[0] && !io[1]) {
			say(c, 2, "not dm-clone metadata: blocks 0 and 1 hold unrecognised data (the module refuses to format over it)");
			goto out;
		}
		say(c, 2, "no valid superblock: copy 0 (block 0) %s, copy 1 (block 1) %s: the module refuses this metadata",
		    m->sb_why[0], m->sb_why[1]);
		if (!o->salvage || !o->region_size || !o->nr_regions) {
			if (o->salvage)
				say(c, 0, "give the geometry (--region-size and --nr-regions, from the clone's table) to salvage the bitmap");
			goto out;
		}
		/*
		 * salvage: a superblock made from the geometry given, in the
		 * layout the bitmap blocks found are in
		 */
		uint64_t nb = bitmap_blocks(o->nr_regions), slots = 0, votes;
		uint32_t v = detect_layout(d, nb, &slots, &votes);

		if (v == 1)
			say(c, 0, "salvage: %llu valid bitmap block%s lie%s where format version 1 puts %s: taking version 1",
			    (unsigned long long)votes, votes > 1 ? "s" : "",
			    votes > 1 ? "" : "s", votes > 1 ? "them" : "it");
		else if (v)
			say(c, 0, "salvage: %llu valid bitmap block%s lie%s where format version 2 with a ring of %llu slots puts %s: taking that layout",
			    (unsigned long long)votes, votes > 1 ? "s" : "",
			    votes > 1 ? "" : "s", (unsigned long long)slots,
			    votes > 1 ? "them" : "it");
		if (!v) {
			slots = clone_ring_slots_for(o->nr_regions, d->blocks);
			v = slots ? 2 : 1;
			if (slots)
				say(c, 0, "salvage: no valid bitmap block tells the layout: taking format version 2 with a ring of %llu slots (what the module formats on this device)",
				    (unsigned long long)slots);
			else
				say(c, 0, "salvage: no valid bitmap block tells the layout: taking format version 1 (version 2 does not fit this device; the module formats version 1 on it)");
		}
		memset(&s[0], 0, sizeof(s[0]));
		memcpy(s[0].magic, CLONE_MAGIC, CLONE_MAGIC_SIZE);
		s[0].version = v;
		s[0].region_size = o->region_size;
		s[0].nr_regions = o->nr_regions;
		s[0].bitmap_blocks = nb;
		if (v >= 2) {
			s[0].ring_start = clone_ring_block(0, 0);
			s[0].ring_slots = (uint32_t)slots;
			s[0].checkpoint = 0;
		}
		s[0].copy_start[0] = clone_bitmap_block(v, slots, nb, 0, 0);
		s[0].copy_start[1] = clone_bitmap_block(v, slots, nb, 0, 1);
		s[0].block_size = CLONE_BLOCK_SIZE;
		s[0].bits_per_block = CLONE_BITS_PER_BLOCK;
		s[0].format_time = (uint64_t)time(NULL);
		m->sb_invented = 1;
		use = 0;
	} else if (valid[0] && valid[1] && !super_agree(buf, buf + CLONE_BLOCK_SIZE)) {
		char diff[512];

		super_diff(&s[0], &s[1], diff, sizeof(diff));
		say(c, 2, "superblock copies 0 and 1 disagree (%s)%s: the module refuses this metadata",
		    diff, s[0].version == 2 && s[1].version == 2 &&
		    grow_out_of_order(&s[0], &s[1]) ?
		    "; the copy with more regions names the older checkpoint, which no grow leaves" : "");
		if (o->salvage && o->use_sb >= 0) {
			use = o->use_sb;
		} else if (o->salvage && o->region_size && o->nr_regions) {
			for (i = 0; i < CLONE_SB_BLOCKS && use < 0; i++)
				if (s[i].region_size == o->region_size &&
				    s[i].nr_regions == o->nr_regions)
					use = i;
		}
		if (use < 0) {
			m->found = FOUND_BADSB;
			if (o->salvage)
				say(c, 0, "choose one with --superblock 0|1, or give the clone's --region-size and --nr-regions");
			goto out;
		}
		say(c, 0, "using superblock copy %d", use);
	} else {
		int both = valid[0] && valid[1], pick = valid[0] ? 0 : 1;

		/*
		 * version 2: a checkpoint (or a grow) writes one copy, then the
		 * other; the module takes the newer checkpoint, and of two
		 * naming the same one the grown copy (more regions: a grow
		 * writes its superblocks once the new bitmap blocks are durable)
		 */
		if (both && (s[1].checkpoint > s[0].checkpoint ||
			     (s[1].checkpoint == s[0].checkpoint &&
			      s[1].nr_regions > s[0].nr_regions)))
			pick = 1;
		use = o->use_sb >= 0 && valid[o->use_sb] ? o->use_sb : pick;
		/* salvage of a grow cut short: the copy of the geometry given */
		if (o->salvage && o->use_sb < 0 && o->nr_regions && both &&
		    s[!use].nr_regions == o->nr_regions &&
		    s[use].nr_regions != o->nr_regions)
			use = !use;
		if (both && s[0].nr_regions != s[1].nr_regions)
			grow_note(c, s, use, pick);
		else if (both && s[0].checkpoint != s[1].checkpoint)
			say(c, 0, "superblock copies 0 and 1 name checkpoints %llu and %llu (a checkpoint was cut short): using copy %d%s",
			    (unsigned long long)s[0].checkpoint,
			    (unsigned long long)s[1].checkpoint, use,
			    s[use].checkpoint < s[!use].checkpoint ? " as told" : ", the newer");
		if (valid[0] && valid[1] && s[0].nonce != s[1].nonce)
			say(c, 1, "superblock copies 0 and 1 carry different nonces: the module takes copy 0's and treats bitmap blocks carrying the other as left over from another format");
		for (i = 0; i < CLONE_SB_BLOCKS; i++)
			if (!valid[i])
				say(c, 1, "superblock copy %d (block %d) %s; copy %d valid: nothing lost, the module rewrites copy %d at the next commit",
				    i, i, m->sb_why[i], !i, i);
	}

	m->sb_copy = m->sb_invented ? -1 : use;
	m->sb = s[use];
	if (!m->sb_invented && check_super(c, &m->sb, use)) {
		m->found = FOUND_BADSB;
		goto out;
	}
	if (o->salvage && o->region_size && o->nr_regions &&
	    (m->sb.region_size != o->region_size || m->sb.nr_regions != o->nr_regions)) {
		say(c, 2, "the superblock describes %llu regions of %llu sectors, not the %llu regions of %llu sectors given",
		    (unsigned long long)m->sb.nr_regions,
		    (unsigned long long)m->sb.region_size,
		    (unsigned long long)o->nr_regions,
		    (unsigned long long)o->region_size);
		m->found = FOUND_BADSB;
		goto out;
	}
	if (o->max_regions && m->sb.nr_regions > o->max_regions) {
		say(c, 2, "%llu regions: more than this reader takes (%llu)",
		    (unsigned long long)m->sb.nr_regions,
		    (unsigned long long)o->max_regions);
		m->found = FOUND_BADSB;
		goto out;
	}
	m->found = FOUND_OK;
	m->nonce = m->sb.nonce;
	m->region_size = m->sb.region_size;
	m->nr_regions = m->sb.nr_regions;
	m->nr_blocks = m->sb.bitmap_blocks;
	if (d->blocks < md_layout_blocks(m)) {
		uint64_t need = md_layout_blocks(m);

		say(c, 2, "device too small: %llu blocks of 4 KiB (%llu sectors), the layout needs %llu (blocks 0-%llu): the module refuses it (need at least %llu sectors)",
		    (unsigned long long)d->blocks,
		    (unsigned long long)(d->size / 512),
		    (unsigned long long)need, (unsigned long long)(need - 1),
		    (unsigned long long)(need * CLONE_BLOCK_SECTORS));
	}
	r = 0;
out:
	free(buf);
	return r;
}

/* Merge the two copies of bitmap block @k into m->bits. */
static void merge_block(struct md *m, uint64_t k, const uint8_t *a,
			const uint8_t *b)
{
	struct bmblock *bb = &m->blk[k];
	int ua = bb->state[0] == BLK_VALID || bb->state[0] == BLK_ZERO;
	int ub = bb->state[1] == BLK_VALID || bb->state[1] == BLK_ZERO;
	uint64_t nbits = block_regions(m->nr_regions, k);
	uint64_t *w = m->bits + k * WORDS_PER_BLOCK;

	if (!ua && !ub) {
		bb->lost = 1;
		m->lost_blocks++;
		return;
	}
	if (!ua || !ub)
		m->damaged_copies++;
	for (uint64_t j = 0; j < WORDS_PER_BLOCK; j++) {
		uint64_t x = ua ? get_le64(a + CLONE_HEADER_SIZE + 8 * j) : 0;
		uint64_t y = ub ? get_le64(b + CLONE_HEADER_SIZE + 8 * j) : 0;
		uint64_t mask = j * 64 >= nbits ? 0 :
				nbits - j * 64 >= 64 ? ~0ULL :
				(1ULL << (nbits - j * 64)) - 1;

		if ((x | y) & ~mask) {
			bb->stray = 1;
			m->stray_end = block_first(k) + j * 64 + 64 -
				       (uint64_t)__builtin_clzll((x | y) & ~mask);
		}
		if (ua && ub) {
			bb->only[0] += (uint32_t)__builtin_popcountll(x & ~y & mask);
			bb->only[1] += (uint32_t)__builtin_popcountll(y & ~x & mask);
		}
		w[j] = (x | y) & mask;
		bb->hydrated += (uint32_t)__builtin_popcountll(w[j]);
	}
	if (bb->only[0] || bb->only[1])
		m->differing_blocks++;
	m->hydrated += bb->hydrated;
}

uint64_t md_bitmap_block(const struct md *m, uint64_t k, int cp)
{
	return clone_bitmap_block(m->sb.version, m->sb.ring_slots,
				  m->nr_blocks, k, (unsigned int)cp);
}

uint64_t md_layout_blocks(const struct md *m)
{
	return layout_blocks_v(m->sb.version, m->nr_regions, m->sb.ring_slots);
}

/*
 * Where copy @cp of the @i-th of @n bitmap blocks handled together sits in
 * their buffer: version 1 keeps each copy's blocks together, version 2
 * the two copies of a block side by side, as on disk.
 */
static size_t chunk_slot(uint32_t version, size_t n, size_t i, int cp)
{
	return version >= 2 ? 2 * i + (size_t)cp : (size_t)cp * n + i;
}

static void load_bitmap(struct dev *d, struct ctx *c)
{
	struct md *m = c->m;
	uint64_t n_blk = m->nr_blocks, start;
	uint32_t v = m->sb.version;
	uint8_t *buf = xalloc_blocks(2 * (n_blk < CHUNK ? (size_t)n_blk : CHUNK));
	const char *io[2 * CHUNK];

	m->bits = bits_alloc(m->nr_regions);
	m->blk = xcalloc(n_blk, sizeof(*m->blk));
	for (start = 0; start < n_blk; start += CHUNK) {
		size_t n = n_blk - start < CHUNK ? (size_t)(n_blk - start) : CHUNK;

		if (v >= 2)
			dev_read(d, md_bitmap_block(m, start, 0), 2 * n, buf, io);
		else
			for (int cp = 0; cp < 2; cp++)
				dev_read(d, md_bitmap_block(m, start, cp), n,
					 buf + cp * n * CLONE_BLOCK_SIZE, io + cp * n);
		for (size_t i = 0; i < n; i++) {
			uint64_t k = start + i;
			struct bmblock *bb = &m->blk[k];
			size_t at[2] = { chunk_slot(v, n, i, 0), chunk_slot(v, n, i, 1) };

			for (int cp = 0; cp < 2; cp++) {
				if (io[at[cp]]) {
					bb->state[cp] = BLK_UNREADABLE;
					bb->why[cp] = io[at[cp]];
					continue;
				}
				bb->state[cp] = check_block(
					buf + at[cp] * CLONE_BLOCK_SIZE,
					CLONE_KIND_BITMAP, md_bitmap_block(m, k, cp),
					&m->nonce, (uint32_t)k, (uint32_t)cp,
					&bb->why[cp]);
			}
			merge_block(m, k, buf + at[0] * CLONE_BLOCK_SIZE,
				    buf + at[1] * CLONE_BLOCK_SIZE);
		}
	}
	free(buf);
}

static int usable(int state)
{
	return state == BLK_VALID || state == BLK_ZERO;
}

/*
 * How the usable copies of a block compare: -1 the same (or one unusable),
 * 0 copy A holds more, 1 copy B holds more, 2 each holds bits the other
 * lacks.
 */
static int lag_kind(const struct bmblock *b)
{
	if (b->only[0] && b->only[1])
		return 2;
	return b->only[0] ? 0 : b->only[1] ? 1 : -1;
}

/* What two blocks have in common for one message about both. */
static int same_damage(const struct bmblock *a, const struct bmblock *b)
{
	for (int cp = 0; cp < 2; cp++) {
		if (usable(a->state[cp]) != usable(b->state[cp]))
			return 0;
		if (!usable(a->state[cp]) && strcmp(a->why[cp], b->why[cp]))
			return 0;
	}
	return 1;
}

/*
 * One message per run of consecutive blocks with the same damage, so that
 * a whole copy gone is a line, not thousands.
 */
static void report_bitmap(struct ctx *c, const struct md_opts *o)
{
	struct md *m = c->m;
	uint64_t k, e, n = m->nr_blocks;

	for (k = 0; k < n; k = e) {
		const struct bmblock *b = &m->blk[k];
		int ua = usable(b->state[0]), ub = usable(b->state[1]);

		for (e = k + 1; e < n && same_damage(b, &m->blk[e]); e++)
			;
		if (ua && ub)
			continue;
		uint64_t first = block_first(k);
		uint64_t last = block_first(e - 1) + block_regions(m->nr_regions, e - 1) - 1;
		const char *blocks = e - k > 1 ? "s" : "";

		if (!ua && !ub) {
			say(c, 2, "bitmap block%s %s (regions %s): copy A (block%s %s) %s, copy B (block%s %s) %s: the hydration state of regions %s is LOST; the module refuses this metadata (see clone_repair)",
			    blocks, range(k, e - 1), range(first, last),
			    blocks, range(md_bitmap_block(m, k, 0), md_bitmap_block(m, e - 1, 0)),
			    b->why[0], blocks,
			    range(md_bitmap_block(m, k, 1), md_bitmap_block(m, e - 1, 1)),
			    b->why[1], range(first, last));
		} else {
			int bad = ua ? 1 : 0;
			char then[256];

			/*
			 * Version 1, not "nothing lost": a commit for a flush
			 * writes one copy, and nothing on disk says which copy
			 * was last. Version 2 writes both at every checkpoint
			 * before a superblock names it, and logs the rest.
			 */
			if (m->sb.version >= 2)
				snprintf(then, sizeof(then), "at the checkpoint it writes at load: nothing lost (a checkpoint writes both copies before the superblocks name it)");
			else
				snprintf(then, sizeof(then), "at the next commit; regions that only copy %c held (the last commits for flushes before a crash write one copy) would be lost, which the metadata cannot tell",
					 'A' + bad);
			say(c, 1, "bitmap block%s %s (regions %s): copy %c (block%s %s) %s, copy %c intact: the module uses copy %c and rewrites copy %c %s",
			    blocks, range(k, e - 1), range(first, last),
			    'A' + bad, blocks,
			    range(md_bitmap_block(m, k, bad), md_bitmap_block(m, e - 1, bad)),
			    b->why[bad], 'A' + !bad, 'A' + !bad, 'A' + bad, then);
		}
	}
	for (k = 0; k < n; k = e) {
		int kind = lag_kind(&m->blk[k]);
		uint64_t diff = 0;

		for (e = k; e < n && lag_kind(&m->blk[e]) == kind; e++)
			diff += m->blk[e].only[0] + m->blk[e].only[1];
		if (kind < 0)
			continue;
		const char *blocks = e - k > 1 ? "s" : "";
		const char *regions = range(block_first(k), block_first(e - 1) +
					    block_regions(m->nr_regions, e - 1) - 1);

		if (kind == 2)
			say(c, 1, "bitmap block%s %s (regions %s): each copy holds hydrated regions the other lacks (%llu in all), which the module never writes: nothing lost, the module takes the regions hydrated in either and rewrites both copies at the next commit",
			    blocks, range(k, e - 1), regions,
			    (unsigned long long)diff);
		else
			say(c, 0, "bitmap block%s %s (regions %s): copy %c lacks %llu hydrated region%s that copy %c holds (the last commits for flushes wrote one copy): nothing lost, the module brings copy %c up to date at its next full commit",
			    blocks, range(k, e - 1), regions, 'A' + !kind,
			    (unsigned long long)diff, diff > 1 ? "s" : "",
			    'A' + kind, 'A' + !kind);
	}
	if (!m->stray_end)
		return;
	if (!m->sb_invented) {
		say(c, 1, "bitmap block %llu: bits set past the last region (%llu): meaningless, the module clears them and rewrites the block at the next commit",
		    (unsigned long long)(n - 1),
		    (unsigned long long)(m->nr_regions - 1));
		return;
	}
	/*
	 * The module never sets them: with a geometry from the user, they
	 * say that it is wrong, that the clone has more regions.
	 */
	say(c, o->trust_geometry ? 1 : 2,
	    "bitmap block %llu: bits are set up to region %llu, past the last of the %llu regions given: the bitmap suggests at least %llu regions; %s",
	    (unsigned long long)(n - 1), (unsigned long long)(m->stray_end - 1),
	    (unsigned long long)m->nr_regions, (unsigned long long)m->stray_end,
	    o->trust_geometry ? "dropping them (--force)" :
	    "check --nr-regions or --device-size against the clone's table (--force uses the geometry given anyway)");
	if (!o->trust_geometry)
		m->found = FOUND_BADGEOM;
}

/* ---- version 2: the ring of records ---- */

#define REC(blk, f) FIELD(blk, struct clone_record, f)

/* What one copy of a ring slot holds for ring position @pos. */
enum rec_state {
	REC_VALID,		/* the record of @pos */
	REC_NONE,		/* zeroed, or an older record: no record */
	REC_TORN,		/* bad checksum, misplaced, another format */
	REC_NEWER,		/* a valid header with a later sequence */
	REC_CORRUPT,		/* checksum and sequence right, the rest wrong */
	REC_UNREADABLE,		/* read I/O error */
};

struct rec_copy {
	enum rec_state state;
	const char *why;
	uint64_t seq;
};

/* NULL if the body of record @b is valid for @nr_regions regions, else why not. */
static const char *record_body(const uint8_t *b, uint64_t nr_regions)
{
	static char msg[128];
	uint32_t n = get_le32(REC(b, nr_runs));

	if (get_le64(REC(b, confirm)))
		return "its confirm field is not zero";
	if (!n || n > CLONE_RECORD_RUNS)
		return "its run count is not 1 to 252";
	if (get_le32(REC(b, reserved)))
		return "its reserved field is not zero";
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *r = b + CLONE_RECORD_HEADER + 16 * i;
		uint64_t first = get_le32(r), count = get_le32(r + 4);

		if (!count)
			return "it holds an empty run";
		if (first + count > nr_regions) {
			snprintf(msg, sizeof(msg), "its run %u (regions %llu-%llu) goes past the last region (%llu)",
				 i, (unsigned long long)first,
				 (unsigned long long)(first + count - 1),
				 (unsigned long long)(nr_regions - 1));
			return msg;
		}
		if (get_le32(r + 8) || get_le32(r + 12))
			return "a run's reserved fields (csum, flags) are not zero";
	}
	for (size_t i = CLONE_RECORD_HEADER + 16 * (size_t)n; i < CLONE_BLOCK_SIZE; i++)
		if (b[i])
			return "bytes past its last run are not zero";
	return NULL;
}

/* Judge copy @cp of the slot of ring position @pos, read into @b (@io: error). */
static void judge_record(const struct md *m, uint64_t pos, int cp,
			 const uint8_t *b, const char *io, struct rec_copy *r)
{
	uint64_t slot = pos % m->sb.ring_slots;
	enum blk_state st;

	r->seq = 0;
	if (io) {
		r->state = REC_UNREADABLE;
		r->why = io;
		return;
	}
	st = check_block(b, CLONE_KIND_RECORD, clone_ring_block(slot, (unsigned int)cp),
			 &m->nonce, (uint32_t)slot, (uint32_t)cp, &r->why);
	if (st == BLK_ZERO) {
		r->state = REC_NONE;
		return;
	}
	r->seq = get_le64(REC(b, seq));
	if (st == BLK_VALID) {
		const char *body = r->seq == pos + 1 ? record_body(b, m->nr_regions) : NULL;

		r->state = r->seq > pos + 1 ? REC_NEWER : body ? REC_CORRUPT :
			   r->seq == pos + 1 ? REC_VALID : REC_NONE;
		r->why = body ? body : r->seq < pos + 1 ? "an older record" :
			 r->seq > pos + 1 ? "a newer record" : "valid";
		return;
	}
	/* under a valid checksum, the record of this place and position: corrupt */
	r->state = get_le32(HDR(b, csum)) == block_csum(b) &&
		   get_le32(HDR(b, kind)) == CLONE_KIND_RECORD &&
		   r->seq == pos + 1 ? REC_CORRUPT : REC_TORN;
}

/* Read and judge both copies of the slot of ring position @pos into @buf, @r. */
static void read_slot(struct dev *d, const struct md *m, uint64_t pos,
		      uint8_t *buf, struct rec_copy r[2])
{
	const char *io[CLONE_COPIES];

	dev_read(d, clone_ring_block(pos % m->sb.ring_slots, 0), CLONE_COPIES, buf, io);
	for (int cp = 0; cp < CLONE_COPIES; cp++)
		judge_record(m, pos, cp, buf + cp * CLONE_BLOCK_SIZE, io[cp], &r[cp]);
}

/* The first copy of a slot in @state, or -1. */
static int copy_in(const struct rec_copy r[2], enum rec_state state)
{
	return r[0].state == state ? 0 : r[1].state == state ? 1 : -1;
}

static void apply_record(struct md *m, const uint8_t *b)
{
	uint32_t n = get_le32(REC(b, nr_runs));

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *r = b + CLONE_RECORD_HEADER + 16 * i;
		uint64_t first = get_le32(r);

		bits_set_range(m->bits, first, first + get_le32(r + 4));
	}
}

/*
 * Where replay stopped at @pos, neither copy a record of it (@r): the end
 * of the log, or one of the module's refusals. 1 if refused.
 */
static int ring_stop(struct ctx *c, struct dev *d, uint64_t pos, uint8_t *buf,
		     const struct rec_copy r[2])
{
	struct md *m = c->m;
	uint64_t slot = pos % m->sb.ring_slots;
	struct rec_copy next[2];
	int cp = copy_in(r, REC_NEWER);

	if (cp >= 0) {
		m->ring_why = "overwritten past the checkpoint";
		say(c, 2, "ring position %llu (slot %llu): copy %d (block %llu) holds the record of position %llu: the ring was overwritten past the checkpoint (%llu), the records between are gone and the hydration state of any region not hydrated is LOST; the module refuses this metadata",
		    (unsigned long long)pos, (unsigned long long)slot, cp,
		    (unsigned long long)clone_ring_block(slot, (unsigned int)cp),
		    (unsigned long long)(r[cp].seq - 1),
		    (unsigned long long)m->sb.checkpoint);
		return 1;
	}
	cp = copy_in(r, REC_CORRUPT);
	if (cp >= 0) {
		m->ring_why = "a corrupt record";
		say(c, 2, "ring position %llu (slot %llu): copy %d (block %llu) is its record under a valid checksum, but %s: corrupt, the module refuses this metadata; the regions it names cannot be told (their hydration state is LOST)",
		    (unsigned long long)pos, (unsigned long long)slot, cp,
		    (unsigned long long)clone_ring_block(slot, (unsigned int)cp),
		    r[cp].why);
		return 1;
	}
	if (r[0].state == REC_UNREADABLE && r[1].state == REC_UNREADABLE) {
		m->ring_why = "both copies unreadable";
		say(c, 2, "ring position %llu (slot %llu): copy 0 (block %llu) %s, copy 1 (block %llu) %s: the module cannot tell whether the log ends there and refuses this metadata; the hydration state of any region not hydrated is LOST",
		    (unsigned long long)pos, (unsigned long long)slot,
		    (unsigned long long)clone_ring_block(slot, 0), r[0].why,
		    (unsigned long long)clone_ring_block(slot, 1), r[1].why);
		return 1;
	}
	read_slot(d, m, pos + 1, buf, next);
	if (copy_in(next, REC_VALID) >= 0) {
		m->ring_why = "a record lost in both copies";
		say(c, 2, "ring position %llu (slot %llu): no record in either copy (copy 0 %s, copy 1 %s), but position %llu (slot %llu) holds one: a record lost in both copies, whose regions cannot be told (their hydration state is LOST); the module refuses this metadata",
		    (unsigned long long)pos, (unsigned long long)slot,
		    r[0].why, r[1].why, (unsigned long long)(pos + 1),
		    (unsigned long long)((pos + 1) % m->sb.ring_slots));
		return 1;
	}
	m->ring_why = "the end of the log";
	return 0;
}

/*
 * Replay the ring from the checkpoint as the module does, the runs of
 * every record into m->bits. With salvage, go on past a refusal while
 * records follow: what they name is hydrated all the same.
 */
static void replay_ring(struct dev *d, const struct md_opts *o, struct ctx *c)
{
	struct md *m = c->m;
	uint64_t slots = m->sb.ring_slots, pos = m->sb.checkpoint, step, salvaged = 0;
	uint8_t *buf = xalloc_blocks(CLONE_COPIES);
	struct rec_copy r[2];
	int refused = 0;

	m->ring_end = pos;
	m->ring_why = "the whole ring replayed";
	for (step = 0; step < slots; step++, pos++) {
		read_slot(d, m, pos, buf, r);
		if (copy_in(r, REC_VALID) < 0) {
			if (refused)
				break;
			m->ring_end = pos;
			refused = ring_stop(c, d, pos, buf, r);
			if (!refused || !o->salvage)
				break;
			continue;
		}
		for (int cp = 0; cp < CLONE_COPIES; cp++)
			if (r[cp].state == REC_VALID)
				apply_record(m, buf + cp * CLONE_BLOCK_SIZE);
		if (refused) {
			salvaged++;
			continue;
		}
		m->replayed++;
		m->ring_end = pos + 1;
		int bad = r[0].state == REC_VALID;

		if (r[bad].state == REC_VALID || r[bad].state == REC_NONE)
			continue;
		m->ring_damaged++;
		say(c, 1, "ring position %llu (slot %llu): copy %d (block %llu) %s, copy %d valid: nothing lost, the module replays copy %d and writes a checkpoint at load",
		    (unsigned long long)pos, (unsigned long long)(pos % slots), bad,
		    (unsigned long long)clone_ring_block(pos % slots, (unsigned int)bad),
		    r[bad].why, !bad, !bad);
	}
	m->ring_unknown = refused;
	free(buf);
	uint64_t before = m->hydrated;

	m->hydrated = bits_count(m->bits, m->nr_regions);
	m->ring_added = m->hydrated - before;
	if (m->replayed)
		say(c, 0, "ring: %llu record%s replayed (positions %s) from the checkpoint, %llu region%s hydrated past the bitmap: the module writes a checkpoint at load",
		    (unsigned long long)m->replayed, m->replayed > 1 ? "s" : "",
		    range(m->sb.checkpoint, m->sb.checkpoint + m->replayed - 1),
		    (unsigned long long)m->ring_added, m->ring_added == 1 ? "" : "s");
	if (salvaged)
		say(c, 0, "ring: %llu more record%s read past position %llu (the module stops there): their regions are hydrated",
		    (unsigned long long)salvaged, salvaged > 1 ? "s" : "",
		    (unsigned long long)m->ring_end);
}

void md_analyze(struct dev *d, const struct md_opts *o, struct md *m,
		report_fn report, void *arg)
{
	struct ctx c = { m, report, arg };

	memset(m, 0, sizeof(*m));
	m->sb_copy = -1;
	m->dev_blocks = d->blocks;
	if (d->blocks < CLONE_SB_BLOCKS) {
		m->found = FOUND_TOOSMALL;
		say(&c, 2, "%llu bytes: too small to hold dm-clone metadata (the smallest takes 4 blocks of 4 KiB, 16 KiB)",
		    (unsigned long long)d->size);
		return;
	}
	if (load_super(d, o, &c) || o->super_only)
		return;
	if (m->sb_invented)
		m->nonce = guess_nonce(d, m);
	load_bitmap(d, &c);
	report_bitmap(&c, o);
	if (m->sb.version >= 2)
		replay_ring(d, o, &c);
}

const char *md_unusable(const struct md *m)
{
	return m->found == FOUND_BADGEOM ?
	       "the bitmap contradicts the geometry given" :
	       "no usable superblock";
}

void md_free(struct md *m)
{
	free(m->bits);
	free(m->blk);
	m->bits = NULL;
	m->blk = NULL;
}

/* ---- writing ---- */

/* @slots: version 2's ring (its checkpoint 0); 0 in version 1 */
static void build_super(void *blk, uint32_t version, uint64_t slots,
			uint64_t region_size, uint64_t nr_regions,
			uint64_t format_time, uint64_t nonce, uint32_t copy)
{
	uint64_t n = bitmap_blocks(nr_regions);

	memset(blk, 0, CLONE_BLOCK_SIZE);
	memcpy(SB(blk, magic), CLONE_MAGIC, CLONE_MAGIC_SIZE);
	put_le32(SB(blk, version), version);
	put_le64(SB(blk, region_size), region_size);
	put_le64(SB(blk, nr_regions), nr_regions);
	put_le64(SB(blk, bitmap_blocks), n);
	put_le64(SB(blk, copy_start[0]), clone_bitmap_block(version, slots, n, 0, 0));
	put_le64(SB(blk, copy_start[1]), clone_bitmap_block(version, slots, n, 0, 1));
	put_le32(SB(blk, block_size), CLONE_BLOCK_SIZE);
	put_le32(SB(blk, bits_per_block), CLONE_BITS_PER_BLOCK);
	put_le64(SB(blk, format_time), format_time);
	if (version >= 2) {
		put_le64(SB(blk, ring_start), clone_ring_block(0, 0));
		put_le32(SB(blk, ring_slots), (uint32_t)slots);
	}
	seal_block(blk, CLONE_KIND_SUPER, copy, nonce, 0, copy);
}

static uint64_t random_nonce(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)clock();
	return v;
}

int md_write(struct dev *d, uint32_t version, uint64_t region_size,
	     uint64_t nr_regions, uint64_t format_time, const uint64_t *bits,
	     const char *prog)
{
	uint64_t n = bitmap_blocks(nr_regions), need = layout_blocks(nr_regions);
	uint64_t nonce = random_nonce(), start, slots = 0;
	size_t per = n < CHUNK ? (size_t)n : CHUNK, nbuf;
	uint8_t *buf;
	int cp;

	if (version >= 2) {
		slots = clone_ring_slots_for(nr_regions, d->blocks);
		need = layout_blocks_v(version, nr_regions,
				       slots ? slots : CLONE_RING_MIN_SLOTS);
	}
	if (d->blocks < need) {
		fprintf(stderr, "%s: %s is too small: %llu bytes; %llu regions need %llu blocks of 4 KiB%s: at least %llu bytes (%llu sectors)\n",
			prog, d->path, (unsigned long long)d->size,
			(unsigned long long)nr_regions, (unsigned long long)need,
			version >= 2 ? " in format version 2 (a ring of 8 slots, the fewest)" : "",
			(unsigned long long)(need * CLONE_BLOCK_SIZE),
			(unsigned long long)(need * CLONE_BLOCK_SECTORS));
		return EXIT_FAILED;
	}
	/* both copies of a chunk of bitmap blocks; zeroed for the superblocks, the ring */
	nbuf = 2 * (slots > per ? (slots < CHUNK ? (size_t)slots : CHUNK) : per);
	buf = xalloc_blocks(nbuf);
	/*
	 * Zero the superblocks first: interrupted half way, the device reads
	 * as zeroed superblocks over data, which the module refuses ("not
	 * zeroed"), instead of old superblocks over a mix of bitmaps.
	 */
	if (dev_write(d, 0, CLONE_SB_BLOCKS, buf) || dev_sync(d))
		goto fail;
	/* version 2: a zeroed slot holds no record */
	for (start = 0; start < CLONE_COPIES * slots; start += nbuf) {
		uint64_t cnt = CLONE_COPIES * slots - start;

		if (dev_write(d, clone_ring_block(0, 0) + start,
			      cnt < nbuf ? (size_t)cnt : nbuf, buf))
			goto fail;
	}
	for (start = 0; start < n; start += CHUNK) {
		size_t cnt = n - start < CHUNK ? (size_t)(n - start) : CHUNK;

		for (size_t i = 0; i < cnt; i++) {
			uint64_t k = start + i, nbits = block_regions(nr_regions, k);

			for (cp = 0; cp < CLONE_COPIES; cp++) {
				uint8_t *b = buf + chunk_slot(version, cnt, i, cp) * CLONE_BLOCK_SIZE;

				memset(b, 0, CLONE_BLOCK_SIZE);
				for (uint64_t j = 0; j * 64 < nbits; j++) {
					uint64_t w = bits[k * WORDS_PER_BLOCK + j];

					if (nbits - j * 64 < 64)
						w &= (1ULL << (nbits - j * 64)) - 1;
					put_le64(b + CLONE_HEADER_SIZE + 8 * j, w);
				}
				seal_block(b, CLONE_KIND_BITMAP,
					   clone_bitmap_block(version, slots, n, k, (unsigned int)cp),
					   nonce, (uint32_t)k, (uint32_t)cp);
			}
		}
		if (version >= 2) {
			if (dev_write(d, clone_bitmap_block(version, slots, n, start, 0),
				      2 * cnt, buf))
				goto fail;
			continue;
		}
		for (cp = 0; cp < CLONE_COPIES; cp++)
			if (dev_write(d, clone_bitmap_block(version, slots, n, start, (unsigned int)cp),
				      cnt, buf + (size_t)cp * cnt * CLONE_BLOCK_SIZE))
				goto fail;
	}
	if (dev_sync(d))
		goto fail;
	/* copy 1 first, as the module formats: until copy 0 lands, copy 1 rules */
	for (cp = 1; cp >= 0; cp--) {
		build_super(buf, version, slots, region_size, nr_regions,
			    format_time, nonce, (uint32_t)cp);
		if (dev_write(d, (uint64_t)cp, 1, buf) || dev_sync(d))
			goto fail;
	}
	free(buf);
	return 0;
fail:
	fprintf(stderr, "%s: writing %s: %s\n", prog, d->path, strerror(errno));
	free(buf);
	return EXIT_FAILED;
}

uint64_t *md_lost_bits(const struct md *m)
{
	uint64_t *lost;

	if (!m->lost_blocks && !m->ring_unknown)
		return NULL;
	lost = bits_alloc(m->nr_regions);
	/* a ring that cannot be told: any region not known hydrated */
	if (m->ring_unknown)
		bits_set_range(lost, 0, m->nr_regions);
	for (uint64_t k = 0; k < m->nr_blocks; k++)
		if (m->blk[k].lost)
			bits_set_range(lost, block_first(k),
				       block_first(k) + block_regions(m->nr_regions, k));
	/* what a record names is hydrated, lost block or not */
	for (uint64_t i = 0; i < m->nr_blocks * WORDS_PER_BLOCK; i++)
		lost[i] &= ~m->bits[i];
	return lost;
}

void md_print_lost(FILE *f, const struct md *m)
{
	uint64_t *lost = md_lost_bits(m), pos = 0, s, e, runs = 0;

	while (lost && (s = bits_next(lost, pos, m->nr_regions, 1)) < m->nr_regions) {
		e = bits_next(lost, s, m->nr_regions, 0);
		if (++runs <= 16)
			fprintf(f, "%s%s", runs > 1 ? ", " : "", range(s, e - 1));
		pos = e;
	}
	if (runs > 16)
		fprintf(f, " and %llu more ranges (%llu regions in all)",
			(unsigned long long)(runs - 16),
			(unsigned long long)bits_count(lost, m->nr_regions));
	free(lost);
}
