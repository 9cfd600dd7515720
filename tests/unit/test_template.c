/* Unit tests of template rendering and checking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "followup/template.h"

/* A variable longer than the names a template usually has (parsed off the stack). */
#define LONG_NAME "extra.A column header long enough to need more room than the few " \
	"dozen bytes that the names of template variables take, nearly always, in a file"

static const char *lookup(void *ctx, int field, const char *name)
{
	(void)ctx;
	assert_int_equal(field, template_field(name));
	if (!strcmp(name, "first_name"))
		return "Dana";
	if (!strcmp(name, "company"))
		return "";
	if (!strcmp(name, "extra.Booth Name"))
		return "Hall 3 B12";
	if (!strcmp(name, LONG_NAME))
		return "long";
	return NULL;
}

static void test_template__render_table(void **state)
{
	static const struct { const char *tmpl, *want; int held; } cases[] = {
		{ "Hi {{first_name}}", "Hi Dana", 0 },
		{ "Hi {{ first_name | there }}!", "Hi Dana!", 0 },
		{ "At {{company|your team}}", "At your team", 0 },
		{ "Title: {{title|}}.", "Title: .", 0 },
		{ "Booth {{extra.Booth Name}}", "Booth Hall 3 B12", 0 },
		{ "Hi {{last_name}}, ok", "Hi , ok", 1 },
		{ "no placeholders", "no placeholders", 0 },
		{ "Hi {{first_name}}, {{phone", "Hi Dana, {{phone", 0 },   /* unterminated */
		{ "{{ " LONG_NAME " }}!", "long!", 0 },
		{ "{{" LONG_NAME "x | Hall 1 }}", "Hall 1", 0 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct template *t = template_compile(cases[i].tmpl);
		struct strbuf out = STRBUF_INIT;
		char *held = NULL;
		int rc = template_render(t, lookup, NULL, &out, &held);
		assert_int_equal(rc, cases[i].held);
		assert_string_equal(out.buf, cases[i].want);
		if (cases[i].held)
			assert_non_null(strstr(held, "{{last_name}}"));
		else
			assert_null(held);
		free(held);
		strbuf_release(&out);
		/* Into no buffer: only whether it is held, and the same reason. */
		assert_int_equal(template_render(t, lookup, NULL, NULL, &held), cases[i].held);
		assert_true(!held == !cases[i].held);
		free(held);
		template_free(t);
	}
}

struct report { size_t offsets[8]; char *messages[8]; int n; };

static void collect(void *ctx, size_t offset, const char *message)
{
	struct report *r = ctx;
	r->offsets[r->n] = offset;
	r->messages[r->n++] = xstrdup(message);
}

static void test_template__uses_names_fields_not_text(void **state)
{
	struct template *t = template_compile("Best, {{signature}} ({{extra.Tags|}}) signature");
	struct template *plain = template_compile("signature {{signature");  /* unterminated */

	(void)state;
	assert_true(template_uses(t, TF_SIGNATURE));
	assert_false(template_uses(t, TF_FIRST_NAME));
	assert_false(template_uses(plain, TF_SIGNATURE));
	assert_false(template_uses(NULL, TF_SIGNATURE));
	template_free(t);
	template_free(plain);
}

static void test_template__check_reports_positions(void **state)
{
	struct report r = { .n = 0 };

	(void)state;
	assert_int_equal(template_check("Hi {{first_nmae}}, {{}} and {{extra.X}} {{phone", collect, &r), 3);
	assert_int_equal(r.offsets[0], 3);
	assert_non_null(strstr(r.messages[0], "first_nmae"));
	assert_int_equal(r.offsets[1], 19);
	assert_non_null(strstr(r.messages[1], "empty"));
	assert_int_equal(r.offsets[2], 40);
	assert_non_null(strstr(r.messages[2], "unterminated"));
	for (int i = 0; i < r.n; i++)
		free(r.messages[i]);
	r.n = 0;
	assert_int_equal(template_check("{{ " LONG_NAME " }} {{ f" LONG_NAME " }}", collect, &r), 1);
	assert_non_null(strstr(r.messages[0], "'{{f" LONG_NAME "}}'"));
	free(r.messages[0]);
	assert_true(template_field_known("owner_name"));
	assert_true(template_field_known("extra.Anything at all"));
	assert_false(template_field_known("extra."));
	assert_false(template_field_known("firstname"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_template__render_table),
		cmocka_unit_test(test_template__check_reports_positions),
		cmocka_unit_test(test_template__uses_names_fields_not_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
