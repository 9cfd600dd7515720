/* Unit tests of the text helpers that lay out human output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "followup/util.h"

typedef void (*printer)(const char *s, int width, FILE *f);

static char *printed(printer fn, const char *s, int width)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	fn(s, width, f);
	fclose(f);
	return out;
}

static void one_line(const char *s, int width, FILE *f)
{
	(void)width;
	fputs_one_line(s, f);
}

static void test_util__column_pads_and_cuts_on_characters(void **state)
{
	static const struct { const char *in; int width; const char *out; } cases[] = {
		{ "recap", 8, "recap   " },
		{ "abcdefgh", 8, "abcdefgh" },
		{ "abcdefghi", 8, "abcdefg\xe2\x80\xa6" },
		{ "Zoë Ås", 8, "Zoë Ås  " },                   /* 6 characters, 8 bytes */
		{ "abcdefghijkéx", 12, "abcdefghijk\xe2\x80\xa6" },
		{ "événement-suivi", 9, "événemen\xe2\x80\xa6" },   /* never half an é */
		{ "", 3, "   " },
		{ "a\x1b[1mb", 6, "a[1mb " },                /* the escape takes no room */
		{ "x\xc2\x9by", 3, "xy " },                    /* nor a C1 control */
		{ "one\ntwo", 8, "one two " },                /* a line break is a space */
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *out = printed(fputs_column, cases[i].in, cases[i].width);
		assert_string_equal(out, cases[i].out);
		free(out);
	}
}

static void test_util__one_line_joins_line_breaks(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "Big Co\nBranch", "Big Co / Branch" },
		{ "a\r\nb\rc", "a / b / c" },
		{ "plain", "plain" },
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *out = printed(one_line, cases[i].in, 0);
		assert_string_equal(out, cases[i].out);
		free(out);
	}
}

static void escaped(const char *s, int width, FILE *f)
{
	(void)width;
	fputs_escaped(s, f);
}

static void test_util__escaped_shows_control_characters(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "a@b.example\nBcc: x", "a@b.example\\nBcc: x" },
		{ "\r\t\x1b[2J\x7f", "\\r\\t\\x1b[2J\\x7f" },
		{ "Zoë", "Zoë" },       /* UTF-8 is text, not control */
		{ "a\xc2\x9b" "2Jb", "a\\u009b2Jb" },   /* C1 CSI, as UTF-8 */
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *out = printed(escaped, cases[i].in, 0);
		assert_string_equal(out, cases[i].out);
		free(out);
	}
}

static void test_util__utf8_counts_characters(void **state)
{
	(void)state;
	assert_int_equal(utf8_chars("Zoë Ås"), 6);
	assert_int_equal(utf8_prefix_bytes("Zoë Ås", 3), 4);     /* Z o ë: ë is two bytes */
	assert_int_equal(utf8_prefix_bytes("Zoë", 9), 4);        /* fewer: all of it */
	assert_int_equal(utf8_prefix_bytes("abc", 0), 0);
}

static void test_util__utf8_valid_prefix_stops_at_the_first_bad_character(void **state)
{
	static const struct { const char *s; size_t valid; } cases[] = {
		{ "Zo\xc3\xab", 4 },              /* all of it */
		{ "ab\xff", 2 },                  /* no lead byte */
		{ "ab\xc3", 2 },                  /* cut short */
		{ "ab\xc3(", 2 },                 /* no continuation */
		{ "a\xc0\xaf", 1 },               /* overlong '/' */
		{ "a\xed\xa0\x80", 1 },           /* a surrogate */
		{ "\xf0\x9f\x98\x80!\x80", 5 },  /* four bytes, then a stray continuation */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(utf8_valid_prefix(cases[i].s, strlen(cases[i].s)), cases[i].valid);
		assert_int_equal(utf8_valid(cases[i].s, strlen(cases[i].s)),
				 cases[i].valid == strlen(cases[i].s));
	}
	assert_int_equal(utf8_char_bytes('a'), 1);
	assert_int_equal(utf8_char_bytes(0xc3), 2);
	assert_int_equal(utf8_char_bytes(0xe2), 3);
	assert_int_equal(utf8_char_bytes(0xf0), 4);
}

static void test_util__path_absolute_is_against_the_current_directory(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "rel.db", "/tmp/rel.db" },
		{ "./rel.db", "/tmp/rel.db" },
		{ ".//a/./b", "/tmp/a/./b" },        /* only the leading ./ goes */
		{ "../x", "/tmp/../x" },             /* nothing resolved: x need not exist */
		{ ".", "/tmp" },
		{ "/abs/f.db", "/abs/f.db" },
	};
	char *cwd = getcwd(NULL, 0);

	(void)state;
	assert_int_equal(chdir("/tmp"), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *out = path_absolute(cases[i].in);
		assert_string_equal(out, cases[i].out);
		free(out);
	}
	assert_int_equal(chdir("/"), 0);
	char *root = path_absolute("x");
	assert_string_equal(root, "/x");
	free(root);
	assert_int_equal(chdir(cwd), 0);
	free(cwd);
}

static void test_util__text_position_counts_characters(void **state)
{
	const char *text = "ab\n\xc3\xa9x\n\nz";
	static const struct { size_t offset; int line, col; } cases[] = {
		{ 0, 1, 1 }, { 2, 1, 3 }, { 3, 2, 1 }, { 5, 2, 2 }, { 8, 4, 1 }, { 99, 4, 2 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int line, col;
		text_position(text, strlen(text), cases[i].offset, &line, &col);
		assert_int_equal(line, cases[i].line);
		assert_int_equal(col, cases[i].col);
	}
}

static void test_util__same_trimmed_nocase_ignores_case_space_and_bom(void **state)
{
	(void)state;
	assert_true(str_same_trimmed_nocase("Email", " email\t"));
	assert_true(str_same_trimmed_nocase("\xEF\xBB\xBF" "First Name", "FIRST NAME"));
	assert_true(str_same_trimmed_nocase(NULL, "  "));
	assert_true(str_same_trimmed_nocase("", ""));
	assert_false(str_same_trimmed_nocase("First Name", "FirstName"));
	assert_false(str_same_trimmed_nocase("Email", "Emails"));
	assert_false(str_same_trimmed_nocase("Email", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_util__column_pads_and_cuts_on_characters),
		cmocka_unit_test(test_util__one_line_joins_line_breaks),
		cmocka_unit_test(test_util__escaped_shows_control_characters),
		cmocka_unit_test(test_util__utf8_counts_characters),
		cmocka_unit_test(test_util__utf8_valid_prefix_stops_at_the_first_bad_character),
		cmocka_unit_test(test_util__path_absolute_is_against_the_current_directory),
		cmocka_unit_test(test_util__text_position_counts_characters),
		cmocka_unit_test(test_util__same_trimmed_nocase_ignores_case_space_and_bom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
