/* Unit tests of header mapping, email plausibility, name splitting and flags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "followup/fields.h"

/* A record made from a '|'-separated line, for building maps and reading values. */
static void make_record(struct csv_record *rec, const char *line)
{
	char *copy = xstrdup(line), *p = copy;

	strbuf_reset(&rec->data);
	rec->count = 0;
	free(rec->fields);
	rec->fields = xcalloc(64, sizeof(char *));
	free(rec->starts);
	rec->starts = xcalloc(64, sizeof(size_t));
	rec->alloc = 64;
	for (;;) {
		char *bar = strchr(p, '|');
		if (bar)
			*bar = '\0';
		rec->starts[rec->count++] = rec->data.len;
		strbuf_addstr(&rec->data, p);
		strbuf_addch(&rec->data, '\0');
		if (!bar)
			break;
		p = bar + 1;
	}
	for (size_t i = 0; i < rec->count; i++)
		rec->fields[i] = rec->data.buf + rec->starts[i];
	free(copy);
}

static void test_fields__vendor_headers_map(void **state)
{
	static const struct { const char *header; const char *row; enum lead_field f; const char *want; } cases[] = {
		{ "ID|Scanned Date|Scan Time|Device Name|Attendee Name|Email|Company|Note",
		  "1|2025-03-04|14:15:09|iPad|Dana Whitfield|d@x.example|NW|hi", FIELD_NAME, "Dana Whitfield" },
		{ "ID|Scanned Date|Scan Time|Device Name|Attendee Name|Email|Company|Note",
		  "1|2025-03-04|14:15:09|iPad|Dana Whitfield|d@x.example|NW|hi", FIELD_OWNER, "" },
		{ "First Name|Last Name|Email|Buyer Email |Job Title|Work Phone|Work Country|Notes||",
		  "Zoe|A|z@x.example|b@x.example|CTO|+46|SE|n||", FIELD_EMAIL, "z@x.example" },
		{ "First Name|Last Name|Email|Buyer Email |Job Title|Work Phone|Work Country|Notes||",
		  "Zoe|A|z@x.example|b@x.example|CTO|+46|SE|n||", FIELD_PHONE, "+46" },
		{ "First Name|Email Address|Badge ID|Scan Date|Scanned By|Lead Rating|Opt-In",
		  "Lu|l@x.example|SC-1|04.03.2025 14:15|Anna Becker|Hot|Yes", FIELD_OWNER, "Anna Becker" },
		{ "E-mail|Company Name|Barcode #", " x@y.example |  Acme |0012", FIELD_BADGE_ID, "0012" },
		{ "E-mail|Company Name|Barcode #", " x@y.example |  Acme |0012", FIELD_COMPANY, "Acme" },
		{ "Email|Title|Job Title", "a@b.example|Dr|CTO", FIELD_TITLE, "CTO" },
		{ "Email|Do Not Email|Consent", "a@b.example|1|no", FIELD_OPT_OUT, "1" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct csv_record header = CSV_RECORD_INIT, row = CSV_RECORD_INIT;
		struct header_map *map;
		char *err = NULL;
		make_record(&header, cases[i].header);
		make_record(&row, cases[i].row);
		if (header_map_build(&map, &header, NULL, 0, &err))
			fail_msg("case %zu: %s", i, err);
		const char *got = header_map_value(map, &row, cases[i].f);
		if (strcmp(got, cases[i].want))
			fail_msg("case %zu: field %s is '%s', want '%s'", i, field_name(cases[i].f),
				 got, cases[i].want);
		header_map_free(map);
		csv_record_release(&header);
		csv_record_release(&row);
	}
}

static void test_fields__date_and_time_columns_join(void **state)
{
	struct csv_record header = CSV_RECORD_INIT, row = CSV_RECORD_INIT;
	struct header_map *map;
	char *err = NULL, *when;

	(void)state;
	make_record(&header, "Email|Scan Time|Scanned Date");
	make_record(&row, "a@b.example|14:15:09|2025-03-04");
	assert_int_equal(header_map_build(&map, &header, NULL, 0, &err), 0);
	when = header_map_scanned_at(map, &row);
	assert_string_equal(when, "2025-03-04 14:15:09");
	free(when);
	header_map_free(map);
	csv_record_release(&header);
	csv_record_release(&row);
}

static void test_fields__map_overrides_and_errors(void **state)
{
	struct csv_record header = CSV_RECORD_INIT, row = CSV_RECORD_INIT;
	struct header_map *map;
	const char *good[] = { "Correo=email", "Nombre = first_name" };
	const char *unknown_field[] = { "Correo=emial" };
	const char *unknown_header[] = { "Mail=email" };
	char *err = NULL;

	(void)state;
	make_record(&header, "Correo|Nombre|Color");
	make_record(&row, "ana@x.example|Ana|blue");
	assert_int_equal(header_map_build(&map, &header, NULL, 0, &err), -1);
	assert_non_null(strstr(err, "no email column"));
	assert_non_null(strstr(err, "'Correo'"));
	assert_non_null(strstr(err, "'Color'"));
	free(err);
	assert_int_equal(header_map_build(&map, &header, unknown_field, 1, &err), -1);
	assert_non_null(strstr(err, "unknown field 'emial'"));
	free(err);
	assert_int_equal(header_map_build(&map, &header, unknown_header, 1, &err), -1);
	assert_non_null(strstr(err, "no column 'Mail'"));
	free(err);
	assert_int_equal(header_map_build(&map, &header, good, 2, &err), 0);
	assert_string_equal(header_map_value(map, &row, FIELD_EMAIL), "ana@x.example");
	char *extra = header_map_extra_json(map, &row);
	assert_string_equal(extra, "{\"Color\":\"blue\"}");
	free(extra);
	header_map_free(map);
	csv_record_release(&header);
	csv_record_release(&row);
}

static void test_fields__email_plausibility(void **state)
{
	static const struct { const char *email; int ok; const char *reason; } cases[] = {
		{ "dana.whitfield@northwind.example", 1, NULL },
		{ "Renee.LEFEVRE@Example.FR", 1, NULL },
		{ "a+tag@sub.domain.co.uk", 1, NULL },
		{ "ming.zhao@", 0, "no domain" },
		{ "", 0, "missing @" },
		{ "Info Requested", 0, "space" },
		{ "m.rossi@example,com", 0, "not allowed" },
		{ "jan.novak gmail.com", 0, "space" },
		{ "a@@b.com", 0, "more than one" },
		{ "@b.com", 0, "nothing before" },
		{ "a@localhost", 0, "no dot" },
		{ "a@b.c", 0, "too short" },
		{ "a@b..com", 0, "empty part" },
		{ "a@b.123", 0, "not a name" },
		{ "x\r\nBcc: y@z.com", 0, "control" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const char *reason;
		int ok = email_plausible(cases[i].email, &reason);
		if (ok != cases[i].ok || (!ok && !strstr(reason, cases[i].reason)))
			fail_msg("'%s': got %d (%s)", cases[i].email, ok, reason ? reason : "-");
	}
}

static void test_fields__name_split(void **state)
{
	static const struct { const char *full, *first, *last; } cases[] = {
		{ "Dana Whitfield", "Dana", "Whitfield" },
		{ "Renée Lefèvre-Özdemir", "Renée", "Lefèvre-Özdemir" },
		{ "Whitfield, Dana", "Dana", "Whitfield" },
		{ "Cher", "Cher", NULL },
		{ "  Mary Ann van der Berg ", "Mary", "Ann van der Berg" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *first, *last;
		name_split(cases[i].full, &first, &last);
		assert_string_equal(first, cases[i].first);
		if (cases[i].last)
			assert_string_equal(last, cases[i].last);
		else
			assert_null(last);
		free(first);
		free(last);
	}
}

static void test_fields__flags(void **state)
{
	(void)state;
	assert_true(flag_yes("Yes"));
	assert_true(flag_yes(" 1 "));
	assert_true(flag_yes("TRUE"));
	assert_false(flag_yes(""));
	assert_false(flag_yes("no"));
	assert_true(flag_no("No"));
	assert_true(flag_no("0"));
	assert_true(flag_no("false"));
	assert_false(flag_no(""));
	assert_false(flag_no(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields__vendor_headers_map),
		cmocka_unit_test(test_fields__date_and_time_columns_join),
		cmocka_unit_test(test_fields__map_overrides_and_errors),
		cmocka_unit_test(test_fields__email_plausibility),
		cmocka_unit_test(test_fields__name_split),
		cmocka_unit_test(test_fields__flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
