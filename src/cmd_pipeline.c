/*
 * cmd_pipeline.c - `followup pipeline`: who is in follow-up, who went cold, how fast the
 * first touch came, which step gets replies, and who let a call slip.
 */
#include "followup/cli.h"
#include "followup/names.h"
#include "followup/timeutil.h"
#include "followup/util.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char usage[] =
	"usage: followup pipeline [--event NAME] [--owner NAME] [--json]\n\n"
	"The follow-up numbers, for all leads or one event or owner: leads by status,\n"
	"touches due now and overdue, in doubt, speed to lead (median hours from contact\n"
	"to first touch, share touched within 24 h and 48 h, never touched), per step the\n"
	"touches made, replies after it and the reply rate, and manual touches missed per\n"
	"owner.\n\n"
	"  --event NAME   only the leads met at this event\n"
	"  --owner NAME   only this rep's leads (a config owners: key, name or email)\n"
	"  --json         the same numbers as JSON (keys in the README)\n\n"
	"example: followup pipeline --event 'SaaStr 2026'\n";

static int by_most_missed(const void *a, const void *b)
{
	const struct pipeline_owner *x = a, *y = b;

	if (x->missed != y->missed)
		return x->missed > y->missed ? -1 : 1;
	if (!x->owner || !y->owner)
		return !x->owner - !y->owner;           /* "(no owner)" last */
	return strcasecmp(x->owner, y->owner);
}

static int same_owner(const char *a, const char *b)
{
	return a && b ? name_same(a, b) : a == b;
}

/* The store groups missed touches by the owner as the leads have it: "Nina Grey" from a
 * file imported before the config named her, "nina" after. One rep is one row, under
 * the rep's key. */
static void missed_by_rep(struct pipeline *p, const struct config *config)
{
	size_t kept = 0;

	for (size_t i = 0; i < p->nmissed; i++) {
		struct pipeline_owner *m = &p->missed[i];
		const struct owner *rep = m->owner ? config_find_owner(config, m->owner) : NULL;
		size_t j;

		if (rep && strcmp(rep->key, m->owner)) {
			free(m->owner);
			m->owner = xstrdup(rep->key);
		}
		for (j = 0; j < kept && !same_owner(p->missed[j].owner, m->owner); j++)
			;
		if (j < kept) {
			p->missed[j].missed += m->missed;
			free(m->owner);
		} else {
			p->missed[kept++] = *m;
		}
	}
	p->nmissed = kept;
	if (p->nmissed > 1)     /* qsort must not be given NULL, even for nothing */
		qsort(p->missed, p->nmissed, sizeof(*p->missed), by_most_missed);
}

static double share(long part, long whole)
{
	return whole ? (double)part / (double)whole : 0.0;
}

/* JSON carries what a report would show: 0.3333, not 0.3333333333333333 (x >= 0). */
static double rounded(double x, double scale)
{
	return (double)(long long)(x * scale + 0.5) / scale;
}

static void bar(double fraction, int width)
{
	int full = (int)(fraction * width + 0.5);

	for (int i = 0; i < width; i++)
		fputs(i < full ? "#" : ".", stdout);
}

static cJSON *pipeline_json(const struct pipeline *p, const char *event, const char *owner)
{
	cJSON *o = cJSON_CreateObject(), *leads = cJSON_CreateObject();
	cJSON *by_status = cJSON_CreateObject(), *touches = cJSON_CreateObject();
	cJSON *speed = cJSON_CreateObject(), *steps = cJSON_CreateArray();
	cJSON *missed = cJSON_CreateArray();

	cJSON_AddItemToObject(o, "event", event ? cJSON_CreateString(event) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "owner", owner ? cJSON_CreateString(owner) : cJSON_CreateNull());
	cJSON_AddNumberToObject(leads, "total", (double)p->leads);
	for (size_t i = 0; i < ARRAY_SIZE(pipeline_statuses); i++)
		cJSON_AddNumberToObject(by_status, pipeline_statuses[i], (double)p->by_status[i]);
	cJSON_AddItemToObject(leads, "by_status", by_status);
	cJSON_AddItemToObject(o, "leads", leads);
	cJSON_AddNumberToObject(touches, "due_now", (double)p->due_now);
	cJSON_AddNumberToObject(touches, "overdue", (double)p->overdue);
	cJSON_AddNumberToObject(touches, "in_doubt", (double)p->in_doubt);
	cJSON_AddItemToObject(o, "touches", touches);
	cJSON_AddNumberToObject(speed, "enrolled", (double)p->enrolled);
	cJSON_AddNumberToObject(speed, "touched", (double)p->touched);
	cJSON_AddNumberToObject(speed, "never_touched", (double)p->never_touched);
	cJSON_AddItemToObject(speed, "median_hours", p->median_hours < 0 ? cJSON_CreateNull() :
			      cJSON_CreateNumber(rounded(p->median_hours, 100)));
	cJSON_AddNumberToObject(speed, "within_24h",
				rounded(share(p->within_24h, p->enrolled), 1e4));
	cJSON_AddNumberToObject(speed, "within_48h",
				rounded(share(p->within_48h, p->enrolled), 1e4));
	cJSON_AddItemToObject(o, "speed_to_lead", speed);
	for (size_t i = 0; i < p->nsteps; i++) {
		cJSON *s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "sequence", p->steps[i].sequence);
		cJSON_AddStringToObject(s, "step", p->steps[i].step);
		cJSON_AddNumberToObject(s, "made", (double)p->steps[i].made);
		cJSON_AddNumberToObject(s, "replies", (double)p->steps[i].replies);
		cJSON_AddNumberToObject(s, "reply_rate",
				rounded(share(p->steps[i].replies, p->steps[i].made), 1e4));
		cJSON_AddItemToArray(steps, s);
	}
	cJSON_AddItemToObject(o, "steps", steps);
	for (size_t i = 0; i < p->nmissed; i++) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddItemToObject(m, "owner", p->missed[i].owner ?
				      cJSON_CreateString(p->missed[i].owner) : cJSON_CreateNull());
		cJSON_AddNumberToObject(m, "missed", (double)p->missed[i].missed);
		cJSON_AddItemToArray(missed, m);
	}
	cJSON_AddItemToObject(o, "missed_by_owner", missed);
	return o;
}

static void print_pipeline(const struct pipeline *p, const char *event, const char *owner)
{
	printf("Pipeline%s%s%s%s\n\n", event ? " for " : "", event ? event : "",
	       owner ? ", owner " : "", owner ? owner : "");
	printf("Leads %ld:", p->leads);
	for (size_t i = 0; i < ARRAY_SIZE(pipeline_statuses); i++)
		if (p->by_status[i])
			printf(" %s %ld", pipeline_statuses[i], p->by_status[i]);
	printf("\nTouches: %ld due now, %ld overdue, %ld in doubt\n\n", p->due_now, p->overdue,
	       p->in_doubt);
	printf("Speed to lead (%ld enrolled)\n", p->enrolled);
	if (p->median_hours >= 0)
		printf("  median first touch  %.1f h\n", p->median_hours);
	printf("  within 24 h  %5.1f%%  ", 100 * share(p->within_24h, p->enrolled));
	bar(share(p->within_24h, p->enrolled), 30);
	printf("\n  within 48 h  %5.1f%%  ", 100 * share(p->within_48h, p->enrolled));
	bar(share(p->within_48h, p->enrolled), 30);
	printf("\n  never touched %ld\n\n", p->never_touched);
	if (p->nsteps) {
		printf("%-18s %-12s %7s %7s %6s\n", "Sequence", "Step", "Made", "Replies", "Rate");
		for (size_t i = 0; i < p->nsteps; i++) {
			double rate = share(p->steps[i].replies, p->steps[i].made);
			fputs_column(p->steps[i].sequence, 18, stdout);
			putchar(' ');
			fputs_column(p->steps[i].step, 12, stdout);
			printf(" %7ld %7ld %5.1f%% ", p->steps[i].made, p->steps[i].replies,
			       100 * rate);
			bar(rate, 20);
			putchar('\n');
		}
		putchar('\n');
	}
	if (p->nmissed) {
		puts("Missed calls and tasks");
		for (size_t i = 0; i < p->nmissed; i++) {
			fputs("  ", stdout);
			fputs_column(p->missed[i].owner ? p->missed[i].owner : "(no owner)", 24,
				     stdout);
			printf(" %ld\n", p->missed[i].missed);
		}
	}
}

int cmd_pipeline(int argc, char **argv, struct cli *cli)
{
	static const struct option options[] = {
		{ "event", required_argument, NULL, 'e' },
		{ "owner", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *event = NULL;
	struct owner_names owner;
	const struct owner_names *scope = NULL;
	struct pipeline p;
	int c, json = 0;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'e': event = optarg; break;
		case 'o':
			if (str_empty(optarg))
				return usage_error("pipeline", "--owner needs a name");
			owner = cli_owner_names(cli, optarg);
			scope = &owner;
			break;
		case 'j': json = 1; break;
		case 'h': fputs(usage, stdout); return FU_OK;
		default: return unknown_option(argv);
		}
	}
	if (optind < argc)
		return usage_error("pipeline", "unexpected argument '%s'", argv[optind]);
	if (store_pipeline(cli->store, event, scope, cli->now,
			   local_midnight(cli->now, cli_zone(cli)), &p))
		return FU_FAIL;
	missed_by_rep(&p, &cli->config);        /* the config is loaded: the store needed it */
	/* Zeros for a misspelt name would read as a quiet event or an idle rep (a rep the
	 * config names may just have no leads yet). */
	if (!p.leads && event && scope)
		warning("no lead is from the event '%s' and has the owner '%s' (check the names)",
			event, scope->key);
	else if (!p.leads && event)
		warning("no lead is from the event '%s' (check the name)", event);
	else if (!p.leads && scope && !config_find_owner(&cli->config, scope->key))
		warning("no lead has the owner '%s' (check the name)", scope->key);
	if (json)
		json_print(pipeline_json(&p, event, scope ? scope->key : NULL));
	else
		print_pipeline(&p, event, scope ? scope->key : NULL);
	pipeline_release(&p);
	return FU_OK;
}
