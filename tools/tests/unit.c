// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of libclonemd and the clone_* tools, run by `make -C tools
 * test` with everything built under ASan/UBSan.
 *
 *   unit BINDIR WORKDIR
 *
 * Library functions are called directly; the tools are run from BINDIR on
 * images in WORKDIR/PID (removed after a run that passes), and their exit
 * status and messages checked. Prints a line per failed check and a
 * summary; exits 1 if anything failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clonemd.h"

static const char *bindir, *work;
static char workdir[512];
static int passed, failed;
static char out[1 << 22];	/* output of the last run() */

#define CHECK(cond, ...) check_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
__attribute__((format(printf, 4, 5)))
static int check_(int ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		passed++;
		return 1;
	}
	failed++;
	printf("FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return 0;
}

static const char *path(const char *name)
{
	static char buf[8][512];
	static unsigned int n;
	char *b = buf[n++ % 8];

	snprintf(b, sizeof(buf[0]), "%s/%s", work, name);
	return b;
}

/* Run "TOOL ARGS" from bindir; output (both streams) into out[]. */
__attribute__((format(printf, 1, 2)))
static int run(const char *fmt, ...)
{
	char cmd[2048], args[1536];
	va_list ap;
	FILE *f;
	size_t n;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	/* the tools from bindir, anything else (cat) from $PATH */
	snprintf(cmd, sizeof(cmd), "cd %s && %s%s%s >%s/out 2>&1", work,
		 strncmp(args, "clone_", 6) ? "" : bindir,
		 strncmp(args, "clone_", 6) ? "" : "/", args, work);
	st = system(cmd);
	out[0] = 0;
	f = fopen(path("out"), "r");
	if (f) {
		n = fread(out, 1, sizeof(out) - 1, f);
		out[n] = 0;
		fclose(f);
	}
	if (!WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* run() and check the exit status and that each of the words is in the output */
#define EXPECT(rc, words, ...) expect_(__FILE__, __LINE__, rc, words, __VA_ARGS__)
__attribute__((format(printf, 5, 6)))
static void expect_(const char *file, int line, int want, const char *words,
		    const char *fmt, ...)
{
	char args[1536], w[512], *save, *tok;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	rc = run("%s", args);
	if (!check_(rc == want, file, line, "'%s': exit %d, want %d; output:\n%.2000s",
		    args, rc, want, out))
		return;
	snprintf(w, sizeof(w), "%s", words ? words : "");
	for (tok = strtok_r(w, "|", &save); tok; tok = strtok_r(NULL, "|", &save))
		check_(strstr(out, tok) != NULL, file, line,
		       "'%s': no '%s' in the output:\n%.2000s", args, tok, out);
}

/* ---- images ---- */

/* A metadata image of @nr regions with every @every-th region hydrated. */
static void make_image(const char *name, uint64_t rs, uint64_t nr, uint64_t every)
{
	uint64_t *bits = bits_alloc(nr);

	unlink(path(name));
	for (uint64_t r = 0; every && r < nr; r += every)
		bits_set_range(bits, r, r + 1);
	if (write_metadata(path(name), 1, 0, rs, nr, 1700000000, bits, NULL, "unit"))
		CHECK(0, "write_metadata %s", name);
	free(bits);
}

static void rw_block(const char *name, uint64_t block, uint8_t *b, int write)
{
	FILE *f = fopen(path(name), write ? "r+b" : "rb");

	if (!f || fseek(f, (long)(block * CLONE_BLOCK_SIZE), SEEK_SET) ||
	    (write ? fwrite(b, CLONE_BLOCK_SIZE, 1, f) : fread(b, CLONE_BLOCK_SIZE, 1, f)) != 1)
		CHECK(0, "%s block %llu of %s", write ? "writing" : "reading",
		      (unsigned long long)block, name);
	if (f)
		fclose(f);
}

/* Change @len bytes at @off of a block; @reseal: fix the checksum after. */
static void patch(const char *name, uint64_t block, size_t off, const void *bytes,
		  size_t len, int reseal)
{
	uint8_t b[CLONE_BLOCK_SIZE];

	rw_block(name, block, b, 0);
	memcpy(b + off, bytes, len);
	if (reseal)
		put_le32(b, block_csum(b));
	rw_block(name, block, b, 1);
}

static void patch32(const char *name, uint64_t block, size_t off, uint32_t v, int reseal)
{
	uint8_t le[4];

	put_le32(le, v);
	patch(name, block, off, le, 4, reseal);
}

static void patch64(const char *name, uint64_t block, size_t off, uint64_t v, int reseal)
{
	uint8_t le[8];

	put_le64(le, v);
	patch(name, block, off, le, 8, reseal);
}

/* OR @v into the le64 at @off and reseal */
static void or64(const char *name, uint64_t block, size_t off, uint64_t v)
{
	uint8_t b[CLONE_BLOCK_SIZE];

	rw_block(name, block, b, 0);
	put_le64(b + off, get_le64(b + off) | v);
	put_le32(b, block_csum(b));
	rw_block(name, block, b, 1);
}

static void flip(const char *name, uint64_t block, size_t off)
{
	uint8_t b[CLONE_BLOCK_SIZE];

	rw_block(name, block, b, 0);
	b[off] ^= 0x40;
	rw_block(name, block, b, 1);
}

static int file_eq(const char *a, const char *b)
{
	size_t la, lb;
	char *da = read_all(path(a), &la), *db = read_all(path(b), &lb);
	int eq = da && db && la == lb && !memcmp(da, db, la);

	free(da);
	free(db);
	return eq;
}

/* ---- the library ---- */

static void test_crc(void)
{
	uint8_t buf[4096 + 7];

	CHECK((~crc32c(~0U, "123456789", 9)) == 0xe3069283, "crc32c known vector");
	CHECK((~crc32c_sw(~0U, "123456789", 9)) == 0xe3069283, "crc32c_sw known vector");
	srand(1);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (size_t len = 0; len < 40; len++)
		for (size_t off = 0; off < 8; off++)
			CHECK(crc32c(~0U, buf + off, len) == crc32c_sw(~0U, buf + off, len),
			      "crc32c hw == sw at %zu+%zu", off, len);
	CHECK(crc32c(~0U, buf, 4096) == crc32c_sw(~0U, buf, 4096), "crc32c 4096");
	/* piecewise == whole */
	CHECK(crc32c(crc32c(~0U, buf, 1000), buf + 1000, 3096) == crc32c(~0U, buf, 4096),
	      "crc32c is incremental");
}

static void test_le(void)
{
	uint8_t b[8];

	put_le64(b, 0x0102030405060708ULL);
	CHECK(b[0] == 8 && b[7] == 1, "put_le64 is little-endian");
	CHECK(get_le64(b) == 0x0102030405060708ULL, "le64 round trip");
	put_le32(b, 0xdeadbeef);
	CHECK(b[0] == 0xef && get_le32(b) == 0xdeadbeef, "le32 round trip");
	put_le32(b, CLONE_KIND_SUPER);
	CHECK(!memcmp(b, "SUPR", 4), "SUPR reads as ASCII");
	put_le32(b, CLONE_KIND_BITMAP);
	CHECK(!memcmp(b, "BMAP", 4), "BMAP reads as ASCII");
}

static void test_blocks(void)
{
	uint8_t b[CLONE_BLOCK_SIZE] = { 0 };
	uint64_t nonce = 42, other = 43;
	const char *why;

	CHECK(check_block(b, CLONE_KIND_BITMAP, 5, &nonce, 3, 0, &why) == BLK_ZERO,
	      "zero block is zeroed");
	b[100] = 1;
	seal_block(b, CLONE_KIND_BITMAP, 5, nonce, 3, 0);
	CHECK(check_block(b, CLONE_KIND_BITMAP, 5, &nonce, 3, 0, &why) == BLK_VALID,
	      "sealed block is valid");
	CHECK(check_block(b, CLONE_KIND_SUPER, 5, &nonce, 3, 0, &why) == BLK_BAD &&
	      strstr(why, "kind"), "wrong kind");
	CHECK(check_block(b, CLONE_KIND_BITMAP, 6, &nonce, 3, 0, &why) == BLK_BAD &&
	      strstr(why, "misplaced"), "wrong blocknr");
	CHECK(check_block(b, CLONE_KIND_BITMAP, 5, &nonce, 4, 0, &why) == BLK_BAD &&
	      strstr(why, "misplaced"), "wrong index");
	CHECK(check_block(b, CLONE_KIND_BITMAP, 5, &nonce, 3, 1, &why) == BLK_BAD &&
	      strstr(why, "misplaced"), "wrong copy");
	CHECK(check_block(b, CLONE_KIND_BITMAP, 5, &other, 3, 0, &why) == BLK_BAD &&
	      strstr(why, "nonce"), "wrong nonce");
	CHECK(check_block(b, CLONE_KIND_BITMAP, 5, NULL, 3, 0, &why) == BLK_VALID,
	      "no nonce to check");
	b[4000] ^= 1;
	CHECK(check_block(b, CLONE_KIND_BITMAP, 5, &nonce, 3, 0, &why) == BLK_BAD &&
	      strstr(why, "checksum"), "flipped bit: checksum");
}

static void test_bits(void)
{
	uint64_t *b = bits_alloc(1000);

	bits_set_range(b, 3, 130);
	bits_set_range(b, 500, 501);
	CHECK(bits_count(b, 1000) == 128, "bits_count");
	CHECK(bits_next(b, 0, 1000, 1) == 3, "next set");
	CHECK(bits_next(b, 3, 1000, 0) == 130, "next clear");
	CHECK(bits_next(b, 130, 1000, 1) == 500, "next set 2");
	CHECK(bits_next(b, 501, 1000, 1) == 1000, "no more set");
	CHECK(bits_next(b, 64, 100, 0) == 100, "clear bounded by end");
	free(b);
}

static void test_sizes(void)
{
	uint64_t v;

	CHECK(!parse_size("100", 512, &v) && v == 51200, "plain = unit");
	CHECK(!parse_size("8s", 1, &v) && v == 4096, "s suffix");
	CHECK(!parse_size("64k", 512, &v) && v == 65536, "k suffix");
	CHECK(!parse_size("16T", 512, &v) && v == 1ULL << 44, "T suffix");
	CHECK(!parse_size("3GiB", 512, &v) && v == 3ULL << 30, "GiB suffix");
	CHECK(!parse_size("7b", 512, &v) && v == 7, "b suffix");
	CHECK(parse_size("1x", 512, &v), "unknown suffix");
	CHECK(parse_size("", 512, &v), "empty");
	CHECK(parse_size("99999999999999999999", 1, &v), "overflow");
	CHECK(parse_size("16000000P", 1, &v), "overflow with a unit");
	CHECK(check_region_size(8) == NULL && check_region_size(2097152) == NULL &&
	      check_region_size(4) && check_region_size(24) && check_region_size(4194304),
	      "region size limits");
	CHECK(!check_nr_regions(1ULL << 31) && check_nr_regions((1ULL << 31) + 1) &&
	      check_nr_regions(0), "region count limits");
	CHECK(layout_blocks(32768) == 6 && layout_blocks(32512) == 4 &&
	      layout_blocks(1ULL << 31) == 132108, "layout sizes");
}

/* In-process analysis of an image in memory, with unreadable blocks. */
static void test_mem_and_io_errors(void)
{
	size_t len;
	char *img;
	struct md_opts mo = { .use_sb = -1 };
	struct dev d;
	struct md m;

	make_image("mem.img", 8, 70000, 3);	/* N = 3: blocks 0-7 */
	img = read_all(path("mem.img"), &len);
	if (!CHECK(img && len == 8 * CLONE_BLOCK_SIZE, "image size"))
		return;
	dev_open_mem(&d, img, len);
	md_analyze(&d, &mo, &m, NULL, NULL);
	CHECK(m.found == FOUND_OK && m.severity == 0 && m.hydrated == 23334,
	      "memory image: clean, 23334 hydrated (got %llu)", (unsigned long long)m.hydrated);
	md_free(&m);
	d.fail_block_from = 7;		/* copy B of block 2 unreadable */
	md_analyze(&d, &mo, &m, NULL, NULL);
	CHECK(m.severity == 1 && m.damaged_copies == 1 && m.blk[2].state[1] == BLK_UNREADABLE,
	      "one unreadable copy: loads, one copy damaged");
	md_free(&m);
	d.fail_block_from = 4;		/* copy A of block 2, all of copy B */
	md_analyze(&d, &mo, &m, NULL, NULL);
	CHECK(m.severity == 2 && m.lost_blocks == 1 && m.blk[2].lost && !m.blk[1].lost,
	      "unreadable both copies: block 2 lost");
	md_free(&m);
	/* truncated in memory: the last block of copy B missing */
	dev_open_mem(&d, img, len - CLONE_BLOCK_SIZE);
	md_analyze(&d, &mo, &m, NULL, NULL);
	CHECK(m.severity == 2 && !m.lost_blocks && m.hydrated == 23334,
	      "truncated: refused (too small) but nothing lost");
	md_free(&m);
	free(img);
}

/* ---- the dump parser ---- */

static int parse(const char *text, struct dump *dm, char *err)
{
	return dump_parse(text, strlen(text), FMT_AUTO, CLONE_MAX_REGIONS, dm, err, 256);
}

static void test_parser(void)
{
	static const struct { const char *text, *err; } bad[] = {
		{ "version 1\nregion_size 8\n", "no nr_regions" },
		{ "version 3\nregion_size 8\nnr_regions 5\n", "versions 1 to 2" },
		{ "version 0\nregion_size 8\nnr_regions 5\n", "versions 1 to 2" },
		{ "version 1\nregion_size 12\nnr_regions 5\n", "region size" },
		{ "version 1\nregion_size 8\nnr_regions 0\n", "nr_regions" },
		{ "version 1\nregion_size 8\nnr_regions 2147483649\n", "2^31" },
		{ "version 1\nregion_size 8\nnr_regions 5\nrange 3-5\n", "past the last" },
		{ "version 1\nregion_size 8\nnr_regions 5\nrange 3-2\n", "backwards" },
		{ "version 1\nregion_size 8\nnr_regions 9\nrange 3-5\nrange 4\n", "overlaps" },
		{ "version 1\nregion_size 8\nnr_regions 9\nhydrated 3\nrange 3\n", "hydrated 3" },
		{ "version 1\nregion_size 8\nrange 3\nnr_regions 9\n", "before nr_regions" },
		{ "version 1\nregion_size 8\nnr_regions 9\nrange 3\nformat_time 1\n", "after the ranges" },
		{ "version 1\nversion 1\n", "twice" },
		{ "version 1\ncolour 8\n", "unknown field" },
		{ "version 1 2\n", "unexpected" },
		{ "version x\n", "number expected" },
		{ "version 99999999999999999999999\n", "too large" },
		{ "version 1\nregion_size 8\nnr_regions 9\nrange 3\nlost 3\n", "both hydrated and lost" },
		{ "<dm_clone_metadata version=\"1\" region_size=\"8\">", "nr_regions" },
		{ "<dm_clone_metadata version=\"1\" region_size=\"8\" nr_regions=\"9\"><range first=\"1\"/></dm_clone_metadata>", "first and last" },
		{ "<dm_clone_metadata version=\"1\" region_size=\"8\" nr_regions=\"9\"><rung first=\"1\" last=\"1\"/></dm_clone_metadata>", "expected" },
		{ "<dm_clone_metadata version=\"1\" region_size=\"8\" nr_regions=\"9\"/>x", "data after" },
		{ "<!-- open", "unterminated" },
		{ "{\"version\": 1, \"region_size\": 8}", "no nr_regions" },
		{ "{\"version\": 1, \"region_size\": 8, \"nr_regions\": 9, \"ranges\": [[1, 2], [2, 3]]}", "overlaps" },
		{ "{\"version\": 1, \"region_size\": 8, \"nr_regions\": 9, \"ranges\": [[1 2]]}", "','" },
		{ "{\"version\": 1, \"bogus\": 8}", "unknown field" },
		{ "{\"version\": 1,}", "string expected" },
		{ "{\"version\": 1} {", "data after" },
		{ "{\"ver\\sion\": 1}", "unexpected character" },
	};
	struct dump dm;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i].text, &dm, err);

		if (CHECK(r == -1, "parsing '%s' should fail", bad[i].text))
			CHECK(strstr(err, bad[i].err), "parsing '%s': error '%s', want '%s'",
			      bad[i].text, err, bad[i].err);
		else
			dump_free(&dm);
	}
	/* what the formats allow */
	CHECK(!parse("  # c\nversion 1 # c\n region_size\t8\nnr_regions 100\nrange 5\nrange 7-9 # c\n", &dm, err) &&
	      dm.hydrated == 4 && dm.format_time, "text with comments: %s", err);
	dump_free(&dm);
	CHECK(!parse("<?xml version=\"1.0\"?>\n<!-- c -->\n<dm_clone_metadata  version='1' region_size=\"8\" nr_regions=\"100\" >\n<!-- c --><range first=\"5\" last='9' />\n</dm_clone_metadata >\n", &dm, err) &&
	      dm.hydrated == 5, "xml: %s", err);
	dump_free(&dm);
	CHECK(!parse("{\"version\":1,\"region_size\":8,\"nr_regions\":100,\"ranges\":[],\"lost\":[[0,9]]}", &dm, err) &&
	      dm.hydrated == 0 && dm.lost && bits_count(dm.lost, 100) == 10, "json: %s", err);
	dump_free(&dm);
	CHECK(dump_parse("version 1\nregion_size 8\nnr_regions 100000\n", 40, FMT_TEXT, 1000, &dm, err, 256) == -1 &&
	      strstr(err, "more than this parser takes"), "max_regions bound");
}

/* ---- the tools ---- */

/* The output of the last run() is @what, then where help is: two lines. */
static void usage_only(const char *tool, const char *what)
{
	char want[512];
	size_t n = strlen(out), w, lines = 0;

	w = (size_t)snprintf(want, sizeof(want), "%s\nTry '%s --help'.\n",
			     what, tool);
	for (const char *c = out; *c; c++)
		lines += *c == '\n';
	/* getopt's line for an unknown option starts with the path run */
	CHECK(n >= w && !strcmp(out + n - w, want) && lines == 2,
	      "%s: a usage error is '%s' and where help is, got:\n%s", tool, what, out);
	CHECK(!strstr(out, "Usage"), "%s: a usage error prints the whole help:\n%s", tool, out);
}

static void test_versions(void)
{
	static const char *tools[] = { "clone_check", "clone_dump", "clone_restore",
				       "clone_repair", "clone_metadata_size", "clone_convert" };
	/* one argument too many for each */
	static const char *extra[] = { "a.img b.img", "a.img b.img", "-i a -o b b.img",
				       "-i a -o b b.img", "-d 1G -R 8 b.img", "-i a -o b b.img" };
	/* usage errors: the command, its tool and its one-line message */
	static const struct { const char *cmd, *tool, *msg; } usage_errors[] = {
		{ "clone_dump", "clone_dump", "clone_dump: no device or file given" },
		{ "clone_check -q", "clone_check", "clone_check: no device or file given" },
		{ "clone_restore -i x", "clone_restore", "clone_restore: -i and -o are both required" },
		{ "clone_repair -o x", "clone_repair", "clone_repair: -i and -o are both required" },
		{ "clone_convert", "clone_convert", "clone_convert: -i and -o are both required" },
		{ "clone_metadata_size -d 1G", "clone_metadata_size",
		  "clone_metadata_size: --device-size and --region-size are both required" },
		{ "clone_dump --region-size 8 --nr-regions 5 x.img", "clone_dump",
		  "clone_dump: the geometry options go with --repair" },
		/* --force overrides no refusal but those it is documented for */
		{ "clone_repair --force -i x -o y", "clone_repair",
		  "clone_repair: --force goes with the geometry (--region-size and --nr-regions or --device-size)" },
		{ "clone_convert --force -i x -o y", "clone_convert",
		  "clone_convert: --force goes with --format (a dump to a block device)" },
	};
	char what[64];

	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		EXPECT(0, TOOLS_VERSION "|format version 2 for new metadata|versions 1 to 2", "%s --version", tools[i]);
		EXPECT(0, "Usage", "%s --help", tools[i]);
		/* a usage error: what was wrong and where help is, not the help */
		EXPECT(EXIT_USAGE, "", "%s --no-such-option", tools[i]);
		usage_only(tools[i], "unrecognized option '--no-such-option'");
		EXPECT(EXIT_USAGE, "", "%s %s", tools[i], extra[i]);
		snprintf(what, sizeof(what), "%s: unexpected argument 'b.img'", tools[i]);
		usage_only(tools[i], what);
	}
	for (size_t i = 0; i < sizeof(usage_errors) / sizeof(usage_errors[0]); i++) {
		EXPECT(EXIT_USAGE, "", "%s", usage_errors[i].cmd);
		usage_only(usage_errors[i].tool, usage_errors[i].msg);
	}
	/* the option errors some of them share (util.c) */
	EXPECT(EXIT_USAGE, "clone_dump: unknown format 'auto' (text, xml, json)", "clone_dump -f auto x.img");
	EXPECT(EXIT_USAGE, "clone_convert: unknown format 'x' (text, xml, json)", "clone_convert -f x -i x -o y");
	EXPECT(EXIT_USAGE, "clone_restore: unknown format 'x' (auto, text, xml, json)", "clone_restore -f x -i x -o y");
	EXPECT(EXIT_USAGE, "clone_restore: --assume-hydrated or --assume-unhydrated, not both",
	       "clone_restore -i x -o y --assume-hydrated --assume-unhydrated");
	EXPECT(EXIT_USAGE, "clone_dump: bad --region-size '12x'", "clone_dump --repair --region-size 12x x.img");
	EXPECT(EXIT_USAGE, "clone_repair: bad --superblock '2'", "clone_repair -i x -o y --superblock 2");
}

/* Every superblock field, in both copies (resealed) or in one. */
static void test_superblock(void)
{
	static const struct { const char *name; size_t off; int size; uint64_t v; int rc; const char *msg; } f[] = {
		{ "magic", 32, 8, 0x656e6f6c632d6d65ULL, 2, "bad magic" },
		{ "version", 40, 4, 3, 2, "version 3" },
		{ "version", 40, 4, 0, 2, "version 0" },
		{ "version", 40, 4, 2, 2, "ring of 0 slots" },	/* version 1's layout as 2 */
		{ "reserved", 104, 8, 1, 1, "reserved bytes 104-4095" },	/* version 2's checkpoint */
		{ "flags", 44, 4, 1, 2, "flags 0x1" },
		{ "region_size", 48, 8, 12, 2, "power of two" },
		{ "region_size", 48, 8, 4194304, 2, "power of two" },
		{ "region_size", 48, 8, 256, 0, "clean" },	/* another valid geometry */
		{ "nr_regions", 56, 8, 70001, 0, "clean" },	/* same N: fine */
		{ "nr_regions", 56, 8, 100000, 2, "need 4" },
		{ "nr_regions", 56, 8, 0, 2, "no region" },
		{ "nr_regions", 56, 8, (1ULL << 31) + 1, 2, "2^31" },
		{ "bitmap_blocks", 64, 8, 4, 2, "inconsistent layout" },
		{ "copy_start[0]", 72, 8, 3, 2, "inconsistent layout" },
		{ "copy_start[1]", 80, 8, 4, 2, "inconsistent layout" },
		{ "block_size", 88, 4, 8192, 2, "block size 8192" },
		{ "bits_per_block", 92, 4, 32768, 2, "bits per block" },
		{ "format_time", 96, 8, 1, 0, "clean" },
		{ "reserved", 200, 8, 1, 1, "reserved bytes" },
		{ "kind", 4, 4, CLONE_KIND_BITMAP, 2, "unrecognised data" },
		{ "blocknr", 8, 8, 7, 2, "misplaced" },
		{ "index", 24, 4, 1, 2, "misplaced" },
		{ "copy", 28, 4, 2, 2, "misplaced" },
		{ "nonce", 16, 8, 5, 2, "other nonce" },	/* bitmap blocks no longer match */
	};
	char img[64];

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		snprintf(img, sizeof(img), "sb%zu.img", i);
		make_image(img, 8, 70000, 7);
		for (int cp = 0; cp < 2; cp++) {
			if (f[i].size == 4)
				patch32(img, cp, f[i].off, (uint32_t)f[i].v, 1);
			else
				patch64(img, cp, f[i].off, f[i].v, 1);
		}
		CHECK(run("clone_check %s", img) == f[i].rc && strstr(out, f[i].msg),
		      "%s = %llu in both copies: want exit %d and '%s', got:\n%s", f[i].name,
		      (unsigned long long)f[i].v, f[i].rc, f[i].msg, out);
		/* the same in copy 1 only */
		make_image(img, 8, 70000, 7);
		if (f[i].size == 4)
			patch32(img, 1, f[i].off, (uint32_t)f[i].v, 1);
		else
			patch64(img, 1, f[i].off, f[i].v, 1);
		int want = !strcmp(f[i].name, "nonce") ? 1 :
			   f[i].off < 32 ? 1 : 2;	/* header: copy 1 invalid; body: disagree */
		CHECK(run("clone_check %s", img) == want, "%s in copy 1 only: want exit %d, got:\n%s",
		      f[i].name, want, out);
		/* damaged (checksum) in copy 0 only: nothing lost */
		make_image(img, 8, 70000, 7);
		flip(img, 0, f[i].off);
		EXPECT(1, "superblock copy 0 (block 0) checksum mismatch|nothing lost", "clone_check %s", img);
		unlink(path(img));
	}
	make_image("sb.img", 8, 70000, 7);
	flip("sb.img", 0, 100);
	flip("sb.img", 1, 100);
	EXPECT(2, "no valid superblock: copy 0 (block 0) checksum mismatch, copy 1 (block 1) checksum mismatch",
	       "clone_check sb.img");
	/* an interrupted format: copy 1 written, copy 0 still zeroed */
	make_image("sb.img", 8, 70000, 7);
	patch("sb.img", 0, 0, (uint8_t[CLONE_BLOCK_SIZE]){ 0 }, CLONE_BLOCK_SIZE, 0);
	EXPECT(1, "copy 0 (block 0) zeroed", "clone_check sb.img");
	/* copies disagree: refused; clone_repair --superblock picks one */
	make_image("sb.img", 8, 70000, 7);
	patch64("sb.img", 1, 96, 5, 1);
	EXPECT(2, "disagree (format_time 1700000000/5)", "clone_check sb.img");
	EXPECT(2, "--superblock", "clone_repair -i sb.img -o sbr.img");
	EXPECT(0, "", "clone_repair -i sb.img -o sbr.img --superblock 1");
	EXPECT(0, "format_time 5", "clone_dump sbr.img");
	unlink(path("sbr.img"));
	make_image("sb.img", 8, 70000, 7);
	EXPECT(0, "70000 regions of 8 sectors, 8 blocks of metadata: clean", "clone_check --super-block-only sb.img");
	CHECK(!strstr(out, "hydrated"), "--super-block-only reads no bitmap: %s", out);
	EXPECT(0, "superblock copy 1 (block 1): valid|nonce 0x|format_time 1700000000 (2023-11-14",
	       "clone_check -v sb.img");
	unlink(path("sb.img"));
}

static void test_bitmap_damage(void)
{
	/* 70000 regions: N = 3, copy A blocks 2-4, copy B blocks 5-7 */
	make_image("bm.img", 8, 70000, 5);
	EXPECT(0, "70000 regions of 8 sectors|14000 hydrated|clean", "clone_check bm.img");
	EXPECT(0, "{\"device\":\"bm.img\",\"verdict\":\"clean\",\"exit_status\":0,\"regions\":70000,"
	       "\"region_sectors\":8,|\"hydrated\":14000,\"lost_blocks\":0,|\"problems\":[]}",
	       "clone_check --json bm.img");
	EXPECT(EXIT_USAGE, "--json does not go with -q", "clone_check --json -q bm.img");
	EXPECT(0, "", "clone_check -q bm.img");
	CHECK(!out[0], "-q prints nothing: %s", out);
	flip("bm.img", 3, 2000);
	EXPECT(1, "bitmap block 1 (regions 32512-65023): copy A (block 3) checksum mismatch, copy B intact: the module uses copy B|cannot tell|damaged, loads; one copy of a bitmap block lost",
	       "clone_check bm.img");
	EXPECT(1, "", "clone_check -q bm.img");
	CHECK(!out[0], "-q prints nothing: %s", out);
	EXPECT(1, "\"verdict\":\"damaged\",\"exit_status\":1|\"damaged_copies\":1|"
	       "{\"severity\":\"warning\",\"message\":\"bitmap block 1 (regions 32512-65023): copy A",
	       "clone_check --json bm.img");
	EXPECT(0, "", "clone_check --json bm.img | jq -e '.problems | length == 1' >/dev/null || exit 9");
	EXPECT(0, "range 0-0|range 5-5", "clone_dump bm.img");
	flip("bm.img", 6, 40);
	EXPECT(2, "regions 32512-65023|LOST|copy B (block 6) checksum mismatch", "clone_check bm.img");
	EXPECT(2, "regions 32512-65023", "clone_check -v bm.img");
	CHECK(strstr(out, "bitmap block 1 (regions 32512-65023): A (block 3) checksum mismatch, B (block 6) checksum mismatch: LOST"),
	      "-v names the lost block: %s", out);
	EXPECT(2, "the module refuses", "clone_dump bm.img");

	/* a whole copy gone: one message for the run of blocks */
	make_image("bm.img", 8, 70000, 5);
	for (int b = 5; b < 8; b++)
		flip("bm.img", b, 3000);
	EXPECT(1, "bitmap blocks 0-2 (regions 0-69999): copy B (blocks 5-7) checksum mismatch", "clone_check bm.img");

	/* misplaced: copy A's block 0 where block 1 belongs */
	make_image("bm.img", 8, 70000, 5);
	{
		uint8_t b[CLONE_BLOCK_SIZE];

		rw_block("bm.img", 2, b, 0);
		rw_block("bm.img", 3, b, 1);
	}
	EXPECT(1, "copy A (block 3) misplaced block", "clone_check bm.img");

	/* a block from another format (other nonce) */
	make_image("bm.img", 8, 70000, 5);
	make_image("bm2.img", 8, 70000, 5);
	{
		uint8_t b[CLONE_BLOCK_SIZE];

		rw_block("bm2.img", 4, b, 0);
		rw_block("bm.img", 4, b, 1);
	}
	EXPECT(1, "copy A (block 4) left over from another format", "clone_check bm.img");

	/* copy B behind copy A (quick commits wrote copy A last): a note */
	make_image("bm.img", 8, 70000, 5);
	or64("bm.img", 2, 32, 0xffULL);
	EXPECT(0, "copy B lacks 6 hydrated regions that copy A holds", "clone_check bm.img");
	EXPECT(0, "copy B behind", "clone_check -v bm.img");
	EXPECT(0, "hydrated 14006", "clone_dump bm.img");

	/* each copy holds bits the other lacks: not the module's writes */
	or64("bm.img", 5, 40, 0xffULL);
	EXPECT(1, "each copy holds hydrated regions the other lacks (12 in all)", "clone_check bm.img");
	EXPECT(0, "hydrated 14012", "clone_dump bm.img");

	/* a bit past the last region (69999 is bit 4975 of block 2) */
	make_image("bm.img", 8, 70000, 5);
	for (int b = 4; b < 8; b += 3)
		or64("bm.img", b, 32 + 4976 / 64 * 8, 1ULL << (4976 % 64));
	EXPECT(1, "bits set past the last region (69999)", "clone_check bm.img");
	EXPECT(0, "hydrated 14000", "clone_dump bm.img");

	/* a zeroed bitmap copy is usable (never written) */
	make_image("bm.img", 8, 70000, 0);
	patch("bm.img", 3, 0, (uint8_t[CLONE_BLOCK_SIZE]){ 0 }, CLONE_BLOCK_SIZE, 0);
	EXPECT(0, "clean", "clone_check bm.img");
	unlink(path("bm2.img"));
}

static void test_truncation_and_foreign(void)
{
	make_image("tr.img", 8, 70000, 5);
	if (truncate(path("tr.img"), 7 * CLONE_BLOCK_SIZE))
		CHECK(0, "truncate");
	EXPECT(2, "too small|need at least 64 sectors|copy B (block 7) past the end of the device, copy A intact",
	       "clone_check tr.img");
	EXPECT(2, "refuses", "clone_dump tr.img");
	EXPECT(0, "hydrated 14000", "clone_dump --repair tr.img");
	if (truncate(path("tr.img"), 4 * CLONE_BLOCK_SIZE))
		CHECK(0, "truncate");
	EXPECT(2, "regions 65024-69999 is LOST", "clone_check tr.img");
	if (truncate(path("tr.img"), 4096))
		CHECK(0, "truncate");
	EXPECT(2, "too small to hold", "clone_check tr.img");
	EXPECT(EXIT_FAILED, "cannot open", "clone_check no-such-file");

	/* zeroed: unformatted */
	fclose(fopen(path("z.img"), "w"));
	if (truncate(path("z.img"), 1 << 20))
		CHECK(0, "create");
	EXPECT(EXIT_UNFORMATTED, "unformatted (zeroed)|up to 4129024 regions", "clone_check z.img");
	EXPECT(EXIT_UNFORMATTED, "nothing to dump", "clone_dump z.img");
	patch32("z.img", 10, 100, 1, 0);
	EXPECT(EXIT_UNFORMATTED, "block 10 holds data|at most 130048 regions", "clone_check z.img");

	/* the in-kernel dm-clone's superblock, and unrecognised data */
	patch64("z.img", 0, CLONE_UPSTREAM_MAGIC_OFFSET, CLONE_UPSTREAM_MAGIC, 0);
	EXPECT(2, "in-kernel dm-clone", "clone_check z.img");
	patch64("z.img", 0, CLONE_UPSTREAM_MAGIC_OFFSET, 12345, 0);
	EXPECT(2, "unrecognised data", "clone_check z.img");
	unlink(path("z.img"));
	unlink(path("tr.img"));
}

/*
 * clone_dump -f @fmt of @img to @a, clone_restore of it (saying @said) to
 * @img2, clone_dump -f @fmt of that to @b: @a and @b the same.
 */
static void dump_restore_dump(const char *img, const char *fmt, const char *a,
			      const char *img2, const char *b, const char *said)
{
	unlink(path(img2));
	EXPECT(0, "", "clone_dump --format %s %s -o %s", fmt, img, a);
	EXPECT(0, said, "clone_restore -i %s -o %s", a, img2);
	EXPECT(0, "", "clone_dump -f %s -o %s %s", fmt, b, img2);
	CHECK(file_eq(a, b), "%s, %s: dump, restore, dump: not identical", img, fmt);
}

/* dump -> restore -> dump is exact in every format, and the formats agree */
static void test_round_trip(void)
{
	static const char *fmts[] = { "text", "xml", "json" };
	uint64_t nr = 100000, *bits = bits_alloc(nr);

	/* runs of every length near word and block boundaries */
	srand(7);
	for (uint64_t r = 0; r < nr;) {
		uint64_t len = (uint64_t)(rand() % 200) + 1;

		if (rand() % 2)
			bits_set_range(bits, r, r + len < nr ? r + len : nr);
		r += len;
	}
	bits_set_range(bits, 32511, 32513);
	bits_set_range(bits, nr - 1, nr);
	unlink(path("rt.img"));
	CHECK(!write_metadata(path("rt.img"), 1, 0, 64, nr, 1234, bits, NULL, "unit"), "write");
	free(bits);
	EXPECT(0, "", "clone_dump -o rt.text rt.img");
	for (int i = 0; i < 3; i++) {
		char a[64], b[64], im[64];

		snprintf(a, sizeof(a), "rt1.%s", fmts[i]);
		snprintf(b, sizeof(b), "rt2.%s", fmts[i]);
		snprintf(im, sizeof(im), "rt-%s.img", fmts[i]);
		dump_restore_dump("rt.img", fmts[i], a, im, b, "100000 regions of 64 sectors");
		EXPECT(0, "", "clone_dump -o rt2.text %s", im);
		CHECK(file_eq("rt.text", "rt2.text"), "%s round trip differs from the text dump", fmts[i]);
		/* an explicit --format, and standard input */
		unlink(path(im));
		EXPECT(0, "", "clone_restore -q --format %s -i - -o %s < %s", fmts[i], im, a);
		EXPECT(0, "clean", "clone_check %s", im);
		unlink(path(im));
	}
	/* a missing format_time is "now"; a dump without ranges has none hydrated */
	FILE *f = fopen(path("min.text"), "w");

	fprintf(f, "version 1\nregion_size 128\nnr_regions 5\n");
	fclose(f);
	unlink(path("min.img"));
	EXPECT(0, "0 hydrated", "clone_restore -i min.text -o min.img");
	EXPECT(0, "hydrated 0", "clone_dump min.img");
	/* an output too small is refused with the size it needs */
	if (truncate(path("min.img"), 3 * CLONE_BLOCK_SIZE))
		CHECK(0, "truncate");
	EXPECT(EXIT_FAILED, "too small|at least 16384 bytes (32 sectors)", "clone_restore -i min.text -o min.img");
	EXPECT(EXIT_FAILED, "too small|at least 40960 bytes (80 sectors)", "clone_restore -i rt.text -o min.img");
	EXPECT(2, "not a valid dump", "clone_restore -i rt.img -o new.img");
	EXPECT(EXIT_FAILED, "cannot read", "clone_restore -i no-such -o new.img");
	unlink(path("min.img"));
	unlink(path("min.text"));
}

static void test_repair(void)
{
	make_image("rp.img", 128, 100000, 3);		/* N = 4: A 2-5, B 6-9 */
	EXPECT(0, "", "clone_dump -o rp.text rp.img");

	/* one damaged copy: repaired from the other, the repaired dump is identical */
	flip("rp.img", 3, 500);
	unlink(path("rp1.img"));
	EXPECT(0, "copy B intact", "clone_repair -i rp.img -o rp1.img");
	EXPECT(0, "clean", "clone_check rp1.img");
	EXPECT(0, "", "clone_dump -o rp1.text rp1.img");
	CHECK(file_eq("rp.text", "rp1.text"), "repair of one damaged copy changes the state");
	EXPECT(EXIT_FAILED, "the same", "clone_repair -i rp.img -o rp.img");

	/* both copies of block 1 damaged: refused without --assume-* */
	flip("rp.img", 7, 500);
	unlink(path("rp1.img"));
	EXPECT(2, "regions 32512-65023 is lost|--assume-hydrated", "clone_repair -i rp.img -o rp1.img");
	CHECK(access(path("rp1.img"), F_OK) != 0, "a refused repair writes nothing");
	EXPECT(1, "writing them as hydrated", "clone_repair -i rp.img -o rp1.img --assume-hydrated");
	EXPECT(0, "clean", "clone_check rp1.img");
	/* 100000/3 rounded up, less block 1's 10837, plus all of its 32512 */
	EXPECT(0, "hydrated 55009|range 32511-65023", "clone_dump rp1.img");
	unlink(path("rp1.img"));
	EXPECT(1, "writing them as unhydrated", "clone_repair -i rp.img -o rp1.img --assume-unhydrated");
	EXPECT(0, "hydrated 22497", "clone_dump rp1.img");
	EXPECT(EXIT_USAGE, "not both", "clone_repair -i rp.img -o rp2.img --assume-unhydrated --assume-hydrated");

	/* clone_dump --repair records the loss; clone_restore makes you choose */
	EXPECT(1, "is lost", "clone_dump --repair -o rp.lost rp.img");
	EXPECT(0, "lost 32512-65023", "cat rp.lost");
	EXPECT(1, "\"lost\": [\n    [32512, 65023]", "clone_dump --repair -f json rp.img");
	EXPECT(1, "<lost first=\"32512\" last=\"65023\"/>", "clone_dump --repair -f xml rp.img");
	unlink(path("rp2.img"));
	EXPECT(2, "--assume-hydrated or --assume-unhydrated", "clone_restore -i rp.lost -o rp2.img");
	EXPECT(1, "32512 lost regions written as unhydrated", "clone_restore -i rp.lost -o rp2.img --assume-unhydrated");
	EXPECT(0, "hydrated 22497", "clone_dump rp2.img");
	unlink(path("rp2.img"));

	/* both superblocks lost: the geometry from the user, the nonce from the blocks */
	make_image("rp.img", 128, 100000, 3);
	flip("rp.img", 0, 50);
	flip("rp.img", 1, 50);
	unlink(path("rp1.img"));
	EXPECT(2, "no valid superblock", "clone_repair -i rp.img -o rp1.img");
	unlink(path("rp1.img"));
	EXPECT(0, "hydrated", "clone_repair -i rp.img -o rp1.img --region-size 64k --device-size 12799873");
	EXPECT(0, "", "clone_dump -o rp1.text rp1.img");
	EXPECT(0, "hydrated 33334", "cat rp1.text");
	EXPECT(EXIT_USAGE, "makes 100000 regions", "clone_repair -i rp.img -o rp3.img --region-size 128 --device-size 12799873 --nr-regions 5");
	EXPECT(EXIT_USAGE, "needs --region-size", "clone_repair -i rp.img -o rp3.img --nr-regions 5");
	/*
	 * A wrong --nr-regions: bits set past the last region it makes. 70000
	 * regions, every fifth hydrated: the last hydrated is 69995.
	 */
	make_image("rg.img", 8, 70000, 5);
	flip("rg.img", 0, 50);
	flip("rg.img", 1, 50);
	unlink(path("rg1.img"));
	EXPECT(2, "bits are set up to region 69995, past the last of the 69000 regions given|suggests at least 69996 regions|--force",
	       "clone_repair -i rg.img -o rg1.img --region-size 8 --nr-regions 69000");
	CHECK(access(path("rg1.img"), F_OK) != 0, "a wrong --nr-regions: metadata written");
	EXPECT(2, "suggests at least 69996 regions", "clone_dump --repair --region-size 8 --nr-regions 69000 rg.img");
	/* fewer bitmap blocks: copy B misplaced, block 1's bits past 60000 */
	EXPECT(2, "suggests at least 65021 regions", "clone_repair -i rg.img -o rg1.img --region-size 8 --device-size 480000");
	CHECK(access(path("rg1.img"), F_OK) != 0, "a wrong --device-size: metadata written");
	EXPECT(0, "70000 regions of 8 sectors, 14000 hydrated",
	       "clone_repair -i rg.img -o rg1.img --region-size 8 --nr-regions 70000");
	unlink(path("rg1.img"));
	/* --force: the geometry given, the bits past it dropped */
	EXPECT(0, "69000 regions of 8 sectors, 13800 hydrated",
	       "clone_repair -i rg.img -o rg1.img --region-size 8 --nr-regions 69000 --force");
	EXPECT(0, "nr_regions 69000|hydrated 13800", "clone_dump --repair --force --region-size 8 --nr-regions 69000 rg.img");
	unlink(path("rg1.img"));
	unlink(path("rg.img"));
	/* a valid superblock that contradicts the geometry given */
	make_image("rp.img", 128, 100000, 3);
	EXPECT(2, "describes 100000 regions of 128 sectors, not the 100000 regions of 64 sectors given",
	       "clone_repair -i rp.img -o rp3.img --region-size 64 --nr-regions 100000");
	unlink(path("rp1.img"));
	unlink(path("rp.img"));
}

/* ---- where the tools write ---- */

/*
 * A block device node in the work directory for a device that does not
 * exist (a major of the local/experimental range /proc/devices does not
 * list): stat() says block device, open() fails, so nothing reaches a
 * device whatever a tool does with it. -1 where mknod is not allowed.
 */
static int fake_bdev(const char *name)
{
	int used[256] = { 0 }, blk = 0, major = -1, n;
	FILE *f = fopen("/proc/devices", "r");
	char line[256];

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Block devices:", 14))
			blk = 1;
		else if (blk && sscanf(line, "%d", &n) == 1 && n >= 0 && n < 256)
			used[n] = 1;
	}
	fclose(f);
	for (n = 240; n < 255 && major < 0; n++)
		if (!used[n])
			major = n;
	unlink(path(name));
	if (major < 0 || mknod(path(name), S_IFBLK | 0600, makedev((unsigned int)major, 0)))
		return -1;
	return 0;
}

/*
 * Hold an unbound loop device (size 0: nothing can be written to it) as
 * the kernel holds a live clone's metadata device: open O_EXCL. Its fd and
 * name in @dev, or -1 when there is none this process may open.
 */
static int hold_loop(char *dev, size_t len)
{
	for (int i = 63; i >= 0; i--) {
		uint64_t size = 1;
		int fd;

		snprintf(dev, len, "/dev/loop%d", i);
		fd = open(dev, O_RDONLY | O_EXCL);
		if (fd < 0)
			continue;
		if (!ioctl(fd, BLKGETSIZE64, &size) && !size)
			return fd;
		close(fd);
	}
	return -1;
}

static void test_outputs(void)
{
	/* %s: where a tool reads or writes metadata */
	static const char *const not_md[] = {
		"clone_check %s", "clone_check --json %s", "clone_dump %s",
		"clone_repair -i %s -o rp9.img", "clone_convert -i %s -o cv.img",
		"clone_restore -i out.text -o %s", "clone_repair -i out.img -o %s",
	};
	char dev[32];
	int fd;

	make_image("out.img", 8, 70000, 5);
	EXPECT(0, "", "clone_dump -o out.text out.img");
	EXPECT(0, "", "clone_dump -o out2.text out.img");

	/* the input as the output, under any name: refused, nothing written */
	unlink(path("out-link.img"));
	unlink(path("out-sym.img"));
	if (link(path("out.img"), path("out-link.img")) || symlink("out.img", path("out-sym.img")))
		CHECK(0, "link, symlink");
	EXPECT(EXIT_FAILED, "out.img and out.img are the same|the dump would overwrite the metadata",
	       "clone_dump -o out.img out.img");
	EXPECT(EXIT_FAILED, "are the same", "clone_dump -o out-link.img out.img");
	EXPECT(EXIT_FAILED, "are the same", "clone_dump out-sym.img -f json -o out.img");
	EXPECT(0, "70000 regions of 8 sectors|14000 hydrated|clean", "clone_check out.img");
	/* a dump as large as the metadata needs: it would be overwritten */
	EXPECT(EXIT_FAILED, "out.text and out.text are the same|would overwrite the dump",
	       "clone_restore -i out.text -o out.text");
	EXPECT(EXIT_FAILED, "- and out.text are the same", "clone_restore -i - -o out.text < out.text");
	CHECK(file_eq("out.text", "out2.text"), "a refused restore changed its dump");
	EXPECT(EXIT_FAILED, "are the same", "clone_repair -i out.img -o out-sym.img");

	/* metadata is binary: - is standard output only for dumps */
	unlink(path("-"));
	EXPECT(EXIT_USAGE, "-: metadata is not written to standard output", "clone_restore -i out.text -o -");
	EXPECT(EXIT_USAGE, "-: metadata is not written to standard output", "clone_repair -i out.img -o -");
	CHECK(access(path("-"), F_OK) != 0, "metadata written to a file named -");
	EXPECT(0, "version 1\nregion_size 8\nnr_regions 70000", "clone_dump -o - out.img");
	CHECK(access(path("-"), F_OK) != 0, "clone_dump -o - wrote a file named -");
	unlink(path("-"));

	/*
	 * metadata is read from and written to a block device or a regular
	 * file, nothing else: a directory or a character device fails (5)
	 */
	if (mkdir(path("dir"), 0755) && errno != EEXIST)
		CHECK(0, "mkdir dir");
	for (size_t i = 0; i < sizeof(not_md) / sizeof(not_md[0]); i++) {
		for (int j = 0; j < 2; j++) {
			const char *what = j ? "/dev/null" : "dir";
			char want[128];

			snprintf(want, sizeof(want), "%s is not a block device or regular file", what);
			EXPECT(EXIT_FAILED, want, not_md[i], what);
		}
	}
	EXPECT(EXIT_FAILED, "\"verdict\":\"unreadable\",\"exit_status\":5", "clone_check --json dir");
	EXPECT(EXIT_FAILED, "cannot read dir", "clone_restore -i dir -o new.img");
	CHECK(access(path("new.img"), F_OK) != 0, "clone_restore of an unreadable dump wrote its output");
	EXPECT(0, "", "clone_dump -o /dev/null out.img");	/* a dump: anywhere but a block device */

	/* a dump never goes to a block device without --force */
	if (fake_bdev("fake.blk") || fake_bdev("fake2.blk")) {
		printf("skipped: block device outputs (no mknod here)\n");
	} else {
		EXPECT(EXIT_FAILED, "fake.blk is a block device|--force", "clone_dump -o fake.blk out.img");
		EXPECT(EXIT_FAILED, "cannot open fake.blk for writing", "clone_dump --force -o fake.blk out.img");
		/* two nodes of one device are the same device */
		EXPECT(EXIT_FAILED, "fake.blk and fake2.blk are the same", "clone_repair -i fake.blk -o fake2.blk");
		EXPECT(EXIT_FAILED, "fake2.blk and fake.blk are the same", "clone_dump --force -o fake.blk fake2.blk");
		unlink(path("fake2.blk"));
	}

	/* a block device the kernel holds (a live clone table) is never written */
	fd = hold_loop(dev, sizeof(dev));
	if (fd < 0) {
		printf("skipped: a block device in use (no unbound loop device to hold)\n");
	} else {
		EXPECT(EXIT_FAILED, "is in use (a live clone table?); deactivate it first",
		       "clone_restore -i out.text -o %s", dev);
		EXPECT(EXIT_FAILED, "is in use (a live clone table?); deactivate it first",
		       "clone_repair -i out.img -o %s", dev);
		EXPECT(EXIT_FAILED, "is in use (a live clone table?); deactivate it first",
		       "clone_dump --force -o %s out.img", dev);
		close(fd);
	}
	unlink(path("out-link.img"));
	unlink(path("out-sym.img"));
	unlink(path("out2.text"));
	unlink(path("out.text"));
	unlink(path("out.img"));
}

/* ---- the in-kernel dm-clone's format, built by hand ---- */

static uint8_t up[16][CLONE_BLOCK_SIZE];

static void up_node(uint64_t b, uint32_t flags, uint32_t nr, const uint64_t *keys,
		    const uint64_t *vals)
{
	uint8_t *n = up[b];
	uint32_t max = 252;	/* what fits in 4 KiB with 8-byte values, rounded to 3 */

	memset(n, 0, CLONE_BLOCK_SIZE);
	put_le32(n + 4, flags);
	put_le64(n + 8, b);
	put_le32(n + 16, nr);
	put_le32(n + 20, max);
	put_le32(n + 24, 8);
	for (uint32_t i = 0; i < nr; i++) {
		put_le64(n + 32 + 8 * i, keys[i]);
		put_le64(n + 32 + 8 * max + 8 * i, vals[i]);
	}
	put_le32(n, pd_csum(n, 121107));
}

static void up_ablock(uint64_t b, const uint64_t *words, uint32_t nr)
{
	uint8_t *a = up[b];

	memset(a, 0, CLONE_BLOCK_SIZE);
	put_le32(a + 4, 509);
	put_le32(a + 8, nr);
	put_le32(a + 12, 8);
	put_le64(a + 16, b);
	for (uint32_t j = 0; j < nr; j++)
		put_le64(a + 24 + 8 * j, words[j]);
	put_le32(a, pd_csum(a, 595846735));
}

static void up_super(uint64_t region_size, uint64_t target_size, uint64_t root)
{
	uint8_t *s = up[0];

	memset(s, 0, CLONE_BLOCK_SIZE);
	put_le64(s + 32, CLONE_UPSTREAM_MAGIC);
	put_le32(s + 40, 1);
	memset(s + 44, 0xa5, 128);	/* a space map root, unused here */
	put_le64(s + 172, region_size);
	put_le64(s + 180, target_size);
	put_le64(s + 188, root);
	put_le32(s, pd_csum(s, 257649492));
}

static void up_write(const char *name, int blocks)
{
	FILE *f = fopen(path(name), "wb");

	if (!f || fwrite(up, CLONE_BLOCK_SIZE, (size_t)blocks, f) != (size_t)blocks)
		CHECK(0, "writing %s", name);
	if (f)
		fclose(f);
}

static void test_convert(void)
{
	uint64_t nr = 100000, *bits = bits_alloc(nr + 64), k[2], v[2];
	struct md_opts mo = { .use_sb = -1 };
	struct dev d;
	struct md m;

	for (uint64_t r = 0; r < nr; r += 7)
		bits_set_range(bits, r, r + 1);
	bits_set_range(bits, 50000, 60000);
	bits_set_range(bits, nr, nr + 20);	/* past the last region: dropped */
	/* 1563 words in 4 array blocks (509 each, 36 in the last), two leaves */
	up_super(128, nr * 128 - 100, 1);
	k[0] = 0, k[1] = 2, v[0] = 2, v[1] = 3;
	up_node(1, 1, 2, k, v);
	k[0] = 0, k[1] = 1, v[0] = 4, v[1] = 5;
	up_node(2, 2, 2, k, v);
	k[0] = 2, k[1] = 3, v[0] = 6, v[1] = 7;
	up_node(3, 2, 2, k, v);
	for (int i = 0; i < 4; i++)
		up_ablock(4 + i, bits + 509 * i, i < 3 ? 509 : 36);
	up_write("up.img", 8);

	EXPECT(2, "in-kernel dm-clone", "clone_check up.img");
	unlink(path("upm.img"));
	EXPECT(0, "100000 regions of 128 sectors (length 12799900 sectors), 22857 hydrated",
	       "clone_convert -i up.img -o upm.img");
	EXPECT(0, "clean", "clone_check upm.img");
	dev_open(&d, path("upm.img"), DEV_READ, 0);
	md_analyze(&d, &mo, &m, NULL, NULL);
	dev_close(&d);
	bits[nr / 64] &= (1ULL << (nr % 64)) - 1;
	CHECK(m.found == FOUND_OK && m.nr_regions == nr && m.region_size == 128 &&
	      m.sb.version == 2 && m.sb.ring_slots == CLONE_RING_SLOTS &&
	      !memcmp(m.bits, bits, (nr + 63) / 64 * 8), "converted bitmap = the in-kernel one (version 2, the default)");
	md_free(&m);
	EXPECT(0, "hydrated 22857|range 50000-59999", "clone_convert -q -i up.img -o - -f text");
	EXPECT(0, "\"hydrated\": 22857", "clone_convert -q -i up.img -o - -f json");
	EXPECT(EXIT_FAILED, "the same", "clone_convert -i up.img -o up.img");
	unlink(path("-"));
	EXPECT(EXIT_USAGE, "-: metadata is not written to standard output", "clone_convert -i up.img -o -");
	EXPECT(EXIT_FAILED, "/dev/null is not a block device or regular file", "clone_convert -q -i up.img -o /dev/null");
	mkdir(path("cvdir"), 0755);
	EXPECT(EXIT_FAILED, "cvdir is not a block device or regular file", "clone_convert -q -i up.img -o cvdir");
	rmdir(path("cvdir"));
	CHECK(access(path("-"), F_OK) != 0, "clone_convert -o - wrote a file named -");
	unlink(path("-"));
	if (!fake_bdev("fake.blk")) {
		EXPECT(EXIT_FAILED, "fake.blk is a block device", "clone_convert -q -f json -i up.img -o fake.blk");
		EXPECT(EXIT_FAILED, "cannot open fake.blk for writing", "clone_convert -q -f json --force -i up.img -o fake.blk");
		unlink(path("fake.blk"));
	}
	EXPECT(EXIT_USAGE, "upm.img is already in format version 2, the default: nothing to convert (--format-version 1 writes version 1)",
	       "clone_convert -i upm.img -o x.img");
	CHECK(access(path("x.img"), F_OK) != 0, "a conversion to the same version writes nothing");
	/* version 1 on request, from the in-kernel metadata as from version 2 */
	unlink(path("upm1.img"));
	EXPECT(0, "100000 regions of 128 sectors (length 12799900 sectors), 22857 hydrated",
	       "clone_convert --format-version 1 -i up.img -o upm1.img");
	EXPECT(0, "10 blocks of metadata, 22857 hydrated (22.9%): clean", "clone_check upm1.img");	/* version 1: 2 + 2 * 4 */
	EXPECT(EXIT_USAGE, "upm1.img is already in format version 1: nothing to convert (--format-version names",
	       "clone_convert --format-version 1 -i upm1.img -o x.img");
	CHECK(access(path("x.img"), F_OK) != 0, "a conversion to the same version writes nothing");
	unlink(path("upm1.img"));
	fclose(fopen(path("zz.img"), "w"));
	if (truncate(path("zz.img"), 4 * CLONE_BLOCK_SIZE))
		CHECK(0, "truncate");
	EXPECT(2, "no in-kernel dm-clone superblock", "clone_convert -i zz.img -o x.img");
	unlink(path("zz.img"));

	/* damage, each in a copy of the image */
	up[5][100] ^= 1;
	up_write("upbad.img", 8);
	EXPECT(2, "bitset array block (block 5): checksum mismatch", "clone_convert -i upbad.img -o x.img");
	CHECK(access(path("x.img"), F_OK) != 0, "a failed conversion writes nothing");
	up_ablock(5, bits + 509, 509);
	k[0] = 2, k[1] = 3, v[0] = 6, v[1] = 9;
	up_node(3, 2, 2, k, v);
	up_write("upbad.img", 8);
	EXPECT(2, "(block 9): past the end of the device", "clone_convert -i upbad.img -o x.img");
	up_node(3, 2, 1, k, v);
	up_write("upbad.img", 8);
	EXPECT(2, "bitset array block 3 (regions 97728-) is missing", "clone_convert -i upbad.img -o x.img");
	k[0] = 0, k[1] = 2, v[0] = 2, v[1] = 2;	/* one leaf twice */
	up_node(1, 1, 2, k, v);
	up_write("upbad.img", 8);
	EXPECT(2, "index 0 found twice", "clone_convert -i upbad.img -o x.img");
	v[0] = 1;				/* the root its own child */
	up_node(1, 1, 2, k, v);
	up_write("upbad.img", 8);
	EXPECT(2, "deeper than", "clone_convert -i upbad.img -o x.img");
	up_super(128, nr * 128 - 100, 1);
	up[0][40] = 2;
	put_le32(up[0], pd_csum(up[0], 257649492));
	up_write("upbad.img", 8);
	EXPECT(2, "version 2", "clone_convert -i upbad.img -o x.img");

	/* a small bitset: the root is a leaf */
	memset(up, 0, sizeof(up));
	up_super(8, 1000 * 8, 1);
	k[0] = 0, v[0] = 2;
	up_node(1, 2, 1, k, v);
	up_ablock(2, (uint64_t[16]){ 0xff, [15] = 1ULL << 39 }, 16);
	up_write("up1.img", 3);
	unlink(path("upm.img"));
	EXPECT(0, "1000 regions of 8 sectors", "clone_convert -i up1.img -o upm.img");
	EXPECT(0, "hydrated 9|range 0-7|range 999-999", "clone_dump upm.img");
	unlink(path("upm.img"));
	unlink(path("upbad.img"));
	free(bits);
}

static void test_metadata_size(void)
{
	EXPECT(0, "4243456 bytes = 8288 sectors (1036 blocks of 4 KiB) for 16777216 regions of 128 sectors",
	       "clone_metadata_size --format-version 1 --device-size 1T --region-size 64k");
	EXPECT(0, "8288\n", "clone_metadata_size --format-version 1 -d 2147483648 -R 128 --unit s");
	EXPECT(0, "{\"bytes\":4243456,\"sectors\":8288,\"blocks\":1036,\"regions\":16777216,"
	       "\"region_sectors\":128,\"device_sectors\":2147483648}\n",
	       "clone_metadata_size --format-version 1 -d 1T -R 64k --json");
	EXPECT(0, "", "clone_metadata_size --format-version 1 -d 1T -R 64k --json | jq -e '.sectors == 8288' >/dev/null || exit 9");
	EXPECT(EXIT_USAGE, "--json and --unit exclude each other", "clone_metadata_size -d 1T -R 64k --json -u s");
	EXPECT(0, "132128\n", "clone_metadata_size --format-version 1 -d 16T -R 64k -u s");
	EXPECT(0, "67649536\n", "clone_metadata_size --format-version 1 -d 16T -R 64k -u b");
	EXPECT(0, "65\n", "clone_metadata_size --format-version 1 -d 16T -R 64k -u m");
	EXPECT(0, "4\n", "clone_metadata_size --format-version 1 -d 1 -R 8 -u blocks");
	EXPECT(0, "6\n", "clone_metadata_size --format-version 1 -d 262144s -R 8 -u blocks");	/* 012's case */
	EXPECT(0, "4\n", "clone_metadata_size --format-version 1 -d 260096 -R 8 -u blocks");	/* exactly 32512 */
	EXPECT(0, "6\n", "clone_metadata_size --format-version 1 -d 260097 -R 8 -u blocks");	/* one more */
	EXPECT(0, "132108\n", "clone_metadata_size --format-version 1 -d 2048P -R 1G -u blocks");	/* 2^31 */
	/* version 2, the default: 2 superblocks, 2 * 256 ring blocks, 2 * N bitmap blocks */
	EXPECT(0, "6340608 bytes = 12384 sectors (1548 blocks of 4 KiB) for 16777216 regions of 128 sectors in format version 2 (a ring of 256 records)",
	       "clone_metadata_size --device-size 1T --region-size 64k");
	EXPECT(0, "1548\n", "clone_metadata_size -d 1T -R 64k -u blocks");
	EXPECT(0, "1548\n", "clone_metadata_size --format-version 2 -d 1T -R 64k -u blocks");
	EXPECT(0, "{\"bytes\":6340608,\"sectors\":12384,\"blocks\":1548,\"regions\":16777216,"
	       "\"region_sectors\":128,\"device_sectors\":2147483648}\n",
	       "clone_metadata_size -d 1T -R 64k --json");
	EXPECT(0, "516\n", "clone_metadata_size -d 1 -R 8 -u blocks");
	EXPECT(0, "516\n", "clone_metadata_size -d 260096 -R 8 -u blocks");	/* exactly 32512 */
	EXPECT(0, "518\n", "clone_metadata_size -d 260097 -R 8 -u blocks");	/* one more */
	EXPECT(0, "132620\n", "clone_metadata_size -d 2048P -R 1G -u blocks");	/* 2^31 */
	EXPECT(0, "136224\n", "clone_metadata_size -d 16T -R 64k -u s");
	EXPECT(EXIT_USAGE, "these tools write versions 1 to 2", "clone_metadata_size --format-version 3 -d 1T -R 64k");
	EXPECT(0, "--format-version V the metadata format version: 2 (default)", "clone_metadata_size --help");
	EXPECT(EXIT_USAGE, "more than 2^31", "clone_metadata_size -d 4P -R 1M");
	EXPECT(EXIT_USAGE, "power of two", "clone_metadata_size -d 1G -R 12");
	EXPECT(EXIT_USAGE, "power of two", "clone_metadata_size -d 1G -R 2G");
	EXPECT(EXIT_USAGE, "whole number of sectors", "clone_metadata_size -d 1000b -R 8");
	EXPECT(EXIT_USAGE, "unknown unit", "clone_metadata_size -d 1G -R 8 -u x");
	/* -r was --region-size; it is --repair (clone_dump) now, and refused here */
	EXPECT(EXIT_USAGE, "invalid option -- 'r'", "clone_metadata_size -d 1G -r 8");
}

/* ---- format version 2 ---- */

/* 70000 regions of 8 sectors, every fifth hydrated: ring blocks 2-513, bitmap 514-519 */
#define V2_SLOTS 256

static void make_image_v2(const char *name, uint64_t nr, uint64_t every)
{
	uint64_t *bits = bits_alloc(nr);

	unlink(path(name));
	for (uint64_t r = 0; every && r < nr; r += every)
		bits_set_range(bits, r, r + 1);
	if (write_metadata(path(name), 2, 0, 8, nr, 1700000000, bits, NULL, "unit"))
		CHECK(0, "write_metadata %s (version 2)", name);
	free(bits);
}

static uint64_t img_nonce(const char *name)
{
	uint8_t b[CLONE_BLOCK_SIZE];

	rw_block(name, 0, b, 0);
	return get_le64(HDR(b, nonce));
}

/*
 * The record of ring position @pos, copy @cp, in @b: @n runs of (first,
 * count) pairs in @runs, sealed for a ring of @slots.
 */
static void build_record(uint8_t *b, uint64_t nonce, uint64_t slots, uint64_t pos,
			 int cp, const uint32_t *runs, uint32_t n)
{
	memset(b, 0, CLONE_BLOCK_SIZE);
	put_le64(b + offsetof(struct clone_record, seq), pos + 1);
	put_le32(b + offsetof(struct clone_record, nr_runs), n);
	for (uint32_t i = 0; i < n; i++) {
		put_le32(b + CLONE_RECORD_HEADER + 16 * i, runs[2 * i]);
		put_le32(b + CLONE_RECORD_HEADER + 16 * i + 4, runs[2 * i + 1]);
	}
	seal_block(b, CLONE_KIND_RECORD, clone_ring_block(pos % slots, (unsigned int)cp),
		   nonce, (uint32_t)(pos % slots), (uint32_t)cp);
}

/* Write the record of @pos (one run, @first and @count) to copy @cp, or both (-1). */
static void put_record(const char *name, uint64_t pos, int cp, uint32_t first, uint32_t count)
{
	uint8_t b[CLONE_BLOCK_SIZE];
	uint32_t run[2] = { first, count };

	for (int c = 0; c < 2; c++) {
		if (cp >= 0 && c != cp)
			continue;
		build_record(b, img_nonce(name), V2_SLOTS, pos, c, run, 1);
		rw_block(name, clone_ring_block(pos % V2_SLOTS, (unsigned int)c), b, 1);
	}
}

/* Set the checkpoint of superblock copy @cp (both: -1). */
static void set_checkpoint(const char *name, int cp, uint64_t pos)
{
	for (int c = 0; c < 2; c++)
		if (cp < 0 || c == cp)
			patch64(name, (uint64_t)c, offsetof(struct clone_superblock, checkpoint), pos, 1);
}

/*
 * Version 2 metadata of @n bitmap blocks freshly written in @name, block by
 * block where the format puts them: a zeroed ring, both copies of every
 * bitmap block side by side past it.
 */
static void check_v2_layout(const char *name, uint64_t n, const char *what)
{
	uint8_t b[CLONE_BLOCK_SIZE];
	uint64_t nonce = img_nonce(name);
	const char *why = "";
	int zero = 1, placed = 1;

	for (uint64_t blk = 2; blk < clone_ring_block(V2_SLOTS, 0); blk++) {
		rw_block(name, blk, b, 0);
		zero &= block_is_zero(b);
	}
	for (uint64_t k = 0; k < n; k++)
		for (unsigned int cp = 0; cp < 2; cp++) {
			uint64_t blk = 2 + 2 * V2_SLOTS + 2 * k + cp;

			rw_block(name, blk, b, 0);
			placed &= check_block(b, CLONE_KIND_BITMAP, blk, &nonce, (uint32_t)k,
					      cp, &why) == BLK_VALID;
		}
	CHECK(zero, "%s: the ring is not zeroed", what);
	CHECK(placed, "%s: a bitmap block is not at 2 + 2L + 2k + copy (%s)", what, why);
}

static void test_v2_superblock(void)
{
	static const struct { const char *name; size_t off; int size; uint64_t v; int rc; const char *msg; } f[] = {
		{ "ring_start", 112, 8, 3, 2, "the ring starts at block 3, not 2" },
		{ "ring_start", 112, 8, 0, 2, "the ring starts at block 0" },
		{ "ring_slots", 120, 4, 7, 2, "a ring of 7 slots, fewer than 8" },
		{ "ring_slots", 120, 4, 255, 2, "not 512 and 513" },
		{ "copy_start[0]", 72, 8, 2, 2, "bitmap copies start at blocks 2 and 515, not 514 and 515" },
		{ "copy_start[1]", 80, 8, 517, 2, "inconsistent layout" },
		{ "version", 40, 4, 1, 2, "not 2 and 5" },	/* version 2's layout as 1 */
		{ "reserved", 124, 4, 1, 2, "reserved bytes 124-4095 are not zero: the module refuses it" },
		{ "tail", 128, 8, 1, 2, "reserved bytes 124-4095 are not zero: the module refuses it" },
		{ "tail", 4088, 8, 1, 2, "reserved bytes 124-4095 are not zero: the module refuses it" },
		{ "checkpoint", 104, 8, 77, 0, "0 records replayed: clean" },
	};
	char img[64];

	make_image_v2("v2sb.img", 70000, 5);
	EXPECT(0, "70000 regions of 8 sectors, 520 blocks of metadata (format version 2), 14000 hydrated (20.0%), 0 records replayed: clean",
	       "clone_check v2sb.img");
	EXPECT(0, "version 2, flags 0x0|copy_start 514 515|checkpoint 0, ring_start 2, ring_slots 256|"
	       "ring: 0 records replayed from position 0, stopped at position 0 (slot 0): the end of the log|"
	       "bitmap block 2 (regions 65024-69999): A (block 518) valid, B (block 519) valid",
	       "clone_check -v v2sb.img");
	EXPECT(0, "\"metadata_blocks\":520,|\"format_version\":2,\"checkpoint\":0,\"ring_slots\":256,\"records_replayed\":0",
	       "clone_check --json v2sb.img");
	EXPECT(0, "version 2\nregion_size 8\nnr_regions 70000\nformat_time 1700000000\nhydrated 14000\n",
	       "clone_dump v2sb.img");
	check_v2_layout("v2sb.img", 3, "written");
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		snprintf(img, sizeof(img), "v2sb%zu.img", i);
		make_image_v2(img, 70000, 5);
		for (int cp = 0; cp < 2; cp++) {
			if (f[i].size == 4)
				patch32(img, cp, f[i].off, (uint32_t)f[i].v, 1);
			else
				patch64(img, cp, f[i].off, f[i].v, 1);
		}
		CHECK(run("clone_check %s", img) == f[i].rc && strstr(out, f[i].msg),
		      "version 2: %s = %llu in both copies: want exit %d and '%s', got:\n%s",
		      f[i].name, (unsigned long long)f[i].v, f[i].rc, f[i].msg, out);
		/* in copy 1 only: the copies disagree, but for the checkpoint */
		make_image_v2(img, 70000, 5);
		if (f[i].size == 4)
			patch32(img, 1, f[i].off, (uint32_t)f[i].v, 1);
		else
			patch64(img, 1, f[i].off, f[i].v, 1);
		if (f[i].off == 104)
			EXPECT(0, "checkpoints 0 and 77|using copy 1, the newer", "clone_check %s", img);
		else
			EXPECT(2, "superblock copies 0 and 1 disagree", "clone_check %s", img);
		unlink(path(img));
	}
	/* a device too small for the ring the superblock names */
	make_image_v2("v2sb.img", 70000, 5);
	if (truncate(path("v2sb.img"), 519 * CLONE_BLOCK_SIZE))
		CHECK(0, "truncate");
	EXPECT(2, "device too small: 519 blocks|the layout needs 520", "clone_check v2sb.img");
	unlink(path("v2sb.img"));
}

/*
 * Grow version 2 image @name of 40000 regions (2 bitmap blocks) to 70000
 * (3) in superblock copy @cp only, at checkpoint @ckpt, as a grow cut
 * short before its second superblock write leaves it: the new bitmap
 * block's copies written valid and empty, then the one superblock copy.
 */
static void grow_copy(const char *name, int cp, uint64_t ckpt)
{
	uint64_t nonce = img_nonce(name);
	uint8_t b[CLONE_BLOCK_SIZE];

	if (truncate(path(name), (off_t)clone_metadata_blocks_v2(70000, V2_SLOTS) *
		     CLONE_BLOCK_SIZE))
		CHECK(0, "truncate %s", name);
	for (unsigned int c = 0; c < 2; c++) {
		uint64_t blk = clone_bitmap_block(2, V2_SLOTS, 3, 2, c);

		memset(b, 0, sizeof(b));
		seal_block(b, CLONE_KIND_BITMAP, blk, nonce, 2, c);
		rw_block(name, blk, b, 1);
	}
	patch64(name, (uint64_t)cp, offsetof(struct clone_superblock, nr_regions), 70000, 1);
	patch64(name, (uint64_t)cp, offsetof(struct clone_superblock, bitmap_blocks), 3, 1);
	set_checkpoint(name, cp, ckpt);
}

/*
 * A grow cut short: the copies differ in the geometry. The module takes
 * the newer checkpoint (on a tie the copy with more regions) as long as the
 * copy with more regions names a checkpoint no older than the other's.
 */
static void test_v2_grow(void)
{
	const char *note = "superblock copies 0 and 1 describe 40000 and 70000 regions (a grow cut short)";
	uint64_t bm2 = clone_bitmap_block(2, V2_SLOTS, 3, 2, 0);
	uint8_t b0[CLONE_BLOCK_SIZE], b1[CLONE_BLOCK_SIZE];

	/* (a) copy 1 grown, the same checkpoint: the grown copy 1, 70000 regions */
	make_image_v2("gr.img", 40000, 5);
	grow_copy("gr.img", 1, 0);
	EXPECT(0, "using copy 1 (70000 regions), the grown one (the checkpoints are equal); the module rewrites the other at its next load|"
	       "gr.img: 70000 regions of 8 sectors, 520 blocks of metadata (format version 2), 8000 hydrated (11.4%), 0 records replayed: clean",
	       "clone_check gr.img");
	CHECK(strstr(out, note), "no grow note:\n%s", out);
	EXPECT(0, "superblock copy 0 (block 0): valid\n|superblock copy 1 (block 1): valid, in use\n|"
	       "region_size 8 sectors, nr_regions 70000, bitmap_blocks 3\n", "clone_check -v gr.img");
	EXPECT(0, "\"verdict\":\"clean\"|\"regions\":70000,|{\"severity\":\"note\",\"message\":\"superblock copies 0 and 1 describe 40000 and 70000 regions",
	       "clone_check --json gr.img");
	EXPECT(0, "nr_regions 70000\n|hydrated 8000\n", "clone_dump gr.img");
	/* (f) clone_repair writes both copies with the geometry used */
	unlink(path("grrep.img"));
	EXPECT(0, "metadata for 70000 regions of 8 sectors, 8000 hydrated",
	       "clone_repair -i gr.img -o grrep.img");
	EXPECT(0, "70000 regions of 8 sectors, 520 blocks of metadata (format version 2), 8000 hydrated (11.4%), 0 records replayed: clean",
	       "clone_check grrep.img");
	CHECK(!strstr(out, "a grow cut short"), "repaired, still a grow note:\n%s", out);
	rw_block("grrep.img", 0, b0, 0);
	rw_block("grrep.img", 1, b1, 0);
	CHECK(get_le64(SB(b0, nr_regions)) == 70000 && get_le64(SB(b1, nr_regions)) == 70000 &&
	      !memcmp(b0 + 40, b1 + 40, CLONE_BLOCK_SIZE - 40),
	      "clone_repair: the superblock copies differ");
	/* salvage told the clone's old geometry: the copy that describes it */
	EXPECT(0, "using copy 0 (40000 regions) as told; the module uses copy 1 (70000 regions) and rewrites copy 0 at its next load|"
	       "nr_regions 40000\n|hydrated 8000\n",
	       "clone_dump --repair -R 8 --nr-regions 40000 gr.img");
	EXPECT(0, "using copy 0 (40000 regions) as told|nr_regions 40000\n",
	       "clone_dump --repair --superblock 0 gr.img");
	/* the bitmap is read in the geometry of the copy used */
	flip("gr.img", bm2, 100);
	flip("gr.img", bm2 + 1, 100);
	EXPECT(0, "nr_regions 40000\n|hydrated 8000\n", "clone_dump --repair --superblock 0 gr.img");

	/* (b) copy 1 grown with a later checkpoint: copy 1, its 70000 regions */
	make_image_v2("gr.img", 40000, 5);
	grow_copy("gr.img", 1, 3);
	EXPECT(0, "and name checkpoints 0 and 3: using copy 1 (70000 regions), the newer checkpoint; the module rewrites the other at its next load|"
	       "70000 regions of 8 sectors, 520 blocks of metadata (format version 2), 8000 hydrated (11.4%), 0 records replayed: clean",
	       "clone_check gr.img");
	CHECK(!strstr(out, "a checkpoint was cut short"), "two notes:\n%s", out);
	EXPECT(0, "superblock copy 0 (block 0): valid\n|superblock copy 1 (block 1): valid, in use\n|"
	       "region_size 8 sectors, nr_regions 70000, bitmap_blocks 3\n", "clone_check -v gr.img");
	/* (e) */
	EXPECT(0, "version 2\nregion_size 8\nnr_regions 70000\nformat_time 1700000000\nhydrated 8000\n",
	       "clone_dump gr.img");
	unlink(path("grrep.img"));
	EXPECT(0, "metadata for 70000 regions of 8 sectors, 8000 hydrated",
	       "clone_repair -i gr.img -o grrep.img");
	EXPECT(0, "70000 regions of 8 sectors, 520 blocks of metadata", "clone_check grrep.img");
	CHECK(!strstr(out, "a grow cut short"), "repaired, still a grow note:\n%s", out);
	/* block 2 is read now: both its copies gone lose its regions */
	flip("gr.img", bm2, 100);
	flip("gr.img", bm2 + 1, 100);
	EXPECT(2, "bitmap block 2 (regions 65024-69999)|LOST", "clone_check gr.img");

	/* (c) copy 0 grown, the same checkpoint: copy 0, its 70000 regions */
	make_image_v2("gr.img", 40000, 5);
	grow_copy("gr.img", 0, 0);
	EXPECT(0, "superblock copies 0 and 1 describe 70000 and 40000 regions (a grow cut short): using copy 0 (70000 regions)|"
	       "70000 regions of 8 sectors, 520 blocks of metadata (format version 2), 8000 hydrated",
	       "clone_check gr.img");
	/* copy 0 grown with a later checkpoint */
	make_image_v2("gr.img", 40000, 5);
	grow_copy("gr.img", 0, 2);
	EXPECT(0, "and name checkpoints 2 and 0: using copy 0 (70000 regions), the newer checkpoint",
	       "clone_check gr.img");

	/* (d) the copy with more regions names the older checkpoint: refused */
	make_image_v2("gr.img", 40000, 5);
	grow_copy("gr.img", 1, 0);
	set_checkpoint("gr.img", 0, 3);
	EXPECT(2, "superblock copies 0 and 1 disagree (nr_regions 40000/70000, bitmap_blocks 2/3, checkpoint 3/0); "
	       "the copy with more regions names the older checkpoint, which no grow leaves: the module refuses this metadata",
	       "clone_check gr.img");
	EXPECT(2, "not dumped", "clone_dump gr.img");
	make_image_v2("gr.img", 40000, 5);
	grow_copy("gr.img", 0, 1);
	set_checkpoint("gr.img", 1, 2);
	EXPECT(2, "disagree (nr_regions 70000/40000, bitmap_blocks 3/2, checkpoint 1/2)|which no grow leaves",
	       "clone_check gr.img");
	/* the geometry and anything else: refused as before */
	make_image_v2("gr.img", 40000, 5);
	grow_copy("gr.img", 1, 0);
	patch64("gr.img", 1, offsetof(struct clone_superblock, format_time), 5, 1);
	EXPECT(2, "disagree (nr_regions 40000/70000, bitmap_blocks 2/3, format_time 1700000000/5): the module refuses",
	       "clone_check gr.img");
	/* version 1 cannot grow: any difference is a disagreement */
	make_image("gr.img", 8, 40000, 5);
	patch64("gr.img", 1, offsetof(struct clone_superblock, nr_regions), 70000, 1);
	patch64("gr.img", 1, offsetof(struct clone_superblock, bitmap_blocks), 3, 1);
	EXPECT(2, "disagree (nr_regions 40000/70000, bitmap_blocks 2/3): the module refuses", "clone_check gr.img");

	/* the same regions, bitmap_blocks apart: no grow leaves that */
	make_image_v2("gr.img", 40000, 5);
	patch64("gr.img", 1, offsetof(struct clone_superblock, bitmap_blocks), 3, 1);
	EXPECT(2, "superblock copies 0 and 1 disagree (bitmap_blocks 2/3", "clone_check gr.img");
	CHECK(!strstr(out, "a grow cut short"), "a grow note for no grow:\n%s", out);
	unlink(path("gr.img"));
	unlink(path("grrep.img"));
}

/* The checkpoint picks the superblock copy, records replay from either copy. */
static void test_v2_replay(void)
{
	make_image_v2("rr.img", 70000, 5);
	put_record("rr.img", 0, -1, 1, 1);
	put_record("rr.img", 1, -1, 2, 2);	/* regions 2-3 */
	put_record("rr.img", 2, -1, 69996, 4);	/* 69996-69999 */
	EXPECT(0, "ring: 3 records replayed (positions 0-2) from the checkpoint, 7 regions hydrated past the bitmap|14007 hydrated|3 records replayed: clean",
	       "clone_check rr.img");
	EXPECT(0, "stopped at position 3 (slot 3): the end of the log; 7 regions", "clone_check -v rr.img");
	EXPECT(0, "hydrated 14007|range 0-3|range 69995-69999", "clone_dump rr.img");
	EXPECT(0, "\"records_replayed\":3,\"ring_end\":3", "clone_check --json rr.img");

	/* the checkpoint: the higher of two valid copies is the current one */
	set_checkpoint("rr.img", 1, 3);
	EXPECT(0, "checkpoints 0 and 3 (a checkpoint was cut short): using copy 1, the newer|14000 hydrated|0 records replayed: clean",
	       "clone_check rr.img");
	set_checkpoint("rr.img", 1, 0);
	set_checkpoint("rr.img", 0, 2);
	EXPECT(0, "using copy 0, the newer|14004 hydrated|1 record replayed", "clone_check rr.img");
	EXPECT(0, "checkpoint 2,", "clone_check -v rr.img");
	/* the newer copy damaged: the other, older one; its records still there */
	flip("rr.img", 0, 300);
	EXPECT(1, "superblock copy 0 (block 0) checksum mismatch|14007 hydrated|3 records replayed", "clone_check rr.img");
	/* --superblock picks one */
	make_image_v2("rr.img", 70000, 5);
	put_record("rr.img", 0, -1, 1, 1);
	set_checkpoint("rr.img", 1, 1);
	EXPECT(0, "hydrated 14001", "clone_dump --repair --superblock 0 rr.img");
	EXPECT(0, "hydrated 14000", "clone_dump rr.img");

	/* either copy: copy 0 only (copy 1 not written yet), copy 1 only (copy 0 torn) */
	make_image_v2("rr.img", 70000, 5);
	put_record("rr.img", 0, 0, 1, 1);
	put_record("rr.img", 1, 1, 2, 1);
	flip("rr.img", clone_ring_block(1, 0), 100);
	put_record("rr.img", 2, 0, 3, 1);
	put_record("rr.img", 1, 0, 2, 1);	/* an older copy 0 of slot 1 ... */
	put_record("rr.img", 1, 1, 2, 1);
	flip("rr.img", clone_ring_block(1, 0), 100);	/* ... torn */
	EXPECT(1, "ring position 1 (slot 1): copy 0 (block 4) checksum mismatch, copy 1 valid: nothing lost|14003 hydrated|3 records replayed|one copy of a record lost",
	       "clone_check rr.img");
	CHECK(!strstr(out, "ring position 0") && !strstr(out, "ring position 2"),
	      "a copy not written yet (zeroed) is no damage:\n%s", out);
	EXPECT(0, "range 0-3", "clone_dump rr.img");
	/* the other copy with a valid checksum but a bad body: still replayed */
	make_image_v2("rr.img", 70000, 5);
	put_record("rr.img", 0, -1, 1, 1);
	patch64("rr.img", clone_ring_block(0, 1), offsetof(struct clone_record, confirm), 1, 1);
	EXPECT(1, "copy 1 (block 3) its confirm field is not zero, copy 0 valid|14001 hydrated", "clone_check rr.img");
	unlink(path("rr.img"));
}

/* Where replay stops: the normal ends and the refusals. */
static void test_v2_ring_end(void)
{
	static const struct { const char *name; size_t off; int size; uint64_t v; const char *msg; } body[] = {
		{ "confirm", 40, 8, 1, "its confirm field is not zero" },
		{ "nr_runs", 48, 4, 0, "its run count is not 1 to 252" },
		{ "nr_runs", 48, 4, 253, "its run count is not 1 to 252" },
		{ "reserved", 52, 4, 1, "its reserved field is not zero" },
		{ "count", 60, 4, 0, "it holds an empty run" },
		{ "first", 56, 4, 70000, "its run 0 (regions 70000-70000) goes past the last region (69999)" },
		{ "count", 60, 4, 0xffffffffU, "goes past the last region" },
		{ "csum", 64, 4, 1, "a run's reserved fields (csum, flags) are not zero" },
		{ "flags", 68, 4, 1, "a run's reserved fields (csum, flags) are not zero" },
		{ "past the runs", 72, 4, 1, "bytes past its last run are not zero" },
		{ "last byte", 4092, 4, 1, "bytes past its last run are not zero" },
	};
	struct md_opts mo = { .use_sb = -1 };
	struct dev d;
	struct md m;
	size_t len;
	char *img;

	/* normal ends: zeroes (above), an older record, a torn one */
	make_image_v2("re.img", 70000, 5);
	set_checkpoint("re.img", -1, 256);
	put_record("re.img", 256, -1, 1, 1);	/* slot 0 */
	put_record("re.img", 1, -1, 2, 1);	/* slot 1: position 1, older */
	EXPECT(0, "1 record replayed|14001 hydrated", "clone_check re.img");
	EXPECT(0, "stopped at position 257 (slot 1): the end of the log", "clone_check -v re.img");
	put_record("re.img", 257, -1, 2, 1);
	flip("re.img", clone_ring_block(1, 0), 200);
	flip("re.img", clone_ring_block(1, 1), 200);
	EXPECT(0, "1 record replayed|14001 hydrated|clean", "clone_check re.img");
	/* a whole ring of records */
	make_image_v2("re.img", 70000, 0);
	for (uint64_t p = 0; p < V2_SLOTS; p++)
		put_record("re.img", p, -1, (uint32_t)p, 1);
	EXPECT(0, "256 records replayed|stopped at position 256 (slot 0): the whole ring replayed", "clone_check -v re.img");
	EXPECT(0, "hydrated 256|range 0-255", "clone_dump re.img");

	/* overwritten past the checkpoint: a later record where the next belongs */
	make_image_v2("re.img", 70000, 5);
	put_record("re.img", 0, -1, 1, 1);
	put_record("re.img", 257, 1, 2, 1);	/* slot 1, copy 1 only */
	EXPECT(2, "ring position 1 (slot 1): copy 1 (block 5) holds the record of position 257: the ring was overwritten past the checkpoint (0)|hydration state LOST",
	       "clone_check re.img");
	EXPECT(2, "\"verdict\":\"lost\"", "clone_check --json re.img");
	EXPECT(2, "the module refuses this metadata (--repair", "clone_dump re.img");

	/* a corrupt record: the right checksum and sequence, a bad body */
	for (size_t i = 0; i < sizeof(body) / sizeof(body[0]); i++) {
		make_image_v2("re.img", 70000, 5);
		put_record("re.img", 0, -1, 1, 1);
		put_record("re.img", 1, 0, 2, 1);
		if (body[i].size == 4)
			patch32("re.img", clone_ring_block(1, 0), body[i].off, (uint32_t)body[i].v, 1);
		else
			patch64("re.img", clone_ring_block(1, 0), body[i].off, body[i].v, 1);
		CHECK(run("clone_check re.img") == 2 &&
		      strstr(out, "ring position 1 (slot 1): copy 0 (block 4) is its record under a valid checksum, but") &&
		      strstr(out, body[i].msg) && strstr(out, "hydration state LOST"),
		      "record %s = %llu: want exit 2 and '%s', got:\n%s", body[i].name,
		      (unsigned long long)body[i].v, body[i].msg, out);
	}
	/* misplaced under a valid checksum, with the right sequence: corrupt too */
	make_image_v2("re.img", 70000, 5);
	put_record("re.img", 0, -1, 1, 1);
	put_record("re.img", 1, 0, 2, 1);
	patch32("re.img", clone_ring_block(1, 0), 24, 9, 1);
	EXPECT(2, "but misplaced block", "clone_check re.img");

	/* both copies of the end slot unreadable: cannot tell; one: the end */
	make_image_v2("re.img", 70000, 5);
	put_record("re.img", 0, -1, 1, 1);
	img = read_all(path("re.img"), &len);
	if (CHECK(img, "reading re.img")) {
		dev_open_mem(&d, img, len);
		d.fail_block_from = (int)clone_ring_block(1, 0);
		d.fail_block_to = d.fail_block_from + 2;
		md_analyze(&d, &mo, &m, NULL, NULL);
		CHECK(m.found == FOUND_OK && m.severity == 2 && m.ring_unknown && m.replayed == 1 &&
		      m.ring_end == 1 && !strcmp(m.ring_why, "both copies unreadable"),
		      "slot 1 unreadable in both copies: refused, cannot tell (severity %d, why %s)",
		      m.severity, m.ring_why);
		uint64_t *lost = md_lost_bits(&m);

		CHECK(lost && bits_count(lost, 70000) == 70000 - 14001,
		      "cannot tell: every region not known hydrated is lost");
		free(lost);
		md_free(&m);
		d.fail_block_to = d.fail_block_from + 1;	/* copy 0 only */
		md_analyze(&d, &mo, &m, NULL, NULL);
		CHECK(m.severity == 0 && !m.ring_unknown && m.replayed == 1 && m.hydrated == 14001,
		      "slot 1 unreadable in one copy: the end of the log (severity %d)", m.severity);
		md_free(&m);
		d.fail_block_from = (int)clone_ring_block(0, 0);	/* the record's copy 0 */
		d.fail_block_to = d.fail_block_from + 1;
		md_analyze(&d, &mo, &m, NULL, NULL);
		CHECK(m.severity == 1 && m.ring_damaged == 1 && m.replayed == 1 && m.hydrated == 14001,
		      "a record readable in copy 1 only: replayed (severity %d)", m.severity);
		md_free(&m);
		free(img);
	}

	/* a gap: position 1 lost in both copies, position 2 there */
	make_image_v2("re.img", 70000, 5);
	put_record("re.img", 0, -1, 1, 1);
	put_record("re.img", 1, -1, 2, 1);
	put_record("re.img", 2, -1, 3, 1);
	flip("re.img", clone_ring_block(1, 0), 200);
	patch("re.img", clone_ring_block(1, 1), 0, (uint8_t[CLONE_BLOCK_SIZE]){ 0 }, CLONE_BLOCK_SIZE, 0);
	EXPECT(2, "ring position 1 (slot 1): no record in either copy (copy 0 checksum mismatch, copy 1 zeroed), but position 2 (slot 2) holds one: a record lost in both copies|hydration state LOST",
	       "clone_check re.img");
	/* what can be salvaged: the records before and after the gap, the rest lost */
	EXPECT(1, "1 more record read past position 1|is lost: dumped as unhydrated", "clone_dump --repair -o re.lost re.img");
	EXPECT(0, "hydrated 14002|range 0-1|range 3-3|lost 2-2|lost 4-4", "cat re.lost");
	unlink(path("re1.img"));
	EXPECT(2, "is lost: nothing written", "clone_repair -i re.img -o re1.img");
	CHECK(access(path("re1.img"), F_OK) != 0, "a refused repair wrote its output");
	EXPECT(1, "writing them as unhydrated", "clone_repair -i re.img -o re1.img --assume-unhydrated");
	EXPECT(0, "(format version 2), 14002 hydrated (20.0%), 0 records replayed: clean", "clone_check re1.img");
	unlink(path("re1.img"));
	unlink(path("re.lost"));
	unlink(path("re.img"));
}

/* dump, restore, repair and convert with version 2 */
static void test_v2_round_trips(void)
{
	struct md_opts mo = { .use_sb = -1 };
	struct dev d;
	struct md m[2];

	make_image_v2("rt2.img", 100000, 3);
	put_record("rt2.img", 0, -1, 1, 2);
	put_record("rt2.img", 1, 0, 99990, 10);
	EXPECT(0, "2 records replayed", "clone_check rt2.img");
	EXPECT(0, "", "clone_dump -o rt2.text rt2.img");
	EXPECT(0, "version 2\n", "cat rt2.text");
	for (int i = 0; i < 3; i++) {
		static const char *fmts[] = { "text", "xml", "json" };

		dump_restore_dump("rt2.img", fmts[i], "rt2.dump", "rt2b.img", "rt2b.dump",
				  "format version 2, a ring of 256 records");
		EXPECT(0, "(format version 2)|0 records replayed: clean", "clone_check rt2b.img");
	}
	/* --format-version: the version written, whatever the dump says */
	unlink(path("rt2b.img"));
	EXPECT(0, "(10 blocks of 4 KiB)\n", "clone_restore --format-version 1 -i rt2.text -o rt2b.img");
	EXPECT(0, "version 1\n", "clone_dump rt2b.img");
	EXPECT(0, "", "clone_dump -o rt1.text rt2b.img");
	unlink(path("rt2c.img"));
	EXPECT(0, "(522 blocks of 4 KiB; format version 2, a ring of 256 records)",
	       "clone_restore --format-version 2 -i rt1.text -o rt2c.img");
	EXPECT(0, "", "clone_dump -o rt2b.text rt2c.img");
	unlink(path("rt2c.img"));
	CHECK(file_eq("rt2.text", "rt2b.text"), "version 1 dump restored as version 2: not identical");
	EXPECT(EXIT_USAGE, "format version '3': these tools write versions 1 to 2",
	       "clone_restore --format-version 3 -i rt1.text -o rt2c.img");

	/* as many ring slots as fit, from 8; fewer do not fit (N = 4) */
	for (int i = 0; i < 3; i++) {
		static const uint64_t blocks[] = { 2 + 16 + 8, 2 + 40 + 8, 2 + 15 + 8 };
		static const char *want[] = { "a ring of 8 records", "a ring of 20 records",
					      "too small|in format version 2 (a ring of 8 slots, the fewest): at least 106496 bytes" };

		fclose(fopen(path("rt2s.img"), "w"));
		if (truncate(path("rt2s.img"), (off_t)(blocks[i] * CLONE_BLOCK_SIZE)))
			CHECK(0, "truncate");
		EXPECT(i < 2 ? 0 : EXIT_FAILED, want[i], "clone_restore --format-version 2 -i rt1.text -o rt2s.img");
		if (i < 2)
			EXPECT(0, "clean", "clone_check rt2s.img");
	}
	unlink(path("rt2s.img"));

	/* repair keeps version 2: the records folded into the bitmap, the ring zeroed */
	unlink(path("rt2r.img"));
	flip("rt2.img", clone_bitmap_block(2, V2_SLOTS, 4, 1, 0), 100);
	EXPECT(0, "copy B intact: the module uses copy B and rewrites copy A at the checkpoint it writes at load: nothing lost|100000 regions of 8 sectors",
	       "clone_repair -i rt2.img -o rt2r.img");
	EXPECT(0, "(format version 2)|0 records replayed: clean", "clone_check rt2r.img");
	EXPECT(0, "", "clone_dump -o rt2r.text rt2r.img");
	CHECK(file_eq("rt2.text", "rt2r.text"), "version 2 repaired: another state");
	check_v2_layout("rt2r.img", 4, "repaired");
	/* written over metadata with records: none left */
	put_record("rt2r.img", 0, -1, 1, 1);
	put_record("rt2r.img", 1, -1, 1, 1);
	EXPECT(0, "", "clone_restore -i rt2.text -o rt2r.img");
	check_v2_layout("rt2r.img", 4, "restored over records");

	/* convert: version 1 to 2 and back, the map kept */
	unlink(path("rt2c.img"));
	unlink(path("rt2d.img"));
	EXPECT(0, "dm-clone metadata in format version 1: 100000 regions of 8 sectors, 33342 hydrated|metadata written in format version 2",
	       "clone_convert --format-version 2 -i rt2b.img -o rt2c.img");
	EXPECT(0, "(format version 2), 33342 hydrated", "clone_check rt2c.img");
	EXPECT(0, "", "clone_dump -o rt2c.text rt2c.img");
	CHECK(file_eq("rt2.text", "rt2c.text"), "converted to version 2: another state");
	/* version 1 to 2 is also what no --format-version does */
	unlink(path("rt2e.img"));
	EXPECT(0, "dm-clone metadata in format version 1: 100000 regions of 8 sectors, 33342 hydrated|metadata written in format version 2",
	       "clone_convert -i rt2b.img -o rt2e.img");
	EXPECT(0, "(format version 2), 33342 hydrated", "clone_check rt2e.img");
	unlink(path("rt2e.img"));
	EXPECT(EXIT_USAGE, "rt2c.img is already in format version 2, the default: nothing to convert (--format-version 1 writes version 1)",
	       "clone_convert -i rt2c.img -o rt2e.img");
	CHECK(access(path("rt2e.img"), F_OK) != 0, "a conversion to the same version writes nothing");
	EXPECT(0, "in format version 2: 100000 regions|written in format version 1",
	       "clone_convert --format-version 1 -i rt2c.img -o rt2d.img");
	for (int i = 0; i < 2; i++) {
		dev_open(&d, path(i ? "rt2d.img" : "rt2c.img"), DEV_READ, 0);
		md_analyze(&d, &mo, &m[i], NULL, NULL);
		dev_close(&d);
	}
	CHECK(m[0].sb.version == 2 && m[1].sb.version == 1 && m[0].hydrated == 33342 &&
	      !memcmp(m[0].bits, m[1].bits, (100000 + 63) / 64 * 8), "converted to version 1: the same bitmap");
	md_free(&m[0]);
	md_free(&m[1]);
	EXPECT(EXIT_USAGE, "rt2c.img is already in format version 2", "clone_convert --format-version 2 -i rt2c.img -o rt2e.img");
	EXPECT(EXIT_FAILED, "are the same", "clone_convert --format-version 2 -i rt2d.img -o rt2d.img");
	EXPECT(0, "version 2\n", "clone_convert -q --format-version 2 -f text -i rt2d.img -o -");
	EXPECT(0, "1548 blocks|", "clone_metadata_size -d 1T -R 64k --format-version 2");
	/* metadata the module refuses is not converted */
	put_record("rt2c.img", 0, -1, 1, 1);
	put_record("rt2c.img", 2, -1, 1, 1);
	EXPECT(2, "a record lost in both copies|nothing written: the module refuses", "clone_convert -i rt2c.img -o rt2e.img");
	CHECK(access(path("rt2e.img"), F_OK) != 0, "a refused conversion wrote its output");
	const char *const rm[] = { "rt2.img", "rt2b.img", "rt2c.img", "rt2d.img", "rt2r.img", "rt2.text",
				   "rt2b.text", "rt2c.text", "rt2r.text", "rt1.text", "rt2.dump", "rt2b.dump" };

	for (size_t i = 0; i < sizeof(rm) / sizeof(rm[0]); i++)
		unlink(path(rm[i]));
}

/*
 * md_write() cut short after every one of its writes, over metadata of
 * another state: what is left never loads as anything but the whole new
 * state (no valid superblock over half-written blocks).
 */
/*
 * Salvage (both superblocks lost, the geometry given): the layout told by
 * where the valid bitmap blocks lie, in either version and any ring.
 */
static void test_salvage_versions(void)
{
	const char *geo = "--region-size 8 --nr-regions 70000";
	struct md_opts mo = { .use_sb = -1 };
	uint64_t slots = 0, *bits = bits_alloc(70000);
	struct dev d;
	struct md m;

	/* version 1: bitmap blocks at 2 + c * N + k */
	make_image("sv1.img", 8, 70000, 5);
	flip("sv1.img", 0, 50);
	flip("sv1.img", 1, 50);
	unlink(path("sv1r.img"));
	EXPECT(0, "6 valid bitmap blocks lie where format version 1 puts them: taking version 1|70000 regions of 8 sectors, 14000 hydrated",
	       "clone_repair -i sv1.img -o sv1r.img %s", geo);
	EXPECT(0, "version 1\n|hydrated 14000", "clone_dump sv1r.img");
	unlink(path("sv1r.img"));
	/* the module would put version 2 on it, but the blocks say version 1 */
	if (truncate(path("sv1.img"), 600 * CLONE_BLOCK_SIZE))
		CHECK(0, "truncate");
	EXPECT(0, "where format version 1 puts them|14000 hydrated",
	       "clone_repair -i sv1.img -o sv1r.img %s", geo);
	EXPECT(0, "version 1\n", "clone_dump sv1r.img");
	unlink(path("sv1r.img"));

	/* version 2, a ring of 256: bitmap blocks at 2 + 2L + 2k + c */
	make_image_v2("sv2.img", 70000, 5);
	flip("sv2.img", 0, 50);
	flip("sv2.img", 1, 50);
	EXPECT(2, "no valid superblock", "clone_repair -i sv2.img -o sv2r.img");
	/* a record at the checkpoint the invented superblock names (0): replayed */
	put_record("sv2.img", 0, -1, 1, 1);
	unlink(path("sv2r.img"));
	EXPECT(0, "6 valid bitmap blocks lie where format version 2 with a ring of 256 slots puts them|70000 regions of 8 sectors, 14001 hydrated",
	       "clone_repair -i sv2.img -o sv2r.img %s", geo);
	EXPECT(0, "(format version 2), 14001 hydrated (20.0%), 0 records replayed: clean", "clone_check sv2r.img");
	check_v2_layout("sv2r.img", 3, "salvaged");
	EXPECT(0, "version 2\n|hydrated 14001", "clone_dump --repair " "--region-size 8 --nr-regions 70000 sv2.img");
	unlink(path("sv2r.img"));

	/* version 2, a ring of 20 (a device of 48 blocks): the ring found */
	for (uint64_t r = 0; r < 70000; r += 5)
		bits_set_range(bits, r, r + 1);
	unlink(path("sv3.img"));
	fclose(fopen(path("sv3.img"), "w"));
	if (truncate(path("sv3.img"), 48 * CLONE_BLOCK_SIZE))
		CHECK(0, "truncate");
	CHECK(!write_metadata(path("sv3.img"), 2, 0, 8, 70000, 1700000000, bits, &slots, "unit") &&
	      slots == 20, "a version 2 ring of 20 slots: %llu", (unsigned long long)slots);
	/* one bitmap block lost in copy A: the others still tell the layout */
	flip("sv3.img", clone_bitmap_block(2, 20, 3, 1, 0), 100);
	flip("sv3.img", 0, 50);
	flip("sv3.img", 1, 50);
	dev_open(&d, path("sv3.img"), DEV_READ, 0);
	mo.salvage = 1;
	mo.region_size = 8;
	mo.nr_regions = 70000;
	md_analyze(&d, &mo, &m, NULL, NULL);
	dev_close(&d);
	CHECK(m.found == FOUND_OK && m.sb_invented && m.sb.version == 2 && m.sb.ring_slots == 20 &&
	      m.sb.ring_start == 2 && m.sb.checkpoint == 0 &&
	      m.sb.copy_start[0] == clone_bitmap_block(2, 20, 3, 0, 0) &&
	      m.sb.copy_start[1] == clone_bitmap_block(2, 20, 3, 0, 1) && m.hydrated == 14000,
	      "salvage of a ring of 20: version %u, %u slots, %llu hydrated", m.sb.version,
	      m.sb.ring_slots, (unsigned long long)m.hydrated);
	md_free(&m);
	EXPECT(0, "5 valid bitmap blocks lie where format version 2 with a ring of 20 slots puts them|14000 hydrated",
	       "clone_repair -i sv3.img -o sv3r.img %s", geo);
	EXPECT(0, "(format version 2), 14000 hydrated", "clone_check sv3r.img");
	unlink(path("sv3r.img"));

	/* no valid bitmap block: what the module formats on the device */
	for (uint64_t k = 0; k < 3; k++)
		for (unsigned int cp = 0; cp < 2; cp++)
			flip("sv2.img", clone_bitmap_block(2, V2_SLOTS, 3, k, cp), 100);
	EXPECT(1, "no valid bitmap block tells the layout: taking format version 2 with a ring of 256 slots (what the module formats on this device)|version 2\n|lost 0-69999",
	       "clone_dump --repair %s sv2.img", geo);
	EXPECT(1, "no valid bitmap block tells the layout: taking format version 2 with a ring of 256 slots|70000 regions of 8 sectors, 0 hydrated",
	       "clone_repair --assume-unhydrated -i sv2.img -o sv2r.img %s", geo);
	EXPECT(0, "(format version 2), 0 hydrated", "clone_check sv2r.img");
	for (uint64_t k = 0; k < 3; k++)
		for (unsigned int cp = 0; cp < 2; cp++)
			flip("sv1.img", clone_bitmap_block(1, 0, 3, k, cp), 100);
	if (truncate(path("sv1.img"), 8 * CLONE_BLOCK_SIZE))
		CHECK(0, "truncate");
	EXPECT(1, "no valid bitmap block tells the layout: taking format version 1 (version 2 does not fit this device|version 1\n",
	       "clone_dump --repair %s sv1.img", geo);
	const char *const rm[] = { "sv1.img", "sv1r.img", "sv2.img", "sv2r.img", "sv3.img", "sv3r.img" };

	for (size_t i = 0; i < sizeof(rm) / sizeof(rm[0]); i++)
		unlink(path(rm[i]));
	free(bits);
}

static void test_write_order(void)
{
	uint64_t nr = 70000, *bits = bits_alloc(nr);
	struct md_opts mo = { .use_sb = -1 };
	int saved = dup(2), null = open("/dev/null", O_WRONLY);

	for (uint64_t r = 0; r < nr; r += 5)
		bits_set_range(bits, r, r + 1);
	for (uint32_t v = 1; v <= CLONE_VERSION_MAX; v++) {
		int cut, rc = 1, bad = 0;

		for (cut = 1; rc && cut < 1000; cut++) {
			struct dev d;
			struct md m;

			if (v == 1) {
				make_image("wo.img", 8, nr, 7);
			} else {
				make_image_v2("wo.img", nr, 7);
				put_record("wo.img", 0, -1, 1, 1);
			}
			if (dev_open(&d, path("wo.img"), DEV_WRITE, 0) < 0) {
				CHECK(0, "opening wo.img");
				break;
			}
			d.fail_write_from = cut;
			dup2(null, 2);	/* md_write() says why it failed */
			rc = md_write(&d, v, 8, nr, 1, bits, "unit");
			dup2(saved, 2);
			dev_close(&d);
			dev_open(&d, path("wo.img"), DEV_READ, 0);
			md_analyze(&d, &mo, &m, NULL, NULL);
			dev_close(&d);
			/* the first write cut: the old metadata, untouched */
			if (cut > 1 && m.found == FOUND_OK &&
			    (m.hydrated != 14000 || m.severity > 1 || m.sb.version != v)) {
				CHECK(0, "version %u, cut at write %d: loads as %llu hydrated, version %u, severity %d",
				      v, cut, (unsigned long long)m.hydrated, m.sb.version, m.severity);
				bad = 1;
			}
			md_free(&m);
		}
		CHECK(!rc && cut > 4 && !bad, "version %u: %d cuts, the last write %s", v, cut - 1,
		      rc ? "failed" : "done");
	}
	close(null);
	close(saved);
	unlink(path("wo.img"));
	free(bits);
}

int main(int argc, char **argv)
{
	char cmd[600];

	if (argc != 3) {
		fprintf(stderr, "usage: %s BINDIR WORKDIR\n", argv[0]);
		return 2;
	}
	bindir = argv[1];
	/* a directory of this run's own: two runs at once share no file */
	mkdir(argv[2], 0755);
	snprintf(workdir, sizeof(workdir), "%s/%d", argv[2], (int)getpid());
	if (mkdir(workdir, 0755) && errno != EEXIST) {
		fprintf(stderr, "%s: %s: %s\n", argv[0], workdir, strerror(errno));
		return 2;
	}
	work = workdir;

	test_crc();
	test_le();
	test_blocks();
	test_bits();
	test_sizes();
	test_mem_and_io_errors();
	test_parser();
	test_versions();
	test_superblock();
	test_bitmap_damage();
	test_truncation_and_foreign();
	test_round_trip();
	test_repair();
	test_metadata_size();
	test_convert();
	test_outputs();
	test_v2_superblock();
	test_v2_grow();
	test_v2_replay();
	test_v2_ring_end();
	test_v2_round_trips();
	test_salvage_versions();
	test_write_order();

	printf("tools unit tests: %d passed, %d failed\n", passed, failed);
	if (failed) {
		printf("the files of the failed run are in %s\n", work);
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
	if (system(cmd))
		printf("cannot remove %s\n", work);
	return 0;
}
