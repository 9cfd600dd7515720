/*
 * csv.h - a streaming reader for the CSV that badge scanners and Excel really write
 * (SPEC section 5), and the writer used for rejects files and exports.
 *
 * RFC 4180 plus: a UTF-8 BOM; CRLF, LF and lone CR line ends, mixed; quoted fields with
 * embedded newlines and doubled quotes; a quote inside an unquoted field is literal; the
 * delimiter (`,` `;` or tab) sniffed from the header line, or given by an Excel `sep=X`
 * first line; blank lines skipped. Fields that are not valid UTF-8 are read as
 * Windows-1252 and converted (csv_was_converted() says so, for one warning). Memory stays
 * bounded by the largest record (capped at CSV_MAX_RECORD), not the file.
 */
#ifndef FOLLOWUP_CSV_H
#define FOLLOWUP_CSV_H

#include <stddef.h>
#include <sys/types.h>

#include "followup/util.h"

#define CSV_MAX_RECORD (16 * 1024 * 1024)

enum csv_error {
	CSV_OK = 0,
	CSV_EIO = -1,           /* cannot open or read the file: the work failed */
	CSV_EFORMAT = -2,       /* not CSV we can read (binary, unterminated quote...) */
};

struct csv_reader;

/* One record. fields[i] are NUL-terminated UTF-8 and may be edited in place (trimmed);
 * they stay valid until the next csv_read() into the same record. */
struct csv_record {
	char **fields;
	size_t count;
	long line;              /* physical line where the record starts; the header is 1 */
	const char *raw;        /* the record's bytes as in the file, line end excluded */
	size_t raw_len;
	/* private */
	struct strbuf data, rawbuf;
	size_t *starts;
	size_t alloc;
};
#define CSV_RECORD_INIT { NULL, 0, 0, NULL, 0, STRBUF_INIT, STRBUF_INIT, NULL, 0 }
void csv_record_release(struct csv_record *rec);

/* Opens path ("-" is stdin) and sniffs its delimiter. Returns CSV_OK, or CSV_EIO /
 * CSV_EFORMAT with *errmsg allocated ("cannot open 'x.csv': No such file..."). */
int csv_open(struct csv_reader **out, const char *path, char **errmsg);
/* Reads the next record: 1 read, 0 end of file, or a negative csv_error with *errmsg
 * naming FILE:LINE. */
int csv_read(struct csv_reader *r, struct csv_record *rec, char **errmsg);
void csv_close(struct csv_reader *r);

char csv_delimiter(const struct csv_reader *r);
/* The first record's raw bytes (the header line), "" before it is read. */
const char *csv_header_raw(const struct csv_reader *r);
/* 1 when some field was converted from Windows-1252; *first_line is where. */
int csv_was_converted(const struct csv_reader *r, long *first_line);
/* Bytes consumed so far, and the file's size (0 when unknown: a pipe). */
off_t csv_offset(const struct csv_reader *r);
off_t csv_size(const struct csv_reader *r);

/* Appends value as one CSV field, quoted when needed. With neutralise, a value starting
 * with = + - @ (or tab or CR) gets a leading ' so a spreadsheet shows it as text
 * (OWASP "CSV injection"); csv_unneutralise() undoes it on import. */
void csv_write_field(struct strbuf *out, const char *value, char delimiter, int neutralise);
/* Strips the ' that csv_write_field(..., 1) put before = + - @, in place. */
void csv_unneutralise(char *value);

#endif
