/*
 * transport_maildir.c - the Maildir backend (https://cr.yp.to/proto/maildir.html).
 *
 * Each message is written to tmp/UNIQUE, fsync'ed, renamed into new/ and the
 * rename made durable by fsync'ing new/: a reader never sees half a message,
 * and a message in new/ survives a crash. Files use LF line ends, as mail
 * readers expect of a Maildir.
 */
#include "followup/message.h"
#include "followup/transport.h"
#include "followup/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

struct maildir_transport {
	char *path;         /* absolute */
	char *description;  /* "maildir /abs/path" */
	char *hostname;     /* with '/' and ':' escaped, for file names */
	unsigned deliveries;
};

static const char *const maildir_subdirs[] = { "tmp", "new", "cur" };

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(const char *path)
{
	char *copy = xstrdup(path);
	int ret = 0;

	for (char *p = copy + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(copy, 0700) && errno != EEXIST) {
			ret = -1;
			break;
		}
		*p = saved;
		if (!saved)
			break;
	}
	free(copy);
	return ret;
}

static char *expand_home(const char *path)
{
	const char *home = getenv("HOME");

	if (starts_with(path, "~/") && !str_empty(home))
		return xasprintf("%s/%s", home, path + 2);
	return xstrdup(path);
}

/* The host name for unique file names: '/' and ':' escaped as the Maildir
 * spec says, since they cannot appear in (or would confuse) a file name. */
static char *maildir_hostname(void)
{
	char host[HOST_NAME_MAX + 1] = "";
	struct strbuf sb = STRBUF_INIT;

	if (gethostname(host, sizeof(host)) || !host[0])
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	for (const char *p = host; *p; p++) {
		if (*p == '/')
			strbuf_addstr(&sb, "\\057");
		else if (*p == ':')
			strbuf_addstr(&sb, "\\072");
		else
			strbuf_addch(&sb, *p);
	}
	return strbuf_detach(&sb);
}

int maildir_transport_open(struct maildir_transport **out, const char *path, char **errmsg)
{
	struct maildir_transport *t = NULL;
	char *expanded = NULL, *absolute = NULL, *sub = NULL;
	int ret = 0;

	*out = NULL;
	if (str_empty(path)) {
		*errmsg = xstrdup("maildir url has no path (expected maildir:PATH)");
		return TRANSPORT_EURL;
	}
	expanded = expand_home(path);
	if (make_dirs(expanded)) {
		*errmsg = xasprintf("cannot create maildir '%s': %s", expanded, strerror(errno));
		ret = TRANSPORT_ESYSTEM;
		goto out;
	}
	for (size_t i = 0; i < ARRAY_SIZE(maildir_subdirs); i++) {
		free(sub);
		sub = xasprintf("%s/%s", expanded, maildir_subdirs[i]);
		if (mkdir(sub, 0700) && errno != EEXIST) {
			*errmsg = xasprintf("cannot create '%s': %s", sub, strerror(errno));
			ret = TRANSPORT_ESYSTEM;
			goto out;
		}
	}
	absolute = realpath(expanded, NULL);
	if (!absolute) {
		*errmsg = xasprintf("cannot resolve maildir '%s': %s", expanded, strerror(errno));
		ret = TRANSPORT_ESYSTEM;
		goto out;
	}
	t = xcalloc(1, sizeof(*t));
	t->path = absolute;
	absolute = NULL;
	t->description = xasprintf("maildir %s", t->path);
	t->hostname = maildir_hostname();
	*out = t;
out:
	free(expanded);
	free(absolute);
	free(sub);
	return ret;
}

static void random_hex64(char hex[17])
{
	unsigned char bytes[8] = { 0 };
	ssize_t got;

	do
		got = getrandom(bytes, sizeof(bytes), 0);
	while (got < 0 && errno == EINTR);
	/* On failure the name stays unique through time, pid and counter. */
	for (size_t i = 0; i < sizeof(bytes); i++)
		snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
}

/* "time.MusecPpidRrandomQcount.host": unique per the Maildir spec. */
static char *unique_name(struct maildir_transport *t)
{
	struct timeval now;
	char random[17];

	gettimeofday(&now, NULL);
	random_hex64(random);
	return xasprintf("%lld.M%ldP%ldR%sQ%u.%s", (long long)now.tv_sec,
			 (long)now.tv_usec, (long)getpid(), random, ++t->deliveries,
			 t->hostname);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes data with each CRLF turned into LF. */
static int write_lf(int fd, const char *data, size_t len)
{
	const char *p = data, *end = data + len;

	while (p < end) {
		const char *cr = memchr(p, '\r', (size_t)(end - p));
		const char *stop = cr ? cr : end;

		if (write_all(fd, p, (size_t)(stop - p)))
			return -1;
		p = stop;
		if (cr) {
			int crlf = cr + 1 < end && cr[1] == '\n';
			if (!crlf && write_all(fd, "\r", 1)) /* a lone CR stays */
				return -1;
			p = cr + 1;
		}
	}
	return 0;
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -1;
	ret = fsync(fd);
	if (ret) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return close(fd);
}

/* A message that could not be written into new/ is not delivered, and any such failure
 * (a full disk or quota, too many open files, an I/O error) is the outbox's, not the
 * recipient's: the next message would hit it too. So it is TRANSPORT_FATAL, which stops
 * the run and gives the touch back, as a server that is down does. A retry would use
 * up the touch's tries while the disk stays full, and fail it for good within hours. */
enum transport_result maildir_transport_send(struct maildir_transport *t,
					     const char *envelope_from, const char *recipient,
					     const char *data, size_t len, char **errmsg)
{
	char *name = NULL, *tmp_path = NULL, *new_path = NULL, *new_dir = NULL;
	enum transport_result result = TRANSPORT_SENT;
	int fd = -1;

	if (!envelope_address_valid(recipient)) {
		*errmsg = xstrdup("invalid recipient address");
		return TRANSPORT_REJECTED;
	}
	if (!envelope_address_valid(envelope_from)) {
		*errmsg = xstrdup("invalid envelope sender address");
		return TRANSPORT_FATAL;
	}
	name = unique_name(t);
	tmp_path = xasprintf("%s/tmp/%s", t->path, name);
	new_path = xasprintf("%s/new/%s", t->path, name);
	new_dir = xasprintf("%s/new", t->path);

	fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		result = TRANSPORT_FATAL;
		*errmsg = xasprintf("cannot create '%s': %s", tmp_path, strerror(errno));
		goto out;
	}
	if (write_lf(fd, data, len) || fsync(fd)) {
		result = TRANSPORT_FATAL;
		*errmsg = xasprintf("cannot write '%s': %s", tmp_path, strerror(errno));
		goto out;
	}
	if (close(fd)) {
		fd = -1;
		result = TRANSPORT_FATAL;
		*errmsg = xasprintf("cannot write '%s': %s", tmp_path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp_path, new_path)) {
		result = TRANSPORT_FATAL;
		*errmsg = xasprintf("cannot move '%s' into new/: %s", tmp_path, strerror(errno));
		goto out;
	}
	if (fsync_dir(new_dir)) {
		/* The message is in new/, but might not survive a crash. */
		result = TRANSPORT_IN_DOUBT;
		*errmsg = xasprintf("delivered '%s' but cannot sync '%s': %s", new_path,
				    new_dir, strerror(errno));
	}
out:
	if (fd >= 0)
		close(fd);
	if (result != TRANSPORT_SENT && result != TRANSPORT_IN_DOUBT)
		unlink(tmp_path);
	free(name);
	free(tmp_path);
	free(new_path);
	free(new_dir);
	return result;
}

const char *maildir_transport_describe(const struct maildir_transport *t)
{
	return t->description;
}

void maildir_transport_close(struct maildir_transport *t)
{
	if (!t)
		return;
	free(t->path);
	free(t->description);
	free(t->hostname);
	free(t);
}

/* --- checking --------------------------------------------------------------------------- */

/* The nearest directory at or above path that exists (path itself, when it does), for
 * "can it be made?". Caller frees; NULL when nothing up to / is a directory. */
static char *nearest_existing(const char *path)
{
	char *dir = xstrdup(path);
	struct stat st;

	while (stat(dir, &st)) {
		char *slash = strrchr(dir, '/');

		if (!slash || errno != ENOENT) {
			int saved = errno;

			free(dir);
			errno = saved;
			return NULL;
		}
		if (slash == dir)
			slash[1] = '\0';        /* "/" */
		else
			*slash = '\0';
	}
	return dir;
}

/* Whether dir is a directory; if not, *errmsg says why. */
static int is_dir(const char *dir, char **errmsg)
{
	struct stat st;

	if (stat(dir, &st)) {
		*errmsg = xasprintf("cannot use maildir '%s': %s", dir, strerror(errno));
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		*errmsg = xasprintf("cannot use maildir '%s': %s", dir, strerror(ENOTDIR));
		return 0;
	}
	return 1;
}

/* Whether dir is a directory this user can add files to; if not, *errmsg says why. */
static int writable_dir(const char *dir, char **errmsg)
{
	if (!is_dir(dir, errmsg))
		return 0;
	/* access() says EROFS for a read-only file system too. */
	if (access(dir, W_OK | X_OK)) {
		*errmsg = xasprintf("cannot write into '%s': %s", dir, strerror(errno));
		return 0;
	}
	return 1;
}

/* Creates, writes and removes a file in tmp/, where readers of the Maildir never look:
 * the only test that also meets a full disk, a quota or an inode table that is out. */
static int probe_tmp(const char *tmp, char **errmsg)
{
	char random[17];
	char *probe;
	int fd, ret = 0;

	random_hex64(random);
	probe = xasprintf("%s/followup-check.%ld.%s", tmp, (long)getpid(), random);
	fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		*errmsg = xasprintf("cannot create '%s': %s", probe, strerror(errno));
		free(probe);
		return -1;
	}
	if (write_all(fd, "followup send --check\n", 22)) {
		*errmsg = xasprintf("cannot write '%s': %s", probe, strerror(errno));
		ret = -1;
	}
	close(fd);
	unlink(probe);
	free(probe);
	return ret;
}

/* The Maildir is there: each of tmp/, new/ and cur/ must be a writable directory, or be
 * missing from a Maildir a send can add it to. */
static int check_existing(const char *path, char **errmsg)
{
	char *sub = NULL;
	int ret = 0;

	if (!is_dir(path, errmsg))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(maildir_subdirs) && !ret; i++) {
		free(sub);
		sub = xasprintf("%s/%s", path, maildir_subdirs[i]);
		if (access(sub, F_OK) && errno == ENOENT)
			ret = writable_dir(path, errmsg) ? 0 : -1;
		else if (!writable_dir(sub, errmsg))
			ret = -1;
		else if (!strcmp(maildir_subdirs[i], "tmp"))
			ret = probe_tmp(sub, errmsg);
	}
	free(sub);
	return ret;
}

int maildir_transport_check(const char *path, struct transport_check *out, char **errmsg)
{
	char *expanded, *absolute, *nearest;
	int ret;

	if (str_empty(path)) {
		*errmsg = xstrdup("maildir url has no path (expected maildir:PATH)");
		return TRANSPORT_EURL;
	}
	expanded = expand_home(path);
	absolute = path_absolute(expanded);
	free(expanded);
	if (!absolute) {
		*errmsg = xasprintf("cannot resolve maildir '%s': %s", path, strerror(errno));
		return TRANSPORT_ESYSTEM;
	}
	out->url = xasprintf("maildir:%s", absolute);
	nearest = nearest_existing(absolute);
	if (!nearest) {
		*errmsg = xasprintf("cannot use maildir '%s': %s", absolute, strerror(errno));
		ret = TRANSPORT_ESYSTEM;
	} else if (strcmp(nearest, absolute)) {
		/* The first send makes it, as mkdir -p: the nearest existing ancestor must let it. */
		out->maildir_missing = 1;
		ret = writable_dir(nearest, errmsg) ? 0 : TRANSPORT_ESYSTEM;
	} else {
		ret = check_existing(absolute, errmsg) ? TRANSPORT_ESYSTEM : 0;
	}
	free(nearest);
	free(absolute);
	return ret;
}
