/*
 * credentials.h - the SMTP secrets that do not live in the config: the bearer token an
 * oauth2_token_cmd prints, and the ~/.netrc libcurl reads.
 */
#ifndef FOLLOWUP_CREDENTIALS_H
#define FOLLOWUP_CREDENTIALS_H

/* What oauth2_token_cmd is given to finish when smtp.timeout is 0 (its default). */
#define TOKEN_CMD_TIMEOUT 60

/* Runs cmd with sh -c, in a process group of its own, and returns the first line it
 * prints (the bearer token): caller wipes and frees it. cmd has timeout seconds to print
 * it and exit, or is killed with its group. NULL on failure, said in words that name the
 * command and never hold its output. */
char *token_cmd_run(const char *cmd, long timeout);

/* Says, even under --quiet, when ~/.netrc can be read by others; -1 (said) when it cannot
 * be read at all. */
int netrc_check(void);

/* -1 (said) when others can change the config at path, which says where the password
 * goes and what oauth2_token_cmd runs: writable by all, by a group that is not the
 * user's own, or owned by someone else than the user or root. 0 otherwise. */
int config_trust_check(const char *path);

#endif
