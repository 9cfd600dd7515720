/*
 * cmd_due.c - `followup due`: what is due for whom, overdue first.
 */
#include "followup/cli.h"
#include "followup/compose.h"
#include "followup/engine.h"
#include "followup/timeutil.h"
#include "followup/util.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: followup due [--owner NAME] [--channel email|call|linkedin|task] [--until TIME]\n"
	"                    [--json]\n\n"
	"Lists the touches due now (or by TIME), overdue first, then by due time, with the\n"
	"call or task text ready to act on. Email touches go out with 'followup send'.\n\n"
	"  --owner NAME     only this rep's leads\n"
	"  --channel C      only this channel\n"
	"  --until TIME     look ahead, e.g. +7d or 2026-03-09\n"
	"  --json           an array of objects (see the README for the keys)\n\n"
	"example: followup due --owner dana\n";

struct due_run {
	struct cli *cli;
	struct due_filter filter;
	const char *zone;
	time_t today;           /* local midnight: due before it is overdue */
	int json;
	cJSON *array;
	int group;              /* the group printed last: -1 none, 0 overdue, 1 today... */
	long count, overdue, held, emails, in_doubt;
};

static char *full_name(const struct lead *l)
{
	if (!str_empty(l->first_name) && !str_empty(l->last_name))
		return xasprintf("%s %s", l->first_name, l->last_name);
	if (!str_empty(l->first_name) || !str_empty(l->last_name))
		return xstrdup(!str_empty(l->first_name) ? l->first_name : l->last_name);
	return xstrdup(l->email);
}

static cJSON *string_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static void add_json(struct due_run *r, const struct due_item *d, const struct composed *c,
		     int overdue)
{
	cJSON *o = cJSON_CreateObject();
	char due[TIME_UTC_SIZE];
	char *name = full_name(&d->lead);

	time_format_utc(d->touch.due_at, due);
	cJSON_AddNumberToObject(o, "touch_id", (double)d->touch.id);
	cJSON_AddNumberToObject(o, "lead_id", (double)d->lead.id);
	cJSON_AddStringToObject(o, "email", d->lead.email);
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddItemToObject(o, "company", string_or_null(d->lead.company));
	cJSON_AddStringToObject(o, "sequence", d->enrolment.sequence);
	cJSON_AddStringToObject(o, "step", d->touch.step);
	cJSON_AddStringToObject(o, "channel", d->touch.channel);
	cJSON_AddStringToObject(o, "due_at", due);
	cJSON_AddBoolToObject(o, "overdue", overdue);
	cJSON_AddItemToObject(o, "owner", string_or_null(d->lead.owner));
	cJSON_AddStringToObject(o, "state", d->touch.state);
	cJSON_AddItemToObject(o, "text", string_or_null(c->text));
	cJSON_AddItemToObject(o, "held", string_or_null(c->held));
	cJSON_AddItemToArray(r->array, o);
	free(name);
}

static int day_group(const struct due_run *r, time_t due, int overdue)
{
	if (overdue)
		return 0;
	return 1 + (int)((local_midnight(due, r->zone) - r->today) / 86400);
}

static void print_group_header(struct due_run *r, const struct due_item *d, int group)
{
	char day[32];

	if (group == r->group)
		return;
	if (r->group >= 0)
		putchar('\n');
	r->group = group;
	if (group == 0) {
		printf("%sOverdue%s\n", r->cli->color ? "\033[1;31m" : "",
		       r->cli->color ? "\033[0m" : "");
		return;
	}
	time_format_day(d->touch.due_at, r->zone, day, sizeof(day));
	printf("%s%s%s%s\n", r->cli->color ? "\033[1m" : "", group == 1 ? "Today, " : "", day,
	       r->cli->color ? "\033[0m" : "");
}

static void print_line(struct due_run *r, const struct due_item *d, const struct composed *c,
		       int overdue)
{
	char when[32];
	char *name = full_name(&d->lead);
	const char *what = c->text ? c->text : "";

	time_format_local(d->touch.due_at, r->zone, when, sizeof(when));
	print_group_header(r, d, day_group(r, d->touch.due_at, overdue));
	printf("  #%-6lld %s  %-8s %s%s%s%s  [%s/%s]\n", (long long)d->touch.id,
	       when + (overdue ? 0 : 11), d->touch.channel, name,
	       str_empty(d->lead.company) ? "" : " (", str_empty(d->lead.company) ? "" :
	       d->lead.company, str_empty(d->lead.company) ? "" : ")",
	       d->enrolment.sequence, d->touch.step);
	if (!strcmp(d->touch.state, "in_doubt"))
		printf("          IN DOUBT: may have been sent; settle with 'followup resolve %lld"
		       " sent|retry'\n", (long long)d->touch.id);
	else if (c->held)
		printf("          HELD: %s\n", c->held);
	else if (*what)
		printf("          %s\n", what);
	free(name);
}

static int list_one(const struct due_item *d, void *opaque)
{
	struct due_run *r = opaque;
	struct composed c;
	int overdue = d->touch.due_at < r->today;

	if (compose_touch(r->cli->store, &r->cli->config, r->cli->sequences, d, &c))
		return -1;
	r->count++;
	r->overdue += overdue;
	r->held += c.held != NULL;
	r->emails += !strcmp(d->touch.channel, "email");
	r->in_doubt += !strcmp(d->touch.state, "in_doubt");
	if (r->json)
		add_json(r, d, &c, overdue);
	else
		print_line(r, d, &c, overdue);
	composed_release(&c);
	return 0;
}

static void print_summary(const struct due_run *r)
{
	if (r->count == 0) {
		puts("Nothing due. Well done.");
		return;
	}
	printf("\n%ld due: %ld overdue, %ld emails (for 'followup send'), %ld calls and tasks",
	       r->count, r->overdue, r->emails, r->count - r->emails);
	if (r->held)
		printf(", %ld held", r->held);
	if (r->in_doubt)
		printf(", %ld in doubt", r->in_doubt);
	putchar('\n');
}

int cmd_due(int argc, char **argv, struct cli *cli)
{
	static const struct option options[] = {
		{ "owner", required_argument, NULL, 'o' },
		{ "channel", required_argument, NULL, 'c' },
		{ "until", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct due_run r = { .cli = cli, .group = -1 };
	struct engine engine = { cli->store, cli->sequences, &cli->config, cli->now };
	int c, status;

	r.filter.until = cli->now;
	r.filter.with_in_doubt = 1;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'o': r.filter.owner = optarg; break;
		case 'c':
			if (channel_from_name(optarg) < 0)
				return usage_error("due", "unknown channel '%s'", optarg);
			r.filter.channel = optarg;
			break;
		case 'u':
			if ((status = parse_time_option(cli, "--until", optarg, &r.filter.until)))
				return status;
			break;
		case 'j': r.json = 1; break;
		case 'h': fputs(usage, stdout); return FU_OK;
		default: return unknown_option(argv);
		}
	}
	if (optind < argc)
		return usage_error("due", "unexpected argument '%s'", argv[optind]);
	if (engine_tick(&engine))
		return FU_FAIL;
	r.zone = cli_zone(cli);
	r.today = local_midnight(cli->now, r.zone);
	if (r.json)
		r.array = cJSON_CreateArray();
	status = store_due_each(cli->store, &r.filter, list_one, &r) ? FU_FAIL : FU_OK;
	if (r.json) {
		if (status == FU_OK)
			json_print(r.array);
		else
			cJSON_Delete(r.array);
	} else if (status == FU_OK && !cli->quiet) {
		print_summary(&r);
	}
	return status;
}
