/*
 * config.c - config.yaml through libyaml's document API; every problem is reported with
 * its line and column.
 */
#include "followup/config.h"
#include "followup/fields.h"
#include "followup/message.h"
#include "followup/timeutil.h"
#include "followup/util.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* ~ is $HOME; a relative path is relative to the config file's directory. */
static char *expand_path(struct loader *l, const char *path)
{
	const char *home = getenv("HOME");

	if (path[0] == '~' && (path[1] == '/' || !path[1]))
		return xasprintf("%s%s", home ? home : "", path + 1);
	if (path[0] == '/')
		return xstrdup(path);
	return xasprintf("%s/%s", l->dir, path);
}

static void get_path(struct loader *l, const char *key, const yaml_node_t *v, char **out)
{
	const char *s = scalar(v);

	if (!s || !*s) {
		problem(l, v, "'%s' must be a path", key);
		return;
	}
	free(*out);
	*out = expand_path(l, s);
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

static void read_count(struct loader *l, const char *key, const yaml_node_t *v, void *t)
{
	get_count(l, key, v, t);
}

static void read_bool(struct loader *l, const char *key, const yaml_node_t *v, void *t)
{
	get_bool(l, key, v, t);
}

static void read_zone(struct loader *l, const char *key, const yaml_node_t *v, void *t)
{
	const char *s = scalar(v);

	if (s && !zone_valid(s)) {
		problem(l, v, "unknown time zone '%s'", s);
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

/* smtp://user:password@host: the password would sit in the config, and in every
 * message that names the url. */
static int url_has_password(const char *url)
{
	const char *authority = strstr(url, "://") + 3;
	size_t len = strcspn(authority, "/?#");
	const char *at = memrchr(authority, '@', len);

	return at && memchr(authority, ':', (size_t)(at - authority));
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
		path = expand_path(l, s + 8);
		free(*url);
		*url = xasprintf("maildir:%s", path);
		free(path);
	} else if (s && (starts_with(s, "smtp://") || starts_with(s, "smtps://"))) {
		if (url_has_password(s))
			problem(l, v, "no password in the url: name the variable that holds it in"
				" 'password_env', or use 'netrc: true'");
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
		if (config_find_owner(c, scalar(k))) {
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

static void read_smtp(struct loader *l, const char *key, const yaml_node_t *v, void *t)
{
	static const struct key keys[] = {
		{ "url", read_url, FIELD(struct smtp_config, url) },
		{ "username", read_string, FIELD(struct smtp_config, username) },
		{ "password_env", read_string, FIELD(struct smtp_config, password_env) },
		{ "password", refuse_password, 0 },
		{ "netrc", read_bool, FIELD(struct smtp_config, netrc) },
		{ "oauth2_token_cmd", read_string, FIELD(struct smtp_config, oauth2_token_cmd) },
		{ "tls", read_tls, FIELD(struct smtp_config, tls_none) },
		{ "ca_file", read_path, FIELD(struct smtp_config, ca_file) },
		{ "connect_timeout", read_count, FIELD(struct smtp_config, connect_timeout) },
		{ "timeout", read_count, FIELD(struct smtp_config, timeout) },
	};
	(void)key;
	read_mapping(l, v, keys, ARRAY_SIZE(keys), t, "smtp");
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
		problem(l, v, "'%s' is not an http(s) URL a List-Unsubscribe header can carry"
			" (no spaces, commas or angle brackets)", s);
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

int config_load(const char *path, struct config *out, struct diag_list *d)
{
	struct loader l = { NULL, d, path, NULL, out };
	yaml_parser_t parser;
	yaml_document_t doc;
	size_t before = diag_count(d);
	FILE *f;
	yaml_node_t *root;

	set_defaults(out, path);
	f = fopen(path, "rb");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		diag_add(d, path, 1, 1, "cannot read: %s", strerror(errno));
		return -1;
	}
	out->exists = 1;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		diag_add(d, path, (int)parser.problem_mark.line + 1, (int)parser.problem_mark.column + 1,
			 "%s%s%s", parser.problem ? parser.problem : "invalid YAML",
			 parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		fclose(f);
		return -1;
	}
	l.doc = &doc;
	l.dir = dir_of(path);
	root = yaml_document_get_root_node(&doc);
	if (root && !(root->type == YAML_SCALAR_NODE && !root->data.scalar.length))
		read_mapping(&l, root, top_keys, ARRAY_SIZE(top_keys), out, "the config");
	free(l.dir);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return diag_count(d) > before ? -1 : 0;
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

const struct owner *config_find_owner(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nowners; i++)
		if (!strcasecmp(c->owners[i].key, name) ||
		    (c->owners[i].name && !strcasecmp(c->owners[i].name, name)) ||
		    (c->owners[i].email && !strcasecmp(c->owners[i].email, name)))
			return &c->owners[i];
	return NULL;
}

static int make_dirs(const char *path)
{
	char *dir = xstrdup(path);
	int ret = 0;

	for (char *s = strchr(dir + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST)
			ret = -1;
		*s = '/';
	}
	free(dir);
	return ret;
}

int config_write_starter(const char *path, const char *maildir, const char *store_path,
			 char **errmsg)
{
	const char *tz = getenv("TZ");
	FILE *f;
	int fd;

	if (make_dirs(path)) {
		*errmsg = xasprintf("cannot create the directory of '%s': %s", path, strerror(errno));
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		*errmsg = xasprintf("cannot create '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(f,
		"# followup configuration (see 'man followup' and the README).\n\n"
		"# Zone for sequence windows and for showing times.\n"
		"timezone: %s\n\n"
		"# The sequence new leads join on import (a file in the sequences directory).\n"
		"default_sequence: event-followup\n\n"
		"# Who emails come from when a lead has no owner below.\n"
		"sender: { name: Your Name, email: you@example.com, signature: \"Your Name\\nYour Company\" }\n\n"
		"# Reps: a lead whose owner (Scanned By, Owner, --owner) matches a key or a name\n"
		"# here is emailed as that rep.\n"
		"# owners:\n"
		"#   dana: { name: Dana Diaz, email: dana@example.com, signature: \"Dana\\nAcme Corp\" }\n\n"
		"%s%s%s"
		"# sequences: ~/followup/sequences\n\n"
		"smtp:\n"
		"  # Messages go into this Maildir until you set up SMTP (mutt -f reads it).\n"
		"  url: \"maildir:%s\"\n"
		"  # url: smtp://smtp.example.com:587   # STARTTLS required; smtps:// = implicit TLS\n"
		"  # username: you@example.com\n"
		"  # password_env: FOLLOWUP_SMTP_PASSWORD   # or netrc: true; never put a password here\n"
		"  # oauth2_token_cmd: \"oauth2-helper --account you\"   # XOAUTH2 (Gmail, Microsoft 365)\n"
		"  # tls: required                     # 'none' is allowed only for a loopback host\n"
		"  # ca_file: /path/to/ca.pem\n"
		"  # connect_timeout: 30\n"
		"  # timeout: 60\n\n"
		"# At most this many emails a run, and per sender over any rolling 24 hours.\n"
		"limits: { per_run: 200, per_day: 500 }\n\n"
		"# List-Unsubscribe headers; {token} is each lead's own token.\n"
		"# unsubscribe: { mailto: unsubscribe@example.com, url: \"https://example.com/u/{token}\" }\n",
		str_empty(tz) ? "UTC" : tz,
		store_path ? "store: \"" : "", store_path ? store_path : "", store_path ? "\"\n" : "",
		maildir);
	if (fclose(f)) {
		*errmsg = xasprintf("cannot write '%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
