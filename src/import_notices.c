/*
 * import_notices.c - what an import says of a file's rows (see import_notices.h).
 */
#include "followup/import_notices.h"

#include "followup/util.h"

/* "... and 995 more rows WHAT": of each kind of notice. */
static const char *const notice_what[NOTICE_COUNT] = {
	[NOTICE_REJECTED] = "rejected",
	[NOTICE_SCAN_UNREADABLE] = "with an unreadable scan time",
	[NOTICE_SCAN_AHEAD] = "with a scan time after the import",
	[NOTICE_ZONE] = "with an unknown time zone",
	[NOTICE_OPT_OUT] = "with an opt-out value neither yes nor no",
	[NOTICE_CONSENT] = "with a consent value neither yes nor no",
	[NOTICE_STATUS] = "with a status that is no lead status",
	[NOTICE_EXTRA_FIELDS] = "with more fields than the header",
};

int notice(struct notices *n, enum notice kind)
{
	return ++n->count[kind] <= NOTICES_SHOWN;
}

int notice_rejected(struct notices *n, long line, const char *reason)
{
	if (!n->count[NOTICE_REJECTED]) {
		n->first_rejected_line = line;
		n->first_rejected_reason = reason;
	}
	return notice(n, NOTICE_REJECTED);
}

/* The notices of the file past NOTICES_SHOWN of their kind: how many, a line a kind.
 * Rejected rows under --quiet have report_rejects_quietly's line instead. */
static void report_hidden_notices(const struct notices *n, const char *file, int quiet,
				  int dry_run, const char *kept_in)
{
	for (int kind = 0; kind < NOTICE_COUNT; kind++) {
		long more = n->count[kind] - NOTICES_SHOWN;

		if (more <= 0)
			continue;
		if (kind != NOTICE_REJECTED)
			warning("%s: ... and %ld more row%s %s", file, more, more == 1 ? "" : "s",
				notice_what[kind]);
		else if (!quiet)
			error("%s: ... and %ld more row%s rejected%s%s%s", file, more,
			      more == 1 ? "" : "s",
			      !kept_in ? "" : dry_run ? " (all would be in '" : " (all in '",
			      kept_in ? kept_in : "", kept_in ? "')" : "");
	}
}

/* Under --quiet the rejected rows are not listed, but a cron job must not lose leads
 * without a word: one line per file that lost some. */
static void report_rejects_quietly(const struct notices *n, const char *file, int quiet,
				   int dry_run, const char *kept_in)
{
	long count = n->count[NOTICE_REJECTED];

	if (!quiet || !count)
		return;
	error("%s: %ld row%s rejected (first: line %ld: %s)%s%s%s", file,
		count, count == 1 ? "" : "s", n->first_rejected_line, n->first_rejected_reason,
		!kept_in ? "" : dry_run ? ", which would be kept in '" : ", kept in '",
		kept_in ? kept_in : "", kept_in ? "'" : "");
}

void notices_report(const struct notices *n, const char *file, int quiet, int dry_run,
		    const char *kept_in)
{
	report_hidden_notices(n, file, quiet, dry_run, kept_in);
	report_rejects_quietly(n, file, quiet, dry_run, kept_in);
}
