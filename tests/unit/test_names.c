/* Unit tests of names.c: a name as people read it, and its order as a collation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "followup/names.h"
#include "followup/util.h"

static int cmp(const char *a, const char *b)
{
	return name_cmp(a, strlen(a), b, strlen(b));
}

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

static void test_names__one_name_however_spelt(void **state)
{
	(void)state;
	assert_int_equal(cmp("Anna Becker", "anna becker"), 0);
	assert_int_equal(cmp("Anna Becker", " Anna\u00a0\t Becker\u3000"), 0);
	assert_int_equal(cmp("Anna Becker", "Becker, Anna"), 0);
	assert_int_equal(cmp("Becker,Anna", "Becker ,  Anna"), 0);
	assert_int_equal(cmp("Jan van Dijk", "van Dijk, Jan"), 0);
	assert_int_equal(cmp("\u00c9lodie", "\u00e9LODIE"), 0);
	assert_int_equal(cmp("Anna\ufeff Becker", "Anna Becker"), 0);
	assert_true(cmp("Anna Becker", "AnnaBecker") != 0);
	assert_true(cmp("Anna Becker", "Becker Anna") != 0);
	assert_true(cmp("Becker, Anna, Sales", "Anna Becker, Sales") != 0);
	assert_int_equal(cmp("", "  \u00a0"), 0);
}

static void test_names__same_and_blank(void **state)
{
	(void)state;
	assert_true(name_same("Sam Ortiz", "ortiz, sam"));
	assert_false(name_same(NULL, NULL));
	assert_false(name_same("Sam", NULL));
	assert_false(name_same("", ""));
	assert_false(name_same(" ", "\u00a0"));
	assert_true(name_blank(NULL));
	assert_true(name_blank(" \t\u00a0\u200b"));
	assert_false(name_blank(","));
	assert_false(name_blank("x"));
}

/* SQLite's collation hands over lengths, not NUL-terminated strings: what is past them
 * is no part of the name. */
static void test_names__reads_only_the_length_given(void **state)
{
	static const char row[] = "Becker, AnnaXYZ";

	(void)state;
	assert_int_equal(name_cmp(row, 12, "Anna Becker", 11), 0);
	assert_int_equal(name_cmp(row, 7, "becker,", 7), 0);      /* "Becker," is as written */
	assert_true(name_cmp(row, 7, "Becker", 6) != 0);
	assert_int_equal(name_cmp(row, 6, "Becker", 6), 0);
	assert_int_equal(name_cmp(row, 0, "", 0), 0);
}

/* A collation must be an order: antisymmetric and transitive, over spellings that fold
 * together and ones that do not, and bytes that are not UTF-8. */
static void test_names__is_a_total_order(void **state)
{
	static const char *const names[] = {
		"Anna Becker", "becker, anna", "Anna  Becker", "Anna", "anna", "Becker Anna",
		"AnnaBecker", "Anna Becker, Sales", "Zo\u00eb", "ZO\u00cb", "zoe", "\xff\xfe",
		"\xc3", "a\xe2\x80", "", " ", ",", "a,b,c", "b, a", "a b", "\u00e9", "E", "z",
	};
	size_t n = ARRAY_SIZE(names);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(cmp(names[i], names[i]), 0);
		for (size_t j = 0; j < n; j++) {
			int ij = sign(cmp(names[i], names[j]));

			assert_int_equal(ij, -sign(cmp(names[j], names[i])));
			for (size_t k = 0; k < n; k++)
				if (ij <= 0 && sign(cmp(names[j], names[k])) <= 0 &&
				    sign(cmp(names[i], names[k])) > 0)
					fail_msg("'%s' <= '%s' <= '%s' but not '%s' <= '%s'", names[i],
						 names[j], names[k], names[i], names[k]);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names__one_name_however_spelt),
		cmocka_unit_test(test_names__same_and_blank),
		cmocka_unit_test(test_names__reads_only_the_length_given),
		cmocka_unit_test(test_names__is_a_total_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
