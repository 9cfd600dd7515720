/*
 * diag.h - problems found in a file, reported as FILE:LINE:COL: message.
 *
 * Loaders (sequences, config) report every problem they find, not only the first, into
 * a diag_list; the command prints them in file order. Lines and columns are 1-based.
 */
#ifndef FOLLOWUP_DIAG_H
#define FOLLOWUP_DIAG_H

#include <stddef.h>
#include <stdio.h>

#include "followup/util.h"

struct diag {
	char *file;
	int line, col;
	char *message;
};

struct diag_list {
	struct diag *items;
	size_t count, alloc;
};
#define DIAG_LIST_INIT { NULL, 0, 0 }

/* Adds a problem; file is copied. */
void diag_add(struct diag_list *d, const char *file, int line, int col, const char *fmt, ...)
	FU_PRINTF(5, 6);
size_t diag_count(const struct diag_list *d);
/* Prints "FILE:LINE:COL: message" lines, sorted by file, line and column, each after
 * prefix ("followup: " where they are a command's errors, "" for a check's report). */
void diag_print(struct diag_list *d, FILE *out, const char *prefix);
void diag_release(struct diag_list *d);

#endif
