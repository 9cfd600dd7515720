/*
 * import_notices.h - what an import says of a file's rows, counted by kind and capped.
 *
 * A thousand rows with an unreadable time would scroll the summary away: after
 * NOTICES_SHOWN notices of a kind in a file, the rest of that kind are only counted, and
 * notices_report() says how many in one line a kind at the file's end. The caller prints
 * each notice it is told to say (`if (notice(&n, NOTICE_ZONE)) warning(...)`), so that
 * the message stays beside what it is about.
 *
 * Rejected rows are a kind too, with one more line: under --quiet, which lists none, a
 * cron job must still not lose leads without a word.
 */
#ifndef FOLLOWUP_IMPORT_NOTICES_H
#define FOLLOWUP_IMPORT_NOTICES_H

enum notice {
	NOTICE_SCAN_UNREADABLE, NOTICE_SCAN_AHEAD, NOTICE_ZONE, NOTICE_OPT_OUT, NOTICE_CONSENT,
	NOTICE_STATUS, NOTICE_EXTRA_FIELDS, NOTICE_REJECTED, NOTICE_COUNT
};
#define NOTICES_SHOWN 5

/* The notices of one file. A zeroed struct has none: assign (struct notices){ 0 } to
 * start a file. */
struct notices {
	long count[NOTICE_COUNT];       /* by kind */
	long first_rejected_line;
	const char *first_rejected_reason;      /* static, as email_plausible's reasons */
};

/* Counts a notice of a row; 1 when it is to be said, 0 past NOTICES_SHOWN of its kind. */
int notice(struct notices *n, enum notice kind);

/* Counts a rejected row (a NOTICE_REJECTED, at line, for reason: a static string, kept
 * for the quiet line) as notice() does. */
int notice_rejected(struct notices *n, long line, const char *reason);

/* At the file's end: a line for each kind past NOTICES_SHOWN, saying how many more; then,
 * when quiet, the line that the file lost rows, if it did. kept_in is the rejects file
 * its rejected rows are in (NULL: none), which dry_run says they "would be" in. */
void notices_report(const struct notices *n, const char *file, int quiet, int dry_run,
		    const char *kept_in);

#endif
