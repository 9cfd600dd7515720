/*
 * config.c - config.yaml through libyaml's document API; every problem is reported with
 * its line and column.
 */
#include "followup/config.h"
#include "followup/fields.h"
#include "followup/message.h"
#include "followup/names.h"
#include "followup/timeutil.h"
#include "followup/transport.h"
#include "followup/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

struct loader {
	yaml_document_t *doc;
	struct diag_list *diags;
	const char *file;
	char *dir;              /* the config's directory, for relative paths */
	struct config *cfg;
};

#define NODE_LINE(n) ((int)(n)->start_mark.line + 1)
#define NODE_COL(n) ((int)(n)->start_mark.column + 1)

static void problem(struct loader *l, const yaml_node_t *n, const char *fmt, ...)
	FU_PRINTF(3, 4);

static void problem(struct loader *l, const yaml_node_t *n, const char *fmt, ...)
{
	struct strbuf msg = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	diag_add(l->diags, l->file, n ? NODE_LINE(n) : 1, n ? NODE_COL(n) : 1, "%s", msg.buf);
	strbuf_release(&msg);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* Reads a string value into *out (replacing it). */
static void get_string(struct loader *l, const char *key, const yaml_node_t *v, char **out)
{
	const char *s = scalar(v);

	if (!s) {
		problem(l, v, "'%s' must be a string", key);
		return;
	}
	free(*out);
	*out = xstrdup(s);
}

static void get_bool(struct loader *l, const char *key, const yaml_node_t *v, int *out)
{
	const char *s = scalar(v);

	if (s && (!strcmp(s, "true") || !strcmp(s, "yes")))
		*out = 1;
	else if (s && (!strcmp(s, "false") || !strcmp(s, "no")))
		*out = 0;
	else
		problem(l, v, "'%s' must be true or false", key);
}

static void get_count(struct loader *l, const char *key, const yaml_node_t *v, long *out)
{
	const char *s = scalar(v);
	char *end;
	long n;

	errno = 0;
	n = s ? strtol(s, &end, 10) : -1;
	if (!s || !*s || *end || errno || n < 0) {
		problem(l, v, "'%s' must be a whole number, 0 or more", key);
		return;
	}
	*out = n;
}

/* ~ is $HOME; a relative path is relative to the config file's directory. NULL (and a
 * problem at v) for a ~ without HOME: "/rest" or "rest" would be another place. */
static char *expand_path(struct loader *l, const yaml_node_t *v, const char *path)
{
	const char *home = getenv("HOME");

	if (path[0] == '~' && (path[1] == '/' || !path[1])) {
		if (str_empty(home) || home[0] != '/') {
			problem(l, v, "'%s' starts with ~ but HOME is not set: write the whole path",
				path);
			return NULL;
		}
		return xasprintf("%s%s", home, path + 1);
	}
	if (path[0] == '/')
		return xstrdup(path);
	return xasprintf("%s/%s", l->dir, path);
}

static void get_path(struct loader *l, const char *key, const yaml_node_t *v, char **out)
{
	const char *s = scalar(v);
	char *path;

	if (!s || !*s) {
		problem(l, v, "'%s' must be a path", key);
		return;
	}
	if ((path = expand_path(l, v, s))) {
		free(*out);
		*out = path;
	}
}

typedef void (*key_fn)(struct loader *l, const char *key, const yaml_node_t *value,
		       void *target);

struct key {
	const char *name;
	key_fn read;
	size_t offset;          /* into the target struct */
};

/* Walks a mapping: known keys are read, unknown and repeated ones reported. */
static void read_mapping(struct loader *l, const yaml_node_t *map, const struct key *keys,
			 size_t nkeys, void *target, const char *what)
{
	unsigned long long seen = 0;

	if (!map || map->type != YAML_MAPPING_NODE) {
		problem(l, map, "%s must be a mapping of keys to values", what);
		return;
	}
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
		const yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
		const char *name = scalar(k);
		size_t i;

		if (!name) {
			problem(l, k, "%s: keys must be plain words", what);
			continue;
		}
		for (i = 0; i < nkeys && strcmp(keys[i].name, name); i++)
			;
		if (i == nkeys) {
			problem(l, k, "unknown key '%s' in %s", name, what);
			continue;
		}
		if (seen & (1ULL << i)) {
			problem(l, k, "duplicate key '%s' in %s", name, what);
			continue;
		}
		seen |= 1ULL << i;
		keys[i].read(l, name, v, (char *)target + keys[i].offset);
	}
}

static void read_string(struct loader *l, const char *key, const yaml_node_t *v, void *t)
{
	get_string(l, key, v, t);
}

static void read_path(struct loader *l, const char *key, const yaml_node_t *v, void *t)
{
	get_path(l, key, v, t);
}

/* A file followup reads (the CA certificates): one that is not there is a problem of
 * the config, found when it loads rather than at the first send. */
static void read_file_path(struct loader *l, const char *key, const yaml_node_t *v, void *t)
{
	char **path = t;

	get_path(l, key, v, path);
	if (*path && access(*path, R_OK))
		problem(l, v, "cannot read '%s': %s", *path, strerror(errno));
	else if (*path && is_directory(*path))
		problem(l, v, "'%s' is a directory, not a file", *path);
}

/* A CA file libcurl would refuse at the first send: one with no PEM certificate. */
static void read_ca_file(struct loader *l, const char *key, const yaml_node_t *v, void *t)
{
	char **path = t, line[256];
	size_t before = diag_count(l->diags);
	int pem = 0;
	FILE *f;

	read_file_path(l, key, v, t);
	if (!*path || diag_count(l->diags) != before || !(f = fopen(*path, "r")))
		return;
	while (!pem && fgets(line, sizeof(line), f))
		pem = starts_with(line, "-----BEGIN CERTIFICATE-----");
	fclose(f);
	if (!pem)
		problem(l, v, "'%s' holds no PEM certificate (-----BEGIN CERTIFICATE-----)", *path);
}

/* The name of an environment variable: what a shell can export. */
/* The value is not quoted when it is no name: the likeliest such value is the password
 * itself, and this line is printed by every command (and mailed by cron). */
static void read_env_name(struct loader *l, const char *key, const yaml_node_t *v, void *t)
{
	const char *s = scalar(v);

	if (s && (!*s || isdigit((unsigned char)*s) ||
		  s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")])) {
		problem(l, v, "'%s' must name an environment variable (letters, digits and _,"
			" e.g. FOLLOWUP_SMTP_PASSWORD) that holds the password, not hold the"
			" password (its value is not shown)", key);
		return;
	}
	get_string(l, key, v, t);
}

static void read_count(struct loader *l, const char *key, const yaml_node_t *v, void *t)
{
	get_count(l, key, v, t);
}

/* A timeout in seconds (0: the default): beyond a day, libcurl's millisecond arithmetic
 * refuses it, and only at send time. */
static void read_seconds(struct loader *l, const char *key, const yaml_node_t *v, void *t)
{
	long seconds = -1;

	get_count(l, key, v, &seconds);
	if (seconds > 86400)
		problem(l, v, "'%s' is seconds, at most 86400 (a day)", key);
	else if (seconds >= 0)
		*(long *)t = seconds;
}

static void read_bool(struct loader *l, const char *key, const yaml_node_t *v, void *t)
{
	get_bool(l, key, v, t);
}

static void read_zone(struct loader *l, const char *key, const yaml_node_t *v, void *t)
{
	const char *s = scalar(v);

	if (s && !zone_valid(s)) {
		char *message = zone_unknown_message(s);
		problem(l, v, "%s", message);
		free(message);
		return;
	}
	get_string(l, key, v, t);
}

static void read_tls(struct loader *l, const char *key, const yaml_node_t *v, void *t)
{
	const char *s = scalar(v);
	int *tls_none = t;

	(void)key;
	if (s && !strcmp(s, "required"))
		*tls_none = 0;
	else if (s && !strcmp(s, "none"))
		*tls_none = 1;
	else
		problem(l, v, "'tls' must be 'required' or 'none'");
}

/* The authority of smtp[s]://[USER[:PASSWORD]@]HOST[:PORT][/...], cut into its parts:
 * the host without the brackets of an IPv6 address, the port with its colon (or what
 * stands there instead). A part that is not there is NULL. */
struct url_authority {
	const char *user, *host, *port;
	size_t user_len, host_len, port_len;
};

static struct url_authority url_authority(const char *url)
{
	struct url_authority a = { 0 };
	const char *start = strstr(url, "://") + 3;
	const char *end = start + strcspn(start, "/?#");
	const char *at = memrchr(start, '@', (size_t)(end - start));
	const char *host = at ? at + 1 : start, *close, *after_host;

	if (at) {
		a.user = start;
		a.user_len = (size_t)(at - start);
	}
	if (*host == '[' && (close = memchr(host, ']', (size_t)(end - host)))) {
		a.host = host + 1;
		a.host_len = (size_t)(close - a.host);
		after_host = close + 1;
	} else {
		a.host = host;
		a.host_len = strcspn(host, ":/?#");
		after_host = host + a.host_len;
	}
	if (after_host < end) {
		a.port = after_host;
		a.port_len = (size_t)(end - after_host);
	}
	return a;
}

/* smtp://user:password@host: the password would sit in the config, and in every
 * message that names the url. */
static int url_has_password(const char *url)
{
	struct url_authority a = url_authority(url);

	return a.user && memchr(a.user, ':', a.user_len);
}

/* Caller frees. */
static char *url_host(const char *url)
{
	struct url_authority a = url_authority(url);

	return xstrndup(a.host, a.host_len);
}

/* What is wrong with the host or port of an smtp[s]:// url, or NULL: found here, with
 * the line, rather than by libcurl at the first send from cron. */
static const char *url_authority_problem(const char *url)
{
	struct url_authority a = url_authority(url);

	if (!a.host_len)
		return "the url names no host: smtp://HOST[:PORT]";
	if (a.port && (a.port[0] != ':' || a.port_len < 2 || a.port_len > 6 ||
		       strspn(a.port + 1, "0123456789") < a.port_len - 1 ||
		       atoi(a.port + 1) < 1 || atoi(a.port + 1) > 65535))
		return "the port in the url must be a number from 1 to 65535";
	return NULL;
}

static void read_url(struct loader *l, const char *key, const yaml_node_t *v, void *t)
{
	const char *s = scalar(v);
	char **url = t, *path;

	if (s && starts_with(s, "maildir:")) {
		if (!s[8]) {
			problem(l, v, "'maildir:' needs a directory, e.g. maildir:~/Mail/outbox");
			return;
		}
		if (!(path = expand_path(l, v, s + 8)))
			return;
		free(*url);
		*url = xasprintf("maildir:%s", path);
		free(path);
	} else if (s && (starts_with(s, "smtp://") || starts_with(s, "smtps://"))) {
		const char *wrong = url_authority_problem(s);

		if (s[strcspn(s, " \t\r\n\v\f")])
			problem(l, v, "the url has a space or a line break in it");
		else if (strpbrk(s, "?#"))
			problem(l, v, "the url cannot have a query (?...) or a fragment (#...)");
		else if (url_has_password(s))
			problem(l, v, "no password in the url: name the variable that holds it in"
				" 'password_env', or use 'netrc: true'");
		else if (wrong)
			problem(l, v, "%s", wrong);
		else
			get_string(l, key, v, t);
	} else {
		problem(l, v, "'url' must be smtp://HOST[:PORT], smtps://HOST[:PORT] or maildir:PATH");
	}
}

static void refuse_password(struct loader *l, const char *key, const yaml_node_t *v, void *t)
{
	(void)key, (void)t;
	problem(l, v, "a password does not belong in the config: put it in an environment"
		" variable and name it with 'password_env'");
}

#define FIELD(type, member) offsetof(type, member)

static void read_person(struct loader *l, const yaml_node_t *v, char **name, char **email,
			char **signature, const char *what)
{
	struct person { char *name, *email, *signature; } p = { NULL, NULL, NULL };
	static const struct key keys[] = {
		{ "name", read_string, FIELD(struct person, name) },
		{ "email", read_string, FIELD(struct person, email) },
		{ "signature", read_string, FIELD(struct person, signature) },
	};

	const char *why;

	read_mapping(l, v, keys, ARRAY_SIZE(keys), &p, what);
	if (p.email && !email_plausible(p.email, &why))
		problem(l, v, "%s: '%s' is not an email address (%s)", what, p.email, why);
	free(*name), free(*email), free(*signature);
	*name = p.name, *email = p.email, *signature = p.signature;
}

static void read_sender(struct loader *l, const char *key, const yaml_node_t *v, void *t)
{
	struct config *c = t;

	(void)key;
	read_person(l, v, &c->sender_name, &c->sender_email, &c->signature, "sender");
}

/* Whether a rep read so far has name as its key, display name or email (as names.h
 * reads names): a new key may be none of them. */
static int owner_known(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nowners; i++)
		if (name_same(c->owners[i].key, name) || name_same(c->owners[i].name, name) ||
		    name_same(c->owners[i].email, name))
			return 1;
	return 0;
}

static void read_owners(struct loader *l, const char *key, const yaml_node_t *v, void *t)
{
	struct config *c = t;

	(void)key;
	if (v->type != YAML_MAPPING_NODE) {
		problem(l, v, "'owners' must map short names to {name, email, signature}");
		return;
	}
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
		struct owner *o;

		if (!scalar(k)) {
			problem(l, k, "owner names must be plain words");
			continue;
		}
		if (owner_known(c, scalar(k))) {
			problem(l, k, "owner '%s' is there twice (or as another owner's name or email)",
				scalar(k));
			continue;
		}
		c->owners = xrealloc(c->owners, (c->nowners + 1) * sizeof(*c->owners));
		o = &c->owners[c->nowners++];
		memset(o, 0, sizeof(*o));
		o->key = xstrdup(scalar(k));
		read_person(l, yaml_document_get_node(l->doc, p->value), &o->name, &o->email,
			    &o->signature, "owner");
	}
}

/* The value of key in map, or NULL. */
static const yaml_node_t *mapping_value(struct loader *l, const yaml_node_t *map,
					const char *key)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *name = scalar(yaml_document_get_node(l->doc, p->key));
		if (name && !strcmp(name, key))
			return yaml_document_get_node(l->doc, p->value);
	}
	return NULL;
}

/* 'tls: none' puts the password and the mail on the wire in the clear: refused here,
 * with the line, rather than at the first send from cron. */
static void check_tls_none(struct loader *l, const yaml_node_t *smtp,
			   const struct smtp_config *c)
{
	const yaml_node_t *tls = mapping_value(l, smtp, "tls");
	char *host;

	if (!c->tls_none || !c->url || starts_with(c->url, "maildir:"))
		return;
	if (starts_with(c->url, "smtps://")) {
		problem(l, tls, "'tls: none' contradicts an smtps:// url");
		return;
	}
	host = url_host(c->url);
	if (!transport_host_is_loopback(host))
		problem(l, tls, "'tls: none' is allowed only for a loopback host (localhost,"
			" 127.0.0.1, ::1), not '%s': remove it to send with STARTTLS", host);
	free(host);
}

/* A login needs a name and a secret: half of one is a 530 or 535 from cron, which reads
 * like a server problem. netrc may hold the name as well. */
static void check_credentials(struct loader *l, const yaml_node_t *smtp,
			      const struct smtp_config *c)
{
	int secret = c->password_env || c->netrc || c->oauth2_token_cmd;

	if (c->username && !secret)
		problem(l, mapping_value(l, smtp, "username"), "'username' without a password:"
			" name its variable in 'password_env' (or use 'netrc: true' or"
			" 'oauth2_token_cmd')");
	else if (!c->username && c->password_env)
		problem(l, mapping_value(l, smtp, "password_env"), "'password_env' without"
			" 'username': the server needs both");
	else if (!c->username && c->oauth2_token_cmd)
		problem(l, mapping_value(l, smtp, "oauth2_token_cmd"), "'oauth2_token_cmd'"
			" without 'username': XOAUTH2 needs the account's address");
}

static void read_smtp(struct loader *l, const char *key, const yaml_node_t *v, void *t)
{
	static const struct key keys[] = {
		{ "url", read_url, FIELD(struct smtp_config, url) },
		{ "username", read_string, FIELD(struct smtp_config, username) },
		{ "password_env", read_env_name, FIELD(struct smtp_config, password_env) },
		{ "password", refuse_password, 0 },
		{ "netrc", read_bool, FIELD(struct smtp_config, netrc) },
		{ "oauth2_token_cmd", read_string, FIELD(struct smtp_config, oauth2_token_cmd) },
		{ "tls", read_tls, FIELD(struct smtp_config, tls_none) },
		{ "ca_file", read_ca_file, FIELD(struct smtp_config, ca_file) },
		{ "connect_timeout", read_seconds, FIELD(struct smtp_config, connect_timeout) },
		{ "timeout", read_seconds, FIELD(struct smtp_config, timeout) },
	};
	size_t before = diag_count(l->diags);

	(void)key;
	read_mapping(l, v, keys, ARRAY_SIZE(keys), t, "smtp");
	if (diag_count(l->diags) == before)
		check_tls_none(l, v, t);
	if (diag_count(l->diags) == before)
		check_credentials(l, v, t);
}

static void read_limits(struct loader *l, const char *key, const yaml_node_t *v, void *t)
{
	static const struct key keys[] = {
		{ "per_run", read_count, FIELD(struct config, per_run) },
		{ "per_day", read_count, FIELD(struct config, per_day) },
	};
	(void)key;
	read_mapping(l, v, keys, ARRAY_SIZE(keys), t, "limits");
}

static void read_unsubscribe_mailto(struct loader *l, const char *key, const yaml_node_t *v,
				    void *t)
{
	const char *s = scalar(v);

	if (s && !message_unsubscribe_mailto_ok(s))
		problem(l, v, "'%s' is not an address a List-Unsubscribe header can carry", s);
	else
		get_string(l, key, v, t);
}

static void read_unsubscribe_url(struct loader *l, const char *key, const yaml_node_t *v,
				 void *t)
{
	const char *s = scalar(v);

	if (s && !message_unsubscribe_url_ok(s))
		problem(l, v, "'%s' is not an https URL a List-Unsubscribe header can carry"
			" (https://, as one-click unsubscribing asks; no spaces, commas or angle"
			" brackets)", s);
	else if (s && !strstr(s, "{token}"))
		problem(l, v, "'%s' has no {token}: the one-click link would not say who"
			" unsubscribes", s);
	else
		get_string(l, key, v, t);
}

static void read_unsubscribe(struct loader *l, const char *key, const yaml_node_t *v, void *t)
{
	static const struct key keys[] = {
		{ "mailto", read_unsubscribe_mailto, FIELD(struct config, unsubscribe_mailto) },
		{ "url", read_unsubscribe_url, FIELD(struct config, unsubscribe_url) },
	};
	(void)key;
	read_mapping(l, v, keys, ARRAY_SIZE(keys), t, "unsubscribe");
}

static const struct key top_keys[] = {
	{ "timezone", read_zone, FIELD(struct config, timezone) },
	{ "default_sequence", read_string, FIELD(struct config, default_sequence) },
	{ "sender", read_sender, 0 },
	{ "owners", read_owners, 0 },
	{ "store", read_path, FIELD(struct config, store) },
	{ "sequences", read_path, FIELD(struct config, sequences_dir) },
	{ "smtp", read_smtp, FIELD(struct config, smtp) },
	{ "limits", read_limits, 0 },
	{ "unsubscribe", read_unsubscribe, 0 },
};

static void set_defaults(struct config *c, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->path = xstrdup(path);
	c->default_sequence = xstrdup("event-followup");
	c->per_run = 200;
	c->per_day = 500;
	c->smtp.connect_timeout = 30;
	c->smtp.timeout = 60;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? xstrndup(path, (size_t)(slash - path + (slash == path))) : xstrdup(".");
}

#define MAX_CONFIG_SIZE (1 << 20)

/* The file's text into *text: CONFIG_OK, 1 when there is no file (the defaults), or an
 * enum config_error with the reason in d. */
static int read_config_text(const char *path, struct strbuf *text, struct diag_list *d)
{
	FILE *f = fopen(path, "rb");
	char buf[16384];
	size_t n;
	int saved;

	if (!f) {
		if (errno == ENOENT)
			return 1;
		diag_add(d, path, 1, 1, "cannot read: %s", strerror(errno));
		return CONFIG_EREAD;
	}
	while (text->len <= MAX_CONFIG_SIZE && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(text, buf, n);
	/* a directory opens, and says EISDIR at the first read */
	if (ferror(f)) {
		saved = errno;
		fclose(f);
		diag_add(d, path, 1, 1, "cannot read: %s", strerror(saved));
		return CONFIG_EREAD;
	}
	fclose(f);
	if (text->len > MAX_CONFIG_SIZE) {
		diag_add(d, path, 1, 1, "over 1 MB: not a config file");
		return CONFIG_EINVAL;
	}
	return CONFIG_OK;
}

/* The offset of the character a bad trailing octet belongs to: libyaml gives the
 * offset of the octet itself, after the lead byte and the continuation bytes that
 * passed. */
static size_t character_start(const struct strbuf *text, size_t offset)
{
	size_t start = offset;

	while (start > 0 && ((unsigned char)text->buf[start - 1] & 0xC0) == 0x80)
		start--;
	if (start > 0 && ((unsigned char)text->buf[start - 1] & 0xC0) == 0xC0)
		return start - 1;
	return offset;
}

static void parser_problem(struct loader *l, const yaml_parser_t *parser,
			   const struct strbuf *text)
{
	const char *what = parser->problem ? parser->problem : "invalid YAML";
	int line = (int)parser->problem_mark.line + 1, col = (int)parser->problem_mark.column + 1;

	/* libyaml's way of saying that memory ran out: not a fault of the file */
	if (parser->error == YAML_MEMORY_ERROR)
		die_out_of_memory();
	if (parser->error == YAML_READER_ERROR) {
		/* libyaml's reader has no mark for a bad byte, only its offset */
		size_t at = parser->problem_offset;
		if (strstr(what, "trailing") && at <= text->len)
			at = character_start(text, at);
		text_position(text->buf, text->len, at, &line, &col);
		diag_add(l->diags, l->file, line, col, "%s (byte %zu)%s", what, at,
			 strstr(what, "UTF-8") ? ": save the file as UTF-8 text" : "");
		return;
	}
	diag_add(l->diags, l->file, line, col, "%s%s%s", what, parser->context ? " " : "",
		 parser->context ? parser->context : "");
}

/* A second document (after '---') would be read by nobody: refused, as the sequence
 * loader refuses it, rather than silently ignored. */
static void refuse_more_documents(struct loader *l, yaml_parser_t *parser,
				  const struct strbuf *text)
{
	yaml_document_t next;

	if (!yaml_parser_load(parser, &next)) {
		parser_problem(l, parser, text);
		return;
	}
	if (yaml_document_get_root_node(&next))
		diag_add(l->diags, l->file, (int)next.start_mark.line + 1,
			 (int)next.start_mark.column + 1,
			 "more than one YAML document: a config is one mapping, with no second '---'");
	yaml_document_delete(&next);
}

static void read_config(struct loader *l, yaml_parser_t *parser, const struct strbuf *text)
{
	yaml_document_t doc;
	yaml_node_t *root;

	if (!yaml_parser_load(parser, &doc)) {
		parser_problem(l, parser, text);
		return;
	}
	l->doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root && !(root->type == YAML_SCALAR_NODE && !root->data.scalar.length))
		read_mapping(l, root, top_keys, ARRAY_SIZE(top_keys), l->cfg, "the config");
	yaml_document_delete(&doc);
	l->doc = NULL;
	if (root)
		refuse_more_documents(l, parser, text);
}

int config_load(const char *path, struct config *out, struct diag_list *d)
{
	struct loader l = { NULL, d, path, NULL, out };
	struct strbuf text = STRBUF_INIT;
	yaml_parser_t parser;
	size_t before = diag_count(d);
	int ret;

	set_defaults(out, path);
	ret = read_config_text(path, &text, d);
	if (ret) {
		strbuf_release(&text);
		return ret == 1 ? CONFIG_OK : ret;
	}
	out->exists = 1;
	l.dir = dir_of(path);
	/* A parser it could not initialize would fail every load as invalid YAML. */
	if (!yaml_parser_initialize(&parser))
		die_out_of_memory();
	yaml_parser_set_input_string(&parser, (const unsigned char *)text.buf, text.len);
	read_config(&l, &parser, &text);
	yaml_parser_delete(&parser);
	free(l.dir);
	strbuf_release(&text);
	return diag_count(d) > before ? CONFIG_EINVAL : CONFIG_OK;
}

void config_release(struct config *c)
{
	if (!c)
		return;
	free(c->path); free(c->timezone); free(c->default_sequence);
	free(c->sender_name); free(c->sender_email); free(c->signature);
	for (size_t i = 0; i < c->nowners; i++) {
		free(c->owners[i].key); free(c->owners[i].name);
		free(c->owners[i].email); free(c->owners[i].signature);
	}
	free(c->owners);
	free(c->store); free(c->sequences_dir);
	free(c->smtp.url); free(c->smtp.username); free(c->smtp.password_env);
	free(c->smtp.oauth2_token_cmd); free(c->smtp.ca_file);
	free(c->unsubscribe_mailto); free(c->unsubscribe_url);
	memset(c, 0, sizeof(*c));
}

/* Keys first: a lead's owner is stored by its rep's key, and must find that rep even
 * when another rep's display name is spelt the same. Then emails, then display names. */
enum owner_part { BY_KEY, BY_EMAIL, BY_NAME };

static const char *owner_part(const struct owner *o, enum owner_part part)
{
	return part == BY_KEY ? o->key : part == BY_EMAIL ? o->email : o->name;
}

const struct owner *config_find_owner(const struct config *c, const char *name)
{
	if (name_blank(name))
		return NULL;
	for (enum owner_part part = BY_KEY; part <= BY_NAME; part++) {
		const struct owner *found = NULL;

		for (size_t i = 0; i < c->nowners; i++) {
			if (!name_same(owner_part(&c->owners[i], part), name))
				continue;
			if (found)
				return NULL;    /* two reps answer to it: never a guess */
			found = &c->owners[i];
		}
		if (found)
			return found;
	}
	return NULL;
}

/* Creates the missing directories above path (0700). Stops at the first that cannot be
 * made and keeps its errno (EACCES), not the ENOENT of the ones that would go in it. */
static int make_dirs(const char *path)
{
	char *dir = xstrdup(path);
	int ret = 0, saved = 0;

	for (char *s = strchr(dir + 1, '/'); s && !ret; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST) {
			saved = errno;
			ret = -1;
		}
		*s = '/';
	}
	free(dir);
	errno = saved;
	return ret;
}

static int collect_output(void *data, unsigned char *buffer, size_t size)
{
	strbuf_add(data, buffer, size);
	return 1;
}

static int emit(yaml_emitter_t *emitter, yaml_event_t *event, int initialized)
{
	/* yaml_emitter_emit() frees the event, also when it fails */
	return initialized && yaml_emitter_emit(emitter, event);
}

/* value as a double-quoted YAML scalar, escaped by libyaml: a HOME may hold '"' or '\'.
 * NULL when libyaml refuses it (not UTF-8). Caller frees. */
static char *yaml_quoted(const char *value)
{
	yaml_emitter_t emitter;
	yaml_event_t event;
	struct strbuf out = STRBUF_INIT;
	int ok;

	if (!yaml_emitter_initialize(&emitter))
		return NULL;
	yaml_emitter_set_output(&emitter, collect_output, &out);
	yaml_emitter_set_width(&emitter, -1);   /* one line, however long the path */
	yaml_emitter_set_unicode(&emitter, 1);
	ok = emit(&emitter, &event, yaml_stream_start_event_initialize(&event, YAML_UTF8_ENCODING)) &&
	     emit(&emitter, &event, yaml_document_start_event_initialize(&event, NULL, NULL, NULL, 1)) &&
	     emit(&emitter, &event, yaml_scalar_event_initialize(&event, NULL, NULL,
				(yaml_char_t *)value, -1, 1, 1, YAML_DOUBLE_QUOTED_SCALAR_STYLE)) &&
	     emit(&emitter, &event, yaml_document_end_event_initialize(&event, 1)) &&
	     emit(&emitter, &event, yaml_stream_end_event_initialize(&event));
	yaml_emitter_delete(&emitter);
	while (ok && out.len && out.buf[out.len - 1] == '\n')
		strbuf_setlen(&out, out.len - 1);
	if (!ok || !out.len || out.buf[0] != '"' || strchr(out.buf, '\n')) {
		strbuf_release(&out);
		return NULL;
	}
	return strbuf_detach(&out);
}

/* The commented starter config, or NULL when a value cannot be written as YAML. */
static char *starter_text(const struct config_starter *st)
{
	char *zone = yaml_quoted(st->timezone), *maildir_url = xasprintf("maildir:%s", st->maildir);
	char *maildir = yaml_quoted(maildir_url), *store = st->store ? yaml_quoted(st->store) : NULL;
	struct strbuf text = STRBUF_INIT;

	free(maildir_url);
	if (!zone || !maildir || (st->store && !store)) {
		free(zone), free(maildir), free(store);
		return NULL;
	}
	strbuf_addf(&text,
		"# followup configuration. Every key, its type and its default is listed in the\n"
		"# README, section \"Config\"; all are optional. Relative paths are relative to\n"
		"# this file's directory; ~ is $HOME.\n\n"
		"# Zone for sequence windows and for showing times (TZ, when set, wins for showing).\n"
		"timezone: %s\n\n"
		"# The sequence new leads join on import (a file in the sequences directory).\n"
		"default_sequence: event-followup\n\n"
		"# Who emails come from when a lead has no owner below.\n"
		"sender: { name: Your Name, email: you@example.com, signature: \"Your Name\\nYour Company\" }\n\n"
		"# Reps: a lead whose owner (Scanned By, Owner, --owner) matches a key or a name\n"
		"# here is emailed as that rep.\n"
		"# owners:\n"
		"#   dana: { name: Dana Diaz, email: dana@example.com, signature: \"Dana\\nAcme Corp\" }\n\n",
		zone);
	if (store)
		strbuf_addf(&text, "# The store (--db or FOLLOWUP_DB, when given, win over it).\n"
			    "store: %s\n", store);
	strbuf_addf(&text,
		"# sequences: ~/followup/sequences\n\n"
		"smtp:\n"
		"  # Messages go into this Maildir until you set up SMTP (mutt -f reads it).\n"
		"  url: %s\n"
		"  # url: smtp://smtp.example.com:587   # STARTTLS required; smtps:// = implicit TLS\n"
		"  # username: you@example.com\n"
		"  # password_env: FOLLOWUP_SMTP_PASSWORD   # or netrc: true; never put a password here\n"
		"  # oauth2_token_cmd: \"oauth2-helper --account you\"   # XOAUTH2 (Gmail, Microsoft 365)\n"
		"  # tls: required                     # 'none' is allowed only for a loopback host\n"
		"  # ca_file: /path/to/ca.pem\n"
		"  # connect_timeout: 30\n"
		"  # timeout: 60\n\n"
		"# At most this many emails a run, and per sender over any rolling 24 hours.\n"
		"# 0 means NO limit, not \"send nothing\": to pause sending, stop the cron job.\n"
		"limits: { per_run: 200, per_day: 500 }\n\n"
		"# List-Unsubscribe headers; {token} is each lead's own token.\n"
		"# unsubscribe: { mailto: unsubscribe@example.com, url: \"https://example.com/u/{token}\" }\n",
		maildir);
	free(zone), free(maildir), free(store);
	return strbuf_detach(&text);
}

/* text into a new private file made from the template tmp (mkstemp rewrites it), in the
 * directory of path (named in messages). */
static int write_new_file(char *tmp, const char *path, const char *text, char **errmsg)
{
	int fd = mkostemp(tmp, O_CLOEXEC);  /* 0600 */
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	int failed, saved;

	if (!f) {
		*errmsg = xasprintf("cannot create '%s': %s", path, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return -1;
	}
	fputs(text, f);
	/* synced before the rename: a crash must not leave an empty config in place */
	failed = fflush(f) || fsync(fileno(f));
	saved = errno;
	if (fclose(f) && !failed) {
		failed = 1;
		saved = errno;
	}
	if (failed) {
		*errmsg = xasprintf("cannot write '%s': %s", path, strerror(saved));
		unlink(tmp);
	}
	return failed ? -1 : 0;
}

/* The starter must load as written: one that does not would stop every later command,
 * init included. */
static int check_loads(const char *tmp, const char *path, char **errmsg)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct config c;
	int ret = config_load(tmp, &c, &d);

	if (ret)
		*errmsg = xasprintf("not writing '%s': the starter config would not load (line %d: %s)",
				    path, diag_count(&d) ? d.items[0].line : 1,
				    diag_count(&d) ? d.items[0].message : "unknown problem");
	config_release(&c);
	diag_release(&d);
	return ret ? -1 : 0;
}

/* tmp becomes path, unless path exists: init never overwrites a config. */
static int move_into_place(const char *tmp, const char *path, char **errmsg)
{
	if (!renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE))
		return 0;
	/* a file system without RENAME_NOREPLACE: link() does not replace either */
	if ((errno == EINVAL || errno == ENOSYS) && !link(tmp, path)) {
		unlink(tmp);
		return 0;
	}
	*errmsg = xasprintf("cannot create '%s': %s", path, strerror(errno));
	return -1;
}

int config_write_starter(const char *path, const struct config_starter *starter,
			 char **errmsg)
{
	char *text = NULL, *tmp = NULL;
	int ret = -1;

	if (make_dirs(path)) {
		*errmsg = xasprintf("cannot create the directory of '%s': %s", path, strerror(errno));
		return -1;
	}
	if (!(text = starter_text(starter))) {
		*errmsg = xasprintf("cannot write '%s': a path or the zone in it is not UTF-8", path);
		return -1;
	}
	tmp = xasprintf("%s.new-XXXXXX", path);
	if (write_new_file(tmp, path, text, errmsg))
		goto out;
	if (check_loads(tmp, path, errmsg) || move_into_place(tmp, path, errmsg)) {
		unlink(tmp);
		goto out;
	}
	ret = 0;
out:
	free(tmp);
	free(text);
	return ret;
}
