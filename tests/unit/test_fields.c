/* Unit tests of header mapping, --map, extra JSON, and the email, name and flag rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "followup/fields.h"

/* A record made from a '|'-separated line, as csv_read() would return it. */
static void make_record(struct csv_record *rec, const char *line)
{
	size_t n = 1;

	for (const char *p = line; *p; p++)
		n += *p == '|';
	strbuf_reset(&rec->data);
	strbuf_addstr(&rec->data, line);
	rec->alloc = n;
	rec->count = n;
	rec->fields = xrealloc(rec->fields, (n + 1) * sizeof(*rec->fields));
	rec->fields[0] = rec->data.buf;
	for (size_t i = 1; i < n; i++) {
		char *bar = strchr(rec->fields[i - 1], '|');
		*bar = '\0';
		rec->fields[i] = bar + 1;
	}
	rec->fields[n] = NULL;
}

/* Builds a map from a '|'-separated header, failing the test on an error. */
static struct header_map *map_of(const char *header, const char *const *overrides, size_t n)
{
	struct csv_record rec = CSV_RECORD_INIT;
	struct header_map *map = NULL;
	char *err = NULL;

	make_record(&rec, header);
	if (header_map_build(&map, &rec, overrides, n, &err))
		fail_msg("'%s': %s", header, err);
	csv_record_release(&rec);
	return map;
}

/* The error header_map_build() gives, or fails the test when it succeeds. */
static char *map_error(const char *header, const char *const *overrides, size_t n)
{
	struct csv_record rec = CSV_RECORD_INIT;
	struct header_map *map = NULL;
	char *err = NULL;

	make_record(&rec, header);
	if (!header_map_build(&map, &rec, overrides, n, &err))
		fail_msg("'%s': mapped without an error", header);
	assert_null(map);
	csv_record_release(&rec);
	return err;
}

/* The field column `column` ended up with: a lead field, or FIELD_EXTRA. */
static enum lead_field field_of_column(const struct header_map *map, int column)
{
	for (int f = 0; f < FIELD_COUNT; f++)
		if (header_map_column(map, (enum lead_field)f) == column)
			return (enum lead_field)f;
	return header_map_time_column(map) == column ? FIELD_SCANNED_AT : FIELD_EXTRA;
}

/* SPEC section 5's spellings, and what normalisation must see through. */
static const struct {
	const char *header;
	enum lead_field field;
} spellings[] = {
	{ "Email", FIELD_EMAIL }, { "E-mail", FIELD_EMAIL }, { "Email Address", FIELD_EMAIL },
	{ "Work Email", FIELD_EMAIL }, { " EMAIL ", FIELD_EMAIL }, { "e_mail", FIELD_EMAIL },
	{ "E-Mail:", FIELD_EMAIL }, { "\xEF\xBB\xBF" "Email", FIELD_EMAIL },
	{ "email.address", FIELD_EMAIL }, { "Email*", FIELD_EMAIL },
	{ "First Name", FIELD_FIRST_NAME }, { "FirstName", FIELD_FIRST_NAME },
	{ "Given Name", FIELD_FIRST_NAME }, { "PRÉNOM", FIELD_FIRST_NAME },
	{ "Last Name", FIELD_LAST_NAME }, { "Surname", FIELD_LAST_NAME },
	{ "Family Name", FIELD_LAST_NAME }, { "Full Name", FIELD_NAME }, { "Name", FIELD_NAME },
	{ "Company", FIELD_COMPANY }, { "Company Name", FIELD_COMPANY },
	{ "Organization", FIELD_COMPANY }, { "Organisation", FIELD_COMPANY },
	{ "Account", FIELD_COMPANY }, { "SOCIÉTÉ", FIELD_COMPANY },
	{ "Job Title", FIELD_TITLE }, { "Title", FIELD_TITLE }, { "Position", FIELD_TITLE },
	{ "Phone", FIELD_PHONE }, { "Mobile", FIELD_PHONE }, { "Work Phone", FIELD_PHONE },
	{ "Country", FIELD_COUNTRY }, { "Country/Region", FIELD_COUNTRY },
	{ "country / region", FIELD_COUNTRY },
	{ "Scanned At", FIELD_SCANNED_AT }, { "Scan Time", FIELD_SCANNED_AT },
	{ "Scan Date", FIELD_SCANNED_AT }, { "Date Captured", FIELD_SCANNED_AT },
	{ "Captured At", FIELD_SCANNED_AT }, { "Created", FIELD_SCANNED_AT },
	{ "Notes", FIELD_NOTES }, { "Comments", FIELD_NOTES }, { "Note", FIELD_NOTES },
	{ "Lead Notes", FIELD_NOTES },
	{ "Rating", FIELD_RATING }, { "Lead Rating", FIELD_RATING },
	{ "Temperature", FIELD_RATING }, { "Qualification", FIELD_RATING },
	{ "Scanned By", FIELD_OWNER }, { "Captured By", FIELD_OWNER }, { "Owner", FIELD_OWNER },
	{ "Rep", FIELD_OWNER }, { "Booth Staff", FIELD_OWNER },
	{ "Time Zone", FIELD_TIMEZONE }, { "time_zone", FIELD_TIMEZONE },
	{ "Event", FIELD_EVENT },
	{ "Badge ID", FIELD_BADGE_ID }, { "Barcode #", FIELD_BADGE_ID },
	{ "Barcode#", FIELD_BADGE_ID }, { "Registration ID", FIELD_BADGE_ID },
	{ "Email Opt Out", FIELD_OPT_OUT }, { "Do Not Email", FIELD_OPT_OUT },
	{ "Opt Out", FIELD_OPT_OUT }, { "Unsubscribed", FIELD_OPT_OUT },
	{ "Opt-in", FIELD_CONSENT }, { "Consent", FIELD_CONSENT },
	{ "Marketing Consent", FIELD_CONSENT },
	/* Not the rep, not the lead, not a field. */
	{ "Device Name", FIELD_EXTRA }, { "Device", FIELD_EXTRA }, { "User", FIELD_EXTRA },
	{ "Buyer Email", FIELD_EXTRA }, { "Buyer First Name", FIELD_EXTRA },
	{ "Tags", FIELD_EXTRA }, { "Qualifiers", FIELD_EXTRA }, { "Exhibitor", FIELD_EXTRA },
	{ "Booth", FIELD_EXTRA }, { "#", FIELD_EXTRA }, { "Favourite Colour", FIELD_EXTRA },
	{ "", FIELD_EXTRA },     /* no name, but a value under it is kept: "Column N" */
	/* Consent and opt-out in other languages and CRMs. */
	{ "Einwilligung", FIELD_CONSENT }, { "Einverständnis", FIELD_CONSENT },
	{ "EINVERSTÄNDNIS", FIELD_CONSENT }, { "Newsletter-Einwilligung", FIELD_CONSENT },
	{ "Consentement", FIELD_CONSENT }, { "Consentement email", FIELD_CONSENT },
	{ "Consentimiento", FIELD_CONSENT }, { "Toestemming", FIELD_CONSENT },
	{ "HasOptedOutOfEmail", FIELD_OPT_OUT }, { "Unsubscribed from all email", FIELD_OPT_OUT },
	/* CRMs' and marketing tools' opt-out columns (yes: do not email)... */
	{ "Do Not Contact", FIELD_OPT_OUT }, { "Opted Out", FIELD_OPT_OUT },
	{ "Do not allow Emails", FIELD_OPT_OUT }, { "Global Unsubscribe", FIELD_OPT_OUT },
	{ "Unsubscribed From Emails", FIELD_OPT_OUT }, { "Marketing Opt Out", FIELD_OPT_OUT },
	{ "Opt out of emails", FIELD_OPT_OUT }, { "Email Opt-Out (Y/N)", FIELD_OPT_OUT },
	{ "Opted Out (Pardot)", FIELD_OPT_OUT }, { "DoNotEmail", FIELD_OPT_OUT },
	/* ...and consent columns (no: do not email), a bracketed hint or not. */
	{ "Email Consent", FIELD_CONSENT }, { "Marketing Opt-In", FIELD_CONSENT },
	{ "Opt-in (GDPR)", FIELD_CONSENT }, { "Marketing Consent (Yes/No)", FIELD_CONSENT },
	{ "Consent to Contact", FIELD_CONSENT }, { "Opt-In Status", FIELD_CONSENT },
	{ "GDPR Consent", FIELD_CONSENT },
	/* A hint in brackets: still a scan time; but only these fields see through one, so
	 * that somebody else's email or name does not stand in for the lead's. */
	{ "Scan Time (UTC)", FIELD_SCANNED_AT }, { "Email (Buyer)", FIELD_EXTRA },
	{ "Name (Company)", FIELD_EXTRA }, { "Title (Dr/Mr)", FIELD_EXTRA },
	{ "Opt Out (2)", FIELD_EXTRA },      /* export's second key, a number: not a hint */
	/* CRM reports and event platforms: Salesforce, HubSpot, LinkedIn lead forms, Cvent,
	 * Bizzabo, Swapcard, Hubilo. */
	{ "Company / Account", FIELD_COMPANY }, { "Contact owner", FIELD_OWNER },
	{ "Mobile Phone Number", FIELD_PHONE }, { "Mobile Phone #", FIELD_PHONE },
	{ "Submitted At", FIELD_SCANNED_AT }, { "Date Submitted", FIELD_SCANNED_AT },
	{ "Attendee Company", FIELD_COMPANY }, { "Attendee Organization", FIELD_COMPANY },
	{ "Attendee Title", FIELD_TITLE }, { "Attendee Job Title", FIELD_TITLE },
	{ "Attendee Phone", FIELD_PHONE }, { "Attendee Country", FIELD_COUNTRY },
	{ "Attendee Email Address", FIELD_EMAIL }, { "Lead Captured Date", FIELD_SCANNED_AT },
	{ "Captured On", FIELD_SCANNED_AT }, { "Scanned On", FIELD_SCANNED_AT },
	{ "Lead Scanned By", FIELD_OWNER }, { "Email ID", FIELD_EMAIL },
	{ "Mobile Number", FIELD_PHONE }, { "Mobile No.", FIELD_PHONE },
	{ "Phone No", FIELD_PHONE }, { "Contact Number", FIELD_PHONE },
	{ "Organization Name", FIELD_COMPANY }, { "Organisation Name", FIELD_COMPANY },
	{ "Account Owner", FIELD_EXTRA }, { "Job Function", FIELD_EXTRA },
	{ "Created Date", FIELD_EXTRA },
};

static void test_fields__spec_spellings_and_normalisation(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(spellings); i++) {
		/* The email column comes second, so that the one under test is first. */
		char *header = xasprintf("%s|%s", spellings[i].header,
					 spellings[i].field == FIELD_EMAIL ? "Other" : "E-mail");
		struct header_map *map = map_of(header, NULL, 0);
		enum lead_field got = field_of_column(map, 0), want = spellings[i].field;

		if (want == FIELD_IGNORE)
			want = FIELD_EXTRA;     /* no field, and not in extra either (see below) */
		if (got != want)
			fail_msg("'%s' maps to %s, want %s", spellings[i].header, field_name(got),
				 field_name(want));
		header_map_free(map);
		free(header);
	}
}

/* A badge file's "Status" (Attended, Hot, Cold) is its own; only beside an export's
 * Last Touch and Next Due is it the lead status, and Sequence and Step are dropped. */
static void test_fields__export_columns_only_in_an_export(void **state)
{
	struct header_map *badges = map_of("Email|Status|Step", NULL, 0);
	struct header_map *export = map_of("Email|Status|Sequence|Step|Last Touch|Next Due", NULL, 0);
	struct csv_record row = CSV_RECORD_INIT;
	char *extra;

	(void)state;
	make_record(&row, "a@x.example|Cold|2");
	assert_string_equal(header_map_value(badges, &row, FIELD_STATUS), "");
	extra = header_map_extra_json(badges, &row);
	assert_string_equal(extra, "{\"Status\":\"Cold\",\"Step\":\"2\"}");
	free(extra);
	make_record(&row, "a@x.example|replied|event-followup|value|2026-03-12T13:05:00Z|");
	assert_string_equal(header_map_value(export, &row, FIELD_STATUS), "replied");
	assert_null(header_map_extra_json(export, &row));
	csv_record_release(&row);
	header_map_free(badges);
	header_map_free(export);
}

/* The canonical names of tests/data/header_aliases.tsv, as fields. */
static enum lead_field tsv_field(const char *canonical)
{
	static const struct { const char *name; enum lead_field field; } names[] = {
		{ "full_name", FIELD_NAME }, { "job_title", FIELD_TITLE },
		{ "scanned_by", FIELD_OWNER }, { "consent_INVERTED", FIELD_OPT_OUT },
		{ "qualifiers", FIELD_EXTRA }, { "booth", FIELD_EXTRA },
	};
	int f = field_from_name(canonical);

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(canonical, names[i].name))
			return names[i].field;
	if (f < 0)
		fail_msg("unknown canonical name '%s' in header_aliases.tsv", canonical);
	return (enum lead_field)f;
}

/* Every alias of the reference list maps to its field (scanner names excepted). */
static void test_fields__reference_alias_list(void **state)
{
	FILE *tsv = fopen("tests/data/header_aliases.tsv", "r");
	char line[2048];
	int checked = 0;

	(void)state;
	assert_non_null(tsv);
	while (fgets(line, sizeof(line), tsv)) {
		char *canonical = strtok(line, "\t\n"), *aliases = strtok(NULL, "\t\n"), *alias;
		enum lead_field field;

		if (!canonical || canonical[0] == '#' || !aliases)
			continue;
		field = tsv_field(canonical);
		for (alias = strtok(aliases, "|"); alias; alias = strtok(NULL, "|")) {
			enum lead_field want = field, got;
			char *header = xasprintf("%s|%s", alias, field == FIELD_EMAIL ? "X" : "E-mail");
			struct header_map *map;

			if (!strcmp(alias, "Device Name") || !strcmp(alias, "Device") ||
			    !strcmp(alias, "device_name") || !strcmp(alias, "User"))
				want = FIELD_EXTRA;     /* a scanner, not a rep */
			map = map_of(header, NULL, 0);
			got = field_of_column(map, 0);
			if (got != want)
				fail_msg("'%s' (%s) maps to %s", alias, canonical, field_name(got));
			header_map_free(map);
			free(header);
			checked++;
		}
	}
	fclose(tsv);
	assert_true(checked > 150);
}

struct expected_column {
	enum lead_field field;
	int column;
};

static struct header_map *map_sample(const char *file, struct csv_reader **r,
				     struct csv_record *rec)
{
	struct header_map *map = NULL;
	char *err = NULL;

	if (csv_open(r, file, &err) || csv_read(*r, rec, &err) != 1 ||
	    header_map_build(&map, rec, NULL, 0, &err))
		fail_msg("%s: %s", file, err);
	return map;
}

static void test_fields__vendor_sample_headers(void **state)
{
	static const struct {
		const char *file;
		int time_column;
		struct expected_column columns[13];
	} samples[] = {
		{ "tests/data/A_eventyay_style_leads.csv", 4, {
			{ FIELD_EMAIL, 10 }, { FIELD_NAME, 9 }, { FIELD_COMPANY, 11 },
			{ FIELD_NOTES, 12 }, { FIELD_SCANNED_AT, 3 }, { FIELD_BADGE_ID, 2 },
			{ FIELD_OWNER, -1 }, { FIELD_FIRST_NAME, -1 }, { FIELD_EVENT, -1 },
			{ FIELD_COUNT, 0 } } },
		{ "tests/data/B_eventbrite_attendee_excel_cp1252.csv", -1, {
			{ FIELD_EMAIL, 4 }, { FIELD_FIRST_NAME, 2 }, { FIELD_LAST_NAME, 3 },
			{ FIELD_BADGE_ID, 7 }, { FIELD_TITLE, 12 }, { FIELD_COMPANY, 13 },
			{ FIELD_PHONE, 14 }, { FIELD_COUNTRY, 15 }, { FIELD_NOTES, 18 },
			{ FIELD_SCANNED_AT, -1 }, { FIELD_NAME, -1 }, { FIELD_COUNT, 0 } } },
		{ "tests/data/C_eu_semicolon_sep_validar_style.csv", -1, {
			{ FIELD_FIRST_NAME, 0 }, { FIELD_LAST_NAME, 1 }, { FIELD_TITLE, 2 },
			{ FIELD_COMPANY, 3 }, { FIELD_EMAIL, 4 }, { FIELD_COUNTRY, 5 },
			{ FIELD_BADGE_ID, 6 }, { FIELD_SCANNED_AT, 7 }, { FIELD_OWNER, 8 },
			{ FIELD_RATING, 9 }, { FIELD_NOTES, 10 }, { FIELD_CONSENT, 11 },
			{ FIELD_COUNT, 0 } } },
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(samples); i++) {
		struct csv_reader *r = NULL;
		struct csv_record rec = CSV_RECORD_INIT;
		struct header_map *map = map_sample(samples[i].file, &r, &rec);

		for (const struct expected_column *c = samples[i].columns; c->field != FIELD_COUNT; c++)
			if (header_map_column(map, c->field) != c->column)
				fail_msg("%s: %s is column %d, want %d", samples[i].file,
					 field_name(c->field), header_map_column(map, c->field),
					 c->column);
		assert_int_equal(header_map_time_column(map), samples[i].time_column);
		header_map_free(map);
		csv_record_release(&rec);
		csv_close(r);
	}
}

/* Sample A's rows through the map: values trimmed, scan date and time joined, extra. */
static void test_fields__vendor_sample_values(void **state)
{
	struct csv_reader *r = NULL;
	struct csv_record rec = CSV_RECORD_INIT;
	struct header_map *map = map_sample("tests/data/A_eventyay_style_leads.csv", &r, &rec);
	char *err = NULL, *when, *extra;

	(void)state;
	assert_int_equal(csv_read(r, &rec, &err), 1);
	when = header_map_scanned_at(map, &rec);
	assert_string_equal(when, "2025-03-04 14:15:09");
	extra = header_map_extra_json(map, &rec);
	assert_string_equal(extra, "{\"ID\":\"101\",\"Exhibitor\":\"Acme Robotics\","
			    "\"Scan Type\":\"lead\",\"Device Name\":\"iPad Booth A\","
			    "\"Booth ID\":\"B12\",\"Booth Name\":\"Hall 3 B12\",\"Tags\":\"hot\"}");
	free(when);
	free(extra);
	while (csv_read(r, &rec, &err) == 1)
		;
	csv_close(r);
	/* The last row: no email, company padded, no note and no tags. */
	r = NULL;
	assert_int_equal(csv_open(&r, "tests/data/A_eventyay_style_leads.csv", &err), CSV_OK);
	while (csv_read(r, &rec, &err) == 1 && rec.line != 8)
		;
	assert_string_equal(header_map_value(map, &rec, FIELD_EMAIL), "");
	assert_string_equal(header_map_value(map, &rec, FIELD_COMPANY), "Tailspin Toys");
	assert_string_equal(header_map_value(map, &rec, FIELD_NAME), "Siobhán O'Brien");
	assert_string_equal(header_map_value(map, &rec, FIELD_NOTES), "");
	assert_string_equal(header_map_value(map, &rec, FIELD_OWNER), "");
	header_map_free(map);
	csv_record_release(&rec);
	csv_close(r);
}

/* Which column a field comes from when several could give it. */
static const struct {
	const char *header;
	enum lead_field field;
	int column, time_column;
} choices[] = {
	{ "Email|Title|Job Title", FIELD_TITLE, 2, -1 },        /* Title is then Dr/Ms */
	{ "Email|Job Title|Title", FIELD_TITLE, 1, -1 },
	{ "Email|Title", FIELD_TITLE, 1, -1 },
	{ "Email|Work Email", FIELD_EMAIL, 0, -1 },             /* the first wins */
	{ "Work Email|Email", FIELD_EMAIL, 0, -1 },
	{ "Email|Phone|Mobile", FIELD_PHONE, 1, -1 },
	{ "Email|Scanned Date|Scan Time", FIELD_SCANNED_AT, 1, 2 },
	{ "Email|Scan Time|Scanned Date", FIELD_SCANNED_AT, 2, 1 },
	{ "Email|Scan Date|Scan Time", FIELD_SCANNED_AT, 1, 2 },
	{ "Email|Scanned At|Scan Time", FIELD_SCANNED_AT, 1, -1 },  /* no date-only column */
	{ "Email|Timestamp|Scan Date", FIELD_SCANNED_AT, 1, -1 },
	{ "Email|Scan Time", FIELD_SCANNED_AT, 1, -1 },
	/* The pairs vendors and CRMs write, either way round. */
	{ "Email|Capture Date|Capture Time", FIELD_SCANNED_AT, 1, 2 },
	{ "Email|Date Scanned|Time Scanned", FIELD_SCANNED_AT, 1, 2 },
	{ "Email|Time Scanned|Date Scanned", FIELD_SCANNED_AT, 2, 1 },
	{ "Email|Lead Date|Lead Time", FIELD_SCANNED_AT, 1, 2 },
	{ "Email|Date Captured|Time Captured", FIELD_SCANNED_AT, 1, 2 },
	{ "Email|Scan Date|Scan Time (UTC)", FIELD_SCANNED_AT, 1, 2 },
	{ "Email|Capture Time", FIELD_SCANNED_AT, 1, -1 },     /* may hold the whole stamp */
	{ "Email|Lead Time", FIELD_SCANNED_AT, -1, -1 },  /* alone, a sales cycle's length */
};

static void test_fields__first_column_wins_and_date_time_pair(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(choices); i++) {
		struct header_map *map = map_of(choices[i].header, NULL, 0);
		if (header_map_column(map, choices[i].field) != choices[i].column ||
		    header_map_time_column(map) != choices[i].time_column)
			fail_msg("'%s': %s from column %d (time %d), want %d (time %d)",
				 choices[i].header, field_name(choices[i].field),
				 header_map_column(map, choices[i].field),
				 header_map_time_column(map), choices[i].column,
				 choices[i].time_column);
		header_map_free(map);
	}
}

static void test_fields__scanned_at_joins_date_and_time(void **state)
{
	struct header_map *map = map_of("Email|Scan Time|Scanned Date|Scanned At", NULL, 0);
	struct csv_record row = CSV_RECORD_INIT;
	char *when;

	(void)state;
	make_record(&row, "a@b.example| 14:15:09 |2025-03-04|ignored");
	when = header_map_scanned_at(map, &row);
	assert_string_equal(when, "2025-03-04 14:15:09");
	free(when);
	make_record(&row, "a@b.example||2025-03-04|x");        /* no time: the date alone */
	when = header_map_scanned_at(map, &row);
	assert_string_equal(when, "2025-03-04");
	free(when);
	make_record(&row, "a@b.example|14:15||x");              /* no date: nothing */
	assert_null(header_map_scanned_at(map, &row));
	make_record(&row, "a@b.example");                       /* a short row */
	assert_null(header_map_scanned_at(map, &row));
	/* the whole stamp in the time column: taken alone, not joined to the date */
	make_record(&row, "a@b.example|2025-03-04 14:15:09|2025-03-04|x");
	when = header_map_scanned_at(map, &row);
	assert_string_equal(when, "2025-03-04 14:15:09");
	free(when);
	make_record(&row, "a@b.example|04.03.2025 14:15|04.03.2025|x");
	when = header_map_scanned_at(map, &row);
	assert_string_equal(when, "04.03.2025 14:15");
	free(when);
	make_record(&row, "a@b.example|14:15 -05:00|2025-03-04|x");   /* an offset is no date */
	when = header_map_scanned_at(map, &row);
	assert_string_equal(when, "2025-03-04 14:15 -05:00");
	free(when);
	header_map_free(map);
	csv_record_release(&row);
}

static void test_fields__map_overrides(void **state)
{
	const char *spanish[] = { "Correo=email", " Nombre = first_name ", "color=EXTRA" };
	const char *buyer[] = { "buyer_email=email" };
	const char *drop[] = { "Notes=ignore", "Scan Date=scanned_at", "Hora=scanned_at" };
	struct csv_record row = CSV_RECORD_INIT;
	struct header_map *map;
	char *extra;

	(void)state;
	map = map_of("Correo|Nombre|Color", spanish, ARRAY_SIZE(spanish));
	make_record(&row, "ana@x.example|Ana|blue");
	assert_string_equal(header_map_value(map, &row, FIELD_EMAIL), "ana@x.example");
	assert_string_equal(header_map_value(map, &row, FIELD_FIRST_NAME), "Ana");
	extra = header_map_extra_json(map, &row);
	assert_string_equal(extra, "{\"Color\":\"blue\"}");
	free(extra);
	header_map_free(map);

	/* The column named by --map wins over the column an alias gave the same field. */
	map = map_of("Email|Buyer Email", buyer, 1);
	make_record(&row, "scanned@x.example|buyer@x.example");
	assert_string_equal(header_map_value(map, &row, FIELD_EMAIL), "buyer@x.example");
	extra = header_map_extra_json(map, &row);
	assert_string_equal(extra, "{\"Email\":\"scanned@x.example\"}");
	free(extra);
	header_map_free(map);

	/* A later email column stands in when the first is empty. */
	map = map_of("Work Email|Email|E-mail", NULL, 0);
	make_record(&row, "|home@x.example|third@x.example");
	assert_string_equal(header_map_value(map, &row, FIELD_EMAIL), "");
	assert_string_equal(header_map_other_email(map, &row), "home@x.example");
	make_record(&row, "||third@x.example");
	assert_string_equal(header_map_other_email(map, &row), "third@x.example");
	make_record(&row, "w@x.example||");
	assert_string_equal(header_map_other_email(map, &row), "");
	header_map_free(map);

	/* The buyer's columns stay extra and stand in only when asked; the placeholder is "". */
	map = map_of("Email|Buyer Email |Buyer First Name|Buyer Last Name", NULL, 0);
	make_record(&row, "Info Requested|m@x.example|Marco|Rossi");
	assert_string_equal(header_map_value(map, &row, FIELD_EMAIL), "");
	assert_string_equal(header_map_buyer_value(map, &row, FIELD_EMAIL), "m@x.example");
	assert_string_equal(header_map_buyer_value(map, &row, FIELD_FIRST_NAME), "Marco");
	assert_string_equal(header_map_buyer_value(map, &row, FIELD_LAST_NAME), "Rossi");
	assert_string_equal(header_map_buyer_value(map, &row, FIELD_COMPANY), "");
	extra = header_map_extra_json(map, &row);
	assert_string_equal(extra, "{\"Buyer Email\":\"m@x.example\",\"Buyer First Name\":"
			    "\"Marco\",\"Buyer Last Name\":\"Rossi\"}");
	free(extra);
	header_map_free(map);
	map = map_of("Email", NULL, 0);
	make_record(&row, "a@x.example");
	assert_string_equal(header_map_buyer_value(map, &row, FIELD_EMAIL), "");
	header_map_free(map);

	/* ignore drops a column; two columns named scanned_at by --map join as date + time. */
	map = map_of("Email|Notes|Scan Date|Hora", drop, ARRAY_SIZE(drop));
	make_record(&row, "a@x.example|secret|04.03.2025|14:15");
	assert_string_equal(header_map_value(map, &row, FIELD_NOTES), "");
	assert_null(header_map_extra_json(map, &row));
	extra = header_map_scanned_at(map, &row);
	assert_string_equal(extra, "04.03.2025 14:15");
	free(extra);
	header_map_free(map);
	csv_record_release(&row);
}

static void test_fields__map_and_header_errors(void **state)
{
	static const struct {
		const char *header, *override, *message;
	} cases[] = {
		{ "Correo|Nombre|Color", NULL,
		  "no email column (headers: 'Correo', 'Nombre', 'Color'); name one with --map" },
		{ "|", NULL, "no email column (headers: none)" },
		{ "Correo|Nombre", "Correo=emial", "--map 'Correo=emial': unknown field 'emial'" },
		{ "Correo|Nombre", "Mail=email", "--map 'Mail=email': no column 'Mail' in the file" },
		{ "Correo|Nombre", "Correo", "--map 'Correo': expected 'Header=field'" },
		{ "Correo|Nombre", "=email", "expected 'Header=field'" },
		{ "Correo|Nombre", "Correo=", "expected 'Header=field'" },
		{ "Email|Nombre", "Email=ignore", "no email column" },
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *overrides[] = { cases[i].override };
		char *err = map_error(cases[i].header, overrides, cases[i].override ? 1 : 0);
		if (!strstr(err, cases[i].message))
			fail_msg("'%s' with '%s': got '%s'", cases[i].header,
				 cases[i].override ? cases[i].override : "", err);
		free(err);
	}
}

static void test_fields__values_and_extra_json(void **state)
{
	struct header_map *map = map_of(" Email |\xEF\xBB\xBF" "Färg | Färg|Size||Phone", NULL, 0);
	struct csv_record row = CSV_RECORD_INIT;
	char *extra;

	(void)state;
	make_record(&row, "  a@b.example \t|  blå |röd| |lost|'+46 8 555");
	assert_string_equal(header_map_value(map, &row, FIELD_EMAIL), "a@b.example");
	assert_string_equal(header_map_value(map, &row, FIELD_PHONE), "+46 8 555");
	assert_string_equal(header_map_value(map, &row, FIELD_COMPANY), "");
	/* Keys as written, trimmed; the second of a name and one without a name get their
	 * own key; empty values left out. */
	extra = header_map_extra_json(map, &row);
	assert_string_equal(extra, "{\"Färg\":\"blå\",\"Färg (2)\":\"röd\",\"Column 5\":\"lost\"}");
	free(extra);
	make_record(&row, "a@b.example||'=1+1");                /* a short row */
	extra = header_map_extra_json(map, &row);
	assert_string_equal(extra, "{\"Färg (2)\":\"=1+1\"}");
	free(extra);
	make_record(&row, "a@b.example");
	assert_null(header_map_extra_json(map, &row));
	assert_string_equal(header_map_value(map, &row, FIELD_PHONE), "");
	header_map_free(map);
	csv_record_release(&row);
}

/* No value is lost to a repeated or missing header (the tester's file). */
static void test_fields__every_extra_value_kept(void **state)
{
	static const struct {
		const char *header, *row, *extra, *notes;
	} cases[] = {
		{ "Email|Name|Tag|Tag||Notes|Notes", "h1@x.example|H|t1|t2|orphan|n1|n2",
		  "{\"Tag\":\"t1\",\"Tag (2)\":\"t2\",\"Column 5\":\"orphan\",\"Notes\":\"n2\"}", "n1" },
		{ "Email|Name||", "a@x.example|A||kept", "{\"Column 4\":\"kept\"}", "" },
		/* A header that is already someone's "(2)" is not overwritten. */
		{ "Email|Tag (2)|Tag|Tag", "a@x.example|a|b|c",
		  "{\"Tag (2)\":\"a\",\"Tag\":\"b\",\"Tag (3)\":\"c\"}", "" },
		/* Keys are as written: "tag" and "Tag" are two keys, as templates see them. */
		{ "Email|Tag|tag", "a@x.example|a|b", "{\"Tag\":\"a\",\"tag\":\"b\"}", "" },
		/* export's own columns read back: the second "Status" is extra "Status". */
		{ "Email|Status|Last Touch|Next Due|Status", "a@x.example|cold|||Hot",
		  "{\"Status\":\"Hot\"}", "" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct header_map *map = map_of(cases[i].header, NULL, 0);
		struct csv_record row = CSV_RECORD_INIT;
		char *extra;

		make_record(&row, cases[i].row);
		extra = header_map_extra_json(map, &row);
		if (!extra || strcmp(extra, cases[i].extra))
			fail_msg("'%s': extra %s, want %s", cases[i].header, extra ? extra : "NULL",
				 cases[i].extra);
		assert_string_equal(header_map_value(map, &row, FIELD_NOTES), cases[i].notes);
		free(extra);
		csv_record_release(&row);
		header_map_free(map);
	}
}

/* `followup export` writes a header "=cmd" as "'=cmd": it reads back as "=cmd". */
static void test_fields__header_formula_guard_removed(void **state)
{
	struct header_map *map = map_of("Email|'=cmd|''+x|'Brien|' -1|'@Sales", NULL, 0);
	struct csv_record row = CSV_RECORD_INIT;
	char *extra;

	(void)state;
	make_record(&row, "a@x.example|1|2|3|4|5");
	extra = header_map_extra_json(map, &row);
	assert_string_equal(extra, "{\"=cmd\":\"1\",\"'+x\":\"2\",\"'Brien\":\"3\","
			    "\"' -1\":\"4\",\"@Sales\":\"5\"}");
	free(extra);
	csv_record_release(&row);
	header_map_free(map);
	/* The guard is gone before the aliases are looked up. */
	map = map_of("'-E-mail|Name", NULL, 0);
	assert_int_equal(header_map_column(map, FIELD_EMAIL), 0);
	header_map_free(map);
}

/* A date column whose cells carry a midnight clock (Excel's date-only cell) joins the
 * time column as that date and that time; any other clock stays, for the parser to
 * refuse the pair. */
static void test_fields__scanned_at_date_at_midnight(void **state)
{
	static const struct {
		const char *row, *want;
	} cases[] = {
		{ "a@b.example|3/5/2026 0:00|14:15", "3/5/2026 14:15" },
		{ "a@b.example|3/5/2026 00:00:00|2:15 PM", "3/5/2026 2:15 PM" },
		{ "a@b.example|2026-03-05T00:00:00|14:15", "2026-03-05 14:15" },
		{ "a@b.example|2026-03-05T00:00:00.000|14:15", "2026-03-05 14:15" },
		{ "a@b.example|3/5/2026 12:00 AM|14:15", "3/5/2026 14:15" },
		{ "a@b.example|3/5/2026 12:00:00 a.m.|14:15", "3/5/2026 14:15" },
		{ "a@b.example|Mar 5 2026 0:00|14:15", "Mar 5 2026 14:15" },
		{ "a@b.example|3/5/2026 0:00|", "3/5/2026 0:00" },          /* no time: as is */
		{ "a@b.example|3/5/2026 9:00|14:15", "3/5/2026 9:00 14:15" },  /* refused later */
		{ "a@b.example|3/5/2026 12:00|14:15", "3/5/2026 12:00 14:15" },  /* noon */
		{ "a@b.example|2026-03-05T00:00:00Z|14:15", "2026-03-05T00:00:00Z 14:15" },
		{ "a@b.example|3/5/2026 0:01|14:15", "3/5/2026 0:01 14:15" },
	};
	struct header_map *map = map_of("Email|Capture Date|Capture Time", NULL, 0);
	struct csv_record row = CSV_RECORD_INIT;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *when;

		make_record(&row, cases[i].row);
		when = header_map_scanned_at(map, &row);
		if (!when || strcmp(when, cases[i].want))
			fail_msg("'%s': '%s', want '%s'", cases[i].row, when ? when : "NULL",
				 cases[i].want);
		free(when);
	}
	csv_record_release(&row);
	header_map_free(map);
}

/* A hint for a column that holds the scan time under a name no alias knows. */
static void test_fields__scan_time_hint(void **state)
{
	static const struct {
		const char *header, *hint;
	} cases[] = {
		{ "Email|Created Date", "Created Date" }, { "Email|Date", "Date" },
		{ "Email|Name|Scanned", "Scanned" }, { "Email|Scan Timestamp", "Scan Timestamp" },
		{ "Email|Captured", "Captured" }, { "Email|Lead Captured On", "Lead Captured On" },
		{ "Email|Name|Company", NULL },
		{ "Email|Scanned At|Created Date", NULL },         /* a column is scanned_at */
		{ "Email|Date of Birth|Last Modified Date|Scan ID|Scan Count|Created By", NULL },
		{ "Email|Time Zone", NULL },                         /* a field of its own */
		{ "Email|CreatedDate", "CreatedDate" },               /* Salesforce */
		{ "Email|Candidate|Validated|Mandate|Scanner", NULL },   /* words, not parts */
		{ "Email|Consent Date|Unsubscribed Date", NULL },   /* when they said so */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct header_map *map = map_of(cases[i].header, NULL, 0);
		const char *hint = header_map_scan_time_hint(map);
		if (cases[i].hint ? !hint || strcmp(hint, cases[i].hint) : hint != NULL)
			fail_msg("'%s': hint '%s', want '%s'", cases[i].header, hint ? hint : "NULL",
				 cases[i].hint ? cases[i].hint : "NULL");
		header_map_free(map);
	}
	/* A column --map named otherwise, or ignored, is settled: no hint. */
	{
		const char *overrides[] = { "Created Date=ignore" };
		struct header_map *map = map_of("Email|Created Date", overrides, 1);
		assert_null(header_map_scan_time_hint(map));
		header_map_free(map);
	}
}

/* A column that reads like an opt-out or a consent that no alias claims is named, so that
 * the import can say it is not read; one that is read is not. */
static void test_fields__permission_hint(void **state)
{
	static const struct {
		const char *header, *hints[3];
	} cases[] = {
		{ "Email|SMS Opt-Out|Unsubscribe Reason", { "SMS Opt-Out", "Unsubscribe Reason" } },
		{ "Email|Consent Date", { "Consent Date" } },
		{ "Email|Phone Do Not Contact|Name", { "Phone Do Not Contact" } },
		{ "Email|Opt Out|Consent", { NULL } },                 /* both read */
		{ "Email|Opt Out|Do Not Email", { NULL } },   /* the second is read too */
		{ "Email|Name|Company|Option", { NULL } },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct header_map *map = map_of(cases[i].header, NULL, 0);
		size_t n = 0;

		for (; cases[i].hints[n]; n++) {
			const char *hint = header_map_permission_hint(map, n);
			if (!hint || strcmp(hint, cases[i].hints[n]))
				fail_msg("'%s': hint %zu '%s', want '%s'", cases[i].header, n,
					 hint ? hint : "NULL", cases[i].hints[n]);
		}
		if (header_map_permission_hint(map, n))
			fail_msg("'%s': hint %zu '%s', want none", cases[i].header, n,
				 header_map_permission_hint(map, n));
		header_map_free(map);
	}
	{
		const char *overrides[] = { "SMS Opt-Out=extra" };      /* settled by --map */
		struct header_map *map = map_of("Email|SMS Opt-Out", overrides, 1);
		assert_null(header_map_permission_hint(map, 0));
		header_map_free(map);
	}
}

static void test_fields__unneutralise(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "'=SUM(A1)", "=SUM(A1)" }, { "'+46", "+46" }, { "'-5", "-5" }, { "'@x", "@x" },
		{ "''=x", "'=x" }, { "'\tx", "\tx" }, { "O'Brien", "O'Brien" },
		{ "'Brien", "'Brien" }, { "'", "'" }, { "''", "''" }, { "", "" }, { "=x", "=x" },
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *v = xstrdup(cases[i].in);
		field_unneutralise(v);
		if (strcmp(v, cases[i].out))
			fail_msg("'%s' -> '%s', want '%s'", cases[i].in, v, cases[i].out);
		free(v);
	}
}

static void test_fields__email_plausibility(void **state)
{
	static const struct { const char *email; const char *reason; } cases[] = {
		{ "dana.whitfield@northwind.example", NULL },
		{ "Renee.LEFEVRE@Example.FR", NULL },
		{ "a+tag@sub.domain.co.uk", NULL },
		{ "  padded@example.com \t", NULL },
		{ "o'brien@example.ie", NULL },
		{ "x@xn--80akhbyknj4f.xn--p1ai", NULL },
		{ "müller@bücher.de", NULL },
		{ "a@b-c.example", NULL },
		{ "", "empty" },
		{ "   ", "empty" },
		{ "Info Requested", "contains a space" },
		{ "jan.novak gmail.com", "contains a space" },
		{ "ming.zhao", "missing @" },
		{ "ming.zhao@", "no domain after the @" },
		{ "m.rossi@example,com", "contains a comma" },
		{ "a@x.com; b@y.com", "several addresses in one cell" },
		{ "a@x.com,b@y.com", "several addresses in one cell" },
		{ "a@x.com b@y.com", "several addresses in one cell" },
		{ "a@x.com\nb@y.com", "several addresses in one cell" },
		{ "a@x.com <b@y.com>", "several addresses in one cell" },
		{ "a@x.com;", "contains a semicolon" },
		{ "Dana <d@x.com>", "contains a space" },
		{ "<d@x.com>", "not allowed" },
		{ "a@@b.com", "more than one @" },
		{ "a@b@c.com", "more than one @" },
		{ "@b.com", "nothing before the @" },
		{ "a@localhost", "no dot in the domain" },
		{ "a@b.c", "top-level domain shorter than two letters" },
		{ "a@b..com", "empty label in the domain" },
		{ "a@.b.com", "empty label in the domain" },
		{ "a@b.com.", "empty label in the domain" },
		{ "a@b.123", "top-level domain is not letters" },
		{ "a@10.0.0.1", "top-level domain is not letters" },
		{ "a@b_c.com", "invalid character in the domain" },
		{ "x\r\nBcc: y@z.com", "contains a control character" },
		{ "x\x01@z.com", "contains a control character" },
		{ "a.@x.com", "a dot at the start or end" },
		{ ".a@x.com", "a dot at the start or end" },
		{ "a..b@x.com", "two dots in a row" },
		{ "mailto:m@x.com", "mailto" },
		{ "a@-x.com", "starts or ends with '-'" },
		{ "a@x-.com", "starts or ends with '-'" },
		{ "a@x.-com", "starts or ends with '-'" },
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *reason = "unset";
		int ok = email_plausible(cases[i].email, &reason);

		if (!cases[i].reason && (!ok || reason))
			fail_msg("'%s' rejected: %s", cases[i].email, reason);
		if (cases[i].reason && (ok || !reason || !strstr(reason, cases[i].reason)))
			fail_msg("'%s': got %d (%s), want '%s'", cases[i].email, ok,
				 reason ? reason : "-", cases[i].reason);
	}
}

/* What spreadsheets and mail clients make of an address, reduced to it. */
static void test_fields__email_from_cell(void **state)
{
	static const struct { const char *cell, *email; } cases[] = {
		{ "ann@x.example", "ann@x.example" },
		{ "mailto:ann@x.example", "ann@x.example" },
		{ "MAILTO:ann@x.example", "ann@x.example" },
		{ "Ann Lee <ann@x.example>", "ann@x.example" },
		{ "\"Lee, Ann\" <ann@x.example>", "ann@x.example" },
		{ "<ann@x.example>", "ann@x.example" },
		/* Outlook's separator, a sentence's full stop. */
		{ "ann@x.example;", "ann@x.example" },
		{ "ann@x.example,", "ann@x.example" },
		{ "ann@x.example.", "ann@x.example" },
		{ "ann@x.example; ", "ann@x.example" },
		{ "Ann Lee <ann@x.example>;", "ann@x.example" },
		{ "mailto:ann@x.example;", "ann@x.example" },
		{ "ann@10.0.0.1", "ann@10.0.0.1" },         /* a digit ends no separator */
		/* Two addresses stay whole, for email_plausible to refuse. */
		{ "a@x.example; b@y.example;", "a@x.example; b@y.example" },
		{ "a@x.example <b@y.example>", "a@x.example <b@y.example>" },
		{ "Ann\n<b@y.example>", "Ann\n<b@y.example>" },
		{ ";", "" },
		{ "", "" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *cell = xstrdup(cases[i].cell);

		if (strcmp(email_from_cell(cell), cases[i].email))
			fail_msg("'%s' gives '%s', want '%s'", cases[i].cell, cell, cases[i].email);
		free(cell);
	}
}

static void test_fields__name_split(void **state)
{
	static const struct { const char *full, *first, *last; } cases[] = {
		{ "Dana Whitfield", "Dana", "Whitfield" },
		{ "Renée Lefèvre-Özdemir", "Renée", "Lefèvre-Özdemir" },
		{ "Whitfield, Dana", "Dana", "Whitfield" },
		{ "Whitfield,Dana", "Dana", "Whitfield" },
		{ "Cher", "Cher", NULL },
		{ "  Mary Ann van der Berg ", "Mary", "Ann van der Berg" },
		{ "Dana   Whitfield", "Dana", "Whitfield" },
		{ "Dr. Dana Whitfield", "Dana", "Whitfield" },
		{ "Prof. Dr. Anna Schmidt", "Anna", "Schmidt" },
		{ "Prof. Dr.", "Prof.", "Dr." },
		{ "Prof Ingrid Holm", "Ingrid", "Holm" },
		{ "Dr Who", "Dr", "Who" },
		{ "Dana Whitfield, PhD", "Dana", "Whitfield, PhD" },
		{ "Dana Whitfield, Ph.D.", "Dana", "Whitfield, Ph.D." },
		{ "Martin Luther King, Jr.", "Martin", "Luther King, Jr." },
		{ "Whitfield,", NULL, "Whitfield" },
		{ "", NULL, NULL },
		{ "   ", NULL, NULL },
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *first = (char *)"unset", *last = (char *)"unset";
		name_split(cases[i].full, &first, &last);
		if ((cases[i].first ? !first || strcmp(first, cases[i].first) : first != NULL) ||
		    (cases[i].last ? !last || strcmp(last, cases[i].last) : last != NULL))
			fail_msg("'%s' -> '%s' / '%s'", cases[i].full, first ? first : "(null)",
				 last ? last : "(null)");
		free(first);
		free(last);
	}
}

static void test_fields__flags(void **state)
{
	static const struct { const char *value; int yes, no; } cases[] = {
		{ "yes", 1, 0 }, { "Yes", 1, 0 }, { " Y ", 1, 0 }, { "1", 1, 0 }, { "TRUE", 1, 0 },
		{ "x", 1, 0 }, { "X", 1, 0 }, { "Ja", 1, 0 }, { "oui", 1, 0 },
		{ "no", 0, 1 }, { "N", 0, 1 }, { "0", 0, 1 }, { "False", 0, 1 }, { "NEIN", 0, 1 },
		{ "non", 0, 1 }, { "\tno\t", 0, 1 },
		{ "on", 1, 0 }, { "Checked", 1, 0 }, { "\u2713", 1, 0 }, { "off", 0, 1 },
		{ "unchecked", 0, 1 }, { "N/A", 0, 1 }, { "Nej", 0, 1 },
		{ "", 0, 0 }, { "  ", 0, 0 }, { NULL, 0, 0 }, { "maybe", 0, 0 }, { "yess", 0, 0 },
		{ "2", 0, 0 }, { "a very long value indeed", 0, 0 },
	};
	/* Unclear values (-1) are taken the safe way by import: opted out, no consent. */
	static const struct { const char *value; int opt_out, consent; } columns[] = {
		{ "", 0, 1 }, { NULL, 0, 1 }, { "yes", 1, 1 }, { "no", 0, 0 },
		{ "Opted Out", 1, 0 }, { "UNSUBSCRIBED", 1, 0 }, { "Do Not Email", 1, -1 },
		{ "Opted In", 0, 1 }, { "Granted", -1, 1 }, { "Declined", -1, 0 },
		{ "Not given", -1, 0 }, { "maybe", -1, -1 }, { "yes please", -1, -1 },
		/* German, French, Spanish, Dutch; Salesforce and HubSpot write true/false. */
		{ "Nein", 0, 0 }, { "ja", 1, 1 }, { "Non", 0, 0 }, { "Oui", 1, 1 },
		{ "Sí", 1, 1 }, { "SÍ", 1, 1 }, { "si", 1, 1 }, { "No", 0, 0 }, { "nee", 0, 0 },
		{ "true", 1, 1 }, { "FALSE", 0, 0 }, { "erteilt", -1, 1 }, { "abgelehnt", -1, 0 },
		{ "verweigert", -1, 0 }, { "refusé", -1, 0 }, { "accepté", -1, 1 },
		{ "rechazado", -1, 0 }, { "geweigerd", -1, 0 },
		/* Dynamics' Allow / Do Not Allow; opt-in statuses. */
		{ "Do Not Allow", 1, -1 }, { "Allow", 0, -1 }, { "Do Not Contact", 1, -1 },
		{ "Opt In", 0, 1 }, { "Opt Out", 1, 0 }, { "Double Opt-In", -1, 1 },
		{ "Not Opted In", -1, 0 }, { "Pending", -1, -1 },
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (flag_yes(cases[i].value) != cases[i].yes || flag_no(cases[i].value) != cases[i].no)
			fail_msg("'%s': yes %d no %d", cases[i].value ? cases[i].value : "(null)",
				 flag_yes(cases[i].value), flag_no(cases[i].value));
	for (size_t i = 0; i < ARRAY_SIZE(columns); i++)
		if (opt_out_value(columns[i].value) != columns[i].opt_out ||
		    consent_value(columns[i].value) != columns[i].consent)
			fail_msg("'%s': opt-out %d consent %d",
				 columns[i].value ? columns[i].value : "(null)",
				 opt_out_value(columns[i].value), consent_value(columns[i].value));
}

static void test_fields__field_names(void **state)
{
	(void)state;
	for (int f = 0; f <= FIELD_IGNORE; f++)
		assert_int_equal(field_from_name(field_name((enum lead_field)f)), f);
	assert_int_equal(field_from_name("Scanned_At"), FIELD_SCANNED_AT);
	assert_int_equal(field_from_name("full_name"), FIELD_NAME);
	assert_int_equal(field_from_name("emial"), -1);
	assert_string_equal(field_name(FIELD_BADGE_ID), "badge_id");
	assert_string_equal(field_name(FIELD_OPT_OUT), "opt_out");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields__spec_spellings_and_normalisation),
		cmocka_unit_test(test_fields__reference_alias_list),
		cmocka_unit_test(test_fields__vendor_sample_headers),
		cmocka_unit_test(test_fields__vendor_sample_values),
		cmocka_unit_test(test_fields__first_column_wins_and_date_time_pair),
		cmocka_unit_test(test_fields__scanned_at_joins_date_and_time),
		cmocka_unit_test(test_fields__scanned_at_date_at_midnight),
		cmocka_unit_test(test_fields__map_overrides),
		cmocka_unit_test(test_fields__map_and_header_errors),
		cmocka_unit_test(test_fields__values_and_extra_json),
		cmocka_unit_test(test_fields__every_extra_value_kept),
		cmocka_unit_test(test_fields__header_formula_guard_removed),
		cmocka_unit_test(test_fields__scan_time_hint),
		cmocka_unit_test(test_fields__permission_hint),
		cmocka_unit_test(test_fields__unneutralise),
		cmocka_unit_test(test_fields__email_plausibility),
		cmocka_unit_test(test_fields__export_columns_only_in_an_export),
		cmocka_unit_test(test_fields__email_from_cell),
		cmocka_unit_test(test_fields__name_split),
		cmocka_unit_test(test_fields__flags),
		cmocka_unit_test(test_fields__field_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
