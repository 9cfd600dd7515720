/*
 * config.h - config.yaml (SPEC section 3), read with libyaml.
 */
#ifndef FOLLOWUP_CONFIG_H
#define FOLLOWUP_CONFIG_H

#include <stddef.h>

#include "followup/diag.h"

struct owner {
	char *key, *name, *email, *signature;
};

struct smtp_config {
	char *url;              /* smtp://, smtps:// or maildir:PATH (PATH made absolute) */
	char *username;
	char *password_env;     /* the environment variable holding the password */
	char *oauth2_token_cmd; /* prints an XOAUTH2 bearer token */
	char *ca_file;
	int netrc;
	int tls_none;           /* tls: none (refused at load unless the host is loopback) */
	long connect_timeout, timeout;   /* seconds */
};

struct config {
	char *path;
	int exists;             /* 0: no file, defaults only */
	char *timezone;
	char *default_sequence;
	char *sender_name, *sender_email, *signature;
	struct owner *owners;
	size_t nowners;
	char *store;            /* store path, NULL for the default */
	char *sequences_dir;
	struct smtp_config smtp;
	long per_run, per_day;  /* 0 = no limit (documented so; not "send nothing") */
	char *unsubscribe_mailto, *unsubscribe_url;
};

enum config_error {
	CONFIG_OK = 0,
	CONFIG_EINVAL = -1,     /* the file says something wrong: exit 2 */
	CONFIG_EREAD = -2,      /* the file is there but cannot be read (a directory,
	                         * no permission): exit 1 */
};

/* Loads path into out. A missing file is not an error (out->exists = 0, defaults).
 * Every problem goes into d as FILE:LINE:COL. Returns CONFIG_OK, CONFIG_EINVAL (the
 * file is not a valid config: YAML, UTF-8, a second document, a key or value) or
 * CONFIG_EREAD. Paths in the file are relative to its directory; ~ is $HOME (an error
 * when HOME is not set). Release out with config_release() whatever it returns. */
int config_load(const char *path, struct config *out, struct diag_list *d);
void config_release(struct config *c);

/* The rep whose key, email or display name is `name`, read as names.h reads a name
 * (case, white space and "Last, First" aside): by key first, then by email, then by
 * name. NULL when no rep is, or when two are at the first of those that any is (two
 * reps both named "Sam Ortiz"): a lead is never given to one of two reps by a guess. */
const struct owner *config_find_owner(const struct config *c, const char *name);

/* What `followup init` puts into the starter config. */
struct config_starter {
	const char *timezone;   /* an IANA zone name */
	const char *maildir;    /* the outbox the transport writes into (absolute) */
	const char *store;      /* written as 'store:' when not NULL */
};

/* Writes the commented starter config to path (0600; parent directories 0700). Values
 * are quoted by libyaml, and the file is written beside path, loaded back and only then
 * moved into place: it never leaves a config that does not load. Never overwrites.
 * Returns 0, or -1 with *errmsg allocated. */
int config_write_starter(const char *path, const struct config_starter *starter,
			 char **errmsg);

#endif
