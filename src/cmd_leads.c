/*
 * cmd_leads.c - `followup leads`: list leads.
 */
#include "followup/cli.h"
#include "followup/timeutil.h"
#include "followup/util.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: followup leads [--status S] [--owner NAME] [--event NAME] [--json]\n\n"
	"Lists leads by id.\n\n"
	"  --status S     only leads in status S: active cold replied converted lost\n"
	"                 unsubscribed bounced\n"
	"  --owner NAME   only this rep's leads (a config owners: key, name or email)\n"
	"  --event NAME   only the leads met at this event\n"
	"  --json         an array of lead objects\n\n"
	"example: followup leads --status active --owner dana\n";

static const char *const statuses[] = {
	"active", "cold", "replied", "converted", "lost", "unsubscribed", "bounced",
};

struct leads_run {
	struct cli *cli;
	struct json_stream *json;       /* NULL for the table */
	const char *zone;
	long count;
};

static void add_string(cJSON *o, const char *key, const char *value)
{
	cJSON_AddItemToObject(o, key, value ? cJSON_CreateString(value) : cJSON_CreateNull());
}

int lead_name_add(struct strbuf *sb, const char *first_name, const char *last_name)
{
	int first = !str_empty(first_name), last = !str_empty(last_name);

	/* Not xasprintf: due --json names 10,000 leads, and printf was a twentieth of it. */
	if (first)
		strbuf_addstr(sb, first_name);
	if (first && last)
		strbuf_addch(sb, ' ');
	if (last)
		strbuf_addstr(sb, last_name);
	return first || last;
}

char *lead_name(const struct lead *l)
{
	struct strbuf name = STRBUF_INIT;

	if (!lead_name_add(&name, l->first_name, l->last_name))
		return NULL;
	return strbuf_detach(&name);
}

cJSON *lead_to_json(const struct lead *l)
{
	cJSON *o = cJSON_CreateObject();
	char when[TIME_UTC_SIZE];

	cJSON_AddNumberToObject(o, "id", (double)l->id);
	add_string(o, "email", l->email);
	add_string(o, "first_name", l->first_name);
	add_string(o, "last_name", l->last_name);
	add_string(o, "company", l->company);
	add_string(o, "title", l->title);
	add_string(o, "phone", l->phone);
	add_string(o, "country", l->country);
	add_string(o, "timezone", l->timezone);
	add_string(o, "notes", l->notes);
	add_string(o, "rating", l->rating);
	add_string(o, "owner", l->owner);
	add_string(o, "event", l->event);
	add_string(o, "badge_id", l->badge_id);
	time_format_utc(l->contact_at, when);
	add_string(o, "contact_at", when);
	add_string(o, "status", l->status);
	cJSON_AddBoolToObject(o, "consent", l->consent);
	cJSON_AddItemToObject(o, "extra", l->extra ? cJSON_Parse(l->extra) : cJSON_CreateNull());
	return o;
}

static int list_lead(const struct lead *l, void *opaque)
{
	struct leads_run *r = opaque;
	char when[32];

	r->count++;
	if (r->json) {          /* a lead at a time: a million leads are 3 GB as one tree */
		cJSON *o = lead_to_json(l);
		json_stream_item(r->json, o);
		cJSON_Delete(o);
		return 0;
	}
	char *name = lead_name(l);

	time_format_local(l->contact_at, r->zone, when, sizeof(when));
	/* The columns of fixed width first; an email longer than its column pushes only
	 * the name and company along (an address is never cut). A line break in a name
	 * or company would break the table. */
	int email_chars = utf8_chars(l->email);

	printf("%6lld  %-12s %-16s  ", (long long)l->id, l->status, when);
	fputs_column(l->email, email_chars > 32 ? email_chars : 32, stdout);
	putchar(' ');
	fputs_one_line(name ? name : "", stdout);
	if (name && l->company)
		fputs(", ", stdout);
	fputs_one_line(l->company ? l->company : "", stdout);
	putchar('\n');
	free(name);
	return 0;
}

int cmd_leads(int argc, char **argv, struct cli *cli)
{
	static const struct option options[] = {
		{ "status", required_argument, NULL, 's' },
		{ "owner", required_argument, NULL, 'o' },
		{ "event", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lead_filter f = { 0 };
	struct owner_names owner;
	struct leads_run r = { cli, NULL, cli_zone(cli), 0 };
	struct json_stream stream;
	int c, json = 0, known;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 's':
			known = 0;
			for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
				known |= !strcmp(statuses[i], optarg);
			if (!known)
				return usage_error("leads", "unknown status '%s'", optarg);
			f.status = optarg;
			break;
		case 'o':
			if (str_empty(optarg))
				return usage_error("leads", "--owner needs a name");
			owner = cli_owner_names(cli, optarg);
			f.owner = &owner;
			break;
		case 'e': f.event = optarg; break;
		case 'j': json = 1; break;
		case 'h': fputs(usage, stdout); return FU_OK;
		default: return unknown_option(argv);
		}
	}
	if (optind < argc)
		return usage_error("leads", "unexpected argument '%s'", argv[optind]);
	if (json)
		json_stream_start(r.json = &stream);
	if (store_leads_each(cli->store, &f, list_lead, &r)) {
		json_stream_abandon(r.json);
		return FU_FAIL;
	}
	if (json)
		json_stream_end(r.json);
	else if (!cli->quiet)
		printf("%ld lead%s\n", r.count, r.count == 1 ? "" : "s");
	return FU_OK;
}
