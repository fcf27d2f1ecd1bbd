// SPDX-License-Identifier: GPL-2.0
/*
 * lwreplay: reads the log that the dm-log-writes target records and writes
 * any prefix (or window) of it onto a device, so a test can rebuild what a
 * disk held at any instant of a recorded run and check it: a power cut
 * replayed after the fact.
 *
 * The log, as dm-log-writes lays it out (all integers little-endian):
 *  - byte 0: a super block { u64 magic 0x6a736677736872, u64 version (1),
 *    u64 nr_entries, u32 sectorsize }; sectorsize is the logical block size
 *    of the logged device and the unit of everything below;
 *  - from byte sectorsize on, nr_entries entries back to back; an entry is
 *    one block of sectorsize bytes starting with { u64 sector, u64
 *    nr_sectors, u64 flags, u64 data_len }, followed, unless it is a
 *    discard, by nr_sectors blocks of the data written. A mark carries its
 *    name (data_len bytes, no terminator) in its own block, after the header.
 *    sector and nr_sectors count sectorsize blocks of the logged device.
 *
 * Entries are in the order their writes became durable: an ordinary write is
 * logged when the next flush completes, before that flush's entry; a FUA
 * write when it completes. So replaying entries [0, N) gives a state the
 * disk could hold after a power cut, and with --torn the writes that no
 * later flush covers are dropped or kept at random, as a volatile write
 * cache may lose any of them; --durable-only drops them all (what the disk
 * holds for certain).
 *
 * The super block is rewritten only after FUA writes, marks and when the
 * target is removed: read a log after removing the log-writes device.
 *
 * --write-through FIRST:END names sectors [FIRST, END) of the logged device
 * as a device without a volatile cache (dm-log-writes itself always reports
 * one): a write there is durable once it completes, so --torn and
 * --torn-blocks never drop or tear it. Its entry may still come later in
 * the log than its completion (at the next flush): a cut between its
 * completion and that flush leaves it out, though the device has it.
 * --write-through-ahead applies such writes too: those in the range that
 * the log holds after the cut, up to the next flush entry (that flush
 * logged the writes that completed before it was sent, which may be before
 * the cut). It makes a write durable earlier than it may have been, never
 * later: a cut just after a FUA write then finds every write-through write
 * that completed before it, which the plain log order may put after it.
 *
 * Discards are replayed as zeroes by default (deterministic, works on any
 * device and on regular files); --discard keep leaves the old data (what a
 * device that ignores discards returns) and --discard ioctl issues
 * BLKDISCARD (whatever the device then returns).
 *
 * Exit status: 0 done; 1 the log is invalid or does not fit the request (bad
 * magic or version, truncated, an entry beyond the device, unknown mark);
 * 2 bad usage; 3 an I/O error on the device.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define LW_MAGIC	0x6a736677736872ull
#define LW_VERSION	1
#define F_FLUSH		1u
#define F_FUA		2u
#define F_DISCARD	4u
#define F_MARK		8u
#define F_METADATA	16u
#define F_KNOWN		31u
#define HDR_BYTES	32	/* entry header: four u64 */
#define SUPER_BYTES	28	/* super: three u64, one u32 */
#define IO_CHUNK	(1u << 20)

enum { EX_OK = 0, EX_BADLOG = 1, EX_USAGE = 2, EX_IO = 3 };

static const char *prog = "lwreplay";

static void quit(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* ---- small helpers ------------------------------------------------------ */

static uint64_t get_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* A 64-bit finalizer (the splitmix64 steps): a well-spread hash of x. */
static uint64_t hash64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		quit(EX_USAGE, "bad %s '%s'", what, s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		quit(EX_USAGE, "bad %s '%s'", what, s);
	return v;
}

/* "FIRST:END", FIRST < END: a range of sectors of the logged device */
static void parse_range(const char *s, uint64_t *first, uint64_t *end)
{
	const char *c = strchr(s, ':');
	char head[32];

	if (!c || (size_t)(c - s) >= sizeof(head))
		quit(EX_USAGE, "bad --write-through '%s' (want FIRST:END in sectors)", s);
	memcpy(head, s, (size_t)(c - s));
	head[c - s] = 0;
	*first = parse_u64(head, "--write-through start");
	*end = parse_u64(c + 1, "--write-through end");
	if (*first >= *end)
		quit(EX_USAGE, "--write-through %s is empty", s);
}

static void *alloc_aligned(size_t n)
{
	void *p;

	if (posix_memalign(&p, 4096, n ? n : 1))
		quit(EX_IO, "out of memory");
	memset(p, 0, n);
	return p;
}

static uint64_t size_of(int fd, const char *path)
{
	struct stat st;
	uint64_t bytes;

	if (fstat(fd, &st))
		quit(EX_IO, "stat %s: %s", path, strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &bytes))
			quit(EX_IO, "BLKGETSIZE64 %s: %s", path, strerror(errno));
		return bytes;
	}
	if (!S_ISREG(st.st_mode))
		quit(EX_USAGE, "%s is neither a block device nor a regular file", path);
	return (uint64_t)st.st_size;
}

/* ---- the log ------------------------------------------------------------ */

struct entry {
	uint64_t off;		/* byte offset of the entry's header block */
	uint64_t sector;	/* in log sectors */
	uint64_t count;		/* in log sectors */
	uint32_t flags;
	char *name;		/* a mark's name, else NULL */
};

struct log {
	const char *path;
	int fd;
	uint64_t bytes;		/* size of the log device or file */
	uint32_t ss;		/* sectorsize */
	uint64_t n;		/* entries */
	uint64_t end_off;	/* first byte after the last entry */
	struct entry *e;
};

static void read_log(struct log *lg, void *buf, size_t len, uint64_t off, const char *what)
{
	ssize_t r = pread(lg->fd, buf, len, (off_t)off);

	if (r < 0)
		quit(EX_IO, "read %s of %s at byte %" PRIu64 ": %s", what, lg->path, off,
		     strerror(errno));
	if ((size_t)r != len)
		quit(EX_BADLOG, "%s: truncated: %s at byte %" PRIu64 " is past the end",
		     lg->path, what, off);
}

/*
 * Open and check the whole log: the super block, then every entry header,
 * its flags, its mark name and that its data lies inside the log.
 */
static void open_log(struct log *lg, const char *path, int keep_cache)
{
	unsigned char sb[512], *blk;
	uint64_t version, off;

	memset(lg, 0, sizeof(*lg));
	lg->path = path;
	lg->fd = open(path, O_RDONLY);
	if (lg->fd < 0)
		quit(EX_IO, "open %s: %s", path, strerror(errno));
	lg->bytes = size_of(lg->fd, path);
	/*
	 * The log was written with bios, past any page cache: drop what an
	 * earlier reader may have left cached, so reads see the device, unless
	 * told that this was done (by an earlier run of ours).
	 */
	if (!keep_cache)
		posix_fadvise(lg->fd, 0, 0, POSIX_FADV_DONTNEED);
	if (lg->bytes < sizeof(sb))
		quit(EX_BADLOG, "%s: truncated: %" PRIu64 " bytes, no room for a super block",
		     path, lg->bytes);
	read_log(lg, sb, sizeof(sb), 0, "the super block");
	if (get_le64(sb) != LW_MAGIC)
		quit(EX_BADLOG, "%s: bad magic 0x%" PRIx64 " (not a dm-log-writes log)", path,
		     get_le64(sb));
	version = get_le64(sb + 8);
	if (version != LW_VERSION)
		quit(EX_BADLOG, "%s: log version %" PRIu64 ", only %d is known", path, version,
		     LW_VERSION);
	lg->n = get_le64(sb + 16);
	lg->ss = get_le32(sb + 24);
	if (lg->ss < 512 || lg->ss > 65536 || (lg->ss & (lg->ss - 1)))
		quit(EX_BADLOG, "%s: bad sectorsize %" PRIu32, path, lg->ss);
	/* Every entry takes at least one block: a cheap bound before allocating. */
	if (lg->n > lg->bytes / lg->ss)
		quit(EX_BADLOG, "%s: truncated: %" PRIu64 " entries cannot fit in %" PRIu64
		     " bytes", path, lg->n, lg->bytes);
	lg->e = calloc(lg->n ? lg->n : 1, sizeof(*lg->e));
	blk = alloc_aligned(lg->ss);
	if (!lg->e)
		quit(EX_IO, "out of memory");

	off = lg->ss;
	for (uint64_t i = 0; i < lg->n; i++) {
		struct entry *e = &lg->e[i];
		uint64_t data_len, data_bytes;
		char what[64];

		snprintf(what, sizeof(what), "entry %" PRIu64, i);
		if (off > lg->bytes || lg->bytes - off < lg->ss)
			quit(EX_BADLOG, "%s: truncated: entry %" PRIu64 " of %" PRIu64
			     " would start at byte %" PRIu64 ", the log has %" PRIu64,
			     path, i, lg->n, off, lg->bytes);
		read_log(lg, blk, lg->ss, off, what);
		e->off = off;
		e->sector = get_le64(blk);
		e->count = get_le64(blk + 8);
		if (get_le64(blk + 16) & ~(uint64_t)F_KNOWN)
			quit(EX_BADLOG, "%s: entry %" PRIu64 " (byte %" PRIu64
			     "): unknown flags 0x%" PRIx64, path, i, off, get_le64(blk + 16));
		e->flags = (uint32_t)get_le64(blk + 16);
		data_len = get_le64(blk + 24);
		if (e->flags & F_MARK) {
			if (data_len > lg->ss - HDR_BYTES || e->count || (e->flags & F_DISCARD))
				quit(EX_BADLOG, "%s: entry %" PRIu64 ": malformed mark "
				     "(name of %" PRIu64 " bytes, %" PRIu64 " sectors)",
				     path, i, data_len, e->count);
			e->name = calloc(1, data_len + 1);
			if (!e->name)
				quit(EX_IO, "out of memory");
			memcpy(e->name, blk + HDR_BYTES, data_len);
			if (strlen(e->name) != data_len)
				quit(EX_BADLOG, "%s: entry %" PRIu64 ": mark name holds a NUL",
				     path, i);
		} else if (data_len) {
			quit(EX_BADLOG, "%s: entry %" PRIu64 ": inline data (%" PRIu64
			     " bytes) is not supported", path, i, data_len);
		}
		if ((e->flags & F_DISCARD) && (e->flags & (F_FLUSH | F_FUA)))
			quit(EX_BADLOG, "%s: entry %" PRIu64 ": a discard with FLUSH or FUA",
			     path, i);
		if (!(e->flags & (F_FLUSH | F_MARK)) && !e->count)
			quit(EX_BADLOG, "%s: entry %" PRIu64 ": a write of 0 sectors", path, i);
		if (e->count > UINT64_MAX / lg->ss || e->sector > UINT64_MAX / lg->ss - e->count)
			quit(EX_BADLOG, "%s: entry %" PRIu64 ": sector %" PRIu64 "+%" PRIu64
			     " overflows", path, i, e->sector, e->count);
		data_bytes = (e->flags & F_DISCARD) ? 0 : e->count * lg->ss;
		off += lg->ss;
		if (data_bytes > lg->bytes - off)
			quit(EX_BADLOG, "%s: truncated: the data of entry %" PRIu64 " (%" PRIu64
			     " bytes at byte %" PRIu64 ") runs past the end (%" PRIu64 ")",
			     path, i, data_bytes, off, lg->bytes);
		off += data_bytes;
	}
	lg->end_off = off;
	free(blk);
}

static void flag_names(uint32_t f, char *out, size_t len)
{
	static const struct { uint32_t bit; const char *name; } names[] = {
		{ F_FLUSH, "FLUSH" }, { F_FUA, "FUA" }, { F_DISCARD, "DISCARD" },
		{ F_MARK, "MARK" }, { F_METADATA, "META" },
	};
	size_t used = 0;

	out[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (f & names[i].bit)
			used += snprintf(out + used, len - used, "%s%s", used ? "," : "",
					 names[i].name);
	if (!used)
		snprintf(out, len, "WRITE");
}

/* Index of the first mark called name, or quits. */
static uint64_t find_mark(const struct log *lg, const char *name)
{
	for (uint64_t i = 0; i < lg->n; i++)
		if (lg->e[i].name && !strcmp(lg->e[i].name, name))
			return i;
	quit(EX_BADLOG, "%s: no mark named '%s'", lg->path, name);
	return 0;
}

/* ---- list, points, info, find ------------------------------------------ */

static int cmd_list(struct log *lg, uint64_t start, uint64_t end, int only_points)
{
	char fl[64];

	for (uint64_t i = start; i < end; i++) {
		const struct entry *e = &lg->e[i];

		if (only_points && !(e->flags & (F_FLUSH | F_FUA | F_MARK)))
			continue;
		flag_names(e->flags, fl, sizeof(fl));
		if (only_points)
			printf("%" PRIu64 " %s%s%s\n", i, fl, e->name ? " " : "",
			       e->name ? e->name : "");
		else
			printf("%" PRIu64 " %s %" PRIu64 " %" PRIu64 "%s%s\n", i, fl, e->sector,
			       e->count, e->name ? " " : "", e->name ? e->name : "");
	}
	return EX_OK;
}

/*
 * Every entry in [start, end) that writes, discards or marks around SECTOR:
 * the writes and discards covering it, with the first 24 bytes the write
 * puts there (as little-endian u32 u32 u64 u64: a cverify block header is
 * magic, generation, block, seed), and the marks, so the order is plain.
 */
static int cmd_history(struct log *lg, uint64_t start, uint64_t end, uint64_t sector)
{
	unsigned char *buf = alloc_aligned(lg->ss);
	char fl[64];

	for (uint64_t i = start; i < end; i++) {
		const struct entry *e = &lg->e[i];

		flag_names(e->flags, fl, sizeof(fl));
		if (e->flags & F_MARK) {
			printf("%" PRIu64 " MARK %s\n", i, e->name);
			continue;
		}
		if (!e->count || sector < e->sector || sector - e->sector >= e->count)
			continue;
		printf("%" PRIu64 " %s %" PRIu64 " %" PRIu64, i, fl, e->sector, e->count);
		if (!(e->flags & F_DISCARD)) {
			read_log(lg, buf, lg->ss, e->off + lg->ss + (sector - e->sector) * lg->ss,
				 "entry data");
			printf(" data %08" PRIx32 " %" PRIu32 " %" PRIu64 " %" PRIu64,
			       (uint32_t)get_le32(buf), (uint32_t)get_le32(buf + 4),
			       get_le64(buf + 8), get_le64(buf + 16));
		}
		printf("\n");
	}
	free(buf);
	return EX_OK;
}

static int cmd_info(struct log *lg)
{
	uint64_t top = 0, writes = 0, discards = 0, flushes = 0, fuas = 0, marks = 0;

	for (uint64_t i = 0; i < lg->n; i++) {
		const struct entry *e = &lg->e[i];

		if (e->count && e->sector + e->count > top)
			top = e->sector + e->count;
		writes += !(e->flags & (F_DISCARD | F_MARK)) && e->count;
		discards += !!(e->flags & F_DISCARD);
		flushes += !!(e->flags & F_FLUSH);
		fuas += !!(e->flags & F_FUA);
		marks += !!(e->flags & F_MARK);
	}
	printf("entries=%" PRIu64 "\nsectorsize=%" PRIu32 "\nlog_bytes=%" PRIu64
	       "\nwrites=%" PRIu64 "\ndiscards=%" PRIu64 "\nflushes=%" PRIu64 "\nfua=%" PRIu64
	       "\nmarks=%" PRIu64 "\nend_sector=%" PRIu64 "\nmin_device_bytes=%" PRIu64 "\n",
	       lg->n, lg->ss, lg->end_off, writes, discards, flushes, fuas, marks, top,
	       top * lg->ss);
	return EX_OK;
}

/* ---- replay ------------------------------------------------------------- */

enum discard_mode { DISCARD_ZERO, DISCARD_KEEP, DISCARD_IOCTL };

struct replay {
	struct log *lg;
	const char *path;
	int fd;
	uint64_t dev_bytes;
	enum discard_mode discard;
	int torn;		/* 0 none, 1 whole writes, 2 each block, 3 drop all */
	uint64_t seed;
	uint64_t unit;		/* --torn-blocks: log sectors that tear together */
	uint64_t wt_first, wt_end;	/* --write-through: [first, end), log sectors */
	int wt_ahead;			/* --write-through-ahead */
	uint64_t ahead;			/* writes applied ahead of the cut */
	unsigned char *buf;	/* IO_CHUNK bytes */
	unsigned char *zero;	/* IO_CHUNK zero bytes */
	uint64_t writes, sectors, discards, marks, flushes;
	uint64_t unflushed, kept, dropped, blocks_kept, blocks_dropped;
};

static void dev_write(struct replay *r, const void *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t w = pwrite(r->fd, buf, len, (off_t)off);

		if (w <= 0)
			quit(EX_IO, "write %s at byte %" PRIu64 ": %s", r->path, off,
			     w < 0 ? strerror(errno) : "no progress");
		buf = (const unsigned char *)buf + w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
}

/*
 * Keep block `blk` (or the whole entry, blk == UINT64_MAX) of entry i? For
 * --torn-blocks, blk is the tear unit's number on the device: the decision
 * depends only on the seed, the entry and where the unit is.
 */
static int keep(const struct replay *r, uint64_t i, uint64_t blk)
{
	return hash64(hash64(r->seed ^ hash64(i)) + blk) & 1;
}

/* Write blocks [first, first + n) of entry i's data. */
static void copy_blocks(struct replay *r, const struct entry *e, uint64_t first, uint64_t n)
{
	uint64_t ss = r->lg->ss, per = IO_CHUNK / ss;

	while (n) {
		uint64_t c = n < per ? n : per;

		read_log(r->lg, r->buf, c * ss, e->off + ss + first * ss, "write data");
		dev_write(r, r->buf, c * ss, (e->sector + first) * ss);
		first += c;
		n -= c;
	}
}

static void do_discard(struct replay *r, const struct entry *e)
{
	uint64_t off = e->sector * r->lg->ss, len = e->count * r->lg->ss;

	r->discards++;
	if (r->discard == DISCARD_KEEP)
		return;
	if (r->discard == DISCARD_IOCTL) {
		uint64_t range[2] = { off, len };

		if (ioctl(r->fd, BLKDISCARD, range))
			quit(EX_IO, "BLKDISCARD %s bytes %" PRIu64 "+%" PRIu64 ": %s", r->path,
			     off, len, strerror(errno));
		return;
	}
	while (len) {
		uint64_t c = len < IO_CHUNK ? len : IO_CHUNK;

		dev_write(r, r->zero, c, off);
		off += c;
		len -= c;
	}
}

static void apply(struct replay *r, uint64_t i, int durable)
{
	const struct entry *e = &r->lg->e[i];

	if (e->flags & F_MARK) {
		r->marks++;
		return;
	}
	r->flushes += !!(e->flags & F_FLUSH);
	if (!e->count)
		return;
	if (!durable && r->torn) {
		r->unflushed++;
		if (r->torn == 3) {
			r->dropped++;
			return;
		}
		if (r->torn == 1) {
			if (!keep(r, i, UINT64_MAX)) {
				r->dropped++;
				return;
			}
			r->kept++;
		} else if (!(e->flags & F_DISCARD)) {
			/* Each tear unit on its own: runs of kept sectors. */
			uint64_t b = 0;

			r->kept++;
			r->writes++;
			while (b < e->count) {
				uint64_t run = b;
				int k = keep(r, i, (e->sector + b) / r->unit);

				while (run < e->count && keep(r, i, (e->sector + run) / r->unit) == k)
					run++;
				if (k) {
					copy_blocks(r, e, b, run - b);
					r->blocks_kept += run - b;
					r->sectors += run - b;
				} else {
					r->blocks_dropped += run - b;
				}
				b = run;
			}
			return;
		} else if (!keep(r, i, UINT64_MAX)) {
			r->dropped++;
			return;
		}
	}
	if (e->flags & F_DISCARD) {
		do_discard(r, e);
		return;
	}
	r->writes++;
	r->sectors += e->count;
	copy_blocks(r, e, 0, e->count);
}

/* Does entry @e lie in the --write-through range (0: outside it)? */
static int write_through(const struct replay *r, const struct entry *e, uint64_t i)
{
	uint64_t end = e->sector + e->count;

	if (!e->count || end <= r->wt_first || e->sector >= r->wt_end)
		return 0;
	if (e->sector < r->wt_first || end > r->wt_end)
		quit(EX_BADLOG, "entry %" PRIu64 " (sectors %" PRIu64 "+%" PRIu64 ") straddles the "
		     "--write-through range %" PRIu64 ":%" PRIu64, i, e->sector, e->count,
		     r->wt_first, r->wt_end);
	return 1;
}

static int cmd_replay(struct log *lg, const char *dev, uint64_t start, uint64_t end,
		      enum discard_mode dmode, int torn, uint64_t seed, uint64_t tear,
		      uint64_t wt_first, uint64_t wt_end, int wt_ahead)
{
	struct replay r = { .lg = lg, .path = dev, .discard = dmode, .torn = torn, .seed = seed,
			    .wt_first = wt_first, .wt_end = wt_end, .wt_ahead = wt_ahead };
	uint64_t ahead_end = end;	/* --write-through-ahead: [end, ahead_end) */

	if (!tear)
		tear = lg->ss;
	if (tear % lg->ss || tear > IO_CHUNK)
		quit(EX_USAGE, "--tear-unit %" PRIu64 " is not a multiple of the log's sectorsize (%"
		     PRIu32 ") up to %u", tear, lg->ss, IO_CHUNK);
	r.unit = tear / lg->ss;
	uint64_t last_flush = UINT64_MAX;	/* last FLUSH entry in [start, end) */

	while (wt_ahead && ahead_end < lg->n && !(lg->e[ahead_end].flags & F_FLUSH))
		ahead_end++;

	r.fd = open(dev, O_RDWR | O_DIRECT);
	if (r.fd < 0 && errno == EINVAL)	/* tmpfs and other files */
		r.fd = open(dev, O_RDWR);
	if (r.fd < 0)
		quit(EX_IO, "open %s: %s", dev, strerror(errno));
	r.dev_bytes = size_of(r.fd, dev);

	/* Check everything before writing anything. */
	for (uint64_t i = start; i < ahead_end; i++) {
		const struct entry *e = &lg->e[i];

		if (e->count && (e->sector + e->count) * lg->ss > r.dev_bytes)
			quit(EX_BADLOG, "entry %" PRIu64 " (sectors %" PRIu64 "+%" PRIu64 " of %"
			     PRIu32 " bytes) is beyond the end of %s (%" PRIu64 " bytes)",
			     i, e->sector, e->count, lg->ss, dev, r.dev_bytes);
		if ((e->flags & F_FLUSH) && i < end)
			last_flush = i;
		write_through(&r, e, i);
	}
	r.buf = alloc_aligned(IO_CHUNK);
	r.zero = alloc_aligned(IO_CHUNK);

	for (uint64_t i = start; i < end; i++) {
		const struct entry *e = &lg->e[i];
		/*
		 * Durable at a cut before `end`: a later flush covers it (the
		 * entries before a flush entry are the writes that flush
		 * covered), it was written FUA, or it went to a device with no
		 * volatile cache.
		 */
		int durable = (last_flush != UINT64_MAX && i < last_flush) || (e->flags & F_FUA) ||
			      write_through(&r, e, i);

		apply(&r, i, durable);
	}
	for (uint64_t i = end; i < ahead_end; i++) {
		const struct entry *e = &lg->e[i];

		if (!(e->flags & F_DISCARD) && write_through(&r, e, i)) {
			apply(&r, i, 1);
			r.ahead++;
		}
	}
	if (fsync(r.fd))
		quit(EX_IO, "fsync %s: %s", dev, strerror(errno));
	close(r.fd);
	printf("replayed entries %" PRIu64 "..%" PRIu64 " onto %s: %" PRIu64 " writes (%"
	       PRIu64 " sectors), %" PRIu64 " discards, %" PRIu64 " flushes, %" PRIu64 " marks",
	       start, end, dev, r.writes, r.sectors, r.discards, r.flushes, r.marks);
	if (torn == 1)
		printf("; torn (seed %" PRIu64 "): %" PRIu64 " not flushed, %" PRIu64 " kept, %"
		       PRIu64 " dropped", seed, r.unflushed, r.kept, r.dropped);
	else if (torn == 2)
		printf("; torn blocks (seed %" PRIu64 ", unit %" PRIu64 " bytes): %" PRIu64
		       " not flushed, %" PRIu64 " sectors kept, %" PRIu64 " dropped, %" PRIu64
		       " discards dropped", seed, tear, r.unflushed, r.blocks_kept, r.blocks_dropped,
		       r.dropped);
	else if (torn == 3)
		printf("; durable only: %" PRIu64 " not flushed, dropped", r.unflushed);
	if (wt_ahead)
		printf("; %" PRIu64 " write-through writes after the cut applied (up to entry %"
		       PRIu64 ")", r.ahead, ahead_end);
	printf("\n");
	free(r.buf);
	free(r.zero);
	return EX_OK;
}

/* ---- main --------------------------------------------------------------- */

static int usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: %s COMMAND LOG ...   (LOG: a dm-log-writes log device or file)\n"
		"  info LOG                 entry counts, sectorsize, smallest device to replay on\n"
		"  list LOG [--start N] [--end N]\n"
		"                           one line per entry: INDEX FLAGS SECTOR COUNT [MARK]\n"
		"                           (SECTOR and COUNT in the log's sectorsize)\n"
		"  points LOG               INDEX FLAGS [MARK] of every FLUSH, FUA and MARK entry;\n"
		"                           replaying with --end INDEX+1 cuts just after it\n"
		"  find LOG NAME            the index of the first mark called NAME\n"
		"  history LOG SECTOR [--start N] [--end N]\n"
		"                           the entries that write SECTOR (in the log's sectorsize),\n"
		"                           each with the first 24 bytes it writes there as\n"
		"                           u32 (hex) u32 u64 u64, and every mark\n"
		"  replay LOG DEV [--start N] (--end N | --mark NAME | --all)\n"
		"         [--torn SEED | --torn-blocks SEED [--tear-unit BYTES] | --durable-only]\n"
		"         [--discard zero|keep|ioctl] [--write-through FIRST:END\n"
		"         [--write-through-ahead]]\n"
		"                           write entries [N, END) onto DEV (--mark: up to and\n"
		"                           including the mark). --torn drops or keeps at random\n"
		"                           each write no later flush in the range covers (FUA\n"
		"                           writes are kept); --torn-blocks does it for each block\n"
		"                           of such writes (blocks of --tear-unit bytes, aligned on\n"
		"                           the device; default the log's sectorsize);\n"
		"                           --durable-only drops every such write. Discards:\n"
		"                           zeroes (default), kept data, or BLKDISCARD.\n"
		"                           --write-through: writes to sectors [FIRST, END) are\n"
		"                           durable when they complete (a device with no volatile\n"
		"                           cache): never dropped or torn. --write-through-ahead:\n"
		"                           also those the log has after the cut, up to the next\n"
		"                           flush entry (they may have completed before the cut).\n"
		"Every command drops the log's cached pages first (the kernel wrote it past\n"
		"the page cache); --keep-cache skips that, for runs after the first.\n"
		"exit: 0 ok, 1 invalid log or request outside it, 2 usage, 3 I/O error\n", prog);
	return code;
}

int main(int argc, char **argv)
{
	struct log lg;
	const char *cmd, *dev = NULL, *mark = NULL;
	uint64_t start = 0, end = UINT64_MAX, seed = 0, tear = 0, wt_first = 0, wt_end = 0;
	int torn = 0, all = 0, have_end = 0, pos = 0, keep_cache = 0, wt_ahead = 0;
	enum discard_mode dmode = DISCARD_ZERO;
	const char *args[3] = { NULL, NULL, NULL };

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return usage(EX_USAGE);
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help"))
		return usage(EX_OK);
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--start") || !strcmp(a, "--end") || !strcmp(a, "--mark") ||
		    !strcmp(a, "--torn") || !strcmp(a, "--torn-blocks") || !strcmp(a, "--discard") ||
		    !strcmp(a, "--tear-unit") || !strcmp(a, "--write-through")) {
			if (!v)
				quit(EX_USAGE, "%s needs a value", a);
			i++;
			if (!strcmp(a, "--start")) {
				start = parse_u64(v, "--start");
			} else if (!strcmp(a, "--end")) {
				end = parse_u64(v, "--end");
				have_end = 1;
			} else if (!strcmp(a, "--mark")) {
				mark = v;
			} else if (!strcmp(a, "--write-through")) {
				parse_range(v, &wt_first, &wt_end);
			} else if (!strcmp(a, "--tear-unit")) {
				tear = parse_u64(v, a);
				if (!tear)
					quit(EX_USAGE, "--tear-unit must not be 0");
			} else if (!strcmp(a, "--torn") || !strcmp(a, "--torn-blocks")) {
				if (torn)
					quit(EX_USAGE, "--durable-only, --torn and --torn-blocks are exclusive");
				torn = strcmp(a, "--torn") ? 2 : 1;
				seed = parse_u64(v, a);
			} else if (!strcmp(v, "zero")) {
				dmode = DISCARD_ZERO;
			} else if (!strcmp(v, "keep")) {
				dmode = DISCARD_KEEP;
			} else if (!strcmp(v, "ioctl")) {
				dmode = DISCARD_IOCTL;
			} else {
				quit(EX_USAGE, "--discard takes zero, keep or ioctl, not '%s'", v);
			}
		} else if (!strcmp(a, "--all")) {
			all = 1;
		} else if (!strcmp(a, "--keep-cache")) {
			keep_cache = 1;
		} else if (!strcmp(a, "--write-through-ahead")) {
			wt_ahead = 1;
		} else if (!strcmp(a, "--durable-only")) {
			if (torn)
				quit(EX_USAGE, "--durable-only, --torn and --torn-blocks are exclusive");
			torn = 3;
		} else if (a[0] == '-' && a[1]) {
			quit(EX_USAGE, "unknown option '%s'", a);
		} else if (pos < 3) {
			args[pos++] = a;
		} else {
			quit(EX_USAGE, "unexpected argument '%s'", a);
		}
	}

	if (!strcmp(cmd, "replay")) {
		if (pos != 2)
			return usage(EX_USAGE);
		dev = args[1];
		if (have_end + !!mark + all != 1)
			quit(EX_USAGE, "replay needs exactly one of --end, --mark, --all");
		if (tear && torn != 2)
			quit(EX_USAGE, "--tear-unit goes with --torn-blocks");
		if (wt_ahead && !wt_end)
			quit(EX_USAGE, "--write-through-ahead goes with --write-through");
	} else if (wt_end || wt_ahead) {
		quit(EX_USAGE, "--write-through goes with replay");
	} else if (!strcmp(cmd, "find")) {
		if (pos != 2)
			return usage(EX_USAGE);
		mark = args[1];
	} else if (!strcmp(cmd, "list")) {
		if (pos != 1 || mark || torn || all)
			return usage(EX_USAGE);
	} else if (!strcmp(cmd, "history")) {
		if (pos != 2 || mark || torn || all)
			return usage(EX_USAGE);
	} else if (!strcmp(cmd, "info") || !strcmp(cmd, "points")) {
		if (pos != 1 || have_end || start || mark || torn || all)
			return usage(EX_USAGE);
	} else {
		fprintf(stderr, "%s: unknown command '%s'\n", prog, cmd);
		return usage(EX_USAGE);
	}

	open_log(&lg, args[0], keep_cache);
	if (mark)
		end = find_mark(&lg, mark) + 1;
	if (!strcmp(cmd, "find")) {
		printf("%" PRIu64 "\n", end - 1);
		return EX_OK;
	}
	if (end == UINT64_MAX)
		end = lg.n;
	if (end > lg.n)
		quit(EX_BADLOG, "%s: --end %" PRIu64 " is past the last entry (the log has %"
		     PRIu64 ")", lg.path, end, lg.n);
	if (start > end)
		quit(EX_USAGE, "--start %" PRIu64 " is after the end (%" PRIu64 ")", start, end);

	if (!strcmp(cmd, "info"))
		return cmd_info(&lg);
	if (!strcmp(cmd, "list"))
		return cmd_list(&lg, start, end, 0);
	if (!strcmp(cmd, "history"))
		return cmd_history(&lg, start, end, parse_u64(args[1], "SECTOR"));
	if (!strcmp(cmd, "points"))
		return cmd_list(&lg, 0, lg.n, 1);
	return cmd_replay(&lg, dev, start, end, dmode, torn, seed, tear, wt_first, wt_end,
			  wt_ahead);
}
