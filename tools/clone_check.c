// SPDX-License-Identifier: GPL-2.0
/*
 * clone_check: verify dm-clone metadata the way the module reads it, and
 * say for every problem what it means for the data.
 */
#include <getopt.h>
#include <stdlib.h>
#include <time.h>

#include "clonemd.h"

static const char *prog = "clone_check";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [-q] [-v] [--json] [--super-block-only] DEV|FILE\n"
		"Check dm-clone metadata: both superblock copies, every bitmap block of\n"
		"both copies, the copies against each other, the geometry and the size;\n"
		"in format version 2, the ring of records replayed from the checkpoint.\n"
		"\n"
		"  -q, --quiet            print nothing; the exit status says it all\n"
		"  -v, --verbose          the superblock fields and every bitmap block\n"
		"      --json             the verdict and every problem as one JSON object\n"
		"      --super-block-only check the superblocks (and the size) only\n"
		"  -h, --help             this help\n"
		"  -V, --version          the tool and format versions\n",
		prog);
	print_exit_status(f);
}

static const char *state_name(int s, const char *why)
{
	return s == BLK_VALID ? "valid" : s == BLK_ZERO ? "zeroed" : why;
}

static void verbose(const struct md *m)
{
	const struct super *s = &m->sb;
	time_t t = (time_t)s->format_time;
	char when[64] = "?";
	struct tm tm;

	for (int i = 0; i < 2; i++)
		printf("superblock copy %d (block %d): %s%s\n", i, i,
		       state_name(m->sb_state[i], m->sb_why[i]),
		       m->found == FOUND_OK && m->sb_copy == i ? ", in use" : "");
	if (m->found != FOUND_OK)
		return;
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	printf("  version %u, flags 0x%x, nonce 0x%016llx\n"
	       "  region_size %llu sectors, nr_regions %llu, bitmap_blocks %llu\n"
	       "  copy_start %llu %llu, block_size %u, bits_per_block %u\n"
	       "  format_time %llu (%s)\n",
	       s->version, s->flags, (unsigned long long)s->nonce,
	       (unsigned long long)s->region_size, (unsigned long long)s->nr_regions,
	       (unsigned long long)s->bitmap_blocks,
	       (unsigned long long)s->copy_start[0], (unsigned long long)s->copy_start[1],
	       s->block_size, s->bits_per_block,
	       (unsigned long long)s->format_time, when);
	if (s->version >= 2)
		printf("  checkpoint %llu, ring_start %llu, ring_slots %u\n",
		       (unsigned long long)s->checkpoint,
		       (unsigned long long)s->ring_start, s->ring_slots);
	if (!m->blk)
		return;
	if (s->version >= 2)
		printf("ring: %llu records replayed from position %llu, stopped at position %llu (slot %llu): %s; %llu regions hydrated past the bitmap\n",
		       (unsigned long long)m->replayed, (unsigned long long)s->checkpoint,
		       (unsigned long long)m->ring_end,
		       (unsigned long long)(m->ring_end % s->ring_slots), m->ring_why,
		       (unsigned long long)m->ring_added);
	for (uint64_t k = 0; k < m->nr_blocks; k++) {
		const struct bmblock *b = &m->blk[k];
		uint64_t first = block_first(k);

		printf("bitmap block %llu (regions %llu-%llu): A (block %llu) %s, B (block %llu) %s",
		       (unsigned long long)k, (unsigned long long)first,
		       (unsigned long long)(first + block_regions(m->nr_regions, k) - 1),
		       (unsigned long long)md_bitmap_block(m, k, 0),
		       state_name(b->state[0], b->why[0]),
		       (unsigned long long)md_bitmap_block(m, k, 1),
		       state_name(b->state[1], b->why[1]));
		if (b->lost)
			printf(": LOST\n");
		else
			printf(": %u hydrated%s%s\n", b->hydrated,
			       b->only[0] && b->only[1] ? ", copies differ both ways" :
			       b->only[0] ? ", copy B behind" :
			       b->only[1] ? ", copy A behind" : "",
			       b->stray ? ", bits past the last region" : "");
	}
}

/* --json: the problems, kept until the verdict is known */
struct json_report {
	int n, cap;
	int *sev;
	char **msg;
};

static void json_collect(void *ctx, int sev, const char *msg)
{
	struct json_report *j = ctx;

	if (j->n == j->cap) {
		j->cap = j->cap ? 2 * j->cap : 16;
		j->sev = xrealloc(j->sev, (size_t)j->cap * sizeof(*j->sev));
		j->msg = xrealloc(j->msg, (size_t)j->cap * sizeof(*j->msg));
	}
	j->sev[j->n] = sev;
	j->msg[j->n] = xstrdup(msg);
	j->n++;
}

static const char *verdict(const struct md *m, int rc)
{
	if (m->found == FOUND_ZEROED)
		return "unformatted";
	return rc == 0 ? "clean" : rc == 1 ? "damaged" :
	       m->lost_blocks || m->ring_unknown ? "lost" : "refused";
}

static void json_print(const char *path, const struct md *m, const struct md_opts *mo,
		       struct json_report *j, int rc)
{
	static const char *const sev[] = { "note", "warning", "error" };

	printf("{\"device\":");
	json_put_string(stdout, path);
	printf(",\"verdict\":\"%s\",\"exit_status\":%d", verdict(m, rc), rc);
	if (m->found == FOUND_OK) {
		printf(",\"regions\":%llu,\"region_sectors\":%llu,\"metadata_blocks\":%llu",
		       (unsigned long long)m->nr_regions, (unsigned long long)m->region_size,
		       (unsigned long long)md_layout_blocks(m));
		if (!mo->super_only)
			printf(",\"hydrated\":%llu,\"lost_blocks\":%llu,\"damaged_copies\":%llu",
			       (unsigned long long)m->hydrated,
			       (unsigned long long)m->lost_blocks,
			       (unsigned long long)m->damaged_copies);
		if (m->sb.version >= 2) {
			printf(",\"format_version\":%u,\"checkpoint\":%llu,\"ring_slots\":%u",
			       m->sb.version, (unsigned long long)m->sb.checkpoint,
			       m->sb.ring_slots);
			if (!mo->super_only)
				printf(",\"records_replayed\":%llu,\"ring_end\":%llu",
				       (unsigned long long)m->replayed,
				       (unsigned long long)m->ring_end);
		}
	}
	printf(",\"problems\":[");
	for (int i = 0; i < j->n; i++) {
		printf("%s{\"severity\":\"%s\",\"message\":", i ? "," : "",
		       sev[j->sev[i] < 0 ? 0 : j->sev[i] > 2 ? 2 : j->sev[i]]);
		json_put_string(stdout, j->msg[i]);
		printf("}");
		free(j->msg[i]);
	}
	printf("]}\n");
	free(j->sev);
	free(j->msg);
}

/* The layouts a zeroed device can take (the module formats only zeroes). */
static void zeroed(const struct printer *p, const struct dev *d, const struct md *m)
{
	uint64_t end = m->first_data ? m->first_data : d->blocks;
	uint64_t n = end < 4 ? 0 : (end - CLONE_SB_BLOCKS) / 2;
	uint64_t regions = n * CLONE_BITS_PER_BLOCK;

	if (regions > CLONE_MAX_REGIONS)
		regions = CLONE_MAX_REGIONS;
	if (p->quiet)
		return;
	if (m->first_data)
		printf("%s: unformatted: the superblocks are zeroed, but block %llu holds data: the module formats this device only for a clone of at most %llu regions (zero it to use it for more)\n",
		       p->path, (unsigned long long)m->first_data,
		       (unsigned long long)regions);
	else
		printf("%s: unformatted (zeroed): the module formats it at the first table load, for a clone of up to %llu regions\n",
		       p->path, (unsigned long long)regions);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "super-block-only", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct md_opts mo = { .use_sb = -1 };
	int quiet = 0, verb = 0, json = 0, c, rc;
	struct json_report jr = { 0 };
	struct printer p;
	struct dev d;
	struct md m;

	while ((c = getopt_long(argc, argv, "qvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'q': quiet = 1; break;
		case 'v': verb = 1; break;
		case 's': mo.super_only = 1; break;
		case 'j': json = 1; break;
		default: return common_opt(c, prog, usage);
		}
	}
	if (end_of_args(argc, argv, 1, prog))
		return EXIT_USAGE;
	if (json && (quiet || verb))
		return usage_error(prog, "--json does not go with -q or -v");
	p = (struct printer){ stdout, argv[optind], quiet };
	if (dev_open(&d, p.path, DEV_READ, 0) < 0) {
		if (!quiet)
			open_error(p.path, 0, prog);
		if (json) {
			printf("{\"device\":");
			json_put_string(stdout, p.path);
			printf(",\"verdict\":\"unreadable\",\"exit_status\":%d,\"problems\":[]}\n",
			       EXIT_FAILED);
		}
		return EXIT_FAILED;
	}
	if (d.busy)
		(json ? json_collect : print_report)(json ? (void *)&jr : (void *)&p, 0,
			"in use (by a live clone?): what is on disk can lag behind it by the commit in progress");
	md_analyze(&d, &mo, &m, json ? json_collect : print_report, json ? (void *)&jr : (void *)&p);
	dev_close(&d);
	if (verb && !quiet)
		verbose(&m);

	if (m.found == FOUND_ZEROED) {
		if (json)
			json_print(p.path, &m, &mo, &jr, EXIT_UNFORMATTED);
		else
			zeroed(&p, &d, &m);
		md_free(&m);
		return EXIT_UNFORMATTED;
	}
	rc = m.severity;
	if (json) {
		json_print(p.path, &m, &mo, &jr, rc);
		md_free(&m);
		return rc;
	}
	if (!quiet && m.found == FOUND_OK) {
		printf("%s: %llu regions of %llu sectors, %llu blocks of metadata", p.path,
		       (unsigned long long)m.nr_regions, (unsigned long long)m.region_size,
		       (unsigned long long)md_layout_blocks(&m));
		if (m.sb.version >= 2)
			printf(" (format version %u)", m.sb.version);
		if (!mo.super_only)
			printf(", %llu hydrated (%.1f%%)", (unsigned long long)m.hydrated,
			       100.0 * (double)m.hydrated / (double)m.nr_regions);
		if (!mo.super_only && m.sb.version >= 2)
			printf(", %llu record%s replayed", (unsigned long long)m.replayed,
			       m.replayed == 1 ? "" : "s");
		printf(": %s\n", rc == 0 ? "clean" : rc == 1 && m.damaged_copies ?
		       "damaged, loads; one copy of a bitmap block lost (see above)" :
		       rc == 1 && m.ring_damaged ?
		       "damaged, loads; one copy of a record lost (see above)" :
		       rc == 1 ? "damaged, nothing lost" :
		       m.lost_blocks || m.ring_unknown ? "hydration state LOST (see clone_repair)" :
		       "the module refuses this metadata");
	}
	md_free(&m);
	return rc;
}
