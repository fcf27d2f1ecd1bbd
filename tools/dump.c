// SPDX-License-Identifier: GPL-2.0
/*
 * Dumps: the superblock fields that matter and the hydrated regions as
 * ranges (first-last, inclusive), in text, XML or JSON. The nonce is left
 * out on purpose: clone_restore chooses a fresh one, and a dump of the
 * restored metadata must be identical to the dump it came from.
 *
 * The parsers take what the writers produce plus comments and free
 * whitespace, and are strict otherwise (unknown keys, ranges out of order
 * or out of bounds, a hydrated count that does not match are errors): a
 * dump is restored onto a device that decides which data a clone serves.
 * The header fields must come before the ranges, so the bitmap can be
 * built as the ranges are read, in memory bounded by the region count.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clonemd.h"

int parse_format(const char *s, enum dump_format *f)
{
	if (!strcmp(s, "text"))
		*f = FMT_TEXT;
	else if (!strcmp(s, "xml"))
		*f = FMT_XML;
	else if (!strcmp(s, "json"))
		*f = FMT_JSON;
	else if (!strcmp(s, "auto"))
		*f = FMT_AUTO;
	else
		return -1;
	return 0;
}

void dump_free(struct dump *dm)
{
	free(dm->bits);
	free(dm->lost);
	dm->bits = dm->lost = NULL;
}

/* ---- writing ---- */

/* The next run of set bits at or after *pos, inclusive; 0 when none. */
static int next_run(const uint64_t *bits, uint64_t n, uint64_t *pos,
		    unsigned long long *a, unsigned long long *b)
{
	uint64_t s, e;

	if (!bits)
		return 0;
	s = bits_next(bits, *pos, n, 1);
	if (s >= n)
		return 0;
	e = bits_next(bits, s, n, 0);
	*a = s;
	*b = e - 1;
	*pos = e;
	return 1;
}

static void write_text(FILE *f, const struct dump *dm)
{
	unsigned long long a, b;
	uint64_t pos = 0;

	fprintf(f, "# dm-clone metadata, dumped by clone_dump %s\n"
		   "# regions are numbered from 0; a range is first-last, inclusive\n",
		TOOLS_VERSION);
	fprintf(f, "version %u\nregion_size %llu\nnr_regions %llu\nformat_time %llu\nhydrated %llu\n",
		dm->version, (unsigned long long)dm->region_size,
		(unsigned long long)dm->nr_regions,
		(unsigned long long)dm->format_time,
		(unsigned long long)dm->hydrated);
	while (next_run(dm->bits, dm->nr_regions, &pos, &a, &b))
		fprintf(f, "range %llu-%llu\n", a, b);
	for (pos = 0; next_run(dm->lost, dm->nr_regions, &pos, &a, &b);)
		fprintf(f, "lost %llu-%llu\n", a, b);
}

static void write_xml(FILE *f, const struct dump *dm)
{
	unsigned long long a, b;
	uint64_t pos = 0;

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<!-- dm-clone metadata, dumped by clone_dump %s -->\n",
		TOOLS_VERSION);
	fprintf(f, "<dm_clone_metadata version=\"%u\" region_size=\"%llu\" nr_regions=\"%llu\" format_time=\"%llu\" hydrated=\"%llu\">\n",
		dm->version, (unsigned long long)dm->region_size,
		(unsigned long long)dm->nr_regions,
		(unsigned long long)dm->format_time,
		(unsigned long long)dm->hydrated);
	while (next_run(dm->bits, dm->nr_regions, &pos, &a, &b))
		fprintf(f, "  <range first=\"%llu\" last=\"%llu\"/>\n", a, b);
	for (pos = 0; next_run(dm->lost, dm->nr_regions, &pos, &a, &b);)
		fprintf(f, "  <lost first=\"%llu\" last=\"%llu\"/>\n", a, b);
	fprintf(f, "</dm_clone_metadata>\n");
}

static void json_array(FILE *f, const char *name, const uint64_t *bits,
		       uint64_t n)
{
	unsigned long long a, b;
	uint64_t pos = 0;
	int first = 1;

	fprintf(f, ",\n  \"%s\": [", name);
	while (next_run(bits, n, &pos, &a, &b)) {
		fprintf(f, "%s\n    [%llu, %llu]", first ? "" : ",", a, b);
		first = 0;
	}
	fprintf(f, "%s]", first ? "" : "\n  ");
}

static void write_json(FILE *f, const struct dump *dm)
{
	fprintf(f, "{\n  \"version\": %u,\n  \"region_size\": %llu,\n  \"nr_regions\": %llu,\n  \"format_time\": %llu,\n  \"hydrated\": %llu",
		dm->version, (unsigned long long)dm->region_size,
		(unsigned long long)dm->nr_regions,
		(unsigned long long)dm->format_time,
		(unsigned long long)dm->hydrated);
	json_array(f, "ranges", dm->bits, dm->nr_regions);
	if (dm->lost)
		json_array(f, "lost", dm->lost, dm->nr_regions);
	fprintf(f, "\n}\n");
}

void dump_write(FILE *f, enum dump_format fmt, const struct dump *dm)
{
	if (fmt == FMT_XML)
		write_xml(f, dm);
	else if (fmt == FMT_JSON)
		write_json(f, dm);
	else
		write_text(f, dm);
}

/* ---- parsing ---- */

enum { F_VERSION, F_REGION_SIZE, F_NR_REGIONS, F_FORMAT_TIME, F_HYDRATED, NFIELDS };
static const char *const field_names[NFIELDS] = {
	"version", "region_size", "nr_regions", "format_time", "hydrated",
};

struct parser {
	const char *s, *end, *p;	/* the text, its end, where we are */
	struct dump *dm;
	uint64_t max_regions;
	int have[NFIELDS];
	uint64_t next[2];	/* ranges must start at or after: hydrated, lost */
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct parser *ps, const char *fmt, ...)
{
	char msg[256];
	int line = 1;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (const char *q = ps->s; q < ps->p && q < ps->end; q++)
		line += *q == '\n';
	snprintf(ps->err, ps->errlen, "line %d: %s", line, msg);
	return -1;
}

/* A decimal number at ps->p, at most 2^64-1; advances ps->p. */
static int number(struct parser *ps, uint64_t *v)
{
	const char *q = ps->p;

	*v = 0;
	if (q >= ps->end || !isdigit((unsigned char)*q))
		return fail(ps, "a number expected");
	for (; q < ps->end && isdigit((unsigned char)*q); q++) {
		uint64_t d = (uint64_t)(*q - '0');

		if (*v > (UINT64_MAX - d) / 10)
			return fail(ps, "number too large");
		*v = *v * 10 + d;
	}
	ps->p = q;
	return 0;
}

static int field(struct parser *ps, const char *name, size_t len, uint64_t v)
{
	int i;

	for (i = 0; i < NFIELDS; i++)
		if (strlen(field_names[i]) == len && !memcmp(field_names[i], name, len))
			break;
	if (i == NFIELDS)
		return fail(ps, "unknown field '%.*s'", (int)(len > 40 ? 40 : len), name);
	if (ps->have[i])
		return fail(ps, "%s given twice", field_names[i]);
	if (ps->next[0] || ps->next[1] || ps->dm->bits)
		return fail(ps, "%s after the ranges: the header fields come first",
			    field_names[i]);
	ps->have[i] = 1;
	switch (i) {
	case F_VERSION:
		if (v < CLONE_VERSION_MIN || v > CLONE_VERSION_MAX)
			return fail(ps, "format version %llu; this tool knows versions %d to %d only",
				    (unsigned long long)v, CLONE_VERSION_MIN, CLONE_VERSION_MAX);
		ps->dm->version = (uint32_t)v;
		break;
	case F_REGION_SIZE:
		if (check_region_size(v))
			return fail(ps, "region size %llu: %s", (unsigned long long)v,
				    check_region_size(v));
		ps->dm->region_size = v;
		break;
	case F_NR_REGIONS:
		if (check_nr_regions(v))
			return fail(ps, "nr_regions %llu: %s", (unsigned long long)v,
				    check_nr_regions(v));
		if (v > ps->max_regions)
			return fail(ps, "nr_regions %llu: more than this parser takes (%llu)",
				    (unsigned long long)v,
				    (unsigned long long)ps->max_regions);
		ps->dm->nr_regions = v;
		break;
	case F_FORMAT_TIME:
		ps->dm->format_time = v;
		break;
	case F_HYDRATED:
		ps->dm->hydrated = v;
		break;
	}
	return 0;
}

/* Regions first..last are hydrated (@lost 0) or lost (@lost 1). */
static int add_range(struct parser *ps, int lost, uint64_t first, uint64_t last)
{
	struct dump *dm = ps->dm;
	uint64_t **bits = lost ? &dm->lost : &dm->bits;

	if (!ps->have[F_NR_REGIONS])
		return fail(ps, "a range before nr_regions: the header fields come first");
	if (first > last)
		return fail(ps, "range %llu-%llu is backwards",
			    (unsigned long long)first, (unsigned long long)last);
	if (last >= dm->nr_regions)
		return fail(ps, "range %llu-%llu: past the last region (%llu)",
			    (unsigned long long)first, (unsigned long long)last,
			    (unsigned long long)(dm->nr_regions - 1));
	if (first < ps->next[lost])
		return fail(ps, "range %llu-%llu overlaps or precedes the one before it (ranges go in ascending order)",
			    (unsigned long long)first, (unsigned long long)last);
	if (!*bits)
		*bits = bits_alloc(dm->nr_regions);
	bits_set_range(*bits, first, last + 1);
	ps->next[lost] = last + 1;
	return 0;
}

/* version, region_size and nr_regions are required */
static int need_header(struct parser *ps)
{
	for (int i = 0; i <= F_NR_REGIONS; i++)
		if (!ps->have[i])
			return fail(ps, "no %s", field_names[i]);
	return 0;
}

static int finish(struct parser *ps)
{
	struct dump *dm = ps->dm;
	uint64_t n;

	if (need_header(ps))
		return -1;
	if (!ps->have[F_FORMAT_TIME])
		dm->format_time = (uint64_t)time(NULL);
	if (!dm->bits)
		dm->bits = bits_alloc(dm->nr_regions);
	n = bits_count(dm->bits, dm->nr_regions);
	if (ps->have[F_HYDRATED] && n != dm->hydrated)
		return fail(ps, "the ranges hold %llu regions, but the dump says hydrated %llu",
			    (unsigned long long)n, (unsigned long long)dm->hydrated);
	dm->hydrated = n;
	if (dm->lost) {
		for (uint64_t i = 0; i < bitmap_blocks(dm->nr_regions) * WORDS_PER_BLOCK; i++)
			if (dm->bits[i] & dm->lost[i])
				return fail(ps, "a region is both hydrated and lost (near region %llu)",
					    (unsigned long long)(i * 64));
	}
	return 0;
}

static void skip_space(struct parser *ps)
{
	while (ps->p < ps->end && isspace((unsigned char)*ps->p))
		ps->p++;
}

static int lit(struct parser *ps, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n))
		return 0;
	ps->p += n;
	return 1;
}

/* text: "key value" lines, "range a-b" / "lost a-b", # comments */
static int parse_text(struct parser *ps)
{
	while (ps->p < ps->end) {
		const char *eol = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));
		const char *key, *stop;
		size_t klen;

		if (!eol)
			eol = ps->end;
		stop = memchr(ps->p, '#', (size_t)(eol - ps->p));
		if (!stop)
			stop = eol;
		while (ps->p < stop && isspace((unsigned char)*ps->p))
			ps->p++;
		if (ps->p == stop) {
			ps->p = eol < ps->end ? eol + 1 : eol;
			continue;
		}
		key = ps->p;
		while (ps->p < stop && !isspace((unsigned char)*ps->p))
			ps->p++;
		klen = (size_t)(ps->p - key);
		while (ps->p < stop && isspace((unsigned char)*ps->p))
			ps->p++;

		struct parser sub = *ps;	/* numbers end at the comment */
		uint64_t a, b;

		sub.end = stop;
		if (number(&sub, &a))
			return -1;
		b = a;
		int is_range = klen == 5 && !memcmp(key, "range", 5);
		int is_lost = klen == 4 && !memcmp(key, "lost", 4);

		if ((is_range || is_lost) && sub.p < stop && *sub.p == '-') {
			sub.p++;
			if (number(&sub, &b))
				return -1;
		}
		ps->p = sub.p;
		while (ps->p < stop && isspace((unsigned char)*ps->p))
			ps->p++;
		if (ps->p != stop)
			return fail(ps, "unexpected '%c'", *ps->p);
		if (is_range || is_lost ? add_range(ps, is_lost, a, b) :
		    field(ps, key, klen, a))
			return -1;
		ps->p = eol < ps->end ? eol + 1 : eol;
	}
	return finish(ps);
}

/* whitespace, <?...?> and <!--...--> */
static int xml_skip(struct parser *ps)
{
	for (;;) {
		skip_space(ps);
		const char *close = lit(ps, "<?") ? "?>" : lit(ps, "<!--") ? "-->" : NULL;

		if (!close)
			return 0;
		for (;; ps->p++) {
			if (ps->p >= ps->end)
				return fail(ps, "unterminated %s", close[0] == '?' ? "<?" : "comment");
			if (lit(ps, close))
				break;
		}
	}
}

/* name="value" pairs up to '>' or '/>'; *empty set for '/>' */
static int xml_attrs(struct parser *ps, int root, uint64_t *first,
		     uint64_t *last, int *empty)
{
	int have = 0;

	for (;;) {
		skip_space(ps);
		if (lit(ps, "/>")) {
			*empty = 1;
			break;
		}
		if (lit(ps, ">")) {
			*empty = 0;
			break;
		}
		const char *name = ps->p;

		while (ps->p < ps->end && (isalnum((unsigned char)*ps->p) || *ps->p == '_'))
			ps->p++;
		size_t nlen = (size_t)(ps->p - name);

		skip_space(ps);
		if (!nlen || !lit(ps, "="))
			return fail(ps, "an attribute expected");
		skip_space(ps);
		char q = ps->p < ps->end ? *ps->p : 0;
		uint64_t v;

		if (q != '"' && q != '\'')
			return fail(ps, "a quoted value expected");
		ps->p++;
		if (number(ps, &v))
			return -1;
		if (ps->p >= ps->end || *ps->p++ != q)
			return fail(ps, "unterminated value");
		if (root) {
			if (field(ps, name, nlen, v))
				return -1;
		} else if (nlen == 5 && !memcmp(name, "first", 5) && !(have & 1)) {
			*first = v;
			have |= 1;
		} else if (nlen == 4 && !memcmp(name, "last", 4) && !(have & 2)) {
			*last = v;
			have |= 2;
		} else {
			return fail(ps, "unexpected attribute '%.*s'",
				    (int)(nlen > 40 ? 40 : nlen), name);
		}
	}
	if (!root && have != 3)
		return fail(ps, "a range needs first and last");
	return 0;
}

static int parse_xml(struct parser *ps)
{
	uint64_t a = 0, b = 0;
	int empty;

	if (xml_skip(ps))
		return -1;
	if (!lit(ps, "<dm_clone_metadata"))
		return fail(ps, "<dm_clone_metadata> expected");
	if (xml_attrs(ps, 1, &a, &b, &empty) || need_header(ps))
		return -1;
	while (!empty) {
		if (xml_skip(ps))
			return -1;
		if (lit(ps, "</dm_clone_metadata")) {
			skip_space(ps);
			if (!lit(ps, ">"))
				return fail(ps, "'>' expected");
			break;
		}
		int lost = lit(ps, "<lost") ? 1 : lit(ps, "<range") ? 0 : -1;
		int e;

		if (lost < 0)
			return fail(ps, "<range>, <lost> or </dm_clone_metadata> expected");
		if (ps->p < ps->end && !isspace((unsigned char)*ps->p))
			return fail(ps, "unknown element");
		if (xml_attrs(ps, 0, &a, &b, &e))
			return -1;
		if (!e)
			return fail(ps, "<range> and <lost> are empty elements (/>)");
		if (add_range(ps, lost, a, b))
			return -1;
	}
	if (xml_skip(ps))
		return -1;
	if (ps->p != ps->end)
		return fail(ps, "data after </dm_clone_metadata>");
	return finish(ps);
}

/* "name": the characters between the quotes, no escapes */
static int json_string(struct parser *ps, const char **s, size_t *len)
{
	if (!lit(ps, "\""))
		return fail(ps, "a string expected");
	*s = ps->p;
	while (ps->p < ps->end && *ps->p != '"') {
		if (*ps->p == '\\' || (unsigned char)*ps->p < 0x20)
			return fail(ps, "unexpected character in a string");
		ps->p++;
	}
	*len = (size_t)(ps->p - *s);
	if (!lit(ps, "\""))
		return fail(ps, "unterminated string");
	return 0;
}

/* [[a, b], ...] */
static int json_ranges(struct parser *ps, int lost)
{
	skip_space(ps);
	if (!lit(ps, "["))
		return fail(ps, "'[' expected");
	skip_space(ps);
	if (lit(ps, "]"))
		return 0;
	for (;;) {
		uint64_t a, b;

		skip_space(ps);
		if (!lit(ps, "["))
			return fail(ps, "'[' expected (a range is [first, last])");
		skip_space(ps);
		if (number(ps, &a))
			return -1;
		skip_space(ps);
		if (!lit(ps, ","))
			return fail(ps, "',' expected");
		skip_space(ps);
		if (number(ps, &b))
			return -1;
		skip_space(ps);
		if (!lit(ps, "]"))
			return fail(ps, "']' expected");
		if (add_range(ps, lost, a, b))
			return -1;
		skip_space(ps);
		if (lit(ps, "]"))
			return 0;
		if (!lit(ps, ","))
			return fail(ps, "',' or ']' expected");
	}
}

static int parse_json(struct parser *ps)
{
	int seen[2] = { 0, 0 };

	skip_space(ps);
	if (!lit(ps, "{"))
		return fail(ps, "'{' expected");
	skip_space(ps);
	if (!lit(ps, "}")) {
		for (;;) {
			const char *key = NULL;
			size_t klen = 0;
			uint64_t v;

			skip_space(ps);
			if (json_string(ps, &key, &klen))
				return -1;
			skip_space(ps);
			if (!lit(ps, ":"))
				return fail(ps, "':' expected");
			skip_space(ps);
			int lost = klen == 4 && !memcmp(key, "lost", 4) ? 1 :
				   klen == 6 && !memcmp(key, "ranges", 6) ? 0 : -1;

			if (lost >= 0) {
				if (seen[lost]++)
					return fail(ps, "\"%s\" given twice", lost ? "lost" : "ranges");
				if (json_ranges(ps, lost))
					return -1;
			} else if (number(ps, &v) || field(ps, key, klen, v)) {
				return -1;
			}
			skip_space(ps);
			if (lit(ps, "}"))
				break;
			if (!lit(ps, ","))
				return fail(ps, "',' or '}' expected");
		}
	}
	skip_space(ps);
	if (ps->p != ps->end)
		return fail(ps, "data after the object");
	return finish(ps);
}

int dump_parse(const char *text, size_t len, enum dump_format fmt,
	       uint64_t max_regions, struct dump *dm, char *err, size_t errlen)
{
	struct parser ps = {
		.s = text, .end = text + len, .p = text, .dm = dm,
		.max_regions = max_regions, .err = err, .errlen = errlen,
	};
	int r;

	memset(dm, 0, sizeof(*dm));
	if (fmt == FMT_AUTO) {
		skip_space(&ps);
		fmt = ps.p < ps.end && *ps.p == '<' ? FMT_XML :
		      ps.p < ps.end && *ps.p == '{' ? FMT_JSON : FMT_TEXT;
		ps.p = text;
	}
	r = fmt == FMT_XML ? parse_xml(&ps) : fmt == FMT_JSON ? parse_json(&ps) :
	    parse_text(&ps);
	if (r)
		dump_free(dm);
	return r;
}
