/* Unit tests of the CSV reader: RFC 4180 and the real world (SPEC section 5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "followup/csv.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/followup-csv-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int rc = system(cmd);
	(void)state;
	free(cmd);
	return rc;
}

static char *write_file(const char *bytes, size_t len)
{
	static int n;
	char *path = xasprintf("%s/f%d.csv", dir, n++);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, len, f), len);
	fclose(f);
	return path;
}

/* Reads a whole file as "f1|f2\n" per record, with "@line" before each. */
static char *read_all(const char *bytes, size_t len, char *delim, char **errmsg)
{
	char *path = write_file(bytes, len), *err = NULL;
	struct csv_reader *r;
	struct csv_record rec = CSV_RECORD_INIT;
	struct strbuf out = STRBUF_INIT;
	int rc;

	assert_int_equal(csv_open(&r, path, &err), CSV_OK);
	while ((rc = csv_read(r, &rec, &err)) == 1) {
		strbuf_addf(&out, "@%ld ", rec.line);
		for (size_t i = 0; i < rec.count; i++)
			strbuf_addf(&out, "%s%s", i ? "|" : "", rec.fields[i]);
		strbuf_addch(&out, '\n');
	}
	if (delim)
		*delim = csv_delimiter(r);
	*errmsg = rc < 0 ? err : NULL;
	if (rc >= 0)
		free(err);
	csv_record_release(&rec);
	csv_close(r);
	free(path);
	return strbuf_detach(&out);
}

static const struct {
	const char *name, *input, *expected;
	char delimiter;
} cases[] = {
	{ "plain LF", "a,b\n1,2\n", "@1 a|b\n@2 1|2\n", ',' },
	{ "CRLF", "a,b\r\n1,2\r\n", "@1 a|b\n@2 1|2\n", ',' },
	{ "lone CR", "a,b\r1,2\r", "@1 a|b\n@2 1|2\n", ',' },
	{ "no final newline", "a,b\n1,2", "@1 a|b\n@2 1|2\n", ',' },
	{ "BOM", "\xEF\xBB\xBF" "Email,x\n1,2\n", "@1 Email|x\n@2 1|2\n", ',' },
	{ "doubled quotes", "a\n\"say \"\"hi\"\"\"\n", "@1 a\n@2 say \"hi\"\n", ',' },
	{ "embedded CRLF stored as LF", "a,b\n\"x\r\ny\",z\n3,4\n", "@1 a|b\n@2 x\ny|z\n@4 3|4\n", ',' },
	{ "embedded lone CR", "a,b\n\"x\ry\",z\n", "@1 a|b\n@2 x\ny|z\n", ',' },
	{ "quote inside unquoted field is literal", "a,b\n1,x\"\"y\n", "@1 a|b\n@2 1|x\"\"y\n", ',' },
	{ "semicolon sniffed", "a;b;c,d\n1;2;3,4\n", "@1 a|b|c,d\n@2 1|2|3,4\n", ';' },
	{ "tab sniffed", "a\tb\n1\t2\n", "@1 a|b\n@2 1|2\n", '\t' },
	{ "sep= line", "sep=;\r\na;b\r\n1;2\r\n", "@2 a|b\n@3 1|2\n", ';' },
	{ "blank lines skipped", "a\n\n1\n\r\n2\n", "@1 a\n@3 1\n@5 2\n", ',' },
	{ "trailing empty columns", "a,b,,\n1,2,,\n", "@1 a|b||\n@2 1|2||\n", ',' },
	{ "ragged rows", "a,b\n1\n1,2,3\n", "@1 a|b\n@2 1\n@3 1|2|3\n", ',' },
	{ "delimiter in quotes", "a,b\n\"x,y\",z\n", "@1 a|b\n@2 x,y|z\n", ',' },
	{ "windows-1252", "a\ncaf\xe9 \x80" "5\n", "@1 a\n@2 café €5\n", ',' },
};

static void test_csv__table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char delim, *err, *got = read_all(cases[i].input, strlen(cases[i].input), &delim, &err);
		if (strcmp(got, cases[i].expected) || delim != cases[i].delimiter)
			fail_msg("%s: got '%s' (delimiter '%c')", cases[i].name, got, delim);
		assert_null(err);
		free(got);
	}
}

static void test_csv__unterminated_quote_names_its_line(void **state)
{
	const char *in = "a,b\n1,2\n3,\"open\nstill open\n";
	char *err, *got = read_all(in, strlen(in), NULL, &err);

	(void)state;
	assert_non_null(err);
	assert_non_null(strstr(err, ":3: unterminated"));
	free(err);
	free(got);
}

static void test_csv__nul_byte_is_binary(void **state)
{
	char *err, *got = read_all("a\n1\n\0\x01\x02\n", 9, NULL, &err);

	(void)state;
	assert_non_null(err);
	assert_non_null(strstr(err, ":3: binary data"));
	free(err);
	free(got);
}

static void test_csv__conversion_reported_once_with_line(void **state)
{
	char *path = write_file("a\nok\nbad\xe9\nbad\xe8\n", 15), *err = NULL;
	struct csv_reader *r;
	struct csv_record rec = CSV_RECORD_INIT;
	long first = 0;

	(void)state;
	assert_int_equal(csv_open(&r, path, &err), CSV_OK);
	while (csv_read(r, &rec, &err) == 1)
		;
	assert_int_equal(csv_was_converted(r, &first), 1);
	assert_int_equal(first, 3);
	csv_record_release(&rec);
	csv_close(r);
	free(path);
}

static void test_csv__raw_bytes_and_header(void **state)
{
	const char *in = "Email,Notes\r\nx@y.example,\"two\r\nlines\"\r\n";
	char *path = write_file(in, strlen(in)), *err = NULL;
	struct csv_reader *r;
	struct csv_record rec = CSV_RECORD_INIT;

	(void)state;
	assert_int_equal(csv_open(&r, path, &err), CSV_OK);
	assert_int_equal(csv_read(r, &rec, &err), 1);
	assert_int_equal(csv_read(r, &rec, &err), 1);
	assert_string_equal(csv_header_raw(r), "Email,Notes");
	assert_int_equal(rec.raw_len, strlen("x@y.example,\"two\r\nlines\""));
	assert_memory_equal(rec.raw, "x@y.example,\"two\r\nlines\"", rec.raw_len);
	assert_int_equal(csv_offset(r), (off_t)strlen(in));
	assert_int_equal(csv_size(r), (off_t)strlen(in));
	csv_record_release(&rec);
	csv_close(r);
	free(path);
}

static void test_csv__big_cell_and_many_rows_stream(void **state)
{
	struct strbuf in = STRBUF_INIT;
	char *path, *err = NULL;
	struct csv_reader *r;
	struct csv_record rec = CSV_RECORD_INIT;
	long rows = 0;

	(void)state;
	strbuf_addstr(&in, "Email,Notes\n");
	strbuf_addstr(&in, "big@x.example,\"");
	for (int i = 0; i < (1 << 20); i++)
		strbuf_addch(&in, 'n');
	strbuf_addstr(&in, "\"\n");
	for (int i = 0; i < 200000; i++)
		strbuf_addf(&in, "user%d@x.example,short note\n", i);
	path = write_file(in.buf, in.len);
	assert_int_equal(csv_open(&r, path, &err), CSV_OK);
	assert_int_equal(csv_read(r, &rec, &err), 1);
	assert_int_equal(csv_read(r, &rec, &err), 1);
	assert_int_equal(strlen(rec.fields[1]), 1 << 20);
	while (csv_read(r, &rec, &err) == 1)
		rows++;
	assert_int_equal(rows, 200000);
	/* The record buffers hold the largest record, not the file. */
	assert_true(rec.data.alloc < 4 << 20);
	csv_record_release(&rec);
	csv_close(r);
	strbuf_release(&in);
	free(path);
}

static void test_csv__open_errors(void **state)
{
	struct csv_reader *r;
	char *err = NULL, *missing = xasprintf("%s/none.csv", dir);

	(void)state;
	assert_int_equal(csv_open(&r, missing, &err), CSV_EIO);
	assert_non_null(strstr(err, "none.csv"));
	free(err);
	assert_int_equal(csv_open(&r, dir, &err), CSV_EIO);
	assert_non_null(strstr(err, "directory"));
	free(err);
	free(missing);
}

static void test_csv__vendor_samples(void **state)
{
	static const struct { const char *file; long records; char delim; } samples[] = {
		{ "tests/data/A_eventyay_style_leads.csv", 7, ',' },
		{ "tests/data/B_eventbrite_attendee_excel_cp1252.csv", 6, ',' },
		{ "tests/data/C_eu_semicolon_sep_validar_style.csv", 7, ';' },
	};
	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct csv_reader *r;
		struct csv_record rec = CSV_RECORD_INIT;
		char *err = NULL;
		long n = 0;
		assert_int_equal(csv_open(&r, samples[i].file, &err), CSV_OK);
		while (csv_read(r, &rec, &err) == 1)
			n++;
		assert_int_equal(n, samples[i].records);
		assert_int_equal(csv_delimiter(r), samples[i].delim);
		csv_record_release(&rec);
		csv_close(r);
	}
}

static void test_csv__writer_quotes_and_neutralises(void **state)
{
	struct strbuf out = STRBUF_INIT;
	char value[] = "'=SUM(A1)";

	(void)state;
	csv_write_field(&out, "plain", ',', 1);
	strbuf_addch(&out, '|');
	csv_write_field(&out, "a,b \"c\"", ',', 1);
	strbuf_addch(&out, '|');
	csv_write_field(&out, "=SUM(A1)", ',', 1);
	strbuf_addch(&out, '|');
	csv_write_field(&out, "-5", ',', 0);
	assert_string_equal(out.buf, "plain|\"a,b \"\"c\"\"\"|\"'=SUM(A1)\"|-5");
	csv_unneutralise(value);
	assert_string_equal(value, "=SUM(A1)");
	strbuf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv__table),
		cmocka_unit_test(test_csv__unterminated_quote_names_its_line),
		cmocka_unit_test(test_csv__nul_byte_is_binary),
		cmocka_unit_test(test_csv__conversion_reported_once_with_line),
		cmocka_unit_test(test_csv__raw_bytes_and_header),
		cmocka_unit_test(test_csv__big_cell_and_many_rows_stream),
		cmocka_unit_test(test_csv__open_errors),
		cmocka_unit_test(test_csv__vendor_samples),
		cmocka_unit_test(test_csv__writer_quotes_and_neutralises),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
