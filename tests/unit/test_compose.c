/* Unit tests of composing: every template variable renders the value it names, and an
 * empty one without fallback holds the touch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "followup/compose.h"

/* A task step whose text names every variable, each between | bars. */
static const char sequence_yaml[] =
	"name: all-fields\n"
	"steps:\n"
	"  - id: ask\n"
	"    after: 1d\n"
	"    channel: task\n"
	"    task: \"|{{badge_id}}|{{company}}|{{country}}|{{email}}|{{event}}|{{first_name}}"
	"|{{last_name}}|{{name}}|{{notes}}|{{owner}}|{{owner_email}}|{{owner_name}}|{{phone}}"
	"|{{rating}}|{{scanned_at}}|{{sender_name}}|{{sequence}}|{{signature}}|{{step}}"
	"|{{timezone}}|{{title}}|{{unsubscribe_url}}|{{extra.Booth Zone}}|\"\n"
	"  - id: hold\n"
	"    after: 2d\n"
	"    channel: call\n"
	"    task: \"Call {{phone}} about {{extra.Missing|the demo}}\"\n"
	"  - id: mail\n"
	"    after: 3d\n"
	"    channel: email\n"
	"    subject: \"Hello\"\n"
	"    body: \"Hi\"\n";

static struct sequence_set *load_sequence(void)
{
	char path[] = "/tmp/followup-test-compose-XXXXXX";
	int fd = mkstemp(path);
	const char *paths[] = { path };
	struct diag_list d = DIAG_LIST_INIT;
	struct sequence_set *set = NULL;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, sequence_yaml, strlen(sequence_yaml)),
			 (ssize_t)strlen(sequence_yaml));
	close(fd);
	assert_int_equal(sequence_set_load_files(paths, 1, NULL, &set, &d), 0);
	diag_print(&d, stderr, "");
	assert_int_equal(diag_count(&d), 0);
	diag_release(&d);
	unlink(path);
	return set;
}

/* The structs' strings are char *; compose only reads them. */
#define S(literal) ((char *)(literal))

static void test_compose__every_variable(void **state)
{
	struct sequence_set *set = load_sequence();
	struct owner dana = { S("dana"), S("Dana Diaz"), S("dana@example.com"), S("Dana, Acme") };
	struct config config = {
		.sender_name = S("Acme"), .sender_email = S("hello@example.com"),
		.owners = &dana, .nowners = 1,
		.unsubscribe_url = S("https://example.com/u/{token}"),
	};
	struct due_item d = {
		.touch = { .id = 7, .step = S("ask"), .channel = S("task"), .state = S("pending") },
		.lead = {
			.id = 3, .email = S("jane@x.example"), .first_name = S("Jane"),
			.last_name = S("Roe"), .company = S("Initech"), .title = S("CTO"),
			.phone = S("+1 555 0100"), .country = S("US"), .timezone = S("America/New_York"),
			.notes = S("wants a demo"), .rating = S("Hot"), .owner = S("dana"),
			.event = S("Lead's Expo"), .badge_id = S("B-42"),
			.extra = S("{\"Booth Zone\":\"Hall 4\"}"), .contact_at = 1772719200,
			.token = S("tok123"),
		},
		.enrolment = { .sequence = S("all-fields"), .event = S("Expo 2026") },
	};
	struct composed c;

	(void)state;
	assert_int_equal(compose_touch(NULL, &config, set, &d, &c), 0);
	assert_null(c.held);
	assert_string_equal(c.text,
		"|B-42|Initech|US|jane@x.example|Expo 2026|Jane|Roe|Jane|wants a demo|dana"
		"|dana@example.com|Dana Diaz|+1 555 0100|Hot|2026-03-05 09:00|Dana Diaz"
		"|all-fields|Dana, Acme|ask|America/New_York|CTO|https://example.com/u/tok123"
		"|Hall 4|");
	composed_release(&c);

	/* the lead's own event when the enrolment has none; name falls back to last_name */
	d.enrolment.event = NULL;
	d.lead.first_name = NULL;
	assert_int_equal(compose_touch(NULL, &config, set, &d, &c), 0);
	assert_non_null(strstr(c.text, "|Lead's Expo||Roe|Roe|"));
	assert_string_equal(c.held, "no value for {{first_name}} and no fallback");
	composed_release(&c);

	/* a missing extra column takes its fallback; an empty phone holds the call */
	d.touch.step = S("hold");
	d.touch.channel = S("call");
	d.lead.phone = S("");
	assert_int_equal(compose_touch(NULL, &config, set, &d, &c), 0);
	assert_string_equal(c.text, "Call  about the demo");
	assert_string_equal(c.held, "no value for {{phone}} and no fallback");
	composed_release(&c);

	/* a touch still on the channel its step had before the file changed is held */
	d.touch.channel = S("email");
	assert_int_equal(compose_touch(NULL, &config, set, &d, &c), 0);
	assert_string_equal(c.held, "step 'hold' is now a call step");
	assert_null(c.body);
	composed_release(&c);

	/* an address beyond ASCII cannot be sent to (no SMTPUTF8): held, with the reason */
	d.touch.step = S("mail");
	d.lead.email = S("jos\u00e9@x.example");
	assert_int_equal(compose_touch(NULL, &config, set, &d, &c), 0);
	assert_non_null(c.held);
	assert_non_null(strstr(c.held, "is not an ASCII address"));
	composed_release(&c);
	sequence_set_free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compose__every_variable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
