/*
 * credentials.c - see credentials.h: the SMTP secrets that come from outside the config,
 * a helper command's bearer token and ~/.netrc, and what can go wrong with them.
 */
#include "followup/credentials.h"
#include "followup/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A bearer token is a few kilobytes: a first line longer than this is no token. */
#define TOKEN_MAX (64 * 1024)

/* Milliseconds from now to deadline (CLOCK_MONOTONIC), 0 once it has passed. */
static int ms_until(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms <= 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Reads the helper's output to its end, or until deadline: 0, or 1 when the deadline
 * passed first. Only the first line is kept (the rest is read, so the helper is not
 * stopped by a pipe nobody reads). */
static int read_token_output(int fd, const struct timespec *deadline, struct strbuf *sb)
{
	char buf[4096];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int ms = ms_until(deadline), n;
		ssize_t len;

		if (!ms)
			return 1;
		n = poll(&p, 1, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return 1;
		len = n < 0 ? -1 : read(fd, buf, sizeof(buf));
		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			return 0;       /* its end (a read error reads as one: no token) */
		if (sb->len == strcspn(sb->buf, "\r\n") && sb->len <= TOKEN_MAX)
			strbuf_add(sb, buf, (size_t)len);
	}
}

/* Waits for the helper's exit until deadline: 0 with its status, 1 when the deadline
 * passed first (it may close its output and go on), -1 on error. */
static int wait_token_cmd(pid_t pid, const struct timespec *deadline, int *status)
{
	for (;;) {
		pid_t got = waitpid(pid, status, WNOHANG);
		int ms;

		if (got == pid)
			return 0;
		if (got < 0 && errno != EINTR)
			return -1;
		if (!(ms = ms_until(deadline)))
			return 1;
		poll(NULL, 0, ms < 10 ? ms : 10);
	}
}

/* The helper's process group while it runs: in a group of its own, it is out of reach
 * of the Ctrl-C or the kill that ends followup, and would outlive it (a helper waiting
 * for a login, for ever). The signals that end followup end the group first. */
static volatile sig_atomic_t helper_group;
static const int ending_signals[] = { SIGINT, SIGTERM, SIGHUP };
static struct sigaction before[ARRAY_SIZE(ending_signals)];

static void end_helper_and_die(int sig)
{
	if (helper_group > 0)
		kill(-(pid_t)helper_group, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Ignored signals stay ignored (a send under nohup). */
static void guard_helper(pid_t pid)
{
	struct sigaction sa = { .sa_handler = end_helper_and_die };

	helper_group = pid;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(ending_signals); i++) {
		sigaction(ending_signals[i], NULL, &before[i]);
		if (before[i].sa_handler != SIG_IGN)
			sigaction(ending_signals[i], &sa, NULL);
	}
}

static void unguard_helper(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(ending_signals); i++)
		sigaction(ending_signals[i], &before[i], NULL);
	helper_group = 0;
}

/*
 * Runs oauth2_token_cmd with sh -c, in a process group of its own, and returns the
 * first line it prints (the bearer token); caller wipes and frees. The command has
 * timeout seconds to print it and exit: then it is killed, its group with it (a shell's
 * children too), since a helper waiting for an interactive login would hold the sender
 * lock, and stop every send, for ever. NULL on failure, said in words that name the
 * command and never hold its output.
 */
char *token_cmd_run(const char *cmd, long timeout)
{
	struct strbuf sb = STRBUF_INIT;
	struct timespec deadline;
	int fds[2], status = 0, late;
	size_t line;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC)) {
		error("smtp.oauth2_token_cmd: cannot run '%s': %s", cmd, strerror(errno));
		return NULL;
	}
	pid = fork();
	if (pid < 0) {
		error("smtp.oauth2_token_cmd: cannot run '%s': %s", cmd, strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	if (pid == 0) {
		setpgid(0, 0);
		if (dup2(fds[1], STDOUT_FILENO) >= 0)
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);      /* as the child does itself: whichever runs first */
	guard_helper(pid);
	close(fds[1]);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout < INT_MAX ? timeout : INT_MAX;
	late = read_token_output(fds[0], &deadline, &sb);
	close(fds[0]);
	if (!late)
		late = wait_token_cmd(pid, &deadline, &status);
	if (late) {
		int wait_errno = errno;

		if (kill(-pid, SIGKILL))
			kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		unguard_helper();
		if (late > 0)
			error("smtp.oauth2_token_cmd: '%s' did not finish within %ld s (smtp.timeout):"
			      " killed, nothing sent", cmd, timeout);
		else
			error("smtp.oauth2_token_cmd: '%s': cannot wait for it: %s", cmd,
			      strerror(wait_errno));
		goto fail;
	}
	unguard_helper();
	if (WIFSIGNALED(status)) {
		error("smtp.oauth2_token_cmd: '%s' was killed by signal %d: no token, nothing sent",
		      cmd, WTERMSIG(status));
		goto fail;
	}
	if (WEXITSTATUS(status)) {
		error("smtp.oauth2_token_cmd: '%s' failed (exit status %d): no token, nothing sent",
		      cmd, WEXITSTATUS(status));
		goto fail;
	}
	if (sb.len > TOKEN_MAX && sb.len == strcspn(sb.buf, "\r\n")) {
		error("smtp.oauth2_token_cmd: '%s' printed no token (a first line over %d bytes)",
		      cmd, TOKEN_MAX);
		goto fail;
	}
	line = strcspn(sb.buf, "\r\n");
	explicit_bzero(sb.buf + line, sb.len - line);
	strbuf_setlen(&sb, line);
	if (!sb.len) {
		error("smtp.oauth2_token_cmd: '%s' printed no token: nothing sent", cmd);
		goto fail;
	}
	return strbuf_detach(&sb);
fail:
	explicit_bzero(sb.buf, sb.len);
	strbuf_release(&sb);
	return NULL;
}

/* libcurl reads ~/.netrc without a word about who else can: say it, and say when it is
 * not there at all, rather than let the server's 530 speak for it. The warning is not
 * warning()'s: it is printed on stderr even for cron's --quiet (as print_needs_action's
 * lines are), since the password stays open to others until someone acts. */
int netrc_check(void)
{
	const char *home = getenv("HOME");
	char *path = xasprintf("%s/.netrc", home ? home : "");
	struct strbuf line = STRBUF_INIT;
	struct stat st;
	int ret = 0;

	if (str_empty(home) || stat(path, &st)) {
		ret = error("smtp.netrc: cannot read %s: %s", path,
			    str_empty(home) ? "HOME is not set" : strerror(errno));
	} else if (st.st_mode & 077) {
		strbuf_addstr(&line, "followup: warning: ");
		strbuf_add_escaped(&line, path);
		strbuf_addstr(&line, " can be read by others and holds the SMTP password:"
			      " chmod 600 it\n");
		fwrite(line.buf, 1, line.len, stderr);
	}
	strbuf_release(&line);
	free(path);
	return ret;
}

/* Whoever can change the config decides where the password goes (smtp.url, ca_file) and
 * what oauth2_token_cmd runs, as the user send runs as (cron's): refused, as ssh refuses
 * a config others can write. A group of the user's own (a user private group, where
 * umask 002 makes files group-writable) is theirs. */
int config_trust_check(const char *path)
{
	struct stat st;
	const char *why = NULL;

	if (stat(path, &st))
		return 0;       /* no file: the defaults, which name no server */
	if (st.st_mode & S_IWOTH)
		why = "anyone can write it";
	else if ((st.st_mode & S_IWGRP) && st.st_gid != getgid())
		why = "its group can write it";
	else if (st.st_uid != geteuid() && st.st_uid != 0)
		why = "another user owns it";
	if (!why)
		return 0;
	return error("%s: %s, and it says where the SMTP password goes and what"
		     " oauth2_token_cmd runs: nothing sent (chmod go-w it, or chown it to the"
		     " user send runs as)", path, why);
}
