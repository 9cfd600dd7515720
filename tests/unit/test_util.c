/* Unit tests of the text helpers that lay out human output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_util__column_pads_and_cuts_on_characters),
		cmocka_unit_test(test_util__one_line_joins_line_breaks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
