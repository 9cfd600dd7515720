/* Unit tests of the store: schema, merge rules, claims and the sender lock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "followup/store.h"
#include "followup/util.h"

struct fixture {
	char dir[64];
	char *path;
	struct store *store;
	int64_t import_id;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/followup-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->path = xasprintf("%s/sub/followup.db", f->dir);
	assert_int_equal(store_open(&f->store, f->path, STORE_CREATE), 0);
	assert_int_equal(store_begin(f->store), 0);
	assert_int_equal(store_import_start(f->store, "a.csv", "Expo", 1000, &f->import_id), 0);
	*state = f;
	return 0;
}

/* Another `followup import`: its own transaction. */
static void next_import(struct fixture *f)
{
	assert_int_equal(store_commit(f->store), 0);
	assert_int_equal(store_begin(f->store), 0);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd = xasprintf("rm -rf '%s'", f->dir);

	store_rollback(f->store);
	store_close(f->store);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f->path);
	free(f);
	return 0;
}

static struct lead sample(const char *email, const char *first, const char *notes,
			  time_t contact)
{
	struct lead l = { 0 };
	l.email = (char *)email;
	l.first_name = (char *)first;
	l.notes = (char *)notes;
	l.contact_at = contact;
	l.created_at = 5000;
	l.consent = 1;
	return l;
}

static void test_store__new_then_duplicate_within_import(void **state)
{
	struct fixture *f = *state;
	struct lead a = sample("Dana@Example.com", "Dana", NULL, 2000);
	struct lead b = sample("dana@example.com", NULL, "asked about pricing", 1500);
	enum merge_result r;
	int64_t id1, id2;
	int changed, earlier;

	assert_int_equal(store_lead_merge(f->store, &a, f->import_id, &r, &id1, &changed,
					  &earlier), 0);
	assert_int_equal(r, MERGE_NEW);
	assert_int_equal(store_lead_merge(f->store, &b, f->import_id, &r, &id2, &changed,
					  &earlier), 0);
	assert_int_equal(r, MERGE_DUPLICATE);
	assert_int_equal(id1, id2);
	assert_true(changed);
	assert_true(earlier);

	struct lead got;
	assert_int_equal(store_lead_get(f->store, id1, &got), 1);
	assert_string_equal(got.email, "Dana@Example.com");
	assert_string_equal(got.first_name, "Dana");
	assert_string_equal(got.notes, "asked about pricing");
	assert_int_equal(got.contact_at, 1500);      /* the earliest contact is kept */
	assert_string_equal(got.status, "active");
	assert_int_equal(strlen(got.token), 24);
	lead_release(&got);
}

static void test_store__merge_fills_appends_and_keeps(void **state)
{
	struct fixture *f = *state;
	struct lead a = sample("x@example.com", "Ann", "first note", 2000);
	struct lead b = sample("X@EXAMPLE.COM", "Annabel", "second note", 3000);
	struct lead c = sample("x@example.com", "Ann", "first note", 3000);
	enum merge_result r;
	int64_t id, import2, import3;
	int changed, earlier;
	struct lead got;

	assert_int_equal(store_lead_merge(f->store, &a, f->import_id, &r, &id, &changed,
					  &earlier), 0);
	next_import(f);
	assert_int_equal(store_import_start(f->store, "b.csv", NULL, 2000, &import2), 0);
	assert_int_equal(store_lead_merge(f->store, &b, import2, &r, &id, &changed, &earlier), 0);
	assert_int_equal(r, MERGE_UPDATED);
	assert_true(changed);
	assert_false(earlier);
	assert_int_equal(store_lead_get(f->store, id, &got), 1);
	assert_string_equal(got.first_name, "Ann");              /* not overwritten */
	assert_string_equal(got.notes, "first note\nsecond note");
	assert_int_equal(got.contact_at, 2000);
	lead_release(&got);

	/* Nothing new: nothing changes, so a re-import writes nothing. */
	next_import(f);
	assert_int_equal(store_import_start(f->store, "c.csv", NULL, 3000, &import3), 0);
	assert_int_equal(store_lead_merge(f->store, &c, import3, &r, &id, &changed, &earlier), 0);
	assert_int_equal(r, MERGE_UPDATED);
	assert_false(changed);
}

static void test_store__consent_refusal_sticks(void **state)
{
	struct fixture *f = *state;
	struct lead a = sample("y@example.com", "Yo", NULL, 2000);
	struct lead b = sample("y@example.com", NULL, NULL, 2000);
	enum merge_result r;
	int64_t id;
	int changed, earlier;
	struct lead got;

	b.consent = 0;
	assert_int_equal(store_lead_merge(f->store, &a, f->import_id, &r, &id, &changed,
					  &earlier), 0);
	assert_int_equal(store_lead_merge(f->store, &b, f->import_id, &r, &id, &changed,
					  &earlier), 0);
	assert_int_equal(store_lead_get(f->store, id, &got), 1);
	assert_int_equal(got.consent, 0);
	lead_release(&got);
}

static void test_store__find_by_id_or_email(void **state)
{
	struct fixture *f = *state;
	struct lead a = sample("z@example.com", "Zed", NULL, 2000);
	enum merge_result r;
	int64_t id;
	int changed, earlier;
	struct lead got;
	char buf[32];

	assert_int_equal(store_lead_merge(f->store, &a, f->import_id, &r, &id, &changed,
					  &earlier), 0);
	assert_int_equal(store_lead_find(f->store, "Z@Example.COM", &got), 1);
	assert_int_equal(got.id, id);
	lead_release(&got);
	snprintf(buf, sizeof(buf), "#%lld", (long long)id);
	assert_int_equal(store_lead_find(f->store, buf, &got), 1);
	lead_release(&got);
	assert_int_equal(store_lead_find(f->store, "nobody@example.com", &got), 0);
}

static void test_store__claim_is_once(void **state)
{
	struct fixture *f = *state;
	struct lead a = sample("c@example.com", "Cy", NULL, 2000);
	struct enrolment en = { 0 };
	struct touch t = { 0 }, got;
	enum merge_result r;
	int64_t lead_id, touch_id;
	int changed, earlier;

	assert_int_equal(store_lead_merge(f->store, &a, f->import_id, &r, &lead_id, &changed,
					  &earlier), 0);
	en.lead_id = lead_id;
	en.sequence = (char *)"event-followup";
	en.anchor_at = 2000;
	en.started_at = 2000;
	assert_int_equal(store_enrolment_create(f->store, &en, &en.id), 0);
	t.enrolment_id = en.id;
	t.lead_id = lead_id;
	t.step = (char *)"recap";
	t.channel = (char *)"email";
	t.due_at = 3000;
	assert_int_equal(store_touch_insert(f->store, &t, &touch_id), 0);
	assert_int_equal(store_commit(f->store), 0);

	assert_int_equal(store_touch_claim(f->store, touch_id, "<1@x>", "Hi", "a@x", 4000), 1);
	assert_int_equal(store_touch_claim(f->store, touch_id, "<2@x>", "Hi", "a@x", 4000), 0);
	assert_int_equal(store_sending_to_in_doubt(f->store, 5000), 1);
	assert_int_equal(store_touch_get(f->store, touch_id, &got), 1);
	assert_string_equal(got.state, "in_doubt");
	assert_string_equal(got.message_id, "<1@x>");
	touch_release(&got);
	assert_int_equal(store_begin(f->store), 0);     /* teardown rolls back */
}

static void test_store__sender_lock_is_exclusive(void **state)
{
	struct fixture *f = *state;
	struct store *second;

	assert_int_equal(store_open(&second, f->path, 0), 0);
	assert_int_equal(store_lock_sender(f->store), 1);
	assert_int_equal(store_lock_sender(second), 0);
	store_close(second);
}

static void test_store__missing_store_without_create(void **state)
{
	struct fixture *f = *state;
	struct store *s;
	char *path = xasprintf("%s/none.db", f->dir);

	assert_int_equal(store_open(&s, path, 0), -1);
	assert_int_equal(access(path, F_OK), -1);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store__new_then_duplicate_within_import, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__merge_fills_appends_and_keeps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__consent_refusal_sticks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__find_by_id_or_email, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__claim_is_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__sender_lock_is_exclusive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__missing_store_without_create, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
