/*
 * test_transport.c - the Maildir and SMTP transports.
 *
 * The SMTP cases run against tests/integration/smtpd.py (aiosmtpd), started
 * as a subprocess on a port of its own; they are skipped when Debian's
 * /usr/bin/python3 cannot import aiosmtpd.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "followup/message.h"
#include "followup/transport.h"
#include "followup/util.h"

#define PYTHON "/usr/bin/python3"

static const char test_message[] =
	"From: Alex Rep <alex@example.com>\r\n"
	"To: Jo Lead <jo@example.org>\r\n"
	"Subject: Great meeting you\r\n"
	"Message-ID: <1@example.com>\r\n"
	"\r\n"
	"Hi Jo,\r\n"
	".a line starting with a dot\r\n"
	"..and one with two\r\n"
	".\r\n"
	"bye\r\n";

static const char test_message_lf[] =
	"From: Alex Rep <alex@example.com>\n"
	"To: Jo Lead <jo@example.org>\n"
	"Subject: Great meeting you\n"
	"Message-ID: <1@example.com>\n"
	"\n"
	"Hi Jo,\n"
	".a line starting with a dot\n"
	"..and one with two\n"
	".\n"
	"bye\n";

/* --- helpers: files and processes ------------------------------------------ */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *make_temp_dir(void)
{
	char *dir = xstrdup("/tmp/followup-test-transport-XXXXXX");

	assert_non_null(mkdtemp(dir));
	return dir;
}

static char *read_file(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f)
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	fclose(f);
	return strbuf_detach(&sb);
}

/* Names in dir ending with suffix ("" for all), sorted; returns the count. */
static int list_dir(const char *dir, const char *suffix, char ***names)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int count = 0;

	*names = NULL;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name), slen = strlen(suffix);
		if (e->d_name[0] == '.' || len < slen || strcmp(e->d_name + len - slen, suffix))
			continue;
		*names = xrealloc(*names, sizeof(char *) * (size_t)(count + 1));
		(*names)[count++] = xstrdup(e->d_name);
	}
	closedir(d);
	for (int i = 0; i < count; i++)
		for (int j = i + 1; j < count; j++)
			if (strcmp((*names)[i], (*names)[j]) > 0) {
				char *tmp = (*names)[i];
				(*names)[i] = (*names)[j];
				(*names)[j] = tmp;
			}
	return count;
}

static void free_names(char **names, int count)
{
	for (int i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

/* Runs argv, returns its exit status (-1 if it could not run). */
static int run(const char *const argv[], int quiet)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (quiet) {
			int null = open("/dev/null", O_WRONLY);
			dup2(null, 1);
			dup2(null, 2);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- the test SMTP server ---------------------------------------------------- */

static int smtpd_available = -1;

static const char *smtpd_script(void)
{
	static char *path;
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;
	const char *env = getenv("FOLLOWUP_SMTPD");

	if (!str_empty(env))
		return env;
	if (access("tests/integration/smtpd.py", R_OK) == 0)
		return "tests/integration/smtpd.py";
	/* Else relative to build/tests/test_transport. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return "tests/integration/smtpd.py";
	exe[n] = '\0';
	for (int up = 0; up < 3 && (slash = strrchr(exe, '/')); up++)
		*slash = '\0';
	if (!path)
		path = xasprintf("%s/tests/integration/smtpd.py", exe);
	return path;
}

static void require_smtpd(void)
{
	static const char *const probe[] = { PYTHON, "-c", "import aiosmtpd", NULL };

	if (smtpd_available < 0)
		smtpd_available = access(PYTHON, X_OK) == 0 && run(probe, 1) == 0;
	if (!smtpd_available) {
		print_message("skipping: %s cannot import aiosmtpd "
			      "(apt-get install python3-aiosmtpd)\n", PYTHON);
		skip();
	}
}

struct smtpd {
	pid_t pid;
	char *dir;    /* temp dir holding the port file, spool and certificate */
	char *spool;
	char *cert, *key;
	int port;
	char url[64];
};

/* Writes a self-signed cert for 127.0.0.1 into s->dir (for --starttls/--tls
 * and as the client's ca_file). */
static void smtpd_make_cert(struct smtpd *s)
{
	char *certdir = xasprintf("%s/tls", s->dir);
	const char *const argv[] = { PYTHON, smtpd_script(), "--make-cert", certdir, NULL };

	assert_int_equal(run(argv, 1), 0);
	s->cert = xasprintf("%s/cert.pem", certdir);
	s->key = xasprintf("%s/key.pem", certdir);
	free(certdir);
}

/* Starts smtpd.py with extra options (NULL-terminated; "@CERT" and "@KEY"
 * stand for the generated certificate) and waits for its port. */
static void smtpd_start(struct smtpd *s, const char *scheme, const char *const extra[])
{
	const char *argv[40];
	char *port_file = xasprintf("%s/port", s->dir);
	size_t n = 0;
	double deadline = now_seconds() + 20;
	char *text;

	argv[n++] = PYTHON;
	argv[n++] = smtpd_script();
	argv[n++] = "--port-file";
	argv[n++] = port_file;
	argv[n++] = "--spool";
	argv[n++] = s->spool;
	for (size_t i = 0; extra && extra[i] && n + 1 < ARRAY_SIZE(argv); i++) {
		if (!strcmp(extra[i], "@CERT") || !strcmp(extra[i], "@KEY")) {
			if (!s->cert)
				smtpd_make_cert(s);
			argv[n++] = !strcmp(extra[i], "@CERT") ? s->cert : s->key;
		} else {
			argv[n++] = extra[i];
		}
	}
	argv[n] = NULL;

	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (access(port_file, R_OK) != 0) {
		int status;
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			fail_msg("smtpd.py exited before listening");
		}
		if (now_seconds() > deadline)
			fail_msg("smtpd.py did not start listening");
		usleep(20000);
	}
	text = read_file(port_file);
	s->port = atoi(text);
	assert_true(s->port > 0);
	snprintf(s->url, sizeof(s->url), "%s://127.0.0.1:%d", scheme, s->port);
	free(text);
	free(port_file);
}

static void smtpd_stop(struct smtpd *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}

static int smtpd_connections(const struct smtpd *s)
{
	char *path = xasprintf("%s/connections", s->spool);
	char *text = read_file(path);
	int count = text ? atoi(text) : 0;

	free(path);
	free(text);
	return count;
}

/* Messages the server accepted, oldest first. */
static int smtpd_messages(const struct smtpd *s, char ***names)
{
	return list_dir(s->spool, ".eml", names);
}

static char *smtpd_message(const struct smtpd *s, const char *name)
{
	char *path = xasprintf("%s/%s", s->spool, name);
	char *text = read_file(path);

	free(path);
	return text;
}

/* --- a scripted server that fails at one command ------------------------------- */

enum script_fault {
	FAULT_RESET,  /* the connection reset (RST), as a crashed or killed server's */
	FAULT_CLOSE,  /* the connection closed (FIN) without a reply */
	FAULT_SILENT, /* no reply, the connection left open */
};

/* Reads one line from fd into buf (NUL-terminated, CRLF kept); 0 at EOF. */
static size_t script_read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size && read(fd, buf + n, 1) == 1)
		if (buf[n++] == '\n')
			break;
	buf[n] = '\0';
	return n;
}

static void script_say(int fd, const char *line)
{
	size_t len = strlen(line);

	if (write(fd, line, len) != (ssize_t)len)
		_exit(1);
}

/* The child: one connection, answered like a server until the command that starts
 * with verb ("MAIL", "RCPT"), then fault. */
static void script_serve(int listener, const char *verb, enum script_fault fault)
{
	int fd = accept(listener, NULL, NULL);
	char line[1024];

	if (fd < 0)
		_exit(1);
	script_say(fd, "220 scripted ESMTP\r\n");
	while (script_read_line(fd, line, sizeof(line))) {
		if (!strncasecmp(line, verb, strlen(verb))) {
			if (fault == FAULT_RESET) {
				struct linger reset = { .l_onoff = 1, .l_linger = 0 };
				setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
			}
			if (fault == FAULT_SILENT)
				for (;;)
					pause();
			close(fd);
			_exit(0);
		}
		if (!strncasecmp(line, "EHLO", 4))
			script_say(fd, "250-scripted\r\n250 SIZE 1000000\r\n");
		else if (!strncasecmp(line, "QUIT", 4))
			break;
		else
			script_say(fd, "250 OK\r\n");
	}
	_exit(0);
}

/* Starts the scripted server (stopped by the fixture's teardown); sets s->url. */
static void script_start(struct smtpd *s, const char *verb, enum script_fault fault)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t len = sizeof(addr);
	int listener = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(listener >= 0);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(listener, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(listener, 1), 0);
	assert_int_equal(getsockname(listener, (struct sockaddr *)&addr, &len), 0);
	s->port = ntohs(addr.sin_port);
	snprintf(s->url, sizeof(s->url), "smtp://127.0.0.1:%d", s->port);
	fflush(NULL);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0)
		script_serve(listener, verb, fault);
	close(listener);
}

/* --- fixture: a temp dir, maybe a server, maybe a transport ------------------ */

struct fixture {
	char *dir;
	struct smtpd server;
	struct transport *transport;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	f->dir = make_temp_dir();
	f->server.dir = f->dir;
	f->server.spool = xasprintf("%s/spool", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	transport_close(f->transport);
	smtpd_stop(&f->server);
	remove_tree(f->dir);
	free(f->server.spool);
	free(f->server.cert);
	free(f->server.key);
	free(f->dir);
	free(f);
	return 0;
}

static struct transport *open_ok(struct fixture *f, const struct transport_options *o)
{
	char *err = NULL;

	if (transport_open(&f->transport, o, &err))
		fail_msg("transport_open: %s", err);
	return f->transport;
}

static enum transport_result send_to(struct transport *t, const char *recipient, char **err)
{
	*err = NULL;
	return transport_send(t, "alex@example.com", recipient, test_message,
			      strlen(test_message), err);
}

static void assert_sent(struct transport *t, const char *recipient)
{
	char *err = NULL;
	enum transport_result r = send_to(t, recipient, &err);

	if (r != TRANSPORT_SENT)
		fail_msg("expected sent, got %s: %s", transport_result_name(r), err);
}

static void assert_result(struct transport *t, const char *recipient,
			  enum transport_result expected, const char *errmsg_part)
{
	char *err = NULL;
	enum transport_result r = send_to(t, recipient, &err);

	if (r != expected)
		fail_msg("to %s: expected %s, got %s: %s", recipient,
			 transport_result_name(expected), transport_result_name(r),
			 err ? err : "");
	assert_non_null(err);
	if (errmsg_part && !strstr(err, errmsg_part))
		fail_msg("'%s' not in error '%s'", errmsg_part, err);
	free(err);
}

/* --- opening and describing --------------------------------------------------- */

static void test_transport__open_refuses_bad_urls(void **state)
{
	static const struct {
		const char *url;
		int tls_none;
		int code;
		const char *in_message;
	} cases[] = {
		{ NULL, 0, TRANSPORT_EURL, "no transport url" },
		{ "", 0, TRANSPORT_EURL, "no transport url" },
		{ "http://user:pw@mail.example.com", 0, TRANSPORT_EURL, "'http'" },
		{ "maildir:", 0, TRANSPORT_EURL, "maildir" },
		{ "smtp://mail.example.com", 1, TRANSPORT_EINSECURE, "loopback" },
		{ "smtp://10.0.0.1:25", 1, TRANSPORT_EINSECURE, "loopback" },
		{ "smtp://127.0.0.1.example.com", 1, TRANSPORT_EINSECURE, "loopback" },
		{ "smtps://127.0.0.1", 1, TRANSPORT_EURL, "smtps" },
		{ "smtp://exa mple.com", 0, TRANSPORT_EURL, "invalid smtp url" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct transport_options o = { .url = cases[i].url, .tls_none = cases[i].tls_none };
		struct transport *t = NULL;
		char *err = NULL;
		int ret = transport_open(&t, &o, &err);

		if (ret != cases[i].code)
			fail_msg("case %zu: expected %d, got %d (%s)", i, cases[i].code, ret,
				 err ? err : "");
		assert_null(t);
		assert_non_null(err);
		if (!strstr(err, cases[i].in_message))
			fail_msg("case %zu: '%s' not in '%s'", i, cases[i].in_message, err);
		assert_null(strstr(err, "pw")); /* never echo a URL's password */
		free(err);
	}
}

static void test_transport__describe_without_credentials(void **state)
{
	static const struct {
		const char *url;
		int tls_none;
		const char *description;
	} cases[] = {
		{ "smtp://mail.example.com", 0, "smtp://mail.example.com:25" },
		{ "smtp://mail.example.com:587", 0, "smtp://mail.example.com:587" },
		{ "smtps://mail.example.com", 0, "smtps://mail.example.com:465" },
		{ "SMTP://user:secretpw@Mail.Example.com:587", 0, "smtp://mail.example.com:587" },
		{ "smtp://127.0.0.1:2525", 1, "smtp://127.0.0.1:2525" },
		{ "smtp://127.8.9.10:2525", 1, "smtp://127.8.9.10:2525" },
		{ "smtp://localhost:2525", 1, "smtp://localhost:2525" },
		{ "smtp://[::1]:2525", 1, "smtp://[::1]:2525" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct transport_options o = { .url = cases[i].url, .tls_none = cases[i].tls_none,
					       .password = "secretpw" };
		struct transport *t = NULL;
		char *err = NULL;

		if (transport_open(&t, &o, &err))
			fail_msg("%s: %s", cases[i].url, err);
		if (strcasecmp(transport_describe(t), cases[i].description))
			fail_msg("'%s' != '%s'", transport_describe(t), cases[i].description);
		assert_null(strstr(transport_describe(t), "secretpw"));
		transport_close(t);
	}
	transport_close(NULL);
}

static void test_transport__result_names(void **state)
{
	(void)state;
	assert_string_equal(transport_result_name(TRANSPORT_SENT), "sent");
	assert_string_equal(transport_result_name(TRANSPORT_RETRY), "retry");
	assert_string_equal(transport_result_name(TRANSPORT_REJECTED), "rejected");
	assert_string_equal(transport_result_name(TRANSPORT_IN_DOUBT), "in doubt");
	assert_string_equal(transport_result_name(TRANSPORT_FATAL), "fatal");
}

/* --- Maildir -------------------------------------------------------------------- */

static void test_transport__maildir_delivery(void **state)
{
	struct fixture *f = *state;
	char *maildir = xasprintf("%s/mail/Followup", f->dir);
	char *url = xasprintf("maildir:%s", maildir);
	struct transport_options o = { .url = url };
	char *sub, **names = NULL, *description;
	struct stat st;
	int count;

	open_ok(f, &o);
	description = xasprintf("maildir %s", maildir);
	assert_string_equal(transport_describe(f->transport), description);
	free(description);
	static const char *const subdirs[] = { "tmp", "new", "cur" };
	for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
		sub = xasprintf("%s/%s", maildir, subdirs[i]);
		assert_int_equal(stat(sub, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_mode & 0777, 0700);
		free(sub);
	}

	for (int i = 0; i < 3; i++)
		assert_sent(f->transport, "jo@example.org");

	sub = xasprintf("%s/new", maildir);
	count = list_dir(sub, "", &names);
	assert_int_equal(count, 3);
	for (int i = 0; i < count; i++) {
		char *path = xasprintf("%s/%s", sub, names[i]);
		char *text = read_file(path);
		assert_string_equal(text, test_message_lf); /* LF line ends, bytes intact */
		assert_null(strchr(text, '\r'));
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		if (i > 0)
			assert_string_not_equal(names[i], names[i - 1]);
		free(text);
		free(path);
	}
	free_names(names, count);
	free(sub);

	sub = xasprintf("%s/tmp", maildir);
	assert_int_equal(list_dir(sub, "", &names), 0); /* nothing left behind */
	free(sub);

	free(url);
	free(maildir);
}

static void test_transport__maildir_checks_envelope(void **state)
{
	struct fixture *f = *state;
	char *url = xasprintf("maildir:%s/md", f->dir);
	struct transport_options o = { .url = url };
	char *err = NULL, *newdir, **names;

	open_ok(f, &o);
	assert_int_equal(transport_send(f->transport, "alex@example.com",
					"jo@example.org\r\nRCPT TO:<x@evil.example>",
					test_message, strlen(test_message), &err),
			 TRANSPORT_REJECTED);
	free(err);
	err = NULL;
	assert_int_equal(transport_send(f->transport, "alex@example.com>", "jo@example.org",
					test_message, strlen(test_message), &err),
			 TRANSPORT_FATAL);
	free(err);
	newdir = xasprintf("%s/md/new", f->dir);
	assert_int_equal(list_dir(newdir, "", &names), 0);
	free(newdir);
	free(url);
}

static void test_transport__maildir_tilde_and_existing(void **state)
{
	struct fixture *f = *state;
	char *home = getenv("HOME") ? xstrdup(getenv("HOME")) : NULL;
	struct transport_options o = { .url = "maildir:~/Maildir" };
	char *expected;

	setenv("HOME", f->dir, 1);
	open_ok(f, &o);
	expected = xasprintf("maildir %s/Maildir", f->dir);
	assert_string_equal(transport_describe(f->transport), expected);
	transport_close(f->transport);
	f->transport = NULL;
	open_ok(f, &o); /* an existing Maildir is fine */
	assert_sent(f->transport, "jo@example.org");
	if (home)
		setenv("HOME", home, 1);
	else
		unsetenv("HOME");
	free(home);
	free(expected);
}

/* The entries of dir but . and .. */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* A check looks and makes nothing: not the Maildir, and no file left in it. */
static void test_transport__maildir_check(void **state)
{
	struct fixture *f = *state;
	char *path = xasprintf("%s/outbox", f->dir), *url = xasprintf("maildir:%s", path);
	char *tmp = xasprintf("%s/tmp", path), *file = xasprintf("%s/new/x", path);
	char *under_file = xasprintf("maildir:%s/sub", file);
	struct transport_options o = { .url = url };
	struct transport_check c;
	char *err = NULL;

	assert_int_equal(transport_check(&o, &c, &err), 0);
	assert_true(c.maildir_missing);
	assert_string_equal(c.url, url);
	assert_null(c.tls);
	assert_int_equal(access(path, F_OK), -1);        /* not made */
	transport_check_release(&c);

	open_ok(f, &o);                                  /* a send makes it */
	assert_int_equal(transport_check(&o, &c, &err), 0);
	assert_false(c.maildir_missing);
	assert_int_equal(count_entries(tmp), 0);         /* the probe is gone */
	transport_check_release(&c);

	close(open(file, O_WRONLY | O_CREAT, 0600));
	o.url = under_file;                              /* cannot be made under a file */
	assert_int_equal(transport_check(&o, &c, &err), -1);
	assert_non_null(strstr(err, "Not a directory"));
	transport_check_release(&c);
	free(err);
	free(under_file);
	free(file);
	free(tmp);
	free(url);
	free(path);
}

/* --- SMTP ------------------------------------------------------------------------ */

static void test_transport__smtp_plain_loopback(void **state)
{
	struct fixture *f = *state;
	static const char *const no_options[] = { NULL };
	struct transport_options o = { .tls_none = 1 };
	char **names, *data, *envelope, *path;
	int count;

	require_smtpd();
	smtpd_start(&f->server, "smtp", no_options);
	o.url = f->server.url;
	open_ok(f, &o);
	assert_sent(f->transport, "jo@example.org");

	count = smtpd_messages(&f->server, &names);
	assert_int_equal(count, 1);
	data = smtpd_message(&f->server, names[0]);
	assert_string_equal(data, test_message); /* byte for byte, dots included */
	path = xasprintf("%s/%.6s.json", f->server.spool, names[0]);
	envelope = read_file(path);
	assert_non_null(strstr(envelope, "\"mail_from\": \"alex@example.com\""));
	assert_non_null(strstr(envelope, "\"jo@example.org\""));
	free(envelope);
	free(path);
	free(data);
	free_names(names, count);
}

static void test_transport__smtp_reuses_one_connection(void **state)
{
	struct fixture *f = *state;
	static const char *const no_options[] = { NULL };
	struct transport_options o = { .tls_none = 1 };
	char **names;
	int count;

	require_smtpd();
	smtpd_start(&f->server, "smtp", no_options);
	o.url = f->server.url;
	open_ok(f, &o);
	for (int i = 0; i < 5; i++)
		assert_sent(f->transport, "jo@example.org");
	count = smtpd_messages(&f->server, &names);
	assert_int_equal(count, 5);
	free_names(names, count);
	assert_int_equal(smtpd_connections(&f->server), 1);
}

static void test_transport__smtp_built_message_round_trip(void **state)
{
	struct fixture *f = *state;
	static const char *const no_options[] = { NULL };
	struct transport_options o = { .tls_none = 1 };
	struct message m = {
		.from_name = "Alex Rep", .from_email = "alex@example.com",
		.to_name = "Müller, Hans", .to_email = "hans@example.de",
		.subject = "Grüße", .body = "line one\n.dot line\n", .message_id = "<x@example.com>",
		.date = 1772701200,
	};
	struct strbuf built = STRBUF_INIT;
	char *err = NULL, **names, *data;
	int count;

	require_smtpd();
	smtpd_start(&f->server, "smtp", no_options);
	o.url = f->server.url;
	open_ok(f, &o);
	assert_int_equal(message_build(&m, &built, &err), 0);
	assert_int_equal(transport_send(f->transport, m.from_email, m.to_email, built.buf,
					built.len, &err), TRANSPORT_SENT);
	count = smtpd_messages(&f->server, &names);
	assert_int_equal(count, 1);
	data = smtpd_message(&f->server, names[0]);
	assert_string_equal(data, built.buf);
	free(data);
	free_names(names, count);
	strbuf_release(&built);
}

static void test_transport__smtp_starttls_auth(void **state)
{
	struct fixture *f = *state;
	static const char *const options[] = { "--starttls", "@CERT", "@KEY",
					       "--auth", "alex:s3cret-pw", NULL };
	struct transport_options o = { .username = "alex", .password = "s3cret-pw" };
	char **names, *envelope, *path;
	int count;

	require_smtpd();
	smtpd_start(&f->server, "smtp", options);
	o.url = f->server.url;
	o.ca_file = f->server.cert;
	open_ok(f, &o);
	assert_sent(f->transport, "jo@example.org");
	assert_sent(f->transport, "kim@example.org");
	count = smtpd_messages(&f->server, &names);
	assert_int_equal(count, 2);
	path = xasprintf("%s/%.6s.json", f->server.spool, names[0]);
	envelope = read_file(path);
	assert_non_null(strstr(envelope, "\"tls\": true"));
	assert_non_null(strstr(envelope, "\"auth\": true"));
	free(envelope);
	free(path);
	free_names(names, count);
	assert_int_equal(smtpd_connections(&f->server), 1);
}

static void test_transport__smtp_untrusted_certificate_is_fatal(void **state)
{
	struct fixture *f = *state;
	static const char *const options[] = { "--starttls", "@CERT", "@KEY", NULL };
	struct transport_options o = { 0 };
	char **names;

	require_smtpd();
	smtpd_start(&f->server, "smtp", options);
	o.url = f->server.url; /* no ca_file: the self-signed cert is not trusted */
	open_ok(f, &o);
	assert_result(f->transport, "jo@example.org", TRANSPORT_FATAL, "certificate");
	assert_int_equal(smtpd_messages(&f->server, &names), 0);
}

/* Sends with stderr going to a file; returns what was printed. */
static char *send_capturing_stderr(struct transport *t, const char *recipient,
				   enum transport_result *result, char **err)
{
	char path[] = "/tmp/followup-test-stderr-XXXXXX";
	int fd = mkstemp(path), saved;
	char *printed;

	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	*result = send_to(t, recipient, err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	printed = read_file(path);
	unlink(path);
	return printed;
}

static void test_transport__smtp_wrong_password_is_fatal_and_secret(void **state)
{
	struct fixture *f = *state;
	static const char *const options[] = { "--starttls", "@CERT", "@KEY",
					       "--auth", "alex:right-pw", NULL };
	/* "\0alex\0Wr0ng-Pw" in base64, as AUTH PLAIN would carry it */
	static const char plain_b64[] = "AGFsZXgAV3Iwbmc";
	struct transport_options o = { .username = "alex", .password = "Wr0ng-Pw",
				       .verbose = 1 };
	enum transport_result r;
	char *err = NULL, *printed, **names;

	require_smtpd();
	smtpd_start(&f->server, "smtp", options);
	o.url = f->server.url;
	o.ca_file = f->server.cert;
	open_ok(f, &o);
	printed = send_capturing_stderr(f->transport, "jo@example.org", &r, &err);
	assert_int_equal(r, TRANSPORT_FATAL);
	assert_non_null(strstr(err, "authentication failed"));
	assert_non_null(strstr(err, "535"));
	assert_null(strstr(err, "Wr0ng-Pw"));
	assert_null(strstr(err, plain_b64));
	/* verbose shows the dialogue but masks what AUTH carries */
	assert_non_null(strstr(printed, "> AUTH"));
	assert_non_null(strstr(printed, "[masked]"));
	assert_null(strstr(printed, "Wr0ng-Pw"));
	assert_null(strstr(printed, plain_b64));
	assert_int_equal(smtpd_messages(&f->server, &names), 0);
	free(printed);
	free(err);
}

static void test_transport__smtp_no_starttls_is_fatal(void **state)
{
	struct fixture *f = *state;
	static const char *const options[] = { "--no-starttls", NULL };
	struct transport_options o = { 0 };
	char **names;

	require_smtpd();
	smtpd_start(&f->server, "smtp", options);
	o.url = f->server.url; /* TLS required (no tls_none) */
	open_ok(f, &o);
	assert_result(f->transport, "jo@example.org", TRANSPORT_FATAL, "STARTTLS");
	assert_int_equal(smtpd_messages(&f->server, &names), 0);
}

static void test_transport__smtp_sender_refused_is_fatal_not_bounce(void **state)
{
	struct fixture *f = *state;
	static const char *const options[] = { "--starttls", "@CERT", "@KEY", NULL };
	struct transport_options o = { .tls_none = 1 };

	require_smtpd();
	/* The server answers MAIL FROM with 530 (STARTTLS first): a 5xx, but about
	 * the session, so no lead may be marked bounced for it. */
	smtpd_start(&f->server, "smtp", options);
	o.url = f->server.url;
	open_ok(f, &o);
	assert_result(f->transport, "jo@example.org", TRANSPORT_FATAL, "530");
}

static void test_transport__smtp_recipient_replies(void **state)
{
	struct fixture *f = *state;
	static const char *const options[] = {
		"--reply", "later@example.org=451x1", "--reply", "gone@example.org=550",
		"--data-reply", "spam@example.org=554", "--data-reply", "full@example.org=452x1",
		NULL };
	struct transport_options o = { .tls_none = 1 };
	char **names;
	int count;

	require_smtpd();
	smtpd_start(&f->server, "smtp", options);
	o.url = f->server.url;
	open_ok(f, &o);
	assert_result(f->transport, "later@example.org", TRANSPORT_RETRY, "451");
	assert_sent(f->transport, "later@example.org"); /* the 451 was once */
	assert_result(f->transport, "gone@example.org", TRANSPORT_REJECTED, "550");
	assert_result(f->transport, "gone@example.org", TRANSPORT_REJECTED, "gone@example.org");
	assert_result(f->transport, "spam@example.org", TRANSPORT_REJECTED, "554");
	assert_result(f->transport, "full@example.org", TRANSPORT_RETRY, "452");
	assert_sent(f->transport, "jo@example.org"); /* the run goes on */
	count = smtpd_messages(&f->server, &names);
	assert_int_equal(count, 2);
	free_names(names, count);
}

static void test_transport__smtp_drop_after_data_is_in_doubt(void **state)
{
	struct fixture *f = *state;
	static const char *const options[] = { "--drop-after-data", "1", NULL };
	struct transport_options o = { .tls_none = 1 };
	char **names;
	int count;

	require_smtpd();
	smtpd_start(&f->server, "smtp", options);
	o.url = f->server.url;
	open_ok(f, &o);
	assert_result(f->transport, "jo@example.org", TRANSPORT_IN_DOUBT, "may have been delivered");
	assert_sent(f->transport, "kim@example.org"); /* on a fresh connection */
	count = smtpd_messages(&f->server, &names);
	assert_int_equal(count, 1);
	free_names(names, count);
	assert_int_equal(smtpd_connections(&f->server), 2);
}

static void test_transport__smtp_hang_after_data_times_out(void **state)
{
	struct fixture *f = *state;
	static const char *const options[] = { "--hang-after-data", "30", NULL };
	struct transport_options o = { .tls_none = 1, .timeout = 1 };
	double start;

	require_smtpd();
	smtpd_start(&f->server, "smtp", options);
	o.url = f->server.url;
	open_ok(f, &o);
	start = now_seconds();
	assert_int_equal(transport_stalled(f->transport), 0);
	assert_result(f->transport, "jo@example.org", TRANSPORT_IN_DOUBT, NULL);
	/* The caller sends no more: the next would wait as long, and so would every other. */
	assert_int_equal(transport_stalled(f->transport), 1);
	transport_close(f->transport); /* no waiting for a QUIT reply either */
	f->transport = NULL;
	if (now_seconds() - start > 4)
		fail_msg("a hanging server held us %.1f s", now_seconds() - start);
	assert_int_equal(smtpd_connections(&f->server), 1);
}

static void test_transport__smtp_server_gone_is_fatal(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t len = sizeof(addr);
	int sock = socket(AF_INET, SOCK_STREAM, 0);
	char url[64];
	struct transport_options o = { .tls_none = 1, .url = url };

	/* A port nobody listens on: bind one, then let it go. */
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(sock, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(getsockname(sock, (struct sockaddr *)&addr, &len), 0);
	close(sock);
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", ntohs(addr.sin_port));
	open_ok(f, &o);
	assert_result(f->transport, "jo@example.org", TRANSPORT_FATAL, "connect");
}

static void test_transport__smtp_server_dies_mid_run(void **state)
{
	struct fixture *f = *state;
	static const char *const options[] = { "--stop-after", "2", NULL };
	struct transport_options o = { .tls_none = 1 };
	enum transport_result r = TRANSPORT_SENT;
	char *err = NULL;
	int tries = 0;

	require_smtpd();
	smtpd_start(&f->server, "smtp", options);
	o.url = f->server.url;
	open_ok(f, &o);
	assert_sent(f->transport, "jo@example.org");
	assert_sent(f->transport, "kim@example.org");
	/* The reused connection may fail first (retry); then nobody answers. */
	while (r != TRANSPORT_FATAL && tries++ < 3) {
		free(err);
		r = send_to(f->transport, "lee@example.org", &err);
		assert_true(r == TRANSPORT_RETRY || r == TRANSPORT_FATAL);
	}
	assert_int_equal(r, TRANSPORT_FATAL);
	free(err);
}

/* A reset at MAIL FROM (a server dying between two messages) is a lost connection, not
 * a refused sender: the run stops, nothing of the message was sent. */
static void test_transport__smtp_reset_at_mail_is_lost_not_refused_sender(void **state)
{
	struct fixture *f = *state;
	struct transport_options o = { .tls_none = 1 };
	char *err = NULL;

	script_start(&f->server, "MAIL", FAULT_RESET);
	o.url = f->server.url;
	open_ok(f, &o);
	assert_int_equal(send_to(f->transport, "jo@example.org", &err), TRANSPORT_FATAL);
	if (!strstr(err, "the connection to smtp://127.0.0.1:") || !strstr(err, " was lost (") ||
	    !strstr(err, "before the message to 'jo@example.org' was sent: stopped, nothing"))
		fail_msg("not a lost connection: %s", err);
	assert_null(strstr(err, "refused"));
	assert_null(strstr(err, "server said"));
	free(err);
	assert_int_equal(transport_stalled(f->transport), 0);
}

static void test_transport__smtp_close_at_mail_is_lost(void **state)
{
	struct fixture *f = *state;
	struct transport_options o = { .tls_none = 1 };

	script_start(&f->server, "MAIL", FAULT_CLOSE);
	o.url = f->server.url;
	open_ok(f, &o);
	assert_result(f->transport, "jo@example.org", TRANSPORT_FATAL, " was lost (");
}

/* Silent at MAIL FROM: no answer, said so (not a refused sender), and the run is stalled. */
static void test_transport__smtp_silence_at_mail_is_no_answer(void **state)
{
	struct fixture *f = *state;
	struct transport_options o = { .tls_none = 1, .timeout = 1 };
	char *err = NULL;

	script_start(&f->server, "MAIL", FAULT_SILENT);
	o.url = f->server.url;
	open_ok(f, &o);
	assert_int_equal(send_to(f->transport, "jo@example.org", &err), TRANSPORT_FATAL);
	if (!strstr(err, "no answer from smtp://127.0.0.1:") || strstr(err, "refused"))
		fail_msg("not a server that stopped answering: %s", err);
	free(err);
	assert_int_equal(transport_stalled(f->transport), 1);
}

/* Lost at RCPT TO: as before, retried (the message was not sent), not fatal. */
static void test_transport__smtp_reset_at_rcpt_is_retried(void **state)
{
	struct fixture *f = *state;
	struct transport_options o = { .tls_none = 1 };

	script_start(&f->server, "RCPT", FAULT_RESET);
	o.url = f->server.url;
	open_ok(f, &o);
	assert_result(f->transport, "jo@example.org", TRANSPORT_RETRY, "lost before the message");
}

static void test_transport__smtps_xoauth2(void **state)
{
	struct fixture *f = *state;
	static const char *const options[] = { "--tls", "@CERT", "@KEY",
					       "--xoauth2", "ya29.token", NULL };
	struct transport_options o = { .username = "alex@example.com",
				       .oauth2_token = "ya29.token" };
	struct transport_options bad = { .username = "alex@example.com",
					 .oauth2_token = "expired" };
	struct transport *second = NULL;
	char *err = NULL;

	require_smtpd();
	smtpd_start(&f->server, "smtps", options);
	o.url = bad.url = f->server.url;
	o.ca_file = bad.ca_file = f->server.cert;
	open_ok(f, &o);
	assert_sent(f->transport, "jo@example.org");

	assert_int_equal(transport_open(&second, &bad, &err), 0);
	assert_int_equal(send_to(second, "jo@example.org", &err), TRANSPORT_FATAL);
	assert_null(strstr(err, "expired"));
	free(err);
	transport_close(second);
}

static void test_transport__smtp_checks_envelope(void **state)
{
	struct fixture *f = *state;
	struct transport_options o = { .tls_none = 1, .url = "smtp://127.0.0.1:9" };
	char *err = NULL;

	/* Refused before any connection: port 9 is never contacted. */
	open_ok(f, &o);
	assert_int_equal(transport_send(f->transport, "alex@example.com",
					"jo@example.org>\r\nRSET", test_message,
					strlen(test_message), &err), TRANSPORT_REJECTED);
	free(err);
	err = NULL;
	assert_int_equal(transport_send(f->transport, "alex@example.com\r\nRCPT TO:<x@y>",
					"jo@example.org", test_message, strlen(test_message), &err),
			 TRANSPORT_FATAL);
	free(err);
}

#define FIXTURE_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

static void test_transport__loopback_hosts(void **state)
{
	static const struct { const char *host; int loopback; } cases[] = {
		{ "localhost", 1 }, { "LOCALHOST.", 1 }, { "127.0.0.1", 1 }, { "127.8.9.10", 1 },
		{ "::1", 1 }, { "[::1]", 1 }, { "::ffff:127.0.0.1", 1 }, { "[::ffff:127.0.0.2]", 1 },
		{ "10.0.0.1", 0 }, { "128.0.0.1", 0 }, { "::2", 0 }, { "mail.example.com", 0 },
		{ "127.0.0.1.example.com", 0 }, { "localhost.example.com", 0 }, { "[::1", 0 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		if (transport_host_is_loopback(cases[i].host) != cases[i].loopback)
			fail_msg("'%s' should%s be loopback", cases[i].host,
				 cases[i].loopback ? "" : " not");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transport__loopback_hosts),
		cmocka_unit_test(test_transport__open_refuses_bad_urls),
		cmocka_unit_test(test_transport__describe_without_credentials),
		cmocka_unit_test(test_transport__result_names),
		FIXTURE_TEST(test_transport__maildir_delivery),
		FIXTURE_TEST(test_transport__maildir_checks_envelope),
		FIXTURE_TEST(test_transport__maildir_tilde_and_existing),
		FIXTURE_TEST(test_transport__maildir_check),
		FIXTURE_TEST(test_transport__smtp_plain_loopback),
		FIXTURE_TEST(test_transport__smtp_reuses_one_connection),
		FIXTURE_TEST(test_transport__smtp_built_message_round_trip),
		FIXTURE_TEST(test_transport__smtp_starttls_auth),
		FIXTURE_TEST(test_transport__smtp_untrusted_certificate_is_fatal),
		FIXTURE_TEST(test_transport__smtp_wrong_password_is_fatal_and_secret),
		FIXTURE_TEST(test_transport__smtp_no_starttls_is_fatal),
		FIXTURE_TEST(test_transport__smtp_sender_refused_is_fatal_not_bounce),
		FIXTURE_TEST(test_transport__smtp_recipient_replies),
		FIXTURE_TEST(test_transport__smtp_drop_after_data_is_in_doubt),
		FIXTURE_TEST(test_transport__smtp_hang_after_data_times_out),
		FIXTURE_TEST(test_transport__smtp_server_gone_is_fatal),
		FIXTURE_TEST(test_transport__smtp_server_dies_mid_run),
		FIXTURE_TEST(test_transport__smtp_reset_at_mail_is_lost_not_refused_sender),
		FIXTURE_TEST(test_transport__smtp_close_at_mail_is_lost),
		FIXTURE_TEST(test_transport__smtp_silence_at_mail_is_no_answer),
		FIXTURE_TEST(test_transport__smtp_reset_at_rcpt_is_retried),
		FIXTURE_TEST(test_transport__smtps_xoauth2),
		FIXTURE_TEST(test_transport__smtp_checks_envelope),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
