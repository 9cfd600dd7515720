/* Unit tests of config.yaml loading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
	char *ca = write_file("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");

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

/* The likeliest slip with password_env is the password itself in it: the line that says
 * it is no variable name is printed by every command, and mailed by cron. */
static void test_config__password_env_holding_a_password_is_not_echoed(void **state)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct config c;
	char *path = write_file("envpw.yaml",
		"smtp: { url: \"smtp://mail.example.com:587\", username: bob,"
		" password_env: \"Secr3t!pw\" }\n");

	(void)state;
	assert_int_equal(config_load(path, &c, &d), -1);
	assert_int_equal(diag_count(&d), 1);
	expect_problem(&d, 0, 1, "password_env");
	assert_null(strstr(d.items[0].message, "Secr3t"));
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

	/* A link without the lead's token could not say who unsubscribes. */
	path = write_file("anonymous.yaml", "unsubscribe: { url: \"https://x.example/u\" }\n");
	assert_int_equal(config_load(path, &c, &d), -1);
	expect_problem(&d, 0, 1, "has no {token}");
	diag_release(&d);
	config_release(&c);
	free(path);
}

/* A timeout past a day is refused by libcurl, and only at send time; 0 is the default. */
static void test_config__timeouts_are_at_most_a_day(void **state)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct config c;
	char *path = write_file("timeouts.yaml",
		"smtp:\n  url: \"smtp://mail.example.com:587\"\n"
		"  timeout: 86401\n  connect_timeout: 9223372036854775807\n");

	(void)state;
	assert_int_equal(config_load(path, &c, &d), -1);
	assert_int_equal(diag_count(&d), 2);
	expect_problem(&d, 0, 3, "at most 86400");
	expect_problem(&d, 1, 4, "at most 86400");
	diag_release(&d);
	config_release(&c);
	free(path);

	path = write_file("timeouts.yaml", "smtp: { timeout: 86400, connect_timeout: 0 }\n");
	assert_int_equal(config_load(path, &c, &d), 0);
	assert_int_equal(c.smtp.timeout, 86400);
	assert_int_equal(c.smtp.connect_timeout, 0);
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

static const struct config_starter plain_starter = { "UTC", "/tmp/outbox", NULL };

static void test_config__starter_is_private_and_loads(void **state)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct config c;
	struct stat st;
	char *path = xasprintf("%s/sub/dir/config.yaml", dir), *err = NULL;

	(void)state;
	assert_int_equal(config_write_starter(path, &plain_starter, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(config_write_starter(path, &plain_starter, &err), -1);
	assert_non_null(strstr(err, "cannot create"));
	free(err);
	assert_int_equal(config_load(path, &c, &d), 0);
	assert_string_equal(c.smtp.url, "maildir:/tmp/outbox");
	assert_string_equal(c.timezone, "UTC");
	config_release(&c);
	free(path);
}

/* Files in dir whose name starts with prefix (the temporary files of a write). */
static int files_starting(const char *prefix)
{
	char *cmd = xasprintf("ls -a '%s' | grep -c '^%s'", dir, prefix);
	FILE *p = popen(cmd, "r");
	int n = -1;

	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	free(cmd);
	return n;
}

static void test_config__starter_quotes_what_a_home_may_hold(void **state)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct config c;
	char *path = xasprintf("%s/quoted.yaml", dir), *err = NULL;
	const char *odd = "/home/o\"brien\\x: #y 'z'/data";
	char *outbox = xasprintf("%s/outbox", odd), *store = xasprintf("%s/f.db", odd);
	struct config_starter starter = { "Europe/Berlin", outbox, store };

	(void)state;
	assert_int_equal(config_write_starter(path, &starter, &err), 0);
	assert_int_equal(config_load(path, &c, &d), 0);
	assert_string_equal(c.smtp.url + strlen("maildir:"), outbox);
	assert_string_equal(c.store, store);
	assert_string_equal(c.timezone, "Europe/Berlin");
	config_release(&c);
	free(path), free(outbox), free(store);
}

static void test_config__starter_that_would_not_load_is_not_left(void **state)
{
	struct config_starter bad_zone = { "Mars/Base", "/tmp/outbox", NULL };
	struct config_starter not_utf8 = { "UTC", "/tmp/out\xff", NULL };
	char *path = xasprintf("%s/never.yaml", dir), *err = NULL;

	(void)state;
	assert_int_equal(config_write_starter(path, &bad_zone, &err), -1);
	assert_non_null(strstr(err, "would not load"));
	free(err);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(config_write_starter(path, &not_utf8, &err), -1);
	assert_non_null(strstr(err, "UTF-8"));
	free(err);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(files_starting("never.yaml"), 0);
	free(path);
}

/* Runs fn(arg) in a child that cannot bypass permissions (root drops to nobody), and
 * returns its exit status. dir is opened up so that nobody can reach into it. */
static int run_unprivileged(int (*fn)(const char *), const char *arg)
{
	pid_t pid;
	int status;

	assert_int_equal(chmod(dir, 0755), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) || setuid(65534)))
			_exit(99);
		_exit(fn(arg));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(chmod(dir, 0700), 0);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* 0 when the write fails for the reason the first missing directory gives. */
static int write_says_permission_denied(const char *path)
{
	char *err = NULL;
	int ret = config_write_starter(path, &plain_starter, &err);

	return ret == -1 && strstr(err, strerror(EACCES)) ? 0 : 1;
}

static void test_config__unwritable_parent_says_permission_denied(void **state)
{
	char *locked = xasprintf("%s/locked", dir);
	char *path = xasprintf("%s/.config/followup/config.yaml", locked);

	(void)state;
	assert_int_equal(mkdir(locked, 0555), 0);
	assert_int_equal(run_unprivileged(write_says_permission_denied, path), 0);
	free(locked), free(path);
}

/* 0 when loading path says it cannot be read. */
static int load_says_unreadable(const char *path)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct config c;
	int ret = config_load(path, &c, &d);

	config_release(&c);
	return ret == CONFIG_EREAD && diag_count(&d) == 1 &&
	       strstr(d.items[0].message, strerror(EACCES)) ? 0 : 1;
}

static void test_config__unreadable_file_or_directory_is_a_read_error(void **state)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct config c;
	char *secret = write_file("secret.yaml", "timezone: UTC\n");

	(void)state;
	assert_int_equal(chmod(secret, 0600), 0);
	assert_int_equal(run_unprivileged(load_says_unreadable, secret), 0);
	assert_int_equal(config_load(dir, &c, &d), CONFIG_EREAD);
	assert_non_null(strstr(d.items[0].message, strerror(EISDIR)));
	diag_release(&d);
	config_release(&c);
	free(secret);
}

static void test_config__bad_bytes_have_their_line(void **state)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct config c;
	char *path = write_file("latin1.yaml",
		"timezone: UTC\n\n# who\n\nsender: { name: \"Ren\xe9\", email: r@x.example }\n");

	(void)state;
	assert_int_equal(config_load(path, &c, &d), CONFIG_EINVAL);
	assert_int_equal(diag_count(&d), 1);
	expect_problem(&d, 0, 5, "UTF-8");
	assert_int_equal(d.items[0].col, 21);
	diag_release(&d);
	config_release(&c);
	free(path);
}

static void test_config__second_document_is_refused(void **state)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct config c;
	char *path = write_file("two.yaml", "---\ntimezone: UTC\n---\ntimezone: Asia/Tokyo\n");

	(void)state;
	assert_int_equal(config_load(path, &c, &d), CONFIG_EINVAL);
	assert_int_equal(diag_count(&d), 1);
	expect_problem(&d, 0, 3, "more than one YAML document");
	diag_release(&d);
	config_release(&c);
	free(path);

	path = write_file("one.yaml", "---\ntimezone: UTC\n...\n");
	assert_int_equal(config_load(path, &c, &d), CONFIG_OK);
	config_release(&c);
	free(path);
}

static void test_config__tls_none_only_for_loopback(void **state)
{
	static const char *const loopback[] = {
		"smtp://localhost:25", "smtp://127.0.0.1:2525", "smtp://u@[::1]:25", "smtp://127.8.9.1",
	};
	static const char *const remote[] = {
		"smtp://smtp.example.com:587", "smtp://localhost@mail.example.com",
		"smtp://10.0.0.1:25", "smtps://127.0.0.1:465",
	};
	struct diag_list d = DIAG_LIST_INIT;
	struct config c;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(loopback) + ARRAY_SIZE(remote); i++) {
		int is_remote = i >= ARRAY_SIZE(loopback);
		const char *url = is_remote ? remote[i - ARRAY_SIZE(loopback)] : loopback[i];
		char *text = xasprintf("timezone: UTC\nsmtp:\n  url: \"%s\"\n  tls: none\n", url);
		char *path = write_file("tls.yaml", text);

		assert_int_equal(config_load(path, &c, &d), is_remote ? CONFIG_EINVAL : CONFIG_OK);
		if (is_remote) {
			expect_problem(&d, 0, 4, "tls: none");
			assert_int_equal(d.items[0].col, 8);
		}
		diag_release(&d);
		config_release(&c);
		free(path), free(text);
	}
}

static void test_config__tilde_needs_a_home(void **state)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct config c;
	char *home = getenv("HOME") ? xstrdup(getenv("HOME")) : NULL;
	char *path = write_file("tilde.yaml", "store: ~/f.db\nsmtp: { url: \"maildir:~/out\" }\n");

	(void)state;
	unsetenv("HOME");
	assert_int_equal(config_load(path, &c, &d), CONFIG_EINVAL);
	assert_int_equal(diag_count(&d), 2);
	expect_problem(&d, 0, 1, "HOME is not set");
	diag_release(&d);
	config_release(&c);
	setenv("HOME", "/home/x", 1);
	assert_int_equal(config_load(path, &c, &d), CONFIG_OK);
	assert_string_equal(c.store, "/home/x/f.db");
	config_release(&c);
	if (home)
		setenv("HOME", home, 1);
	free(home);
	free(path);
}

static const char reps[] =
	"owners:\n"
	"  anna: { name: Anna Becker, email: anna@acme.example }\n"
	"  sam: { name: Sam Ortiz, email: sam@acme.example }\n"
	"  jan: { name: Jan van Dijk, email: jan@acme.example }\n"
	"  zoe: { name: \"Zo\u00eb \u00c5ngstr\u00f6m\", email: zoe@acme.example }\n";

/* The key of the rep config_find_owner() finds for name, or NULL. */
static const char *rep_of(const struct config *c, const char *name)
{
	const struct owner *o = config_find_owner(c, name);
	return o ? o->key : NULL;
}

static void test_config__owner_named_as_a_badge_file_spells_it(void **state)
{
	static const struct { const char *name, *key; } cases[] = {
		{ "Anna Becker", "anna" },
		{ "anna becker", "anna" },
		{ "ANNA BECKER", "anna" },
		{ "Anna  Becker", "anna" },             /* two spaces */
		{ "Anna\u00a0Becker", "anna" },         /* a no-break space */
		{ "Anna\u202fBecker", "anna" },         /* a narrow one */
		{ "Anna\tBecker", "anna" },
		{ " Anna Becker ", "anna" },
		{ "\u00a0Anna Becker\t\r\n", "anna" },
		{ "Anna\u200b Becker", "anna" },        /* a zero-width space beside a space */
		{ "Becker, Anna", "anna" },             /* Last, First */
		{ "becker,anna", "anna" },
		{ "Becker ,\u00a0 Anna ", "anna" },
		{ "  ANNA ", "anna" },                  /* the key */
		{ " Anna@ACME.example", "anna" },       /* the email */
		{ "van Dijk, Jan", "jan" },             /* a surname of two words */
		{ "Jan  van  Dijk", "jan" },
		{ "ZO\u00cb \u00c5NGSTR\u00d6M", "zoe" },       /* case beyond A-Z */
		{ "\u00c5ngstr\u00f6m, Zo\u00eb", "zoe" },
		{ "sam", "sam" },
		{ "Ortiz, Sam", "sam" },
		/* Never a guess: */
		{ "Becker Anna", NULL },                /* no comma: not taken as reordered */
		{ "Ann", NULL },
		{ "Becker", NULL },
		{ "Anna B.", NULL },
		{ "Anna Beckers", NULL },
		{ "AnnaBecker", NULL },
		{ "Anna\u200bBecker", NULL },           /* reads "AnnaBecker" */
		{ "Becker, Anna, Sales", NULL },        /* two commas: as written */
		{ "Becker,", NULL },
		{ ", Anna", NULL },
		{ "Anna Becker <anna@acme.example>", NULL },
		{ "samm", NULL },
		{ "", NULL },
		{ "  ", NULL },
		{ "\u00a0", NULL },
		{ ",", NULL },
	};
	struct diag_list d = DIAG_LIST_INIT;
	struct config c;
	char *path = write_file("reps.yaml", reps);

	(void)state;
	assert_int_equal(config_load(path, &c, &d), CONFIG_OK);
	assert_int_equal(c.nowners, 4);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *key = rep_of(&c, cases[i].name);

		if (cases[i].key ? !key || strcmp(key, cases[i].key) : key != NULL)
			fail_msg("'%s' is %s, not %s", cases[i].name, key ? key : "nobody",
				 cases[i].key ? cases[i].key : "nobody");
	}
	config_release(&c);
	free(path);
}

static void test_config__owner_two_reps_answer_to_is_nobody(void **state)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct config c;
	char *path = write_file("twins.yaml",
		"owners:\n"
		"  sam: { name: Sam Ortiz, email: sam@acme.example }\n"
		"  sammy: { name: \"Ortiz, Sam\", email: sammy@acme.example }\n"
		"  lee: { name: Sam, email: lee@acme.example }\n");

	(void)state;
	assert_int_equal(config_load(path, &c, &d), CONFIG_OK);
	/* "Sam Ortiz" and "Ortiz, Sam" are one name, and two reps have it. */
	assert_null(rep_of(&c, "Sam Ortiz"));
	assert_null(rep_of(&c, "Ortiz, Sam"));
	assert_null(rep_of(&c, "sam  ortiz"));
	/* The keys and emails still tell them apart; a key beats another rep's name, as a
	 * lead's owner is stored by key. */
	assert_string_equal(rep_of(&c, "sammy"), "sammy");
	assert_string_equal(rep_of(&c, "SAMMY@acme.example"), "sammy");
	assert_string_equal(rep_of(&c, "Sam"), "sam");
	assert_string_equal(rep_of(&c, "lee"), "lee");
	config_release(&c);
	free(path);
}

static void test_config__owner_key_spelt_as_another_rep_is_refused(void **state)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct config c;
	char *path = write_file("again.yaml",
		"owners:\n"
		"  anna: { name: Anna Becker, email: anna@acme.example }\n"
		"  \"becker,  anna\": { name: Anna B, email: ab@acme.example }\n"
		"  \" ANNA \": { name: Anna C, email: ac@acme.example }\n");

	(void)state;
	assert_int_equal(config_load(path, &c, &d), CONFIG_EINVAL);
	assert_int_equal(diag_count(&d), 2);
	expect_problem(&d, 0, 3, "is there twice");
	expect_problem(&d, 1, 4, "is there twice");
	diag_release(&d);
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
		cmocka_unit_test(test_config__password_env_holding_a_password_is_not_echoed),
		cmocka_unit_test(test_config__timeouts_are_at_most_a_day),
		cmocka_unit_test(test_config__yaml_syntax_error),
		cmocka_unit_test(test_config__starter_is_private_and_loads),
		cmocka_unit_test(test_config__starter_quotes_what_a_home_may_hold),
		cmocka_unit_test(test_config__starter_that_would_not_load_is_not_left),
		cmocka_unit_test(test_config__unwritable_parent_says_permission_denied),
		cmocka_unit_test(test_config__unreadable_file_or_directory_is_a_read_error),
		cmocka_unit_test(test_config__bad_bytes_have_their_line),
		cmocka_unit_test(test_config__second_document_is_refused),
		cmocka_unit_test(test_config__tls_none_only_for_loopback),
		cmocka_unit_test(test_config__tilde_needs_a_home),
		cmocka_unit_test(test_config__owner_named_as_a_badge_file_spells_it),
		cmocka_unit_test(test_config__owner_two_reps_answer_to_is_nobody),
		cmocka_unit_test(test_config__owner_key_spelt_as_another_rep_is_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
