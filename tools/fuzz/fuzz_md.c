// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the two parsers of untrusted input in libclonemd:
 * the metadata analysis (format versions 1 and 2, the ring replayed) and
 * the dump parser. The first input byte picks:
 *
 *   bit 0  the rest is a dump (text, XML or JSON), else a metadata image
 *   bit 1  image: reseal every block first (fix the checksums), so that the
 *          fuzzer gets past the CRC into the field checks and the bitmap
 *   bit 2  image: salvage mode (as clone_repair), with a geometry from
 *          the next two bytes
 *   bit 3  image: the in-kernel dm-clone's format (clone_convert); bit 1
 *          then reseals with persistent-data checksums
 *
 * Beyond not crashing, two properties are checked: what the analysis reads
 * dumps and parses back to the same bitmap, and a parsed dump written out
 * parses back to the same bitmap (dump -> restore -> dump is exact).
 */
#include <stdlib.h>
#include <string.h>

#include "clonemd.h"

/* keep every iteration fast: no more bitmap than this is walked */
#define MAX_REGIONS (1U << 22)

static void same_after_reparse(const struct dump *dm, enum dump_format fmt)
{
	char *buf = NULL, err[256];
	size_t len = 0;
	struct dump back;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		abort();
	dump_write(f, fmt, dm);
	fclose(f);
	if (dump_parse(buf, len, FMT_AUTO, MAX_REGIONS, &back, err, sizeof(err))) {
		fprintf(stderr, "a dump written does not parse: %s\n%s\n", err, buf);
		abort();
	}
	uint64_t words = bitmap_blocks(dm->nr_regions) * WORDS_PER_BLOCK;

	if (back.nr_regions != dm->nr_regions || back.region_size != dm->region_size ||
	    back.format_time != dm->format_time || back.hydrated != dm->hydrated ||
	    memcmp(back.bits, dm->bits, words * 8) ||
	    (!back.lost != !dm->lost) ||
	    (dm->lost && memcmp(back.lost, dm->lost, words * 8))) {
		fprintf(stderr, "dump round trip differs\n");
		abort();
	}
	dump_free(&back);
	free(buf);
}

static void fuzz_image(const uint8_t *data, size_t size, int mode)
{
	struct md_opts mo = { .use_sb = -1, .max_regions = MAX_REGIONS };
	size_t blocks = size / CLONE_BLOCK_SIZE;
	uint8_t *img;
	struct dev d;
	struct md m;

	if (mode & 4 && size >= 2) {
		mo.salvage = 1;
		mo.region_size = 8ULL << (data[0] % 19);
		mo.nr_regions = 1 + data[1] * 1000ULL;
		mo.use_sb = data[0] & 0x80 ? data[1] & 1 : -1;
	}
	/* a copy: the analysis must not depend on more than it is given */
	img = malloc(size ? size : 1);
	memcpy(img, data, size);
	if (mode & 2)
		for (size_t b = 0; b < blocks; b++)
			put_le32(img + b * CLONE_BLOCK_SIZE,
				 block_csum(img + b * CLONE_BLOCK_SIZE));
	dev_open_mem(&d, img, size);
	md_analyze(&d, &mo, &m, NULL, NULL);
	if (m.found == FOUND_OK) {
		struct dump dm = {
			.version = m.sb.version, .region_size = m.region_size,
			.nr_regions = m.nr_regions, .format_time = m.sb.format_time,
			.hydrated = m.hydrated, .bits = m.bits, .lost = md_lost_bits(&m),
		};

		if (bits_count(m.bits, m.nr_regions) != m.hydrated)
			abort();
		if (check_region_size(m.region_size) == NULL)
			same_after_reparse(&dm, (enum dump_format)(1 + data[size ? size - 1 : 0] % 3));
		free(dm.lost);
	}
	md_free(&m);
	free(img);
}

static void fuzz_upstream(const uint8_t *data, size_t size, int mode)
{
	uint8_t *img = malloc(size ? size : 1);
	struct upstream u;
	struct dev d;
	char err[256];

	memcpy(img, data, size);
	for (size_t b = 0; mode & 2 && b < size / CLONE_BLOCK_SIZE; b++) {
		uint8_t *p = img + b * CLONE_BLOCK_SIZE;
		uint32_t flags = get_le32(p + 4);

		/* superblock, btree node (flags 1 or 2) or array block */
		put_le32(p, pd_csum(p, b == 0 ? 257649492U :
				    flags == 1 || flags == 2 ? 121107U : 595846735U));
	}
	dev_open_mem(&d, img, size);
	if (!upstream_read(&d, &u, MAX_REGIONS, err, sizeof(err))) {
		if (bits_count(u.bits, u.nr_regions) != u.hydrated)
			abort();
		free(u.bits);
	}
	free(img);
}

static void fuzz_dump(const uint8_t *data, size_t size)
{
	struct dump dm;
	char err[256];

	if (dump_parse((const char *)data, size, FMT_AUTO, MAX_REGIONS, &dm, err, sizeof(err)))
		return;
	for (int fmt = FMT_TEXT; fmt <= FMT_JSON; fmt++)
		same_after_reparse(&dm, (enum dump_format)fmt);
	dump_free(&dm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] & 1)
		fuzz_dump(data + 1, size - 1);
	else if (data[0] & 8)
		fuzz_upstream(data + 1, size - 1, data[0]);
	else
		fuzz_image(data + 1, size - 1, data[0]);
	return 0;
}
