/*
 * names.h - a person's name compared as people read it, not byte for byte.
 *
 * A rep typed into a badge scanner by hand, pasted from a web page or exported by a CRM
 * is "Anna Becker", " anna becker", "Anna  Becker", "Anna<U+00A0>Becker" or
 * "Becker, Anna": one name. These functions are the one place that says so; the config's
 * rep lookup, the listings' --owner filters and the store's collation for owners all go
 * through them, so that they agree.
 */
#ifndef FOLLOWUP_NAMES_H
#define FOLLOWUP_NAMES_H

#include <stddef.h>

/* Compares the names a[0..alen) and b[0..blen), neither NUL-terminated, as read:
 *  - case aside (A-Z, and the letters beyond as towlower in C.UTF-8 has them);
 *  - white space at either end aside, and a run of it inside one space: space, tab,
 *    line breaks, no-break space (U+00A0, U+2007, U+202F) and the other Unicode spaces;
 *    zero-width characters (U+200B..U+200D, U+2060, U+FEFF) are no characters at all;
 *  - one comma with words on both sides is "Last, First": "Becker, Anna" reads
 *    "Anna Becker", "van Dijk, Jan" reads "Jan van Dijk". A name with two commas, or
 *    nothing on one side of its comma, is read as written.
 * Bytes that are not UTF-8 compare as themselves. Returns <0, 0 or >0 as strcmp does:
 * a total order, so that it can be an SQLite collation. */
int name_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* Whether a and b are one name as name_cmp() reads them. NULL, and a name of white space
 * only, is nobody's name: it is the same as no other. */
int name_same(const char *a, const char *b);

/* Whether s is NULL, empty or white space only (as name_cmp() reads white space). */
int name_blank(const char *s);

#endif
