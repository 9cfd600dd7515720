/*
 * cmd_show.c - `followup show` (one lead and its timeline) and `followup export`.
 */
#include "followup/cli.h"
#include "followup/csv.h"
#include "followup/timeutil.h"
#include "followup/util.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

struct show_run {
	const char *zone;
	cJSON *array;
};


static int show_entry(const struct timeline_entry *e, void *opaque)
{
	struct show_run *r = opaque;
	char when[32];

	if (r->array) {
		cJSON *o = cJSON_CreateObject();
		char utc[TIME_UTC_SIZE];
		time_format_utc(e->at, utc);
		cJSON_AddStringToObject(o, "at", utc);
		cJSON_AddStringToObject(o, "kind", e->kind);
		cJSON_AddItemToObject(o, "what", e->title ? cJSON_CreateString(e->title) :
				      cJSON_CreateNull());
		cJSON_AddItemToObject(o, "detail", e->detail ? cJSON_CreateString(e->detail) :
				      cJSON_CreateNull());
		cJSON_AddItemToObject(o, "message_id", e->message_id ?
				      cJSON_CreateString(e->message_id) : cJSON_CreateNull());
		cJSON_AddItemToObject(o, "touch_id", !strcmp(e->kind, "touch") ?
				      cJSON_CreateNumber((double)e->ref) : cJSON_CreateNull());
		cJSON_AddItemToArray(r->array, o);
		return 0;
	}
	time_format_local(e->at, r->zone, when, sizeof(when));
	printf("  %s  %-12s ", when, e->kind);
	fputs_one_line(e->title, stdout);
	if (!str_empty(e->detail)) {
		fputs(": ", stdout);
		fputs_one_line(e->detail, stdout);
	}
	if (!strcmp(e->kind, "touch"))
		printf("  [touch %lld]", (long long)e->ref);
	if (e->message_id)
		printf("  %s", e->message_id);
	putchar('\n');
	return 0;
}

/* "label      value", a value of several lines (notes) indented under its first. */
static void print_field(const char *label, const char *value)
{
	const char *line = value;

	if (str_empty(value))
		return;
	for (int first = 1; *line; first = 0) {
		size_t len = strcspn(line, "\r\n");

		printf("%-10s ", first ? label : "");
		fput_printable(line, len, stdout);
		putchar('\n');
		line += len;
		if (line[0] == '\r' && line[1] == '\n')
			line++;
		if (*line)
			line++;
	}
}

static void print_extra(const char *key, const char *value)
{
	printf("%-10s ", "extra");
	fputs_one_line(key, stdout);
	fputs(": ", stdout);
	fputs_one_line(value, stdout);
	putchar('\n');
}

static void print_lead(const struct lead *l, const char *zone)
{
	char when[32], *name;
	cJSON *extra = l->extra ? cJSON_Parse(l->extra) : NULL;
	const cJSON *item;

	name = lead_name(l);
	printf("#%lld ", (long long)l->id);
	fputs_one_line(name ? name : "", stdout);
	fputs(" <", stdout);
	fputs_one_line(l->email, stdout);
	puts(">");
	free(name);
	print_field("status", l->status);
	print_field("company", l->company);
	print_field("title", l->title);
	print_field("phone", l->phone);
	print_field("country", l->country);
	print_field("timezone", l->timezone);
	print_field("owner", l->owner);
	print_field("event", l->event);
	print_field("rating", l->rating);
	print_field("badge", l->badge_id);
	time_format_local(l->contact_at, zone, when, sizeof(when));
	print_field("contacted", when);
	print_field("notes", l->notes);
	if (!l->consent)
		print_field("consent", "no (not to be emailed)");
	cJSON_ArrayForEach(item, extra)
		if (cJSON_IsString(item))
			print_extra(item->string, item->valuestring);
	cJSON_Delete(extra);
	puts("timeline");
}

int cmd_show(int argc, char **argv, struct cli *cli)
{
	static const char usage[] =
		"usage: followup show LEAD [--json]\n\n"
		"One lead (id or email): its fields, extra columns and whole timeline in order:\n"
		"imported, enrolled, each touch with its state, time and Message-ID, notes,\n"
		"outcomes and opt-out.\n\n"
		"  --json  the lead as a JSON object, with a timeline array\n\n"
		"example: followup show dana.whitfield@northwind.example\n";
	struct show_run r = { cli_zone(cli), NULL };
	struct lead l;
	int json = 0, found, status = FU_OK;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return FU_OK;
		}
		if (!strcmp(argv[i], "--json")) {
			json = 1;
			memmove(argv + i, argv + i + 1, (size_t)(argc - i - 1) * sizeof(*argv));
			argc--, i--;
		}
	}
	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1] && !strchr(argv[i], '@'))  /* an email is a lead */
			return misplaced_global_option("show", argv[i]) ? FU_USAGE :
			       usage_error("show", "unknown option '%s'", argv[i]);
	if (argc != 2)
		return usage_error("show", "expected one LEAD");
	found = store_lead_find(cli->store, argv[1], &l);
	if (found <= 0) {
		if (found == 0)
			error("show: no lead '%s'", argv[1]);
		return found < 0 ? FU_FAIL : FU_USAGE;
	}
	if (json) {
		cJSON *o = lead_to_json(&l);
		r.array = cJSON_CreateArray();
		cJSON_AddItemToObject(o, "timeline", r.array);
		if (store_timeline_each(cli->store, l.id, show_entry, &r))
			status = FU_FAIL;
		if (status == FU_OK)
			json_print(o);
		else
			cJSON_Delete(o);
	} else {
		print_lead(&l, r.zone);
		if (store_timeline_each(cli->store, l.id, show_entry, &r))
			status = FU_FAIL;
	}
	lead_release(&l);
	return status;
}

/* --- export -------------------------------------------------------------------------------- */

static void add_cell(struct strbuf *line, const char *value, int first)
{
	if (!first)
		strbuf_addch(line, ',');
	csv_write_field(line, value ? value : "", ',', 1);
}

/* Column names that `followup import` maps back to the same fields (Status too; the
 * last four are derived, and import ignores them). */
static const char *const csv_header[] = {
	"Email", "First Name", "Last Name", "Company", "Title", "Phone", "Country", "Time Zone",
	"Scanned At", "Notes", "Rating", "Owner", "Event", "Badge ID", "Status", "Sequence",
	"Step", "Last Touch", "Next Due",
};

struct export_run {
	struct json_stream *json;       /* NULL for CSV */
	struct strbuf line;
	/* CSV: the extra columns of all leads, exported as columns after the fixed ones so
	 * that they import back as the same extra values (one named like a fixed column,
	 * "Status" say, comes after it and is read back as extra: see fields.c). */
	char **extra_keys;
	size_t nextra;
	/* Each key's column, by hash: a lead's values are placed in one pass over them,
	 * where looking each column up in each lead grew with the square of the columns. */
	size_t *slots, nslots;          /* column + 1; 0 is free */
	const char **cells;             /* this lead's value per extra column */
};

static size_t key_hash(const char *key)
{
	size_t h = 14695981039346656037ULL;     /* FNV-1a */

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ULL;
	return h;
}

static size_t *key_slot(const struct export_run *r, const char *key)
{
	size_t i = key_hash(key) & (r->nslots - 1);

	while (r->slots[i] && strcmp(r->extra_keys[r->slots[i] - 1], key))
		i = (i + 1) & (r->nslots - 1);
	return &r->slots[i];
}

static void index_extra_keys(struct export_run *r)
{
	for (r->nslots = 16; r->nslots < 2 * r->nextra; r->nslots *= 2)
		;
	r->slots = xcalloc(r->nslots, sizeof(*r->slots));
	r->cells = xcalloc(r->nextra ? r->nextra : 1, sizeof(*r->cells));
	for (size_t i = 0; i < r->nextra; i++)
		*key_slot(r, r->extra_keys[i]) = i + 1;
}

static void add_extra_cells(struct export_run *r, const char *extra_json)
{
	cJSON *extra = extra_json ? cJSON_Parse(extra_json) : NULL;
	const cJSON *item;

	memset(r->cells, 0, r->nextra * sizeof(*r->cells));
	cJSON_ArrayForEach(item, extra) {
		size_t column = item->string ? *key_slot(r, item->string) : 0;

		if (column && cJSON_IsString(item))
			r->cells[column - 1] = item->valuestring;
	}
	for (size_t i = 0; i < r->nextra; i++)
		add_cell(&r->line, r->cells[i], 0);
	cJSON_Delete(extra);
}

static int export_row(const struct export_row *row, void *opaque)
{
	struct export_run *r = opaque;
	const struct lead *l = row->lead;
	char contact[TIME_UTC_SIZE], last[TIME_UTC_SIZE] = "", next[TIME_UTC_SIZE] = "";

	time_format_utc(l->contact_at, contact);
	if (row->last_touch)
		time_format_utc(row->last_touch, last);
	if (row->next_due)
		time_format_utc(row->next_due, next);
	if (r->json) {
		cJSON *o = lead_to_json(l);
		cJSON_AddItemToObject(o, "sequence", row->sequence ?
				      cJSON_CreateString(row->sequence) : cJSON_CreateNull());
		cJSON_AddItemToObject(o, "step", row->step ? cJSON_CreateString(row->step) :
				      cJSON_CreateNull());
		cJSON_AddItemToObject(o, "last_touch", *last ? cJSON_CreateString(last) :
				      cJSON_CreateNull());
		cJSON_AddItemToObject(o, "next_due", *next ? cJSON_CreateString(next) :
				      cJSON_CreateNull());
		json_stream_item(r->json, o);   /* a lead at a time, not one tree of them all */
		cJSON_Delete(o);
		return 0;
	}
	const char *cells[] = {
		l->email, l->first_name, l->last_name, l->company, l->title, l->phone, l->country,
		l->timezone, contact, l->notes, l->rating, l->owner, l->event, l->badge_id,
		l->status, row->sequence, row->step, last, next,
	};
	strbuf_reset(&r->line);
	for (size_t i = 0; i < ARRAY_SIZE(cells); i++)
		add_cell(&r->line, cells[i], i == 0);
	add_extra_cells(r, l->extra);
	strbuf_addstr(&r->line, "\r\n");
	fwrite(r->line.buf, 1, r->line.len, stdout);
	return 0;
}

int cmd_export(int argc, char **argv, struct cli *cli)
{
	static const char usage[] =
		"usage: followup export [--csv | --json]\n\n"
		"One row per lead with its status, sequence, step reached, last touch, next due,\n"
		"owner and event, for a CRM.\n\n"
		"  --csv   CSV (the default); it re-imports with 'followup import', and cells that\n"
		"          begin with = + - or @ get a leading ' against spreadsheet formulas\n"
		"  --json  an array of lead objects\n\n"
		"example: followup export --csv > leads.csv\n";
	struct export_run r = { 0 };
	struct json_stream stream;
	int status, csv = 0, json = 0;

	r.line = (struct strbuf)STRBUF_INIT;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return FU_OK;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--csv")) {
			csv = 1;
		} else {
			return misplaced_global_option("export", argv[i]) ? FU_USAGE :
			       usage_error("export", "unexpected argument '%s'", argv[i]);
		}
	}
	if (csv && json)
		return usage_error("export", "--csv and --json exclude each other");
	if (json) {
		json_stream_start(r.json = &stream);
	} else {
		if (store_extra_keys(cli->store, &r.extra_keys, &r.nextra)) {
			status = FU_FAIL;
			goto out;
		}
		index_extra_keys(&r);
		for (size_t i = 0; i < ARRAY_SIZE(csv_header); i++)
			add_cell(&r.line, csv_header[i], i == 0);
		for (size_t i = 0; i < r.nextra; i++)
			add_cell(&r.line, r.extra_keys[i], 0);
		strbuf_addstr(&r.line, "\r\n");
		fwrite(r.line.buf, 1, r.line.len, stdout);
	}
	status = store_export_each(cli->store, export_row, &r) ? FU_FAIL : FU_OK;
	if (r.json && status == FU_OK)
		json_stream_end(r.json);
	else
		json_stream_abandon(r.json);
out:
	for (size_t i = 0; i < r.nextra; i++)
		free(r.extra_keys[i]);
	free(r.extra_keys);
	free(r.slots);
	free(r.cells);
	strbuf_release(&r.line);
	return status;
}
