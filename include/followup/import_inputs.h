/*
 * import_inputs.h - the files of one import, each readable from its start as often as
 * the import needs, and what is learnt of each by reading it ahead.
 *
 * A file is read more than once: for which --map columns it has, for its day and month
 * order, then for its rows. A pipe cannot be read twice, so stdin ('-') and a FILE that
 * names a pipe (a FIFO, bash's <(...) as /dev/fd/63) are copied to unlinked temporary
 * files when the inputs are opened, before the import's transaction takes the store's
 * write lock: an `import -` waiting on a slow producer must not stop a send. A second
 * '-' reads the same copy again. An input in UTF-16 (Excel's "Unicode Text") is read
 * from a copy in UTF-8 made then too (see csv_utf16.h), so that every later reading,
 * the import's included, reads UTF-8 with the file's own lines.
 */
#ifndef FOLLOWUP_IMPORT_INPUTS_H
#define FOLLOWUP_IMPORT_INPUTS_H

#include <stddef.h>

#include "followup/csv.h"
#include "followup/timeutil.h"

struct import_inputs;

/*
 * Opens the files to import, files[0..nfiles) (which must stay valid until
 * import_inputs_close), with the --maps maps[0..nmaps) (the same): copies the pipes
 * among them, then, with several files, reads the lines that may be each one's header
 * for which --map columns it has. A file that cannot be read is left for the import to
 * report. Returns FU_OK; FU_USAGE (reported, FILE:LINE) when an input in UTF-16 is not
 * valid UTF-16; FU_FAIL (reported) when a pipe or a UTF-16 input cannot be copied: what
 * was read of a pipe is lost then. Free *out with import_inputs_close whatever it returns.
 */
int import_inputs_open(struct import_inputs **out, char **files, int nfiles,
		       const char *const *maps, size_t nmaps);
/* NULL is a no-op. */
void import_inputs_close(struct import_inputs *in);

/* Opens input number i (from 0) from its start, as csv_open() does (its copy, when it is
 * a pipe's); the reader is the caller's to csv_close. */
int import_inputs_csv(const struct import_inputs *in, int i, struct csv_reader **csv,
		      char **err);

/* The --maps of input i into maps[] (room for as many as --map), their number returned:
 * a --map whose column is in another file of the import but not in this one is left
 * out, with a warning. With one file, or a column in no file, every --map is there: a
 * header_map_build error says the column is in no file (a typo). */
size_t import_inputs_maps(const struct import_inputs *in, int i, const char **maps);

/* The order of day and month of input i's scan dates, read ahead through the whole file
 * (with the --maps maps[0..nmaps) of import_inputs_maps): DATE_ORDER_DMY when a date's
 * first number is over 12 (SPEC section 5), else DATE_ORDER_AUTO. A file that cannot be
 * read gives DATE_ORDER_AUTO (its import says what is wrong). */
enum date_order import_inputs_date_order(const struct import_inputs *in, int i,
					 const char *const *maps, size_t nmaps);

#endif
