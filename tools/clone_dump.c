// SPDX-License-Identifier: GPL-2.0
/* clone_dump: dm-clone metadata as text, XML or JSON, hydrated regions as ranges. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "clonemd.h"

static const char *prog = "clone_dump";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [-o OUT] [--format text|xml|json] [--repair [GEOMETRY]] DEV|FILE\n"
		"Print the superblock fields and the hydrated regions (as ranges).\n"
		"\n"
		"  -o, --output OUT       write to OUT instead of standard output\n"
		"  -f, --format FMT       text (default), xml or json\n"
		"  -r, --repair           read around damage the module refuses: take the\n"
		"                         usable copies, dump lost regions as unhydrated\n"
		"                         and list them (\"lost\" ranges)\n"
		"  GEOMETRY, with --repair when no superblock can be trusted:\n"
		"      --region-size R    the clone's region size (sectors, or with a unit)\n"
		"      --nr-regions N     its region count, or --device-size S (sectors, or a unit)\n"
		"      --superblock 0|1   the superblock copy to trust when they disagree\n"
		"  -h, --help / -V, --version\n"
		"\n"
		"Exit status: 0 dumped; 1 dumped with lost regions (--repair); 2 refused\n"
		"(metadata the module refuses, without --repair); 3 cannot open, read or\n"
		"write, usage error; 4 unformatted.\n",
		prog);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "repair", no_argument, NULL, 'r' },
		{ "region-size", required_argument, NULL, 'G' },
		{ "nr-regions", required_argument, NULL, 'G' },
		{ "device-size", required_argument, NULL, 'G' },
		{ "superblock", required_argument, NULL, 'G' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct md_opts mo = { .use_sb = -1 };
	enum dump_format fmt = FMT_TEXT;
	const char *out = NULL;
	uint64_t dev_sectors = 0;
	int c, idx, rc;
	struct printer p;
	struct dump dm;
	struct dev d;
	struct md m;

	while ((c = getopt_long(argc, argv, "o:f:rhV", opts, &idx)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'f':
			if (format_opt(optarg, &fmt, 0, prog))
				return EXIT_ERROR;
			break;
		case 'r': mo.salvage = 1; break;
		case 'G':
			if (salvage_opt(opts[idx].name, optarg, &mo, &dev_sectors, prog))
				return EXIT_ERROR;
			break;
		default: return common_opt(c, prog, usage);
		}
	}
	if (optind != argc - 1)
		return usage_error(usage);
	if (salvage_finish(&mo, dev_sectors, prog))
		return EXIT_ERROR;
	if ((mo.region_size || mo.use_sb >= 0) && !mo.salvage) {
		fprintf(stderr, "%s: the geometry options go with --repair\n", prog);
		return EXIT_ERROR;
	}
	p = (struct printer){ stderr, argv[optind], 0 };
	if (dev_open(&d, p.path, DEV_READ, 0) < 0) {
		fprintf(stderr, "%s: cannot open %s: %s\n", prog, p.path, strerror(errno));
		return EXIT_ERROR;
	}
	md_analyze(&d, &mo, &m, print_report, &p);
	dev_close(&d);
	if (m.found == FOUND_ZEROED) {
		fprintf(stderr, "%s: %s: unformatted (zeroed superblocks): nothing to dump\n",
			prog, p.path);
		return EXIT_UNFORMATTED;
	}
	if (m.found != FOUND_OK || (m.severity >= 2 && !mo.salvage)) {
		fprintf(stderr, "%s: %s: not dumped: %s\n", prog, p.path,
			m.found == FOUND_OK ? "the module refuses this metadata (--repair reads around the damage)" :
			"no usable superblock");
		md_free(&m);
		return EXIT_LOST;
	}

	dm = (struct dump){
		.version = CLONE_VERSION, .region_size = m.region_size,
		.nr_regions = m.nr_regions, .format_time = m.sb.format_time,
		.hydrated = m.hydrated, .bits = m.bits, .lost = md_lost_bits(&m),
	};
	rc = EXIT_CLEAN;
	if (dm.lost) {
		fprintf(stderr, "%s: %s: the state of regions ", prog, p.path);
		md_print_lost(stderr, &m);
		fprintf(stderr, " is lost: dumped as unhydrated, listed as lost\n");
		rc = EXIT_FIXABLE;
	}
	if (write_dump(out, "standard output", fmt, &dm, prog))
		rc = EXIT_ERROR;
	free(dm.lost);
	md_free(&m);
	return rc;
}
