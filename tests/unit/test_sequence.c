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
	diag_print(&d, stderr, "");
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
	diag_print(&d, stderr, "");
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
	/* among the file's other problems, not only once they are fixed */
	expect(p, "24:37: reactivation names sequence 'nope', which does not exist");
	expect(p, "11:7: unknown template variable '{{frist}}'");
	expect(p, "12:5: duplicate step id 'a'");
	expect(p, "13:12: 'after: 3 days' is not a duration");
	expect(p, "14:14: unknown channel 'fax'");
	expect(p, "19:17: unterminated '{{'");
	expect(p, "21:5: unknown key 'aftr' in a step (did you mean 'after'?)");
	expect(p, "20:5: email step 'd' needs a 'subject'");
	free(p);
}

/* Folding, quotes and escapes change the text around a variable, not the variable. */
static void test_sequence__variables_found_where_they_stand_in_every_style(void **state)
{
	char *p = problems_of("tests/data/seq_styles.yaml");

	(void)state;
	expect(p, "6:19: unknown template variable '{{first_nmae}}'");  /* after an ë */
	expect(p, "6:38: unknown template variable '{{bad2}}'");
	expect(p, "9:31: unknown template variable '{{lit2}}'");         /* literal | */
	expect(p, "15:14: unknown template variable '{{firstname}}'");   /* folded > */
	expect(p, "16:17: unknown template variable '{{fold2}}'");
	expect(p, "20:22: unknown template variable '{{sq}}'");          /* 'single' */
	expect(p, "21:28: unknown template variable '{{badvar}}'");      /* "with \\n" */
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

/* Neither of two files with one name is used; each is reported naming the other, and a
 * third file of another name is unaffected. */
static void test_sequence__same_name_in_two_files(void **state)
{
	const char *paths[] = {
		"tests/data/seq_twin_a.yaml", "tests/data/seq_twin_b.yaml", "tests/data/seq_single.yaml",
	};
	struct diag_list d = DIAG_LIST_INIT;
	struct sequence_set *set;
	struct strbuf out = STRBUF_INIT;

	(void)state;
	assert_int_equal(sequence_set_load_files(paths, 3, NULL, &set, &d), 0);
	diag_print(&d, stderr, "");
	for (size_t i = 0; i < d.count; i++)
		strbuf_addf(&out, "%s:%d:%d: %s\n", d.items[i].file, d.items[i].line, d.items[i].col,
			    d.items[i].message);
	expect(out.buf, "tests/data/seq_twin_a.yaml:1:7: sequence 'twin' is also defined in"
	       " tests/data/seq_twin_b.yaml");
	expect(out.buf, "tests/data/seq_twin_b.yaml:2:7: sequence 'twin' is also defined in"
	       " tests/data/seq_twin_a.yaml");
	assert_int_equal(d.count, 2);
	assert_null(sequence_set_find(set, "twin"));
	assert_int_equal(sequence_set_status(set, "twin"), SEQUENCE_INVALID);
	assert_non_null(sequence_set_find(set, "single"));
	assert_int_equal(sequence_set_count(set), 1);
	strbuf_release(&out);
	diag_release(&d);
	sequence_set_free(set);
}

/* A file that cannot be read is a failure (-1), counted apart from invalid content. */
static void test_sequence__unreadable_file_fails(void **state)
{
	const char *paths[] = { "/nonexistent/seq.yaml", "tests/data/seq_bad.yaml" };
	struct diag_list d = DIAG_LIST_INIT;
	struct sequence_set *set;

	(void)state;
	assert_int_equal(sequence_set_load_files(paths, 2, NULL, &set, &d), -1);
	assert_non_null(set);
	assert_int_equal(sequence_set_invalid_count(set), 2);
	assert_int_equal(sequence_set_unreadable_count(set), 1);
	assert_string_equal(d.items[0].file, "/nonexistent/seq.yaml");
	assert_int_equal(d.items[0].line, 1);
	assert_non_null(strstr(d.items[0].message, "cannot read"));
	diag_release(&d);
	sequence_set_free(set);
	/* Bad content alone is not a failure to read. */
	assert_int_equal(sequence_set_load_files(paths + 1, 1, NULL, &set, &d), 0);
	assert_int_equal(sequence_set_unreadable_count(set), 0);
	diag_release(&d);
	sequence_set_free(set);
}

static void test_sequence__second_document_refused(void **state)
{
	char *p = problems_of("tests/data/seq_two_documents.yaml");

	(void)state;
	expect(p, "5:1: more than one YAML document");
	free(p);
}

static void test_sequence__empty_name_and_step_id_refused(void **state)
{
	char *p = problems_of("tests/data/seq_empty_id.yaml");

	(void)state;
	expect(p, "1:7: a sequence name cannot be empty");
	expect(p, "3:9: a step id cannot be empty");
	expect(p, "7:11: a step id cannot be empty");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequence__shipped_files_are_valid),
		cmocka_unit_test(test_sequence__every_problem_with_its_position),
		cmocka_unit_test(test_sequence__variables_found_where_they_stand_in_every_style),
		cmocka_unit_test(test_sequence__syntax_and_bytes),
		cmocka_unit_test(test_sequence__missing_reactivation_target),
		cmocka_unit_test(test_sequence__hash_follows_content),
		cmocka_unit_test(test_sequence__same_name_in_two_files),
		cmocka_unit_test(test_sequence__unreadable_file_fails),
		cmocka_unit_test(test_sequence__second_document_refused),
		cmocka_unit_test(test_sequence__empty_name_and_step_id_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
