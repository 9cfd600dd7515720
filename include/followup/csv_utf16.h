/*
 * csv_utf16.h - UTF-16 badge files read as UTF-8.
 *
 * Excel's "Unicode Text (*.txt)" is UTF-16LE with a byte order mark, tab-separated;
 * some tools write UTF-16BE, or leave the mark out. The CSV reader reads UTF-8 (and
 * Windows-1252) only, so such a file is converted first, by iconv, streamed from one
 * file descriptor into another: memory does not grow with the file. The converted text
 * has the same lines as the original, so the reader's line numbers are the file's.
 */
#ifndef FOLLOWUP_CSV_UTF16_H
#define FOLLOWUP_CSV_UTF16_H

#include <stddef.h>

/*
 * The UTF-16 encoding that a file's first n bytes p[0..n) show ("UTF-16LE" or
 * "UTF-16BE", static), with *bom the bytes of its byte order mark (2, or 0 when there is
 * none and the encoding shows in the NUL bytes of ASCII text, "E\0m\0"); NULL when the
 * file is not UTF-16 as far as these bytes tell.
 */
const char *csv_utf16_encoding(const unsigned char *p, size_t n, size_t *bom);

/*
 * Reads UTF-16 text in encoding (csv_utf16_encoding's) from the file descriptor from,
 * at its read position, which is past the byte order mark, and writes it to the file
 * descriptor to as UTF-8, starting with a UTF-8 byte order mark (the file had one, or
 * said its encoding in as plain a way: a rejects file from it is read by Excel as UTF-8
 * too). name names the file in messages. Returns CSV_OK; CSV_EFORMAT with *errmsg
 * "NAME:LINE: why" (allocated) when the text is not valid UTF-16 (an unpaired surrogate,
 * an odd number of bytes), LINE being the physical line of the bad character; CSV_EIO
 * with *errmsg when reading or writing fails.
 */
int csv_utf16_to_utf8(int from, int to, const char *encoding, const char *name,
		      char **errmsg);

#endif
