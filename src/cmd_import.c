/*
 * cmd_import.c - `followup import`: badge-scan CSV files into leads, in one transaction.
 *
 * The command's flow: its options, then each file (import_file), then each row of it
 * (import_row: the row read as a lead, merged into the store, enrolled). What it leans
 * on has a module of its own: the files read ahead and again (import_inputs.h), their
 * header (import_header.h), the rejected rows kept to import again (import_rejects.h)
 * and what is said of the rows, capped by kind (import_notices.h).
 */
#include "followup/cli.h"
#include "followup/csv.h"
#include "followup/engine.h"
#include "followup/fields.h"
#include "followup/import_header.h"
#include "followup/import_inputs.h"
#include "followup/import_notices.h"
#include "followup/import_rejects.h"
#include "followup/names.h"
#include "followup/timeutil.h"
#include "followup/util.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

struct import_counts {
	long rows, imported, updated, duplicates, rejected, suppressed, enrolled;
};

struct import {
	struct cli *cli;
	struct engine engine;
	const struct import_options *opt;
	const struct sequence *sequence;   /* NULL with --no-enroll */
	struct import_counts counts;
	struct import_inputs *inputs;      /* the files to import */
	int ordinal;                       /* the one being read, from 1 */
	struct import_rejects *rejects;    /* NULL without --rejects */
	struct notices notices;            /* of the file being read */
	/* A rejects file read back: its reason column (-1: none), dropped from every row,
	 * and written again in place, not after it, when a row is rejected again. */
	int reason_column;
	int show_progress;
	int any_suppressions;   /* whether the store has opted-out addresses at all */
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

/* Counts a rejected row and reports it. Returns 0, or -1 (reported) when it cannot be
 * kept in the rejects file. */
static int reject_row(struct import *im, const char *file, const struct csv_reader *csv,
		      struct csv_record *rec, const char *reason)
{
	im->counts.rejected++;
	if (notice_rejected(&im->notices, rec->line, reason) && !im->cli->quiet)
		error("%s:%ld: rejected: %s", file, rec->line, reason);
	return rejects_keep(im->rejects, file, csv, rec, reason);
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
		if (notice(&im->notices, NOTICE_SCAN_UNREADABLE))
			warning("%s:%ld: cannot read the scan time '%s': using the import time", file, line,
			when);
		at = im->cli->now;
	} else if (at > im->cli->now + SCAN_SLACK) {
		/* Nobody is scanned tomorrow: a day/month mix-up or a typo would start the
		 * sequence months from now, with nobody noticing. */
		if (notice(&im->notices, NOTICE_SCAN_AHEAD))
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
 * (named however the file spells it: see config_find_owner), any other owner as written.
 * *known says whether the config knows it (the config is loaded: the store needs it). */
static char *owner_of_row(struct import *im, const struct header_map *map,
			  struct csv_record *rec, int *known)
{
	const char *owner = header_map_value(map, rec, FIELD_OWNER);
	const struct owner *rep;

	*known = 0;
	if (name_blank(owner))
		owner = im->opt->owner;
	if (name_blank(owner))
		return NULL;
	rep = config_find_owner(&im->cli->config, owner);
	*known = rep != NULL;
	return xstrdup(rep ? rep->key : owner);
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
	if (notice(&im->notices, NOTICE_STATUS))
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
			if (answer < 0 && notice(&im->notices, columns[c].unclear))
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

/* What a row says beyond the lead it fills. */
struct row_facts {
	int scanned;            /* the contact time is the row's scan time, not the import's */
	int owner_known;        /* the owner is one of the config's reps */
};

/* Fills a lead, and *facts, from a row. Returns 0, or 1 with *reason set when the row is
 * rejected. */
static int lead_from_row(struct import *im, const char *file, const struct header_map *map,
			 struct csv_record *rec, enum date_order order, const char *zone,
			 struct lead *l, struct row_facts *facts, const char **reason)
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
	email_from_cell(l->email);
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
		if (!known && notice(&im->notices, NOTICE_ZONE))
			warning("%s:%ld: unknown time zone '%s': ignored", file, rec->line,
				l->timezone);
		free(l->timezone);
		l->timezone = known;
	}
	l->notes = value_or_null(map, rec, FIELD_NOTES);
	l->rating = value_or_null(map, rec, FIELD_RATING);
	l->owner = owner_of_row(im, map, rec, &facts->owner_known);
	l->event = im->opt->event ? xstrdup(im->opt->event) : value_or_null(map, rec, FIELD_EVENT);
	l->badge_id = value_or_null(map, rec, FIELD_BADGE_ID);
	l->extra = header_map_extra_json(map, rec);
	/* --event wins, but the row's own event, if another, is not lost. */
	if (im->opt->event && header_map_column(map, FIELD_EVENT) >= 0) {
		const char *own = header_map_value(map, rec, FIELD_EVENT);
		if (strcmp(im->opt->event, own))
			keep_as_extra(&l->extra, header_map_header(map, FIELD_EVENT), own);
	}
	l->contact_at = contact_time(im, file, rec->line, map, rec, order, zone,
				     &facts->scanned);
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
 * no owners: in the config, owners are free-form and nothing is said. known is
 * owner_of_row's; lead_owner is the owner the lead has now: a known lead that keeps
 * another is note_owner_kept's. */
static void note_owner_unknown(struct import *im, const char *row_owner, int known,
			       const char *lead_owner)
{
	if (!im->cli->config.nowners || known || !name_same(row_owner, lead_owner))
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

static int enrol_known_lead(struct import *im, const struct lead *row,
			    const struct row_facts *facts, int64_t lead_id,
			    enum merge_result result, int earlier)
{
	struct store *store = im->cli->store;
	struct lead stored;
	struct enrolment en;
	int ret = 0, join;

	if (store_lead_get(store, lead_id, &stored) != 1)
		return -1;
	note_owner_kept(im, &stored, row);
	note_owner_unknown(im, row->owner, facts->owner_known, stored.owner);
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
		join = is_new_contact(im, &stored, row, facts->scanned);
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
	struct row_facts facts = { 0, 0 };
	int row_changed = 0, earlier = 0, ret = 0;

	im->counts.rows++;
	/* A rejects file read back: its reason is no value of the lead. */
	if (im->reason_column >= 0 && (size_t)im->reason_column < rec->count)
		rec->fields[im->reason_column][0] = '\0';
	if (lead_from_row(im, file, map, rec, order, zone, &l, &facts, &reason)) {
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
		note_owner_unknown(im, l.owner, facts.owner_known, l.owner);
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
					  : enrol_known_lead(im, &l, &facts, lead_id, result,
							     earlier);
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
	if (last > columns && notice(&im->notices, NOTICE_EXTRA_FIELDS))
		warning("%s:%ld: %zu fields, the header has %zu: the last %zu ignored", file,
			rec->line, last, columns, last - columns);
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

/* Imports the file being read (im->ordinal), named file, as one import of the store. */
static int import_file(struct import *im, const char *file, int *changed)
{
	struct store *store = im->cli->store;
	struct csv_reader *csv = NULL;
	struct header_map *map = NULL;
	struct header_cells *header = NULL;
	struct csv_record rec = CSV_RECORD_INIT;
	/* Scan times are the event's clock: --timezone, else the config's, never the TZ of
	 * whoever runs the import (which only says how to show times). */
	const char *zone = im->opt->timezone ? im->opt->timezone
		: !str_empty(im->cli->config.timezone) ? im->cli->config.timezone
		: cli_zone(im->cli);
	enum date_order order = im->opt->date_order;
	char *err = NULL;
	int64_t import_id;
	int input = im->ordinal - 1, file_changed = 0, rc, status = FU_FAIL, title_lines;
	long first_converted;
	size_t columns;
	const char **maps = xcalloc(im->opt->nmaps ? im->opt->nmaps : 1, sizeof(*maps));
	size_t nmaps = import_inputs_maps(im->inputs, input, maps);   /* this file's */

	if (order == DATE_ORDER_AUTO)
		order = import_inputs_date_order(im->inputs, input, maps, nmaps);
	im->notices = (struct notices){ 0 };
	if ((rc = import_inputs_csv(im->inputs, input, &csv, &err))) {
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
	if (import_header_read(csv, &rec, maps, nmaps, &map, &err, &title_lines)) {
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
	columns = rec.count;
	im->reason_column = rejects_reason_column(&rec);
	rejects_start_file(im->rejects, im->ordinal, columns, im->reason_column);
	header = header_cells_new(&rec);
	while ((rc = csv_read(csv, &rec, &err)) == 1) {
		/* Two exports joined: the second's header is no row (not one to reject). */
		if (header_cells_again(header, &rec))
			continue;
		warn_extra_fields(im, file, &rec, columns);
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
		rejects_file_converted(im->rejects);
	}
	notices_report(&im->notices, file, im->cli->quiet, im->opt->dry_run,
		       rejects_kept_in(im->rejects));
	if (store_import_finish(store, import_id, file_changed))
		goto out;
	*changed |= file_changed;
	status = FU_OK;
out:
	free(err);
	header_cells_free(header);
	free(maps);
	header_map_free(map);
	csv_record_release(&rec);
	csv_close(csv);
	return status;
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

/* After the summary: the rows whose owner a known lead did not take (note_owner_kept)
 * and those whose owner the config does not know (note_owner_unknown), a line each,
 * naming the first. */
static void report_owner_notes(const struct import *im)
{
	if (im->rows_owner_kept)
		warning("%ld row%s would give a known lead another owner; it keeps its own (%s)",
			im->rows_owner_kept, im->rows_owner_kept == 1 ? "" : "s", im->owner_kept);
	if (im->rows_owner_unknown)
		warning("%ld row%s ha%s an owner the config does not know (%s): stored as"
			" written, emailed from the default sender", im->rows_owner_unknown,
			im->rows_owner_unknown == 1 ? "" : "s",
			im->rows_owner_unknown == 1 ? "s" : "ve", im->owner_unknown);
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
	if ((status = rejects_open(&im.rejects, opt.rejects_path, argv + first, argc - first)))
		goto out;
	im.any_suppressions = store_has_suppressions(cli->store);
	/* A pipe is read to its end before the transaction takes the write lock: an
	 * `import -` waiting on a slow producer, or on a terminal, must not stop a send. */
	if ((status = import_inputs_open(&im.inputs, argv + first, argc - first, opt.maps,
					 opt.nmaps)))
		goto out;
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
	if (!status) {
		print_summary(&im);
		report_owner_notes(&im);
	}
out:
	restore_interrupts(interrupted_before);
	free(im.owner_kept);
	free(im.owner_unknown);
	import_inputs_close(im.inputs);
	if (rejects_close(im.rejects, status == FU_OK && !opt.dry_run) && !status)
		status = FU_FAIL;
out_options:
	free(opt.maps);
	return status < 0 ? FU_OK : status;
}
