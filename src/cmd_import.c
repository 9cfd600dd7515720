/*
 * cmd_import.c - `followup import`: badge-scan CSV files into leads, in one transaction.
 */
#include "followup/cli.h"
#include "followup/csv.h"
#include "followup/engine.h"
#include "followup/fields.h"
#include "followup/names.h"
#include "followup/timeutil.h"
#include "followup/util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
	"usage: followup import FILE... [--event NAME] [--sequence NAME | --no-enroll]\n"
	"                       [--owner NAME] [--map 'HEADER=field']... [--date-format mdy|dmy|ymd]\n"
	"                       [--timezone ZONE] [--rejects FILE] [--dry-run] [--json]\n\n"
	"Loads badge-scan CSV files ('-' reads stdin) as leads and enrols the new ones.\n"
	"The whole import is one transaction: it lands whole or not at all.\n\n"
	"  --event NAME         the event the scans come from (templates: {{event}})\n"
	"  --sequence NAME      enrol into this sequence (default: config default_sequence)\n"
	"  --no-enroll          import only\n"
	"  --owner NAME         owner of rows that name none\n"
	"  --map 'HEADER=field' read a column as a field (or 'extra', 'ignore')\n"
	"  --date-format ORDER  mdy, dmy or ymd for ambiguous dates (default: guessed)\n"
	"  --timezone ZONE      zone of scan times that carry none (default: config timezone)\n"
	"  --rejects FILE       write rejected rows there, with the reason\n"
	"  --dry-run            report what would happen, change nothing\n"
	"  --json               print the summary as JSON\n\n"
	"example: followup import booth.csv --event 'SaaStr 2026' --owner dana\n";

struct import_options {
	const char *event, *sequence, *owner, *timezone, *rejects_path;
	const char **maps;
	size_t nmaps;
	enum date_order date_order;
	int no_enroll, dry_run, json;
};

/* The column a rejects file adds after the row, headed so that no vendor's column is
 * taken for it. */
#define REJECTS_REASON "followup_reason"

struct import_counts {
	long rows, imported, updated, duplicates, rejected, suppressed, enrolled;
};

/*
 * One rejects file: the rejected rows of the input files that share one header, under
 * that header, ready to fix and import again. The rows go to a temporary file as they
 * come; the rejects file itself is written only when the import lands (rejects_close),
 * so that a failed import leaves an earlier one alone.
 */
struct rejects_file {
	char *path;
	char *header;           /* its inputs' raw header, in UTF-8; NULL before a row */
	char delimiter;
	int bom;                /* an input had a BOM or was Windows-1252: Excel needs one */
	int sep_line;           /* an input had Excel's sep= line */
	FILE *rows;             /* the rows so far: an unlinked temporary file */
	int fd;                 /* the new file beside path, renamed onto it; -1 when path is
				 * written into (not a regular file) or before it is made */
	char *tmp;              /* fd's name */
};

/* What is said of a row, by kind: after NOTICES_SHOWN of a kind in a file, the rest of
 * that kind are counted, and said in one line at the file's end (a thousand rows with
 * an unreadable time would scroll the summary away). */
enum notice {
	NOTICE_SCAN_UNREADABLE, NOTICE_SCAN_AHEAD, NOTICE_ZONE, NOTICE_OPT_OUT, NOTICE_CONSENT,
	NOTICE_STATUS, NOTICE_EXTRA_FIELDS, NOTICE_REJECTED, NOTICE_COUNT
};
#define NOTICES_SHOWN 5

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

/* The rows a file lost, for the one line --quiet still prints. */
struct file_rejects {
	long count, first_line;
	const char *first_reason;       /* static, as email_plausible's reasons */
};

struct import {
	struct cli *cli;
	struct engine engine;
	const struct import_options *opt;
	const struct sequence *sequence;   /* NULL with --no-enroll */
	struct import_counts counts;
	struct rejects_file *rejects;      /* [0] is --rejects; then one per other header */
	size_t nrejects;
	int rejects_stream;     /* --rejects is no regular file (a fifo, a device): one */
	struct rejects_file *rejects_of_file;   /* the file being read's, once it has one */
	char **inputs;
	int ninputs, ordinal;   /* the files to import; the one being read, from 1 */
	int *copies;            /* per input, a temporary copy of a pipe it names, or -1 */
	struct file_rejects file_rejects;
	long notices[NOTICE_COUNT];        /* of the file being read, by kind */
	struct header_cells *header;       /* the file being read's, to know it again */
	/* With several files: [file * nmaps + k], whether the file has the column of the
	 * k-th --map (NULL: every --map applies to every file). */
	unsigned char *map_found;
	size_t columns;                    /* of the header of the file being read */
	/* A rejects file read back: its reason column (-1: none), dropped from every row,
	 * and written again in place, not after it, when a row is rejected again. */
	int reason_column;
	int show_progress;
	int any_suppressions;   /* whether the store has opted-out addresses at all */
	off_t stdin_start;      /* where stdin, copied to a file if a pipe, starts */
	long rows_owner_kept;   /* rows (or --owner) naming another owner for a known lead */
	char *owner_kept;       /* the first of them, for the warning */
	long rows_owner_unknown;        /* rows whose owner is none of the config's reps */
	char *owner_unknown;            /* the first of them, quoted, for the warning */
};

static int parse_options(int argc, char **argv, struct import_options *o, int *first)
{
	static const struct option options[] = {
		{ "event", required_argument, NULL, 'e' },
		{ "sequence", required_argument, NULL, 's' },
		{ "no-enroll", no_argument, NULL, 'N' },
		{ "owner", required_argument, NULL, 'o' },
		{ "map", required_argument, NULL, 'm' },
		{ "date-format", required_argument, NULL, 'd' },
		{ "timezone", required_argument, NULL, 'z' },
		{ "rejects", required_argument, NULL, 'r' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'e': o->event = optarg; break;
		case 's': o->sequence = optarg; break;
		case 'N': o->no_enroll = 1; break;
		case 'o': o->owner = optarg; break;
		case 'm':
			o->maps = xrealloc(o->maps, (o->nmaps + 1) * sizeof(*o->maps));
			o->maps[o->nmaps++] = optarg;
			break;
		case 'd':
			if (date_order_parse(optarg, &o->date_order))
				return usage_error("import", "--date-format takes mdy, dmy or ymd, not '%s'",
						   optarg);
			break;
		case 'z':
			if (!zone_valid(optarg))
				return unknown_zone("import", optarg);
			o->timezone = optarg;
			break;
		case 'r': o->rejects_path = optarg; break;
		case 'n': o->dry_run = 1; break;
		case 'j': o->json = 1; break;
		case 'h':
			fputs(usage, stdout);
			return -1;
		default:
			return unknown_option(argv);
		}
	}
	if (o->no_enroll && o->sequence)
		return usage_error("import", "--sequence and --no-enroll exclude each other");
	if (optind >= argc)
		return usage_error("import", "no file to import");
	*first = optind;
	return FU_OK;
}

/* A header's cells, to know the header again: two exports joined into one file have
 * the second's header among the rows. */
struct header_cells {
	char **cells;
	size_t count;
};

static struct header_cells *header_cells_new(const struct csv_record *header)
{
	struct header_cells *h = xcalloc(1, sizeof(*h));

	h->count = header->count;
	h->cells = xcalloc(h->count ? h->count : 1, sizeof(*h->cells));
	for (size_t i = 0; i < h->count; i++)
		h->cells[i] = xstrdup(header->fields[i]);
	return h;
}

/* NULL is a no-op. */
static void header_cells_free(struct header_cells *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->count; i++)
		free(h->cells[i]);
	free(h->cells);
	free(h);
}

/* Whether rec is the header again: the same cells, trimmed, in any case (missing cells at
 * the end are empty ones). */
static int is_header_again(const struct header_cells *h, const struct csv_record *rec)
{
	size_t n = h->count > rec->count ? h->count : rec->count;

	for (size_t i = 0; i < n; i++)
		if (!str_same_trimmed_nocase(i < h->count ? h->cells[i] : NULL,
					     i < rec->count ? rec->fields[i] : NULL))
			return 0;
	return 1;
}

/* --- one row --------------------------------------------------------------------------- */

static char *value_or_null(const struct header_map *map, struct csv_record *rec,
			   enum lead_field f)
{
	return xstrdup_nonempty(header_map_value(map, rec, f));
}

static char *buyer_or_null(const struct header_map *map, struct csv_record *rec,
			   enum lead_field f)
{
	return xstrdup_nonempty(header_map_buyer_value(map, rec, f));
}

static struct rejects_file *rejects_for(struct import *im, const char *file,
					const struct csv_reader *csv);

/* Counts a notice of a row; 1 when it is to be said, 0 past NOTICES_SHOWN of its kind in
 * the file (report_hidden_notices says how many more). */
static int notice(struct import *im, enum notice kind)
{
	return ++im->notices[kind] <= NOTICES_SHOWN;
}

/* Where field n of a raw record (UTF-8, its line break removed) starts, less its
 * delimiter: the length of its first n fields; len when it has n fields or fewer. */
static size_t raw_fields_length(const char *raw, size_t len, char delimiter, size_t n)
{
	int quoted = 0, field_start = 1;

	for (size_t i = 0; i < len; i++) {
		if (quoted) {           /* to its closing quote; "" is a quote inside */
			if (raw[i] == '"' && i + 1 < len && raw[i + 1] == '"')
				i++;
			else if (raw[i] == '"')
				quoted = 0;
		} else if (raw[i] == '"' && field_start) {
			quoted = 1;     /* as the reader: a quote opens only a field's start */
		} else if (raw[i] == delimiter) {
			if (!--n)
				return i;
			field_start = 1;
			continue;
		}
		field_start = 0;
	}
	return len;
}

/* Appends a rejected row to the file's rejects file: the row as it was (in UTF-8), padded
 * when short so that the reason lands in its own column, then the reason. A row of a
 * rejects file read back loses its old reason (reason_column, -1 for none), so that the
 * new one takes its place. */
static void add_rejected_row(struct rejects_file *rf, const struct csv_record *rec,
			     size_t columns, int reason_column, const char *reason)
{
	struct strbuf line = STRBUF_INIT;
	size_t count = rec->count;

	csv_add_raw_as_utf8(&line, rec->raw, rec->raw_len);
	while (line.len && (line.buf[line.len - 1] == '\n' || line.buf[line.len - 1] == '\r'))
		strbuf_setlen(&line, line.len - 1);
	if (reason_column >= 0) {
		strbuf_setlen(&line, raw_fields_length(line.buf, line.len, rf->delimiter,
						       (size_t)reason_column));
		columns = (size_t)reason_column;
		count = count < columns ? count : columns;
	}
	for (size_t i = count; i < columns; i++)
		strbuf_addch(&line, rf->delimiter);
	strbuf_addch(&line, rf->delimiter);
	csv_write_field(&line, reason, rf->delimiter, 0);
	strbuf_addch(&line, '\n');
	fwrite(line.buf, 1, line.len, rf->rows);
	strbuf_release(&line);
}

/* Counts a rejected row and reports it. Returns 0, or -1 (reported) when it cannot be
 * kept in the rejects file. */
static int reject_row(struct import *im, const char *file, const struct csv_reader *csv,
		      struct csv_record *rec, const char *reason)
{
	struct file_rejects *fr = &im->file_rejects;

	im->counts.rejected++;
	if (!fr->count++) {
		fr->first_line = rec->line;
		fr->first_reason = reason;
	}
	if (notice(im, NOTICE_REJECTED) && !im->cli->quiet)
		error("%s:%ld: rejected: %s", file, rec->line, reason);
	if (!im->rejects)
		return 0;
	if (!im->rejects_of_file && !(im->rejects_of_file = rejects_for(im, file, csv)))
		return -1;
	add_rejected_row(im->rejects_of_file, rec, im->columns, im->reason_column, reason);
	return 0;
}

/* How far a scan time may be ahead of the import: a scanner's clock or zone off by hours. */
#define SCAN_SLACK (24 * 3600)

/* The row's scan time (*scanned = 1), else the import time. */
static time_t contact_time(struct import *im, const char *file, long line,
			   const struct header_map *map, struct csv_record *rec,
			   enum date_order order, const char *zone, int *scanned)
{
	char *when = header_map_scanned_at(map, rec);
	time_t at = im->cli->now;

	*scanned = 0;
	if (str_empty(when)) {
		free(when);
		return at;
	}
	if (scanned_at_parse(when, order, zone, &at)) {
		if (notice(im, NOTICE_SCAN_UNREADABLE))
			warning("%s:%ld: cannot read the scan time '%s': using the import time", file, line,
			when);
		at = im->cli->now;
	} else if (at > im->cli->now + SCAN_SLACK) {
		/* Nobody is scanned tomorrow: a day/month mix-up or a typo would start the
		 * sequence months from now, with nobody noticing. */
		if (notice(im, NOTICE_SCAN_AHEAD))
			warning("%s:%ld: the scan time '%s' is after the import: using the import"
				" time", file, line, when);
		at = im->cli->now;
	} else {
		*scanned = 1;
	}
	free(when);
	return at;
}

/* The row's owner column, else --owner; a rep the config knows is stored by its key
 * (named however the file spells it: see config_find_owner), any other owner as written. */
static char *owner_of_row(struct import *im, const struct header_map *map,
			  struct csv_record *rec)
{
	const char *owner = header_map_value(map, rec, FIELD_OWNER);

	if (name_blank(owner))
		owner = im->opt->owner;
	return name_blank(owner) ? NULL : xstrdup(cli_owner_names(im->cli, owner).key);
}

/* Reduces, in place, what spreadsheets make of an address to the address: a pasted
 * mailto: link, or "Jane Doe <jane@x.example>" copied from a mail client. A name that
 * is itself an address, or spans lines ("a@x <b@y>"), is two addresses: the cell is
 * left whole, for the address check to refuse, rather than one of them guessed. */
static void bare_address(char *email)
{
	size_t len = strlen(email);
	char *open = strrchr(email, '<');

	if (len > 2 && email[len - 1] == '>' && open &&
	    !memchr(email, '@', (size_t)(open - email)) &&
	    !strpbrk(email, "\r\n") && !memchr(email, '>', (size_t)(open - email))) {
		len = (size_t)(email + len - 1 - open - 1);
		memmove(email, open + 1, len);
		email[len] = '\0';
	}
	if (!strncasecmp(email, "mailto:", 7))
		memmove(email, email + 7, strlen(email + 7) + 1);
}

/* The lead status an exported row carries (Status column), or NULL. */
static char *status_from_row(struct import *im, const char *file,
			     const struct header_map *map, struct csv_record *rec)
{
	const char *status = header_map_value(map, rec, FIELD_STATUS);

	if (str_empty(status))
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(pipeline_statuses); i++)
		if (!strcasecmp(status, pipeline_statuses[i]))
			return xstrdup(pipeline_statuses[i]);
	if (notice(im, NOTICE_STATUS))
		warning("%s:%ld: '%s' is not a lead status (%s): ignored", file, rec->line, status,
			"active, cold, replied, converted, lost, unsubscribed, bounced");
	return NULL;
}

/* Adds header: value to a lead's extra JSON (unless empty, or the header is taken). */
static void keep_as_extra(char **extra, const char *header, const char *value)
{
	cJSON *o;

	if (!header || str_empty(value))
		return;
	o = *extra ? cJSON_Parse(*extra) : cJSON_CreateObject();
	if (!o)
		return;
	if (!cJSON_GetObjectItemCaseSensitive(o, header)) {
		cJSON_AddStringToObject(o, header, value);
		free(*extra);
		*extra = cJSON_PrintUnformatted(o);
	}
	cJSON_Delete(o);
}

/* Whether the row lets us email the person: no column opts out and none refuses
 * consent (a file may have both an "Email Opt Out" and a "Do Not Email"). A value we
 * cannot read either way counts as a no, with a warning: a wrong guess here emails
 * someone who said no. */
static int consent_of_row(struct import *im, const char *file, long line,
			  const struct header_map *map, struct csv_record *rec)
{
	static const struct {
		enum lead_field field;
		enum notice unclear;
		int (*read)(const char *value);         /* 1 yes, 0 no, -1 unclear */
		int allows;                             /* the answer that lets us email */
		const char *what, *unclear_is;
	} columns[] = {
		{ FIELD_OPT_OUT, NOTICE_OPT_OUT, opt_out_value, 0, "opt-out", "opted out" },
		{ FIELD_CONSENT, NOTICE_CONSENT, consent_value, 1, "consent", "no consent" },
	};
	const char *value;
	int may_email = 1;

	for (size_t c = 0; c < ARRAY_SIZE(columns); c++)
		for (size_t i = 0; (value = header_map_nth_value(map, rec, columns[c].field, i)); i++) {
			int answer = columns[c].read(value);
			if (answer < 0 && notice(im, columns[c].unclear))
				warning("%s:%ld: %s value '%s' is neither yes nor no: taken as %s",
					file, line, columns[c].what, value, columns[c].unclear_is);
			may_email &= answer == columns[c].allows;
		}
	return may_email;
}

/* Whether s ends with " suffix" (any case, at a word's start), or is suffix. */
static int ends_with_word(const char *s, const char *suffix)
{
	size_t len = strlen(s), n = strlen(suffix);

	return n <= len && !strcasecmp(s + len - n, suffix) &&
	       (n == len || s[len - n - 1] == ' ' || s[len - n - 1] == '\t');
}

/* Fills the first or last name a row lacks (NULL) from its full name, split as
 * name_split does; a part the row has is kept. The known part tells where the other
 * begins when the split would cut elsewhere: First Name "Mary Ann" of "Mary Ann van der
 * Berg" leaves "van der Berg", Last Name "van der Berg" leaves "Mary Ann". */
static void names_from_full(const char *full, char **first, char **last)
{
	char *split_first = NULL, *split_last = NULL, *whole;
	size_t n;

	if (str_empty(full) || (*first && *last))
		return;
	name_split(full, &split_first, &split_last);
	whole = xasprintf("%s%s%s", split_first ? split_first : "", split_last ? " " : "",
			  split_last ? split_last : "");
	if (!*first && !*last) {
		*first = split_first, split_first = NULL;
		*last = split_last, split_last = NULL;
	} else if (!*last) {
		n = strlen(*first);
		if (!strncasecmp(whole, *first, n) && (whole[n] == ' ' || whole[n] == '\t'))
			*last = xstrdup_nonempty(str_trim(whole + n));
		else
			*last = split_last, split_last = NULL;
	} else if (ends_with_word(whole, *last)) {
		/* The full name is the last name alone: no first name to greet by. */
		whole[strlen(whole) - strlen(*last)] = '\0';
		*first = xstrdup_nonempty(str_trim(whole));
	} else {
		*first = split_first, split_first = NULL;
	}
	free(whole);
	free(split_first);
	free(split_last);
}

/* Fills a lead from a row. Returns 0, or 1 with *reason set when the row is rejected. */
static int lead_from_row(struct import *im, const char *file, const struct header_map *map,
			 struct csv_record *rec, enum date_order order, const char *zone,
			 struct lead *l, int *scanned, const char **reason)
{
	const char *other;
	int buyer;

	memset(l, 0, sizeof(*l));
	l->email = value_or_null(map, rec, FIELD_EMAIL);
	if (!l->email && *(other = header_map_other_email(map, rec)))
		l->email = xstrdup(other);
	/* An attendee row with no details of its own (Eventbrite's "Info Requested") is the
	 * buyer's: the one person of that order whom we can write to. */
	if ((buyer = !l->email))
		l->email = buyer_or_null(map, rec, FIELD_EMAIL);
	if (!l->email) {
		*reason = "no email";
		return 1;
	}
	bare_address(l->email);
	if (!email_plausible(l->email, reason))
		return 1;
	/* The buyer's address takes the buyer's name: "Hi Carl" must not go to Bea. */
	if (buyer) {
		l->first_name = buyer_or_null(map, rec, FIELD_FIRST_NAME);
		l->last_name = buyer_or_null(map, rec, FIELD_LAST_NAME);
	} else {
		l->first_name = value_or_null(map, rec, FIELD_FIRST_NAME);
		l->last_name = value_or_null(map, rec, FIELD_LAST_NAME);
	}
	if (!buyer && (!l->first_name || !l->last_name))
		names_from_full(header_map_value(map, rec, FIELD_NAME), &l->first_name,
				&l->last_name);
	l->company = value_or_null(map, rec, FIELD_COMPANY);
	l->title = value_or_null(map, rec, FIELD_TITLE);
	l->phone = value_or_null(map, rec, FIELD_PHONE);
	l->country = value_or_null(map, rec, FIELD_COUNTRY);
	l->timezone = value_or_null(map, rec, FIELD_TIMEZONE);
	if (l->timezone) {
		char *known = zone_canonical(l->timezone);
		if (!known && notice(im, NOTICE_ZONE))
			warning("%s:%ld: unknown time zone '%s': ignored", file, rec->line,
				l->timezone);
		free(l->timezone);
		l->timezone = known;
	}
	l->notes = value_or_null(map, rec, FIELD_NOTES);
	l->rating = value_or_null(map, rec, FIELD_RATING);
	l->owner = owner_of_row(im, map, rec);
	l->event = im->opt->event ? xstrdup(im->opt->event) : value_or_null(map, rec, FIELD_EVENT);
	l->badge_id = value_or_null(map, rec, FIELD_BADGE_ID);
	l->extra = header_map_extra_json(map, rec);
	/* --event wins, but the row's own event, if another, is not lost. */
	if (im->opt->event && header_map_column(map, FIELD_EVENT) >= 0) {
		const char *own = header_map_value(map, rec, FIELD_EVENT);
		if (strcmp(im->opt->event, own))
			keep_as_extra(&l->extra, header_map_header(map, FIELD_EVENT), own);
	}
	l->contact_at = contact_time(im, file, rec->line, map, rec, order, zone, scanned);
	l->consent = consent_of_row(im, file, rec->line, map, rec);
	l->status = status_from_row(im, file, map, rec);
	l->created_at = im->cli->now;
	return 0;
}

/* A lead's status, "active" when the row names none. */
static const char *status_of(const struct lead *lead)
{
	return lead->status ? lead->status : "active";
}

/* Whether a row says the person must not be emailed: an opt-out or no-consent column,
 * or an exported status of unsubscribed or bounced. */
static int row_opts_out(const struct lead *row)
{
	return !row->consent || status_never_emails(status_of(row));
}

static int is_suppressed(struct import *im, const struct lead *lead)
{
	if (row_opts_out(lead))
		return 1;
	return im->any_suppressions && store_is_suppressed(im->cli->store, lead->email) == 1;
}

/* A lead this import created: nothing to look up, it has no enrolment yet. A lead that
 * an export shows as done (replied, converted, lost, cold) keeps that status. */
static int enrol_new_lead(struct import *im, struct lead *row, int64_t lead_id)
{
	int active = !strcmp(status_of(row), "active");

	row->id = lead_id;
	if (is_suppressed(im, row)) {
		im->counts.suppressed++;
		if (!active)    /* stored as the export said: bounced stays bounced */
			return 0;
		return store_lead_set_status(im->cli->store, lead_id, "unsubscribed", im->cli->now);
	}
	if (!active || !im->sequence)
		return 0;
	im->counts.enrolled++;
	return engine_enrol_new(&im->engine, row, im->sequence, row->event, row->contact_at);
}

/* A row that says a lead opted out, gave no consent or bounced: the lead is stopped,
 * whatever it is in (a cold one may be in reactivation), as with `optout`. A lead this
 * import enrolled a moment ago counts as suppressed instead. */
static int withdraw_enrolment(struct import *im, const struct lead *stored,
			      const struct lead *row, enum merge_result result)
{
	const char *status = !strcmp(status_of(row), "bounced") ? "bounced" : "unsubscribed";
	struct enrolment en;
	int found = store_enrolment_active(im->cli->store, stored->id, &en);

	if (found < 0)
		return -1;
	if (found) {
		if (result == MERGE_DUPLICATE && en.started_at == im->cli->now)
			im->counts.enrolled--;
		enrolment_release(&en);
	}
	im->counts.suppressed++;
	return engine_stop_lead(&im->engine, stored->id, status,
				"opted out in an imported row");
}

static int same_event(const char *a, const char *b)
{
	return a && b ? !strcmp(a, b) : a == b;
}

/* Whether a row of a lead gone cold or lost is a new contact, which starts the sequence
 * again (SPEC section 5): scanned after its latest enrolment began or ended (or, never
 * enrolled, after it was created), and not after this import (a scanner's clock ahead);
 * or, in a file with no scan times, at an event it was never enrolled from. The same
 * file imported again is neither: it must not send the whole sequence a second time.
 * 1 yes, 0 no, -1 error. */
static int is_new_contact(struct import *im, const struct lead *stored, const struct lead *row,
			  int scanned)
{
	struct enrolment latest;
	const char *event = row->event ? row->event : stored->event;
	time_t since = stored->created_at;
	int found = store_enrolment_latest(im->cli->store, stored->id, &latest);

	if (found < 0)
		return -1;
	if (found) {
		since = latest.ended_at ? latest.ended_at : latest.started_at;
		enrolment_release(&latest);
	}
	if (scanned)
		return row->contact_at > since && row->contact_at <= im->cli->now;
	if (!found)
		return !same_event(event, stored->event);
	found = store_lead_enrolled_from(im->cli->store, stored->id, event);
	return found < 0 ? -1 : !found;
}

/* An active lead that was never enrolled (imported with --no-enroll). 1, 0, -1. */
static int never_enrolled(struct store *store, int64_t lead_id)
{
	int found = store_lead_ever_enrolled(store, lead_id);

	return found < 0 ? -1 : !found;
}

static int enrol_again(struct import *im, const struct lead *stored, const struct lead *row)
{
	int ret = 0;

	if (strcmp(stored->status, "active"))
		ret = store_lead_set_status(im->cli->store, stored->id, "active", im->cli->now);
	if (!ret)
		ret = engine_enrol(&im->engine, stored, im->sequence,
				   row->event ? row->event : stored->event, row->contact_at);
	if (!ret)
		im->counts.enrolled++;
	return ret;
}

/* A known lead met at an event it is not known from (it stays in the sequence it is in):
 * its timeline says so, once. */
static int note_event_met(struct import *im, int64_t lead_id, const char *event)
{
	int known;

	if (str_empty(event))
		return 0;
	known = store_lead_met_at(im->cli->store, lead_id, event);
	if (known)
		return known < 0 ? -1 : 0;
	return store_history_add(im->cli->store, lead_id, im->cli->now, "met", event);
}

/* A known lead keeps its owner (a repeat only fills empty fields). A row naming another
 * rep would have that rep expect the lead in their `due`: a warning says it did not. */
static void note_owner_kept(struct import *im, const struct lead *stored,
			    const struct lead *row)
{
	if (str_empty(row->owner) || str_empty(stored->owner) ||
	    name_same(row->owner, cli_owner_names(im->cli, stored->owner).key))
		return;
	if (!im->rows_owner_kept++)
		im->owner_kept = xasprintf("%s stays '%s', the import says '%s'", stored->email,
					   stored->owner, row->owner);
}

/* An owner that none of the config's reps answers to is stored as written: its leads'
 * emails go from the sender, and no rep's `due --owner` lists them. A misspelt rep in a
 * file, or a typo in --owner, would go unseen: counted for one warning at the end. With
 * no owners: in the config, owners are free-form and nothing is said. lead_owner is the
 * owner the lead has now; a known lead that keeps another is note_owner_kept's. */
static void note_owner_unknown(struct import *im, const char *row_owner,
			       const char *lead_owner)
{
	const struct config *config = &im->cli->config;

	if (!config->nowners || !name_same(row_owner, lead_owner) ||
	    config_find_owner(config, row_owner))
		return;
	if (!im->rows_owner_unknown++)
		im->owner_unknown = xasprintf("'%s'%s", row_owner,
					      im->opt->owner && !strcmp(row_owner, im->opt->owner)
					      ? ", from --owner" : "");
}

/* Enrolment on import (SPEC section 5): known leads gone cold or lost join again when
 * the row is a new contact, anchored at this scan (the lead keeps its earliest contact
 * time, but a re-scan at a later event starts the sequence from that event); a lead
 * imported with --no-enroll joins the first import that enrols. */

static int enrol_known_lead(struct import *im, const struct lead *row, int64_t lead_id,
			    enum merge_result result, int earlier, int scanned)
{
	struct store *store = im->cli->store;
	struct lead stored;
	struct enrolment en;
	int ret = 0, join;

	if (store_lead_get(store, lead_id, &stored) != 1)
		return -1;
	note_owner_kept(im, &stored, row);
	note_owner_unknown(im, row->owner, stored.owner);
	if (row_opts_out(row) && !status_never_emails(stored.status)) {
		/* This row opts the lead out: its follow-up stops here, as with `optout`. */
		ret = withdraw_enrolment(im, &stored, row, result);
		goto out;
	}
	if (is_suppressed(im, &stored)) {
		if (result != MERGE_DUPLICATE)
			im->counts.suppressed++;
		goto out;
	}
	/* A row with a status is an export read back, not a new scan: it enrols nobody. */
	if (!im->sequence || row->status)
		goto out;
	if (!strcmp(stored.status, "cold") || !strcmp(stored.status, "lost"))
		join = is_new_contact(im, &stored, row, scanned);
	else if (!strcmp(stored.status, "active") && stored.consent)
		join = never_enrolled(store, lead_id);
	else
		join = 0;
	if (join < 0) {
		ret = -1;
	} else if (join) {
		ret = enrol_again(im, &stored, row);
	} else if (earlier && store_enrolment_active(store, lead_id, &en) == 1) {
		/* An earlier scan of the same event found later (a second scanner's file)
		 * moves a sequence that has made no touch yet: the recap comes 24 hours
		 * after the first contact. Once something went out, the times stay; another
		 * event's scan is another contact. */
		int made = same_event(row->event, en.event) ?
			   store_enrolment_made_any(store, en.id) : 1;

		if (made < 0)
			ret = -1;
		else if (!made)
			ret = engine_reanchor(&im->engine, en.id, stored.contact_at);
		enrolment_release(&en);
	}
out:
	lead_release(&stored);
	return ret;
}

static int import_row(struct import *im, const char *file, const struct csv_reader *csv,
		      const struct header_map *map, struct csv_record *rec,
		      enum date_order order, const char *zone, int64_t import_id, int *changed)
{
	struct lead l;
	const char *reason = NULL;
	enum merge_result result;
	int64_t lead_id;
	int row_changed = 0, earlier = 0, scanned = 0, ret = 0;

	im->counts.rows++;
	/* A rejects file read back: its reason is no value of the lead. */
	if (im->reason_column >= 0 && (size_t)im->reason_column < rec->count)
		rec->fields[im->reason_column][0] = '\0';
	if (lead_from_row(im, file, map, rec, order, zone, &l, &scanned, &reason)) {
		ret = reject_row(im, file, csv, rec, reason);
		goto out;
	}
	if (store_lead_merge(im->cli->store, &l, import_id, &result, &lead_id, &row_changed,
			     &earlier)) {
		ret = -1;
		goto out;
	}
	if (result == MERGE_NEW) {
		im->counts.imported++;
		note_owner_unknown(im, l.owner, l.owner);
	} else if (result == MERGE_UPDATED)
		im->counts.updated++;
	else
		im->counts.duplicates++;
	if (row_changed && result != MERGE_NEW) {
		char *detail = xasprintf("updated from %s line %ld", file, rec->line);
		ret = store_history_add(im->cli->store, lead_id, im->cli->now, "updated", detail);
		free(detail);
	}
	*changed |= row_changed;
	if (!ret)
		ret = result == MERGE_NEW ? enrol_new_lead(im, &l, lead_id)
					  : enrol_known_lead(im, &l, lead_id, result, earlier, scanned);
	if (!ret && result != MERGE_NEW)
		ret = note_event_met(im, lead_id, l.event);
out:
	lead_release(&l);
	return ret;
}

/* --- interruption --------------------------------------------------------------------- */

static volatile sig_atomic_t progress_shown;

/* Ctrl-C or a kill during the import: the transaction never commits, so the store is as
 * it was. Said so (with write, which a signal handler may call), then the signal does
 * what it would have done, for the shell's exit status. */
static void on_interrupt(int sig)
{
	static const char clear_line[] = "\r\033[K";
	static const char said[] = "followup: import interrupted: nothing was imported,"
				   " the store is as it was\n";

	if (progress_shown && write(STDERR_FILENO, clear_line, sizeof(clear_line) - 1) < 0)
		_exit(128 + sig);
	if (write(STDERR_FILENO, said, sizeof(said) - 1) < 0)
		_exit(128 + sig);
	signal(sig, SIG_DFL);           /* caught only when it was not ignored before */
	raise(sig);
}

static const int interrupts[] = { SIGINT, SIGTERM, SIGHUP };

/* Catches the interrupts that are not ignored (`nohup` ignores SIGHUP, a shell SIGINT
 * for a job in the background: the import must go on through them); saves how each was
 * handled into before[], for restore_interrupts(). */
static void catch_interrupts(struct sigaction before[ARRAY_SIZE(interrupts)])
{
	struct sigaction catching = { 0 };

	catching.sa_handler = on_interrupt;
	sigemptyset(&catching.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(interrupts); i++) {
		sigaction(interrupts[i], NULL, &before[i]);
		if (before[i].sa_handler != SIG_IGN)
			sigaction(interrupts[i], &catching, NULL);
	}
}

static void restore_interrupts(const struct sigaction before[ARRAY_SIZE(interrupts)])
{
	for (size_t i = 0; i < ARRAY_SIZE(interrupts); i++)
		sigaction(interrupts[i], &before[i], NULL);
}

/* --- one file -------------------------------------------------------------------------- */

static void show_progress(struct import *im, const char *file, const struct csv_reader *csv,
			  int done)
{
	off_t size = csv_size(csv);

	if (!im->show_progress)
		return;
	if (done)
		fprintf(stderr, "\r\033[K");
	else if (size > 0)
		fprintf(stderr, "\rimporting %s: %3d%% (%ld rows)", file,
			(int)(100.0 * (double)csv_offset(csv) / (double)size), im->counts.rows);
	else
		fprintf(stderr, "\rimporting %s: %ld rows", file, im->counts.rows);
}

/* A row longer than the header (often an unquoted comma): what is past the last column
 * has no name to go by, so it is dropped, and said. Trailing empty cells are normal. */
static void warn_extra_fields(struct import *im, const char *file, const struct csv_record *rec,
			      size_t columns)
{
	size_t last = rec->count;

	while (last > columns && str_empty(rec->fields[last - 1]))
		last--;
	if (last > columns && notice(im, NOTICE_EXTRA_FIELDS))
		warning("%s:%ld: %zu fields, the header has %zu: the last %zu ignored", file,
			rec->line, last, columns, last - columns);
}

/* A temporary file (unlinked at once) holding what is left to read of from, at its
 * start; -1 (reported, naming what) when it cannot be made: what was read is lost then. */
static int copy_to_temp(int from, const char *what)
{
	char buf[65536];
	ssize_t n = 0;
	int fd;

	if ((fd = temp_file("followup-stdin")) < 0) {
		error("cannot copy %s to a file in %s: %s", what, temp_dir(), strerror(errno));
		return -1;
	}
	while ((n = read(from, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			break;
	if (n != 0 || lseek(fd, 0, SEEK_SET) < 0) {
		error("cannot copy %s to a file in %s: %s", what, temp_dir(),
		      n > 0 ? "short write (is the disk full?)" : strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* A pipe cannot be read twice: it is copied to a temporary file (unlinked at once) that
 * takes the place of stdin, so that stdin is read like any file. Sets *start to where
 * stdin starts; -1 (reported) when it cannot be copied: what was read is lost then. */
static int rewindable_stdin(off_t *start)
{
	int fd, ret = 0;

	if ((*start = lseek(STDIN_FILENO, 0, SEEK_CUR)) >= 0)
		return 0;       /* a file already */
	*start = 0;
	if ((fd = copy_to_temp(STDIN_FILENO, "stdin")) < 0)
		return -1;
	if (dup2(fd, STDIN_FILENO) < 0)
		ret = error("cannot read stdin back: %s", strerror(errno));
	close(fd);
	return ret;
}

/* The inputs that name a pipe (a FIFO, bash's <(...) as /dev/fd/63) are copied, as
 * stdin is: each file is read more than once (its day and month order, its --map
 * columns, its rows). -1 (reported) when one cannot be. */
static int copy_named_pipes(struct import *im)
{
	im->copies = xmalloc((size_t)im->ninputs * sizeof(*im->copies));
	for (int i = 0; i < im->ninputs; i++)
		im->copies[i] = -1;
	for (int i = 0; i < im->ninputs; i++) {
		struct stat st;
		int fd;

		if (!strcmp(im->inputs[i], "-") || stat(im->inputs[i], &st) ||
		    S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
			continue;       /* the import says what is wrong with one it cannot open */
		if ((fd = open(im->inputs[i], O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		im->copies[i] = copy_to_temp(fd, im->inputs[i]);
		close(fd);
		if (im->copies[i] < 0)
			return -1;
	}
	return 0;
}

static void close_copies(struct import *im)
{
	for (int i = 0; im->copies && i < im->ninputs; i++)
		if (im->copies[i] >= 0)
			close(im->copies[i]);
	free(im->copies);
}

/* Opens input number i (from 0), named file: its copy, when it is a pipe's. */
static int open_input(const struct import *im, int i, const char *file,
		      struct csv_reader **csv, char **err)
{
	if (im->copies && i >= 0 && i < im->ninputs && im->copies[i] >= 0)
		return csv_open_copy(csv, im->copies[i], file, err);
	return csv_open(csv, file, err);
}

/* A line a report may put above its header: a title, an export date, "Event:,Expo". */
static int looks_like_title(const struct csv_record *rec)
{
	size_t cells = 0;

	for (size_t i = 0; i < rec->count; i++)
		cells += !str_empty(rec->fields[i]);
	return cells <= 2;
}

/* Maps the header, the record in rec. A report's title lines above the real header
 * (records of two cells at most, up to CSV_MAX_TITLE_LINES) are read past: rec is then the
 * header and *title_lines says how many came before it. Returns 0, or -1 with *err the
 * first line's problem (no email column...). */
static int map_header(struct csv_reader *csv, struct csv_record *rec,
		      const struct import_options *o, struct header_map **map, char **err,
		      int *title_lines)
{
	char *later = NULL;

	*title_lines = 0;
	if (!header_map_build(map, rec, o->maps, o->nmaps, err))
		return 0;
	while (*title_lines < CSV_MAX_TITLE_LINES && looks_like_title(rec) &&
	       csv_read(csv, rec, &later) == 1) {
		++*title_lines;
		if (!header_map_build(map, rec, o->maps, o->nmaps, &later)) {
			free(*err);
			*err = NULL;
			csv_take_as_header(csv, rec);
			return 0;
		}
		free(later);
		later = NULL;
	}
	free(later);
	return -1;
}

/* The column a rejects file of followup adds, in a header: the last one (empty trailing
 * cells aside) headed REJECTS_REASON; -1 when there is none. */
static int reason_column_of(const struct csv_record *header)
{
	size_t last = header->count;
	char *cell;
	int column = -1;

	while (last > 1 && str_empty(header->fields[last - 1]))
		last--;
	if (last < 2)           /* a row to keep besides the reason */
		return -1;
	cell = str_trim(xstrdup(header->fields[last - 1]));
	if (!strcasecmp(cell, REJECTS_REASON))
		column = (int)last - 1;
	free(cell);
	return column;
}

/* What a file says about the whole of it, read before it is imported: the order of day
 * and month (*order, when --date-format does not say), and whether its last column is
 * the reason column of a rejects file (*reason_column, else -1). */
static void read_ahead(const struct import *im, const char *file,
		       const struct import_options *o, enum date_order *order, int *reason_column)
{
	struct csv_reader *csv = NULL;
	struct header_map *map = NULL;
	struct csv_record rec = CSV_RECORD_INIT;
	struct header_cells *header = NULL;
	char *err = NULL;
	int title_lines, guess = o->date_order == DATE_ORDER_AUTO;

	*order = o->date_order;
	*reason_column = -1;
	if (!strcmp(file, "-"))         /* a second '-' reads the copy again from its start */
		lseek(STDIN_FILENO, im->stdin_start, SEEK_SET);
	if (open_input(im, im->ordinal - 1, file, &csv, &err) ||
	    csv_read(csv, &rec, &err) != 1 ||
	    map_header(csv, &rec, o, &map, &err, &title_lines))
		goto out;
	*reason_column = reason_column_of(&rec);
	header = header_cells_new(&rec);
	while (guess && csv_read(csv, &rec, &err) == 1) {
		char *when;

		if (is_header_again(header, &rec))
			continue;
		when = header_map_scanned_at(map, &rec);
		if (when && date_first_field_over_12(when)) {
			*order = DATE_ORDER_DMY;
			guess = 0;
		}
		free(when);
	}
out:
	free(err);
	header_cells_free(header);
	header_map_free(map);
	csv_record_release(&rec);
	csv_close(csv);
	if (!strcmp(file, "-"))
		lseek(STDIN_FILENO, im->stdin_start, SEEK_SET);
}

/* Every lead of a file without a scan time column gets the import time, and its
 * sequence starts today: when a column looks like the scan time, say how to use it. */
static void warn_no_scan_time(const char *file, const struct header_map *map)
{
	const char *hint = header_map_scan_time_hint(map);

	if (hint)
		warning("%s: no scan time column; '%s' looks like one: --map '%s=scanned_at'",
			file, hint, hint);
}

/* An opt-out or consent column we do not read emails the people it names: say so. */
static void warn_unread_permissions(const char *file, const struct header_map *map)
{
	const char *h;

	for (size_t n = 0; (h = header_map_permission_hint(map, n)); n++)
		warning("%s: column '%s' looks like an opt-out or consent but is not read:"
			" --map '%s=opt_out' or '%s=consent'", file, h, h, h);
}

/* Under --quiet the rejected rows are not listed, but a cron job must not lose leads
 * without a word: one line per file that lost some. */
static void report_rejects_quietly(const struct import *im, const char *file)
{
	const struct file_rejects *fr = &im->file_rejects;

	if (!im->cli->quiet || !fr->count)
		return;
	error("%s: %ld row%s rejected (first: line %ld: %s)%s%s%s", file,
		fr->count, fr->count == 1 ? "" : "s", fr->first_line, fr->first_reason,
		!im->rejects_of_file ? "" : im->opt->dry_run ? ", which would be kept in '"
							      : ", kept in '",
		im->rejects_of_file ? im->rejects_of_file->path : "",
		im->rejects_of_file ? "'" : "");
}

/* The notices of the file past NOTICES_SHOWN of their kind: how many, a line a kind.
 * Rejected rows under --quiet have report_rejects_quietly's line instead. */
static void report_hidden_notices(const struct import *im, const char *file)
{
	for (int kind = 0; kind < NOTICE_COUNT; kind++) {
		long more = im->notices[kind] - NOTICES_SHOWN;

		if (more <= 0)
			continue;
		if (kind != NOTICE_REJECTED)
			warning("%s: ... and %ld more row%s %s", file, more, more == 1 ? "" : "s",
				notice_what[kind]);
		else if (!im->cli->quiet)
			error("%s: ... and %ld more row%s rejected%s%s%s", file, more,
			      more == 1 ? "" : "s",
			      !im->rejects_of_file ? "" : im->opt->dry_run ? " (all would be in '"
								    : " (all in '",
			      im->rejects_of_file ? im->rejects_of_file->path : "",
			      im->rejects_of_file ? "')" : "");
	}
}

/* The header a --map names ("Correo electrónico" of "Correo electrónico=email"), its
 * length in *len; NULL when the map is malformed (header_map_build says so). */
static const char *map_header_of(const char *spec, int *len)
{
	const char *eq = strrchr(spec, '=');

	if (!eq || eq == spec)
		return NULL;
	*len = (int)(eq - spec);
	return spec;
}

/* Whether a record (a header, or a title line above it) has the column a --map names:
 * mapped to email, a header of its own spelling is all the map needs to build. */
static int has_map_column(const struct csv_record *rec, const char *spec)
{
	struct header_map *map = NULL;
	char *err = NULL, *probe;
	const char *header;
	int len, found;

	if (!(header = map_header_of(spec, &len)))
		return 1;
	probe = xasprintf("%.*s=email", len, header);
	found = !header_map_build(&map, rec, (const char *const *)&probe, 1, &err);
	header_map_free(map);
	free(err);
	free(probe);
	return found;
}

/* With several files, which has the column of each --map, read from the lines that may
 * be its header (the first, and the title lines it may have): a --map for the columns
 * of one vendor's files need not be in the others'. A file that cannot be read here
 * has them all (its import says what is wrong). */
static void find_map_columns(struct import *im)
{
	const struct import_options *o = im->opt;

	if (!o->nmaps || im->ninputs < 2)
		return;
	im->map_found = xcalloc((size_t)im->ninputs, o->nmaps);
	for (int i = 0; i < im->ninputs; i++) {
		unsigned char *found = im->map_found + (size_t)i * o->nmaps;
		struct csv_reader *csv = NULL;
		struct csv_record rec = CSV_RECORD_INIT;
		char *err = NULL;

		if (open_input(im, i, im->inputs[i], &csv, &err))
			memset(found, 1, o->nmaps);
		for (int line = 0; csv && line <= CSV_MAX_TITLE_LINES &&
		     csv_read(csv, &rec, &err) == 1; line++)
			for (size_t k = 0; k < o->nmaps; k++)
				found[k] |= has_map_column(&rec, o->maps[k]);
		free(err);
		csv_record_release(&rec);
		csv_close(csv);
		if (!strcmp(im->inputs[i], "-"))
			lseek(STDIN_FILENO, im->stdin_start, SEEK_SET);
	}
}

/* The --maps of the file numbered ordinal into maps[] (as many as --map), their number
 * returned: a --map whose column is in another file of the import but not in this
 * one is left out, with a warning. With one file, or a column in no file, every --map
 * is there: a header_map_build error says the column is in no file (a typo). */
static size_t maps_of_file(const struct import *im, const char *file, const char **maps)
{
	const struct import_options *o = im->opt;
	size_t n = 0;

	for (size_t k = 0; k < o->nmaps; k++) {
		int here = 1, anywhere = 0, len = 0;
		const char *header;

		for (int i = 0; im->map_found && i < im->ninputs; i++)
			anywhere |= im->map_found[(size_t)i * o->nmaps + k];
		if (im->map_found)
			here = im->map_found[(size_t)(im->ordinal - 1) * o->nmaps + k];
		if (here || !anywhere) {
			maps[n++] = o->maps[k];
			continue;
		}
		header = map_header_of(o->maps[k], &len);
		warning("%s: no column '%.*s': --map '%s' is not used for this file", file, len,
			header, o->maps[k]);
	}
	return n;
}

static int import_file(struct import *im, const char *file, int *changed)
{
	struct store *store = im->cli->store;
	struct csv_reader *csv = NULL;
	struct header_map *map = NULL;
	struct csv_record rec = CSV_RECORD_INIT;
	/* Scan times are the event's clock: --timezone, else the config's, never the TZ of
	 * whoever runs the import (which only says how to show times). */
	const char *zone = im->opt->timezone ? im->opt->timezone
		: !str_empty(im->cli->config.timezone) ? im->cli->config.timezone
		: cli_zone(im->cli);
	enum date_order order;
	char *err = NULL;
	int64_t import_id;
	int file_changed = 0, rc, status = FU_FAIL, title_lines;
	long first_converted;
	struct import_options opt = *im->opt;   /* with this file's --maps */
	const char **maps = xcalloc(opt.nmaps ? opt.nmaps : 1, sizeof(*maps));

	opt.nmaps = maps_of_file(im, file, maps);
	opt.maps = maps;
	read_ahead(im, file, &opt, &order, &im->reason_column);
	im->rejects_of_file = NULL;
	im->file_rejects = (struct file_rejects){ 0, 0, NULL };
	memset(im->notices, 0, sizeof(im->notices));
	if ((rc = open_input(im, im->ordinal - 1, file, &csv, &err))) {
		error("%s", err);
		status = rc == CSV_EIO ? FU_FAIL : FU_USAGE;
		goto out;
	}
	rc = csv_read(csv, &rec, &err);
	if (rc == 0)
		error("'%s' is empty: no header line", file);
	else if (rc < 0)
		error("%s", err);
	if (rc <= 0) {
		status = rc == CSV_EIO ? FU_FAIL : FU_USAGE;
		goto out;
	}
	if (map_header(csv, &rec, &opt, &map, &err, &title_lines)) {
		error("%s: %s", file, err);
		status = FU_USAGE;
		goto out;
	}
	if (title_lines)
		warning("%s: the header is on line %ld; the line%s above it, a title, skipped",
			file, rec.line, title_lines == 1 ? "" : "s");
	warn_no_scan_time(file, map);
	warn_unread_permissions(file, map);
	if (header_map_scan_zone(map))  /* "Scan Time (UTC)": the file's, not the event's */
		zone = header_map_scan_zone(map);
	if (store_import_start(store, file, im->opt->event, im->cli->now, &import_id))
		goto out;
	im->columns = rec.count;
	im->header = header_cells_new(&rec);
	while ((rc = csv_read(csv, &rec, &err)) == 1) {
		/* Two exports joined: the second's header is no row (not one to reject). */
		if (is_header_again(im->header, &rec))
			continue;
		warn_extra_fields(im, file, &rec, im->columns);
		if (import_row(im, file, csv, map, &rec, order, zone, import_id, &file_changed))
			goto out;
		if ((im->counts.rows & 0xffff) == 0)
			show_progress(im, file, csv, 0);
	}
	show_progress(im, file, csv, 1);
	if (rc < 0) {
		error("%s", err);
		status = rc == CSV_EIO ? FU_FAIL : FU_USAGE;
		goto out;
	}
	if (csv_was_converted(csv, &first_converted)) {
		warning("%s: not UTF-8 (first at line %ld): read as Windows-1252", file,
			first_converted);
		if (im->rejects_of_file)
			im->rejects_of_file->bom = 1;   /* its rows are UTF-8 now */
	}
	report_hidden_notices(im, file);
	report_rejects_quietly(im, file);
	if (store_import_finish(store, import_id, file_changed))
		goto out;
	*changed |= file_changed;
	status = FU_OK;
out:
	free(err);
	header_cells_free(im->header);
	im->header = NULL;
	free(maps);
	header_map_free(map);
	csv_record_release(&rec);
	csv_close(csv);
	return status;
}

/* --- the rejects file ------------------------------------------------------------------- */

static int same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && same_inode(&sa, &sb);
}

/* An unlinked temporary file for the rows (they hold personal data: 0600, and gone
 * with the process whatever happens), or NULL (reported). */
static FILE *rows_file(void)
{
	int fd = temp_file("followup-rejects");
	FILE *f = NULL;

	if (fd < 0 || !(f = fdopen(fd, "w+"))) {
		error("cannot make a temporary file in %s: %s", temp_dir(), strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return f;
}

/* Whether path, as it is now, is renamed onto (a regular file of one name, or nothing
 * yet) or written into (a device, a fifo, a symlink, a hard link: replacing it would
 * break what it is). */
static int replaced_by_rename(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT;
	return S_ISREG(st.st_mode) && st.st_nlink == 1;
}

/* Makes the new file that is renamed onto rf->path when the import lands, now, so that
 * a directory we cannot write is found out before the import, not after it landed.
 * Nothing to make for a path that is written into. Returns FU_OK or FU_FAIL (reported). */
static int rejects_prepare(struct rejects_file *rf)
{
	rf->fd = -1;
	if (!replaced_by_rename(rf->path))
		return FU_OK;
	rf->tmp = xasprintf("%s.XXXXXX.tmp", rf->path);
	rf->fd = mkstemps(rf->tmp, 4);          /* 0600: a new rejects file stays so */
	if (rf->fd < 0) {
		error("cannot write '%s': %s", rf->path, strerror(errno));
		free(rf->tmp);
		rf->tmp = NULL;
		return FU_FAIL;
	}
	return FU_OK;
}

static void rejects_file_release(struct rejects_file *rf)
{
	if (rf->fd >= 0)
		close(rf->fd);
	if (rf->tmp)
		unlink(rf->tmp);
	if (rf->rows)
		fclose(rf->rows);
	free(rf->tmp);
	free(rf->header);
	free(rf->path);
}

static struct rejects_file *rejects_add(struct import *im, char *path)
{
	struct rejects_file *rf;

	im->rejects = xrealloc(im->rejects, (im->nrejects + 1) * sizeof(*im->rejects));
	rf = &im->rejects[im->nrejects++];
	*rf = (struct rejects_file){ .path = path, .fd = -1 };
	return rf;
}

/* A rejects file may be neither an input nor a directory: found out before the import. */
static int rejects_path_usable(const struct import *im, const char *path)
{
	for (int i = 0; i < im->ninputs; i++)
		if (same_file(path, im->inputs[i]))
			return usage_error("import", "--rejects '%s' is one of the files to import",
					   path);
	if (is_directory(path))
		return usage_error("import", "--rejects '%s' is a directory", path);
	return FU_OK;
}

/* "rejects.csv" for the file numbered n: "rejects-2.csv" ("rejects-2" without a dot). */
static char *numbered_path(const char *path, int n)
{
	const char *base = strrchr(path, '/'), *dot;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	if (!dot || dot == base)
		return xasprintf("%s-%d", path, n);
	return xasprintf("%.*s-%d%s", (int)(dot - path), path, n, dot);
}

/* Whether path is one of the inputs, or a rejects file of this import already. */
static int path_taken(const struct import *im, const char *path)
{
	for (int i = 0; i < im->ninputs; i++)
		if (same_file(path, im->inputs[i]) || !strcmp(path, im->inputs[i]))
			return 1;
	for (size_t i = 0; i < im->nrejects; i++)
		if (!strcmp(path, im->rejects[i].path))
			return 1;
	return 0;
}

/* "rejects-N.csv" for the file being read, N its position, or the next number free. */
static char *free_numbered_path(const struct import *im)
{
	char *path = NULL;

	for (int n = im->ordinal; !path || path_taken(im, path); n++) {
		free(path);
		path = numbered_path(im->opt->rejects_path, n);
	}
	return path;
}

/* The rejects file of a file that has rejected a row: the one whose header it has (the
 * same raw header and delimiter), else --rejects while it has none, else a new one named
 * after the file's ordinal, so that every rejects file has one header and imports again.
 * A fifo or a device cannot be split: into it go all, each under its header. NULL
 * (reported) when it cannot be made. */
static struct rejects_file *rejects_for(struct import *im, const char *file,
					const struct csv_reader *csv)
{
	struct strbuf header = STRBUF_INIT;
	const char *raw = csv_header_raw(csv);
	struct rejects_file *rf = NULL;
	char *path;

	csv_add_raw_as_utf8(&header, raw, strlen(raw));
	if (im->reason_column >= 0)     /* a rejects file read back: its reason comes again */
		strbuf_setlen(&header, raw_fields_length(header.buf, header.len,
							 csv_delimiter(csv),
							 (size_t)im->reason_column));
	for (size_t i = 0; i < im->nrejects && !rf; i++)
		if (im->rejects[i].header && im->rejects[i].delimiter == csv_delimiter(csv) &&
		    !strcmp(im->rejects[i].header, header.buf))
			rf = &im->rejects[i];
	if (!rf && !im->rejects[0].header) {
		rf = &im->rejects[0];
	} else if (!rf && im->rejects_stream) {
		rf = rejects_add(im, xstrdup(im->opt->rejects_path));
	} else if (!rf) {
		path = free_numbered_path(im);
		if (rejects_path_usable(im, path)) {
			free(path);
			goto fail;
		}
		if (rejects_prepare(rf = rejects_add(im, path)))
			goto fail;
		warning("%s: its header is not that of '%s': its rejected rows go to '%s'", file,
			im->rejects[0].path, path);
	}
	if (!rf->header) {
		rf->header = strbuf_detach(&header);
		rf->delimiter = csv_delimiter(csv);
		if (!(rf->rows = rows_file()))
			goto fail;
	}
	rf->bom |= csv_had_bom(csv);
	rf->sep_line |= csv_had_sep_line(csv);
	strbuf_release(&header);
	return rf;
fail:
	strbuf_release(&header);
	return NULL;
}

/* Whether path is what fd is open on (/dev/stdout, /proc/self/fd/0, a file redirected). */
static int is_open_as(const char *path, int fd)
{
	struct stat st, open_st;

	return !stat(path, &st) && !fstat(fd, &open_st) && same_inode(&st, &open_st);
}

/* Checks --rejects and makes its new file, before the import. */
static int rejects_open(struct import *im, char **files, int nfiles)
{
	const char *path = im->opt->rejects_path;
	int status;

	im->inputs = files;
	im->ninputs = nfiles;
	if (!path)
		return FU_OK;
	/* stdout carries the summary (and --json's): rejected rows there would mix in. */
	if (!strcmp(path, "-") || is_open_as(path, STDOUT_FILENO))
		return usage_error("import", "--rejects %s would mix the rows into the summary on"
				   " stdout: name a file (or /dev/stderr)", path);
	/* stdin may be the badge file itself ("import - < leads.csv"). */
	if (is_open_as(path, STDIN_FILENO))
		return usage_error("import", "--rejects %s is where the import reads from", path);
	if ((status = rejects_path_usable(im, path)))
		return status;
	/* What is written into (a device, a fifo, a link) takes every group, each under its
	 * header: no numbered file is made beside it (not "/dev/stderr-2"). */
	im->rejects_stream = !replaced_by_rename(path);
	return rejects_prepare(rejects_add(im, xstrdup(path)));
}

/* Writes the rejects file's content, as its inputs began: a BOM, a sep= line (only
 * first in a stream), the header with a reason column, the rows. Empty when no row was
 * rejected: an earlier run's rows are not this one's. Returns 0, or -1 with errno. */
static int write_rejects(FILE *out, struct rejects_file *rf, int first)
{
	char buf[65536];
	size_t n;

	if (!rf->header)
		return 0;
	if (first && rf->bom)
		fputs("\xEF\xBB\xBF", out);
	if (first && rf->sep_line)
		fprintf(out, "sep=%c\n", rf->delimiter);
	fprintf(out, "%s%c" REJECTS_REASON "\n", rf->header, rf->delimiter);
	if (fflush(rf->rows) || fseek(rf->rows, 0, SEEK_SET))
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), rf->rows)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			return -1;
	return ferror(rf->rows) || ferror(out) ? -1 : 0;
}

/* As root, an existing rejects file stays its owner's (a rename would give it to root);
 * anyone else cannot give files away, and rewrites a file that is theirs. */
static int keep_owner(int fd, const struct stat *st)
{
	if (geteuid() != 0 || (st->st_uid == geteuid() && st->st_gid == getegid()))
		return 0;
	return fchown(fd, st->st_uid, st->st_gid);
}

/* Renames the new file onto a regular file, which keeps its mode and owner, or onto
 * nothing: the new file is 0600 (mkstemps), as its rows hold personal data. Returns 0,
 * or -1 with errno. */
static int rejects_replace(struct rejects_file *rf)
{
	struct stat st;
	FILE *out;
	int ret = 0;

	if (!lstat(rf->path, &st))
		ret = keep_owner(rf->fd, &st) || fchmod(rf->fd, st.st_mode & 07777);
	if (ret || !(out = fdopen(rf->fd, "w")))
		return -1;
	rf->fd = -1;                            /* out has it now */
	ret = write_rejects(out, rf, 1);
	ret |= fclose(out);
	if (ret || rename(rf->tmp, rf->path))
		return -1;
	free(rf->tmp);
	rf->tmp = NULL;
	return 0;
}

/* Writes into what --rejects names (following a symlink): a fifo, a device, a file of
 * several names. stderr is written where it is, not truncated, so that `--rejects
 * /dev/stderr 2>>log` appends. */
static int rejects_write_into(struct import *im, size_t from, size_t to)
{
	int fd, ret = 0;
	FILE *out;

	if (is_open_as(im->rejects[from].path, STDERR_FILENO))
		fd = dup(STDERR_FILENO);
	else
		fd = open(im->rejects[from].path, O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (!(out = fdopen(fd, "w"))) {
		close(fd);
		return -1;
	}
	for (size_t i = from; i < to && !ret; i++)
		ret = write_rejects(out, &im->rejects[i], i == from);
	ret |= fclose(out);
	return ret ? -1 : 0;
}

/* Writes the rejects files when the import landed (keep), else leaves what was there
 * alone; frees them either way. */
static int rejects_close(struct import *im, int keep)
{
	const struct rejects_file *failed = NULL;

	if (keep && im->rejects_stream && rejects_write_into(im, 0, im->nrejects))
		failed = &im->rejects[0];
	for (size_t i = 0; keep && !im->rejects_stream && !failed && i < im->nrejects; i++) {
		struct rejects_file *rf = &im->rejects[i];
		if (rf->fd >= 0 ? rejects_replace(rf) : rejects_write_into(im, i, i + 1))
			failed = rf;
	}
	if (failed)
		error("cannot write '%s': %s", failed->path, strerror(errno));
	for (size_t i = 0; i < im->nrejects; i++)
		rejects_file_release(&im->rejects[i]);
	free(im->rejects);
	im->rejects = NULL;
	im->nrejects = 0;
	return failed ? FU_FAIL : FU_OK;
}

/* --- the command ------------------------------------------------------------------------ */

static void print_summary(const struct import *im)
{
	const struct import_counts *c = &im->counts;

	if (im->opt->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "rows", (double)c->rows);
		cJSON_AddNumberToObject(o, "imported", (double)c->imported);
		cJSON_AddNumberToObject(o, "updated", (double)c->updated);
		cJSON_AddNumberToObject(o, "duplicates", (double)c->duplicates);
		cJSON_AddNumberToObject(o, "rejected", (double)c->rejected);
		cJSON_AddNumberToObject(o, "suppressed", (double)c->suppressed);
		cJSON_AddNumberToObject(o, "enrolled", (double)c->enrolled);
		json_print(o);
		return;
	}
	if (im->cli->quiet)
		return;
	printf("%s%ld row%s: %ld imported, %ld updated, %ld duplicates, %ld rejected;"
	       " %ld enrolled, %ld suppressed\n", im->opt->dry_run ? "dry run: " : "",
	       c->rows, c->rows == 1 ? "" : "s", c->imported, c->updated, c->duplicates,
	       c->rejected, c->enrolled, c->suppressed);
}

static int resolve_sequence(struct import *im)
{
	const char *name;

	if (im->opt->no_enroll)
		return FU_OK;
	name = im->opt->sequence ? im->opt->sequence : im->cli->config.default_sequence;
	im->sequence = sequence_set_find(im->cli->sequences, name);
	if (!im->sequence)
		return cli_sequence_error(im->cli, name);
	return FU_OK;
}

int cmd_import(int argc, char **argv, struct cli *cli)
{
	struct import_options opt = { 0 };
	struct import im = { 0 };
	struct sigaction interrupted_before[ARRAY_SIZE(interrupts)];
	int first = 0, status, changed = 0;

	status = parse_options(argc, argv, &opt, &first);
	if (status)
		goto out_options;
	im.cli = cli;
	im.opt = &opt;
	im.engine = (struct engine){ cli->store, cli->sequences, &cli->config, cli->now };
	im.show_progress = isatty(STDERR_FILENO) && !cli->quiet;
	if ((status = resolve_sequence(&im)))
		goto out_options;
	progress_shown = im.show_progress;
	catch_interrupts(interrupted_before);
	if ((status = rejects_open(&im, argv + first, argc - first)))
		goto out;
	im.any_suppressions = store_has_suppressions(cli->store);
	/* A pipe is read to its end before the transaction takes the write lock: an
	 * `import -` waiting on a slow producer, or on a terminal, must not stop a send. */
	for (int i = first; i < argc; i++)
		if (!strcmp(argv[i], "-")) {
			if (rewindable_stdin(&im.stdin_start)) {
				status = FU_FAIL;
				goto out;
			}
			break;  /* once: a second `-` reads the same copy */
		}
	if (copy_named_pipes(&im)) {
		status = FU_FAIL;
		goto out;
	}
	find_map_columns(&im);
	/* The tick runs inside the import's transaction, so that a dry run or a failed
	 * import leaves the store exactly as it was; it runs again at the end, so that
	 * touches of old scans that are already past their close time are closed now,
	 * and importing the same file again finds nothing left to do. */
	if (store_begin(cli->store) || engine_tick(&im.engine)) {
		status = FU_FAIL;
		store_rollback(cli->store);
		goto out;
	}
	for (int i = first; i < argc && status == FU_OK; i++) {
		im.ordinal = i - first + 1;
		status = import_file(&im, argv[i], &changed);
	}
	if (!status && engine_tick(&im.engine))
		status = FU_FAIL;
	restore_interrupts(interrupted_before);      /* from here on it may have landed */
	if (status || opt.dry_run)
		store_rollback(cli->store);
	else if (store_commit(cli->store))
		status = FU_FAIL;
	if (!status)
		print_summary(&im);
	if (!status && im.rows_owner_kept)
		warning("%ld row%s would give a known lead another owner; it keeps its own (%s)",
			im.rows_owner_kept, im.rows_owner_kept == 1 ? "" : "s", im.owner_kept);
	if (!status && im.rows_owner_unknown)
		warning("%ld row%s ha%s an owner the config does not know (%s): stored as"
			" written, emailed from the default sender", im.rows_owner_unknown,
			im.rows_owner_unknown == 1 ? "" : "s",
			im.rows_owner_unknown == 1 ? "s" : "ve", im.owner_unknown);
out:
	restore_interrupts(interrupted_before);
	free(im.owner_kept);
	free(im.owner_unknown);
	free(im.map_found);
	close_copies(&im);
	if (rejects_close(&im, status == FU_OK && !opt.dry_run) && !status)
		status = FU_FAIL;
out_options:
	free(opt.maps);
	return status < 0 ? FU_OK : status;
}
