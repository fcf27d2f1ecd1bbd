// SPDX-License-Identifier: GPL-2.0
/* clone_restore: write fresh dm-clone metadata from a clone_dump dump. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "clonemd.h"

static const char *prog = "clone_restore";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s -i DUMP -o DEV|FILE [--format auto|text|xml|json]\n"
		"          [--format-version 1|2] [--assume-hydrated|--assume-unhydrated] [-q]\n"
		"Write complete metadata (both superblocks, both bitmap copies, a fresh\n"
		"nonce) from a dump made by clone_dump. A missing FILE is created at the\n"
		"size the metadata needs; an existing one must be at least that large.\n"
		"\n"
		"  -i, --input DUMP       the dump (- for standard input)\n"
		"  -o, --output DEV|FILE  where to write the metadata: a block device not\n"
		"                         in use, or a regular file; never the dump\n"
		"  -f, --format FMT       the dump's format; auto (default) tells by its first character\n"
		"      --format-version V the metadata format version to write: 1, or 2 (a ring\n"
		"                         of records); default: the version the dump names;\n"
		"                         without it, a device too small for version 2\n"
		"                         gets version 1 (with a warning)\n"
		"      --assume-hydrated, --assume-unhydrated\n"
		"                         what to make of \"lost\" ranges (clone_dump --repair);\n"
		"                         a dump with lost ranges is refused without one\n"
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
		{ "format-version", required_argument, NULL, 'M' },
		{ "assume-hydrated", no_argument, NULL, 'H' },
		{ "assume-unhydrated", no_argument, NULL, 'U' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	enum dump_format fmt = FMT_AUTO;
	const char *in = NULL, *out = NULL;
	int c, assume = 0, quiet = 0, rc, explicit;
	uint32_t version = 0;	/* 0: the dump's */
	uint64_t slots = 0;
	char err[512];
	struct dump dm;
	size_t len;
	char *text;

	while ((c = getopt_long(argc, argv, "i:o:f:qhV", opts, NULL)) != -1) {
		switch (c) {
		case 'i': in = optarg; break;
		case 'o': out = optarg; break;
		case 'f':
			if (format_opt(optarg, &fmt, 1, prog))
				return EXIT_USAGE;
			break;
		case 'H':
		case 'U':
			if (assume_opt(c, &assume, prog))
				return EXIT_USAGE;
			break;
		case 'M':
			if (version_opt(optarg, &version, prog))
				return EXIT_USAGE;
			break;
		case 'q': quiet = 1; break;
		default: return common_opt(c, prog, usage);
		}
	}
	rc = in_out_args(argc, argv, in, out, prog);
	if (!rc)
		rc = refuse_output(in, out, 1, "the metadata would overwrite the dump it is made from", prog);
	if (rc)
		return rc;
	text = read_all(in, &len);
	if (!text) {
		fprintf(stderr, "%s: cannot read %s: %s\n", prog, in, strerror(errno));
		return EXIT_FAILED;
	}
	rc = dump_parse(text, len, fmt, CLONE_MAX_REGIONS, &dm, err, sizeof(err));
	free(text);
	if (rc) {
		fprintf(stderr, "%s: %s: not a valid dump: %s\n", prog, in, err);
		return EXIT_LOST;
	}

	rc = EXIT_CLEAN;
	if (dm.lost) {
		uint64_t n = bits_count(dm.lost, dm.nr_regions);
		const char *as;

		if (!assume) {
			fprintf(stderr, "%s: %s: the state of %llu regions is lost (the dump's \"lost\" ranges): give --assume-hydrated or --assume-unhydrated (see %s(8) for what each risks)\n",
				prog, in, (unsigned long long)n, prog);
			dump_free(&dm);
			return EXIT_LOST;
		}
		as = assume_lost(assume, dm.bits, dm.lost, dm.nr_regions);
		if (!quiet)
			printf("%s: %llu lost regions written as %s\n", prog,
			       (unsigned long long)n, as);
		rc = EXIT_FIXABLE;
	}
	explicit = version != 0;
	if (!version)
		version = dm.version ? dm.version : CLONE_VERSION;
	c = write_metadata(out, version, !explicit, dm.region_size, dm.nr_regions,
			   dm.format_time, dm.bits, &slots, prog);
	if (!c && version >= 2 && !slots)
		version = 1;	/* it did not fit: written as the module formats */
	if (c) {
		rc = c;
	} else if (!quiet) {
		printf("%s: %s: metadata for %llu regions of %llu sectors, %llu hydrated (%llu blocks of 4 KiB",
		       prog, out, (unsigned long long)dm.nr_regions,
		       (unsigned long long)dm.region_size,
		       (unsigned long long)bits_count(dm.bits, dm.nr_regions),
		       (unsigned long long)layout_blocks_v(version, dm.nr_regions, slots));
		if (version >= 2)
			printf("; format version %u, a ring of %llu records", version,
			       (unsigned long long)slots);
		printf(")\n");
	}
	dump_free(&dm);
	return rc;
}
