/*
 * import_rejects.h - the rejects files of `followup import --rejects FILE`: the rows it
 * rejected, as they were, with the reason in a last column, ready to fix and import again.
 *
 * A rejects file has one header, so that it imports again: the rows of the input files
 * that share one header (the same raw header and delimiter) go into one file, the first
 * group into FILE, each other group into FILE numbered after the input it first came from
 * ("rejects-2.csv"). What FILE names may be written into rather than replaced (a fifo, a
 * device, /dev/stderr, a file of several names): then every group goes into it, each
 * under its header.
 *
 * Nothing is written until the import lands: the rows wait in unlinked temporary files
 * (0600, they hold personal data) and rejects_close() writes the files, each renamed
 * into place, so that a dry run or a failed import leaves an earlier rejects file alone.
 * A rejects file imported again has its reason column recognised (rejects_reason_column)
 * and replaced, not kept as a column of the lead: a row rejected again has one reason.
 */
#ifndef FOLLOWUP_IMPORT_REJECTS_H
#define FOLLOWUP_IMPORT_REJECTS_H

#include <stddef.h>

#include "followup/csv.h"

struct import_rejects;

/*
 * Checks --rejects path against the files to import (inputs[0..ninputs), which must stay
 * valid until rejects_close) and makes its new file now, so that a directory we cannot
 * write is found out before the import, not after it landed. path NULL (no --rejects)
 * gives *out NULL, which every function below takes as "keep nothing". Returns FU_OK,
 * FU_USAGE (reported: path is stdout, stdin, an input or a directory) or FU_FAIL
 * (reported); *out is NULL on failure.
 */
int rejects_open(struct import_rejects **out, const char *path, char **inputs, int ninputs);

/* The column a rejects file of followup adds, in a header record: the last one (empty
 * trailing cells aside) headed "followup_reason"; -1 when there is none. */
int rejects_reason_column(const struct csv_record *header);

/* Starts the rows of the input file numbered ordinal (from 1), whose header has columns
 * cells and reason_column its reason column (-1: none, see rejects_reason_column). */
void rejects_start_file(struct import_rejects *r, int ordinal, size_t columns,
			int reason_column);

/* Keeps a rejected row of the file being read (named file, read by csv): as it was, in
 * UTF-8, padded when short so that the reason lands in its own column, then the reason.
 * The file's first rejected row chooses its rejects file (a warning says so when it is a
 * numbered one). Returns 0, or -1 (reported) when the rejects file cannot be made. */
int rejects_keep(struct import_rejects *r, const char *file, const struct csv_reader *csv,
		 const struct csv_record *rec, const char *reason);

/* The path of the rejects file the file being read keeps its rows in; NULL before it
 * rejected a row (or without --rejects). */
const char *rejects_kept_in(const struct import_rejects *r);

/* The file being read was not UTF-8 (read as Windows-1252): its rows are kept in UTF-8,
 * and its rejects file starts with a BOM, which Excel needs to read UTF-8. */
void rejects_file_converted(struct import_rejects *r);

/* Writes the rejects files when keep (the import landed), else leaves what was there
 * alone; frees r either way (NULL is a no-op). Returns FU_OK, or FU_FAIL (reported)
 * when one cannot be written. */
int rejects_close(struct import_rejects *r, int keep);

#endif
