// SPDX-License-Identifier: GPL-2.0
/*
 * clone_convert: the in-kernel dm-clone's metadata (persistent-data) into
 * this module's format, keeping which regions are hydrated.
 */
#include <getopt.h>
#include <stdlib.h>
#include <time.h>

#include "clonemd.h"

static const char *prog = "clone_convert";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s -i DEV -o OUT [--format text|xml|json [--force]] [-q]\n"
		"Read the metadata of the in-kernel dm-clone (Linux 5.4+) on DEV and write\n"
		"the same hydration state as this module's metadata to OUT (a missing file\n"
		"is created at the size needed), or as a dump with --format.\n"
		"\n"
		"  -i, --input DEV        the in-kernel dm-clone's metadata (only read)\n"
		"  -o, --output OUT       where to write; never the input. Metadata: a block\n"
		"                         device not in use, or a regular file; a dump:\n"
		"                         not a block device (- is standard output)\n"
		"  -f, --format FMT       write a clone_dump dump (text, xml, json) instead\n"
		"      --force            write the dump to a block device (not in use)\n"
		"  -q, --quiet            no summary\n"
		"  -h, --help / -V, --version\n",
		prog);
	print_exit_status(f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "force", no_argument, NULL, 'F' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	enum dump_format fmt = FMT_AUTO;	/* AUTO: write metadata */
	const char *in = NULL, *out = NULL;
	int c, quiet = 0, force = 0, rc = EXIT_CLEAN;
	struct upstream u;
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
	c = upstream_read(&d, &u, 0, err, sizeof(err));
	dev_close(&d);
	if (c) {
		fprintf(stderr, "%s: %s: %s\n", prog, in, err);
		return EXIT_LOST;
	}
	if (!quiet)
		fprintf(stderr, "%s: %s: in-kernel dm-clone metadata: %llu regions of %llu sectors (length %llu sectors), %llu hydrated\n",
			prog, in, (unsigned long long)u.nr_regions,
			(unsigned long long)u.region_size,
			(unsigned long long)u.target_size, (unsigned long long)u.hydrated);

	if (fmt != FMT_AUTO) {
		struct dump dm = {
			.version = CLONE_VERSION, .region_size = u.region_size,
			.nr_regions = u.nr_regions, .format_time = (uint64_t)time(NULL),
			.hydrated = u.hydrated, .bits = u.bits,
		};

		rc = write_dump(out, fmt, &dm, force, prog);
	} else {
		rc = write_metadata(out, u.region_size, u.nr_regions, (uint64_t)time(NULL),
				    u.bits, prog);
		if (!rc && !quiet)
			fprintf(stderr, "%s: %s: metadata written; load it with the same table (region size %llu, length %llu)\n",
				prog, out, (unsigned long long)u.region_size,
				(unsigned long long)u.target_size);
	}
	free(u.bits);
	return rc;
}
