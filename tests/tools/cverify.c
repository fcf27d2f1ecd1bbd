// SPDX-License-Identifier: GPL-2.0
/*
 * cverify: writes and checks self-describing 4 KiB blocks, so a test always
 * knows what every block of a device should hold.
 *
 * Every block written starts with a 32-byte header (magic, generation, block
 * number, seed, check word) followed by bytes derived from those values.  A
 * block read back therefore tells which write it came from.  A MAP file holds
 * the expected generation of every block: 0 is the "fill" pattern (what a
 * source device is given), 1.. are later writes; two special values mean
 * "anything" (e.g. a discarded block) and "zeros".
 *
 * The crash verbs keep their state on a journal device instead of a MAP file
 * (see crashwrite below), so a second boot can check what the first one left.
 *
 * It also reads and patches dm-clone metadata (the "meta*" verbs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BS		4096
#define HDR_MAGIC	0x31425643u	/* "CVB1" */
#define MAP_MAGIC	"CVMAP01"
#define GEN_ANY		0xffffffffu
#define GEN_ZERO	0xfffffffeu
#define CHUNK		256		/* blocks per I/O when filling/verifying */
#define MAX_REPORT	10

static const char *prog = "cverify";

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* ---- block content -------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t block_key(uint64_t seed, uint64_t blk, uint32_t gen)
{
	return mix64(mix64(seed ^ mix64(blk)) + gen);
}

struct blkhdr {
	uint32_t magic;
	uint32_t gen;
	uint64_t blk;
	uint64_t seed;
	uint64_t check;
};

static void make_block(uint8_t *buf, uint64_t seed, uint64_t blk, uint32_t gen)
{
	struct blkhdr h = { HDR_MAGIC, gen, blk, seed, block_key(seed, blk, gen) };
	uint64_t s = h.check, *p = (uint64_t *)buf;

	memcpy(buf, &h, sizeof(h));
	for (size_t i = sizeof(h) / 8; i < BS / 8; i++) {
		s += 0x9e3779b97f4a7c15ull;
		p[i] = mix64(s);
	}
}

static int is_zero(const uint8_t *buf)
{
	for (size_t i = 0; i < BS; i++)
		if (buf[i])
			return 0;
	return 1;
}

/* Describe what a block holds, for error messages. */
static void describe(const uint8_t *buf, char *out, size_t len)
{
	struct blkhdr h;
	uint8_t ref[BS] __attribute__((aligned(8)));

	memcpy(&h, buf, sizeof(h));
	if (is_zero(buf)) {
		snprintf(out, len, "zeros");
	} else if (h.magic == HDR_MAGIC) {
		make_block(ref, h.seed, h.blk, h.gen);
		snprintf(out, len, "gen %" PRIu32 " of block %" PRIu64 " seed %" PRIu64 "%s",
			 h.gen, h.blk, h.seed, memcmp(ref, buf, BS) ? " (body damaged)" : "");
	} else {
		snprintf(out, len, "foreign data (%02x %02x %02x %02x ...)",
			 buf[0], buf[1], buf[2], buf[3]);
	}
}

static void gen_name(uint32_t gen, char *out, size_t len)
{
	if (gen == GEN_ZERO)
		snprintf(out, len, "zeros");
	else
		snprintf(out, len, "gen %" PRIu32, gen);
}

/* ---- devices -------------------------------------------------------- */

static int open_dev(const char *path, int flags)
{
	int fd = open(path, flags | O_DIRECT);

	if (fd < 0 && errno == EINVAL)	/* tmpfs and friends */
		fd = open(path, flags);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	return fd;
}

static uint64_t dev_blocks(int fd, const char *path)
{
	struct stat st;
	uint64_t bytes;

	if (fstat(fd, &st))
		die("stat %s: %s", path, strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &bytes))
			die("BLKGETSIZE64 %s: %s", path, strerror(errno));
	} else {
		bytes = st.st_size;
	}
	return bytes / BS;
}

static void *xalloc(size_t n)
{
	void *p;

	if (posix_memalign(&p, BS, n))
		die("out of memory");
	memset(p, 0, n);
	return p;
}

static void pwrite_all(int fd, const void *buf, size_t n, uint64_t off, const char *what)
{
	ssize_t r = pwrite(fd, buf, n, off);

	if (r != (ssize_t)n)
		die("write %s at byte %" PRIu64 ": %s", what, off,
		    r < 0 ? strerror(errno) : "short write");
}

static void pread_all(int fd, void *buf, size_t n, uint64_t off, const char *what)
{
	ssize_t r = pread(fd, buf, n, off);

	if (r != (ssize_t)n)
		die("read %s at byte %" PRIu64 ": %s", what, off,
		    r < 0 ? strerror(errno) : "short read");
}

static void sync_dev(int fd, const char *what)
{
	if (fsync(fd))
		die("fsync %s: %s", what, strerror(errno));
}

/* ---- MAP file --------------------------------------------------------- */

struct map {
	char magic[8];
	uint64_t seed;
	uint64_t nblocks;
	uint32_t next_gen;
	uint32_t pad;
	uint32_t *gen;
};

static void map_save(const struct map *m, const char *path)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		die("create %s: %s", path, strerror(errno));
	if (fwrite(m, offsetof(struct map, gen), 1, f) != 1 ||
	    fwrite(m->gen, sizeof(uint32_t), m->nblocks, f) != m->nblocks || fclose(f))
		die("write %s failed", path);
}

static void map_load(struct map *m, const char *path)
{
	FILE *f = fopen(path, "rb");

	if (!f)
		die("open %s: %s", path, strerror(errno));
	if (fread(m, offsetof(struct map, gen), 1, f) != 1 || memcmp(m->magic, MAP_MAGIC, 8))
		die("%s is not a map file", path);
	m->gen = calloc(m->nblocks, sizeof(uint32_t));
	if (!m->gen || fread(m->gen, sizeof(uint32_t), m->nblocks, f) != m->nblocks)
		die("%s: truncated map", path);
	fclose(f);
}

static void map_new(struct map *m, uint64_t seed, uint64_t nblocks)
{
	memset(m, 0, sizeof(*m));
	memcpy(m->magic, MAP_MAGIC, 8);
	m->seed = seed;
	m->nblocks = nblocks;
	m->next_gen = 1;
	m->gen = calloc(nblocks ? nblocks : 1, sizeof(uint32_t));
	if (!m->gen)
		die("out of memory");
}

/* ---- option parsing --------------------------------------------------- */

static uint64_t num(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		die("bad number '%s'", s);
	return v;
}

/* "A:B" -> [A, B); "A:" -> [A, limit) */
static void parse_range(const char *s, uint64_t limit, uint64_t *a, uint64_t *b)
{
	const char *c = strchr(s, ':');
	char tmp[64];

	if (!c || (size_t)(c - s) >= sizeof(tmp))
		die("bad range '%s' (want FIRST:END in 4 KiB blocks)", s);
	memcpy(tmp, s, c - s);
	tmp[c - s] = 0;
	*a = num(tmp);
	*b = c[1] ? num(c + 1) : limit;
	if (*a >= *b || *b > limit)
		die("range %s outside 0:%" PRIu64, s, limit);
}

/* ---- fill / mkmap / mark ------------------------------------------------ */

/* fill DEV MAP SEED [BLOCKS]: gen-0 pattern on the first BLOCKS blocks. */
static int cmd_fill(int argc, char **argv)
{
	struct map m;
	int fd;
	uint64_t n, i, j;
	uint8_t *buf;

	if (argc < 3 || argc > 4)
		die("usage: fill DEV MAP SEED [BLOCKS]");
	fd = open_dev(argv[0], O_RDWR);
	n = argc == 4 ? num(argv[3]) : dev_blocks(fd, argv[0]);
	map_new(&m, num(argv[2]), n);
	buf = xalloc(CHUNK * BS);
	for (i = 0; i < n; i += CHUNK) {
		uint64_t c = n - i < CHUNK ? n - i : CHUNK;

		for (j = 0; j < c; j++)
			make_block(buf + j * BS, m.seed, i + j, 0);
		pwrite_all(fd, buf, c * BS, i * BS, argv[0]);
	}
	sync_dev(fd, argv[0]);
	close(fd);
	map_save(&m, argv[1]);
	printf("fill %s: %" PRIu64 " blocks, seed %" PRIu64 "\n", argv[0], n, m.seed);
	return 0;
}

/* mkmap MAP SEED BLOCKS: a map saying "all blocks hold the fill pattern". */
static int cmd_mkmap(int argc, char **argv)
{
	struct map m;

	if (argc != 3)
		die("usage: mkmap MAP SEED BLOCKS");
	map_new(&m, num(argv[1]), num(argv[2]));
	map_save(&m, argv[0]);
	return 0;
}

/*
 * merge BASE OUT MAP...: the MAPs started as copies of BASE and were written
 * by concurrent writers on disjoint blocks (write -L); OUT takes from each
 * block the one MAP that changed it (BASE's value where none did).
 */
static int cmd_merge(int argc, char **argv)
{
	struct map base, out, m;
	uint64_t i;
	uint32_t *from;
	int k;

	if (argc < 3)
		die("usage: merge BASE OUT MAP...");
	map_load(&base, argv[0]);
	map_load(&out, argv[0]);
	from = calloc(base.nblocks ? base.nblocks : 1, sizeof(*from));
	if (!from)
		die("out of memory");
	for (k = 2; k < argc; k++) {
		map_load(&m, argv[k]);
		if (m.seed != base.seed || m.nblocks != base.nblocks)
			die("%s is not a copy of %s (seed or size)", argv[k], argv[0]);
		for (i = 0; i < m.nblocks; i++) {
			if (m.gen[i] == base.gen[i])
				continue;
			if (from[i])
				die("block %" PRIu64 " changed in both %s and %s", i,
				    argv[from[i]], argv[k]);
			from[i] = (uint32_t)k;
		}
		for (i = 0; i < m.nblocks; i++)
			if (from[i] == (uint32_t)k)
				out.gen[i] = m.gen[i];
		if (m.next_gen > out.next_gen)
			out.next_gen = m.next_gen;
		free(m.gen);
	}
	map_save(&out, argv[1]);
	free(from);
	free(out.gen);
	free(base.gen);
	return 0;
}

/* mark MAP FIRST:END any|zero|GEN */
static int cmd_mark(int argc, char **argv)
{
	struct map m;
	uint64_t a, b, i;
	uint32_t g;

	if (argc != 3)
		die("usage: mark MAP FIRST:END any|zero|GEN");
	map_load(&m, argv[0]);
	parse_range(argv[1], m.nblocks, &a, &b);
	if (!strcmp(argv[2], "any"))
		g = GEN_ANY;
	else if (!strcmp(argv[2], "zero"))
		g = GEN_ZERO;
	else
		g = num(argv[2]);
	for (i = a; i < b; i++)
		m.gen[i] = g;
	map_save(&m, argv[0]);
	return 0;
}

/* ---- zeroout ---------------------------------------------------------- */

/*
 * zeroout DEV FIRST:END: the blocks zeroed with BLKZEROOUT (a WRITE_ZEROES
 * where the device takes one, written zeroes where not); MAP untouched.
 */
static int cmd_zeroout(int argc, char **argv)
{
	uint64_t a, b, range[2];
	int fd;

	if (argc != 2)
		die("usage: zeroout DEV FIRST:END");
	fd = open_dev(argv[0], O_RDWR);
	parse_range(argv[1], dev_blocks(fd, argv[0]), &a, &b);
	range[0] = a * BS;
	range[1] = (b - a) * BS;
	if (ioctl(fd, BLKZEROOUT, range))
		die("BLKZEROOUT %s %s: %s", argv[0], argv[1], strerror(errno));
	close(fd);
	return 0;
}

/* ---- write ------------------------------------------------------------ */

/*
 * write DEV MAP [-n COUNT] [-r FIRST:END] [-b BLOCKS] [-a] [-S] [-f K] [-s SEED]
 *       [-L I/N] [-D]
 * -D opens DEV with O_DSYNC as well: on a block device each write is a FUA
 * write (and the kernel adds a flush after it). Each write of BLOCKS blocks gets a new generation; the map is saved at the
 * end, also after an error (the blocks of the failed write become "any").
 */
static int cmd_write(int argc, char **argv)
{
	struct map m;
	uint64_t count = 1000, a = 0, b = 0, bpw = 1, every = 0, seed = 0, rng;
	uint64_t lane = 0, lanes = 1;
	int align = 0, seq = 0, have_range = 0, have_seed = 0, opt, fd, ret = 0;
	int dsync = 0;
	const char *range = NULL;
	char *slash;
	uint8_t *buf;
	uint64_t done, pos = 0, slots;

	if (argc < 2)
		die("usage: write DEV MAP [-n COUNT] [-r FIRST:END] [-b BLOCKS] [-a] [-S] [-f K] [-s SEED] [-L I/N] [-D]");
	optind = 3;	/* getopt counts argv[0] as the program */
	argv -= 1;
	argc += 1;
	while ((opt = getopt(argc, argv, "n:r:b:aSf:s:L:D")) != -1) {
		switch (opt) {
		case 'n': count = num(optarg); break;
		case 'r': range = optarg; have_range = 1; break;
		case 'b': bpw = num(optarg); break;
		case 'a': align = 1; break;
		case 'S': seq = 1; break;
		case 'D': dsync = 1; break;
		case 'f': every = num(optarg); break;
		case 's': seed = num(optarg); have_seed = 1; break;
		case 'L':
			slash = strchr(optarg, '/');
			if (!slash)
				die("-L wants I/N");
			*slash = 0;
			lane = num(optarg);
			lanes = num(slash + 1);
			align = 1;
			break;
		default: die("bad option");
		}
	}
	if (optind != argc)
		die("unexpected argument '%s'", argv[optind]);
	map_load(&m, argv[2]);
	b = m.nblocks;
	if (have_range)
		parse_range(range, m.nblocks, &a, &b);
	if (!bpw || bpw > b - a)
		die("-b %" PRIu64 " does not fit the range", bpw);
	if (align && (a % bpw || (b - a) % bpw))
		die("-a: range must be a multiple of -b");
	if (!lanes || lane >= lanes || lane >= (b - a) / bpw || (seq && lanes > 1))
		die("-L %" PRIu64 "/%" PRIu64 ": no such lane in the range (or with -S)", lane, lanes);
	rng = have_seed ? seed : m.seed ^ mix64(m.next_gen);
	fd = open_dev(argv[1], O_RDWR | (dsync ? O_DSYNC : 0));
	if (dev_blocks(fd, argv[1]) < b)
		die("%s is smaller than the range", argv[1]);
	buf = xalloc(bpw * BS);
	slots = align ? (b - a) / bpw : b - a - bpw + 1;
	/* lane I of N: the aligned chunks j with j % N == I */
	slots = lanes > 1 ? (slots - lane + lanes - 1) / lanes : slots;
	for (done = 0; done < count; done++) {
		uint64_t start, i;
		uint32_t g = m.next_gen++;
		ssize_t r;

		if (seq) {
			start = a + pos;
			pos = pos + bpw + bpw > b - a ? 0 : pos + bpw;
		} else {
			rng = mix64(rng);
			start = lanes > 1 ? a + (lane + (rng % slots) * lanes) * bpw :
			       a + (rng % slots) * (align ? bpw : 1);
		}
		for (i = 0; i < bpw; i++)
			make_block(buf + i * BS, m.seed, start + i, g);
		r = pwrite(fd, buf, bpw * BS, start * BS);
		if (r != (ssize_t)(bpw * BS)) {
			fprintf(stderr, "%s: write %" PRIu64 " of %" PRIu64 " (blocks %" PRIu64
				"+%" PRIu64 ") failed: %s\n", prog, done + 1, count, start, bpw,
				r < 0 ? strerror(errno) : "short write");
			for (i = 0; i < bpw; i++)
				m.gen[start + i] = GEN_ANY;
			ret = 1;
			break;
		}
		for (i = 0; i < bpw; i++)
			m.gen[start + i] = g;
		if (every && (done + 1) % every == 0 && fsync(fd)) {
			fprintf(stderr, "%s: fsync after write %" PRIu64 " failed: %s\n",
				prog, done + 1, strerror(errno));
			ret = 1;
			done++;
			break;
		}
	}
	if (!ret && every && fsync(fd)) {
		fprintf(stderr, "%s: final fsync failed: %s\n", prog, strerror(errno));
		ret = 1;
	}
	close(fd);
	map_save(&m, argv[2]);
	printf("write %s: %" PRIu64 " writes of %" PRIu64 " block(s) in %" PRIu64 ":%" PRIu64
	       "%s\n", argv[1], done, bpw, a, b, ret ? " (stopped on error)" : "");
	return ret;
}

/* ---- one block, in place ------------------------------------------------ */

/*
 * dsync FILE BLOCK SEED GEN: overwrite block BLOCK of an existing FILE (no
 * create, no growth) with generation GEN of the pattern, in one
 * O_DIRECT|O_DSYNC write, and nothing after it. In a file whose block is
 * already allocated, filesystems send that as a FUA write with no flush
 * (a block device's own O_DSYNC path adds a flush, which would hide a FUA
 * write that is acknowledged too early).
 */
static int cmd_dsync(int argc, char **argv)
{
	uint8_t *buf = xalloc(BS);
	uint64_t blk;
	struct stat st;
	int fd;

	if (argc != 4)
		die("usage: dsync FILE BLOCK SEED GEN");
	blk = num(argv[1]);
	fd = open(argv[0], O_WRONLY | O_DIRECT | O_DSYNC);
	if (fd < 0)
		die("open %s: %s", argv[0], strerror(errno));
	if (fstat(fd, &st))
		die("stat %s: %s", argv[0], strerror(errno));
	if ((uint64_t)st.st_size < (blk + 1) * BS)
		die("%s has no block %" PRIu64 " (dsync does not grow files)", argv[0], blk);
	make_block(buf, num(argv[2]), blk, (uint32_t)num(argv[3]));
	pwrite_all(fd, buf, BS, blk * BS, argv[0]);
	if (close(fd))
		die("close %s: %s", argv[0], strerror(errno));
	free(buf);
	return 0;
}

/* expect FILE BLOCK SEED GEN: block BLOCK holds that generation (exit 0) or not (1). */
static int cmd_expect(int argc, char **argv)
{
	uint8_t *buf = xalloc(BS), *ref = xalloc(BS);
	char what[160];
	uint64_t blk;
	int fd, ret;

	if (argc != 4)
		die("usage: expect FILE BLOCK SEED GEN");
	blk = num(argv[1]);
	fd = open_dev(argv[0], O_RDONLY);
	pread_all(fd, buf, BS, blk * BS, argv[0]);
	close(fd);
	make_block(ref, num(argv[2]), blk, (uint32_t)num(argv[3]));
	ret = memcmp(ref, buf, BS) != 0;
	describe(buf, what, sizeof(what));
	printf("%s block %" PRIu64 ": %s, %s\n", argv[0], blk, ret ? "MISMATCH" : "ok", what);
	free(buf);
	free(ref);
	return ret;
}

/*
 * jcommit DEV JSTART JLEN FROM: the newest ext4 (jbd2) commit block in
 * journal blocks [FROM, FROM + 256) of a journal that lies contiguous at
 * 4 KiB block JSTART of DEV and is JLEN blocks long; prints "BLOCK SEQ"
 * (BLOCK counted from the journal's start), exit 1 if there is none. A test
 * follows the journal's head with it, to crash right after a given commit.
 */
#define JBD2_MAGIC	0xc03b3998u
#define JBD2_COMMIT	2u

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int cmd_jcommit(int argc, char **argv)
{
	uint64_t jstart, jlen, from, n, i, best = 0;
	uint32_t seq, best_seq = 0;
	int fd, found = 0;
	uint8_t *buf;

	if (argc != 4)
		die("usage: jcommit DEV JSTART JLEN FROM");
	jstart = num(argv[1]);
	jlen = num(argv[2]);
	from = num(argv[3]);
	if (from >= jlen)
		die("FROM %" PRIu64 " is past the journal's %" PRIu64 " blocks", from, jlen);
	n = jlen - from < 256 ? jlen - from : 256;
	buf = xalloc(n * BS);
	fd = open_dev(argv[0], O_RDONLY);
	pread_all(fd, buf, n * BS, (jstart + from) * BS, argv[0]);
	close(fd);
	for (i = 0; i < n; i++) {
		const uint8_t *b = buf + i * BS;

		if (be32_at(b) != JBD2_MAGIC || be32_at(b + 4) != JBD2_COMMIT)
			continue;
		seq = be32_at(b + 8);
		/* Sequence numbers wrap: newer means a positive distance. */
		if (!found || (int32_t)(seq - best_seq) > 0) {
			best = from + i;
			best_seq = seq;
			found = 1;
		}
	}
	free(buf);
	if (!found)
		return 1;
	printf("%" PRIu64 " %" PRIu32 "\n", best, best_seq);
	return 0;
}

/* ---- readcheck: a reader that checks what it reads, while others write ---- */

/*
 * readcheck DEV SEED -r FIRST:END -t SECS [-z FIRST:END]...
 * Random O_DIRECT reads of 1 to 256 blocks in [FIRST, END) for SECS
 * seconds, while writers (cverify write, maps of seed SEED) change the
 * device. Every block read must be a block of the pattern of seed SEED
 * written for that very block, body intact (no misplaced, stale foreign or
 * damaged data), and its generation must never go back from one read of
 * it to the next (a read never returns data older than an earlier read
 * did). In a -z range (discards) zeros are fine too and generations are not
 * followed. A block that fails is read once more, alone: a read that raced
 * a write of the same block (the host copies a 4 KiB block in pieces) is
 * counted as retried when the second read passes.
 */
#define MAX_ZRANGES 8

struct rc_state {
	uint64_t seed, nz, za[MAX_ZRANGES], zb[MAX_ZRANGES];
	uint32_t *last;		/* newest generation seen, per block from FIRST */
	uint8_t *ref;
};

/* NULL if block @blk (read into @buf) is right, else why not. */
static const char *rc_check(struct rc_state *st, uint64_t first, uint64_t blk,
			    const uint8_t *buf)
{
	struct blkhdr h;
	uint64_t i;

	for (i = 0; i < st->nz; i++)
		if (blk >= st->za[i] && blk < st->zb[i])
			break;
	if (i < st->nz && is_zero(buf))
		return NULL;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != HDR_MAGIC || h.blk != blk || h.seed != st->seed)
		return "not this block's data";
	make_block(st->ref, st->seed, blk, h.gen);
	if (memcmp(st->ref, buf, BS))
		return "body damaged";
	if (i < st->nz)
		return NULL;
	if (h.gen < st->last[blk - first])
		return "older than an earlier read";
	st->last[blk - first] = h.gen;
	return NULL;
}

static int cmd_readcheck(int argc, char **argv)
{
	struct rc_state st = { 0 };
	uint64_t a = 0, b = 0, secs = 0, rng, reads = 0, blocks = 0, retried = 0, bad = 0;
	uint8_t *buf, *one;
	int opt, fd, have_range = 0;
	char what[160];
	time_t end;

	if (argc < 2)
		die("usage: readcheck DEV SEED -r FIRST:END -t SECS [-z FIRST:END]...");
	st.seed = num(argv[1]);
	optind = 3;	/* getopt counts argv[0] as the program */
	argv -= 1;
	argc += 1;
	fd = open_dev(argv[1], O_RDONLY);
	while ((opt = getopt(argc, argv, "r:t:z:")) != -1) {
		switch (opt) {
		case 'r':
			parse_range(optarg, dev_blocks(fd, argv[1]), &a, &b);
			have_range = 1;
			break;
		case 't': secs = num(optarg); break;
		case 'z':
			if (st.nz == MAX_ZRANGES)
				die("at most %d -z ranges", MAX_ZRANGES);
			parse_range(optarg, UINT64_MAX, &st.za[st.nz], &st.zb[st.nz]);
			st.nz++;
			break;
		default: die("bad option");
		}
	}
	if (optind != argc || !have_range || !secs)
		die("readcheck needs -r FIRST:END and -t SECS");
	st.last = calloc(b - a, sizeof(*st.last));
	if (!st.last)
		die("out of memory");
	st.ref = xalloc(BS);
	buf = xalloc(256 * BS);
	one = xalloc(BS);
	rng = mix64(st.seed ^ (uint64_t)time(NULL));
	end = time(NULL) + (time_t)secs;
	while (time(NULL) < end) {
		uint64_t n, start, i;
		const char *why;

		rng = mix64(rng);
		n = 1 + (rng >> 8) % 256;
		if (n > b - a)
			n = b - a;
		start = a + rng % (b - a - n + 1);
		pread_all(fd, buf, n * BS, start * BS, argv[1]);
		reads++;
		blocks += n;
		for (i = 0; i < n; i++) {
			if (!rc_check(&st, a, start + i, buf + i * BS))
				continue;
			pread_all(fd, one, BS, (start + i) * BS, argv[1]);
			why = rc_check(&st, a, start + i, one);
			if (!why) {
				retried++;
				continue;
			}
			if (bad++ < MAX_REPORT) {
				describe(one, what, sizeof(what));
				printf("BAD READ block %" PRIu64 ": %s (found %s)\n", start + i, why, what);
			}
		}
	}
	close(fd);
	printf("readcheck %s: %" PRIu64 " reads, %" PRIu64 " blocks, %" PRIu64
	       " read again, %" PRIu64 " bad\n", argv[1], reads, blocks, retried, bad);
	free(st.last);
	free(st.ref);
	free(buf);
	free(one);
	return bad ? 1 : 0;
}

/* ---- verify ----------------------------------------------------------- */

/* Checks blocks [a, b) of fd against expected(); returns the mismatch count. */
typedef int (*expect_fn)(void *ctx, uint64_t blk, const uint8_t *found, char *why, size_t len);

static uint64_t scan(int fd, const char *path, uint64_t a, uint64_t b, expect_fn fn, void *ctx)
{
	uint8_t *buf = xalloc(CHUNK * BS);
	uint64_t i, j, bad = 0;
	char why[160], what[160];

	for (i = a; i < b; i += CHUNK) {
		uint64_t c = b - i < CHUNK ? b - i : CHUNK;

		pread_all(fd, buf, c * BS, i * BS, path);
		for (j = 0; j < c; j++) {
			if (fn(ctx, i + j, buf + j * BS, why, sizeof(why)))
				continue;
			if (bad++ < MAX_REPORT) {
				describe(buf + j * BS, what, sizeof(what));
				printf("MISMATCH block %" PRIu64 " (byte %" PRIu64 "): expected %s, found %s\n",
				       i + j, (i + j) * BS, why, what);
			}
		}
	}
	free(buf);
	return bad;
}

struct map_ctx {
	struct map *m;
	uint8_t *ref;
	uint64_t skipped;
};

static int expect_map(void *ctx, uint64_t blk, const uint8_t *found, char *why, size_t len)
{
	struct map_ctx *c = ctx;
	uint32_t g = c->m->gen[blk];

	if (g == GEN_ANY) {
		c->skipped++;
		return 1;
	}
	gen_name(g, why, len);
	if (g == GEN_ZERO)
		return is_zero(found);
	make_block(c->ref, c->m->seed, blk, g);
	return !memcmp(c->ref, found, BS);
}

/* verify DEV MAP [-r FIRST:END] */
static int cmd_verify(int argc, char **argv)
{
	struct map m;
	struct map_ctx c = { &m, NULL, 0 };
	uint64_t a = 0, b, bad;
	int fd;

	if (argc != 2 && !(argc == 4 && !strcmp(argv[2], "-r")))
		die("usage: verify DEV MAP [-r FIRST:END]");
	map_load(&m, argv[1]);
	b = m.nblocks;
	if (argc == 4)
		parse_range(argv[3], m.nblocks, &a, &b);
	fd = open_dev(argv[0], O_RDONLY);
	if (dev_blocks(fd, argv[0]) < b)
		die("%s has fewer than %" PRIu64 " blocks", argv[0], b);
	c.ref = xalloc(BS);
	bad = scan(fd, argv[0], a, b, expect_map, &c);
	close(fd);
	if (bad > MAX_REPORT)
		printf("... %" PRIu64 " more mismatches\n", bad - MAX_REPORT);
	printf("verify %s: blocks %" PRIu64 ":%" PRIu64 ", %" PRIu64 " checked, %" PRIu64
	       " not checked (any), %" PRIu64 " mismatches\n", argv[0], a, b,
	       b - a - c.skipped, c.skipped, bad);
	return bad ? 1 : 0;
}

/* ---- crash: writes with a durable journal -------------------------------- */

/*
 * crashwrite DEV JDEV[@BYTEOFF] SEED [-r FIRST:END] [-k PER_BATCH] [-n BATCHES] [-j THREADS]
 *
 * Batch b writes PER_BATCH distinct random blocks of [FIRST, END) (its write i
 * gets generation 1 + b*PER_BATCH + i, spread over THREADS threads), then
 * fsyncs DEV, then writes journal record b and fsyncs the journal.  The
 * writes are a pure function of SEED and b, so crashcheck can replay them.
 * Record b on disk therefore proves batch b is durable; batch b+1 may have
 * been in flight; batch b+2 never started.
 */
#define J_MAGIC 0x314a5643u	/* "CVJ1" */
#define R_MAGIC 0x524a5643u	/* "CVJR" */

struct jhdr {
	uint32_t magic, k;
	uint64_t seed, first, end, nblocks, batches, check;
};

struct jrec {
	uint32_t magic, pad;
	uint64_t seed, batch, check;
};

static uint64_t jhdr_check(const struct jhdr *h)
{
	return mix64(h->magic ^ mix64(h->seed ^ mix64(h->first ^ mix64(h->end ^
		     mix64(h->nblocks ^ mix64(h->batches ^ h->k))))));
}

static uint64_t jrec_check(const struct jrec *r)
{
	return mix64(r->magic ^ mix64(r->seed ^ mix64(r->batch)));
}

/* The blocks batch b writes: k distinct blocks of [first, end). */
static void batch_blocks(const struct jhdr *h, uint64_t b, uint64_t *out, uint8_t *seen)
{
	uint64_t rng = mix64(h->seed ^ mix64(b + 12345)), i = 0, span = h->end - h->first;

	while (i < h->k) {
		uint64_t blk;

		rng = mix64(rng);
		blk = rng % span;
		if (seen[blk])
			continue;
		seen[blk] = 1;
		out[i++] = h->first + blk;
	}
	for (i = 0; i < h->k; i++)
		seen[out[i] - h->first] = 0;
}

static int parse_jdev(const char *arg, char *path, size_t len, uint64_t *off)
{
	const char *at = strchr(arg, '@');

	snprintf(path, len, "%.*s", at ? (int)(at - arg) : (int)strlen(arg), arg);
	*off = at ? num(at + 1) : 0;
	if (*off % BS)
		die("journal offset must be a multiple of 4096");
	return open_dev(path, O_RDWR);
}

struct wjob {
	int fd;
	const struct jhdr *h;
	const uint64_t *blocks;
	uint64_t batch;
	unsigned int t, nthreads;
};

static void *write_part(void *arg)
{
	struct wjob *w = arg;
	uint8_t *buf = xalloc(BS);

	for (uint64_t i = w->t; i < w->h->k; i += w->nthreads) {
		uint32_t g = 1 + w->batch * w->h->k + i;

		make_block(buf, w->h->seed, w->blocks[i], g);
		pwrite_all(w->fd, buf, BS, w->blocks[i] * BS, "data device");
	}
	free(buf);
	return NULL;
}

static int cmd_crashwrite(int argc, char **argv)
{
	struct jhdr h = { .magic = J_MAGIC, .k = 16, .batches = UINT32_MAX };
	struct jrec *rec = xalloc(BS);
	uint64_t joff, *blocks;
	unsigned int nthreads = 4, t;
	const char *range = NULL;
	char jpath[256];
	uint8_t *seen;
	int fd, jfd, opt;

	if (argc < 3)
		die("usage: crashwrite DEV JDEV[@OFF] SEED [-r FIRST:END] [-k PER_BATCH] [-n BATCHES] [-j THREADS]");
	optind = 4;
	argv -= 1;
	argc += 1;
	while ((opt = getopt(argc, argv, "r:k:n:j:")) != -1) {
		switch (opt) {
		case 'r': range = optarg; break;
		case 'k': h.k = num(optarg); break;
		case 'n': h.batches = num(optarg); break;
		case 'j': nthreads = num(optarg); break;
		default: die("bad option");
		}
	}
	fd = open_dev(argv[1], O_RDWR);
	jfd = parse_jdev(argv[2], jpath, sizeof(jpath), &joff);
	h.seed = num(argv[3]);
	h.nblocks = dev_blocks(fd, argv[1]);
	h.first = 0;
	h.end = h.nblocks;
	if (range)
		parse_range(range, h.nblocks, &h.first, &h.end);
	if (!h.k || h.k > h.end - h.first || !nthreads || nthreads > 64)
		die("bad -k or -j");
	h.check = jhdr_check(&h);
	if (dev_blocks(jfd, jpath) < joff / BS + 1 + h.batches && h.batches != UINT32_MAX)
		die("journal device too small for %" PRIu64 " batches", h.batches);

	/* A fresh journal: header first, the old record 0 wiped. */
	memset(rec, 0, BS);
	pwrite_all(jfd, rec, BS, joff + BS, "journal");
	memcpy(rec, &h, sizeof(h));
	pwrite_all(jfd, rec, BS, joff, "journal");
	sync_dev(jfd, "journal");

	blocks = calloc(h.k, sizeof(*blocks));
	seen = calloc(h.end - h.first, 1);
	if (!blocks || !seen)
		die("out of memory");
	for (uint64_t b = 0; b < h.batches; b++) {
		pthread_t tid[64];
		struct wjob jobs[64];

		batch_blocks(&h, b, blocks, seen);
		for (t = 0; t < nthreads; t++) {
			jobs[t] = (struct wjob){ fd, &h, blocks, b, t, nthreads };
			if (pthread_create(&tid[t], NULL, write_part, &jobs[t]))
				die("pthread_create failed");
		}
		for (t = 0; t < nthreads; t++)
			pthread_join(tid[t], NULL);
		sync_dev(fd, argv[1]);

		memset(rec, 0, BS);
		*rec = (struct jrec){ R_MAGIC, 0, h.seed, b, 0 };
		rec->check = jrec_check(rec);
		pwrite_all(jfd, rec, BS, joff + (b + 1) * BS, "journal");
		/* the next record slot must not hold a stale record of an old run */
		if (b + 2 < dev_blocks(jfd, jpath) - joff / BS) {
			uint8_t *z = xalloc(BS);

			pwrite_all(jfd, z, BS, joff + (b + 2) * BS, "journal");
			free(z);
		}
		sync_dev(jfd, "journal");
	}
	printf("crashwrite: %" PRIu64 " batches of %" PRIu32 " writes done\n", h.batches, h.k);
	return 0;
}

struct crash_ctx {
	uint32_t *gen;		/* durable generation of each block */
	uint32_t *inflight;	/* generation batch L+1 wrote, or 0 */
	uint64_t seed, first, end, new_seen, old_seen;
	uint8_t *ref;
};

static int expect_crash(void *ctx, uint64_t blk, const uint8_t *found, char *why, size_t len)
{
	struct crash_ctx *c = ctx;
	uint32_t g = blk >= c->first && blk < c->end ? c->gen[blk - c->first] : 0;
	uint32_t f = blk >= c->first && blk < c->end ? c->inflight[blk - c->first] : 0;

	make_block(c->ref, c->seed, blk, g);
	if (!memcmp(c->ref, found, BS)) {
		c->old_seen += f != 0;
		return 1;
	}
	if (f) {
		make_block(c->ref, c->seed, blk, f);
		if (!memcmp(c->ref, found, BS)) {
			c->new_seen++;
			return 1;
		}
		snprintf(why, len, "gen %" PRIu32 " (durable) or gen %" PRIu32 " (in flight)", g, f);
	} else {
		snprintf(why, len, "gen %" PRIu32 " (durable)", g);
	}
	return 0;
}

/* crashcheck DEV JDEV[@OFF]: every block holds its durable or in-flight content. */
static int cmd_crashcheck(int argc, char **argv)
{
	struct jhdr h;
	struct jrec r;
	struct crash_ctx c;
	uint8_t *buf = xalloc(BS), *seen;
	uint64_t joff, b, i, span, *blocks, bad;
	char jpath[256];
	int fd, jfd;

	if (argc != 2)
		die("usage: crashcheck DEV JDEV[@OFF]");
	fd = open_dev(argv[0], O_RDONLY);
	jfd = parse_jdev(argv[1], jpath, sizeof(jpath), &joff);
	pread_all(jfd, buf, BS, joff, "journal");
	memcpy(&h, buf, sizeof(h));
	if (h.magic != J_MAGIC || h.check != jhdr_check(&h))
		die("no crashwrite journal on %s", argv[1]);
	if (dev_blocks(fd, argv[0]) < h.nblocks)
		die("%s is smaller than when written", argv[0]);

	span = h.end - h.first;
	c = (struct crash_ctx){ calloc(span, 4), calloc(span, 4), h.seed, h.first, h.end, 0, 0, xalloc(BS) };
	blocks = calloc(h.k, sizeof(*blocks));
	seen = calloc(span, 1);
	if (!c.gen || !c.inflight || !blocks || !seen)
		die("out of memory");
	/* Replay every batch with a valid record: those are durable. */
	for (b = 0; b < h.batches; b++) {
		pread_all(jfd, buf, BS, joff + (b + 1) * BS, "journal");
		memcpy(&r, buf, sizeof(r));
		if (r.magic != R_MAGIC || r.seed != h.seed || r.batch != b || r.check != jrec_check(&r))
			break;
		batch_blocks(&h, b, blocks, seen);
		for (i = 0; i < h.k; i++)
			c.gen[blocks[i] - h.first] = 1 + b * h.k + i;
	}
	printf("crashcheck: %" PRIu64 " batches of %" PRIu32 " writes durable (journal)\n", b, h.k);
	if (b < h.batches) {
		batch_blocks(&h, b, blocks, seen);
		for (i = 0; i < h.k; i++)
			c.inflight[blocks[i] - h.first] = 1 + b * h.k + i;
	}
	bad = scan(fd, argv[0], 0, h.nblocks, expect_crash, &c);
	if (bad > MAX_REPORT)
		printf("... %" PRIu64 " more mismatches\n", bad - MAX_REPORT);
	printf("crashcheck %s: %" PRIu64 " blocks, batch %" PRIu64 " (maybe in flight): %" PRIu64
	       " blocks new, %" PRIu64 " old; %" PRIu64 " mismatches\n", argv[0], h.nblocks, b,
	       c.new_seen, c.old_seen, bad);
	printf("durable_batches=%" PRIu64 "\n", b);
	return bad ? 1 : 0;
}

/* ---- dm-clone metadata ------------------------------------------------- */

#define KIND_SUPR	0x52505553u
#define KIND_BMAP	0x50414d42u
#define KIND_RECD	0x44434552u
#define BITS_PER_BLOCK	32512u
#define RECORD_RUNS	252u

static uint32_t crc32c(const uint8_t *p, size_t n)
{
	static uint32_t table[256];
	uint32_t crc = ~0u;

	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
			table[i] = c;
		}
	while (n--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static uint32_t le32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t le64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static int block_ok(const uint8_t *b, uint32_t kind, uint64_t nr)
{
	return le32(b) == crc32c(b + 4, BS - 4) && le32(b + 4) == kind && le64(b + 8) == nr;
}

/*
 * Version 2: set the bits of the records in the ring from @ckpt on, both
 * bitmaps (@a, @b: one block of payload per bitmap block, header included)
 * alike. A position is replayed while one copy of its slot holds a sealed
 * record of that position (seq = position + 1); the first that does not
 * ends the ring. Returns the records replayed, or -1 on a malformed one.
 */
static int64_t replay_records(int fd, const char *dev, uint64_t ckpt, uint64_t slots,
			      uint64_t nregions, uint8_t *a, uint8_t *b)
{
	uint8_t *rec = xalloc(BS);
	uint64_t pos;

	for (pos = ckpt; pos < ckpt + slots; pos++) {
		uint64_t slot = pos % slots;
		int c, found = 0;

		for (c = 0; c < 2 && !found; c++) {
			uint64_t nr = 2 + 2 * slot + c;

			pread_all(fd, rec, BS, nr * BS, dev);
			found = block_ok(rec, KIND_RECD, nr) && le32(rec + 24) == slot &&
				le32(rec + 28) == (uint32_t)c && le64(rec + 32) == pos + 1;
		}
		if (!found)
			break;
		uint32_t runs = le32(rec + 48);

		if (!runs || runs > RECORD_RUNS)
			return free(rec), -1;
		for (uint32_t i = 0; i < runs; i++) {
			uint64_t first = le32(rec + 56 + 16 * i), count = le32(rec + 60 + 16 * i);

			if (!count || first + count > nregions)
				return free(rec), -1;
			for (uint64_t r = first; r < first + count; r++) {
				uint64_t at = (r / BITS_PER_BLOCK) * BS + 32 + (r % BITS_PER_BLOCK) / 8;

				a[at] |= 1 << (r % 8);
				b[at] |= 1 << (r % 8);
			}
		}
	}
	free(rec);
	return (int64_t)(pos - ckpt);
}

/*
 * Whether two valid superblock copies @a and @b are ones the module loads:
 * the same from byte 32 on, but, in version 2, for the checkpoint (bytes
 * 104-111) and, where their region counts differ, the geometry
 * (nr_regions and bitmap_blocks, bytes 56-71: a grow writes one copy, then
 * the other) as long as the copy with more regions names a checkpoint no
 * older than the other's.
 */
static int sb_agree(const uint8_t *a, const uint8_t *b)
{
	size_t geo = 56;

	if (le32(a + 40) < 2 || le32(b + 40) < 2)
		return !memcmp(a + 32, b + 32, BS - 32);
	if ((le64(a + 56) > le64(b + 56) && le64(a + 104) < le64(b + 104)) ||
	    (le64(b + 56) > le64(a + 56) && le64(b + 104) < le64(a + 104)))
		return 0;
	if (le64(a + 56) != le64(b + 56))
		geo = 72;
	return !memcmp(a + 32, b + 32, 56 - 32) && !memcmp(a + geo, b + geo, 104 - geo) &&
	       !memcmp(a + 112, b + 112, BS - 112);
}

/*
 * meta DEV: check and summarize dm-clone metadata.  Prints key=value lines
 * (superblock fields, per-copy validity, hydrated region counts) and exits 1
 * if any block is damaged (an all-zero bitmap block is valid: nothing
 * hydrated) or the superblock copies disagree.  The copy used is the
 * module's: the valid one, of two the one naming the newer checkpoint
 * (version 2), on a tie the one with more regions, else copy 0
 * ("sb_used"); the fields printed are its.
 * Version 2 copies may differ in the geometry (a grow cut short, "note=");
 * the bitmap is read in the geometry of the copy used.  The bitmap copies
 * may differ; "hydrated" is the OR of both.
 * Version 2 (bitmap copies side by side after a ring of records): the
 * records from the newer superblock's checkpoint on count as both copies
 * (what load replays into them), and "records" says how many there were.
 * With -l it also lists the hydrated regions as ranges ("ranges=0-9 17 ...").
 */
static int cmd_meta(int argc, char **argv)
{
	uint8_t *sbs = xalloc(2 * BS), *sb, *blk = xalloc(BS), *b0 = xalloc(BS);
	uint64_t nregions, n, start[2], i, hydrated[3] = { 0, 0, 0 }, invalid[2] = { 0, 0 };
	uint64_t nonce, differ = 0, run = 0, nranges = 0, slots = 0, ckpt = 0, stride = 1;
	int fd, s, use, valid[2], ret = 0, list = argc == 2 && !strcmp(argv[1], "-l");
	uint8_t *bm[2] = { NULL, NULL };
	uint32_t version;
	int64_t records = 0;

	if (argc != 1 && !list)
		die("usage: meta DEV [-l]");
	fd = open_dev(argv[0], O_RDONLY);
	for (s = 0; s < 2; s++) {
		pread_all(fd, sbs + s * BS, BS, s * BS, argv[0]);
		valid[s] = block_ok(sbs + s * BS, KIND_SUPR, s);
		printf("sb%d=%s\n", s, valid[s] ? "valid" : "invalid");
	}
	if (!valid[0] && !valid[1]) {
		printf("error=no valid superblock\n");
		return 1;
	}
	if (!valid[0] || !valid[1])
		ret = 1;
	/*
	 * version 2: the newer checkpoint, on a tie the grown copy, then copy
	 * 0; else the valid one
	 */
	use = !valid[0] || (valid[1] && le32(sbs + 40) >= 2 && le32(sbs + BS + 40) >= 2 &&
			    (le64(sbs + BS + 104) > le64(sbs + 104) ||
			     (le64(sbs + BS + 104) == le64(sbs + 104) &&
			      le64(sbs + BS + 56) > le64(sbs + 56))));
	sb = sbs + use * BS;
	printf("sb_used=%d\n", use);
	if (valid[0] && valid[1] && !sb_agree(sbs, sbs + BS))
		printf("error=superblock copies 0 and 1 disagree\n"), ret = 1;
	else if (valid[0] && valid[1] && le64(sbs + 56) != le64(sbs + BS + 56))
		printf("note=superblock copies 0 and 1 describe %" PRIu64 " and %" PRIu64
		       " regions (a grow cut short): using copy %d\n",
		       le64(sbs + 56), le64(sbs + BS + 56), use);
	if (memcmp(sb + 32, "dm-clone", 8))
		printf("error=superblock name is not dm-clone\n"), ret = 1;
	nregions = le64(sb + 56);
	n = le64(sb + 64);
	start[0] = le64(sb + 72);
	start[1] = le64(sb + 80);
	nonce = le64(sb + 16);
	version = le32(sb + 40);
	if (version >= 2) {
		ckpt = le64(sb + 104);
		slots = le32(sb + 120);
		stride = 2;
	}
	printf("version=%" PRIu32 "\nflags=%" PRIu32 "\nregion_size=%" PRIu64 "\nregions=%" PRIu64
	       "\nbitmap_blocks=%" PRIu64 "\ncopy_a=%" PRIu64 "\ncopy_b=%" PRIu64
	       "\nblock_size=%" PRIu32 "\nbits_per_block=%" PRIu32 "\nused_blocks=%" PRIu64 "\n",
	       version, le32(sb + 44), le64(sb + 48), nregions, n, start[0], start[1],
	       le32(sb + 88), le32(sb + 92), 2 + 2 * slots + 2 * n);
	if (n != (nregions + BITS_PER_BLOCK - 1) / BITS_PER_BLOCK)
		printf("error=bitmap block count does not fit the region count\n"), ret = 1;
	if (version >= 2 && (slots < 8 || start[0] != 2 + 2 * slots || start[1] != start[0] + 1)) {
		printf("error=version 2 superblock with an inconsistent ring\n");
		return 1;
	}
	/* both bitmaps whole (zero where a block is damaged), then the ring */
	for (s = 0; s < 2; s++) {
		bm[s] = xalloc((n ? n : 1) * BS);
		for (i = 0; i < n; i++) {
			uint8_t *p = bm[s] + i * BS;

			pread_all(fd, p, BS, (start[s] + stride * i) * BS, argv[0]);
			if (block_ok(p, KIND_BMAP, start[s] + stride * i) && le32(p + 24) == i &&
			    le32(p + 28) == (uint32_t)s) {
				if (le64(p + 16) != nonce)
					printf("note=bitmap block %" PRIu64 " copy %d has another nonce\n",
					       i, s);
				continue;
			}
			if (!is_zero(p))
				invalid[s]++;
			memset(p, 0, BS);
		}
	}
	if (version >= 2) {
		records = replay_records(fd, argv[0], ckpt, slots, nregions, bm[0], bm[1]);
		if (records < 0)
			printf("error=a malformed record in the ring\n"), ret = 1;
		printf("ring_slots=%" PRIu64 "\ncheckpoint=%" PRIu64 "\nrecords=%" PRId64 "\n",
		       slots, ckpt, records);
	}
	for (i = 0; i < n; i++) {
		memcpy(b0, bm[0] + i * BS, BS);
		memcpy(blk, bm[1] + i * BS, BS);
		for (uint64_t bit = 0; bit < BITS_PER_BLOCK; bit++) {
			uint64_t region = i * BITS_PER_BLOCK + bit;
			int a = b0[32 + bit / 8] >> (bit % 8) & 1, bb = blk[32 + bit / 8] >> (bit % 8) & 1;

			if (region >= nregions)
				break;
			hydrated[0] += a;
			hydrated[1] += bb;
			hydrated[2] += a | bb;
			differ += a != bb;
			if (list && (a | bb) && !run++ && nranges++ < 1000)
				printf("%s%" PRIu64, nranges == 1 ? "ranges=" : " ", region);
			if (list && !(a | bb) && run) {
				if (run > 1 && nranges <= 1000)
					printf("-%" PRIu64, region - 1);
				run = 0;
			}
		}
	}
	if (list && run > 1 && nranges <= 1000)
		printf("-%" PRIu64, nregions - 1);
	if (list)
		printf("%s\n", nranges > 1000 ? " ..." : nranges ? "" : "ranges=");
	printf("invalid_a=%" PRIu64 "\ninvalid_b=%" PRIu64 "\nhydrated_a=%" PRIu64
	       "\nhydrated_b=%" PRIu64 "\nhydrated=%" PRIu64 "\ncopies_differ=%" PRIu64 "\n",
	       invalid[0], invalid[1], hydrated[0], hydrated[1], hydrated[2], differ);
	if (invalid[0] || invalid[1])
		ret = 1;
	free(bm[0]);
	free(bm[1]);
	free(sbs);
	free(blk);
	free(b0);
	return ret;
}

/*
 * metaset DEV BLOCK OFFSET SIZE VALUE: store a little-endian SIZE-byte
 * (1, 4 or 8) VALUE at OFFSET of metadata block BLOCK and fix its checksum.
 * metacrc DEV BLOCK: only fix the checksum.
 */
static int cmd_metaset(int argc, char **argv)
{
	uint8_t *b = xalloc(BS);
	uint64_t blkno, off = 0, size = 0, val = 0;
	int fd;

	if (argc != 5 && argc != 2)
		die("usage: metaset DEV BLOCK OFFSET SIZE VALUE | metacrc DEV BLOCK");
	blkno = num(argv[1]);
	if (argc == 5) {
		off = num(argv[2]);
		size = num(argv[3]);
		val = num(argv[4]);
		if ((size != 1 && size != 4 && size != 8) || off < 4 || off + size > BS)
			die("bad offset/size");
	}
	fd = open_dev(argv[0], O_RDWR);
	pread_all(fd, b, BS, blkno * BS, argv[0]);
	if (argc == 5)
		memcpy(b + off, &val, size);	/* x86: already little-endian */
	val = crc32c(b + 4, BS - 4);
	memcpy(b, &val, 4);
	pwrite_all(fd, b, BS, blkno * BS, argv[0]);
	sync_dev(fd, argv[0]);
	return 0;
}

/* ---- main ------------------------------------------------------------- */

static int usage(void)
{
	fprintf(stderr,
		"usage: %s VERB ARGS (blocks are 4 KiB; ranges are FIRST:END, END excluded)\n"
		"  fill DEV MAP SEED [BLOCKS]     write the gen-0 pattern, create MAP\n"
		"  mkmap MAP SEED BLOCKS          MAP of a device holding the gen-0 pattern\n"
		"  mark MAP FIRST:END any|zero|GEN  set expectations by hand\n"
		"  zeroout DEV FIRST:END          BLKZEROOUT of those blocks (MAP untouched)\n"
		"  write DEV MAP [-n COUNT] [-r FIRST:END] [-b BLOCKS] [-a] [-S] [-f K] [-s SEED] [-L I/N] [-D]\n"
		"                                 O_DIRECT writes of new generations (-a aligned,\n"
		"                                 -S sequential, -f fsync every K, -L only the\n"
		"                                 aligned chunks j with j %% N == I, -D O_DSYNC:\n"
		"                                 FUA writes), MAP updated\n"
		"  merge BASE OUT MAP...          OUT: BASE with each block some MAP changed\n"
		"                                 (writers on disjoint lanes); a clash is an error\n"
		"  verify DEV MAP [-r FIRST:END]  every block holds what MAP says\n"
		"  dsync FILE BLOCK SEED GEN      overwrite one block of an existing file with one\n"
		"                                 O_DIRECT|O_DSYNC write (a FUA write, no flush)\n"
		"  expect FILE BLOCK SEED GEN     the block holds that generation (exit 0) or not (1)\n"
		"  readcheck DEV SEED -r FIRST:END -t SECS [-z FIRST:END]...\n"
		"                                 random reads for SECS s while others write: each block\n"
		"                                 is its own pattern block, never older than read before\n"
		"                                 (-z: zeros allowed, e.g. discarded ranges)\n"
		"  jcommit DEV JSTART JLEN FROM   the newest ext4 journal commit block in 256 blocks\n"
		"                                 from journal block FROM: \"BLOCK SEQ\"\n"
		"  crashwrite DEV JDEV[@OFF] SEED [-r FIRST:END] [-k PER_BATCH] [-n BATCHES] [-j THREADS]\n"
		"  crashcheck DEV JDEV[@OFF]      after a crash: durable or in-flight content only\n"
		"  meta DEV [-l]                  check and summarize dm-clone metadata (-l: list\n"
		"                                 the hydrated regions)\n"
		"  metaset DEV BLOCK OFF SIZE VAL patch a metadata field, fix the checksum\n"
		"  metacrc DEV BLOCK              fix a metadata block's checksum\n", prog);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct { const char *name; int (*fn)(int, char **); } verbs[] = {
		{ "fill", cmd_fill }, { "mkmap", cmd_mkmap }, { "mark", cmd_mark },
		{ "zeroout", cmd_zeroout },
		{ "merge", cmd_merge },
		{ "write", cmd_write }, { "verify", cmd_verify },
		{ "dsync", cmd_dsync }, { "expect", cmd_expect }, { "jcommit", cmd_jcommit },
		{ "readcheck", cmd_readcheck },
		{ "crashwrite", cmd_crashwrite }, { "crashcheck", cmd_crashcheck },
		{ "meta", cmd_meta }, { "metaset", cmd_metaset }, { "metacrc", cmd_metaset },
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return usage();
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].fn(argc - 2, argv + 2);
	return usage();
}
