/*
 * cli.h - what every command shares: the global options, the resolved paths, and the
 * config, store and sequences, each loaded on first use.
 *
 * Adding a command: write `int cmd_NAME(int argc, char **argv, struct cli *cli)` in
 * src/cmd_NAME.c (argv[0] is the command name), declare it below, and add a row to the
 * table in main.c. A handler returns an enum fu_exit value; only main() exits.
 */
#ifndef FOLLOWUP_CLI_H
#define FOLLOWUP_CLI_H

#include <stdio.h>
#include <time.h>

#include "followup/config.h"
#include "followup/sequence.h"
#include "followup/store.h"
#include "followup/util.h"

struct cJSON;

struct cli {
	/* Global options (or their environment variables); the paths made absolute against
	 * the current directory (owned), since they end up in the starter config and in
	 * messages read from elsewhere. */
	char *db_opt, *config_opt, *sequences_opt;
	const char *now_opt;
	const char *now_source;     /* "--now" or "FOLLOWUP_NOW", for messages */
	int quiet, verbose, color;
	int may_create_config;      /* init: a config named by --config that does not
	                             * exist is to be created, not an error */

	char *tz;                   /* TZ as the user set it, read at start (NULL: unset or
	                             * empty): timeutil sets TZ to each zone it works in */
	time_t now;                 /* --now, else the clock */
	int what_if;                /* --now is later than the clock: commands that only
	                             * read show that future and leave the store alone */
	char *config_path;          /* resolved */
	struct config config;       /* loaded by cli_config() */
	int config_loaded;
	int config_status;          /* the exit status cli_config() failed with, once said */
	struct store *store;        /* opened by cli_store() */
	struct sequence_set *sequences;  /* loaded by cli_sequences() */
	char *sequences_dir;
};

/* Each returns 0, or an exit status after printing the error. cli_config() fails with
 * FU_USAGE for an invalid config, a config named by --config or FOLLOWUP_CONFIG that does
 * not exist (unless may_create_config), or no HOME to find the default one under;
 * FU_FAIL for one that cannot be read. A failure is printed once and then remembered. */
int cli_config(struct cli *cli);
int cli_store(struct cli *cli, int flags);    /* enum store_open_flags */
int cli_sequences(struct cli *cli);
/* The store path the options and config name (config loaded first), always absolute.
 * Caller frees. NULL, after printing why, when only the default could name it and
 * neither XDG_DATA_HOME nor HOME is set. */
char *cli_store_path(struct cli *cli);
/* The display zone: TZ if set, else config timezone, else NULL (system local). A TZ
 * that is not a zone name (CET-1CEST, a path) gives NULL too: the C library reads it. */
const char *cli_zone(struct cli *cli);
/* The IANA zone name the user's TZ gives ("Europe/Berlin" also from glibc's
 * ":Europe/Berlin"), or NULL when TZ is unset or not a zone name. Points into cli->tz. */
const char *cli_tz_zone(const struct cli *cli);
/* The rep known as `name` (config key, display name or email) under every name the
 * config knows for it; .key is the config's key ("Dana Diaz" in a badge file and
 * `--owner dana` are one rep), else `name` itself. */
struct owner_names cli_owner_names(struct cli *cli, const char *name);
void cli_release(struct cli *cli);

/* Prints a cJSON value followed by a newline, and frees it. */
void json_print(struct cJSON *value);

/* A JSON array printed as its items come, so that a long listing needs no memory for
 * the whole: start, item (printed; the caller keeps it), end. */
struct json_stream {
	int count;
	char *buf;      /* reused for every item: printing allocates nothing once it fits */
	int size;
};
void json_stream_start(struct json_stream *s);
void json_stream_item(struct json_stream *s, struct cJSON *item);
void json_stream_end(struct json_stream *s);
/* After a failure: frees what s holds (s may be NULL) and leaves the array unclosed, so
 * that no JSON reader takes it for a whole answer. */
void json_stream_abandon(struct json_stream *s);

/* The JSON object of a lead, as leads, show and export print it. */
struct cJSON *lead_to_json(const struct lead *l);
/* "First Last", or the one of them there is; NULL when the lead has neither. Caller frees. */
char *lead_name(const struct lead *l);
/* Appends that name to sb; returns 0 when there is neither name (nothing appended). */
int lead_name_add(struct strbuf *sb, const char *first_name, const char *last_name);
/* The loader takes a missing directory for one with no sequences yet (so the other
 * commands can run); listing or checking it, or naming a sequence in it, must say it is
 * not there, not "0 sequences OK". Reports it (for cmd, if not NULL) and returns 1, else 0. */
int cli_sequences_dir_missing(const struct cli *cli, const char *cmd);
/* Says why a sequence cannot be used: no sequences directory (returns FU_FAIL), or the
 * sequence unknown, or invalid and where (FU_USAGE). */
int cli_sequence_error(struct cli *cli, const char *name);

/* Shared option parsing helpers. */
int usage_error(const char *cmd, const char *fmt, ...) FU_PRINTF(2, 3);
/* For getopt's '?': names the option it could not take; returns FU_USAGE. */
int unknown_option(char **argv);
/* A global option given after the command ('followup send --quiet', as a crontab may
 * have it) is said to go before it: reported, FU_USAGE; 0 when arg is no global option. */
int misplaced_global_option(const char *cmd, const char *arg);
/* For --timezone: the zone is unknown (or only its case is off); returns FU_USAGE. */
int unknown_zone(const char *cmd, const char *zone);
int parse_time_option(struct cli *cli, const char *opt, const char *value, time_t *out);
/* The same for a bound that includes its day ("--until 2026-03-13": all of the 13th). */
int parse_until_option(struct cli *cli, const char *opt, const char *value, time_t *out);
int stdout_is_tty(void);

/* Command handlers. */
int cmd_init(int argc, char **argv, struct cli *cli);
int cmd_import(int argc, char **argv, struct cli *cli);
int cmd_leads(int argc, char **argv, struct cli *cli);
int cmd_show(int argc, char **argv, struct cli *cli);
int cmd_sequences(int argc, char **argv, struct cli *cli);
int cmd_plan(int argc, char **argv, struct cli *cli);
int cmd_due(int argc, char **argv, struct cli *cli);
int cmd_send(int argc, char **argv, struct cli *cli);
int cmd_done(int argc, char **argv, struct cli *cli);
int cmd_skip(int argc, char **argv, struct cli *cli);
int cmd_mark(int argc, char **argv, struct cli *cli);
int cmd_optout(int argc, char **argv, struct cli *cli);
int cmd_enroll(int argc, char **argv, struct cli *cli);
int cmd_preview(int argc, char **argv, struct cli *cli);
int cmd_resolve(int argc, char **argv, struct cli *cli);
int cmd_pipeline(int argc, char **argv, struct cli *cli);
int cmd_export(int argc, char **argv, struct cli *cli);

#endif
