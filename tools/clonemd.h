/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libclonemd: the dm-clone metadata format in userspace, shared by the
 * clone_* tools. The numbers come from ../dm-clone-format.h (shared with the
 * kernel module); this file adds what userspace needs around them: byte
 * order, CRC-32C, device I/O, the analysis of a metadata device (the same
 * validity rules as the module's loader), the writer, and the dump formats.
 */
#ifndef CLONEMD_H
#define CLONEMD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dm-clone-format.h"

#define TOOLS_VERSION "0.1.0"

/* 64-bit words in a bitmap block's payload: 508, and 508 * 64 = 32512 */
#define WORDS_PER_BLOCK (CLONE_PAYLOAD_SIZE / 8)

/* The region size limits of the table (sectors: 4 KiB .. 1 GiB). */
#define REGION_SIZE_MIN 8ULL
#define REGION_SIZE_MAX 2097152ULL

/*
 * Exit codes: one table for every tool and both scripts (clone-migrate,
 * clone-activate name the same numbers), printed by print_exit_status()
 * and in the EXIT STATUS of every man page.
 */
enum {
	EXIT_CLEAN = 0,		/* success: clean, done */
	EXIT_FIXABLE = 1,	/* damage that loses nothing; a lost state guessed */
	EXIT_LOST = 2,		/* hydration state lost, or metadata refused */
	EXIT_USAGE = 3,		/* a bad option or argument */
	EXIT_UNFORMATTED = 4,	/* the metadata device is zeroed */
	EXIT_FAILED = 5,	/* cannot open, read or write a device or file */
	EXIT_INTERRUPTED = 130,	/* SIGINT, SIGTERM: the scripts (no tool traps them) */
};

/* ---- little-endian access (the format is little-endian everywhere) ---- */

static inline uint32_t get_le32(const void *p)
{
	const uint8_t *b = p;

	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static inline uint64_t get_le64(const void *p)
{
	const uint8_t *b = p;

	return (uint64_t)get_le32(b) | (uint64_t)get_le32(b + 4) << 32;
}

static inline void put_le32(void *p, uint32_t v)
{
	uint8_t *b = p;

	b[0] = v;
	b[1] = v >> 8;
	b[2] = v >> 16;
	b[3] = v >> 24;
}

static inline void put_le64(void *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

/* A field of a header or superblock, located by the shared struct. */
#define FIELD(blk, type, field) ((uint8_t *)(blk) + offsetof(type, field))
#define HDR(blk, f) FIELD(blk, struct clone_block_header, f)
#define SB(blk, f) FIELD(blk, struct clone_superblock, f)

/* ---- checksums and blocks ---- */

/* Raw CRC-32C update (no pre/post inversion). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
/* The same with the portable table code only (for tests). */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);
/* The checksum a block's csum field must hold. */
uint32_t block_csum(const void *block);

enum blk_state { BLK_VALID, BLK_ZERO, BLK_BAD, BLK_UNREADABLE };

int block_is_zero(const void *block);
/*
 * The module's verdict on a block read from @blocknr; @nonce NULL while the
 * superblock (which defines it) is looked for. *why says what is wrong.
 */
enum blk_state check_block(const void *block, uint32_t kind, uint64_t blocknr,
			   const uint64_t *nonce, uint32_t index, uint32_t copy,
			   const char **why);
void seal_block(void *block, uint32_t kind, uint64_t blocknr, uint64_t nonce,
		uint32_t index, uint32_t copy);

/* ---- devices and image files ---- */

struct dev {
	int fd;
	const char *path;
	uint64_t size;		/* bytes */
	uint64_t blocks;	/* whole 4 KiB blocks */
	int is_bdev;
	int busy;		/* a block device someone holds (a live clone?) */
	const uint8_t *mem;	/* an image in memory instead (tests, fuzzing) */
	int fail_block_from;	/* tests: blocks >= this read as I/O errors (-1) */
	int fail_block_to;	/*   and < this (0: to the end) */
	int fail_write_from;	/* tests: this dev_write() call on fails (0: none) */
	int writes;		/* dev_write() calls so far */
};

enum { DEV_READ, DEV_WRITE, DEV_CREATE };
/* Open @path; DEV_CREATE creates a missing regular file of @create_size. */
int dev_open(struct dev *d, const char *path, int mode, uint64_t create_size);
void dev_open_mem(struct dev *d, const void *mem, size_t size);
void dev_close(struct dev *d);
/*
 * Read @n blocks from @first. A block that cannot be read (I/O error, past
 * the end) gets a reason in why[i]; readable ones get NULL.
 */
void dev_read(struct dev *d, uint64_t first, size_t n, void *buf,
	      const char **why);
int dev_write(struct dev *d, uint64_t first, size_t n, const void *buf);
int dev_sync(struct dev *d);
/*
 * Open block device @path with @flags, exclusively: O_EXCL on a block
 * device fails (EBUSY) while the kernel holds it (a live dm table, a
 * mounted file system), so that nothing is written under them. With @busy,
 * open it anyway when held, and set *@busy (only to read it).
 */
int open_bdev(const char *path, int flags, int *busy);
/*
 * Say on stderr why opening @path (to write, if @writing) failed, from
 * errno: EBUSY is a block device in use, ENOTBLK neither a block device
 * nor a regular file (dev_open).
 */
void open_error(const char *path, int writing, const char *prog);
/*
 * Whether input @in and output @out are the same file or device (the same
 * inode, or block device nodes of the same device); "-" is standard input
 * as @in, standard output as @out, and so is a NULL @out.
 */
int same_file(const char *in, const char *out);
/* 4 KiB-aligned buffer (O_DIRECT), zeroed; exits on failure. */
void *xalloc_blocks(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);

/* ---- messages ---- */

/* Where problems go: @sev is 0 (note), 1 (nothing lost) or 2 (lost). */
typedef void (*report_fn)(void *ctx, int sev, const char *msg);

/* ---- geometry ---- */

/* region_size: sectors; NULL on success, else why it is invalid */
const char *check_region_size(uint64_t region_size);
const char *check_nr_regions(uint64_t nr_regions);
static inline uint64_t bitmap_blocks(uint64_t nr_regions)
{
	return clone_bitmap_blocks(nr_regions);
}
static inline uint64_t layout_blocks(uint64_t nr_regions)
{
	return clone_metadata_blocks(nr_regions);
}
/* The blocks format @version takes (version 2: with a ring of @slots). */
static inline uint64_t layout_blocks_v(uint32_t version, uint64_t nr_regions,
				       uint64_t slots)
{
	return version < 2 ? layout_blocks(nr_regions) :
	       clone_metadata_blocks_v2(nr_regions, slots);
}

/* ---- analysis (read side) ---- */

struct super {			/* a superblock body, decoded */
	uint64_t nonce;
	char magic[CLONE_MAGIC_SIZE];
	uint32_t version, flags, block_size, bits_per_block;
	uint64_t region_size, nr_regions, bitmap_blocks, copy_start[2];
	uint64_t format_time;
	uint64_t checkpoint, ring_start;	/* version 2 on */
	uint32_t ring_slots, reserved;
	int tail_dirty;		/* reserved bytes past the fields not zero */
};

struct bmblock {		/* one bitmap block, both copies */
	uint8_t state[2];	/* enum blk_state of copy A, B */
	uint8_t lost;		/* neither copy usable */
	uint8_t stray;		/* bits set past the last region */
	const char *why[2];
	uint32_t only[2];	/* regions hydrated in copy A (B) only, both usable */
	uint32_t hydrated;	/* in the merged block */
};

enum md_found {
	FOUND_OK,		/* a usable superblock: the bitmap was read */
	FOUND_ZEROED,		/* both superblocks zeroed: unformatted */
	FOUND_UPSTREAM,		/* the in-kernel dm-clone's metadata */
	FOUND_NOSB,		/* no valid superblock */
	FOUND_BADSB,		/* a valid superblock we cannot use */
	FOUND_TOOSMALL,		/* not even room for the superblocks */
	FOUND_BADGEOM,		/* salvage: the bitmap contradicts the geometry given */
};

struct md_opts {
	int super_only;		/* stop after the superblocks */
	int salvage;		/* read around damage the module refuses */
	int use_sb;		/* salvage: -1, or the superblock copy to trust */
	uint64_t region_size;	/* salvage: the geometry when no superblock */
	uint64_t nr_regions;	/*   can be trusted (0: unknown) */
	int trust_geometry;	/* salvage: even against the bitmap (--force) */
	uint64_t max_regions;	/* refuse more (memory bound, fuzzing); 0: none */
};

struct md {
	enum md_found found;
	int severity;		/* worst problem: 0, 1, 2 */
	uint8_t sb_state[2];
	const char *sb_why[2];
	int sb_copy;		/* the superblock copy used, -1 none */
	int sb_invented;	/* salvage: superblock made from md_opts */
	struct super sb;
	uint64_t nonce;
	uint64_t region_size, nr_regions, nr_blocks;
	uint64_t dev_blocks;
	uint64_t first_data;	/* FOUND_ZEROED: first non-zero block, or 0 */
	uint64_t *bits;		/* merged: region r is bit r%64 of bits[r/64] */
	struct bmblock *blk;	/* nr_blocks of them */
	uint64_t hydrated;
	uint64_t lost_blocks, damaged_copies, differing_blocks;
	uint64_t stray_end;	/* bits set past the last region: the last + 1 */
	/* version 2: the ring replayed from sb.checkpoint */
	uint64_t replayed;	/* records replayed */
	uint64_t ring_end;	/* the position replay stopped at */
	const char *ring_why;	/* why it stopped there */
	uint64_t ring_added;	/* regions hydrated by records, not the bitmap */
	uint64_t ring_damaged;	/* replayed records with one copy unusable */
	int ring_unknown;	/* refused: what the ring held cannot be told */
};

/* Read and judge the metadata on @d; problems go to @report. */
void md_analyze(struct dev *d, const struct md_opts *o, struct md *m,
		report_fn report, void *ctx);
void md_free(struct md *m);
/* Why a bitmap could not be used (m->found != FOUND_OK), for a message. */
const char *md_unusable(const struct md *m);
/* The regions of lost blocks as a bitmap (NULL: none), or printed "a-b, c-d". */
uint64_t *md_lost_bits(const struct md *m);
void md_print_lost(FILE *f, const struct md *m);
/*
 * Salvage options shared by clone_dump --repair and clone_repair:
 * --region-size, --nr-regions, --device-size, --superblock. Returns 0 if
 * @name was one of them (parsed into @o), 1 if not, -1 on a bad value
 * (usage_error()).
 */
int salvage_opt(const char *name, const char *arg, struct md_opts *o,
		uint64_t *device_sectors, const char *prog);
/*
 * The long name of salvage option @c as getopt_long() returned it: -R and -d
 * have short forms, the others ('G') only @long_name.
 */
const char *salvage_name(int c, const char *long_name);
/* After the options: nr_regions from --device-size; -1 (usage_error()) if invalid. */
int salvage_finish(struct md_opts *o, uint64_t device_sectors, const char *prog);
/* Where copy @cp of bitmap block @k lives in the metadata of @m. */
uint64_t md_bitmap_block(const struct md *m, uint64_t k, int cp);
/* The blocks the metadata of @m takes. */
uint64_t md_layout_blocks(const struct md *m);
/* regions covered by bitmap block @k */
uint64_t block_first(uint64_t k);
uint64_t block_regions(uint64_t nr_regions, uint64_t k);

/* ---- writing ---- */

/*
 * Write complete fresh metadata in format @version: both superblocks, both
 * copies of every bitmap block (version 2: and the whole ring, zeroed, of
 * as many slots as the device has room for, up to CLONE_RING_SLOTS), all
 * sealed with a fresh random nonce. @bits: region r is bit r%64 of
 * bits[r/64] (ignored past nr_regions). 0 or an exit code, having said why
 * on stderr.
 */
int md_write(struct dev *d, uint32_t version, uint64_t region_size,
	     uint64_t nr_regions, uint64_t format_time, const uint64_t *bits,
	     const char *prog);

/*
 * md_write() to @path (a missing file is created at the size needed; a
 * block device in use is refused), then read it back and check it as the
 * module would. With @fallback (the version was not asked for), version 2
 * that does not fit a device large enough for version 1 is written as
 * version 1, as the module formats, with a warning on stderr. 0 or an exit
 * code; *@slots (unless NULL): the ring slots written (0 in version 1).
 */
int write_metadata(const char *path, uint32_t version, int fallback,
		   uint64_t region_size, uint64_t nr_regions, uint64_t format_time, const uint64_t *bits,
		   uint64_t *slots, const char *prog);

/* ---- bitmaps ---- */

void bits_set_range(uint64_t *bits, uint64_t first, uint64_t end);
uint64_t bits_count(const uint64_t *bits, uint64_t nbits);
/* next set (@want 1) or clear (@want 0) bit in [from, end), or end */
uint64_t bits_next(const uint64_t *bits, uint64_t from, uint64_t end, int want);
uint64_t *bits_alloc(uint64_t nbits);

/* ---- dumps ---- */

enum dump_format { FMT_AUTO, FMT_TEXT, FMT_XML, FMT_JSON };

struct dump {
	uint32_t version;
	uint64_t region_size, nr_regions, format_time;
	uint64_t hydrated;	/* the count the dump states */
	uint64_t *bits;		/* hydrated regions */
	uint64_t *lost;		/* regions whose state was lost, or NULL */
};

int parse_format(const char *s, enum dump_format *f);
void dump_write(FILE *f, enum dump_format fmt, const struct dump *dm);
/*
 * Parse a dump of @len bytes; @max_regions bounds the memory it may take.
 * 0 on success, else -1 with the reason in @err.
 */
int dump_parse(const char *text, size_t len, enum dump_format fmt,
	       uint64_t max_regions, struct dump *dm, char *err, size_t errlen);
void dump_free(struct dump *dm);

/*
 * dump_write() to @path, created or truncated, or to standard output when
 * @path is NULL or "-". A block device (standard output too) is refused
 * unless @force, and then opened exclusively (refused in use). 0, or
 * EXIT_FAILED having said why.
 */
int write_dump(const char *path, enum dump_format fmt, const struct dump *dm,
	       int force, const char *prog);

/* ---- the in-kernel dm-clone's metadata (clone_convert) ---- */

struct upstream {
	uint32_t version;
	uint64_t region_size, target_size, bitset_root;	/* as on disk */
	uint64_t nr_regions, hydrated;
	uint64_t *bits;		/* region r is bit r%64 of bits[r/64] */
};

/*
 * Read the committed bitset (at most @max_regions regions, 0: any); 0, or
 * -1 with the reason in @err.
 */
int upstream_read(struct dev *d, struct upstream *u, uint64_t max_regions,
		  char *err, size_t errlen);
/* A persistent-data block checksum (for building test images). */
uint32_t pd_csum(const void *block, uint32_t xor);

/* ---- command lines ---- */

void print_version(const char *prog);
/*
 * A usage error: "PROG: WHAT" and where help is (PROG --help) on stderr,
 * not the whole help. Returns EXIT_USAGE.
 */
__attribute__((format(printf, 2, 3)))
int usage_error(const char *prog, const char *fmt, ...);
/*
 * The end of every tool's getopt switch (default:): -h/--help prints the
 * usage on stdout, -V/--version the versions, both exit status 0; any
 * other option (getopt said what is wrong with it), where help is and
 * EXIT_USAGE. Returns the status.
 */
int common_opt(int c, const char *prog, void (*usage)(FILE *));
/* The exit status table, the same in every tool's and script's --help. */
void print_exit_status(FILE *f);
/*
 * After the options: @operands (0, or 1: the device or file) left; 0, or
 * usage_error().
 */
int end_of_args(int argc, char **argv, int operands, const char *prog);
/* The same for a tool of -i @in and -o @out: both given, nothing left. */
int in_out_args(int argc, char **argv, const char *in, const char *out,
		const char *prog);
/* -f/--format: FMT_AUTO only if @allow_auto; -1 (usage_error()) if unknown */
int format_opt(const char *arg, enum dump_format *fmt, int allow_auto,
	       const char *prog);
/*
 * --assume-hydrated ('H') and --assume-unhydrated ('U') into *@assume (0:
 * neither); -1 (usage_error()) when both are given.
 */
int assume_opt(int c, int *assume, const char *prog);
/*
 * Apply @assume to the regions whose state is @lost: with 'H' they are
 * set in @bits (both bits_alloc(@nr_regions) sized). Returns what they
 * are written as: "hydrated" or "unhydrated".
 */
const char *assume_lost(int assume, uint64_t *bits, const uint64_t *lost,
			uint64_t nr_regions);
/*
 * The outputs no tool writes, said so on stderr: for @metadata (binary)
 * output "-", as standard output is only for dumps (EXIT_USAGE), and the
 * input itself (same_file(); @why: what it would destroy; EXIT_FAILED).
 * 0 for any other output.
 */
int refuse_output(const char *in, const char *out, int metadata,
		  const char *why, const char *prog);
/*
 * --format-version: 1 to CLONE_VERSION_MAX into *@version; -1
 * (usage_error()) if not one of them.
 */
int version_opt(const char *arg, uint32_t *version, const char *prog);
/* a number with an optional unit suffix; @unit: bytes a plain number means */
int parse_size(const char *s, uint64_t unit, uint64_t *out);
int parse_u64(const char *s, uint64_t *out);
/* a report_fn printing "PATH: warning: MSG" lines */
struct printer {
	FILE *f;
	const char *path;
	int quiet;
};
void print_report(void *ctx, int sev, const char *msg);
/* @s as a JSON string, quotes and escapes included */
void json_put_string(FILE *f, const char *s);
/* slurp a whole file ("-": stdin); NULL and errno on failure */
char *read_all(const char *path, size_t *len);

#endif
