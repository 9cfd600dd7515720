/*
 * csv.h - a streaming reader for the CSV that badge scanners and Excel really write
 * (SPEC section 5), and the field writer used for rejects files and exports.
 *
 * RFC 4180 plus the real world:
 *  - a UTF-8 BOM is skipped; a UTF-16 file is refused with advice (the import converts
 *    it to UTF-8 before it opens it: see csv_utf16.h);
 *  - CRLF, LF and lone CR line ends, mixed in one file;
 *  - quoted fields with embedded line breaks (any of the three, stored as LF) and doubled
 *    quotes; a quote that does not open a field is an ordinary character (`Said ""hi""`);
 *  - the delimiter (`,` `;` or tab) is the one that occurs most outside quotes in the
 *    header line, unless an Excel `sep=X` first line names it (that line is not the
 *    header). The header line is the first line that some delimiter splits into three
 *    non-empty cells or more (a title above it, "Lead Report, Expo 2026", has two at
 *    most), else the first line that has a delimiter at all;
 *  - blank lines, and lines whose fields are all empty, quoted or not (Excel's `,,,`
 *    rows, an exporter's `"",""`), are not records; rows may have more or fewer fields
 *    than the header (see count);
 *  - a record that is not valid UTF-8 has its invalid fields read as Windows-1252 and
 *    converted to UTF-8; csv_was_converted() tells the caller, who warns once.
 *
 * Memory is bounded by one read block plus the largest record, never the file: a record
 * may be up to CSV_MAX_RECORD bytes (a 1 MB notes cell is fine) and CSV_MAX_FIELDS fields.
 *
 * Typical use:
 *
 *	struct csv_reader *r;
 *	struct csv_record rec = CSV_RECORD_INIT;
 *	if (csv_open(&r, path, &err))
 *		...
 *	while ((rc = csv_read(r, &rec, &err)) == 1)
 *		use(rec.fields, rec.count, rec.line);
 *	csv_record_release(&rec);
 *	csv_close(r);
 */
#ifndef FOLLOWUP_CSV_H
#define FOLLOWUP_CSV_H

#include <stddef.h>
#include <sys/types.h>

#include "followup/util.h"

#define CSV_MAX_RECORD (16 * 1024 * 1024)       /* bytes of one record, as in the file */
#define CSV_MAX_FIELDS 65536                    /* fields of one record (Excel has 16384) */
#define CSV_MAX_TITLE_LINES 5   /* lines a report may put above its header (a title, a date) */
/* First characters that make a spreadsheet evaluate a cell (see csv_write_field). */
#define CSV_FORMULA_CHARS "=+-@\t\r"

enum csv_error {
	CSV_OK = 0,
	CSV_EIO = -1,           /* cannot open or read the file: the work failed (exit 1) */
	CSV_EFORMAT = -2,       /* not CSV we can read: empty, binary, unterminated quote,
				 * a record over the limits (invalid input, exit 2) */
};

struct csv_reader;

/*
 * One record. fields[0..count) are NUL-terminated UTF-8 (fields[count] is NULL); the
 * caller may edit them in place (trim them). line is the physical line where the record
 * starts, the header being line 1 (line 2 after a `sep=` line). raw/raw_len are the
 * record's bytes exactly as in the file, without the line end (not converted, not
 * NUL-terminated), for a rejects file (csv_add_raw_as_utf8 converts them). Everything stays valid until the next csv_read()
 * into the same record; the buffers are reused from row to row.
 */
struct csv_record {
	char **fields;
	size_t count;
	long line;
	const char *raw;
	size_t raw_len;
	/* private: the fields' bytes, the raw bytes, where each field starts */
	struct strbuf data, rawbuf;
	size_t *starts;
	size_t alloc;
};
#define CSV_RECORD_INIT { NULL, 0, 0, NULL, 0, STRBUF_INIT, STRBUF_INIT, NULL, 0 }
/* Frees the record's buffers and leaves it as CSV_RECORD_INIT. NULL is a no-op. */
void csv_record_release(struct csv_record *rec);

/*
 * Opens path ("-" reads stdin), reads its first block and settles the delimiter.
 * Returns CSV_OK with *out set, or with *out NULL and *errmsg allocated (caller frees):
 *   CSV_EIO      "cannot open 'PATH': No such file or directory", "... it is a directory"
 *   CSV_EFORMAT  "'PATH' is empty: no header line", "'PATH' is UTF-16 text: ..."
 */
int csv_open(struct csv_reader **out, const char *path, char **errmsg);

/* As csv_open(), from the start of fd, a copy of the file name names (a pipe read to a
 * temporary file, to be read more than once); fd stays the caller's. */
int csv_open_copy(struct csv_reader **out, int fd, const char *name, char **errmsg);

/*
 * Reads the next record into rec (initialised with CSV_RECORD_INIT). Returns 1 for a
 * record, 0 at the end of the file, or a negative csv_error with *errmsg allocated and
 * naming FILE:LINE: CSV_EFORMAT for a NUL byte ("binary data"), a quoted field still open
 * at the end of the file (the line where it starts) or a record over the limits;
 * CSV_EIO for a read error. After 0 or an error rec holds nothing to use (but keeps its
 * buffers until csv_record_release).
 */
int csv_read(struct csv_reader *r, struct csv_record *rec, char **errmsg);

/* Closes the file (not stdin) and frees the reader. NULL is a no-op. */
void csv_close(struct csv_reader *r);

/* The delimiter in use: ',' ';' or '\t' (or what a `sep=` line said). */
char csv_delimiter(const struct csv_reader *r);
/* The header's raw bytes (BOM excluded): the first record's, or the one given to
 * csv_take_as_header(); "" before any is read. */
const char *csv_header_raw(const struct csv_reader *r);
/* Makes rec the header, for a file whose header comes after a title line or two. */
void csv_take_as_header(struct csv_reader *r, const struct csv_record *rec);
/* What the file began with, so that a file written back from it (the rejects file) can
 * begin so too: 1 when it had a UTF-8 BOM, resp. an Excel `sep=` line; else 0. */
int csv_had_bom(const struct csv_reader *r);
int csv_had_sep_line(const struct csv_reader *r);
/* Appends raw bytes (a record's raw, csv_header_raw()) to out in UTF-8: as they are when
 * they are UTF-8, else with each byte that is not part of a UTF-8 character read as
 * Windows-1252, as csv_read() reads such a field. A rejects file is then in one encoding. */
void csv_add_raw_as_utf8(struct strbuf *out, const char *raw, size_t len);
/* 1 when some field was converted from Windows-1252, with *first_line (may be NULL) the
 * line of the first such record; else 0. */
int csv_was_converted(const struct csv_reader *r, long *first_line);
/* Bytes consumed so far, and the file's size (0 when unknown: a pipe), for progress. */
off_t csv_offset(const struct csv_reader *r);
off_t csv_size(const struct csv_reader *r);
/* Bytes the reader itself holds (its read block); records hold their own, see above. */
size_t csv_buffer_size(const struct csv_reader *r);

/*
 * Appends value as one CSV field to out, in quotes when it holds the delimiter, a quote,
 * CR or LF, or starts or ends with a space or tab; quotes inside are doubled.
 *
 * With neutralise_formula (for files a person opens in a spreadsheet), a value that a
 * spreadsheet would run as a formula, one starting with = + - @ tab or CR, gets a leading
 * ' so it shows as text (OWASP "CSV injection"). A value that already starts with one or
 * more ' followed by one of those characters gets one more ', so that the round trip is
 * exact: `followup import` strips exactly one such ' (field_unneutralise() in fields.h).
 */
void csv_write_field(struct strbuf *out, const char *value, char delimiter,
		     int neutralise_formula);

#endif
