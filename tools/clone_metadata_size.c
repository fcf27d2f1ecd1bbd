// SPDX-License-Identifier: GPL-2.0
/*
 * clone_metadata_size: the metadata device size a clone needs, exactly what
 * the module checks at table load: (2 + 2 * ceil(regions / 32512)) blocks
 * of 4 KiB in format version 1, 2 * 256 more in version 2 (its ring of
 * records; the default), regions = ceil(device sectors / region sectors).
 */
#include <getopt.h>
#include <string.h>

#include "clonemd.h"

static const char *prog = "clone_metadata_size";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s --device-size S --region-size R\n"
		"          [--format-version 1|2] [--unit U | --json]\n"
		"The metadata device size a dm-clone device needs.\n"
		"\n"
		"  -d, --device-size S    the clone's length (its table's length)\n"
		"  -R, --region-size R    its region size, a power of two from 8 to 2097152\n"
		"                         sectors (4 KiB to 1 GiB)\n"
		"      --format-version V the metadata format version: 2 (default) with its\n"
		"                         ring of 256 records, or 1\n"
		"  -u, --unit U           print only the size, rounded up to whole U:\n"
		"                         b (bytes), s (sectors), k, m, g (KiB, MiB, GiB)\n"
		"                         or blocks (4 KiB)\n"
		"      --json             the figures as one JSON object\n"
		"  -h, --help / -V, --version\n"
		"\n"
		"Sizes are 512-byte sectors, as in dmsetup tables and blockdev --getsz,\n"
		"unless a unit follows: s (sectors), b (bytes), k, M, G, T, P (KiB ...,\n"
		"also K, KiB, m, MiB, ...).\n",
		prog);
	print_exit_status(f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device-size", required_argument, NULL, 'd' },
		{ "region-size", required_argument, NULL, 'R' },
		{ "unit", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ "format-version", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct { const char *name; uint64_t bytes; } units[] = {
		{ "b", 1 }, { "s", 512 }, { "k", 1024 }, { "m", 1 << 20 },
		{ "g", 1 << 30 }, { "blocks", CLONE_BLOCK_SIZE },
	};
	uint64_t dev = 0, reg = 0, unit = 0, regions, blocks, bytes;
	uint32_t version = CLONE_VERSION;
	const char *why;
	int c, json = 0;

	while ((c = getopt_long(argc, argv, "d:R:u:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (parse_size(optarg, 512, &dev) || !dev || dev % 512)
				return usage_error(prog, "device size '%s': not a positive whole number of sectors",
						   optarg);
			break;
		case 'R':
			if (parse_size(optarg, 512, &reg) || reg % 512)
				return usage_error(prog, "region size '%s': not a whole number of sectors",
						   optarg);
			break;
		case 'u':
			for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
				if (!strcasecmp(optarg, units[i].name))
					unit = units[i].bytes;
			if (!unit)
				return usage_error(prog, "unknown unit '%s' (b, s, k, m, g, blocks)",
						   optarg);
			break;
		case 'j': json = 1; break;
		case 'M':
			if (version_opt(optarg, &version, prog))
				return EXIT_USAGE;
			break;
		default: return common_opt(c, prog, usage);
		}
	}
	if (json && unit)
		return usage_error(prog, "--json and --unit exclude each other");
	if (!dev || !reg)
		return usage_error(prog, "--device-size and --region-size are both required");
	if (end_of_args(argc, argv, 0, prog))
		return EXIT_USAGE;
	dev /= 512;
	reg /= 512;
	why = check_region_size(reg);
	if (why)
		return usage_error(prog, "region size %llu sectors: %s",
				   (unsigned long long)reg, why);
	regions = dev / reg + (dev % reg != 0);
	why = check_nr_regions(regions);
	if (why)
		return usage_error(prog, "%llu regions of %llu sectors: %s (the module's limit): use larger regions",
				   (unsigned long long)regions, (unsigned long long)reg, why);
	blocks = layout_blocks_v(version, regions, CLONE_RING_SLOTS);
	bytes = blocks * CLONE_BLOCK_SIZE;
	if (json)
		printf("{\"bytes\":%llu,\"sectors\":%llu,\"blocks\":%llu,\"regions\":%llu,\"region_sectors\":%llu,\"device_sectors\":%llu}\n",
		       (unsigned long long)bytes, (unsigned long long)(bytes / 512),
		       (unsigned long long)blocks, (unsigned long long)regions,
		       (unsigned long long)reg, (unsigned long long)dev);
	else if (unit)
		printf("%llu\n", (unsigned long long)((bytes + unit - 1) / unit));
	else
		printf("%llu bytes = %llu sectors (%llu blocks of 4 KiB) for %llu regions of %llu sectors%s\n",
		       (unsigned long long)bytes, (unsigned long long)(bytes / 512),
		       (unsigned long long)blocks, (unsigned long long)regions,
		       (unsigned long long)reg,
		       version >= 2 ? " in format version 2 (a ring of 256 records)" : "");
	return 0;
}
