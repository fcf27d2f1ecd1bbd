// SPDX-License-Identifier: GPL-2.0
/* clone_dump: dm-clone metadata as text, XML or JSON, hydrated regions as ranges. */
#include <getopt.h>
#include <stdlib.h>

#include "clonemd.h"

static const char *prog = "clone_dump";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [-o OUT] [--format text|xml|json] [--repair [GEOMETRY]]\n"
		"          [--force] DEV|FILE\n"
		"Print the superblock fields and the hydrated regions (as ranges).\n"
		"\n"
		"  -o, --output OUT       write to OUT instead of standard output (-); never\n"
		"                         the input, nor a block device without --force\n"
		"  -f, --format FMT       text (default), xml or json\n"
		"  -r, --repair           read around damage the module refuses: take the\n"
		"                         usable copies, dump lost regions as unhydrated\n"
		"                         and list them (\"lost\" ranges)\n"
		"  GEOMETRY, with --repair when no superblock can be trusted:\n"
		"  -R, --region-size R    the clone's region size (sectors, or with a unit)\n"
		"      --nr-regions N     its region count, or\n"
		"  -d, --device-size S    its length (sectors, or with a unit)\n"
		"      --superblock 0|1   the superblock copy to trust when they disagree\n"
		"      --force            write to a block device (one not in use); with\n"
		"                         GEOMETRY, use it though the bitmap contradicts it\n"
		"  -h, --help / -V, --version\n",
		prog);
	print_exit_status(f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "repair", no_argument, NULL, 'r' },
		{ "region-size", required_argument, NULL, 'R' },
		{ "nr-regions", required_argument, NULL, 'G' },
		{ "device-size", required_argument, NULL, 'd' },
		{ "superblock", required_argument, NULL, 'G' },
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct md_opts mo = { .use_sb = -1 };
	enum dump_format fmt = FMT_TEXT;
	const char *out = NULL;
	uint64_t dev_sectors = 0;
	int c, idx = 0, rc, force = 0;
	struct printer p;
	struct dump dm;
	struct dev d;
	struct md m;

	while ((c = getopt_long(argc, argv, "o:f:rR:d:hV", opts, &idx)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'f':
			if (format_opt(optarg, &fmt, 0, prog))
				return EXIT_USAGE;
			break;
		case 'r': mo.salvage = 1; break;
		case 'G':
		case 'R':
		case 'd':
			if (salvage_opt(salvage_name(c, opts[idx].name), optarg, &mo,
					&dev_sectors, prog))
				return EXIT_USAGE;
			break;
		case 'F': force = 1; break;
		default: return common_opt(c, prog, usage);
		}
	}
	if (end_of_args(argc, argv, 1, prog) ||
	    salvage_finish(&mo, dev_sectors, prog))
		return EXIT_USAGE;
	if ((mo.region_size || mo.use_sb >= 0) && !mo.salvage)
		return usage_error(prog, "the geometry options go with --repair");
	mo.trust_geometry = force;
	p = (struct printer){ stderr, argv[optind], 0 };
	rc = refuse_output(p.path, out, 0, "the dump would overwrite the metadata it reads", prog);
	if (rc)
		return rc;
	if (dev_open(&d, p.path, DEV_READ, 0) < 0) {
		open_error(p.path, 0, prog);
		return EXIT_FAILED;
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
			md_unusable(&m));
		md_free(&m);
		return EXIT_LOST;
	}

	dm = (struct dump){
		.version = m.sb.version, .region_size = m.region_size,
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
	if (write_dump(out, fmt, &dm, force, prog))
		rc = EXIT_FAILED;
	free(dm.lost);
	md_free(&m);
	return rc;
}
