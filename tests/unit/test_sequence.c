/* Unit tests of sequence files: the shipped ones load; every bad case is reported with
 * its exact FILE:LINE:COL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "followup/sequence.h"

static void test_sequence__shipped_files_are_valid(void **state)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct sequence_set *set;
	const struct sequence *seq;

	(void)state;
	assert_int_equal(sequence_set_load_dir("sequences", &set, &d), 0);
	diag_print(&d, stderr);
	assert_int_equal(diag_count(&d), 0);
	seq = sequence_set_find(set, "event-followup");
	assert_non_null(seq);
	assert_int_equal(seq->nsteps, 4);
	assert_string_equal(seq->steps[0].id, "recap");
	assert_int_equal(seq->steps[0].after.amount, 24);
	assert_int_equal(seq->steps[2].channel, CHANNEL_CALL);
	assert_true(seq->steps[1].thread);
	assert_true(seq->has_reactivate);
	assert_string_equal(seq->reactivate_sequence, "reactivation");
	assert_non_null(sequence_set_find(set, "reactivation"));
	assert_int_equal(strlen(seq->hash), 16);
	sequence_set_free(set);
}

/* Loads one fixture and returns its problems as "LINE:COL: message" lines. */
static char *problems_of(const char *path)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct sequence_set *set;
	struct strbuf out = STRBUF_INIT;

	assert_int_equal(sequence_set_load_files(&path, 1, NULL, &set, &d), 0);
	assert_int_equal(sequence_set_count(set), 0);
	assert_int_equal(sequence_set_invalid_count(set), 1);
	diag_print(&d, stderr);
	for (size_t i = 0; i < d.count; i++)
		strbuf_addf(&out, "%d:%d: %s\n", d.items[i].line, d.items[i].col, d.items[i].message);
	diag_release(&d);
	sequence_set_free(set);
	return strbuf_detach(&out);
}

static void expect(const char *problems, const char *where_what)
{
	if (!strstr(problems, where_what))
		fail_msg("expected '%s' in:\n%s", where_what, problems);
}

static void test_sequence__every_problem_with_its_position(void **state)
{
	char *p = problems_of("tests/data/seq_bad.yaml");

	(void)state;
	expect(p, "2:9: invalid window '25:00-26:00'");
	expect(p, "3:11: unknown time zone 'Mars/Base'");
	expect(p, "6:12: 'after: -3d': an offset cannot be negative");
	expect(p, "8:18: unknown template variable '{{first_nmae}}'");
	expect(p, "11:7: unknown template variable '{{frist}}'");
	expect(p, "12:5: duplicate step id 'a'");
	expect(p, "13:12: 'after: 3 days' is not a duration");
	expect(p, "14:14: unknown channel 'fax'");
	expect(p, "19:17: unterminated '{{'");
	expect(p, "21:5: unknown key 'aftr' in a step (did you mean 'after'?)");
	expect(p, "20:5: email step 'd' needs a 'subject'");
	free(p);
}

static void test_sequence__syntax_and_bytes(void **state)
{
	char *p;

	(void)state;
	p = problems_of("tests/data/seq_tabs.yaml");
	expect(p, "2:1: a tab character");
	free(p);
	p = problems_of("tests/data/seq_nosteps.yaml");
	expect(p, "1:1: no 'steps'");
	free(p);
	p = problems_of("tests/data/seq_alias.yaml");
	expect(p, "1:4: YAML anchors and aliases");
	free(p);
	p = problems_of("tests/data/seq_latin1.yaml");
	expect(p, "6:15: invalid UTF-8");
	free(p);
	p = problems_of("tests/data/seq_dupkey_backwards.yaml");
	expect(p, "2:1: duplicate key 'name'");
	expect(p, "5:21: step 'b' comes before step 'a'");
	free(p);
}

static void test_sequence__missing_reactivation_target(void **state)
{
	char *p = problems_of("tests/data/seq_missing_reactivation.yaml");

	(void)state;
	expect(p, "2:37: reactivation names sequence 'nowhere', which does not exist");
	free(p);
}

static void test_sequence__hash_follows_content(void **state)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct sequence *a, *b;
	const char *path = "/tmp/followup-seq-hash.yaml";
	FILE *f = fopen(path, "w");

	(void)state;
	fputs("steps:\n  - { id: a, after: 1d, channel: task, task: x }\n", f);
	fclose(f);
	assert_int_equal(sequence_load_file(path, &a, &d), 0);
	assert_string_equal(a->name, "followup-seq-hash");
	f = fopen(path, "w");
	fputs("steps:\n  - { id: a, after: 2d, channel: task, task: x }\n", f);
	fclose(f);
	assert_int_equal(sequence_load_file(path, &b, &d), 0);
	assert_string_not_equal(a->hash, b->hash);
	sequence_free(a);
	sequence_free(b);
	remove(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequence__shipped_files_are_valid),
		cmocka_unit_test(test_sequence__every_problem_with_its_position),
		cmocka_unit_test(test_sequence__syntax_and_bytes),
		cmocka_unit_test(test_sequence__missing_reactivation_target),
		cmocka_unit_test(test_sequence__hash_follows_content),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
