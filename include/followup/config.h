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
	int tls_none;           /* tls: none (refused by the transport unless loopback) */
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
	long per_run, per_day;  /* 0 = unlimited */
	char *unsubscribe_mailto, *unsubscribe_url;
};

/* Loads path into out. A missing file is not an error (out->exists = 0, defaults).
 * Every problem goes into d as FILE:LINE:COL; returns -1 when there is any. Paths in the
 * file are relative to its directory; ~ is $HOME. Release out with config_release(). */
int config_load(const char *path, struct config *out, struct diag_list *d);
void config_release(struct config *c);

/* The owner whose key, display name or email is `name` (case-insensitive), or NULL. */
const struct owner *config_find_owner(const struct config *c, const char *name);

/* Writes the commented starter config to path (0600; parent directories 0700), with a
 * Maildir transport at maildir and, when store_path is not NULL, that store. Never
 * overwrites. Returns 0, or -1 with *errmsg allocated. */
int config_write_starter(const char *path, const char *maildir, const char *store_path,
			 char **errmsg);

#endif
