// SPDX-License-Identifier: GPL-2.0
/* Command-line helpers shared by the tools. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clonemd.h"

void print_version(const char *prog)
{
	printf("%s %s (dm-clone metadata format version %d for new metadata; reads and writes versions %d to %d)\n",
	       prog, TOOLS_VERSION, CLONE_VERSION, CLONE_VERSION_MIN, CLONE_VERSION_MAX);
}

static int try_help(const char *prog)
{
	fprintf(stderr, "Try '%s --help'.\n", prog);
	return EXIT_USAGE;
}

int usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return try_help(prog);
}

int common_opt(int c, const char *prog, void (*usage)(FILE *))
{
	if (c == 'h')
		usage(stdout);
	else if (c == 'V')
		print_version(prog);
	else
		return try_help(prog);
	return EXIT_CLEAN;
}

void print_exit_status(FILE *f)
{
	fputs("\n"
	      "Exit status, the same for every dm-clone tool and script:\n"
	      "  0    success (clean, done)\n"
	      "  1    damage that loses nothing found or repaired; a lost state guessed\n"
	      "  2    hydration state lost, or metadata refused\n"
	      "  3    usage error (a bad option or argument)\n"
	      "  4    the metadata device is unformatted (zeroed)\n"
	      "  5    failed: cannot open, read or write a device or file; a device-mapper\n"
	      "       call failed; an entry failed, or a script refused\n"
	      "  130  interrupted (SIGINT, SIGTERM), where a tool or script handles it\n",
	      f);
}

int end_of_args(int argc, char **argv, int operands, const char *prog)
{
	if (argc - optind > operands)
		return usage_error(prog, "unexpected argument '%s'", argv[optind + operands]);
	if (argc - optind < operands)
		return usage_error(prog, "no device or file given");
	return 0;
}

int in_out_args(int argc, char **argv, const char *in, const char *out,
		const char *prog)
{
	if (!in || !out)
		return usage_error(prog, "-i and -o are both required");
	return end_of_args(argc, argv, 0, prog);
}

int format_opt(const char *arg, enum dump_format *fmt, int allow_auto,
	       const char *prog)
{
	if (parse_format(arg, fmt) || (*fmt == FMT_AUTO && !allow_auto)) {
		usage_error(prog, "unknown format '%s' (%stext, xml, json)", arg,
			    allow_auto ? "auto, " : "");
		return -1;
	}
	return 0;
}

int assume_opt(int c, int *assume, const char *prog)
{
	if (*assume && *assume != c) {
		usage_error(prog, "--assume-hydrated or --assume-unhydrated, not both");
		return -1;
	}
	*assume = c;
	return 0;
}

const char *assume_lost(int assume, uint64_t *bits, const uint64_t *lost,
			uint64_t nr_regions)
{
	if (assume != 'H')
		return "unhydrated";
	for (uint64_t i = 0; i < bitmap_blocks(nr_regions) * WORDS_PER_BLOCK; i++)
		bits[i] |= lost[i];
	return "hydrated";
}

int refuse_output(const char *in, const char *out, int metadata,
		  const char *why, const char *prog)
{
	if (metadata && out && !strcmp(out, "-"))
		return usage_error(prog, "-: metadata is not written to standard output (only dumps are): give a device or file (./- for a file named -)");
	if (!same_file(in, out))
		return 0;
	fprintf(stderr, "%s: %s and %s are the same file or device: %s\n", prog,
		in, out ? out : "standard output", why);
	return EXIT_FAILED;
}

int version_opt(const char *arg, uint32_t *version, const char *prog)
{
	uint64_t v;

	if (parse_u64(arg, &v) || v < CLONE_VERSION_MIN || v > CLONE_VERSION_MAX) {
		usage_error(prog, "format version '%s': these tools write versions %d to %d", arg,
			    CLONE_VERSION_MIN, CLONE_VERSION_MAX);
		return -1;
	}
	*version = (uint32_t)v;
	return 0;
}

int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t unit, uint64_t *out)
{
	static const struct { const char *suffix; uint64_t bytes; } units[] = {
		{ "", 0 }, { "s", 512 }, { "b", 1 }, { "B", 1 },
		{ "k", 1ULL << 10 }, { "K", 1ULL << 10 }, { "KiB", 1ULL << 10 },
		{ "m", 1ULL << 20 }, { "M", 1ULL << 20 }, { "MiB", 1ULL << 20 },
		{ "g", 1ULL << 30 }, { "G", 1ULL << 30 }, { "GiB", 1ULL << 30 },
		{ "t", 1ULL << 40 }, { "T", 1ULL << 40 }, { "TiB", 1ULL << 40 },
		{ "p", 1ULL << 50 }, { "P", 1ULL << 50 }, { "PiB", 1ULL << 50 },
	};
	char num[32];
	size_t n = strspn(s, "0123456789");
	uint64_t v;

	if (!n || n >= sizeof(num))
		return -1;
	memcpy(num, s, n);
	num[n] = 0;
	if (parse_u64(num, &v))
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t m = units[i].bytes ? units[i].bytes : unit;

		if (strcmp(s + n, units[i].suffix))
			continue;
		if (v > UINT64_MAX / m)
			return -1;
		*out = v * m;
		return 0;
	}
	return -1;
}

char *read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t cap = 1 << 16, n = 0;
	char *buf;

	if (!f)
		return NULL;
	buf = xcalloc(cap, 1);
	for (;;) {
		size_t r = fread(buf + n, 1, cap - n, f);

		n += r;
		if (n < cap) {
			if (ferror(f)) {
				free(buf);
				buf = NULL;
			}
			break;
		}
		cap *= 2;
		char *nb = realloc(buf, cap);

		if (!nb) {
			free(buf);
			buf = NULL;
			errno = ENOMEM;
			break;
		}
		buf = nb;
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
}

void print_report(void *ctx, int sev, const char *msg)
{
	const struct printer *p = ctx;
	static const char *const label[] = { "note: ", "warning: ", "error: " };

	if (!p->quiet)
		fprintf(p->f, "%s: %s%s\n", p->path, label[sev < 0 ? 0 : sev > 2 ? 2 : sev], msg);
}

void json_put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

const char *salvage_name(int c, const char *long_name)
{
	return c == 'R' ? "region-size" : c == 'd' ? "device-size" : long_name;
}

int salvage_opt(const char *name, const char *arg, struct md_opts *o,
		uint64_t *device_sectors, const char *prog)
{
	uint64_t v;

	if (!strcmp(name, "region-size")) {
		if (parse_size(arg, 512, &v) || v % 512)
			goto bad;
		o->region_size = v / 512;
	} else if (!strcmp(name, "nr-regions")) {
		if (parse_u64(arg, &o->nr_regions))
			goto bad;
	} else if (!strcmp(name, "device-size")) {
		if (parse_size(arg, 512, &v) || v % 512 || !v)
			goto bad;
		*device_sectors = v / 512;
	} else if (!strcmp(name, "superblock")) {
		if (strcmp(arg, "0") && strcmp(arg, "1"))
			goto bad;
		o->use_sb = arg[0] - '0';
	} else {
		return 1;
	}
	return 0;
bad:
	usage_error(prog, "bad --%s '%s'", name, arg);
	return -1;
}

int salvage_finish(struct md_opts *o, uint64_t device_sectors, const char *prog)
{
	const char *why;

	if (!o->region_size && !o->nr_regions && !device_sectors)
		return 0;
	if (!o->region_size || (!o->nr_regions && !device_sectors)) {
		usage_error(prog, "the geometry needs --region-size and --nr-regions (or --device-size)");
		return -1;
	}
	why = check_region_size(o->region_size);
	if (why) {
		usage_error(prog, "region size %llu sectors: %s",
			    (unsigned long long)o->region_size, why);
		return -1;
	}
	if (device_sectors) {
		uint64_t n = (device_sectors + o->region_size - 1) / o->region_size;

		if (o->nr_regions && o->nr_regions != n) {
			usage_error(prog, "--device-size makes %llu regions, --nr-regions says %llu",
				    (unsigned long long)n, (unsigned long long)o->nr_regions);
			return -1;
		}
		o->nr_regions = n;
	}
	why = check_nr_regions(o->nr_regions);
	if (why) {
		usage_error(prog, "%llu regions: %s", (unsigned long long)o->nr_regions, why);
		return -1;
	}
	return 0;
}

int write_metadata(const char *path, uint32_t version, int fallback,
		   uint64_t region_size, uint64_t nr_regions, uint64_t format_time,
		   const uint64_t *bits, uint64_t *slots, const char *prog)
{
	uint64_t need = layout_blocks_v(version, nr_regions, CLONE_RING_SLOTS) *
			CLONE_BLOCK_SIZE;
	uint64_t want = bits_count(bits, nr_regions);
	struct md_opts mo = { .use_sb = -1 };
	struct dev d;
	struct md m;
	int rc;

	if (dev_open(&d, path, DEV_CREATE, need) < 0) {
		open_error(path, 1, prog);
		return EXIT_FAILED;
	}
	if (fallback && version >= 2 && !clone_ring_slots_for(nr_regions, d.blocks) &&
	    d.blocks >= layout_blocks(nr_regions)) {
		uint64_t v2 = layout_blocks_v(version, nr_regions, CLONE_RING_MIN_SLOTS);

		fprintf(stderr, "%s: warning: %s: %llu bytes: too small for format version %u (%llu regions need at least %llu bytes, %llu sectors, with a ring of %d slots): writing format version 1, as the module formats it (--format-version %u refuses instead)\n",
			prog, path, (unsigned long long)d.size, version,
			(unsigned long long)nr_regions,
			(unsigned long long)(v2 * CLONE_BLOCK_SIZE),
			(unsigned long long)(v2 * CLONE_BLOCK_SECTORS),
			CLONE_RING_MIN_SLOTS, version);
		version = 1;
	}
	rc = md_write(&d, version, region_size, nr_regions, format_time, bits, prog);
	if (!rc) {
		/* read it back as the module would: the proof it will load */
		md_analyze(&d, &mo, &m, NULL, NULL);
		if (m.found != FOUND_OK || m.severity || m.hydrated != want ||
		    m.sb.version != version || m.replayed ||
		    m.region_size != region_size || m.nr_regions != nr_regions) {
			fprintf(stderr, "%s: %s: the metadata written does not read back right\n",
				prog, path);
			rc = EXIT_FAILED;
		}
		if (slots)
			*slots = m.sb.ring_slots;
		md_free(&m);
	}
	if (d.fd >= 0 && close(d.fd) < 0 && !rc) {
		fprintf(stderr, "%s: closing %s: %s\n", prog, path, strerror(errno));
		rc = EXIT_FAILED;
	}
	return rc;
}

/*
 * A dump's output (NULL: standard output): anything (a file, a pipe,
 * /dev/null) but a block device, where a dump is never sensible and may
 * overwrite metadata or a file system; with @force one not in use. NULL
 * having said why.
 */
static FILE *open_dump(const char *path, int force, const char *prog)
{
	struct stat st;
	int fd, bdev;
	FILE *f;

	bdev = !(path ? stat(path, &st) : fstat(STDOUT_FILENO, &st)) &&
	       S_ISBLK(st.st_mode);
	if (bdev && !force) {
		fprintf(stderr, "%s: %s is a block device: a dump is text, not written there without --force\n",
			prog, path ? path : "standard output");
		return NULL;
	}
	if (!path)
		return stdout;
	fd = bdev ? open_bdev(path, O_WRONLY, NULL) :
		    open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		open_error(path, 1, prog);
		if (fd >= 0)
			close(fd);
	}
	return f;
}

int write_dump(const char *path, enum dump_format fmt, const struct dump *dm,
	       int force, const char *prog)
{
	FILE *f;

	if (path && !strcmp(path, "-"))
		path = NULL;
	f = open_dump(path, force, prog);
	if (!f)
		return EXIT_FAILED;
	dump_write(f, fmt, dm);
	if (fflush(f) || ferror(f) || (path && fclose(f))) {
		fprintf(stderr, "%s: writing %s: %s\n", prog,
			path ? path : "standard output", strerror(errno));
		return EXIT_FAILED;
	}
	return 0;
}
