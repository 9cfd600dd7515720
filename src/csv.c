/*
 * csv.c - see csv.h. A byte-at-a-time state machine over a large read buffer.
 */
#include "followup/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUFFER_SIZE (256 * 1024)

struct csv_reader {
	int fd;
	char *path;
	unsigned char *buf;
	size_t len, pos;
	int eof;
	off_t consumed, size;
	long line;              /* the physical line the next byte is on */
	char delimiter;
	char *header_raw;
	int converted;
	long first_converted;
};

/* --- input -------------------------------------------------------------------------------- */

static int fill(struct csv_reader *r, char **errmsg)
{
	ssize_t n;

	if (r->eof)
		return 0;
	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->len -= r->pos;
		r->pos = 0;
	}
	do
		n = read(r->fd, r->buf + r->len, BUFFER_SIZE - r->len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		*errmsg = xasprintf("cannot read '%s': %s", r->path, strerror(errno));
		return CSV_EIO;
	}
	if (n == 0)
		r->eof = 1;
	r->len += (size_t)n;
	return (int)n;
}

/* The next byte, or -1 at end of file (or -2 on a read error, with *errmsg). */
static int next_byte(struct csv_reader *r, char **errmsg)
{
	if (r->pos == r->len) {
		int n = fill(r, errmsg);
		if (n < 0)
			return -2;
		if (n == 0)
			return -1;
	}
	r->consumed++;
	return r->buf[r->pos++];
}

static int peek_byte(struct csv_reader *r, char **errmsg)
{
	if (r->pos == r->len) {
		int n = fill(r, errmsg);
		if (n < 0)
			return -2;
		if (n == 0)
			return -1;
	}
	return r->buf[r->pos];
}

/* --- opening and sniffing --------------------------------------------------------------------- */

static void skip_bom(struct csv_reader *r)
{
	if (r->len - r->pos >= 3 && !memcmp(r->buf + r->pos, "\xEF\xBB\xBF", 3)) {
		r->pos += 3;
		r->consumed += 3;
	}
}

/* An Excel "sep=;" first line names the delimiter and is not the header. */
static int read_sep_line(struct csv_reader *r)
{
	const unsigned char *p = r->buf + r->pos;
	size_t left = r->len - r->pos, n;

	if (left < 5 || strncasecmp((const char *)p, "sep=", 4) || p[4] == '\r' || p[4] == '\n')
		return 0;
	n = 5;
	if (n < left && p[n] == '\r')
		n++;
	if (n < left && p[n] == '\n')
		n++;
	if (n == 5 && n < left)
		return 0;       /* "sep=;x": a header that happens to start so */
	r->delimiter = (char)p[4];
	r->pos += n;
	r->consumed += (off_t)n;
	r->line++;
	return 1;
}

/* The delimiter that occurs most, outside quotes, in the header line. */
static char sniff_delimiter(const struct csv_reader *r)
{
	size_t counts[3] = { 0, 0, 0 };
	static const char candidates[3] = { ',', ';', '\t' };
	int quoted = 0;

	for (size_t i = r->pos; i < r->len; i++) {
		unsigned char c = r->buf[i];
		if (c == '"')
			quoted = !quoted;
		else if (!quoted && (c == '\n' || c == '\r'))
			break;
		else if (!quoted)
			for (int k = 0; k < 3; k++)
				counts[k] += c == (unsigned char)candidates[k];
	}
	int best = 0;
	for (int k = 1; k < 3; k++)
		if (counts[k] > counts[best])
			best = k;
	return candidates[best];
}

int csv_open(struct csv_reader **out, const char *path, char **errmsg)
{
	struct csv_reader *r;
	struct stat st;
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;

	*out = NULL;
	if (fd < 0) {
		*errmsg = xasprintf("cannot open '%s': %s", path, strerror(errno));
		return CSV_EIO;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		*errmsg = xasprintf("cannot import '%s': it is a directory", path);
		close(fd);
		return CSV_EIO;
	}
	r = xcalloc(1, sizeof(*r));
	r->fd = fd;
	r->path = xstrdup(strcmp(path, "-") ? path : "(stdin)");
	r->buf = xmalloc(BUFFER_SIZE);
	r->size = S_ISREG(st.st_mode) ? st.st_size : 0;
	r->line = 1;
	*out = r;
	/* Enough of the file to see the BOM, a sep= line and the header. */
	while (!r->eof && r->len < 64 * 1024)
		if (fill(r, errmsg) < 0)
			return CSV_EIO;
	skip_bom(r);
	if (!read_sep_line(r))
		r->delimiter = sniff_delimiter(r);
	return CSV_OK;
}

void csv_close(struct csv_reader *r)
{
	if (!r)
		return;
	if (r->fd != STDIN_FILENO)
		close(r->fd);
	free(r->path);
	free(r->buf);
	free(r->header_raw);
	free(r);
}

char csv_delimiter(const struct csv_reader *r)
{
	return r->delimiter;
}

const char *csv_header_raw(const struct csv_reader *r)
{
	return r->header_raw ? r->header_raw : "";
}

int csv_was_converted(const struct csv_reader *r, long *first_line)
{
	if (first_line)
		*first_line = r->first_converted;
	return r->converted;
}

off_t csv_offset(const struct csv_reader *r)
{
	return r->consumed;
}

off_t csv_size(const struct csv_reader *r)
{
	return r->size;
}

/* --- records ------------------------------------------------------------------------------- */

void csv_record_release(struct csv_record *rec)
{
	if (!rec)
		return;
	strbuf_release(&rec->data);
	strbuf_release(&rec->rawbuf);
	free(rec->starts);
	free(rec->fields);
	memset(rec, 0, sizeof(*rec));
	strbuf_init(&rec->data);
	strbuf_init(&rec->rawbuf);
}

static void start_field(struct csv_record *rec)
{
	if (rec->count == rec->alloc) {
		rec->alloc = rec->alloc ? rec->alloc * 2 : 32;
		rec->starts = xrealloc(rec->starts, rec->alloc * sizeof(*rec->starts));
		rec->fields = xrealloc(rec->fields, (rec->alloc + 1) * sizeof(*rec->fields));
	}
	rec->starts[rec->count++] = rec->data.len;
}

/* Windows-1252 bytes 0x80-0x9F; the rest of the upper half is Latin-1. */
static const unsigned short cp1252_high[32] = {
	0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
	0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
	0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
};

static void add_utf8(struct strbuf *out, unsigned cp)
{
	if (cp < 0x80) {
		strbuf_addch(out, (int)cp);
	} else if (cp < 0x800) {
		strbuf_addch(out, (int)(0xC0 | (cp >> 6)));
		strbuf_addch(out, (int)(0x80 | (cp & 0x3F)));
	} else {
		strbuf_addch(out, (int)(0xE0 | (cp >> 12)));
		strbuf_addch(out, (int)(0x80 | ((cp >> 6) & 0x3F)));
		strbuf_addch(out, (int)(0x80 | (cp & 0x3F)));
	}
}

/* Converts fields that are not UTF-8 from Windows-1252, rebuilding the data buffer. */
static void convert_fields(struct csv_reader *r, struct csv_record *rec)
{
	struct strbuf fixed = STRBUF_INIT;
	int any = 0;

	for (size_t i = 0; i < rec->count; i++) {
		const char *f = rec->data.buf + rec->starts[i];
		size_t len = strlen(f);
		any |= !utf8_valid(f, len);
	}
	if (!any)
		return;
	if (!r->converted) {
		r->converted = 1;
		r->first_converted = rec->line;
	}
	for (size_t i = 0; i < rec->count; i++) {
		const unsigned char *f = (const unsigned char *)rec->data.buf + rec->starts[i];
		size_t len = strlen((const char *)f);
		size_t start = fixed.len;

		if (utf8_valid((const char *)f, len)) {
			strbuf_add(&fixed, f, len);
		} else {
			for (size_t k = 0; k < len; k++)
				add_utf8(&fixed, f[k] < 0x80 ? f[k] : f[k] < 0xA0 ?
					 cp1252_high[f[k] - 0x80] : f[k]);
		}
		strbuf_addch(&fixed, '\0');
		rec->starts[i] = start;
	}
	strbuf_release(&rec->data);
	rec->data = fixed;
}

static int format_error(struct csv_reader *r, long line, char **errmsg, const char *why)
{
	*errmsg = xasprintf("%s:%ld: %s", r->path, line, why);
	return CSV_EFORMAT;
}

/* Copies the run of ordinary bytes at the read position (up to the next byte in stop[])
 * into the field and the raw record at once: the hot path of a large import. */
static void copy_run(struct csv_reader *r, struct csv_record *rec, const unsigned char *stop)
{
	const unsigned char *start = r->buf + r->pos, *end = r->buf + r->len, *p = start;

	while (p < end && !stop[*p])
		p++;
	if (p == start)
		return;
	strbuf_add(&rec->data, start, (size_t)(p - start));
	strbuf_add(&rec->rawbuf, start, (size_t)(p - start));
	r->pos += (size_t)(p - start);
	r->consumed += p - start;
}

/* Parses one record (possibly a blank line: count 1, empty). 1 record, 0 eof, <0 error. */
static int parse_record(struct csv_reader *r, struct csv_record *rec, char **errmsg)
{
	const int delim = (unsigned char)r->delimiter;
	unsigned char plain_stop[256] = { 0 }, quoted_stop[256] = { 0 };
	int c, quoted = 0, in_field_quotes = 0, any = 0;
	long quote_line = 0;

	plain_stop[delim] = plain_stop['"'] = plain_stop['\r'] = plain_stop['\n'] = 1;
	quoted_stop['"'] = quoted_stop['\r'] = quoted_stop['\n'] = 1;
	plain_stop[0] = quoted_stop[0] = 1;
	rec->count = 0;
	strbuf_reset(&rec->data);
	strbuf_reset(&rec->rawbuf);
	rec->line = r->line;
	start_field(rec);
	for (;;) {
		if (rec->data.len + rec->rawbuf.len > CSV_MAX_RECORD)
			return format_error(r, rec->line, errmsg, "record larger than 16 MB");
		copy_run(r, rec, in_field_quotes ? quoted_stop : plain_stop);
		c = next_byte(r, errmsg);
		if (c == -2)
			return CSV_EIO;
		if (c == -1) {
			if (in_field_quotes)
				return format_error(r, quote_line, errmsg,
						    "unterminated quoted field (it starts here)");
			if (!any && !rec->data.len)
				return 0;
			break;
		}
		any = 1;
		if (c == 0)
			return format_error(r, r->line, errmsg, "binary data (a NUL byte): not a CSV file");
		if (in_field_quotes) {
			if (c == '"') {
				if (peek_byte(r, errmsg) == '"') {
					next_byte(r, errmsg);
					strbuf_addch(&rec->rawbuf, '"');
					strbuf_addch(&rec->data, '"');
				} else {
					in_field_quotes = 0;
				}
				strbuf_addch(&rec->rawbuf, '"');
				continue;
			}
			strbuf_addch(&rec->rawbuf, c);
			if (c == '\n' || (c == '\r' && peek_byte(r, errmsg) != '\n'))
				r->line++;
			/* A line break inside a field is stored as LF, whatever the file used. */
			if (c != '\r' || peek_byte(r, errmsg) != '\n')
				strbuf_addch(&rec->data, c == '\r' ? '\n' : c);
			continue;
		}
		if (c == '\r' || c == '\n') {
			if (c == '\r' && peek_byte(r, errmsg) == '\n')
				next_byte(r, errmsg);
			r->line++;
			break;
		}
		strbuf_addch(&rec->rawbuf, c);
		if (c == delim) {
			strbuf_addch(&rec->data, '\0');
			start_field(rec);
			quoted = 0;
		} else if (c == '"' && rec->data.len == rec->starts[rec->count - 1] && !quoted) {
			/* A quote opening a field; elsewhere a quote is just a character. */
			in_field_quotes = quoted = 1;
			quote_line = r->line;
		} else {
			strbuf_addch(&rec->data, c);
		}
	}
	strbuf_addch(&rec->data, '\0');
	return 1;
}

int csv_read(struct csv_reader *r, struct csv_record *rec, char **errmsg)
{
	int rc;

	do {
		rc = parse_record(r, rec, errmsg);
		if (rc <= 0)
			return rc;
	} while (rec->count == 1 && rec->data.len == 1);     /* a blank line: not a record */
	convert_fields(r, rec);
	for (size_t i = 0; i < rec->count; i++)
		rec->fields[i] = rec->data.buf + rec->starts[i];
	rec->fields[rec->count] = NULL;
	rec->raw = rec->rawbuf.buf;
	rec->raw_len = rec->rawbuf.len;
	if (!r->header_raw)
		r->header_raw = xstrndup(rec->raw, rec->raw_len);
	return 1;
}

/* --- writing ----------------------------------------------------------------------------------- */

void csv_write_field(struct strbuf *out, const char *value, char delimiter, int neutralise)
{
	int needs_quotes, formula = neutralise && strchr("=+-@\t\r", value[0]) && value[0];
	size_t len = strlen(value);

	needs_quotes = formula || strchr(value, delimiter) || strchr(value, '"') ||
		       strchr(value, '\n') || strchr(value, '\r') ||
		       (len && (value[0] == ' ' || value[len - 1] == ' '));
	if (!needs_quotes) {
		strbuf_add(out, value, len);
		return;
	}
	strbuf_addch(out, '"');
	if (formula)
		strbuf_addch(out, '\'');
	for (const char *p = value; *p; p++) {
		if (*p == '"')
			strbuf_addch(out, '"');
		strbuf_addch(out, *p);
	}
	strbuf_addch(out, '"');
}

void csv_unneutralise(char *value)
{
	if (value[0] == '\'' && value[1] && strchr("=+-@\t\r", value[1]))
		memmove(value, value + 1, strlen(value));
}
