/* Unit tests of config.yaml loading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "followup/config.h"
#include "followup/util.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/followup-config-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	(void)state;
	int rc = system(cmd);
	free(cmd);
	return rc;
}

static char *write_file(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_config__missing_file_gives_defaults(void **state)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct config c;
	char *path = xasprintf("%s/none.yaml", dir);

	(void)state;
	assert_int_equal(config_load(path, &c, &d), 0);
	assert_int_equal(c.exists, 0);
	assert_string_equal(c.default_sequence, "event-followup");
	assert_int_equal(c.per_run, 200);
	assert_int_equal(c.per_day, 500);
	config_release(&c);
	free(path);
}

static void test_config__full_example(void **state)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct config c;
	char *path = write_file("full.yaml",
		"timezone: America/New_York\n"
		"default_sequence: event-followup\n"
		"sender: { name: Alex Rep, email: alex@example.com }\n"
		"owners:\n"
		"  dana: { name: Dana Diaz, email: dana@example.com, signature: \"Dana\\nAcme Corp\" }\n"
		"smtp:\n"
		"  url: smtp://smtp.example.com:587\n"
		"  username: alex@example.com\n"
		"  password_env: FOLLOWUP_SMTP_PASSWORD\n"
		"  tls: required\n"
		"  ca_file: ca.pem\n"
		"limits: { per_run: 20, per_day: 50 }\n"
		"unsubscribe: { mailto: unsubscribe@example.com, url: \"https://example.com/u/{token}\" }\n");
	char *ca = xasprintf("%s/ca.pem", dir);

	(void)state;
	assert_int_equal(config_load(path, &c, &d), 0);
	assert_int_equal(diag_count(&d), 0);
	assert_string_equal(c.timezone, "America/New_York");
	assert_string_equal(c.sender_email, "alex@example.com");
	assert_int_equal(c.nowners, 1);
	assert_string_equal(config_find_owner(&c, "Dana Diaz")->email, "dana@example.com");
	assert_string_equal(config_find_owner(&c, "DANA")->signature, "Dana\nAcme Corp");
	assert_null(config_find_owner(&c, "nobody"));
	assert_string_equal(c.smtp.url, "smtp://smtp.example.com:587");
	assert_string_equal(c.smtp.ca_file, ca);
	assert_int_equal(c.smtp.tls_none, 0);
	assert_int_equal(c.per_run, 20);
	assert_string_equal(c.unsubscribe_url, "https://example.com/u/{token}");
	config_release(&c);
	free(path);
	free(ca);
}

/* Problem i is on line and says part. */
static void expect_problem(const struct diag_list *d, size_t i, int line, const char *part)
{
	assert_true(i < diag_count(d));
	assert_int_equal(d->items[i].line, line);
	if (!strstr(d->items[i].message, part))
		fail_msg("problem %zu '%s' does not say '%s'", i, d->items[i].message, part);
}

static void test_config__every_problem_with_position(void **state)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct config c;
	char *path = write_file("bad.yaml",
		"timezone: Mars/Base\n"
		"colour: blue\n"
		"smtp:\n"
		"  url: ftp://x\n"
		"  password: hunter2\n"
		"  tls: maybe\n"
		"limits: { per_run: -1 }\n");

	(void)state;
	assert_int_equal(config_load(path, &c, &d), -1);
	assert_int_equal(diag_count(&d), 6);
	expect_problem(&d, 0, 1, "Mars/Base");
	assert_int_equal(d.items[0].col, 11);
	expect_problem(&d, 1, 2, "colour");
	expect_problem(&d, 3, 5, "password_env");
	assert_null(strstr(d.items[3].message, "hunter2"));
	diag_release(&d);
	config_release(&c);
	free(path);
}

static void test_config__no_password_in_url_and_unsubscribe_checked(void **state)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct config c;
	char *path = write_file("secrets.yaml",
		"smtp: { url: \"smtp://bob:Secr3t@mail.example.com:587\" }\n"
		"unsubscribe: { mailto: \"not an address\", url: \"https://x.example/u/{token}?a=b,c\" }\n");

	(void)state;
	assert_int_equal(config_load(path, &c, &d), -1);
	assert_int_equal(diag_count(&d), 3);
	expect_problem(&d, 0, 1, "password_env");
	expect_problem(&d, 1, 2, "not an address");
	expect_problem(&d, 2, 2, "a=b,c");
	for (size_t i = 0; i < diag_count(&d); i++)
		assert_null(strstr(d.items[i].message, "Secr3t"));
	diag_release(&d);
	config_release(&c);
	free(path);

	/* A user name alone is fine, and so is {token} in the link. */
	path = write_file("user.yaml", "smtp: { url: \"smtp://bob@mail.example.com:587\" }\n"
		"unsubscribe: { url: \"https://x.example/u/{token}\" }\n");
	assert_int_equal(config_load(path, &c, &d), 0);
	config_release(&c);
	free(path);
}

static void test_config__yaml_syntax_error(void **state)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct config c;
	char *path = write_file("syntax.yaml", "timezone: UTC\nsender: { name: x\n");

	(void)state;
	assert_int_equal(config_load(path, &c, &d), -1);
	assert_int_equal(diag_count(&d), 1);
	assert_true(d.items[0].line >= 2);
	diag_release(&d);
	config_release(&c);
	free(path);
}

static void test_config__starter_is_private_and_loads(void **state)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct config c;
	struct stat st;
	char *path = xasprintf("%s/sub/dir/config.yaml", dir), *err = NULL;

	(void)state;
	assert_int_equal(config_write_starter(path, "/tmp/outbox", NULL, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(config_write_starter(path, "/tmp/outbox", NULL, &err), -1);
	assert_non_null(strstr(err, "cannot create"));
	free(err);
	assert_int_equal(config_load(path, &c, &d), 0);
	assert_string_equal(c.smtp.url, "maildir:/tmp/outbox");
	config_release(&c);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config__missing_file_gives_defaults),
		cmocka_unit_test(test_config__full_example),
		cmocka_unit_test(test_config__every_problem_with_position),
		cmocka_unit_test(test_config__no_password_in_url_and_unsubscribe_checked),
		cmocka_unit_test(test_config__yaml_syntax_error),
		cmocka_unit_test(test_config__starter_is_private_and_loads),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
