// SPDX-License-Identifier: GPL-2.0
/*
 * clone_convert: the in-kernel dm-clone's metadata (persistent-data) into
 * this module's format, or this module's metadata from one format version
 * into another, keeping which regions are hydrated.
 */
#include <getopt.h>
#include <stdlib.h>
#include <time.h>

#include "clonemd.h"

static const char *prog = "clone_convert";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s -i DEV -o OUT [--format-version 1|2]\n"
		"          [--format text|xml|json [--force]] [-q]\n"
		"Read the metadata of the in-kernel dm-clone (Linux 5.4+) on DEV, or this\n"
		"module's metadata in another format version, and write the same hydration\n"
		"state as this module's metadata to OUT (a missing file is created at the\n"
		"size needed), or as a dump with --format.\n"
		"\n"
		"  -i, --input DEV        the in-kernel dm-clone's metadata, or this module's\n"
		"                         (only read)\n"
		"  -o, --output OUT       where to write; never the input. Metadata: a block\n"
		"                         device not in use, or a regular file; a dump:\n"
		"                         not a block device (- is standard output)\n"
		"      --format-version V the format version to write: 2 (default; a ring\n"
		"                         of records), or 1; this module's metadata in one\n"
		"                         version converts to the other. Without it, a\n"
		"                         device too small for version 2 gets version 1\n"
		"  -f, --format FMT       write a clone_dump dump (text, xml, json) instead\n"
		"      --force            write the dump to a block device (not in use)\n"
		"  -q, --quiet            no summary\n"
		"  -h, --help / -V, --version\n",
		prog);
	print_exit_status(f);
}

/* What is converted: the hydration state and the geometry. */
struct source {
	uint32_t version;	/* this module's format; 0: the in-kernel one's */
	uint64_t region_size, nr_regions, hydrated, format_time;
	uint64_t target_size;	/* the in-kernel superblock's; 0: unknown */
	uint64_t *bits;
};

/*
 * This module's metadata on @d, read as the module would into @src, to be
 * written in @version. -1 if @d holds none (the in-kernel dm-clone's then),
 * else 0 or an exit code, having said why.
 */
static int own_metadata(struct dev *d, struct source *src, uint32_t version,
			int explicit, int quiet)
{
	struct md_opts mo = { .use_sb = -1 };
	struct printer p = { stderr, d->path, quiet };
	struct md m;

	mo.super_only = 1;
	md_analyze(d, &mo, &m, NULL, NULL);
	if (m.found != FOUND_OK && m.found != FOUND_BADSB)
		return -1;
	mo.super_only = 0;
	md_analyze(d, &mo, &m, print_report, &p);
	if (m.found != FOUND_OK || m.severity >= 2) {
		fprintf(stderr, "%s: %s: nothing written: the module refuses this metadata (clone_repair writes fresh metadata from what can be read)\n",
			prog, d->path);
		md_free(&m);
		return EXIT_LOST;
	}
	if (m.sb.version == version) {
		md_free(&m);
		if (!explicit && version >= 2)
			return usage_error(prog, "%s is already in format version %u, the default: nothing to convert (--format-version 1 writes version 1)",
					   d->path, version);
		return usage_error(prog, "%s is already in format version %u: nothing to convert (--format-version names the version to write)",
				   d->path, version);
	}
	*src = (struct source){
		.version = m.sb.version, .region_size = m.region_size,
		.nr_regions = m.nr_regions, .hydrated = m.hydrated,
		.format_time = m.sb.format_time, .bits = m.bits,
	};
	m.bits = NULL;
	md_free(&m);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "format-version", required_argument, NULL, 'M' },
		{ "force", no_argument, NULL, 'F' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	enum dump_format fmt = FMT_AUTO;	/* AUTO: write metadata */
	const char *in = NULL, *out = NULL;
	int c, quiet = 0, force = 0, rc = EXIT_CLEAN, explicit = 0;
	uint32_t version = CLONE_VERSION;
	uint64_t slots = 0;
	struct upstream u;
	struct source src = { 0 };
	char err[512];
	struct dev d;

	while ((c = getopt_long(argc, argv, "i:o:f:qhV", opts, NULL)) != -1) {
		switch (c) {
		case 'i': in = optarg; break;
		case 'o': out = optarg; break;
		case 'f':
			if (format_opt(optarg, &fmt, 0, prog))
				return EXIT_USAGE;
			break;
		case 'F': force = 1; break;
		case 'M':
			if (version_opt(optarg, &version, prog))
				return EXIT_USAGE;
			explicit = 1;
			break;
		case 'q': quiet = 1; break;
		default: return common_opt(c, prog, usage);
		}
	}
	if (in_out_args(argc, argv, in, out, prog))
		return EXIT_USAGE;
	if (force && fmt == FMT_AUTO)
		return usage_error(prog, "--force goes with --format (a dump to a block device)");
	rc = refuse_output(in, out, fmt == FMT_AUTO, "convert to another device, check it, then copy it back", prog);
	if (rc)
		return rc;
	if (dev_open(&d, in, DEV_READ, 0) < 0) {
		open_error(in, 0, prog);
		return EXIT_FAILED;
	}
	if (d.busy)
		fprintf(stderr, "%s: %s is in use: convert the metadata of a clone that is not running\n",
			prog, in);
	c = own_metadata(&d, &src, version, explicit, quiet);
	if (c < 0) {
		c = upstream_read(&d, &u, 0, err, sizeof(err));
		if (c) {
			dev_close(&d);
			fprintf(stderr, "%s: %s: %s\n", prog, in, err);
			return EXIT_LOST;
		}
		src = (struct source){
			.region_size = u.region_size, .nr_regions = u.nr_regions,
			.target_size = u.target_size, .hydrated = u.hydrated,
			.format_time = (uint64_t)time(NULL), .bits = u.bits,
		};
		if (!quiet)
			fprintf(stderr, "%s: %s: in-kernel dm-clone metadata: %llu regions of %llu sectors (length %llu sectors), %llu hydrated\n",
				prog, in, (unsigned long long)u.nr_regions,
				(unsigned long long)u.region_size,
				(unsigned long long)u.target_size, (unsigned long long)u.hydrated);
	} else if (c) {
		dev_close(&d);
		return c;
	} else if (!quiet) {
		fprintf(stderr, "%s: %s: dm-clone metadata in format version %u: %llu regions of %llu sectors, %llu hydrated\n",
			prog, in, src.version, (unsigned long long)src.nr_regions,
			(unsigned long long)src.region_size,
			(unsigned long long)src.hydrated);
	}
	dev_close(&d);

	if (fmt != FMT_AUTO) {
		struct dump dm = {
			.version = version, .region_size = src.region_size,
			.nr_regions = src.nr_regions, .format_time = src.format_time,
			.hydrated = src.hydrated, .bits = src.bits,
		};

		rc = write_dump(out, fmt, &dm, force, prog);
	} else {
		rc = write_metadata(out, version, !explicit, src.region_size,
				    src.nr_regions, src.format_time, src.bits, &slots,
				    prog);
		if (!rc && version >= 2 && !slots)
			version = 1;	/* it did not fit: written as the module formats */
		if (!rc && !quiet && src.target_size)
			fprintf(stderr, "%s: %s: metadata written; load it with the same table (region size %llu, length %llu)\n",
				prog, out, (unsigned long long)src.region_size,
				(unsigned long long)src.target_size);
		else if (!rc && !quiet)
			fprintf(stderr, "%s: %s: metadata written in format version %u; load it with the same table\n",
				prog, out, version);
	}
	free(src.bits);
	return rc;
}
