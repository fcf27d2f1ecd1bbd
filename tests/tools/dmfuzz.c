// SPDX-License-Identifier: GPL-2.0
/*
 * dmfuzz: hostile input for the clone target, sent straight through the
 * device-mapper ioctl interface (/dev/mapper/control), so that thousands of
 * inputs cost no fork each.
 *
 *   dmfuzz table [-s SEED] [-n COUNT] [-l LEN] [-o FIRST] [-1 INDEX] [-v] DEV...
 *       Random and mutated table lines over the devices DEV... (and
 *       spellings of them, and devices that do not exist). A model of the
 *       target's rules judges every line before it is loaded: a valid line
 *       must load and report the settings it gave, an invalid one must fail
 *       with the target's error in the kernel log. Then the device goes.
 *   dmfuzz msg [-s SEED] [-n COUNT] [-v] NAME
 *       Malformed (and valid) messages to the live clone NAME: each must fail
 *       unless it is valid, and the status must show what the valid ones set.
 *   dmfuzz meta -m META -d DEST -S SRC -l LEN -r REGION [-s SEED] [-n RANDOM]
 *               [-a] [-o FIRST] [-1 INDEX] [-w INDEX] [-F 2] [-D] [-v]
 *       Mutated copies of the metadata on META (written by the module for a
 *       clone of LEN sectors in REGION-sector regions, in either format
 *       version; the cases are version 1's unless -F 2, their base META's
 *       state written again as version 1 when META holds version 2, and
 *       META's blocks put back at the end): every superblock
 *       field, bitmap damage in one copy and in both, truncation, unreadable
 *       blocks, another geometry, foreign data, and RANDOM random mutations.
 *       Each is refused with an error naming the problem, or loads with
 *       exactly the hydration state the format's redundancy keeps (judged
 *       also by the metadata tools' own reader, libclonemd), and the next
 *       commit leaves clean metadata. -a: every value of every field. -w:
 *       write mutation INDEX to META and say what to expect (for a data
 *       check by the caller). -D: no kernel; META is an image file, and only
 *       the expectations are checked against the tools (a host self-test).
 *       -F 2: format version 2 instead. The state read from META is written
 *       as version 2 with a ring of 8 slots (the base; META's blocks are
 *       put back at the end), and the cases are version 2's: the ring
 *       fields and tail of the superblock, checkpoints in one copy or both
 *       past a record, records planted at the checkpoint (valid: loads with
 *       their regions hydrated; torn, zeroed or older: loads intact; sealed
 *       but corrupt, of a later position, or a gap before the next one:
 *       refused), and RANDOM random mutations of ring blocks (refused, or
 *       loads keeping every region the base had).
 *   dmfuzz image FILE LEN REGION [VERSION]
 *       Metadata as the tools write it for a clone of LEN sectors in
 *       REGION-sector regions, some hydrated, in format VERSION (default:
 *       what a new format gets, version 2), for meta -D.
 *   dmfuzz selftest
 *       The models (argument splitting, number parsing, the table rules, the
 *       generators) against hand-written cases, without device-mapper.
 *
 * The last line is "dmfuzz: result tried=N failed=M ...". Exit status 0
 * when every input did what the model said, 1 on mismatches, 2 on a usage
 * or setup error.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "clonemd.h"

#define MIN_REGION	8U
#define MAX_REGION	2097152U
#define MAX_REGIONS	(1ULL << 31)

static int verbose;
static unsigned long tried, failed, unsure, accepted;	/* accepted: loaded or took effect */

__attribute__((noreturn, format(printf, 1, 2)))
static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	fprintf(stderr, "dmfuzz: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("out of memory");
	return p;
}

/* Print at most 300 bytes of @s, with non-printing bytes as \xNN. */
static const char *shown(const char *s)
{
	static char out[4][1400];
	static unsigned int n;
	char *o = out[n++ % 4];
	size_t len = strlen(s), i, j = 0;

	for (i = 0; i < len && i < 300; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 32 && c < 127 && c != '\\')
			o[j++] = (char)c;
		else
			j += (size_t)sprintf(o + j, "\\x%02x", c);
	}
	if (i < len)
		j += (size_t)sprintf(o + j, "...(%zu bytes)", len);
	o[j] = 0;
	return o;
}

/* ---- random numbers ---------------------------------------------------- */

static uint64_t rng;

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t rnd64(void)
{
	rng += 0x9e3779b97f4a7c15ULL;
	return mix64(rng);
}

/* 0 .. n-1 */
static uint64_t rnd(uint64_t n)
{
	return n ? rnd64() % n : 0;
}

static int chance(unsigned int pct)
{
	return rnd(100) < pct;
}

/* Input @i of the run with @seed: the same pair always gives the same input. */
static void seed_input(uint64_t seed, uint64_t i)
{
	rng = mix64(seed ^ mix64(i + 1));
}

/* ---- strings ----------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_addn(struct sbuf *s, const char *p, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		s->cap = (s->len + n + 1) * 2;
		s->p = realloc(s->p, s->cap);
		if (!s->p)
			die("out of memory");
	}
	memcpy(s->p + s->len, p, n);
	s->len += n;
	s->p[s->len] = 0;
}

static void sb_add(struct sbuf *s, const char *p)
{
	sb_addn(s, p, strlen(p));
}

static void sb_addc(struct sbuf *s, char c)
{
	sb_addn(s, &c, 1);
}

__attribute__((format(printf, 2, 3)))
static void sb_printf(struct sbuf *s, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(tmp))
		die("sb_printf: too long");
	sb_addn(s, tmp, (size_t)n);
}

static void sb_reset(struct sbuf *s)
{
	s->len = 0;
	if (s->p)
		s->p[0] = 0;
	else
		sb_add(s, "");
}

static void sb_free(struct sbuf *s)
{
	free(s->p);
	memset(s, 0, sizeof(*s));
}

/* A list of words. */
struct toks {
	char **v;
	int n, cap;
};

static void tk_insert(struct toks *t, int pos, const char *s)
{
	if (t->n + 1 > t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->v = realloc(t->v, (size_t)t->cap * sizeof(*t->v));
		if (!t->v)
			die("out of memory");
	}
	memmove(t->v + pos + 1, t->v + pos, (size_t)(t->n - pos) * sizeof(*t->v));
	t->v[pos] = xstrdup(s);
	t->n++;
}

static void tk_push(struct toks *t, const char *s)
{
	tk_insert(t, t->n, s);
}

static void tk_del(struct toks *t, int pos)
{
	free(t->v[pos]);
	memmove(t->v + pos, t->v + pos + 1, (size_t)(t->n - pos - 1) * sizeof(*t->v));
	t->n--;
}

static void tk_set(struct toks *t, int pos, const char *s)
{
	char *n = xstrdup(s);

	free(t->v[pos]);
	t->v[pos] = n;
}

static void tk_clear(struct toks *t)
{
	while (t->n)
		tk_del(t, t->n - 1);
}

static void tk_free(struct toks *t)
{
	tk_clear(t);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* ---- models of what the kernel does with the text ---------------------- */

/*
 * White space as the kernel's ctype table has it: the C set plus 0xa0 (the
 * Latin-1 no-break space), which splits arguments in the kernel but not in
 * a userspace C locale.
 */
static int k_isspace(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xa0;
}

/*
 * How device-mapper cuts a table line or message into arguments: runs of
 * white space separate them, and a backslash takes the next byte, whatever
 * it is, into the argument (a backslash at the very end stays itself).
 */
static void k_split(const char *in, struct toks *out)
{
	const unsigned char *p = (const unsigned char *)in;
	struct sbuf w = { 0 };

	tk_clear(out);
	for (;;) {
		while (*p && k_isspace(*p))
			p++;
		if (!*p)
			break;
		sb_reset(&w);
		while (*p) {
			if (*p == '\\' && p[1]) {
				sb_addc(&w, (char)p[1]);
				p += 2;
				continue;
			}
			if (k_isspace(*p))
				break;
			sb_addc(&w, (char)*p++);
		}
		tk_push(out, w.p);
	}
	sb_free(&w);
}

/*
 * The kernel's strict unsigned decimal parse into 64 bits (kstrtoull): an
 * optional '+', at least one digit, one optional trailing newline, nothing
 * else, and no overflow. 0 or -1.
 */
static int k_strtou64(const char *s, uint64_t *v)
{
	uint64_t acc = 0;
	int ovf = 0;

	if (*s == '+')
		s++;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (acc > (UINT64_MAX - 9) / 10)
			ovf = 1;
		else
			acc = acc * 10 + (uint64_t)(*s - '0');
	}
	if (*s == '\n')
		s++;
	if (*s || ovf)
		return -1;
	*v = acc;
	return 0;
}

/* The same into 32 bits (kstrtouint). */
static int k_strtou32(const char *s, uint32_t *v)
{
	uint64_t acc;

	if (k_strtou64(s, &acc) || acc > UINT32_MAX)
		return -1;
	*v = (uint32_t)acc;
	return 0;
}

/* Kernel log lines that fail a test (as the VM harness's list). */
static const char *bad_kernel_re =
	"Oops|(^|[^A-Za-z])BUG[: ]|WARNING:|blocked for more than|general protection fault|"
	"soft lockup|hard LOCKUP|detected stalls|RCU stall|Call Trace:|UBSAN|KASAN|kernel BUG|"
	"Kernel panic|list_(add|del) corruption";
static regex_t bad_re;
static int bad_re_ok;

static int is_bad_text(const char *s)
{
	if (!bad_re_ok) {
		if (regcomp(&bad_re, bad_kernel_re, REG_EXTENDED | REG_NOSUB))
			die("regcomp");
		bad_re_ok = 1;
	}
	return !regexec(&bad_re, s, 0, NULL, 0);
}

/* ---- the kernel log ---------------------------------------------------- */

static int kfd = -1;
static struct sbuf ktext;	/* records read since the last kmsg_begin() */
static unsigned long kbad;
static const char *kctx = "";

static void kmsg_open(void)
{
	kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kfd < 0)
		die("/dev/kmsg: %s", strerror(errno));
	lseek(kfd, 0, SEEK_END);
}

/* Read what the kernel logged; bad lines count and are shown with kctx. */
static void kmsg_drain(void)
{
	static char rec[8192];

	if (kfd < 0)
		return;
	for (;;) {
		ssize_t n = read(kfd, rec, sizeof(rec) - 1);
		char *msg, *nl;

		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten before we read it */
		if (n <= 0)
			break;
		rec[n] = 0;
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = 0;
		sb_add(&ktext, msg);
		sb_addc(&ktext, '\n');
		if (strstr(msg, "dmclone-harness:") || strstr(msg, "dmclone-test:"))
			continue;
		if (is_bad_text(msg)) {
			kbad++;
			printf("KERNEL after %s: %s\n", kctx, msg);
		}
	}
}

static void kmsg_begin(void)
{
	kmsg_drain();
	sb_reset(&ktext);
}

/* A line logged since kmsg_begin() holds every one of @pat (no case). */
static int kmsg_has(const char *const *pat, int n)
{
	const char *line = ktext.p ? ktext.p : "";

	while (*line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char *l = strndup(line, len);
		int i;

		for (i = 0; i < n && strcasestr(l, pat[i]); i++)
			;
		free(l);
		if (i == n)
			return 1;
		line += len + (end ? 1 : 0);
	}
	return 0;
}

static void kmsg_note(const char *fmt, ...);

/*
 * What the kernel logged, for sure: a line it left without a newline (one
 * printk cut short) is not handed to readers until the next line comes.
 */
static void kmsg_settle(void)
{
	kmsg_note("dmfuzz: (log settled)");
	kmsg_drain();
}

/* kmsg_has(), once more after the log settled if need be */
static int kmsg_has_settled(const char *const *pat, int n)
{
	if (kmsg_has(pat, n))
		return 1;
	kmsg_settle();
	return kmsg_has(pat, n);
}

static void kmsg_note(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		dprintf(fd, "<5>dmclone-test: %s\n", buf);
		close(fd);
	}
}

static void show_klog(void)
{
	const char *p = ktext.p ? ktext.p : "";

	while (*p) {
		const char *e = strchr(p, '\n');
		int len = e ? (int)(e - p) : (int)strlen(p);

		if (len)
			printf("    klog: %.*s\n", len > 300 ? 300 : len, p);
		p += len + (e ? 1 : 0);
	}
}

/* ---- device-mapper ioctls ---------------------------------------------- */

static int ctl = -1;
static uint64_t *iobuf;		/* 8-byte aligned */
static size_t iocap;

static void ctl_open(void)
{
	ctl = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		die("/dev/mapper/control: %s", strerror(errno));
}

static struct dm_ioctl *io_init(const char *name, size_t size)
{
	struct dm_ioctl *io;

	size += sizeof(struct dm_ioctl);
	size = (size + 7) & ~(size_t)7;
	if (size > iocap) {
		free(iobuf);
		iobuf = xmalloc(size);
		iocap = size;
	}
	memset(iobuf, 0, size);
	io = (struct dm_ioctl *)iobuf;
	io->version[0] = DM_VERSION_MAJOR;	/* minor 0: any 4.x kernel */
	io->data_size = (uint32_t)size;
	io->data_start = sizeof(struct dm_ioctl);
	if (name)
		snprintf(io->name, sizeof(io->name), "%s", name);
	return io;
}

static int io_call(unsigned long req, struct dm_ioctl *io)
{
	return ioctl(ctl, req, io) < 0 ? -errno : 0;
}

static int dm_create(const char *name)
{
	return io_call(DM_DEV_CREATE, io_init(name, 0));
}

static int dm_remove(const char *name)
{
	int r, i;

	for (i = 0; i < 50; i++) {
		r = io_call(DM_DEV_REMOVE, io_init(name, 0));
		if (r != -EBUSY)
			break;
		usleep(20000);
	}
	return r;
}

static int dm_suspend(const char *name, int suspend)
{
	struct dm_ioctl *io = io_init(name, 0);

	if (suspend)
		io->flags = DM_SUSPEND_FLAG;
	return io_call(DM_DEV_SUSPEND, io);
}

struct target {
	uint64_t start, len;
	const char *type;
	const char *params;
};

static int dm_load(const char *name, const struct target *t, int n)
{
	size_t size = 0, off;
	struct dm_ioctl *io;
	int i;

	for (i = 0; i < n; i++)
		size += sizeof(struct dm_target_spec) + strlen(t[i].params) + 8;
	io = io_init(name, size);
	io->target_count = (uint32_t)n;
	off = io->data_start;
	for (i = 0; i < n; i++) {
		struct dm_target_spec *sp = (void *)((char *)io + off);
		size_t len = sizeof(*sp) + strlen(t[i].params) + 1;

		len = (len + 7) & ~(size_t)7;
		sp->sector_start = t[i].start;
		sp->length = t[i].len;
		snprintf(sp->target_type, sizeof(sp->target_type), "%s", t[i].type);
		strcpy((char *)(sp + 1), t[i].params);
		sp->next = (uint32_t)len;
		off += len;
	}
	return io_call(DM_TABLE_LOAD, io);
}

/*
 * Status of every target of the live (or, with @inactive, the inactive)
 * table, one per line, in @out; @table for the table line instead.
 * Returns the number of targets or -errno.
 */
static int dm_status(const char *name, int inactive, int table, struct sbuf *out,
		     uint64_t *len0)
{
	size_t room = 16384;
	struct dm_ioctl *io;
	int r;

	for (;;) {
		io = io_init(name, room);
		io->flags = (inactive ? DM_QUERY_INACTIVE_TABLE_FLAG : 0) |
			    (table ? DM_STATUS_TABLE_FLAG : 0);
		r = io_call(DM_TABLE_STATUS, io);
		if (r)
			return r;
		if (!(io->flags & DM_BUFFER_FULL_FLAG))
			break;
		room *= 4;
		if (room > (64u << 20))
			return -ENOSPC;
	}
	sb_reset(out);
	for (uint32_t i = 0, next = 0; i < io->target_count; i++) {
		struct dm_target_spec *sp = (void *)((char *)io + io->data_start + next);

		if (i)
			sb_addc(out, '\n');
		sb_add(out, (char *)(sp + 1));
		if (i == 0 && len0)
			*len0 = sp->length;
		next = sp->next;
	}
	return (int)io->target_count;
}

static int dm_message(const char *name, uint64_t sector, const char *msg)
{
	size_t len = strlen(msg);
	struct dm_ioctl *io = io_init(name, sizeof(struct dm_target_msg) + len + 1 + 1024);
	struct dm_target_msg *m = (void *)((char *)io + io->data_start);

	m->sector = sector;
	memcpy(m->message, msg, len + 1);
	return io_call(DM_TARGET_MSG, io);
}

/* ---- metadata images --------------------------------------------------- */

static int open_direct(const char *path, int rw)
{
	int fd = open(path, (rw ? O_RDWR : O_RDONLY) | O_DIRECT | O_CLOEXEC);

	if (fd < 0 && errno == EINVAL)
		fd = open(path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	return fd;
}

/* Read or write @n blocks at block @first; 0 or -1. */
static int blocks_io(const char *path, int wr, uint64_t first, size_t n, void *buf)
{
	int fd = open_direct(path, wr);
	size_t len = n * CLONE_BLOCK_SIZE, done = 0;
	int r = 0;

	if (fd < 0)
		return -1;
	while (done < len) {
		ssize_t k = wr ? pwrite(fd, (char *)buf + done, len - done,
					(off_t)(first * CLONE_BLOCK_SIZE + done)) :
				 pread(fd, (char *)buf + done, len - done,
				       (off_t)(first * CLONE_BLOCK_SIZE + done));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = -1;
			break;
		}
		done += (size_t)k;
	}
	if (wr && !r && fsync(fd))
		r = -1;
	close(fd);
	return r;
}

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

/* ---- devices the table fuzzer uses ------------------------------------- */

struct vdev {
	char *path;
	char *spell[6];		/* names for it: path, MAJ:MIN, /dev/dm-N, ... */
	int nspell;
	dev_t rdev;
	uint64_t sectors;
	char group[64];		/* the disk under it: slices of one disk share it */
	int discard;		/* the destination passes discards down */
	int noopen;		/* cannot be opened (ENXIO): as if it did not exist */
	/* as a metadata device */
	int unreadable;		/* blocks 0-1 cannot be read */
	int zero_sb;		/* blocks 0 and 1 zeroed: formatted if the rest is */
	uint64_t scanned, first_data;	/* zero_sb: blocks [2, scanned) checked */
	int md_found;		/* !zero_sb: what the tools found */
	uint64_t md_rs, md_R, md_hyd, md_lost;
	uint64_t md_blocks;	/* blocks its format uses (version 1 or 2) */
	uint32_t md_version;	/* its format version, and version 2's ring slots */
	uint64_t md_slots;
};

static struct vdev vdevs[32];
static int nvdevs;
static int fake_devices;	/* selftest: names resolve by spelling only */

static const char *sysfs_dev(dev_t d, const char *what, char *out, size_t len)
{
	snprintf(out, len, "/sys/dev/block/%u:%u%s%s", major(d), minor(d),
		 what ? "/" : "", what ? what : "");
	return out;
}

static uint64_t sysfs_u64(dev_t d, const char *what)
{
	char p[256];
	unsigned long long v = 0;
	FILE *f = fopen(sysfs_dev(d, what, p, sizeof(p)), "r");

	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/* The disk under a dm device (its bottom slave), else the device itself. */
static void find_group(struct vdev *v)
{
	char dir[300];

	snprintf(v->group, sizeof(v->group), "%u:%u", major(v->rdev), minor(v->rdev));
	snprintf(dir, sizeof(dir), "/sys/dev/block/%u:%u/slaves", major(v->rdev),
		 minor(v->rdev));
	for (int depth = 0; depth < 8; depth++) {
		DIR *d = opendir(dir);
		struct dirent *e;
		char name[256] = "";

		if (!d)
			return;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.') {
				snprintf(name, sizeof(name), "%s", e->d_name);
				break;
			}
		closedir(d);
		if (!name[0])
			return;
		snprintf(v->group, sizeof(v->group), "%.60s", name);
		snprintf(dir, sizeof(dir), "/sys/class/block/%.200s/slaves", name);
	}
}

/* Look at what a device holds as metadata. */
static void probe_meta(struct vdev *v)
{
	uint8_t *b = xalloc_blocks(2);

	v->first_data = UINT64_MAX;
	v->scanned = 2;
	if (v->sectors / 8 < 2) {
		v->md_found = FOUND_TOOSMALL;
	} else if (blocks_io(v->path, 0, 0, 2, b)) {
		v->unreadable = 1;
	} else if (block_is_zero(b) && block_is_zero(b + CLONE_BLOCK_SIZE)) {
		v->zero_sb = 1;
	} else {
		struct dev d;
		struct md m;
		struct md_opts o = { .use_sb = -1, .max_regions = MAX_REGIONS };

		if (dev_open(&d, v->path, DEV_READ, 0))
			die("%s: %s", v->path, strerror(errno));
		md_analyze(&d, &o, &m, NULL, NULL);
		v->md_found = m.found;
		v->md_rs = m.region_size;
		v->md_R = m.nr_regions;
		v->md_hyd = m.hydrated;
		v->md_lost = m.lost_blocks;
		v->md_blocks = m.found == FOUND_OK ? md_layout_blocks(&m) : 0;
		v->md_version = m.sb.version;
		v->md_slots = m.sb.ring_slots;
		md_free(&m);
		dev_close(&d);
	}
	free(b);
}

static void add_vdev(const char *path)
{
	struct vdev *v;
	struct stat st;
	char buf[300];

	if (nvdevs == (int)(sizeof(vdevs) / sizeof(vdevs[0])))
		die("too many devices");
	v = &vdevs[nvdevs++];
	memset(v, 0, sizeof(*v));
	v->path = xstrdup(path);
	if (stat(path, &st) || !S_ISBLK(st.st_mode))
		die("%s: not a block device", path);
	v->rdev = st.st_rdev;
	{
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		/* a device-mapper device without a table has no disk yet */
		if (fd < 0 && errno == ENXIO)
			v->noopen = 1;
		else if (fd < 0 || ioctl(fd, BLKGETSIZE64, &v->sectors) < 0)
			die("%s: size: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		v->sectors >>= 9;
	}
	v->spell[v->nspell++] = v->path;
	snprintf(buf, sizeof(buf), "%u:%u", major(v->rdev), minor(v->rdev));
	v->spell[v->nspell++] = xstrdup(buf);
	if (!strncmp(path, "/dev/", 5)) {
		snprintf(buf, sizeof(buf), "/dev/./%s", path + 5);
		v->spell[v->nspell++] = xstrdup(buf);
		snprintf(buf, sizeof(buf), "//dev//%s", path + 5);
		v->spell[v->nspell++] = xstrdup(buf);
	}
	snprintf(buf, sizeof(buf), "/dev/dm-%u", minor(v->rdev));
	if (!stat(buf, &st) && S_ISBLK(st.st_mode) && st.st_rdev == v->rdev &&
	    strcmp(buf, path))
		v->spell[v->nspell++] = xstrdup(buf);
	v->discard = sysfs_u64(v->rdev, "queue/discard_max_bytes") > 0;
	find_group(v);
	if (!v->noopen)
		probe_meta(v);
}

/* First non-zero block of a zero_sb device below @need (UINT64_MAX: none). */
static uint64_t first_nonzero(struct vdev *v, uint64_t need)
{
	const size_t chunk = 256;
	uint8_t *b;

	if (fake_devices || v->first_data != UINT64_MAX || v->scanned >= need)
		return v->first_data;
	b = xalloc_blocks(chunk);
	while (v->scanned < need && v->first_data == UINT64_MAX) {
		size_t n = need - v->scanned < chunk ? (size_t)(need - v->scanned) : chunk;

		if (blocks_io(v->path, 0, v->scanned, n, b)) {
			v->first_data = v->scanned;	/* unreadable: as data */
			break;
		}
		for (size_t i = 0; i < n; i++)
			if (!block_is_zero(b + i * CLONE_BLOCK_SIZE)) {
				v->first_data = v->scanned + i;
				break;
			}
		v->scanned += n;
	}
	free(b);
	return v->first_data;
}

enum { INVALID = 0, VALID = 1, UNSURE = -1 };

/*
 * Which device a table argument names: a vocabulary device, NULL (no such
 * block device: the load fails) or, through *unsure, one we cannot judge.
 */
static struct vdev *resolve(const char *tok, int *unsure_out)
{
	unsigned long long ma, mi;
	struct stat st;
	int i, j;

	*unsure_out = 0;
	if (fake_devices) {
		for (i = 0; i < nvdevs; i++)
			for (j = 0; j < vdevs[i].nspell; j++)
				if (!strcmp(tok, vdevs[i].spell[j]))
					return &vdevs[i];
		return NULL;
	}
	/*
	 * MAJ:MIN as device-mapper reads it (sscanf "%u:%u%c" gives 2): white
	 * space before either number, digits only (no sign), nothing after.
	 * Anything else is a path. Numbers past 32 bits wrap in the kernel:
	 * not judged.
	 */
	{
		const unsigned char *p = (const unsigned char *)tok;
		unsigned long long num[2] = { 0, 0 };
		int ovf = 0, ok = 1;

		for (i = 0; i < 2 && ok; i++) {
			while (k_isspace(*p))
				p++;
			if (*p < '0' || *p > '9')
				ok = 0;
			for (; ok && *p >= '0' && *p <= '9'; p++) {
				if (num[i] > UINT32_MAX)
					ovf = 1;
				else
					num[i] = num[i] * 10 + (unsigned long long)(*p - '0');
			}
			if (ok && i == 0 && *p++ != ':')
				ok = 0;
		}
		if (ok && !*p) {
			char sys[128];
			dev_t d;

			ma = num[0];
			mi = num[1];
			if (ovf || ma > UINT32_MAX || mi > UINT32_MAX) {
				*unsure_out = 1;
				return NULL;
			}
			if (ma > 4095 || mi > 0xfffff)
				return NULL;	/* does not fit a dev_t: EOVERFLOW */
			d = makedev((unsigned int)ma, (unsigned int)mi);
			for (i = 0; i < nvdevs; i++)
				if (vdevs[i].rdev == d)
					return &vdevs[i];
			if (!access(sysfs_dev(d, NULL, sys, sizeof(sys)), F_OK))
				*unsure_out = 1;	/* a device we do not know */
			return NULL;
		}
	}
	if (stat(tok, &st) || !S_ISBLK(st.st_mode))
		return NULL;
	for (i = 0; i < nvdevs; i++)
		if (vdevs[i].rdev == st.st_rdev)
			return &vdevs[i];
	*unsure_out = 1;
	return NULL;
}

/*
 * Blocks a format of @R regions takes on a zeroed device of @blocks blocks:
 * version 2 with as many ring slots as fit (up to 256), version 1 where a
 * ring of 8 does not fit, as the module chooses.
 */
static uint64_t format_blocks(uint64_t R, uint64_t blocks)
{
	unsigned long slots = clone_ring_slots_for(R, blocks);

	return slots ? clone_metadata_blocks_v2(R, slots) : clone_metadata_blocks(R);
}

/*
 * Whether @v can be the metadata of @R regions of @rs sectors; *@used: the
 * blocks its format takes (the status line's used metadata blocks).
 */
static int meta_valid(struct vdev *v, uint32_t rs, uint64_t R, uint64_t *hyd,
		      int *formats, uint64_t *used, const char **why)
{
	uint64_t blocks = v->sectors / 8, need = clone_metadata_blocks(R);

	*hyd = 0;
	*formats = 0;
	*used = 0;
	if (blocks < 2) {
		*why = "metadata device under 2 blocks";
		return INVALID;
	}
	if (v->unreadable) {
		*why = "metadata device unreadable";
		return INVALID;
	}
	if (v->zero_sb) {
		if (blocks < need) {
			*why = "zeroed metadata device too small";
			return INVALID;
		}
		need = format_blocks(R, blocks);
		if (first_nonzero(v, need) < need) {
			*why = "metadata device not zeroed";
			return INVALID;
		}
		*used = need;
		*formats = 1;
		return VALID;
	}
	if (v->md_found != FOUND_OK) {
		*why = "metadata device holds no usable metadata";
		return INVALID;
	}
	if (v->md_rs != rs || v->md_R > R) {
		*why = "metadata of another region size, or more regions (a clone cannot shrink)";
		return INVALID;
	}
	*used = v->md_blocks;
	if (v->md_R < R) {
		/* a grow: version 2 only, the device large enough for it */
		if (v->md_version < 2) {
			*why = "version 1 metadata of fewer regions (cannot grow)";
			return INVALID;
		}
		*used = clone_metadata_blocks_v2(R, v->md_slots);
	}
	if (blocks < *used || v->md_lost) {
		*why = "metadata too small or lost";
		return INVALID;
	}
	*hyd = v->md_hyd;
	return VALID;
}

/* What the model says of one clone target. */
struct verdict {
	int v;
	const char *why;
	struct vdev *meta, *dest, *src;
	uint32_t rs, thr, batch, rate;
	uint64_t len, R, hyd, used;
	int no_hyd, no_pass, on_read, zeroes, formats;
	struct toks tk;
};

static void judge_target(uint64_t len, const char *params, struct verdict *vd)
{
	struct toks *t = &vd->tk;
	struct vdev *dv[3];
	int i, u, any_unsure = 0, pos, discard_src = 0;
	uint32_t nf, nc, val;
	const char *why = NULL;

	k_split(params, t);
	vd->len = len;
	vd->v = INVALID;
	vd->meta = vd->dest = vd->src = NULL;
	vd->thr = vd->batch = 1;
	vd->rate = 0;
	vd->no_hyd = vd->no_pass = vd->on_read = vd->zeroes = vd->formats = 0;
	vd->hyd = vd->R = vd->rs = 0;
#define BAD(w) do { vd->why = (w); return; } while (0)
	if (!len)
		BAD("zero length");
	if (t->n < 4)
		BAD("fewer than 4 arguments");
	for (i = 0; i < 3; i++) {
		dv[i] = resolve(t->v[i], &u);
		any_unsure |= u;
	}
	if (any_unsure) {
		vd->v = UNSURE;
		BAD("a device we cannot judge");
	}
	if (!dv[0] || !dv[1] || !dv[2] || dv[0]->noopen || dv[1]->noopen || dv[2]->noopen)
		BAD("no such device");
	vd->meta = dv[0];
	vd->dest = dv[1];
	vd->src = dv[2];
	if (dv[0]->rdev == dv[1]->rdev || dv[0]->rdev == dv[2]->rdev ||
	    dv[1]->rdev == dv[2]->rdev)
		BAD("the same device twice");
	/*
	 * A source shorter than the target is a clone longer than its source
	 * (zeroes past its end); every device here has 512-byte logical
	 * blocks, so any source size ends on one.
	 */
	if (dv[1]->sectors < len)
		BAD("destination smaller than the target");
	if (!dv[2]->sectors)
		BAD("an empty source");
	if (k_strtou32(t->v[3], &vd->rs) || vd->rs < MIN_REGION || vd->rs > MAX_REGION ||
	    (vd->rs & (vd->rs - 1)))
		BAD("bad region size");
	vd->R = ceil_div(len, vd->rs);
	if (vd->R > MAX_REGIONS)
		BAD("too many regions");
	pos = 4;
	if (pos < t->n) {
		if (k_strtou32(t->v[pos++], &nf) || nf > 5 || nf > (uint32_t)(t->n - pos))
			BAD("bad feature count");
		while (nf--) {
			const char *f = t->v[pos++];

			if (!strcasecmp(f, "no_hydration"))
				vd->no_hyd = 1;
			else if (!strcasecmp(f, "no_discard_passdown"))
				vd->no_pass = 1;
			else if (!strcasecmp(f, "hydrate_on_read"))
				vd->on_read = 1;
			else if (!strcasecmp(f, "discard_source"))
				discard_src = 1;
			else if (!strcasecmp(f, "detect_zeroes"))
				vd->zeroes = 1;
			else
				BAD("bad feature");
		}
	}
	if (pos < t->n) {
		if (k_strtou32(t->v[pos++], &nc) || nc > 6 || nc > (uint32_t)(t->n - pos) ||
		    (nc & 1))
			BAD("bad core argument count");
		for (; nc; nc -= 2) {
			const char *k = t->v[pos++];
			uint32_t *field;

			if (!strcasecmp(k, "hydration_threshold"))
				field = &vd->thr;
			else if (!strcasecmp(k, "hydration_batch_size"))
				field = &vd->batch;
			else if (!strcasecmp(k, "max_hydration_rate"))
				field = &vd->rate;
			else
				BAD("bad core argument");
			if (k_strtou32(t->v[pos++], &val))
				BAD("bad core argument value");
			*field = val;
		}
	}
	if (pos < t->n)
		BAD("too many arguments");
	if (!dv[1]->discard)
		vd->no_pass = 1;
	vd->v = meta_valid(dv[0], vd->rs, vd->R, &vd->hyd, &vd->formats, &vd->used, &why);
	vd->why = vd->v == VALID ? "valid" : why;
	/*
	 * Never generated (it would discard the source the data checks read):
	 * whether the source can take discards is not modelled.
	 */
	if (discard_src && vd->v == VALID) {
		vd->v = UNSURE;
		vd->why = "discard_source";
	}
#undef BAD
}

/* The status and table lines a valid target must report. */
static void expect_status(const struct verdict *vd, struct sbuf *info, struct sbuf *table)
{
	sb_reset(info);
	sb_printf(info, "8 %" PRIu64 "/%" PRIu64 " %u %" PRIu64 "/%" PRIu64 " 0 %d ",
		  vd->used, vd->meta->sectors / 8, vd->rs,
		  vd->hyd, vd->R, vd->no_hyd + vd->no_pass + vd->on_read + vd->zeroes);
	sb_add(info, vd->no_hyd ? "no_hydration " : "");
	sb_add(info, vd->no_pass ? "no_discard_passdown " : "");
	sb_add(info, vd->on_read ? "hydrate_on_read " : "");
	sb_add(info, vd->zeroes ? "detect_zeroes " : "");
	sb_printf(info, "%d hydration_threshold %u hydration_batch_size %u ", vd->rate ? 6 : 4,
		  vd->thr, vd->batch);
	if (vd->rate)
		sb_printf(info, "max_hydration_rate %u ", vd->rate);
	sb_add(info, "rw");
	sb_reset(table);
	sb_printf(table, "%u:%u %u:%u %u:%u", major(vd->meta->rdev), minor(vd->meta->rdev),
		  major(vd->dest->rdev), minor(vd->dest->rdev), major(vd->src->rdev),
		  minor(vd->src->rdev));
	for (int i = 3; i < vd->tk.n; i++) {
		sb_addc(table, ' ');
		sb_add(table, vd->tk.v[i]);
	}
}

/* ---- hostile text ------------------------------------------------------ */

/* Numbers at and beyond every limit, and things that look like numbers. */
static const char *const special_nums[] = {
	"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "15", "16", "17", "63", "64",
	"100", "128", "4096", "32511", "32512", "32513", "65536", "1048576",
	"2097151", "2097152", "2097153", "4194304", "2147483647", "2147483648",
	"4294967295", "4294967296", "4294967297", "4294967304", "4294967424",
	"9223372036854775807", "9223372036854775808", "18446744073709551615",
	"18446744073709551616", "99999999999999999999999999999999", "-1", "-8", "-0",
	"+8", "+128", "+", "++8", "+-8", "-+8", "08", "0008", "0x8", "0X80", "0o10",
	"8x", "x8", "1e3", "128.0", "0.5", ".5", "8\n", "8\n\n", "\n8", "8\r", "8\t8",
	"8 8", "infinity", "NaN", "-2147483648", "\xef\xbc\x98", "\xd9\xa8", "8\xa0",
	"\xa0" "8", "0\\8", "８",
};

/* Words the target knows, near misses, and words of other targets. */
static const char *const words[] = {
	"no_hydration", "no_discard_passdown", "hydration_threshold", "hydration_batch_size",
	"enable_hydration", "disable_hydration", "NO_HYDRATION", "No_Discard_Passdown",
	"HYDRATION_THRESHOLD", "Hydration_Batch_Size", "ENABLE_HYDRATION", "disable_HYDRATION",
	"no_hydration_", "_no_hydration", "no-hydration", "nohydration", "no_hydratio",
	"discard_passdown", "hydration", "threshold", "batch_size", "hydration_threshold=1",
	"hydration_batch_size:8", "no_discard_passdown,no_hydration", "region_size", "clone",
	"linear", "metadata", "features", "core", "0", "-", "--", "\\", "\"", "'", "#", "*",
	"%s%s%s%n", "%p", "(null)", "\xff", "\x01", "\x7f", "\xc3\xa9", "\xe2\x80\x8b",
	"enable_hydration\n", "no_hydration\n", "drop_metadata_snap", "reserve_metadata_snap",
	"@cancel_deferred_remove", "@stats_list", "cancel_deferred_remove",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *pick(const char *const *list, size_t n)
{
	return list[rnd(n)];
}

/* Random bytes (no NUL, no ':'); mostly short, now and then huge. */
static void garbage(struct sbuf *s)
{
	uint64_t r = rnd(100), len = r < 70 ? 1 + rnd(12) : r < 95 ? 13 + rnd(200) :
				   1000 + rnd(8000);
	int kind = (int)rnd(3);

	sb_reset(s);
	for (uint64_t i = 0; i < len; i++) {
		unsigned char c;

		if (kind == 0)
			c = (unsigned char)"abcdefghijklmnopqrstuvwxyz0123456789_"[rnd(37)];
		else if (kind == 1)
			c = (unsigned char)(33 + rnd(94));
		else
			c = (unsigned char)(1 + rnd(255));
		if (c == ':')
			c = ';';
		sb_addc(s, (char)c);
	}
}

static void random_case(struct sbuf *s, const char *w)
{
	sb_reset(s);
	for (; *w; w++)
		sb_addc(s, chance(50) && isalpha((unsigned char)*w) ? (char)(*w ^ 0x20) : *w);
}

static void typo(struct sbuf *s, const char *w)
{
	size_t len = strlen(w), at = len ? rnd(len) : 0;

	sb_reset(s);
	switch (rnd(5)) {
	case 0:	/* a letter less */
		sb_addn(s, w, at);
		sb_add(s, len ? w + at + 1 : "");
		break;
	case 1:	/* a letter more */
		sb_addn(s, w, at);
		sb_addc(s, (char)('a' + rnd(26)));
		sb_add(s, w + at);
		break;
	case 2:	/* another letter */
		sb_add(s, w);
		if (len)
			s->p[at] = (char)(s->p[at] == 'x' ? 'y' : 'x');
		break;
	case 3:
		sb_add(s, w);
		sb_add(s, "_");
		break;
	default:
		sb_add(s, "no_");
		sb_add(s, w);
		break;
	}
}

/* A 32-bit value biased to the edges. */
static uint32_t edge_u32(void)
{
	static const uint32_t e[] = { 0, 1, 2, 7, 8, 64, 255, 256, 4096, 32512, 65535,
				      65536, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff };

	return chance(60) ? e[rnd(ARRAY_SIZE(e))] : (uint32_t)rnd64();
}

/* @v in one of the spellings the kernel reads as @v. */
static void fmt_num(struct sbuf *s, uint64_t v)
{
	sb_reset(s);
	switch (rnd(24)) {
	case 0:
		sb_printf(s, "+%" PRIu64, v);
		break;
	case 1:
		sb_printf(s, "000%" PRIu64, v);
		break;
	case 2:
		sb_printf(s, "%" PRIu64 "\n", v);
		break;
	case 3: {
		uint64_t z = 100 + rnd(chance(20) ? 6000 : 300);

		while (z--)
			sb_addc(s, '0');
		sb_printf(s, "%" PRIu64, v);
		break;
	}
	default:
		sb_printf(s, "%" PRIu64, v);
	}
}

/*
 * Words to a line: white space between them (sometimes odd white space),
 * the white space and backslashes inside a word escaped so that the word
 * survives (almost always), and now and then a gratuitous escape.
 */
static void render(const struct toks *t, struct sbuf *out)
{
	static const char *const seps[] = { "  ", "\t", "\n", "\xa0", " \t ", "\r\n", "\v", "\f", " \xa0 " };

	sb_reset(out);
	if (chance(4))
		sb_add(out, pick(seps, ARRAY_SIZE(seps)));
	for (int i = 0; i < t->n; i++) {
		if (i)
			sb_add(out, chance(90) ? " " : pick(seps, ARRAY_SIZE(seps)));
		for (const char *p = t->v[i]; *p; p++) {
			unsigned char c = (unsigned char)*p;

			if ((k_isspace(c) || c == '\\') && !chance(3)) {
				sb_addc(out, '\\');
			} else if (chance(1)) {
				sb_addc(out, '\\');
			}
			sb_addc(out, (char)c);
		}
	}
	if (chance(4))
		sb_add(out, pick(seps, ARRAY_SIZE(seps)));
}

/* ---- table lines --------------------------------------------------------- */

/* Device names that are no usable block device. */
static const char *const bad_devices[] = {
	"/dev/nonexistent", "/dev/null", "/dev/zero", "/dev", "/", ".", "..", "nosuchdev",
	"dev/vdb", "/dev/vdb/", "/dev/mapper/control", "/proc/self/exe", "0:0", "4096:0",
	"0:1048576", "99999:1", "1:2:3", "-1:0", "/dev/mapper/", "/dev/vd", "",
};

static const char *spelling(const struct vdev *v)
{
	return chance(60) ? v->path : v->spell[rnd((uint64_t)v->nspell)];
}

static const char *bad_device(struct sbuf *s)
{
	if (chance(85))
		return pick(bad_devices, ARRAY_SIZE(bad_devices));
	garbage(s);
	return s->p;
}

static uint64_t pick_len(uint64_t L)
{
	uint64_t r = rnd(1000);

	if (r < 650)
		return L;
	if (r < 700)
		return L > 10 ? L - 1 - rnd(8) : L;
	if (r < 740)
		return 1 + rnd(64);
	if (r < 770)
		return 1ULL << rnd(22);
	if (r < 800)
		return L + 1 + rnd(8);
	if (r < 850) {
		uint64_t s = vdevs[rnd((uint64_t)nvdevs)].sectors;

		return s + (chance(30) ? 1 : 0);
	}
	if (r < 900)
		return L / 2 + rnd(L / 2 + 1);
	if (r < 940)
		return 1ULL << (25 + rnd(10));
	if (r < 944)
		return 1ULL << 34;		/* exactly 2^31 regions of 8 sectors */
	if (r < 948)
		return (1ULL << 34) + 1 + 7 * rnd(2);	/* 2^31 + 1 */
	if (r < 955)
		return 0;
	return L;
}

static struct vdev *pick_dev(const struct vdev *not1, const struct vdev *not2, uint64_t min)
{
	struct vdev *c[32];
	int n = 0;

	for (int i = 0; i < nvdevs; i++)
		if (&vdevs[i] != not1 && &vdevs[i] != not2 && vdevs[i].sectors >= min &&
		    (!not1 || vdevs[i].rdev != not1->rdev) && (!not2 || vdevs[i].rdev != not2->rdev))
			c[n++] = &vdevs[i];
	return n ? c[rnd((uint64_t)n)] : &vdevs[rnd((uint64_t)nvdevs)];
}

/* A valid clone argument list for @len sectors (as far as the devices allow). */
static void base_args(struct toks *t, uint64_t len)
{
	struct sbuf s = { 0 };
	struct vdev *meta = NULL, *c[32];
	uint32_t rs;
	uint64_t R, hyd, used;
	int n = 0, formats;
	const char *why;

	tk_clear(t);
	if (len > (1ULL << 27) && chance(90)) {
		uint64_t want = len >> 20;

		for (rs = MIN_REGION; rs < want && rs < MAX_REGION; rs <<= 1)
			;
	} else {
		rs = 1U << (3 + rnd(chance(60) ? 8 : 19));
	}
	R = ceil_div(len ? len : 1, rs);
	for (int i = 0; i < nvdevs; i++)
		if (meta_valid(&vdevs[i], rs, R, &hyd, &formats, &used, &why) == VALID)
			c[n++] = &vdevs[i];
	meta = n && chance(90) ? c[rnd((uint64_t)n)] : &vdevs[rnd((uint64_t)nvdevs)];
	struct vdev *dest = pick_dev(meta, NULL, len);
	/* now and then a source shorter than the clone */
	struct vdev *src = pick_dev(meta, dest, chance(85) ? len : 1);

	tk_push(t, spelling(meta));
	tk_push(t, spelling(dest));
	tk_push(t, spelling(src));
	fmt_num(&s, rs);
	tk_push(t, s.p);
	if (chance(65)) {
		uint64_t nf = chance(15) ? 0 : 1 + rnd(3);

		sb_reset(&s);
		sb_printf(&s, "%" PRIu64, nf);
		tk_push(t, s.p);
		while (nf--) {
			const char *f = chance(40) ? "no_hydration" :
					chance(50) ? "no_discard_passdown" :
					chance(60) ? "hydrate_on_read" : "detect_zeroes";

			if (chance(20)) {
				random_case(&s, f);
				f = s.p;
			}
			tk_push(t, f);
		}
		if (chance(45)) {
			uint64_t nc = 2 * rnd(4);

			sb_reset(&s);
			sb_printf(&s, "%" PRIu64, nc);
			tk_push(t, s.p);
			for (; nc; nc -= 2) {
				const char *k = chance(40) ? "hydration_threshold" :
						chance(67) ? "hydration_batch_size" :
							     "max_hydration_rate";

				if (chance(20)) {
					random_case(&s, k);
					k = s.p;
				}
				tk_push(t, k);
				fmt_num(&s, edge_u32());
				tk_push(t, s.p);
			}
		}
	}
	sb_free(&s);
}

/* Positions of the counts in a list built by base_args (or -1). */
static int count_pos(const struct toks *t, int core)
{
	uint32_t nf;

	if (t->n < 5)
		return -1;
	if (!core)
		return 4;
	if (k_strtou32(t->v[4], &nf) || nf > 3 || 5 + (int)nf >= t->n)
		return -1;
	return 5 + (int)nf;
}

static void mutate(struct toks *t)
{
	struct sbuf s = { 0 };
	int n = t->n, a = n ? (int)rnd((uint64_t)n) : 0, b = n ? (int)rnd((uint64_t)n) : 0;

	switch (rnd(17)) {
	case 0:		/* an argument less */
		if (n)
			tk_del(t, a);
		break;
	case 1:		/* an argument twice */
		if (n)
			tk_insert(t, b, t->v[a]);
		break;
	case 2:		/* two arguments swapped */
		if (n) {
			char *x = t->v[a];

			t->v[a] = t->v[b];
			t->v[b] = x;
		}
		break;
	case 3:		/* a number at or beyond a limit */
		if (n)
			tk_set(t, a, pick(special_nums, ARRAY_SIZE(special_nums)));
		break;
	case 4:		/* another device (the same twice, too small, ...) */
		if (n)
			tk_set(t, (int)rnd(n < 3 ? (uint64_t)n : 3), spelling(&vdevs[rnd((uint64_t)nvdevs)]));
		break;
	case 5:		/* a device that is not one */
		if (n)
			tk_set(t, (int)rnd(n < 3 ? (uint64_t)n : 3), bad_device(&s));
		break;
	case 6:		/* an extra word */
		tk_insert(t, n ? (int)rnd((uint64_t)n + 1) : 0,
			  chance(50) ? pick(words, ARRAY_SIZE(words)) :
			  pick(special_nums, ARRAY_SIZE(special_nums)));
		break;
	case 7:		/* cut short */
		while (t->n > a)
			tk_del(t, t->n - 1);
		break;
	case 8:		/* junk at the end */
		for (uint64_t k = 1 + rnd(5); k; k--) {
			garbage(&s);
			tk_push(t, chance(50) ? s.p : pick(words, ARRAY_SIZE(words)));
		}
		break;
	case 9:		/* another case */
		if (n) {
			random_case(&s, t->v[a]);
			tk_set(t, a, s.p);
		}
		break;
	case 10: {	/* a number in another valid spelling */
		uint32_t v;

		if (n && !k_strtou32(t->v[a], &v)) {
			fmt_num(&s, v);
			tk_set(t, a, s.p);
		}
		break;
	}
	case 11:	/* garbage */
		if (n) {
			garbage(&s);
			tk_set(t, a, s.p);
		}
		break;
	case 12:	/* feature count */
	case 13: {	/* core argument count */
		int p = count_pos(t, (int)rnd(2));

		if (p >= 0)
			tk_set(t, p, chance(50) ? pick(special_nums, ARRAY_SIZE(special_nums)) :
				     chance(50) ? "3" : "4294967298");
		break;
	}
	case 14: {	/* a core argument value beyond 32 bits */
		int p = count_pos(t, 1);

		if (p >= 0 && p + 2 < t->n)
			tk_set(t, p + 2, pick(special_nums, ARRAY_SIZE(special_nums)));
		break;
	}
	case 15:	/* a name misspelt */
		if (n) {
			typo(&s, t->v[a]);
			tk_set(t, a, s.p);
		}
		break;
	default:	/* the region size */
		if (n > 3)
			tk_set(t, 3, pick(special_nums, ARRAY_SIZE(special_nums)));
		break;
	}
	sb_free(&s);
}

/* Nothing like a table line at all. */
static void pure_garbage(struct toks *t)
{
	struct sbuf s = { 0 };
	uint64_t r = rnd(10), n;

	tk_clear(t);
	if (r == 0) {		/* thousands of arguments */
		for (n = 1000 + rnd(4000); n; n--)
			tk_push(t, chance(50) ? "8" : "no_hydration");
	} else if (r == 1) {	/* one huge argument */
		for (n = 20000 + rnd(60000); n; n--)
			sb_addc(&s, (char)('a' + rnd(26)));
		tk_push(t, s.p);
	} else {
		for (n = rnd(14); n; n--) {
			switch (rnd(4)) {
			case 0:
				garbage(&s);
				tk_push(t, s.p);
				break;
			case 1:
				tk_push(t, pick(words, ARRAY_SIZE(words)));
				break;
			case 2:
				tk_push(t, pick(special_nums, ARRAY_SIZE(special_nums)));
				break;
			default:
				tk_push(t, chance(50) ? spelling(&vdevs[rnd((uint64_t)nvdevs)]) :
					    bad_device(&s));
			}
		}
	}
	sb_free(&s);
}

struct tline {
	int n;
	struct target t[2];
	struct sbuf params[2];
	struct verdict vd[2];
	int v;
	const char *why;
};

static void gen_line(struct tline *l, uint64_t L)
{
	struct toks t = { 0 };

	for (int tries = 0; tries < 50; tries++) {
		uint64_t start = 0;

		l->n = chance(6) ? 2 : 1;
		for (int i = 0; i < l->n; i++) {
			uint64_t len = pick_len(L);

			if (chance(5)) {
				pure_garbage(&t);
			} else {
				uint64_t r = rnd(100), m = r < 25 ? 0 : r < 65 ? 1 : r < 90 ? 2 + rnd(2) :
								       4 + rnd(5);

				base_args(&t, len);
				while (m--)
					mutate(&t);
			}
			render(&t, &l->params[i]);
			l->t[i].start = start;
			l->t[i].len = len;
			l->t[i].type = "clone";
			l->t[i].params = l->params[i].p;
			start += len;
		}
		/* nothing the VM harness would take for a kernel problem */
		if (!is_bad_text(l->params[0].p) && (l->n < 2 || !is_bad_text(l->params[1].p)))
			break;
	}
	tk_free(&t);
}

/*
 * A table with more than one target is refused: the clone target must be
 * alone in its table (other targets could reopen its devices under it).
 */
static void judge_line(struct tline *l)
{
	l->v = VALID;
	l->why = "valid";
	for (int i = 0; i < l->n; i++) {
		judge_target(l->t[i].len, l->t[i].params, &l->vd[i]);
		if (i && l->v != INVALID && l->t[0].len && l->t[i].len) {
			l->v = INVALID;
			l->why = "a second target in the table";
		}
		if (l->vd[i].v == INVALID) {
			l->v = INVALID;
			l->why = l->vd[i].why;
			return;
		}
		if (l->vd[i].v == UNSURE) {
			l->v = UNSURE;
			l->why = l->vd[i].why;
		}
	}
}

static void show_line(const struct tline *l)
{
	for (int i = 0; i < l->n; i++)
		printf("    table: %" PRIu64 " %" PRIu64 " clone %s\n", l->t[i].start, l->t[i].len,
		       shown(l->t[i].params));
	printf("    model: %s\n", l->why);
}

__attribute__((format(printf, 2, 3)))
static void mismatch(const char *what, const char *fmt, ...)
{
	va_list ap;

	failed++;
	printf("MISMATCH %s: ", what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Blocks 0 and 1 of a metadata device, kept to undo what a load wrote. */
struct snap {
	struct vdev *v;
	uint8_t *b;
	size_t n;
};

static void snap_take(struct snap *s, struct vdev *v, size_t n)
{
	s->v = NULL;
	if (!v || v->sectors / 8 < n || v->unreadable)
		return;
	s->b = xalloc_blocks(n);
	s->n = n;
	if (blocks_io(v->path, 0, 0, n, s->b)) {
		free(s->b);
		return;
	}
	s->v = v;
}

static void snap_restore(struct snap *s)
{
	uint8_t *now;

	if (!s->v)
		return;
	now = xalloc_blocks(s->n);
	if (blocks_io(s->v->path, 0, 0, s->n, now) ||
	    memcmp(now, s->b, s->n * CLONE_BLOCK_SIZE)) {
		if (blocks_io(s->v->path, 1, 0, s->n, s->b))
			die("%s: cannot restore its first blocks", s->v->path);
	}
	free(now);
	free(s->b);
	s->v = NULL;
}

static void run_line(struct tline *l, const char *name, uint64_t idx, unsigned int resume_pct)
{
	struct sbuf got = { 0 }, want = { 0 }, want_table = { 0 }, w1 = { 0 }, w2 = { 0 };
	struct snap snaps[2] = { { 0 }, { 0 } };
	char what[64];
	int r, resume = 0;

	snprintf(what, sizeof(what), "table line %" PRIu64, idx);
	kctx = what;
	/* undo whatever a load formats, even one the model did not expect */
	for (int i = 0; i < l->n; i++) {
		struct toks *t = &l->vd[i].tk;
		int u;
		struct vdev *m = t->n ? resolve(t->v[0], &u) : NULL;
		size_t n = 2;

		if (l->v == VALID && l->n == 1 && l->vd[0].no_hyd &&
		    l->vd[0].used <= 1024 && chance(resume_pct)) {
			resume = 1;
			n = l->vd[0].used;
		}
		if (m && !(i == 1 && snaps[0].v == m))
			snap_take(&snaps[i], m, n);
	}
	r = dm_create(name);
	if (r == -EBUSY) {
		dm_remove(name);
		r = dm_create(name);
	}
	if (r)
		die("cannot create %s: %s", name, strerror(-r));
	kmsg_begin();
	r = dm_load(name, l->t, l->n);
	kmsg_drain();
	tried++;
	accepted += !r;
	if (verbose)
		printf("line %" PRIu64 ": %s -> %s\n", idx, l->why, r ? strerror(-r) : "loaded");
	if (l->v == UNSURE) {
		unsure++;
		printf("UNSURE %s (%s)\n", what, r ? strerror(-r) : "loaded");
		show_line(l);
	} else if (l->v == VALID && r) {
		mismatch(what, "a valid line was refused (%s)", strerror(-r));
		show_line(l);
		show_klog();
	} else if (l->v == INVALID && !r) {
		mismatch(what, "an invalid line loaded");
		show_line(l);
	} else if (r) {
		/* a clean error: the target's own words, not a default */
		static const char *const clone_err[] = { ": clone: " };
		static const char *const unknown[] = { ": clone: Unknown error" };
		static const char *const dm[] = { "device-mapper: " };
		static const char *const alone[] = { "alone in" };
		int in_ctr = 1;

		for (int i = 0; i < l->n; i++)
			in_ctr &= l->t[i].len != 0;
		if (!kmsg_has(dm, 1) || (in_ctr && !kmsg_has(clone_err, 1)))
			kmsg_settle();
		if (!kmsg_has(dm, 1) ||
		    (in_ctr && !kmsg_has(clone_err, 1) && !(l->n > 1 && kmsg_has(alone, 1))) ||
		    kmsg_has(unknown, 1)) {
			mismatch(what, "refused (%s) without a clear error in the kernel log",
				 strerror(-r));
			show_line(l);
			show_klog();
		}
	}
	if (!r && l->v == VALID) {
		sb_reset(&want);
		sb_reset(&want_table);
		for (int i = 0; i < l->n; i++) {
			expect_status(&l->vd[i], &w1, &w2);
			if (i) {
				sb_addc(&want, '\n');
				sb_addc(&want_table, '\n');
			}
			sb_add(&want, w1.p);
			sb_add(&want_table, w2.p);
		}
		if (dm_status(name, 1, 0, &got, NULL) < 0 || strcmp(got.p, want.p)) {
			mismatch(what, "status of the loaded table\n    got:  %s\n    want: %s",
				 shown(got.p ? got.p : "(none)"), shown(want.p));
			show_line(l);
		}
		if (dm_status(name, 1, 1, &got, NULL) < 0 || strcmp(got.p, want_table.p)) {
			mismatch(what, "table of the loaded table\n    got:  %s\n    want: %s",
				 shown(got.p ? got.p : "(none)"), shown(want_table.p));
			show_line(l);
		}
		if (resume) {
			r = dm_suspend(name, 0);
			if (r || dm_status(name, 0, 0, &got, NULL) < 0 || strcmp(got.p, want.p)) {
				mismatch(what, "live: resume %s, status\n    got:  %s\n    want: %s",
					 strerror(-r), shown(got.p ? got.p : "(none)"), shown(want.p));
				show_line(l);
			}
		}
	}
	r = dm_remove(name);
	if (r)
		die("cannot remove %s: %s", name, strerror(-r));
	for (int i = 0; i < 2; i++)
		snap_restore(&snaps[i]);
	kmsg_drain();
	sb_free(&got);
	sb_free(&want);
	sb_free(&want_table);
	sb_free(&w1);
	sb_free(&w2);
}

static void enter_empty_dir(void)
{
	char tmpl[] = "/tmp/dmfuzz.XXXXXX";

	/* relative device names resolve here: to nothing */
	if (!mkdtemp(tmpl) || chdir(tmpl))
		die("cannot make an empty directory");
	rmdir(tmpl);
}

static void result(void)
{
	printf("dmfuzz: result tried=%lu failed=%lu unsure=%lu kernel_bad=%lu accepted=%lu\n",
	       tried, failed + kbad, unsure, kbad, accepted);
}

static int cmd_table(int argc, char **argv)
{
	uint64_t seed = 1, count = 300, first = 0, L = 131072, only = UINT64_MAX;
	unsigned int resume_pct = 5;
	const char *name = "dmfuzz";
	struct tline l;
	int o;

	while ((o = getopt(argc, argv, "s:n:l:o:1:N:R:v")) != -1) {
		switch (o) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'n': count = strtoull(optarg, NULL, 0); break;
		case 'l': L = strtoull(optarg, NULL, 0); break;
		case 'o': first = strtoull(optarg, NULL, 0); break;
		case '1': only = strtoull(optarg, NULL, 0); break;
		case 'N': name = optarg; break;
		case 'R': resume_pct = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'v': verbose = 1; break;
		default: return 2;
		}
	}
	if (optind >= argc)
		die("table: no devices");
	for (; optind < argc; optind++)
		add_vdev(argv[optind]);
	for (int i = 0; i < nvdevs; i++)
		printf("device %s: %" PRIu64 " sectors, %u:%u, on %s%s, metadata: %s%s\n",
		       vdevs[i].path, vdevs[i].sectors, major(vdevs[i].rdev), minor(vdevs[i].rdev),
		       vdevs[i].group, vdevs[i].discard ? ", discards" : "",
		       vdevs[i].unreadable ? "unreadable" : vdevs[i].zero_sb ? "zeroed" :
		       vdevs[i].md_found == FOUND_OK ? "formatted" : "other",
		       vdevs[i].noopen ? " (cannot be opened)" : "");
	ctl_open();
	kmsg_open();
	enter_empty_dir();
	memset(&l, 0, sizeof(l));
	if (only != UINT64_MAX) {
		first = only;
		count = only + 1;
	}
	for (uint64_t i = first; i < count; i++) {
		seed_input(seed, i);
		gen_line(&l, L);
		judge_line(&l);
		run_line(&l, name, i, resume_pct);
		if (i % 50 == 0)
			kmsg_note("dmfuzz: table line %" PRIu64 " of %" PRIu64 " (seed %" PRIu64 ")",
				  i, count, seed);
	}
	for (int i = 0; i < 2; i++) {
		sb_free(&l.params[i]);
		tk_free(&l.vd[i].tk);
	}
	result();
	return failed || kbad ? 1 : 0;
}

/* ---- messages ----------------------------------------------------------- */

struct clone_state {
	int no_hyd, no_pass, on_read, zeroes;
	uint32_t thr, batch, rate;
	char mode[8];
};

/* Read the settings out of a clone's status line; 0 or -1. */
static int parse_status(const char *st, struct clone_state *cs)
{
	struct toks t = { 0 };
	int nf, p, r = -1;

	k_split(st, &t);
	memset(cs, 0, sizeof(*cs));
	if (t.n < 12 || strcmp(t.v[0], "8"))
		goto out;
	nf = atoi(t.v[5]);
	/* the core args: 4, or 6 with max_hydration_rate */
	cs->rate = 0;
	if (nf < 0 || nf > 5 || (6 + nf + 6 != t.n && 6 + nf + 8 != t.n))
		goto out;
	for (p = 6; p < 6 + nf; p++) {
		if (!strcmp(t.v[p], "no_hydration"))
			cs->no_hyd = 1;
		else if (!strcmp(t.v[p], "no_discard_passdown"))
			cs->no_pass = 1;
		else if (!strcmp(t.v[p], "hydrate_on_read"))
			cs->on_read = 1;
		else if (!strcmp(t.v[p], "detect_zeroes"))
			cs->zeroes = 1;
		else
			goto out;
	}
	if (strcmp(t.v[p], 6 + nf + 8 == t.n ? "6" : "4") ||
	    strcmp(t.v[p + 1], "hydration_threshold") ||
	    strcmp(t.v[p + 3], "hydration_batch_size") || k_strtou32(t.v[p + 2], &cs->thr) ||
	    k_strtou32(t.v[p + 4], &cs->batch))
		goto out;
	if (6 + nf + 8 == t.n) {
		if (strcmp(t.v[p + 5], "max_hydration_rate") || k_strtou32(t.v[p + 6], &cs->rate) ||
		    !cs->rate)
			goto out;
		p += 2;
	}
	snprintf(cs->mode, sizeof(cs->mode), "%s", t.v[p + 5]);
	r = 0;
out:
	tk_free(&t);
	return r;
}

/* What a message does: INVALID, or VALID and its effect on @cs. */
static int judge_msg(const char *msg, uint64_t sector, uint64_t len, struct clone_state *cs,
		     const char **why)
{
	struct toks t = { 0 };
	int v = INVALID;
	uint32_t val;
	uint64_t a, n;

	k_split(msg, &t);
	if (!t.n)
		*why = "empty";
	else if (t.v[0][0] == '@')
		*why = "for device-mapper itself", v = UNSURE;
	else if (sector >= len)
		*why = "sector outside the device";
	else if (t.n == 1 && !strcasecmp(t.v[0], "enable_hydration"))
		cs->no_hyd = 0, v = VALID, *why = "enable_hydration";
	else if (t.n == 1 && !strcasecmp(t.v[0], "disable_hydration"))
		cs->no_hyd = 1, v = VALID, *why = "disable_hydration";
	else if (t.n == 2 && !strcasecmp(t.v[0], "hydration_threshold") &&
		 !k_strtou32(t.v[1], &val))
		cs->thr = val, v = VALID, *why = "hydration_threshold";
	else if (t.n == 2 && !strcasecmp(t.v[0], "hydration_batch_size") &&
		 !k_strtou32(t.v[1], &val))
		cs->batch = val, v = VALID, *why = "hydration_batch_size";
	else if (t.n == 2 && !strcasecmp(t.v[0], "max_hydration_rate") &&
		 !k_strtou32(t.v[1], &val))
		cs->rate = val, v = VALID, *why = "max_hydration_rate";
	else if (t.n == 1 && !strcasecmp(t.v[0], "stats"))
		v = VALID, *why = "stats";
	else if (t.n == 1 && !strcasecmp(t.v[0], "retry"))
		v = VALID, *why = "retry";
	else if (t.n == 3 && !strcasecmp(t.v[0], "prefetch")) {
		if (k_strtou64(t.v[1], &a) || k_strtou64(t.v[2], &n))
			*why = "prefetch: not two numbers";
		else if (!n || a >= len || n > len - a)
			*why = "prefetch: not a range within the device";
		else	/* refused while 16 ranges wait */
			v = UNSURE, *why = "prefetch";
	} else
		*why = "not a message of the target";
	tk_free(&t);
	return v;
}

static const char *const msg_names[] = {
	"enable_hydration", "disable_hydration", "hydration_threshold", "hydration_batch_size",
	"max_hydration_rate", "stats", "retry", "prefetch",
};

/* Does message msg_names[k] take a number? */
static int msg_takes_value(int k)
{
	return k >= 2 && k <= 4;
}

static void gen_msg(struct sbuf *out, uint64_t *sector, uint64_t len)
{
	struct toks t = { 0 };
	struct sbuf s = { 0 };
	uint64_t r = rnd(100), n;
	int k = (int)rnd(ARRAY_SIZE(msg_names));
	const char *name = msg_names[k];

	if (chance(30)) {
		random_case(&s, name);
		name = s.p;
	}
	tk_push(&t, name);
	if (r < 30) {			/* a valid form */
		if (msg_takes_value(k)) {
			fmt_num(&s, edge_u32());
			tk_push(&t, s.p);
		} else if (!strcmp(msg_names[k], "prefetch")) {
			n = rnd(len);
			fmt_num(&s, n);
			tk_push(&t, s.p);
			fmt_num(&s, chance(10) ? len - n + rnd(3) : 1 + rnd(len - n));
			tk_push(&t, s.p);
		}
	} else if (r < 45) {		/* the wrong number of arguments */
		n = msg_takes_value(k) ? (chance(40) ? 0 : 2 + rnd(3)) : 1 + rnd(3);
		while (n--)
			tk_push(&t, chance(50) ? "1" : pick(words, ARRAY_SIZE(words)));
	} else if (r < 57) {		/* a number at or beyond a limit */
		tk_set(&t, 0, msg_names[2 + rnd(3)]);
		tk_push(&t, pick(special_nums, ARRAY_SIZE(special_nums)));
	} else if (r < 65) {		/* a name misspelt */
		typo(&s, msg_names[k]);
		tk_set(&t, 0, s.p);
		if (msg_takes_value(k))
			tk_push(&t, "1");
	} else if (r < 80) {		/* random words */
		tk_clear(&t);
		for (n = rnd(9); n; n--) {
			if (chance(50)) {
				garbage(&s);
				tk_push(&t, s.p);
			} else {
				tk_push(&t, chance(50) ? pick(words, ARRAY_SIZE(words)) :
					    pick(special_nums, ARRAY_SIZE(special_nums)));
			}
		}
	} else if (r < 86) {		/* very long */
		sb_reset(&s);
		if (chance(50)) {
			for (n = 1024 + rnd(63 * 1024); n; n--)
				sb_addc(&s, (char)('a' + rnd(26)));
			tk_set(&t, 0, s.p);
		} else {
			tk_set(&t, 0, msg_names[2 + rnd(3)]);
			for (n = 1000 + rnd(30000); n; n--)
				sb_addc(&s, chance(90) ? '0' : (char)('0' + rnd(10)));
			tk_push(&t, s.p);
		}
	} else if (r < 89) {		/* thousands of words */
		for (n = 1000 + rnd(5000); n; n--)
			tk_push(&t, "1");
	} else if (r < 93) {		/* nothing */
		tk_clear(&t);
	} else {			/* bytes */
		tk_clear(&t);
		garbage(&s);
		tk_push(&t, s.p);
	}
	render(&t, out);
	*sector = 0;
	if (chance(8)) {
		const uint64_t secs[] = { 1, len - 1, len, len + 1, 1ULL << 63, UINT64_MAX,
					  rnd(len) };

		*sector = secs[rnd(ARRAY_SIZE(secs))];
	}
	tk_free(&t);
	sb_free(&s);
}

static int cmd_msg(int argc, char **argv)
{
	uint64_t seed = 1, count = 1000, len = 0, sector;
	struct sbuf st = { 0 }, m = { 0 };
	struct clone_state want, got;
	unsigned long valid = 0;
	const char *name, *why;
	char what[64];
	int o, r, v;

	while ((o = getopt(argc, argv, "s:n:v")) != -1) {
		switch (o) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'n': count = strtoull(optarg, NULL, 0); break;
		case 'v': verbose = 1; break;
		default: return 2;
		}
	}
	if (optind != argc - 1)
		die("msg: give the name of a live clone");
	name = argv[optind];
	ctl_open();
	kmsg_open();
	if (dm_status(name, 0, 0, &st, &len) != 1 || parse_status(st.p, &want))
		die("%s: not a live clone: %s", name, st.p ? shown(st.p) : "no status");
	printf("%s: %" PRIu64 " sectors, status %s\n", name, len, st.p);
	for (uint64_t i = 0; i < count; i++) {
		struct clone_state next = want;

		snprintf(what, sizeof(what), "message %" PRIu64, i);
		kctx = what;
		seed_input(seed, i);
		for (int tries = 0; tries < 50; tries++) {
			gen_msg(&m, &sector, len);
			next = want;
			v = judge_msg(m.p, sector, len, &next, &why);
			if (v != UNSURE && !is_bad_text(m.p))
				break;
		}
		kmsg_begin();
		r = dm_message(name, sector, m.p);
		kmsg_drain();
		tried++;
		if (verbose)
			printf("message %" PRIu64 " '%s' sector %" PRIu64 ": %s -> %s\n", i, shown(m.p),
			       sector, why, r ? strerror(-r) : "ok");
		if (v == UNSURE) {
			unsure++;
		} else if (v == VALID && r) {
			mismatch(what, "valid message '%s' (sector %" PRIu64 ") failed: %s", shown(m.p),
				 sector, strerror(-r));
			show_klog();
		} else if (v == INVALID && !r) {
			mismatch(what, "invalid message '%s' (sector %" PRIu64 ", %s) accepted",
				 shown(m.p), sector, why);
		} else if (r) {
			static const char *const dm[] = { "device-mapper: " };

			if (!kmsg_has(dm, 1))
				kmsg_settle();
			if (!kmsg_has(dm, 1)) {
				mismatch(what, "message '%s' failed (%s) with nothing in the kernel log",
					 shown(m.p), strerror(-r));
			}
		}
		if (v == VALID && !r) {
			want = next;
			valid++;
		}
		accepted += !r;
		if (dm_status(name, 0, 0, &st, NULL) != 1 || parse_status(st.p, &got) ||
		    got.no_hyd != want.no_hyd || got.no_pass != want.no_pass ||
		    got.thr != want.thr || got.batch != want.batch || got.rate != want.rate ||
		    strcmp(got.mode, "rw")) {
			mismatch(what, "after '%s': status %s, want %sthreshold %u batch %u rate %u rw",
				 shown(m.p), shown(st.p ? st.p : ""), want.no_hyd ? "no_hydration " : "",
				 want.thr, want.batch, want.rate);
			want = got;
		}
	}
	printf("%lu valid messages; status now: %s\n", valid, st.p);
	sb_free(&st);
	sb_free(&m);
	result();
	return failed || kbad ? 1 : 0;
}

/* ---- mutated metadata ---------------------------------------------------- */

/* The clone whose metadata is mutated, and that metadata as written. */
static struct {
	const char *meta, *dest, *src;
	uint64_t len, R, N, layout, hyd, nonce;
	uint32_t rs;
	uint32_t version;	/* -F: the format the cases are made of */
	uint64_t slots, ckpt;	/* version 2: ring slots, the base's checkpoint */
	uint64_t saved_blocks;	/* META's blocks put back at the end */
	uint64_t ext;		/* what a format of a zeroed META takes, if more than layout */
	uint64_t meta_blocks;	/* META's size: what a grow may use */
	uint8_t *img;		/* the layout blocks */
	uint64_t *bits;		/* their hydrated regions */
} G;

/*
 * C_STATE: loads with exactly c->wbits (the base and what a record adds);
 * C_ANY: refused, or loads with at least every region the base had.
 */
enum { C_INTACT, C_REFUSE, C_ORACLE, C_STATE, C_ANY };
static const char *const cls_name[] = { "loads intact", "refused", "as the tools say",
					"loads with the record's regions",
					"refused or loads keeping the base" };

struct mcase {
	char desc[200];
	int cls;
	char pat[3][64];	/* words of one kernel log line: the refusal, or a warning */
	int npat;
	uint8_t *img;		/* written at block 0 of META */
	size_t img_blocks;
	uint64_t meta_sectors;	/* 0: META; else a linear of META that long */
	int err[2];		/* blocks that read as I/O errors, or -1 */
	uint64_t tlen;		/* the table's length and region size */
	uint32_t trs;
	int no_tools;		/* the tools cannot judge it (I/O errors) */
	uint64_t *wbits, whyd;	/* C_STATE: the state it loads with */
};

enum { SK_SB, SK_SBZERO, SK_BM, SK_TRUNC, SK_ERR, SK_TABLE, SK_FOREIGN, SK_RANDOM,
       SK_SB2, SK_CKPT, SK_REC, SK_RING_RANDOM };
struct mspec {
	int kind, a, b, c, d;
};

struct sbfield {
	const char *name;
	unsigned int off, size, hdr;
};

#define HF(f) #f, offsetof(struct clone_block_header, f), \
	sizeof(((struct clone_block_header *)0)->f), 1
#define SF(f) #f, offsetof(struct clone_superblock, f), \
	sizeof(((struct clone_superblock *)0)->f), 0
static const struct sbfield sbfields[] = {
	{ HF(csum) }, { HF(kind) }, { HF(blocknr) }, { HF(nonce) }, { HF(index) }, { HF(copy) },
	{ SF(magic) }, { SF(version) }, { SF(flags) }, { SF(region_size) }, { SF(nr_regions) },
	{ SF(bitmap_blocks) }, { "copy_start[0]", offsetof(struct clone_superblock, copy_start), 8, 0 },
	{ "copy_start[1]", offsetof(struct clone_superblock, copy_start) + 8, 8, 0 },
	{ SF(block_size) }, { SF(bits_per_block) }, { SF(format_time) },
	{ "reserved", sizeof(struct clone_superblock), 1, 0 },
};
enum { F_CSUM, F_KIND, F_BLOCKNR, F_NONCE, F_INDEX, F_COPY, F_MAGIC, F_VERSION, F_FLAGS,
       F_RS, F_NR, F_BB, F_CS0, F_CS1, F_BS, F_BPB, F_TIME, F_RESERVED };

static uint8_t *blk(uint8_t *img, uint64_t b)
{
	return img + b * CLONE_BLOCK_SIZE;
}

static void reseal(uint8_t *b)
{
	put_le32(b, block_csum(b));
}

static uint64_t get_field(const uint8_t *b, unsigned int off, unsigned int size)
{
	return size == 8 ? get_le64(b + off) : size == 4 ? get_le32(b + off) : b[off];
}

static void put_field(uint8_t *b, unsigned int off, unsigned int size, uint64_t v)
{
	if (size == 8)
		put_le64(b + off, v);
	else if (size == 4)
		put_le32(b + off, (uint32_t)v);
	else
		b[off] = (uint8_t)v;
}

/* Values a superblock field is given: how many, and value @d. */
static int field_values(int f)
{
	static const int n[] = { 3, 3, 3, 3, 2, 2, 3, 3, 2, 5, 5, 4, 3, 3, 3, 3, 2, 3 };

	return n[f];
}

static uint64_t field_value(int f, int copy, int d, uint64_t cur)
{
	const uint64_t N = G.N, R = G.R, rs = G.rs;

	switch (f) {
	case F_CSUM: { const uint64_t v[] = { cur ^ 1, cur ^ 0x80000000, cur ? 0 : 1 }; return v[d]; }
	case F_KIND: { const uint64_t v[] = { CLONE_KIND_BITMAP, 0, CLONE_KIND_SUPER ^ 0x100 }; return v[d]; }
	case F_BLOCKNR: { const uint64_t v[] = { (uint64_t)!copy, 2, UINT64_MAX }; return v[d]; }
	case F_NONCE: { const uint64_t v[] = { cur + 1, cur ? 0 : 1, ~cur }; return v[d]; }
	case F_INDEX: { const uint64_t v[] = { 1, UINT32_MAX }; return v[d]; }
	case F_COPY: { const uint64_t v[] = { (uint64_t)!copy, 2 }; return v[d]; }
	case F_VERSION: { const uint64_t v[] = { 2, 0, UINT32_MAX }; return v[d]; }
	case F_FLAGS: { const uint64_t v[] = { 1, 0x80000000 }; return v[d]; }
	case F_RS: { const uint64_t v[] = { rs * 2, rs / 2, 0, 7, 1ULL << 63 }; return v[d]; }
	case F_NR: { const uint64_t v[] = { R + 1, R - 1, 0, MAX_REGIONS + 1, UINT64_MAX }; return v[d]; }
	case F_BB: { const uint64_t v[] = { N + 1, N - 1, 0, UINT64_MAX }; return v[d] == N ? N + 2 : v[d]; }
	case F_CS0: { const uint64_t v[] = { 3, 0, UINT64_MAX }; return v[d]; }
	case F_CS1: { const uint64_t v[] = { 2 + N + 1, 2 + N - 1, 2 }; return v[d]; }
	case F_BS: { const uint64_t v[] = { 512, 8192, 0 }; return v[d]; }
	case F_BPB: { const uint64_t v[] = { 32768, 32511, 0 }; return v[d]; }
	case F_TIME: { const uint64_t v[] = { cur ? 0 : 1, UINT64_MAX }; return v[d]; }
	}
	return 0;
}

static void set_pat(struct mcase *c, const char *a, const char *b)
{
	c->npat = 0;
	if (a)
		snprintf(c->pat[c->npat++], sizeof(c->pat[0]), "%s", a);
	if (b)
		snprintf(c->pat[c->npat++], sizeof(c->pat[0]), "%s", b);
}

static void expect(struct mcase *c, int cls, const char *a, const char *b)
{
	c->cls = cls;
	set_pat(c, a, b);
}

/*
 * Version 2 superblocks naming @v regions for a clone of G.R (the same
 * checkpoint; the table G.R), in one copy (@one) or both. More regions: a
 * copy is taken (of one, as a grow cut short) and the table is shorter:
 * refused. Fewer in one copy: the other is taken, the changed one
 * rewritten. Fewer in both: a grow, if their bitmap block count fits @v;
 * a region hydrated past @v is not the format's (cleared): as the tools say.
 */
static void nr_expect(struct mcase *c, uint64_t v, int one)
{
	if (v > G.R)
		expect(c, C_REFUSE, "a clone cannot shrink", NULL);
	else if (one)
		expect(c, C_INTACT, "a grow cut short", NULL);
	else if (clone_bitmap_blocks(v) != G.N)
		expect(c, C_REFUSE, "inconsistent layout", NULL);
	else
		expect(c, C_ORACLE, NULL, NULL);
}

static void case_sb(const struct mspec *s, struct mcase *c)
{
	const struct sbfield *f = &sbfields[s->a];
	int tgt = s->b, fix = s->c, d = s->d;
	char val[40] = "", pat[64];

	for (int copy = 0; copy < 2; copy++) {
		uint8_t *b = blk(c->img, (uint64_t)copy);

		if (tgt != 2 && tgt != copy)
			continue;
		if (s->a == F_MAGIC) {
			const char *m[] = { "dm-clonf", "\0\0\0\0\0\0\0\0", "DM-CLONE" };

			memcpy(b + f->off, m[d], CLONE_MAGIC_SIZE);
			snprintf(val, sizeof(val), "'%s'", d == 1 ? "" : m[d]);
		} else if (s->a == F_RESERVED) {
			const unsigned int off[] = { f->off, CLONE_BLOCK_SIZE - 1, 2000 };
			const uint8_t v[] = { 1, 0xff, 0x55 };

			b[off[d]] = v[d];
			snprintf(val, sizeof(val), "byte %u = 0x%x", off[d], v[d]);
		} else {
			uint64_t v = field_value(s->a, copy, d, get_field(b, f->off, f->size));

			put_field(b, f->off, f->size, v);
			snprintf(val, sizeof(val), "%" PRIu64, v);
		}
		if (fix)
			reseal(b);
	}
	snprintf(c->desc, sizeof(c->desc), "superblock %s: %s = %s%s",
		 tgt == 2 ? "both copies" : tgt ? "copy 1" : "copy 0", f->name, val,
		 fix ? ", checksum fixed" : "");
	snprintf(pat, sizeof(pat), "superblock copy %d", tgt);
	if (!fix) {
		if (tgt < 2)
			expect(c, C_INTACT, pat, NULL);
		else if (s->a == F_KIND)
			expect(c, C_REFUSE, "unrecognised", NULL);
		else
			expect(c, C_REFUSE, "no valid superblock", NULL);
		return;
	}
	switch (s->a) {
	case F_KIND:
		if (tgt < 2)
			expect(c, C_INTACT, pat, "wrong block kind");
		else
			expect(c, C_REFUSE, "unrecognised", NULL);
		return;
	case F_BLOCKNR:
	case F_INDEX:
	case F_COPY:
		if (tgt < 2)
			expect(c, C_INTACT, pat, "misplaced");
		else
			expect(c, C_REFUSE, "no valid superblock", "misplaced");
		return;
	case F_NONCE:
		/* copy 0's nonce is taken: the bitmap blocks then are another format's */
		expect(c, C_ORACLE, "another format", NULL);
		return;
	}
	if (s->a == F_NR && G.version >= 2) {
		nr_expect(c, get_field(blk(c->img, tgt & 1), f->off, f->size), tgt < 2);
		return;
	}
	if (tgt < 2) {
		expect(c, C_REFUSE, "superblock copies disagree", NULL);
		return;
	}
	switch (s->a) {
	case F_MAGIC: expect(c, C_REFUSE, "bad magic", NULL); break;
	case F_VERSION:
		/* version 2 is read, but a version 1 layout has no ring */
		if (get_field(blk(c->img, 0), f->off, f->size) == 2)
			expect(c, C_REFUSE, "describes an inconsistent ring", NULL);
		else
			expect(c, C_REFUSE, "unsupported metadata version", NULL);
		break;
	case F_FLAGS: expect(c, C_REFUSE, "unsupported metadata flags", NULL); break;
	case F_RS: expect(c, C_REFUSE, "region size mismatch", NULL); break;
	case F_NR:
		/* version 1: more regions than the table, or fewer */
		if (get_field(blk(c->img, 0), f->off, f->size) > G.R)
			expect(c, C_REFUSE, "a clone cannot shrink", NULL);
		else
			expect(c, C_REFUSE, "version 1 cannot grow", NULL);
		break;
	case F_BB: case F_CS0: case F_CS1: case F_BS: case F_BPB:
		expect(c, C_REFUSE, "inconsistent layout", NULL);
		break;
	default:	/* format_time, reserved bytes: nothing the reader uses */
		expect(c, C_INTACT, NULL, NULL);
	}
}

/* A hydrated (@want 1) or unhydrated region of bitmap block @k, or -1. */
static int64_t find_bit(uint64_t k, int want)
{
	uint64_t first = k * CLONE_BITS_PER_BLOCK, end = first + block_regions(G.R, k);
	uint64_t n = 0, pickn, r;

	for (r = first; r < end; r++)
		n += (uint64_t)(((G.bits[r / 64] >> (r % 64)) & 1) == (uint64_t)want);
	if (!n)
		return -1;
	pickn = rnd(n);
	for (r = first; r < end; r++)
		if ((((G.bits[r / 64] >> (r % 64)) & 1) == (uint64_t)want) && !pickn--)
			return (int64_t)(r - first);
	return -1;
}

static const char *const bm_damage[] = {
	"a payload byte changed", "a header byte changed", "the checksum changed",
	"kind SUPR (checksum fixed)", "block number + 1 (checksum fixed)",
	"another nonce (checksum fixed)", "index + 1 (checksum fixed)",
	"the other copy number (checksum fixed)", "zeroed", "random bytes",
	"a hydrated bit cleared (checksum fixed)", "an unhydrated bit set (checksum fixed)",
	"a bit past the last region set (checksum fixed)", "one payload bit flipped",
};

static void case_bm(const struct mspec *s, struct mcase *c)
{
	uint64_t k = (uint64_t)s->a;
	int tgt = s->b, dmg = s->c;
	uint64_t off = 32 + rnd(CLONE_PAYLOAD_SIZE), hoff = 4 + rnd(28), coff = rnd(4);
	uint64_t nbits = block_regions(G.R, k), bit = rnd(CLONE_PAYLOAD_SIZE * 8);
	int64_t b10 = find_bit(k, 1), b11 = find_bit(k, 0);
	uint64_t b12 = nbits + rnd(CLONE_BITS_PER_BLOCK - nbits);
	char pat[64];

	for (int copy = 0; copy < 2; copy++) {
		uint8_t *b = blk(c->img, 2 + (uint64_t)copy * G.N + k);

		if (tgt != 2 && tgt != copy)
			continue;
		switch (dmg) {
		case 0: b[off]++; break;
		case 1: b[hoff]++; break;
		case 2: b[coff]++; break;
		case 3: put_le32(b + 4, CLONE_KIND_SUPER); break;
		case 4: put_le64(b + 8, get_le64(b + 8) + 1); break;
		case 5: put_le64(b + 16, get_le64(b + 16) + 1); break;
		case 6: put_le32(b + 24, get_le32(b + 24) + 1); break;
		case 7: put_le32(b + 28, get_le32(b + 28) ^ 1); break;
		case 8: memset(b, 0, CLONE_BLOCK_SIZE); break;
		case 9:
			for (int i = 0; i < CLONE_BLOCK_SIZE; i++)
				b[i] = (uint8_t)rnd64();
			break;
		case 10:
			if (b10 >= 0)
				b[32 + b10 / 8] &= (uint8_t)~(1u << (b10 % 8));
			break;
		case 11:
			if (b11 >= 0)
				b[32 + b11 / 8] |= (uint8_t)(1u << (b11 % 8));
			break;
		case 12: b[32 + b12 / 8] |= (uint8_t)(1u << (b12 % 8)); break;
		case 13: b[32 + bit / 8] ^= (uint8_t)(1u << (bit % 8)); break;
		}
		if (dmg >= 3 && dmg <= 7)
			reseal(b);
		if (dmg >= 10 && dmg <= 12)
			reseal(b);
	}
	snprintf(c->desc, sizeof(c->desc), "bitmap block %" PRIu64 " %s: %s", k,
		 tgt == 2 ? "both copies" : tgt ? "copy B" : "copy A", bm_damage[dmg]);
	snprintf(pat, sizeof(pat), "bitmap block %" PRIu64 " copy %c", k, 'A' + tgt);
	if ((dmg == 10 && b10 < 0) || (dmg == 11 && b11 < 0)) {
		expect(c, C_ORACLE, NULL, NULL);
		return;
	}
	if (dmg == 12) {
		expect(c, C_INTACT, "past the last region", NULL);
	} else if (tgt < 2) {
		if (dmg == 11)
			expect(c, C_ORACLE, NULL, NULL);	/* one more region, by the OR */
		else if (dmg == 8 || dmg == 10)
			expect(c, C_INTACT, NULL, NULL);	/* the other copy has them */
		else
			expect(c, C_INTACT, pat, NULL);
	} else {
		snprintf(pat, sizeof(pat), "bitmap block %" PRIu64 " ", k);
		if (dmg >= 8 && dmg <= 11 && dmg != 9)
			expect(c, C_ORACLE, NULL, NULL);	/* undetectable by design */
		else
			expect(c, C_REFUSE, pat, "lost");
	}
}

static void case_err(const struct mspec *s, struct mcase *c)
{
	char pat[64];
	int a = s->a, b = s->b;

	c->err[0] = a;
	c->err[1] = b;
	c->no_tools = 1;
	if (s->c) {
		memset(c->img, 0, 2 * CLONE_BLOCK_SIZE);
		snprintf(c->desc, sizeof(c->desc), "superblocks zeroed and block %d unreadable", a);
		expect(c, C_REFUSE, "cannot read", NULL);
		return;
	}
	if (b < 0)
		snprintf(c->desc, sizeof(c->desc), "block %d unreadable", a);
	else
		snprintf(c->desc, sizeof(c->desc), "blocks %d and %d unreadable", a, b);
	if (b < 0) {
		if (a < 2)
			snprintf(pat, sizeof(pat), "superblock copy %d", a);
		else
			snprintf(pat, sizeof(pat), "bitmap block %" PRIu64 " copy %c",
				 (uint64_t)(a - 2) % G.N, (int)('A' + (uint64_t)(a - 2) / G.N));
		expect(c, C_INTACT, pat, "unreadable");
	} else if (a < 2 && b < 2) {
		expect(c, C_REFUSE, "superblock", "unreadable");
	} else if ((uint64_t)(b - a) == G.N) {
		/* a read error, not damage: -EIO, and "cannot read", not "lost" */
		snprintf(pat, sizeof(pat), "cannot read bitmap block %" PRIu64 " ", (uint64_t)(a - 2));
		expect(c, C_REFUSE, pat, "unreadable");
	} else {
		expect(c, C_INTACT, NULL, NULL);
	}
}

/* Rewrite both superblocks with another geometry (consistent, resealed). */
static void other_geometry(uint8_t *img, uint64_t rs, uint64_t R)
{
	for (int copy = 0; copy < 2; copy++) {
		uint8_t *b = blk(img, (uint64_t)copy);
		uint64_t N = clone_bitmap_blocks(R);

		put_le64(SB(b, region_size), rs);
		put_le64(SB(b, nr_regions), R);
		put_le64(SB(b, bitmap_blocks), N);
		put_le64(SB(b, copy_start[1]), 2 + N);
		reseal(b);
	}
}

static void case_foreign(const struct mspec *s, struct mcase *c)
{
	uint8_t *img = c->img;
	size_t bytes = G.layout * CLONE_BLOCK_SIZE;

	switch (s->a) {
	case 0:
		for (size_t i = 0; i < bytes; i++)
			img[i] = (uint8_t)rnd64();
		snprintf(c->desc, sizeof(c->desc), "random bytes");
		expect(c, C_REFUSE, "not zeroed", NULL);
		break;
	case 1:
		memset(img, 0, bytes);
		put_le64(img + CLONE_UPSTREAM_MAGIC_OFFSET, CLONE_UPSTREAM_MAGIC);
		snprintf(c->desc, sizeof(c->desc), "an in-kernel dm-clone superblock");
		expect(c, C_REFUSE, "in-kernel dm-clone", NULL);
		break;
	case 2:
		for (size_t i = 0; i < CLONE_BLOCK_SIZE; i++)
			img[i] = (uint8_t)rnd64();
		put_le64(img + CLONE_UPSTREAM_MAGIC_OFFSET, CLONE_UPSTREAM_MAGIC);
		snprintf(c->desc, sizeof(c->desc), "superblock copy 0 overwritten by an in-kernel dm-clone one");
		expect(c, C_INTACT, "superblock copy 0", NULL);
		break;
	case 3:
		for (uint64_t b = 2; b < G.layout; b++) {
			put_le64(blk(img, b) + 16, G.nonce ^ 0x5a5a5a5a5a5a5a5aULL);
			reseal(blk(img, b));
		}
		snprintf(c->desc, sizeof(c->desc), "every bitmap block from another format (nonce)");
		expect(c, C_REFUSE, "bitmap block 0 ", "another format");
		break;
	case 4:
		other_geometry(img, G.rs, G.R * 2);
		snprintf(c->desc, sizeof(c->desc), "superblocks for twice the regions");
		expect(c, C_REFUSE, "a clone cannot shrink", NULL);
		break;
	case 5:
		other_geometry(img, G.rs * 2, ceil_div(G.len, G.rs * 2));
		snprintf(c->desc, sizeof(c->desc), "superblocks for twice the region size");
		expect(c, C_REFUSE, "region size mismatch", NULL);
		break;
	case 6: {
		uint8_t tmp[CLONE_BLOCK_SIZE];

		memcpy(tmp, img, CLONE_BLOCK_SIZE);
		memcpy(img, blk(img, 1), CLONE_BLOCK_SIZE);
		memcpy(blk(img, 1), tmp, CLONE_BLOCK_SIZE);
		snprintf(c->desc, sizeof(c->desc), "superblock copies swapped");
		expect(c, C_REFUSE, "no valid superblock", "misplaced");
		break;
	}
	case 7: {
		size_t half = G.N * CLONE_BLOCK_SIZE;
		uint8_t *tmp = xmalloc(half);

		memcpy(tmp, blk(img, 2), half);
		memcpy(blk(img, 2), blk(img, 2 + G.N), half);
		memcpy(blk(img, 2 + G.N), tmp, half);
		free(tmp);
		snprintf(c->desc, sizeof(c->desc), "bitmap copies A and B swapped");
		expect(c, C_REFUSE, "bitmap block 0 ", "misplaced");
		break;
	}
	case 8:
		memset(img, 0, bytes);
		snprintf(c->desc, sizeof(c->desc), "all zeroes (a new device: formatted)");
		expect(c, C_ORACLE, NULL, NULL);
		break;
	case 9:
		memset(img, 0, bytes);
		img[bytes - 1] = 1;
		snprintf(c->desc, sizeof(c->desc), "zeroes but the last byte of the last block");
		expect(c, C_REFUSE, "not zeroed", NULL);
		break;
	case 11:
	case 12: {
		/* the valid copy's body, reserved bytes and all, must be what the other is rewritten from */
		int good = s->a == 11 ? 0 : 1;
		char pat[64];

		blk(img, (uint64_t)good)[CLONE_BLOCK_SIZE - 1] = 0x5a;
		reseal(blk(img, (uint64_t)good));
		blk(img, (uint64_t)!good)[100]++;
		snprintf(c->desc, sizeof(c->desc),
			 "superblock copy %d: a reserved byte set (checksum fixed); copy %d damaged",
			 good, !good);
		snprintf(pat, sizeof(pat), "superblock copy %d", !good);
		expect(c, C_INTACT, pat, NULL);
		break;
	}
	default:
		for (int copy = 0; copy < 2; copy++) {
			uint8_t *b = blk(img, (uint64_t)copy);

			put_le32(SB(b, version), 2);
			put_le64(SB(b, bitmap_blocks), G.N + 5);
			reseal(b);
		}
		snprintf(c->desc, sizeof(c->desc), "a version 2 superblock of another layout");
		expect(c, C_REFUSE, "describes an inconsistent ring", NULL);
	}
}

static void case_random(const struct mspec *s, struct mcase *c, uint64_t seed)
{
	int nops, fixed[64] = { 0 }, pairs_ok = 1, any_fix = 0;
	uint64_t L = G.layout < 64 ? G.layout : 64;
	char *d = c->desc;
	size_t dl = sizeof(c->desc);

	seed_input(seed ^ 0x6d657461ULL, (uint64_t)s->a);
	nops = 1 + (int)rnd(4);
	snprintf(d, dl, "random %d:", s->a);
	for (int i = 0; i < nops; i++) {
		uint64_t b = rnd(L);
		uint8_t *p = blk(c->img, b);
		int op = (int)rnd(6);
		static const char *const opn[] = { "byte", "bit", "field", "zero", "junk", "copy" };

		switch (op) {
		case 0: p[rnd(CLONE_BLOCK_SIZE)] += (uint8_t)(1 + rnd(255)); break;
		case 1: { uint64_t x = rnd(CLONE_BLOCK_SIZE * 8); p[x / 8] ^= (uint8_t)(1u << (x % 8)); break; }
		case 2: {
			const unsigned int offs[] = { 4, 8, 16, 24, 28 }, sz[] = { 4, 8, 8, 4, 4 };
			int f = (int)rnd(5);

			put_field(p, offs[f], sz[f], chance(50) ? rnd64() : get_field(p, offs[f], sz[f]) ^ 1);
			break;
		}
		case 3: memset(p, 0, CLONE_BLOCK_SIZE); break;
		case 4:
			for (int j = 0; j < CLONE_BLOCK_SIZE; j++)
				p[j] = (uint8_t)rnd64();
			break;
		default: {
			uint64_t from = rnd(L);

			if (from != b)
				memcpy(p, blk(c->img, from), CLONE_BLOCK_SIZE);
		}
		}
		if (chance(35))
			fixed[b] = 1;
		snprintf(d + strlen(d), dl - strlen(d), " %s@%" PRIu64, opn[op], b);
	}
	for (uint64_t b = 0; b < L; b++) {
		int touched = memcmp(blk(c->img, b), blk(G.img, b), CLONE_BLOCK_SIZE) != 0;

		if (fixed[b] && touched) {
			reseal(blk(c->img, b));
			any_fix = 1;
		}
		fixed[b] = touched;
	}
	/* damage in at most one copy of each pair, none disguised: nothing lost */
	pairs_ok = !(fixed[0] && fixed[1]);
	for (uint64_t k = 0; k < G.N && 2 + G.N + k < L; k++)
		pairs_ok &= !(fixed[2 + k] && fixed[2 + G.N + k]);
	if (any_fix)
		snprintf(d + strlen(d), dl - strlen(d), " (checksums fixed)");
	expect(c, pairs_ok && !any_fix ? C_INTACT : C_ORACLE, NULL, NULL);
}

/* ---- version 2: superblock ring fields and records in the ring ---------- */

/* Copy @copy (2: both) of the superblock names checkpoint @p; resealed if @fix. */
static void set_ckpt(uint8_t *img, int copy, uint64_t p, int fix)
{
	for (int c = 0; c < 2; c++)
		if (copy == 2 || copy == c) {
			put_le64(SB(blk(img, (uint64_t)c), checkpoint), p);
			if (fix)
				reseal(blk(img, (uint64_t)c));
		}
}

static uint8_t *rec_blk(uint8_t *img, uint64_t pos, int copy)
{
	return blk(img, clone_ring_block((unsigned long)(pos % G.slots), (unsigned int)copy));
}

#define RUNS 3
#define REC_OFF(f) offsetof(struct clone_record, f)
#define RUN_OFF(i) (CLONE_RECORD_HEADER + (i) * sizeof(struct clone_record_run))

/* Copy @copy of the record of ring position @pos, sequence @seq, @runs. */
static void put_record(uint8_t *img, uint64_t pos, int copy, uint64_t seq,
		       const uint32_t runs[RUNS][2])
{
	uint8_t *b = rec_blk(img, pos, copy);
	uint64_t slot = pos % G.slots;

	memset(b, 0, CLONE_BLOCK_SIZE);
	put_le32(b + 4, CLONE_KIND_RECORD);
	put_le64(b + 8, clone_ring_block((unsigned long)slot, (unsigned int)copy));
	put_le64(b + 16, G.nonce);
	put_le32(b + 24, (uint32_t)slot);
	put_le32(b + 28, (uint32_t)copy);
	put_le64(b + REC_OFF(seq), seq);
	put_le32(b + REC_OFF(nr_runs), RUNS);
	for (int i = 0; i < RUNS; i++) {
		put_le32(b + RUN_OFF(i), runs[i][0]);
		put_le32(b + RUN_OFF(i) + 4, runs[i][1]);
	}
	reseal(b);
}

/* Runs for a record (the last one the last region), and the state they give. */
static void pick_runs(struct mcase *c, uint32_t runs[RUNS][2])
{
	c->wbits = bits_alloc(G.R);
	memcpy(c->wbits, G.bits, ceil_div(G.R, 64) * 8);
	for (int i = 0; i < RUNS; i++) {
		uint64_t first = i == RUNS - 1 ? G.R - 1 : rnd(G.R);
		uint64_t left = G.R - first, count = 1 + rnd(left < 40 ? left : 40);

		runs[i][0] = (uint32_t)first;
		runs[i][1] = (uint32_t)count;
		bits_set_range(c->wbits, first, first + count);
	}
	c->whyd = bits_count(c->wbits, G.R);
}

/* The superblock fields of version 2, and the tail of the block. */
static const char *const sb2_name[] = { "ring_slots", "ring_start", "reserved", "a tail byte",
					"version" };
static int sb2_values(int f)
{
	static const int n[] = { 3, 2, 1, 2, 1 };

	return n[f];
}

static void case_sb2(const struct mspec *s, struct mcase *c)
{
	int f = s->a, tgt = s->b, fix = s->c, d = s->d;
	char val[48] = "", pat[64];
	const char *refusal = "describes an inconsistent ring";

	for (int copy = 0; copy < 2; copy++) {
		uint8_t *b = blk(c->img, (uint64_t)copy);

		if (tgt != 2 && tgt != copy)
			continue;
		switch (f) {
		case 0: {
			const uint32_t v[] = { CLONE_RING_MIN_SLOTS - 1, 0, (uint32_t)G.slots + 1 };

			put_le32(SB(b, ring_slots), v[d]);
			snprintf(val, sizeof(val), "%u", v[d]);
			if (d == 2)
				refusal = "inconsistent layout";	/* the bitmap moves */
			break;
		}
		case 1: {
			const uint64_t v[] = { 3, 0 };

			put_le64(SB(b, ring_start), v[d]);
			snprintf(val, sizeof(val), "%" PRIu64, v[d]);
			break;
		}
		case 2:
			put_le32(SB(b, reserved), 1);
			snprintf(val, sizeof(val), "1");
			break;
		case 3: {
			const unsigned int off[] = { sizeof(struct clone_superblock), CLONE_BLOCK_SIZE - 1 };

			b[off[d]] = 0x5a;
			snprintf(val, sizeof(val), "byte %u = 0x5a", off[d]);
			break;
		}
		default:
			put_le32(SB(b, version), 1);	/* a version 1 layout: the bitmap elsewhere */
			snprintf(val, sizeof(val), "1");
			refusal = "inconsistent layout";
		}
		if (fix)
			reseal(b);
	}
	snprintf(c->desc, sizeof(c->desc), "v2 superblock %s: %s = %s%s",
		 tgt == 2 ? "both copies" : tgt ? "copy 1" : "copy 0", sb2_name[f], val,
		 fix ? ", checksum fixed" : "");
	snprintf(pat, sizeof(pat), "superblock copy %d", tgt);
	if (!fix)
		expect(c, tgt < 2 ? C_INTACT : C_REFUSE, tgt < 2 ? pat : "no valid superblock", NULL);
	else
		expect(c, C_REFUSE, tgt < 2 ? "superblock copies disagree" : refusal, NULL);
	/*
	 * The module refuses a version 2 superblock whose reserved field or
	 * tail is not zero; the tools' reader (tools/md.c) only warns and
	 * would load it, so it cannot judge these.
	 */
	if (fix && tgt == 2 && (f == 2 || f == 3))
		c->no_tools = 1;
}

/*
 * A valid record at the checkpoint P, and the superblocks' checkpoints
 * moved past it: the higher one is loaded from, so the record is replayed
 * only when that is P.
 */
static void case_ckpt(const struct mspec *s, struct mcase *c)
{
	static const char *const what[] = {
		"copy 0 at P+1", "copy 1 at P+1", "both at P+1",
		"copy 0 at P+1, its checksum not fixed", "copy 1 at P+1, its checksum not fixed",
		"copy 0 at P+1, copy 1 at P+2",
	};
	uint64_t P = G.ckpt;
	uint32_t runs[RUNS][2];
	char pat[64];

	pick_runs(c, runs);
	put_record(c->img, P, 0, P + 1, runs);
	put_record(c->img, P, 1, P + 1, runs);
	switch (s->a) {
	case 0: case 1: case 2: set_ckpt(c->img, s->a, P + 1, 1); break;
	case 3: case 4: set_ckpt(c->img, s->a - 3, P + 1, 0); break;
	default: set_ckpt(c->img, 0, P + 1, 1); set_ckpt(c->img, 1, P + 2, 1);
	}
	snprintf(c->desc, sizeof(c->desc), "v2 checkpoint: a valid record at P=%" PRIu64 ", superblock %s",
		 P, what[s->a]);
	snprintf(pat, sizeof(pat), "superblock copy %d", s->a - 3);
	if (s->a == 3 || s->a == 4)
		expect(c, C_STATE, pat, NULL);
	else
		expect(c, C_INTACT, NULL, NULL);
}

static const char *const rec_kind[] = {
	"valid in both copies", "valid in copy 0, copy 1 zeroed",
	"valid in copy 1, copy 0 torn (a byte changed)", "torn in both copies",
	"zeroed", "an older record (sequence P+1-L)",
	"a later lap's record (sequence P+1+L)", "the next position's record (sequence P+2)",
	"a gap: the slot empty, the next holding record P+1",
	"nr_runs 0", "nr_runs 253", "a run starting past the last region",
	"a run ending past the last region", "a run of count 0", "a run's csum set",
	"a run's flags set", "confirm set", "reserved set", "a byte past the runs set",
	"another nonce", "block number + 1", "index + 1", "the other copy number",
	"nr_runs 0 in copy 0, copy 1 zeroed",
};
#define REC_CORRUPT_FIRST 9

/* Record @s->b planted at checkpoint position P (@s->a: P moved 19 on first). */
static void case_rec(const struct mspec *s, struct mcase *c)
{
	int k = s->b;
	uint64_t P = G.ckpt + (s->a ? 19 : 0), L = G.slots;
	uint32_t runs[RUNS][2];

	if (s->a)
		set_ckpt(c->img, 2, P, 1);
	pick_runs(c, runs);
	snprintf(c->desc, sizeof(c->desc), "v2 record at P=%" PRIu64 " (slot %" PRIu64 "): %s",
		 P, P % L, rec_kind[k]);
	switch (k) {
	case 0: case 1: case 2:
		put_record(c->img, P, 0, P + 1, runs);
		if (k != 1)
			put_record(c->img, P, 1, P + 1, runs);
		if (k == 2)
			rec_blk(c->img, P, 0)[RUN_OFF(0) + 1]++;
		expect(c, C_STATE, NULL, NULL);
		return;
	case 3:
		for (int cp = 0; cp < 2; cp++) {
			put_record(c->img, P, cp, P + 1, runs);
			rec_blk(c->img, P, cp)[CLONE_BLOCK_SIZE - 1 - cp] ^= 0x10;
		}
		expect(c, C_INTACT, NULL, NULL);
		return;
	case 4:
		expect(c, C_INTACT, NULL, NULL);
		return;
	case 5: case 6: case 7: {
		uint64_t seq = k == 5 ? (P + 1 > L ? P + 1 - L : 0) : k == 6 ? P + 1 + L : P + 2;

		put_record(c->img, P, 0, seq, runs);
		put_record(c->img, P, 1, seq, runs);
		if (k == 5)
			expect(c, C_INTACT, NULL, NULL);
		else
			expect(c, C_REFUSE, "the ring does not hold what the superblock says", NULL);
		return;
	}
	case 8:
		put_record(c->img, P + 1, 0, P + 2, runs);
		put_record(c->img, P + 1, 1, P + 2, runs);
		expect(c, C_REFUSE, "is lost", "while the next one is there");
		return;
	}
	for (int cp = 0; cp < 2; cp++) {
		uint8_t *b;

		if (k == 23 && cp == 1)
			break;
		put_record(c->img, P, cp, P + 1, runs);
		b = rec_blk(c->img, P, cp);
		switch (k) {
		case 9: case 23: put_le32(b + REC_OFF(nr_runs), 0); break;
		case 10: put_le32(b + REC_OFF(nr_runs), (uint32_t)CLONE_RECORD_RUNS + 1); break;
		case 11: put_le32(b + RUN_OFF(0), (uint32_t)G.R); break;
		case 12: put_le32(b + RUN_OFF(RUNS - 1) + 4, 2); break;
		case 13: put_le32(b + RUN_OFF(1) + 4, 0); break;
		case 14: put_le32(b + RUN_OFF(0) + 8, 1); break;
		case 15: put_le32(b + RUN_OFF(1) + 12, 0x80000000U); break;
		case 16: put_le64(b + REC_OFF(confirm), 1); break;
		case 17: put_le32(b + REC_OFF(reserved), 1); break;
		case 18: b[RUN_OFF(RUNS) + rnd(CLONE_BLOCK_SIZE - RUN_OFF(RUNS))] = 1; break;
		case 19: put_le64(b + 16, G.nonce + 1); break;
		case 20: put_le64(b + 8, get_le64(b + 8) + 1); break;
		case 21: put_le32(b + 24, get_le32(b + 24) + 1); break;
		case 22: put_le32(b + 28, get_le32(b + 28) ^ 1); break;
		}
		reseal(b);
	}
	expect(c, C_REFUSE, "the ring does not hold what the superblock says", NULL);
}

/* Random damage to ring blocks, a valid record at P first or not. */
static void case_ring_random(const struct mspec *s, struct mcase *c, uint64_t seed)
{
	uint64_t P = G.ckpt, L = G.slots;
	uint32_t runs[RUNS][2];
	char *d = c->desc;
	size_t dl = sizeof(c->desc);
	int nops;

	seed_input(seed ^ 0x72696e67ULL, (uint64_t)s->a);
	snprintf(d, dl, "v2 ring random %d:", s->a);
	if (chance(50)) {
		pick_runs(c, runs);
		free(c->wbits);
		c->wbits = NULL;
		put_record(c->img, P, 0, P + 1, runs);
		put_record(c->img, P, 1, P + 1, runs);
		snprintf(d + strlen(d), dl - strlen(d), " record at %" PRIu64 ",", P);
	}
	nops = 1 + (int)rnd(3);
	for (int i = 0; i < nops; i++) {
		/* mostly the slots replay reads first */
		uint64_t slot = chance(70) ? (P + rnd(2)) % L : rnd(L);
		int cp = (int)rnd(2), op = (int)rnd(5);
		uint8_t *b = blk(c->img, clone_ring_block((unsigned long)slot, (unsigned int)cp));
		static const char *const opn[] = { "byte", "bit", "word", "junk", "copy" };

		switch (op) {
		case 0: b[rnd(CLONE_BLOCK_SIZE)] += (uint8_t)(1 + rnd(255)); break;
		case 1: { uint64_t x = rnd(CLONE_BLOCK_SIZE * 8); b[x / 8] ^= (uint8_t)(1u << (x % 8)); break; }
		case 2: put_le32(b + 4 * (1 + rnd(RUN_OFF(RUNS + 1) / 4 - 1)), (uint32_t)rnd64()); break;
		case 3:
			for (int j = 0; j < CLONE_BLOCK_SIZE; j++)
				b[j] = (uint8_t)rnd64();
			break;
		default:
			memcpy(b, blk(c->img, clone_ring_block((unsigned long)rnd(L), (unsigned int)rnd(2))),
			       CLONE_BLOCK_SIZE);
		}
		if (chance(50))
			reseal(b);
		snprintf(d + strlen(d), dl - strlen(d), " %s@slot %" PRIu64 " copy %d", opn[op], slot, cp);
	}
	expect(c, C_ANY, NULL, NULL);
}

static void build_case(const struct mspec *s, struct mcase *c, uint64_t seed, uint64_t idx)
{
	size_t blocks = G.layout;

	memset(c, 0, sizeof(*c));
	c->err[0] = c->err[1] = -1;
	c->tlen = G.len;
	c->trs = G.rs;
	if (s->kind == SK_TRUNC)
		blocks = ceil_div((uint64_t)s->a, 8) > blocks ? ceil_div((uint64_t)s->a, 8) : blocks;
	c->img_blocks = blocks;
	c->img = xalloc_blocks(blocks);
	memcpy(c->img, G.img, G.layout * CLONE_BLOCK_SIZE);
	seed_input(seed ^ 0x6361736573ULL, idx);
	switch (s->kind) {
	case SK_SB:
		case_sb(s, c);
		break;
	case SK_SBZERO: {
		char pat[64];

		for (int copy = 0; copy < 2; copy++)
			if (s->a == 2 || s->a == copy)
				memset(blk(c->img, (uint64_t)copy), 0, CLONE_BLOCK_SIZE);
		snprintf(c->desc, sizeof(c->desc), "superblock %s zeroed, the bitmap left",
			 s->a == 2 ? "both copies" : s->a ? "copy 1" : "copy 0");
		snprintf(pat, sizeof(pat), "superblock copy %d", s->a);
		if (s->a == 2)
			expect(c, C_REFUSE, "not zeroed", NULL);
		else
			expect(c, C_INTACT, pat, "zeroed");
		break;
	}
	case SK_BM:
		case_bm(s, c);
		break;
	case SK_TRUNC:
		c->meta_sectors = (uint64_t)s->a;
		snprintf(c->desc, sizeof(c->desc), "metadata device of %d sectors (%" PRIu64 " needed)",
			 s->a, G.layout * 8);
		if ((uint64_t)s->a / 8 < G.layout)
			expect(c, C_REFUSE, "too small", NULL);
		else
			expect(c, C_INTACT, NULL, NULL);
		break;
	case SK_ERR:
		case_err(s, c);
		break;
	case SK_TABLE: {
		static const char *const what[] = { "twice the region size", "half the region size",
						     "half the length", "one region longer",
						     "one sector shorter" };

		switch (s->a) {
		case 0: c->trs = G.rs * 2; break;
		case 1: c->trs = G.rs >= 16 ? G.rs / 2 : G.rs * 4; break;
		case 2: c->tlen = G.len / 2; break;
		case 3: c->tlen = G.len + G.rs; break;
		default: c->tlen = G.len - 1; break;
		}
		snprintf(c->desc, sizeof(c->desc), "a table of %s (%" PRIu64 " sectors, regions of %u)",
			 what[s->a], c->tlen, c->trs);
		if (c->trs != G.rs)
			expect(c, C_REFUSE, "region size mismatch", NULL);
		else if (ceil_div(c->tlen, c->trs) < G.R)
			expect(c, C_REFUSE, "a clone cannot shrink", NULL);
		else if (ceil_div(c->tlen, c->trs) == G.R)
			expect(c, C_INTACT, NULL, NULL);
		else if (G.version < 2)
			expect(c, C_REFUSE, "version 1 cannot grow", NULL);
		else	/* META is large: a grow fits */
			expect(c, C_INTACT, "growing the clone", NULL);
		break;
	}
	case SK_FOREIGN:
		case_foreign(s, c);
		break;
	case SK_SB2:
		case_sb2(s, c);
		break;
	case SK_CKPT:
		case_ckpt(s, c);
		break;
	case SK_REC:
		case_rec(s, c);
		break;
	case SK_RING_RANDOM:
		case_ring_random(s, c, seed);
		break;
	default:
		case_random(s, c, seed);
	}
}

static size_t catalogue(struct mspec **out, int all, uint64_t nrandom)
{
	size_t n = 0, cap = 1024 + nrandom;
	struct mspec *v = xmalloc(cap * sizeof(*v));
	uint64_t nbits_last = block_regions(G.R, G.N - 1);
	int N = (int)G.N, L = (int)G.layout;

#define PUSH(...) do { if (n == cap) die("catalogue"); v[n++] = (struct mspec){ __VA_ARGS__ }; } while (0)
	if (G.version >= 2) {
		for (int f = 0; f < (int)ARRAY_SIZE(sb2_name); f++)
			for (int tgt = 0; tgt < 3; tgt++)
				for (int fix = 0; fix < 2; fix++)
					for (int d = 0; d < (all || fix ? sb2_values(f) : 1); d++)
						PUSH(SK_SB2, f, tgt, fix, d);
		for (int a = 0; a < 6; a++)
			PUSH(SK_CKPT, a, 0, 0, 0);
		for (int p = 0; p < 2; p++)
			for (int k = 0; k < (int)ARRAY_SIZE(rec_kind); k++)
				PUSH(SK_REC, p, k, 0, 0);
		for (uint64_t r = 0; r < nrandom; r++)
			PUSH(SK_RING_RANDOM, (int)r, 0, 0, 0);
		*out = v;
		return n;
	}
	for (int f = 0; f < (int)ARRAY_SIZE(sbfields); f++)
		for (int tgt = 0; tgt < 3; tgt++)
			for (int fix = 0; fix < 2; fix++)
				for (int d = 0; d < (all ? field_values(f) : 1); d++)
					if (!(f == F_CSUM && fix))
						PUSH(SK_SB, f, tgt, fix, d);
	for (int z = 0; z < 3; z++)
		PUSH(SK_SBZERO, z, 0, 0, 0);
	for (int k = 0; k < N && k < 2; k++)
		for (int tgt = 0; tgt < 3; tgt++)
			for (int dmg = 0; dmg < (int)ARRAY_SIZE(bm_damage); dmg++)
				if (dmg != 12 || (k == N - 1 && nbits_last < CLONE_BITS_PER_BLOCK))
					PUSH(SK_BM, k, tgt, dmg, 0);
	{
		const int sizes[] = { 8, 16, (L - 1) * 8, L * 8 - 1, L * 8, L * 8 + 4 };

		for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
			PUSH(SK_TRUNC, sizes[i], 0, 0, 0);
	}
	for (int b = 0; b < L && b < 8; b++)
		PUSH(SK_ERR, b, -1, 0, 0);
	PUSH(SK_ERR, 0, 1, 0, 0);
	PUSH(SK_ERR, 2, 2 + N, 0, 0);
	PUSH(SK_ERR, 1 + N, 1 + 2 * N, 0, 0);
	if (N > 1)
		PUSH(SK_ERR, 2, 1 + 2 * N, 0, 0);
	PUSH(SK_ERR, 2, -1, 1, 0);
	for (int t = 0; t < 5; t++)
		PUSH(SK_TABLE, t, 0, 0, 0);
	for (int f = 0; f < 13; f++)
		PUSH(SK_FOREIGN, f, 0, 0, 0);
	for (uint64_t r = 0; r < nrandom; r++)
		PUSH(SK_RANDOM, (int)r, 0, 0, 0);
#undef PUSH
	*out = v;
	return n;
}

/*
 * The metadata tools' verdict: 1 and the state if the module should load
 * it. @bytes of @img are read; the device is @dev_blocks long (where a
 * table of more regions than a version 2 superblock names grows the clone).
 */
static int tools_verdict(const uint8_t *img, uint64_t bytes, uint64_t dev_blocks,
			 uint64_t tlen, uint32_t trs, uint64_t **bits, uint64_t *hyd)
{
	struct dev d;
	struct md m;
	struct md_opts o = { .use_sb = -1, .max_regions = MAX_REGIONS };
	uint64_t R = ceil_div(tlen, trs), need = clone_metadata_blocks(R);
	int load = 0;

	dev_open_mem(&d, img, (size_t)bytes);
	md_analyze(&d, &o, &m, NULL, NULL);
	*bits = NULL;
	*hyd = 0;
	if (m.found == FOUND_ZEROED) {
		if (d.blocks >= need && (!m.first_data || m.first_data >= need)) {
			load = 1;
			*bits = bits_alloc(R);
		}
	} else if (m.found == FOUND_OK && m.region_size == trs && m.nr_regions == R &&
		   d.blocks >= need && !m.lost_blocks && !m.ring_unknown) {
		load = 1;
		*bits = m.bits;
		m.bits = NULL;
		*hyd = m.hydrated;
	} else if (m.found == FOUND_OK && m.region_size == trs && m.nr_regions < R &&
		   m.sb.version >= 2 && dev_blocks >= clone_metadata_blocks_v2(R, m.sb.ring_slots) &&
		   !m.lost_blocks && !m.ring_unknown) {
		/* a grow: what the metadata holds, the new regions unhydrated */
		load = 1;
		*bits = bits_alloc(R);
		for (uint64_t r = 0; r < m.nr_regions; r++)
			if ((m.bits[r / 64] >> (r % 64)) & 1)
				(*bits)[r / 64] |= 1ULL << (r % 64);
		*hyd = m.hydrated;
	}
	md_free(&m);
	return load;
}

static int same_bits(const uint64_t *a, const uint64_t *b, uint64_t R)
{
	for (uint64_t w = 0; w < R / 64; w++)
		if (a[w] != b[w])
			return 0;
	if (R % 64) {
		uint64_t mask = (1ULL << (R % 64)) - 1;

		return !((a[R / 64] ^ b[R / 64]) & mask);
	}
	return 1;
}

/* Every region of @a is in @b. */
static int has_bits(const uint64_t *a, const uint64_t *b, uint64_t R)
{
	for (uint64_t r = 0; r < R; r++)
		if (((a[r / 64] >> (r % 64)) & 1) && !((b[r / 64] >> (r % 64)) & 1))
			return 0;
	return 1;
}

/* After a commit: clean metadata holding exactly @bits (@superset: at least). */
/* Zero META's blocks [G.layout, G.ext): what a format of a zeroed META takes past the layout. */
static void zero_past_layout(void)
{
	uint8_t *zero;

	if (G.ext <= G.layout)
		return;
	zero = xalloc_blocks(G.ext - G.layout);
	if (blocks_io(G.meta, 1, G.layout, G.ext - G.layout, zero))
		die("%s: cannot zero %" PRIu64 " blocks", G.meta, G.ext - G.layout);
	free(zero);
}

static int check_committed(const uint64_t *bits, uint64_t hyd, int superset, char *why, size_t len)
{
	/* a case that zeroed the layout was formatted over G.ext blocks */
	uint64_t blocks = G.ext > G.layout ? G.ext : G.layout;
	uint8_t *img = xalloc_blocks(blocks);
	struct dev d;
	struct md m;
	struct md_opts o = { .use_sb = -1, .max_regions = MAX_REGIONS };
	int ok = 0;

	if (blocks_io(G.meta, 0, 0, blocks, img)) {
		snprintf(why, len, "cannot read %s back", G.meta);
		free(img);
		return 0;
	}
	dev_open_mem(&d, img, blocks * CLONE_BLOCK_SIZE);
	md_analyze(&d, &o, &m, NULL, NULL);
	if (m.found != FOUND_OK || m.sb_state[0] != BLK_VALID || m.sb_state[1] != BLK_VALID)
		snprintf(why, len, "superblocks: found %d, copy 0 %s, copy 1 %s", m.found,
			 m.sb_why[0] ? m.sb_why[0] : "?", m.sb_why[1] ? m.sb_why[1] : "?");
	else if (m.region_size != G.rs || m.nr_regions != G.R)
		snprintf(why, len, "geometry %" PRIu64 "x%" PRIu64, m.nr_regions, m.region_size);
	else if (m.lost_blocks || m.damaged_copies || m.differing_blocks)
		snprintf(why, len, "%" PRIu64 " lost, %" PRIu64 " damaged, %" PRIu64 " differing blocks",
			 m.lost_blocks, m.damaged_copies, m.differing_blocks);
	else if (superset && !has_bits(bits, m.bits, G.R))
		snprintf(why, len, "a region the base had is not hydrated on disk");
	else if (!superset && (m.hydrated != hyd || !same_bits(m.bits, bits, G.R)))
		snprintf(why, len, "%" PRIu64 " regions hydrated on disk, want %" PRIu64 "%s",
			 m.hydrated, hyd, m.hydrated == hyd ? " (other regions)" : "");
	else
		ok = 1;
	md_free(&m);
	free(img);
	return ok;
}

/* A dm device over META: @sectors long, blocks err[] reading as errors. */
static int make_meta_dev(const struct mcase *c, const char *name, char *path, size_t plen)
{
	uint64_t size = c->meta_sectors ? c->meta_sectors : 0, pos = 0;
	struct target t[5];
	char params[5][128], mm[32];
	int n = 0, e[2] = { c->err[0], c->err[1] }, r;
	struct stat st;

	if (!size) {
		int fd = open(G.meta, O_RDONLY | O_CLOEXEC);

		if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) < 0)
			die("%s: size", G.meta);
		close(fd);
		size >>= 9;
	}
	if (stat(G.meta, &st))
		die("%s: %s", G.meta, strerror(errno));
	snprintf(mm, sizeof(mm), "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	if (e[1] >= 0 && e[1] < e[0]) {
		int x = e[0];

		e[0] = e[1];
		e[1] = x;
	}
	for (int i = 0; i < 2; i++) {
		uint64_t at = e[i] < 0 ? UINT64_MAX : (uint64_t)e[i] * 8;

		if (at == UINT64_MAX)
			continue;
		if (at > pos) {
			snprintf(params[n], sizeof(params[n]), "%s %" PRIu64, mm, pos);
			t[n] = (struct target){ pos, at - pos, "linear", params[n] };
			n++;
		}
		params[n][0] = 0;
		t[n] = (struct target){ at, 8, "error", params[n] };
		n++;
		pos = at + 8;
	}
	if (pos < size) {
		snprintf(params[n], sizeof(params[n]), "%s %" PRIu64, mm, pos);
		t[n] = (struct target){ pos, size - pos, "linear", params[n] };
		n++;
	}
	if ((r = dm_create(name)) == -EBUSY) {
		dm_remove(name);
		r = dm_create(name);
	}
	if (r || (r = dm_load(name, t, n)) || (r = dm_suspend(name, 0)))
		die("cannot make the metadata device %s: %s", name, strerror(-r));
	/* no udev in the test VM: the node is ours to make */
	snprintf(path, plen, "/dev/mapper/%s", name);
	{
		struct dm_ioctl *io = io_init(name, 0);

		if (io_call(DM_DEV_STATUS, io))
			die("%s: status", name);
		unlink(path);
		mkdir("/dev/mapper", 0755);
		if (mknod(path, S_IFBLK | 0600, (dev_t)io->dev))
			die("mknod %s: %s", path, strerror(errno));
	}
	return 0;
}

static const char *dump_path;	/* -O: the case's image to this file too */

static void run_case(const struct mcase *c, uint64_t idx, int dry, int write_only)
{
	uint64_t *tbits = NULL, thyd = 0, bytes;
	const uint64_t *want_bits = NULL;
	uint64_t want_hyd = 0;
	int want_load, tload = -1, r;
	char what[64], meta[128], params[512], why[256];
	struct sbuf st = { 0 };

	snprintf(what, sizeof(what), "metadata case %" PRIu64, idx);
	kctx = what;
	tried++;
	if (dump_path) {
		FILE *f = fopen(dump_path, "w");

		if (!f || fwrite(c->img, CLONE_BLOCK_SIZE, c->img_blocks, f) != c->img_blocks ||
		    fclose(f))
			die("%s: cannot write", dump_path);
	}
	bytes = c->meta_sectors ? c->meta_sectors * 512 : G.layout * CLONE_BLOCK_SIZE;
	if (!c->no_tools)
		tload = tools_verdict(c->img, bytes,
				      c->meta_sectors ? c->meta_sectors / 8 : G.meta_blocks,
				      c->tlen, c->trs, &tbits, &thyd);
	if (c->cls == C_INTACT) {
		want_load = 1;
		want_bits = G.bits;
		want_hyd = G.hyd;
	} else if (c->cls == C_STATE) {
		want_load = 1;
		want_bits = c->wbits;
		want_hyd = c->whyd;
	} else if (c->cls == C_REFUSE) {
		want_load = 0;
	} else if (c->cls == C_ANY) {
		want_load = 2;	/* either */
		want_bits = G.bits;
		want_hyd = G.hyd;
	} else {
		want_load = tload;
		want_bits = tbits;
		want_hyd = thyd;
	}
	if (verbose || write_only)
		printf("case %" PRIu64 ": %s: %s%s\n", idx, c->desc,
		       c->cls == C_ORACLE ? (tload ? "loads" : "refused") : cls_name[c->cls],
		       c->cls == C_ORACLE ? " (as the tools say)" : "");
	/* the metadata tools read the format as the module does */
	if ((c->cls == C_INTACT || c->cls == C_STATE) && tload == 0) {
		mismatch(what, "%s: the tools would refuse what must load", c->desc);
	} else if ((c->cls == C_INTACT || c->cls == C_STATE) && tload == 1 &&
		   (thyd != want_hyd || !same_bits(tbits, want_bits, G.R))) {
		mismatch(what, "%s: the tools see %" PRIu64 " hydrated regions, not %" PRIu64,
			 c->desc, thyd, want_hyd);
	} else if (c->cls == C_ANY && tload == 1 && !has_bits(G.bits, tbits, G.R)) {
		mismatch(what, "%s: the tools would load it without a region the base had", c->desc);
	} else if (c->cls == C_REFUSE && tload == 1) {
		mismatch(what, "%s: the tools would load what must be refused", c->desc);
	}
	if (dry || c->tlen == 0 || want_load < 0)
		goto out;

	if (blocks_io(G.meta, 1, 0, c->img_blocks, c->img))
		die("%s: cannot write the image", G.meta);
	/* a zeroed layout: META past it zeroed too (an earlier format wrote there) */
	if (c->img_blocks <= G.layout && block_is_zero(c->img) &&
	    block_is_zero(c->img + CLONE_BLOCK_SIZE))
		zero_past_layout();
	if (write_only) {
		if (want_load == 2)
			printf("expect any\n");
		else
			printf("expect %s %" PRIu64 "\n", want_load ? "load" : "refuse", want_hyd);
		goto out;
	}
	if (c->meta_sectors || c->err[0] >= 0)
		make_meta_dev(c, "dmfuzz-md", meta, sizeof(meta));
	else
		snprintf(meta, sizeof(meta), "%s", G.meta);
	snprintf(params, sizeof(params), "%s %s %s %u 1 no_hydration", meta, G.dest, G.src, c->trs);
	if ((r = dm_create("dmfuzz-mc")) == -EBUSY) {
		dm_remove("dmfuzz-mc");
		r = dm_create("dmfuzz-mc");
	}
	if (r)
		die("cannot create dmfuzz-mc: %s", strerror(-r));
	kmsg_begin();
	{
		struct target t = { 0, c->tlen, "clone", params };

		r = dm_load("dmfuzz-mc", &t, 1);
	}
	kmsg_drain();
	accepted += !r;
	if (!want_load || (want_load == 2 && r)) {
		const char *pats[3] = { c->pat[0], c->pat[1], c->pat[2] };
		static const char *const any[] = { ": clone: " };

		if (!r)
			mismatch(what, "%s: loaded, must be refused", c->desc);
		else if (c->npat ? !kmsg_has_settled(pats, c->npat) : !kmsg_has_settled(any, 1)) {
			mismatch(what, "%s: refused, but no kernel log line has '%s%s%s'", c->desc,
				 c->npat ? c->pat[0] : any[0], c->npat > 1 ? "' and '" : "",
				 c->npat > 1 ? c->pat[1] : "");
			show_klog();
		}
	} else if (r) {
		mismatch(what, "%s: refused (%s), must load with %" PRIu64 " regions hydrated",
			 c->desc, strerror(-r), want_hyd);
		show_klog();
	} else {
		const char *pats[3] = { c->pat[0], c->pat[1], c->pat[2] };
		struct toks t = { 0 };

		if (dm_status("dmfuzz-mc", 1, 0, &st, NULL) != 1)
			die("dmfuzz-mc: status");
		k_split(st.p, &t);
		/* the table's regions: more than G.R after a grow */
		snprintf(why, sizeof(why), "%" PRIu64 "/%" PRIu64, want_hyd,
			 ceil_div(c->tlen, c->trs));
		if (want_load == 2) {
			uint64_t h = t.n >= 4 ? strtoull(t.v[3], NULL, 10) : 0;

			if (h < G.hyd)
				mismatch(what, "%s: loaded with status '%s', want at least %s hydrated",
					 c->desc, st.p, why);
		} else if (t.n < 4 || strcmp(t.v[3], why)) {
			mismatch(what, "%s: loaded with status '%s', want %s hydrated", c->desc,
				 st.p, why);
		}
		tk_free(&t);
		if ((c->cls == C_INTACT || c->cls == C_STATE) && c->npat &&
		    !kmsg_has_settled(pats, c->npat)) {
			mismatch(what, "%s: loaded, but no kernel log line has '%s%s%s'", c->desc,
				 c->pat[0], c->npat > 1 ? "' and '" : "", c->npat > 1 ? c->pat[1] : "");
			show_klog();
		}
		/* the next commit leaves clean metadata with the same state */
		if (c->err[0] < 0 && c->tlen == G.len && c->trs == G.rs) {
			if ((r = dm_suspend("dmfuzz-mc", 0)) || (r = dm_suspend("dmfuzz-mc", 1)))
				mismatch(what, "%s: resume/suspend: %s", c->desc, strerror(-r));
			else if (!check_committed(want_bits, want_hyd, want_load == 2, why, sizeof(why)))
				mismatch(what, "%s: after the first commit: %s", c->desc, why);
		}
	}
	if ((r = dm_remove("dmfuzz-mc")))
		die("cannot remove dmfuzz-mc: %s", strerror(-r));
	if (c->meta_sectors || c->err[0] >= 0) {
		if ((r = dm_remove("dmfuzz-md")))
			die("cannot remove dmfuzz-md: %s", strerror(-r));
		unlink(meta);
	}
	kmsg_drain();
out:
	free(tbits);
	sb_free(&st);
}

/*
 * The blocks past the cases' layout that a format of a zeroed META would
 * take (the module formats version 2 with as many ring slots as fit): put
 * into *@tail (*@n of them) and zeroed on META, so that a case that zeroes
 * the layout is a zeroed device, whatever META held past it. Put back at
 * the end with the rest.
 */
static void clear_tail(uint8_t **tail, uint64_t *n)
{
	uint64_t bytes, ext;
	int fd = open(G.meta, O_RDONLY | O_CLOEXEC);
	struct stat st;

	*n = 0;
	if (fd < 0 || fstat(fd, &st))
		die("%s: %s", G.meta, strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &bytes) < 0)
			die("%s: size", G.meta);
	} else {
		bytes = (uint64_t)st.st_size;
	}
	close(fd);
	ext = format_blocks(G.R, bytes / CLONE_BLOCK_SIZE);
	if (ext <= G.layout)
		return;
	G.ext = ext;
	*n = ext - G.layout;
	*tail = xalloc_blocks(*n);
	if (blocks_io(G.meta, 0, G.layout, *n, *tail))
		die("%s: cannot read %" PRIu64 " blocks", G.meta, *n);
	zero_past_layout();
}

/*
 * The hydration state read from META written again in format G.version
 * (version 2: with the fewest ring slots) as the cases' base image, G.img,
 * when META holds another version or another ring; what META held over
 * that many blocks (and its own layout, @meta_layout) goes to *@saved, to
 * be put back at the end.
 */
static void make_base(int dry, uint64_t meta_layout, uint8_t **saved)
{
	char tmp[] = "/tmp/dmfuzz-base-XXXXXX";
	uint64_t slots = 0, *bits, want = G.version >= 2 ? CLONE_RING_MIN_SLOTS : 0;
	uint64_t layout = G.version >= 2 ? clone_metadata_blocks_v2(G.R, want) :
					   clone_metadata_blocks(G.R);
	int fd = mkstemp(tmp);

	if (layout > 64)
		die("meta: %" PRIu64 " version %u metadata blocks; at most 64 (fewer regions)",
		    layout, G.version);
	if (fd < 0 || ftruncate(fd, (off_t)(layout * CLONE_BLOCK_SIZE)))
		die("%s: %s", tmp, strerror(errno));
	close(fd);
	if (write_metadata(tmp, G.version, 0, G.rs, G.R, 1700000000, G.bits, &slots, "dmfuzz") ||
	    slots != want)
		die("cannot write version %u metadata to %s (%" PRIu64 " slots)", G.version, tmp, slots);
	free(G.img);
	G.img = xalloc_blocks(layout);
	fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, G.img, layout * CLONE_BLOCK_SIZE, 0) !=
	    (ssize_t)(layout * CLONE_BLOCK_SIZE))
		die("%s: cannot read it back", tmp);
	close(fd);
	unlink(tmp);
	G.saved_blocks = layout > meta_layout ? layout : meta_layout;
	if (!dry) {
		*saved = xalloc_blocks(G.saved_blocks);
		if (blocks_io(G.meta, 0, 0, G.saved_blocks, *saved))
			die("%s: cannot read %" PRIu64 " blocks", G.meta, G.saved_blocks);
	}
	G.layout = layout;
	G.slots = slots;
	if (!tools_verdict(G.img, layout * CLONE_BLOCK_SIZE, layout, G.len, G.rs, &bits, &G.hyd) ||
	    !same_bits(bits, G.bits, G.R))
		die("the version %u base does not read back as META's state", G.version);
	free(bits);
	G.nonce = get_le64(blk(G.img, 0) + 16);
	G.ckpt = G.version >= 2 ? get_le64(SB(blk(G.img, 0), checkpoint)) : 0;
	if (G.version >= 2)
		printf("version 2 base: %" PRIu64 " ring slots, checkpoint %" PRIu64 ", %" PRIu64 " blocks\n",
		       G.slots, G.ckpt, G.layout);
	else
		printf("version 1 base: %" PRIu64 " blocks\n", G.layout);
}

static int cmd_meta(int argc, char **argv)
{
	uint64_t seed = 1, nrandom = 40, first = 0, only = UINT64_MAX, wr = UINT64_MAX;
	const char *wr_text = NULL;
	int o, all = 0, dry = 0;
	struct mspec *specs;
	size_t n;

	uint8_t *saved = NULL, *tail = NULL;
	uint64_t tail_n = 0;
	uint32_t meta_version;

	G.version = 1;
	while ((o = getopt(argc, argv, "m:d:S:l:r:s:n:ao:1:w:W:DO:F:v")) != -1) {
		switch (o) {
		case 'm': G.meta = optarg; break;
		case 'd': G.dest = optarg; break;
		case 'S': G.src = optarg; break;
		case 'l': G.len = strtoull(optarg, NULL, 0); break;
		case 'r': G.rs = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'n': nrandom = strtoull(optarg, NULL, 0); break;
		case 'a': all = 1; break;
		case 'o': first = strtoull(optarg, NULL, 0); break;
		case '1': only = strtoull(optarg, NULL, 0); break;
		case 'w': wr = strtoull(optarg, NULL, 0); break;
		case 'W': wr_text = optarg; break;
		case 'D': dry = 1; break;
		case 'O': dump_path = optarg; break;
		case 'F': G.version = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'v': verbose = 1; break;
		default: return 2;
		}
	}
	if (G.version < 1 || G.version > 2)
		die("meta: -F 1 or -F 2");
	if (!G.meta || !G.len || !G.rs || (!dry && (!G.dest || !G.src)))
		die("meta: -m META -d DEST -S SRC -l LEN -r REGION are needed (-D: -m IMAGE -l -r)");
	G.R = ceil_div(G.len, G.rs);
	G.N = clone_bitmap_blocks(G.R);
	/*
	 * META as the module formats it: version 2 with up to 256 ring slots
	 * (or version 1 when that does not fit), or version 1 as written
	 * with --format-version 1: its layout from its superblock.
	 */
	{
		struct dev d;

		if (dev_open(&d, G.meta, DEV_READ, 0))
			die("%s: %s", G.meta, strerror(errno));
		G.meta_blocks = d.blocks;
		dev_close(&d);
	}
	G.img = xalloc_blocks(1);
	if (blocks_io(G.meta, 0, 0, 1, G.img))
		die("%s: cannot read its superblock", G.meta);
	meta_version = get_le32(SB(G.img, version));
	G.layout = clone_metadata_blocks(G.R);
	if (meta_version == 2)
		G.layout = clone_metadata_blocks_v2(G.R, get_le32(SB(G.img, ring_slots)));
	if (G.layout > 4096 || (meta_version == 1 && G.version == 1 && G.layout > 64))
		die("meta: %" PRIu64 " metadata blocks; at most 64 (fewer regions)", G.layout);
	free(G.img);
	G.img = xalloc_blocks(G.layout);
	if (blocks_io(G.meta, 0, 0, G.layout, G.img))
		die("%s: cannot read %" PRIu64 " blocks", G.meta, G.layout);
	{
		uint64_t *bits;

		if (!tools_verdict(G.img, G.layout * CLONE_BLOCK_SIZE, G.layout, G.len, G.rs, &bits,
				   &G.hyd) ||
		    get_le32(blk(G.img, 0) + 4) != CLONE_KIND_SUPER)
			die("%s: holds no clean metadata for %" PRIu64 " regions of %u sectors",
			    G.meta, G.R, G.rs);
		G.bits = bits;
		G.nonce = get_le64(blk(G.img, 0) + 16);
	}
	if (G.version >= 2 || meta_version != 1)
		make_base(dry, G.layout, &saved);
	printf("metadata on %s: %" PRIu64 " regions of %u sectors, %" PRIu64 " bitmap blocks per copy, %" PRIu64 " hydrated\n",
	       G.meta, G.R, G.rs, G.N, G.hyd);
	if (!dry) {
		ctl_open();
		kmsg_open();
	}
	n = catalogue(&specs, all, nrandom);
	for (uint64_t i = 0; wr_text && i < n; i++) {
		struct mcase c;

		build_case(&specs[i], &c, seed, i);
		free(c.img);
		free(c.wbits);
		if (strstr(c.desc, wr_text)) {
			wr = i;
			break;
		}
	}
	if (wr_text && wr == UINT64_MAX)
		die("meta: no case '%s'", wr_text);
	if (only != UINT64_MAX || wr != UINT64_MAX) {
		first = wr != UINT64_MAX ? wr : only;
		if (first >= n)
			die("meta: %zu cases", n);
		n = first + 1;
	}
	/* (-w/-W write one case and leave the rest of META as it is) */
	if (!dry && wr == UINT64_MAX)
		clear_tail(&tail, &tail_n);
	for (uint64_t i = first; i < n; i++) {
		struct mcase c;

		build_case(&specs[i], &c, seed, i);
		run_case(&c, i, dry, wr != UINT64_MAX);
		free(c.img);
		free(c.wbits);
		if (!dry && i % 50 == 0)
			kmsg_note("dmfuzz: metadata case %" PRIu64 " of %zu", i, n);
	}
	/* leave the metadata as it was (-F 2: the version 1 metadata under it) */
	if (!dry && wr == UINT64_MAX && tail_n &&
	    blocks_io(G.meta, 1, G.layout, tail_n, tail))
		die("%s: cannot restore", G.meta);
	free(tail);
	if (!dry && wr == UINT64_MAX && saved &&
	    blocks_io(G.meta, 1, 0, G.saved_blocks, saved))
		die("%s: cannot restore", G.meta);
	else if (!dry && wr == UINT64_MAX && !saved && blocks_io(G.meta, 1, 0, G.layout, G.img))
		die("%s: cannot restore", G.meta);
	free(saved);
	free(specs);
	free(G.img);
	free(G.bits);
	result();
	return failed || kbad ? 1 : 0;
}

/* ---- self-test ----------------------------------------------------------- */

static unsigned long st_ok, st_bad;

__attribute__((format(printf, 2, 3)))
static void st_check(int cond, const char *fmt, ...)
{
	va_list ap;

	if (cond) {
		st_ok++;
		return;
	}
	st_bad++;
	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static struct vdev *fake(const char *name, const char *alias, unsigned int mi, uint64_t sectors)
{
	struct vdev *v = &vdevs[nvdevs++];

	memset(v, 0, sizeof(*v));
	v->path = xstrdup(name);
	v->spell[v->nspell++] = v->path;
	v->spell[v->nspell++] = xstrdup(alias);
	v->rdev = makedev(253, mi);
	v->sectors = sectors;
	v->discard = 1;
	v->zero_sb = 1;
	v->first_data = UINT64_MAX;
	snprintf(v->group, sizeof(v->group), "%s", name);
	return v;
}

static void st_split(const char *in, int n, const char *const *want)
{
	struct toks t = { 0 };
	int ok;

	k_split(in, &t);
	ok = t.n == n;
	for (int i = 0; ok && i < n; i++)
		ok = !strcmp(t.v[i], want[i]);
	st_check(ok, "split '%s': %d words", shown(in), t.n);
	tk_free(&t);
}

static void st_table(uint64_t len, const char *params, int want, uint64_t hyd)
{
	struct verdict v = { 0 };

	judge_target(len, params, &v);
	st_check(v.v == want && (want != VALID || v.hyd == hyd),
		 "table %" PRIu64 " '%s': model says %d (%s), want %d", len, shown(params), v.v,
		 v.why, want);
	tk_free(&v.tk);
}

static void st_msg(const char *msg, uint64_t sector, int want, uint32_t thr)
{
	struct clone_state cs = { .thr = 1, .batch = 1 };
	const char *why;
	int v = judge_msg(msg, sector, 1000, &cs, &why);

	st_check(v == want && cs.thr == thr, "message '%s': model says %d (%s), want %d",
		 shown(msg), v, why, want);
}

static uint64_t hash_str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = mix64(h ^ (unsigned char)*s);
	return h;
}

static int cmd_selftest(void)
{
	static const char *const w_ab[] = { "a", "b" }, *const w_asb[] = { "a b" },
		*const w_abs[] = { "a\\b" }, *const w_bs[] = { "a\\" }, *const w_a[] = { "a" },
		*const w_sp[] = { " " }, *const w_anb[] = { "a\nb" };
	struct sbuf s = { 0 }, info = { 0 }, table = { 0 };
	uint32_t v;

	/* splitting */
	st_split("a b", 2, w_ab);
	st_split("  a\t\tb\n", 2, w_ab);
	st_split("a\\ b", 1, w_asb);
	st_split("a\\\\b", 1, w_abs);
	st_split("a\\", 1, w_bs);
	st_split("\xa0" "a\xa0", 1, w_a);
	st_split("", 0, NULL);
	st_split(" \v\f\r ", 0, NULL);
	st_split("\\ ", 1, w_sp);
	st_split("a\\\nb", 1, w_anb);
	/* numbers */
	st_check(!k_strtou32("8", &v) && v == 8, "8");
	st_check(!k_strtou32("+8", &v) && v == 8, "+8");
	st_check(!k_strtou32("008", &v) && v == 8, "008");
	st_check(!k_strtou32("8\n", &v) && v == 8, "8\\n");
	st_check(!k_strtou32("4294967295", &v) && v == UINT32_MAX, "2^32-1");
	{
		const char *bad[] = { "", "+", "-1", "-0", "8\n\n", "\n8", " 8", "8 ", "0x8", "8x",
				      "4294967296", "18446744073709551616", "++8", "1.5", "\xa0" "8" };

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
			st_check(k_strtou32(bad[i], &v) != 0, "'%s' must not parse", shown(bad[i]));
	}
	sb_reset(&s);
	for (int i = 0; i < 5000; i++)
		sb_addc(&s, '0');
	sb_add(&s, "16");
	st_check(!k_strtou32(s.p, &v) && v == 16, "5000 zeroes then 16");
	st_check(is_bad_text("x WARNING: y") && is_bad_text("BUG: z") && !is_bad_text("DEBUGGING"),
		 "kernel log patterns");

	/* the table rules, on made-up devices */
	fake_devices = 1;
	fake("M", "253:1", 1, 131072);		/* zeroed metadata */
	fake("D", "253:2", 2, 1 << 21);
	fake("S", "253:3", 3, 1 << 21);
	fake("s", "253:4", 4, 100);
	fake("T", "253:5", 5, 8)->zero_sb = 0;	/* too small */
	{
		struct vdev *x = fake("X", "253:6", 6, 2048), *f = fake("F", "253:7", 7, 2048);

		x->zero_sb = 0;
		x->md_found = FOUND_NOSB;
		f->zero_sb = 0;
		f->md_found = FOUND_OK;
		f->md_rs = 64;
		f->md_R = 2048;
		f->md_hyd = 7;
		f->md_blocks = 4;	/* version 1: 2 + 2 x 1 */
	}
	fake("N", "253:8", 8, 131072)->first_data = 600;	/* data in block 600 */
	fake("Z", "253:9", 9, 1 << 21)->discard = 0;
	st_table(131072, "M D S 8", VALID, 0);
	st_table(131072, "M D S 8 0", VALID, 0);
	st_table(131072, "253:1 253:2 253:3 8", VALID, 0);
	st_table(131072, "M D S 8 1 no_hydration", VALID, 0);
	st_table(131072, "M D S 8 2 NO_HYDRATION no_discard_passdown 4 hydration_threshold 5 HYDRATION_batch_size 9",
		 VALID, 0);
	st_table(131072, "M D S 8 2 no_hydration no_hydration", VALID, 0);
	st_table(131072, "M D S 8 3 no_hydration no_discard_passdown HYDRATE_ON_READ", VALID, 0);
	st_table(131072, "M D S 8 0 2 hydration_threshold 4294967295", VALID, 0);
	st_table(131072, "M D S 8 0 4 hydration_threshold 1 hydration_threshold 2", VALID, 0);
	st_table(131072, "M D S 8 0 0", VALID, 0);
	st_table(131072, "M D S +0008\\\n", VALID, 0);
	st_table(131072, "M D S 8\xa0", VALID, 0);
	st_table(131072, "M D S 2097152", VALID, 0);
	st_table(131072, "M Z S 8", VALID, 0);
	st_table(100, "M s S 8", VALID, 0);
	st_table(131072, "F D S 64", VALID, 7);
	/* version 2: 2 + 2 x 256 + 2N blocks used */
	st_table(131072, "N D S 8", VALID, 0);		/* 516 blocks used: block 600 is not */
	st_table(16 << 20, "N D S 8", INVALID, 0);	/* 644 blocks used */
	{
		const char *bad[] = {
			"M D S", "M D S 7", "M D S 0", "M D S 9", "M D S 2097153", "M D S 4194304",
			"M D S 4294967304", "M D S -8", "M D S 0x8", "M D S 8 1", "M D S 8 3 a b c",
			"M D S 8 6 no_hydration no_hydration no_hydration hydrate_on_read no_hydration detect_zeroes",
			"M D S 8 1 foo", "M D S 8 0 1 hydration_threshold",
			"M D S 8 0 2 hydration_threshold 4294967296", "M D S 8 0 2 foo 1",
			"M D S 8 0 8 hydration_threshold 1 hydration_threshold 1 hydration_threshold 1 max_hydration_rate 1",
			"M D S 8 0 2 max_hydration_rate 4294967296",
			"M D S 8 0 0 0", "M D S 8 0 0 x", "M M S 8", "M D 253:2 8", "M D D 8",
			"M s S 8", "T D S 8", "X D S 8", "F D S 8", "nosuch D S 8", "M D nosuch 8",
			"M D S 8\\ 8", "M D S 8 4294967297 no_hydration",
		};

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
			st_table(131072, bad[i], INVALID, 0);
		st_table(0, "M D S 8", INVALID, 0);
		st_table(131080, "F D S 64", INVALID, 0);
		st_table(1ULL << 34, "M D S 8", INVALID, 0);
	}
	/* two targets: refused, whatever they are */
	{
		struct tline l;

		memset(&l, 0, sizeof(l));
		l.n = 2;
		l.t[0] = (struct target){ 0, 131072, "clone", "M D S 8" };
		l.t[1] = (struct target){ 131072, 131072, "clone", "F D S 64" };
		judge_line(&l);
		st_check(l.v == INVALID, "two targets: %s", l.why);
		l.t[1].params = "M D S 16";
		judge_line(&l);
		st_check(l.v == INVALID, "two targets on one metadata device: %s", l.why);
		tk_free(&l.vd[0].tk);
		tk_free(&l.vd[1].tk);
	}
	/* what a valid target reports */
	{
		struct verdict vd = { 0 };

		/* a zeroed device formats version 2: 2 + 2 x 256 + 2 x 1 blocks */
		judge_target(131072, "M D S 8 1 no_hydration", &vd);
		expect_status(&vd, &info, &table);
		st_check(vd.v == VALID && !strncmp(info.p, "8 516/", 6), "status of a format: %s", info.p);
		tk_free(&vd.tk);
	}
	{
		struct verdict vd = { 0 };

		judge_target(131072, "F D S 064 2 no_discard_passdown No_Hydration 2 hydration_batch_size +9",
			     &vd);
		expect_status(&vd, &info, &table);
		st_check(!strcmp(info.p, "8 4/256 64 7/2048 0 2 no_hydration no_discard_passdown 4 hydration_threshold 1 hydration_batch_size 9 rw"),
			 "status: %s", info.p);
		st_check(!strcmp(table.p, "253:7 253:2 253:3 064 2 no_discard_passdown No_Hydration 2 hydration_batch_size +9"),
			 "table: %s", table.p);
		tk_free(&vd.tk);
	}
	{
		struct verdict vd = { 0 };

		judge_target(131072, "M D S 8 0 6 hydration_threshold 2 max_hydration_rate 512 hydration_batch_size 3",
			     &vd);
		expect_status(&vd, &info, &table);
		st_check(vd.v == VALID && strstr(info.p, " 6 hydration_threshold 2 hydration_batch_size 3 max_hydration_rate 512 rw"),
			 "status with max_hydration_rate: %s", info.p);
		tk_free(&vd.tk);
	}
	/* messages */
	st_msg("enable_hydration", 0, VALID, 1);
	st_msg("ENABLE_hydration", 999, VALID, 1);
	st_msg("hydration_threshold 5", 0, VALID, 5);
	st_msg("hydration_threshold\t+0005\\\n", 0, VALID, 5);
	st_msg("max_hydration_rate 1024", 0, VALID, 1);
	st_msg("stats", 0, VALID, 1);
	st_msg("RETRY", 0, VALID, 1);
	{
		const char *bad[] = { "", "  ", "enable_hydration 1", "hydration_threshold",
				      "hydration_threshold 4294967296", "hydration_threshold 1 2",
				      "hydration_threshold=1", "foo", "no_hydration", "stats 1", "retry now",
				      "max_hydration_rate", "max_hydration_rate -1" };

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
			st_msg(bad[i], 0, INVALID, 1);
		st_msg("enable_hydration", 1000, INVALID, 1);
	}
	{
		struct clone_state cs;

		st_check(!parse_status("8 6/16384 8 5/32768 0 1 no_hydration 4 hydration_threshold 3 hydration_batch_size 4 rw", &cs) &&
			 cs.no_hyd && !cs.no_pass && cs.thr == 3 && cs.batch == 4 && !strcmp(cs.mode, "rw"),
			 "parse_status");
		st_check(!parse_status("8 4/16384 8 8192/8192 0 0 4 hydration_threshold 1 hydration_batch_size 1 ro", &cs) &&
			 !cs.no_hyd && !cs.no_pass && cs.thr == 1 && !strcmp(cs.mode, "ro"),
			 "parse_status, no features");
		st_check(!parse_status("8 4/16384 8 1/8192 3 2 no_hydration no_discard_passdown 4 hydration_threshold 0 hydration_batch_size 4294967295 rw", &cs) &&
			 cs.no_hyd && cs.no_pass && cs.thr == 0 && cs.batch == UINT32_MAX,
			 "parse_status, two features");
		st_check(!parse_status("8 6/16384 8 5/32768 0 0 6 hydration_threshold 3 hydration_batch_size 4 max_hydration_rate 2048 rw", &cs) &&
			 cs.thr == 3 && cs.batch == 4 && cs.rate == 2048 && !strcmp(cs.mode, "rw"),
			 "parse_status, max_hydration_rate");
		st_check(parse_status("8 6/16384 8 5/32768 0 0 6 hydration_threshold 3 hydration_batch_size 4 max_hydration_rate 0 rw", &cs) != 0,
			 "parse_status, max_hydration_rate 0 is never shown");
		st_check(!parse_status("8 6/16384 8 5/32768 0 2 no_hydration hydrate_on_read 4 hydration_threshold 3 hydration_batch_size 4 rw", &cs) &&
			 cs.no_hyd && cs.on_read && !cs.no_pass, "parse_status, hydrate_on_read");
		st_check(!parse_status("8 6/16384 8 5/32768 0 3 no_hydration hydrate_on_read detect_zeroes 4 hydration_threshold 3 hydration_batch_size 4 rw", &cs) &&
			 cs.no_hyd && cs.on_read && cs.zeroes, "parse_status, detect_zeroes");
		st_check(parse_status("Fail", &cs) != 0, "parse_status Fail");
		st_check(parse_status("8 4/16384 8 1/8192 3 1 no_hydration 4 hydration_threshold 0 hydration_batch_size 4 rw x", &cs) != 0,
			 "parse_status, one word too many");
	}
	/* the generators: deterministic, both outcomes, no crash */
	{
		unsigned long n[3] = { 0 };
		uint64_t h1 = 0, h2 = 0;
		struct tline l;

		memset(&l, 0, sizeof(l));
		for (int pass = 0; pass < 2; pass++) {
			for (uint64_t i = 0; i < 4000; i++) {
				seed_input(7, i);
				gen_line(&l, 131072);
				judge_line(&l);
				if (pass == 0)
					n[l.v + 1]++;
				for (int j = 0; j < l.n; j++)
					*(pass ? &h2 : &h1) = hash_str(pass ? h2 : h1, l.t[j].params);
			}
		}
		printf("table lines: %lu valid, %lu invalid, %lu unsure of 4000\n", n[2], n[1], n[0]);
		st_check(h1 == h2, "table lines are not reproducible");
		st_check(n[2] > 400 && n[1] > 1500 && n[0] == 0, "table line mix");
		for (int j = 0; j < 2; j++) {
			sb_free(&l.params[j]);
			tk_free(&l.vd[j].tk);
		}
	}
	{
		unsigned long n[3] = { 0 };
		uint64_t sector;

		for (uint64_t i = 0; i < 4000; i++) {
			struct clone_state cs = { .thr = 1, .batch = 1 };
			const char *why;

			seed_input(9, i);
			gen_msg(&s, &sector, 1000);
			n[judge_msg(s.p, sector, 1000, &cs, &why) + 1]++;
		}
		printf("messages: %lu valid, %lu invalid, %lu unsure of 4000\n", n[2], n[1], n[0]);
		st_check(n[2] > 400 && n[1] > 2000, "message mix");
	}
	sb_free(&s);
	sb_free(&info);
	sb_free(&table);
	printf("selftest: %lu passed, %lu failed\n", st_ok, st_bad);
	return st_bad ? 1 : 0;
}

/*
 * dmfuzz image FILE LEN REGION [VERSION]: metadata as the tools write it,
 * some regions hydrated, in format VERSION (default CLONE_VERSION, what a
 * new format gets: version 2 with its ring of 256 slots).
 */
static int cmd_image(int argc, char **argv)
{
	uint64_t len, rs, R, *bits;
	uint32_t version = CLONE_VERSION;
	int r;

	if (argc != 4 && argc != 5)
		die("image FILE LEN REGION [VERSION]");
	if (argc == 5) {
		version = (uint32_t)strtoul(argv[4], NULL, 0);
		if (version < CLONE_VERSION_MIN || version > CLONE_VERSION_MAX)
			die("image: format version %s: %d to %d", argv[4],
			    CLONE_VERSION_MIN, CLONE_VERSION_MAX);
	}
	len = strtoull(argv[2], NULL, 0);
	rs = strtoull(argv[3], NULL, 0);
	R = ceil_div(len, rs);
	bits = bits_alloc(R);
	seed_input(3, 0);
	for (uint64_t i = 0; i < R / 7; i++) {
		uint64_t x = rnd(R);

		bits[x / 64] |= 1ULL << (x % 64);
	}
	unlink(argv[1]);
	r = write_metadata(argv[1], version, 0, rs, R, 1700000000, bits, NULL, "dmfuzz");
	free(bits);
	return r ? 2 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "table"))
		return cmd_table(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "msg"))
		return cmd_msg(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "meta"))
		return cmd_meta(argc - 1, argv + 1);
	if (argc == 2 && !strcmp(argv[1], "selftest"))
		return cmd_selftest();
	if (argc >= 2 && !strcmp(argv[1], "image"))
		return cmd_image(argc - 1, argv + 1);
	fprintf(stderr,
		"usage: dmfuzz table [-s SEED] [-n COUNT] [-l LEN] [-o FIRST] [-1 INDEX] [-R PCT] [-v] DEV...\n"
		"       dmfuzz msg [-s SEED] [-n COUNT] [-v] NAME\n"
		"       dmfuzz meta -m META -d DEST -S SRC -l LEN -r REGION [-s SEED] [-n RANDOM] [-a]\n"
		"                   [-o FIRST] [-1 INDEX] [-w INDEX | -W TEXT] [-F 2] [-D] [-v]\n"
		"       dmfuzz selftest | image FILE LEN REGION [VERSION]\n");
	return 2;
}
