/*
 * import_header.h - a badge file's header as the import finds it: below the title lines
 * that a report may put above it, and again among the rows when two exports were joined
 * into one file. The look-ahead (import_inputs.h) and the import itself read a file's
 * header the same way through these, so that both see the same columns.
 */
#ifndef FOLLOWUP_IMPORT_HEADER_H
#define FOLLOWUP_IMPORT_HEADER_H

#include <stddef.h>

#include "followup/csv.h"
#include "followup/fields.h"

/*
 * Maps the header, the record in rec (the file's first, just read), with the --maps
 * maps[0..nmaps). A report's title lines above the real header (records of two cells at
 * most, up to CSV_MAX_TITLE_LINES) are read past: rec is then the header and
 * *title_lines says how many came before it. Returns 0 with *map set (free with
 * header_map_free), or -1 with *err allocated: the first line's problem (no email
 * column...).
 */
int import_header_read(struct csv_reader *csv, struct csv_record *rec,
		       const char *const *maps, size_t nmaps, struct header_map **map,
		       char **err, int *title_lines);

/* A header's cells, to know the header again: two exports joined into one file have
 * the second's header among the rows. */
struct header_cells;

/* A copy of the header record's cells. Free with header_cells_free (NULL is a no-op). */
struct header_cells *header_cells_new(const struct csv_record *header);
void header_cells_free(struct header_cells *h);
/* Whether rec is the header again: the same cells, trimmed, in any case (missing cells at
 * the end are empty ones). */
int header_cells_again(const struct header_cells *h, const struct csv_record *rec);

#endif
