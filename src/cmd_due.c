/*
 * cmd_due.c - `followup due`: what is due for whom, overdue first.
 */
#include "followup/cli.h"
#include "followup/compose.h"
#include "followup/due_json.h"
#include "followup/engine.h"
#include "followup/names.h"
#include "followup/timeutil.h"
#include "followup/util.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char usage[] =
	"usage: followup due [--owner NAME] [--channel email|call|linkedin|task] [--until TIME]\n"
	"                    [--json | --ics]\n\n"
	"Lists the touches due now (or by TIME), overdue first, then by due time, with the\n"
	"call or task text ready to act on. Email touches go out with 'followup send'.\n\n"
	"  --owner NAME     only this rep's leads\n"
	"  --channel C      only this channel\n"
	"  --until TIME     look ahead, e.g. +7d, or to the end of a day: tomorrow, 2026-03-09\n"
	"  --json           an array of objects (see the README for the keys)\n"
	"  --ics            the calls and tasks as an iCalendar file (one VTODO each)\n\n"
	"Without --until, what falls due later today follows, not yet counted as due (not\n"
	"with --json or --ics). With --until past today, a forecast follows: touches per\n"
	"day, emails on the day the per-sender daily limit lets them go.\n\n"
	"example: followup due --owner dana --until +7d\n";

struct due_run {
	struct cli *cli;
	struct due_filter filter;
	struct owner_names owner;  /* with --owner: the rep, under every name it may have */
	const char *zone;
	time_t today;           /* local midnight: due before it is overdue */
	time_t due_by;          /* touches due later are listed apart ("later today") */
	int json;
	struct due_json *json_out;
	int group;              /* the group printed last: NO_GROUP, OVERDUE, TODAY... */
	long count, overdue, held, emails, in_doubt;
	long later;             /* listed as due later today */
	int ics;
	struct strbuf calendar;
	struct planned *planned;        /* for the forecast */
	size_t nplanned, planned_alloc;
};

/* A touch as the forecast sees it: when, which channel, from which sender, and when
 * its sequence lets an email go out. */
struct planned {
	time_t due_at;
	int email;
	const char *sender;     /* the config's string, which lives as long as the run */
	int shown;      /* in the listing; others only use up their sender's daily limit */
	int64_t touch;  /* the pending touch it comes from: send's order among equal times */
	const struct sequence *seq;     /* its business days; NULL: any day */
};

static char *full_name(const struct lead *l)
{
	char *name = lead_name(l);
	return name ? name : xstrdup(l->email);
}

static void add_json(struct due_run *r, const struct due_item *d, const struct composed *c,
		     int overdue)
{
	struct due_row row = {
		.touch_id = d->touch.id, .lead_id = d->lead.id, .due_at = d->touch.due_at,
		.overdue = overdue, .email = d->lead.email, .first_name = d->lead.first_name,
		.last_name = d->lead.last_name, .company = d->lead.company,
		.sequence = d->enrolment.sequence, .step = d->touch.step,
		.channel = d->touch.channel, .owner = d->lead.owner, .state = d->touch.state,
		.text = c->text, .held = c->held,
	};
	due_json_add(r->json_out, &row);
}

/* Local days from today to t's day: 0 today, 1 tomorrow. A local day lasts 23 or 25
 * hours across a DST change, so the distance between two midnights is rounded to whole
 * days: divided as it is, every day after the spring change would read one day early. */
static int days_from_today(const struct due_run *r, time_t t)
{
	time_t between = local_midnight(t, r->zone) - r->today;

	return (int)((between + (between < 0 ? -43200 : 43200)) / 86400);
}

/* The listing's groups: overdue, due today, and from then on one per day; touches
 * not due yet on the day the listing ends (without --until) have a group of their own. */
enum { NO_GROUP = -2, LATER_TODAY = -1, OVERDUE = 0, TODAY = 1 };

static int day_group(const struct due_run *r, time_t due, int overdue)
{
	if (overdue)
		return OVERDUE;
	if (due > r->due_by)
		return LATER_TODAY;
	return TODAY + days_from_today(r, due);
}

static void print_group_header(struct due_run *r, const struct due_item *d, int group)
{
	char day[32];

	if (group == r->group)
		return;
	if (r->group != NO_GROUP)
		putchar('\n');
	r->group = group;
	if (group == OVERDUE || group == LATER_TODAY) {
		printf("%s%s%s\n", r->cli->color ? group == OVERDUE ? "\033[1;31m" : "\033[1m" : "",
		       group == OVERDUE ? "Overdue" : "Later today (not due yet)",
		       r->cli->color ? "\033[0m" : "");
		return;
	}
	time_format_day(d->touch.due_at, r->zone, day, sizeof(day));
	printf("%s%s%s%s\n", r->cli->color ? "\033[1m" : "", group == TODAY ? "Today, " : "",
	       day, r->cli->color ? "\033[0m" : "");
}

/* A task text on one indented line (line breaks, from booth notes, become " / "), and
 * not a whole booth note of a megabyte: the listing is read on a terminal; `show` and
 * --json have all of it. */
#define TEXT_SHOWN_CHARS 400

static void print_one_line(const char *text)
{
	size_t shown = utf8_prefix_bytes(text, TEXT_SHOWN_CHARS);

	fputs("          ", stdout);
	if (!text[shown]) {
		fputs_one_line(text, stdout);
	} else {
		char *start = xstrndup(text, shown);
		fputs_one_line(start, stdout);
		fputs("\xe2\x80\xa6 (see 'followup show')", stdout);
		free(start);
	}
	putchar('\n');
}

static void print_line(struct due_run *r, const struct due_item *d, const struct composed *c,
		       int overdue)
{
	char when[32];
	char *name = full_name(&d->lead);
	const char *what = c->text ? c->text : "";

	time_format_local(d->touch.due_at, r->zone, when, sizeof(when));
	print_group_header(r, d, day_group(r, d->touch.due_at, overdue));
	printf("  #%-6lld %s  %-8s ", (long long)d->touch.id, when + (overdue ? 0 : 11),
	       d->touch.channel);
	fputs_one_line(name, stdout);
	if (!str_empty(d->lead.company)) {
		fputs(" (", stdout);
		fputs_one_line(d->lead.company, stdout);
		putchar(')');
	}
	printf("  [%s/%s]\n", d->enrolment.sequence, d->touch.step);
	if (!strcmp(d->touch.state, "in_doubt"))
		printf("          IN DOUBT: may have been sent; settle with 'followup resolve %lld"
		       " sent|retry'\n", (long long)d->touch.id);
	else if (c->held)
		printf("          HELD: %s\n", c->held);
	else if (*what)
		print_one_line(what);
	free(name);
}

/* --- iCalendar (RFC 5545) ------------------------------------------------------------------- */

/* A TEXT value: backslash, comma, semicolon and newlines escaped, the other control
 * characters (which RFC 5545 does not allow, and a store may hold) left out. */
static void ics_text(struct strbuf *out, const char *s)
{
	while (s && *s) {
		size_t control = *s == '\n' || *s == '\t' ? 0 : control_char_bytes(s);

		if (control) {
			s += control;
			continue;
		}
		if (*s == '\\' || *s == ',' || *s == ';')
			strbuf_addch(out, '\\');
		if (*s == '\n')
			strbuf_addstr(out, "\\n");
		else
			strbuf_addch(out, *s);
		s++;
	}
}

/* Appends one content line, folded at 75 octets (never inside a UTF-8 character). */
static void ics_line(struct strbuf *cal, const char *line)
{
	size_t len = strlen(line), col = 0;

	for (size_t i = 0; i < len; i++) {
		size_t clen = 1;
		while (i + clen < len && ((unsigned char)line[i + clen] & 0xC0) == 0x80)
			clen++;
		if (col + clen > 75) {
			strbuf_addstr(cal, "\r\n ");
			col = 1;
		}
		strbuf_add(cal, line + i, clen);
		col += clen;
		i += clen - 1;
	}
	strbuf_addstr(cal, "\r\n");
}

static void ics_stamp(char buf[17], time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static void add_vtodo(struct due_run *r, const struct due_item *d, const struct composed *c)
{
	struct strbuf line = STRBUF_INIT;
	char *name = full_name(&d->lead), stamp[17], due[17];

	if (!strcmp(d->touch.channel, "email"))
		goto out;       /* emails go out with send; the calendar is for people */
	ics_stamp(stamp, r->cli->now);
	ics_stamp(due, d->touch.due_at);
	ics_line(&r->calendar, "BEGIN:VTODO");
	strbuf_addf(&line, "UID:touch-%lld@followup", (long long)d->touch.id);
	ics_line(&r->calendar, line.buf);
	strbuf_reset(&line);
	strbuf_addf(&line, "DTSTAMP:%s", stamp);
	ics_line(&r->calendar, line.buf);
	strbuf_reset(&line);
	strbuf_addf(&line, "DUE:%s", due);
	ics_line(&r->calendar, line.buf);
	strbuf_reset(&line);
	strbuf_addf(&line, "SUMMARY:%s: ", d->touch.channel);
	ics_text(&line, name);
	if (!str_empty(d->lead.company)) {
		strbuf_addstr(&line, " (");
		ics_text(&line, d->lead.company);
		strbuf_addch(&line, ')');
	}
	ics_line(&r->calendar, line.buf);
	strbuf_reset(&line);
	strbuf_addstr(&line, "DESCRIPTION:");
	ics_text(&line, c->held ? c->held : c->text);
	ics_line(&r->calendar, line.buf);
	ics_line(&r->calendar, "STATUS:NEEDS-ACTION");
	ics_line(&r->calendar, "END:VTODO");
out:
	strbuf_release(&line);
	free(name);
}

static void print_calendar(struct due_run *r)
{
	fputs("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//followup//followup " FOLLOWUP_VERSION
	      "//EN\r\nCALSCALE:GREGORIAN\r\nX-WR-CALNAME:followup\r\n", stdout);
	fwrite(r->calendar.buf, 1, r->calendar.len, stdout);
	fputs("END:VCALENDAR\r\n", stdout);
}

/* --- the forecast ------------------------------------------------------------------------------ */

static void plan_one(struct due_run *r, const struct due_item *d, time_t due_at, int email,
		     const char *sender, int shown, const struct sequence *seq)
{
	struct planned *p;

	if (r->nplanned == r->planned_alloc) {
		r->planned_alloc = r->planned_alloc ? 2 * r->planned_alloc : 256;
		r->planned = xrealloc(r->planned, r->planned_alloc * sizeof(*r->planned));
	}
	p = &r->planned[r->nplanned++];
	p->due_at = due_at;
	p->email = email;
	p->sender = sender ? sender : "";
	p->shown = shown;
	p->touch = d->touch.id;
	p->seq = seq;
}

static int channel_listed(const struct due_run *r, const char *channel)
{
	return !r->filter.channel || !strcmp(channel, r->filter.channel);
}

/* The touch, and the steps after it that fall due by --until, as if each were made
 * when due: the load a big event will put on each rep in the coming days. Each counts
 * in the forecast when its channel is the one listed and the lead is the rep's (of_rep:
 * the --owner filter takes it). */
static void plan(struct due_run *r, const struct due_item *d, const struct composed *c,
		 int of_rep)
{
	struct engine e = { r->cli->store, r->cli->sequences, &r->cli->config, r->cli->now };
	const struct sequence *seq = c->sequence;
	const char *zone = seq ? engine_zone(&e, &d->lead, seq) : NULL;
	int email = !strcmp(d->touch.channel, "email");
	/* An overdue touch is made today, and min_gap counts from then: an email when send
	 * lets it go, as its window next opens (on a Sunday evening: Monday morning); a
	 * call or task now, the rep's to make. */
	time_t last = d->touch.due_at >= r->cli->now ? d->touch.due_at : !email ? r->cli->now :
		cadence_place(r->cli->now, seq ? &seq->window : NULL, seq && seq->business_days,
			      zone);

	plan_one(r, d, last, email, c->from_email,
		 of_rep && channel_listed(r, d->touch.channel), seq);
	if (!seq || !c->step || strcmp(d->touch.state, "pending"))
		return;
	for (size_t i = (size_t)(c->step - seq->steps) + 1; i < seq->nsteps; i++) {
		time_t due = engine_step_due(&e, seq, i, d->enrolment.anchor_at, last, zone);
		enum channel channel = seq->steps[i].channel;

		if (due > r->filter.until)
			break;
		plan_one(r, d, due, channel == CHANNEL_EMAIL, c->from_email,
			 of_rep && channel_listed(r, channel_name(channel)), seq);
		last = due;
	}
}

/* Whether the forecast needs the touches the listing leaves out: those of other reps
 * (or channels) that send as the same address use up the same daily limit. */
static int forecast_needs_others(const struct due_run *r)
{
	return !r->json && !r->ics && (r->filter.owner || r->filter.channel) &&
	       local_midnight(r->filter.until, r->zone) > r->today;
}

/* Whether --owner takes d's lead: the store's filter, in C. */
static int of_listed_rep(const struct due_run *r, const struct due_item *d)
{
	const struct owner_names *o = r->filter.owner;

	return !o || name_same(d->lead.owner, o->key) || name_same(d->lead.owner, o->name) ||
	       name_same(d->lead.owner, o->email);
}

/* The forecast's second pass, over every touch due by --until: the rep's touches of
 * other channels may be followed by steps of the listed one, and everyone's emails use
 * up their sender's daily limit. */
static int plan_others(const struct due_item *d, void *opaque)
{
	struct due_run *r = opaque;
	struct composed c;
	int of_rep = of_listed_rep(r, d);

	if (of_rep && channel_listed(r, d->touch.channel))
		return 0;       /* planned by list_one already */
	if (compose_listing(r->cli->store, &r->cli->config, r->cli->sequences, d, &c))
		return -1;
	plan(r, d, &c, of_rep);
	composed_release(&c);
	return 0;
}

static int by_sender_then_time(const void *a, const void *b)
{
	const struct planned *x = a, *y = b;
	int c = strcasecmp(x->sender, y->sender);   /* one mailbox, however spelt */

	if (c)
		return c;
	if (x->due_at != y->due_at)
		return x->due_at < y->due_at ? -1 : 1;
	return x->touch < y->touch ? -1 : x->touch > y->touch;
}

/* The first day, from `day` on, on which send lets p's email go: in a business-days
 * sequence not a weekend. Its time is in a window already (plan() placed an overdue
 * one in the next): only a day the limit moved it to needs the check. */
static int first_sending_day(const struct planned *p, int day, int days, const char *weekend)
{
	while (p->seq && p->seq->business_days && day < days && weekend[day])
		day++;
	return day;
}

/* The forecast's Saturdays and Sundays, in the zone it is shown in. */
static void mark_weekends(const struct due_run *r, int days, char *weekend)
{
	for (int day = 0; day < days; day++) {
		struct tm tm;

		zone_to_local(r->zone, r->today + (time_t)day * 86400 + 43200, &tm);
		weekend[day] = tm.tm_wday == 0 || tm.tm_wday == 6;
	}
}

/* Touches per day from today to --until; an email over its sender's daily limit moves to
 * the first later day with room on which its sequence sends, as send would defer it. */
static void print_forecast(struct due_run *r)
{
	long per_day = r->cli->config.per_day;
	int days = days_from_today(r, r->filter.until) + 1;
	const char *sender = NULL;
	long *emails, *manual, *used;
	char *weekend;

	if (days < 2 || !r->nplanned)
		return;
	if (days > 366)
		days = 366;
	emails = xcalloc((size_t)days * 3, sizeof(*emails));
	manual = emails + days;
	used = manual + days;           /* of the current sender's limit, per day */
	weekend = xmalloc((size_t)days);
	mark_weekends(r, days, weekend);
	qsort(r->planned, r->nplanned, sizeof(*r->planned), by_sender_then_time);
	for (size_t i = 0; i < r->nplanned; i++) {
		const struct planned *p = &r->planned[i];
		int day = days_from_today(r, p->due_at);

		if (day >= days)
			continue;
		if (!p->email) {
			manual[day] += p->shown;
			continue;
		}
		if (!sender || strcasecmp(sender, p->sender)) {
			sender = p->sender;
			memset(used, 0, (size_t)days * sizeof(*used));
			/* What this sender sent in the last 24 hours counts against today, as
			 * send counts it. */
			if (*sender)
				store_sent_since(r->cli->store, sender, r->cli->now - 86400, &used[0]);
		}
		day = first_sending_day(p, day, days, weekend);
		while (day < days && per_day > 0 && used[day] >= per_day)
			day = first_sending_day(p, day + 1, days, weekend);
		if (day < days) {
			used[day]++;
			emails[day] += p->shown;
		}
	}
	if (per_day > 0)
		printf("\nForecast: touches per day, with the steps that follow (emails on the day the\n"
		       "per-sender limit of %ld a day and the sending windows let them go)\n", per_day);
	else
		printf("\nForecast: touches per day, with the steps that follow (emails on the day the\n"
		       "sending windows let them go; no daily limit)\n");
	fputs("                   emails  calls and tasks\n", stdout);
	for (int day = 0; day < days; day++) {
		char label[32];
		/* Noon of that day: an hour of DST either way keeps it inside the day. */
		time_format_day(r->today + day * 86400 + 43200, r->zone, label, sizeof(label));
		printf("  %s  %7ld  %15ld\n", label, emails[day], manual[day]);
	}
	free(weekend);
	free(emails);
}

static void release_plan(struct due_run *r)
{
	free(r->planned);
	strbuf_release(&r->calendar);
}

static int list_one(const struct due_item *d, void *opaque)
{
	struct due_run *r = opaque;
	struct composed c;
	int overdue = d->touch.due_at < r->today;

	if (compose_listing(r->cli->store, &r->cli->config, r->cli->sequences, d, &c))
		return -1;
	if (d->touch.due_at > r->due_by) {
		r->later++;
		print_line(r, d, &c, 0);
		composed_release(&c);
		return 0;
	}
	r->count++;
	r->overdue += overdue;
	r->held += c.held != NULL;
	r->emails += !strcmp(d->touch.channel, "email");
	r->in_doubt += !strcmp(d->touch.state, "in_doubt");
	if (r->ics)
		add_vtodo(r, d, &c);
	else if (r->json)
		add_json(r, d, &c, overdue);
	else
		print_line(r, d, &c, overdue);
	if (!r->json && !r->ics)
		plan(r, d, &c, 1);
	composed_release(&c);
	return 0;
}

static void print_summary(const struct due_run *r)
{
	if (r->count == 0 && r->later) {
		printf("\nNothing due yet; %ld later today.\n", r->later);
		return;
	}
	if (r->count == 0) {
		puts("Nothing due. Well done.");
		return;
	}
	printf("\n%ld due: %ld overdue, %ld email%s (for 'followup send'), %ld %s",
	       r->count, r->overdue, r->emails, r->emails == 1 ? "" : "s", r->count - r->emails,
	       r->count - r->emails == 1 ? "call or task" : "calls and tasks");
	if (r->held)
		printf(", %ld held", r->held);
	if (r->in_doubt)
		printf(", %ld in doubt", r->in_doubt);
	if (r->later)
		printf("; %ld more later today", r->later);
	putchar('\n');
}

int cmd_due(int argc, char **argv, struct cli *cli)
{
	static const struct option options[] = {
		{ "owner", required_argument, NULL, 'o' },
		{ "channel", required_argument, NULL, 'c' },
		{ "until", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ "ics", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct due_run r = { .cli = cli, .group = NO_GROUP, .calendar = STRBUF_INIT };
	int until_given = 0;
	int c, status;

	r.filter.until = cli->now;
	r.filter.with_in_doubt = 1;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (str_empty(optarg))
				return usage_error("due", "--owner needs a name");
			r.owner = cli_owner_names(cli, optarg);
			r.filter.owner = &r.owner;
			break;
		case 'c':
			if (channel_from_name(optarg) < 0)
				return usage_error("due", "unknown channel '%s'", optarg);
			r.filter.channel = optarg;
			break;
		case 'u':
			if ((status = parse_until_option(cli, "--until", optarg, &r.filter.until)))
				return status;
			until_given = 1;
			break;
		case 'j': r.json = 1; break;
		case 'i': r.ics = 1; break;
		case 'h': fputs(usage, stdout); return FU_OK;
		default: return unknown_option(argv);
		}
	}
	if (optind < argc)
		return usage_error("due", "unexpected argument '%s'", argv[optind]);
	if (r.json && r.ics)
		return usage_error("due", "--json and --ics exclude each other");
	if (cli_sequences_dir_missing(cli, "due"))
		return FU_FAIL;         /* not every touch held, each for its sequence */
	r.zone = cli_zone(cli);
	r.today = local_midnight(cli->now, r.zone);
	r.due_by = r.filter.until;
	/* A rep at 8 am sees the afternoon's calls too, apart: "nothing due" would read as a
	 * free day. */
	if (!until_given && !r.json && !r.ics)
		r.filter.until = local_midnight(r.today + 86400 + 43200, r.zone) - 1;
	if (r.json)
		r.json_out = due_json_start();
	status = store_due_each(cli->store, &r.filter, list_one, &r) ? FU_FAIL : FU_OK;
	if (status == FU_OK && forecast_needs_others(&r)) {
		struct due_filter everyone = r.filter;
		everyone.owner = NULL;
		everyone.channel = NULL;
		if (store_due_each(cli->store, &everyone, plan_others, &r))
			status = FU_FAIL;
	}
	/* "Nothing due" for a misspelt rep would read as a free morning. */
	if (status == FU_OK && r.filter.owner && r.count + r.later == 0 &&
	    store_owner_has_leads(cli->store, r.filter.owner) == 0)
		warning("no lead has the owner '%s' (check the name)", r.owner.key);
	if (r.json)
		due_json_finish(r.json_out);
	else if (status == FU_OK && r.ics) {
		print_calendar(&r);
	} else if (status == FU_OK && !cli->quiet) {
		print_summary(&r);
		print_forecast(&r);
	}
	release_plan(&r);
	return status;
}
