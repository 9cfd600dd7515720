/*
 * csv.c - see csv.h.
 *
 * The reader is a small state machine over one large read block. Runs of ordinary bytes
 * (everything but the delimiter, a quote, CR, LF and NUL) are found with a lookup table
 * and copied in one go into the record's buffers, so that the per-byte work of a large
 * import is a table lookup; only the bytes that change state go through the slower path.
 */
#include "followup/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK_SIZE (256 * 1024)
/* What csv_open() reads before sniffing: the BOM, a sep= line and the header line. */
#define PREAMBLE_SIZE (64 * 1024)
#define STDIN_NAME "<stdin>"

/* next_byte() and peek_byte() return a byte, or one of these. */
enum { END_OF_FILE = -1, READ_FAILED = -2 };

struct csv_reader {
	int fd;
	int owns_fd;            /* 0 for stdin, which is not ours to close */
	char *name;             /* the path, or STDIN_NAME: for messages */
	unsigned char *block;
	size_t len, pos;        /* bytes in block, and the next one to read */
	int eof;
	off_t consumed, size;
	long line;              /* the physical line the next byte is on */
	char delimiter;
	unsigned char plain_stop[256], quoted_stop[256];   /* bytes that end a run */
	char *header_raw;
	int had_bom, had_sep_line;  /* what the file began with (a rejects file repeats it) */
	int converted;
	long first_converted;
};

/* --- input ----------------------------------------------------------------------------- */

/* Reads more of the file after the unread bytes. Returns the number of bytes added, 0 at
 * the end of the file, or CSV_EIO with *errmsg. */
static int fill(struct csv_reader *r, char **errmsg)
{
	ssize_t n;

	if (r->eof)
		return 0;
	if (r->pos > 0) {
		memmove(r->block, r->block + r->pos, r->len - r->pos);
		r->len -= r->pos;
		r->pos = 0;
	}
	if (r->len == BLOCK_SIZE)
		return (int)r->len;
	do
		n = read(r->fd, r->block + r->len, BLOCK_SIZE - r->len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		*errmsg = xasprintf("cannot read '%s': %s", r->name, strerror(errno));
		return CSV_EIO;
	}
	if (n == 0)
		r->eof = 1;
	r->len += (size_t)n;
	return (int)n;
}

static int peek_byte(struct csv_reader *r, char **errmsg)
{
	if (r->pos == r->len) {
		int n = fill(r, errmsg);
		if (n < 0)
			return READ_FAILED;
		if (n == 0)
			return END_OF_FILE;
	}
	return r->block[r->pos];
}

static int next_byte(struct csv_reader *r, char **errmsg)
{
	int c = peek_byte(r, errmsg);

	if (c >= 0) {
		r->pos++;
		r->consumed++;
	}
	return c;
}

static void skip_bytes(struct csv_reader *r, size_t n)
{
	r->pos += n;
	r->consumed += (off_t)n;
}

/* --- opening and sniffing -------------------------------------------------------------- */

/* An Excel "sep=;" first line names the delimiter and is not the header. */
static int read_sep_line(struct csv_reader *r)
{
	const unsigned char *p = r->block + r->pos;
	size_t left = r->len - r->pos, n = 5;

	if (left < 5 || strncasecmp((const char *)p, "sep=", 4))
		return 0;
	if (p[4] == '"' || (p[4] < ' ' && p[4] != '\t'))
		return 0;       /* no delimiter we could read with */
	if (n < left && p[n] == '\r')
		n++;
	if (n < left && p[n] == '\n')
		n++;
	if (n == 5 && n < left)
		return 0;       /* "sep=;x...": a header that happens to start so */
	r->delimiter = (char)p[4];
	r->had_sep_line = 1;
	skip_bytes(r, n);
	r->line++;
	return 1;
}

/* The header may come after title lines, which have no delimiter to sniff. */
#define SNIFF_LINES (CSV_MAX_TITLE_LINES + 1)

static const char candidates[] = { ',', ';', '\t' };

/* What one line says about each candidate delimiter: how often it occurs outside quotes,
 * and how many non-empty cells it would make. */
struct line_sniff {
	size_t count[ARRAY_SIZE(candidates)], cells[ARRAY_SIZE(candidates)];
	int in_cell[ARRAY_SIZE(candidates)];    /* the current cell has a character */
};

/* A byte of the line, outside quotes or (quoted) inside them. */
static void sniff_byte(struct line_sniff *l, unsigned char c, int quoted)
{
	int content = c != ' ' && c != '\t' && c != '"';

	for (size_t k = 0; k < ARRAY_SIZE(candidates); k++) {
		if (!quoted && c == (unsigned char)candidates[k]) {
			l->count[k]++;
			l->in_cell[k] = 0;
		} else if (content && !l->in_cell[k]) {
			l->in_cell[k] = 1;
			l->cells[k]++;
		}
	}
}

/* The line's most frequent candidate (',' on a tie), with *cells the most non-empty
 * cells that any candidate makes of it and *found whether it has any candidate. */
static char line_delimiter(const struct line_sniff *l, size_t *cells, int *found)
{
	size_t best = 0;

	*cells = 0;
	*found = 0;
	for (size_t k = 0; k < ARRAY_SIZE(candidates); k++) {
		if (l->count[k] > l->count[best])
			best = k;
		if (l->cells[k] > *cells)
			*cells = l->cells[k];
		*found |= l->count[k] > 0;
	}
	return candidates[best];
}

/*
 * The delimiter of the header line: the most frequent candidate, outside quotes, on the
 * first of the first SNIFF_LINES lines that has three non-empty cells or more by some
 * candidate (a title line above the header has two at most, as import_header.c reads it:
 * "Lead Report, Expo 2026" must not decide for a `;` file); failing that, on the first
 * line that has any candidate; ',' when none has.
 */
static char sniff_delimiter(const struct csv_reader *r)
{
	struct line_sniff line = { { 0 }, { 0 }, { 0 } };
	char first_found = 0, delim;
	size_t cells;
	int quoted = 0, lines = 1, found;

	for (size_t i = r->pos; i <= r->len; i++) {
		unsigned char c = i < r->len ? r->block[i] : '\n';
		if (c == '"') {
			quoted = !quoted;
		} else if (!quoted && (c == '\n' || c == '\r')) {
			delim = line_delimiter(&line, &cells, &found);
			if (cells >= 3)
				return delim;
			if (found && !first_found)
				first_found = delim;
			if (lines++ == SNIFF_LINES)
				break;
			if (c == '\r' && i + 1 < r->len && r->block[i + 1] == '\n')
				i++;
			memset(&line, 0, sizeof(line));
		} else {
			sniff_byte(&line, c, quoted);
		}
	}
	return first_found ? first_found : ',';
}

/* Nothing but line ends left in the whole file: no header. */
static int only_line_ends_left(const struct csv_reader *r)
{
	if (!r->eof)
		return 0;
	for (size_t i = r->pos; i < r->len; i++)
		if (r->block[i] != '\r' && r->block[i] != '\n')
			return 0;
	return 1;
}

static void set_stop_bytes(struct csv_reader *r)
{
	memset(r->plain_stop, 0, sizeof(r->plain_stop));
	memset(r->quoted_stop, 0, sizeof(r->quoted_stop));
	r->plain_stop[(unsigned char)r->delimiter] = 1;
	r->plain_stop['"'] = r->plain_stop['\r'] = r->plain_stop['\n'] = r->plain_stop[0] = 1;
	r->quoted_stop['"'] = r->quoted_stop['\r'] = r->quoted_stop['\n'] = r->quoted_stop[0] = 1;
}

/* Reads the first block: BOM, encoding, sep= line, delimiter. */
static int read_preamble(struct csv_reader *r, char **errmsg)
{
	while (!r->eof && r->len < PREAMBLE_SIZE)
		if (fill(r, errmsg) < 0)
			return CSV_EIO;
	if (r->len >= 2 && ((r->block[0] == 0xFF && r->block[1] == 0xFE) ||
			    (r->block[0] == 0xFE && r->block[1] == 0xFF))) {
		*errmsg = xasprintf("'%s' is UTF-16 text: save it as \"CSV UTF-8\" and import that",
				    r->name);
		return CSV_EFORMAT;
	}
	if (r->len >= 3 && !memcmp(r->block, "\xEF\xBB\xBF", 3)) {
		skip_bytes(r, 3);
		r->had_bom = 1;
	}
	if (!read_sep_line(r))
		r->delimiter = sniff_delimiter(r);
	if (only_line_ends_left(r)) {
		*errmsg = xasprintf("'%s' is empty: no header line", r->name);
		return CSV_EFORMAT;
	}
	set_stop_bytes(r);
	return CSV_OK;
}

/* The reader of fd, named name in messages; it closes fd when it owns it. */
static int open_reader(struct csv_reader **out, int fd, int owns_fd, const char *name,
		       char **errmsg)
{
	struct csv_reader *r = NULL;
	struct stat st;
	int ret = CSV_EIO;

	*out = NULL;
	if (fd < 0 || fstat(fd, &st) < 0) {
		*errmsg = xasprintf("cannot open '%s': %s", name, strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		*errmsg = xasprintf("cannot open '%s': it is a directory, not a CSV file", name);
		goto fail;
	}
	r = xcalloc(1, sizeof(*r));
	r->fd = fd;
	r->owns_fd = owns_fd;
	fd = -1;                /* the reader closes it now */
	r->name = xstrdup(name);
	r->block = xmalloc(BLOCK_SIZE);
	r->size = S_ISREG(st.st_mode) ? st.st_size : 0;
	r->line = 1;
	ret = read_preamble(r, errmsg);
	if (ret)
		goto fail;
	*out = r;
	return CSV_OK;
fail:
	if (fd >= 0 && owns_fd)
		close(fd);
	csv_close(r);
	return ret;
}

int csv_open(struct csv_reader **out, const char *path, char **errmsg)
{
	if (!strcmp(path, "-"))
		return open_reader(out, STDIN_FILENO, 0, STDIN_NAME, errmsg);
	return open_reader(out, open(path, O_RDONLY | O_CLOEXEC), 1, path, errmsg);
}

int csv_open_copy(struct csv_reader **out, int fd, const char *name, char **errmsg)
{
	if (lseek(fd, 0, SEEK_SET) < 0) {
		*errmsg = xasprintf("cannot read '%s' again: %s", name, strerror(errno));
		*out = NULL;
		return CSV_EIO;
	}
	return open_reader(out, fd, 0, name, errmsg);
}

void csv_close(struct csv_reader *r)
{
	if (!r)
		return;
	if (r->owns_fd)
		close(r->fd);
	free(r->name);
	free(r->block);
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

void csv_take_as_header(struct csv_reader *r, const struct csv_record *rec)
{
	free(r->header_raw);
	r->header_raw = xstrndup(rec->raw, rec->raw_len);
}

int csv_had_bom(const struct csv_reader *r)
{
	return r->had_bom;
}

int csv_had_sep_line(const struct csv_reader *r)
{
	return r->had_sep_line;
}

int csv_was_converted(const struct csv_reader *r, long *first_line)
{
	if (first_line)
		*first_line = r->converted ? r->first_converted : 0;
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

size_t csv_buffer_size(const struct csv_reader *r)
{
	(void)r;                /* one block, whatever the file */
	return BLOCK_SIZE;
}

/* --- records --------------------------------------------------------------------------- */

void csv_record_release(struct csv_record *rec)
{
	if (!rec)
		return;
	strbuf_release(&rec->data);
	strbuf_release(&rec->rawbuf);
	free(rec->starts);
	free(rec->fields);
	*rec = (struct csv_record)CSV_RECORD_INIT;
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

static int field_is_empty_so_far(const struct csv_record *rec)
{
	return rec->data.len == rec->starts[rec->count - 1];
}

static int format_error(const struct csv_reader *r, long line, char **errmsg, const char *why)
{
	*errmsg = xasprintf("%s:%ld: %s", r->name, line, why);
	return CSV_EFORMAT;
}

/* Copies the run of ordinary bytes at the read position (up to the next byte marked in
 * stop[]) into the field and the raw record at once: the hot path of a large import. */
static void copy_run(struct csv_reader *r, struct csv_record *rec, const unsigned char *stop)
{
	const unsigned char *start = r->block + r->pos, *end = r->block + r->len, *p = start;

	while (p < end && !stop[*p])
		p++;
	if (p == start)
		return;
	strbuf_add(&rec->data, start, (size_t)(p - start));
	strbuf_add(&rec->rawbuf, start, (size_t)(p - start));
	skip_bytes(r, (size_t)(p - start));
}

/* After c (CR or LF), the LF of a CRLF, if there is one. <0 on a read error. */
static int take_lf_after_cr(struct csv_reader *r, int c, struct strbuf *raw, char **errmsg)
{
	int next;

	if (c != '\r')
		return 0;
	next = peek_byte(r, errmsg);
	if (next == READ_FAILED)
		return CSV_EIO;
	if (next == '\n') {
		next_byte(r, errmsg);
		if (raw)
			strbuf_addch(raw, '\n');
	}
	return 0;
}

/* An ordinary byte: part of the field as much as of the raw record. */
static void add_byte(struct csv_record *rec, int c)
{
	strbuf_addch(&rec->rawbuf, c);
	strbuf_addch(&rec->data, c);
}

/* A quote inside a quoted field: the first of a doubled quote, or the closing one. */
static int quote_in_quotes(struct csv_reader *r, struct csv_record *rec, int *in_quotes,
			   char **errmsg)
{
	int next = peek_byte(r, errmsg);

	if (next == READ_FAILED)
		return CSV_EIO;
	strbuf_addch(&rec->rawbuf, '"');
	if (next == '"') {
		next_byte(r, errmsg);
		add_byte(rec, '"');
	} else {
		*in_quotes = 0;
	}
	return 0;
}

/* A quote inside an unquoted field is a character (RFC 4180 has none there), but a
 * doubled one ("Said ""ship it"" twice") is an exporter that escaped quotes and forgot
 * to quote the field: it is one quote, as it would be inside quotes. */
static int quote_in_plain_field(struct csv_reader *r, struct csv_record *rec, char **errmsg)
{
	int next = peek_byte(r, errmsg);

	if (next == READ_FAILED)
		return CSV_EIO;
	add_byte(rec, '"');
	if (next == '"') {
		next_byte(r, errmsg);
		strbuf_addch(&rec->rawbuf, '"');
	}
	return 0;
}

/* A line break inside a quoted field: stored as LF, whatever the file used. */
static int line_break_in_quotes(struct csv_reader *r, struct csv_record *rec, int c,
				char **errmsg)
{
	strbuf_addch(&rec->rawbuf, c);
	if (take_lf_after_cr(r, c, &rec->rawbuf, errmsg))
		return CSV_EIO;
	strbuf_addch(&rec->data, '\n');
	r->line++;
	return 0;
}

static int record_too_large(const struct csv_reader *r, const struct csv_record *rec,
			    int in_quotes, long quote_line, char **errmsg)
{
	if (in_quotes)
		return format_error(r, quote_line, errmsg,
				    "a quoted field runs past 16 MB (a closing quote missing?)");
	return format_error(r, rec->line, errmsg, "record larger than 16 MB");
}

/*
 * Parses one physical record, which may be a blank line (one empty field, no raw bytes).
 * Returns 1, 0 at the end of the file, or a csv_error.
 */
static int parse_record(struct csv_reader *r, struct csv_record *rec, char **errmsg)
{
	const int delim = (unsigned char)r->delimiter;
	int c, rc = 0, in_quotes = 0, field_was_quoted = 0, read_any = 0;
	long quote_line = 0;

	rec->count = 0;
	strbuf_reset(&rec->data);
	strbuf_reset(&rec->rawbuf);
	rec->line = r->line;
	start_field(rec);
	for (;;) {
		if (rec->rawbuf.len > CSV_MAX_RECORD)
			return record_too_large(r, rec, in_quotes, quote_line, errmsg);
		copy_run(r, rec, in_quotes ? r->quoted_stop : r->plain_stop);
		c = next_byte(r, errmsg);
		if (c == READ_FAILED)
			return CSV_EIO;
		if (c == END_OF_FILE && in_quotes)
			return format_error(r, quote_line, errmsg,
					    "unterminated quoted field (it starts here)");
		if (c == END_OF_FILE)
			return read_any || rec->rawbuf.len ? 1 : 0;
		read_any = 1;
		if (c == '\0')
			return format_error(r, r->line, errmsg,
					    "binary data (a NUL byte): not a CSV file");
		if (in_quotes) {
			if (c == '"')
				rc = quote_in_quotes(r, rec, &in_quotes, errmsg);
			else if (c == '\r' || c == '\n')
				rc = line_break_in_quotes(r, rec, c, errmsg);
			else
				add_byte(rec, c);   /* the run stopped at the end of the block */
		} else if (c == '\r' || c == '\n') {
			if (take_lf_after_cr(r, c, NULL, errmsg))
				return CSV_EIO;
			r->line++;
			return 1;
		} else if (c == delim) {
			if (rec->count == CSV_MAX_FIELDS)
				return format_error(r, rec->line, errmsg, "more than 65536 fields");
			strbuf_addch(&rec->rawbuf, c);
			strbuf_addch(&rec->data, '\0');
			start_field(rec);
			field_was_quoted = 0;
		} else if (c == '"' && field_is_empty_so_far(rec) && !field_was_quoted) {
			/* A quote opening a field; anywhere else a quote is just a character. */
			strbuf_addch(&rec->rawbuf, c);
			in_quotes = field_was_quoted = 1;
			quote_line = r->line;
		} else if (c == '"') {
			rc = quote_in_plain_field(r, rec, errmsg);
		} else {
			add_byte(rec, c);
		}
		if (rc)
			return rc;
	}
}

/* A blank line, or one whose fields are all empty or spaces, quoted or not: Excel's
 * empty rows (",,,") and an exporter's ("\"\",\"\",\"\"") are not rows. The fields are in
 * rec->data, NUL-separated. */
static int is_blank(const struct csv_record *rec)
{
	for (size_t i = 0; i < rec->data.len; i++) {
		char c = rec->data.buf[i];
		if (c != '\0' && c != ' ' && c != '\t')
			return 0;
	}
	return 1;
}

/* Windows-1252 bytes 0x80-0x9F (U+FFFD for the five it leaves undefined); the rest of
 * the upper half is Latin-1, the same code points as the bytes. */
static const unsigned short cp1252_high[32] = {
	0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
	0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
	0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
};

static void add_cp1252_as_utf8(struct strbuf *out, const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned cp = s[i] < 0x80 ? s[i] : s[i] < 0xA0 ? cp1252_high[s[i] - 0x80] : s[i];
		char utf8[3];
		size_t n;

		if (cp < 0x80) {
			utf8[0] = (char)cp, n = 1;
		} else if (cp < 0x800) {
			utf8[0] = (char)(0xC0 | (cp >> 6));
			utf8[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
		} else {
			utf8[0] = (char)(0xE0 | (cp >> 12));
			utf8[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
			utf8[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
		}
		strbuf_add(out, utf8, n);
	}
}

void csv_add_raw_as_utf8(struct strbuf *out, const char *raw, size_t len)
{
	for (;;) {
		size_t valid = utf8_valid_prefix(raw, len);     /* all of nearly every record */

		strbuf_add(out, raw, valid);
		if (valid == len)
			return;
		add_cp1252_as_utf8(out, (const unsigned char *)raw + valid, 1);
		raw += valid + 1;
		len -= valid + 1;
	}
}

/* Converts the fields that are not UTF-8 from Windows-1252. A field at a time, because
 * a file of mixed origin may hold both. */
static void convert_fields(struct csv_reader *r, struct csv_record *rec)
{
	struct strbuf fixed = STRBUF_INIT;

	if (utf8_valid(rec->data.buf, rec->data.len))     /* the NULs between fields are ASCII */
		return;
	if (!r->converted) {
		r->converted = 1;
		r->first_converted = rec->line;
	}
	strbuf_grow(&fixed, rec->data.len + rec->data.len / 2);
	for (size_t i = 0; i < rec->count; i++) {
		const char *field = rec->data.buf + rec->starts[i];
		size_t len = strlen(field);

		rec->starts[i] = fixed.len;
		if (utf8_valid(field, len))
			strbuf_add(&fixed, field, len);
		else
			add_cp1252_as_utf8(&fixed, (const unsigned char *)field, len);
		strbuf_addch(&fixed, '\0');
	}
	strbuf_release(&rec->data);
	rec->data = fixed;
}

int csv_read(struct csv_reader *r, struct csv_record *rec, char **errmsg)
{
	int rc;

	do {
		rc = parse_record(r, rec, errmsg);
		if (rc <= 0)
			return rc;
	} while (is_blank(rec));
	strbuf_addch(&rec->data, '\0');        /* ends the last field */
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

/* --- writing --------------------------------------------------------------------------- */

/* A value a spreadsheet would evaluate, or one that would read as neutralised. */
static int needs_neutralising(const char *value)
{
	value += strspn(value, "'");
	return *value && strchr(CSV_FORMULA_CHARS, *value);
}

void csv_write_field(struct strbuf *out, const char *value, char delimiter,
		     int neutralise_formula)
{
	size_t len = strlen(value);
	int quote = strchr(value, delimiter) || strpbrk(value, "\"\r\n") ||
		    (len && strchr(" \t", value[0])) || (len && strchr(" \t", value[len - 1]));

	if (quote)
		strbuf_addch(out, '"');
	if (neutralise_formula && needs_neutralising(value))
		strbuf_addch(out, '\'');
	if (!quote) {
		strbuf_add(out, value, len);
		return;
	}
	for (const char *p = value; *p; p++) {
		if (*p == '"')
			strbuf_addch(out, '"');
		strbuf_addch(out, *p);
	}
	strbuf_addch(out, '"');
}
