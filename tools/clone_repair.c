// SPDX-License-Identifier: GPL-2.0
/*
 * clone_repair: salvage what the redundancy of damaged dm-clone metadata
 * allows into fresh metadata on another device. Where both copies of a
 * bitmap block are gone, the hydration state of its regions is unknown:
 * nothing is written unless the user says which guess to make.
 */
#include <getopt.h>
#include <stdlib.h>

#include "clonemd.h"

static const char *prog = "clone_repair";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s -i DEV -o DEV2 [--assume-hydrated|--assume-unhydrated]\n"
		"          [GEOMETRY [--force]] [-q]\n"
		"Read the metadata on DEV around any damage (every usable copy of every\n"
		"block) and write fresh, complete metadata to DEV2 (a missing file is\n"
		"created at the size needed).\n"
		"\n"
		"  -i, --input DEV        the damaged metadata (only read)\n"
		"  -o, --output DEV2      where to write: a block device not in use, or a\n"
		"                         regular file; never the input\n"
		"      --assume-hydrated, --assume-unhydrated\n"
		"                         what to write for regions whose state is lost\n"
		"                         (both copies of their bitmap block unusable);\n"
		"                         refused without one. Either can hurt data: see %s(8)\n"
		"  GEOMETRY, when no superblock can be trusted:\n"
		"  -R, --region-size R    the clone's region size (sectors, or with a unit)\n"
		"      --nr-regions N     its region count, or\n"
		"  -d, --device-size S    its length (sectors, or with a unit)\n"
		"      --superblock 0|1   the superblock copy to trust when they disagree\n"
		"      --force            use GEOMETRY though the bitmap contradicts it\n"
		"                         (bits set past the last region it makes)\n"
		"  -q, --quiet            only errors\n"
		"  -h, --help / -V, --version\n",
		prog, prog);
	print_exit_status(f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "assume-hydrated", no_argument, NULL, 'H' },
		{ "assume-unhydrated", no_argument, NULL, 'U' },
		{ "region-size", required_argument, NULL, 'R' },
		{ "nr-regions", required_argument, NULL, 'G' },
		{ "device-size", required_argument, NULL, 'd' },
		{ "superblock", required_argument, NULL, 'G' },
		{ "force", no_argument, NULL, 'F' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct md_opts mo = { .use_sb = -1, .salvage = 1 };
	const char *in = NULL, *out = NULL;
	uint64_t dev_sectors = 0, *lost;
	int c, idx = 0, assume = 0, quiet = 0, rc;
	struct printer p;
	struct dev d;
	struct md m;

	while ((c = getopt_long(argc, argv, "i:o:R:d:qhV", opts, &idx)) != -1) {
		switch (c) {
		case 'i': in = optarg; break;
		case 'o': out = optarg; break;
		case 'H':
		case 'U':
			if (assume_opt(c, &assume, prog))
				return EXIT_USAGE;
			break;
		case 'G':
		case 'R':
		case 'd':
			if (salvage_opt(salvage_name(c, opts[idx].name), optarg, &mo,
					&dev_sectors, prog))
				return EXIT_USAGE;
			break;
		case 'F': mo.trust_geometry = 1; break;
		case 'q': quiet = 1; break;
		default: return common_opt(c, prog, usage);
		}
	}
	if (in_out_args(argc, argv, in, out, prog) ||
	    salvage_finish(&mo, dev_sectors, prog))
		return EXIT_USAGE;
	if (mo.trust_geometry && !mo.region_size)
		return usage_error(prog, "--force goes with the geometry (--region-size and --nr-regions or --device-size)");
	rc = refuse_output(in, out, 1, "write the repaired metadata elsewhere, check it, then copy it back", prog);
	if (rc)
		return rc;
	p = (struct printer){ stderr, in, quiet };
	if (dev_open(&d, in, DEV_READ, 0) < 0) {
		open_error(in, 0, prog);
		return EXIT_FAILED;
	}
	md_analyze(&d, &mo, &m, print_report, &p);
	dev_close(&d);
	if (m.found == FOUND_ZEROED) {
		fprintf(stderr, "%s: %s is unformatted (zeroed superblocks): nothing to repair\n", prog, in);
		return EXIT_UNFORMATTED;
	}
	if (m.found != FOUND_OK) {
		fprintf(stderr, "%s: %s: nothing written: %s\n", prog, in, md_unusable(&m));
		md_free(&m);
		return EXIT_LOST;
	}

	rc = EXIT_CLEAN;
	lost = md_lost_bits(&m);
	if (lost) {
		fprintf(stderr, "%s: the hydration state of regions ", prog);
		md_print_lost(stderr, &m);
		if (!assume) {
			fprintf(stderr, " is lost: nothing written; rerun with --assume-hydrated or --assume-unhydrated (see %s(8) for what each risks)\n",
				prog);
			free(lost);
			md_free(&m);
			return EXIT_LOST;
		}
		fprintf(stderr, " is lost: writing them as %s\n",
			assume_lost(assume, m.bits, lost, m.nr_regions));
		rc = EXIT_FIXABLE;
		free(lost);
	}
	/* the version found: a ring's records are in m.bits, its slots written zeroed */
	c = write_metadata(out, m.sb.version, 1, m.region_size, m.nr_regions,
			   m.sb.format_time, m.bits, NULL, prog);
	if (c) {
		rc = c;
	} else if (!p.quiet) {
		printf("%s: %s: metadata for %llu regions of %llu sectors, %llu hydrated\n",
		       prog, out, (unsigned long long)m.nr_regions,
		       (unsigned long long)m.region_size,
		       (unsigned long long)bits_count(m.bits, m.nr_regions));
	}
	md_free(&m);
	return rc;
}
