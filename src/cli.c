/*
 * cli.c - the state every command shares, resolved and loaded on first use.
 */
#include "followup/cli.h"
#include "followup/diag.h"
#include "followup/timeutil.h"
#include "followup/util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* $XDG_VAR/followup/leaf, else $HOME/fallback/followup/leaf. NULL when neither is an
 * absolute directory: a relative one would put the files wherever the command happens
 * to run (and the XDG spec says to ignore a relative value). */
static char *xdg_path(const char *xdg_var, const char *fallback, const char *leaf)
{
	const char *base = getenv(xdg_var), *home = getenv("HOME");

	if (base && base[0] == '/')
		return xasprintf("%s/followup/%s", base, leaf);
	if (home && home[0] == '/')
		return xasprintf("%s/%s/followup/%s", home, fallback, leaf);
	return NULL;
}

static int resolve_config_path(struct cli *cli)
{
	if (cli->config_path)
		return FU_OK;
	if (cli->config_opt)
		cli->config_path = xstrdup(cli->config_opt);
	else if (!(cli->config_path = xdg_path("XDG_CONFIG_HOME", ".config", "config.yaml"))) {
		error("no place for the config: neither HOME nor XDG_CONFIG_HOME is set to an"
		      " absolute directory (set HOME, or name the file with --config)");
		return FU_USAGE;
	}
	return FU_OK;
}

/* Loads the config; on failure, the status to exit with, after printing why. */
static int load_config(struct cli *cli)
{
	struct diag_list diags = DIAG_LIST_INIT;
	int ret, status;

	if ((status = resolve_config_path(cli)))
		return status;
	ret = config_load(cli->config_path, &cli->config, &diags);
	if (ret) {
		if (!diag_count(&diags))
			error("%s: invalid config", cli->config_path);
		diag_print(&diags, stderr, "followup: ");
		status = ret == CONFIG_EREAD ? FU_FAIL : FU_USAGE;
	} else if (!cli->config.exists && cli->config_opt && !cli->may_create_config) {
		/* a typo in a cron line must not run on the defaults and the default store */
		error("%s: no such config file (named by --config or FOLLOWUP_CONFIG; 'followup"
		      " init' creates it)", cli->config_path);
		status = FU_USAGE;
	}
	diag_release(&diags);
	if (status)
		config_release(&cli->config);   /* what it read before the problems */
	return status;
}

int cli_config(struct cli *cli)
{
	if (cli->config_loaded)
		return FU_OK;
	/* Said once: the zone of --now and the store both ask for the config. */
	if (cli->config_status)
		return cli->config_status;
	if ((cli->config_status = load_config(cli)))
		return cli->config_status;
	cli->config_loaded = 1;
	return FU_OK;
}

char *cli_store_path(struct cli *cli)
{
	char *path;

	if (cli->db_opt)
		return xstrdup(cli->db_opt);
	if (cli_config(cli) == FU_OK && cli->config.store)
		return xstrdup(cli->config.store);
	if (!(path = xdg_path("XDG_DATA_HOME", ".local/share", "followup.db")))
		error("no place for the store: neither HOME nor XDG_DATA_HOME is set to an"
		      " absolute directory (set HOME, or name the store with --db or 'store:')");
	return path;
}

int cli_store(struct cli *cli, int flags)
{
	char *path;
	int ret;

	if (cli->store)
		return FU_OK;
	if ((ret = cli_config(cli)))
		return ret;
	if (!(path = cli_store_path(cli)))
		return FU_USAGE;
	ret = store_open(&cli->store, path, flags);
	free(path);
	return ret ? FU_FAIL : FU_OK;
}

static char *sequences_dir(struct cli *cli)
{
	if (cli->sequences_opt)
		return xstrdup(cli->sequences_opt);
	if (cli->config.sequences_dir)
		return xstrdup(cli->config.sequences_dir);
	if (is_directory("sequences"))
		return xstrdup("sequences");
	return xstrdup(FOLLOWUP_DATADIR "/sequences");
}

int cli_sequences(struct cli *cli)
{
	struct diag_list diags = DIAG_LIST_INIT;
	int ret;

	if (cli->sequences)
		return FU_OK;
	if ((ret = cli_config(cli)))
		return ret;
	cli->sequences_dir = sequences_dir(cli);
	/* Invalid files are kept out of the set (and named when asked for); only an
	 * unreadable directory stops the command here. */
	if (sequence_set_load_dir(cli->sequences_dir, &cli->sequences, &diags) < 0) {
		diag_print(&diags, stderr, "followup: ");
		diag_release(&diags);
		return FU_FAIL;
	}
	diag_release(&diags);
	return FU_OK;
}

struct owner_names cli_owner_names(struct cli *cli, const char *name)
{
	const struct owner *owner = NULL;

	if (cli_config(cli) == FU_OK)
		owner = config_find_owner(&cli->config, name);
	if (!owner)
		return (struct owner_names){ name, NULL, NULL };
	/* A display name two reps share is neither's (config_find_owner): a lead stored
	 * under it must not be listed as this rep's. */
	return (struct owner_names){ owner->key,
		owner->name && config_find_owner(&cli->config, owner->name) == owner
			? owner->name : NULL, owner->email };
}

const char *cli_tz_zone(const struct cli *cli)
{
	const char *tz = cli->tz;

	if (str_empty(tz))
		return NULL;
	if (tz[0] == ':')
		tz++;   /* glibc's "the zone file named": ":Europe/Berlin" */
	return zone_valid(tz) ? tz : NULL;
}

const char *cli_zone(struct cli *cli)
{
	if (cli->tz)
		return cli_tz_zone(cli);   /* NULL: the C library reads a POSIX rule itself */
	if (cli_config(cli) == FU_OK && !str_empty(cli->config.timezone))
		return cli->config.timezone;
	return NULL;
}

void cli_release(struct cli *cli)
{
	store_close(cli->store);
	sequence_set_free(cli->sequences);
	if (cli->config_loaded)
		config_release(&cli->config);
	free(cli->config_path);
	free(cli->sequences_dir);
	free(cli->db_opt);
	free(cli->config_opt);
	free(cli->sequences_opt);
	free(cli->tz);
	memset(cli, 0, sizeof(*cli));
}

void json_print(cJSON *value)
{
	char *text = cJSON_PrintUnformatted(value);

	if (text) {
		fputs(text, stdout);
		fputc('\n', stdout);
	}
	cJSON_free(text);
	cJSON_Delete(value);
}

void json_stream_start(struct json_stream *s)
{
	s->count = 0;
	s->buf = NULL;
	s->size = 0;
	fputc('[', stdout);
}

void json_stream_item(struct json_stream *s, cJSON *item)
{
	int printed;

	if (!item)
		return;
	if (!s->size) {
		s->size = 4096;
		s->buf = xmalloc((size_t)s->size);
	}
	/* cJSON wants 5 bytes more than the text, and says only that it did not fit. */
	while (!(printed = cJSON_PrintPreallocated(item, s->buf, s->size, 0)) &&
	       s->size <= INT_MAX / 2) {
		s->size *= 2;
		s->buf = xrealloc(s->buf, (size_t)s->size);
	}
	if (s->count++)
		fputc(',', stdout);
	fputs(printed ? s->buf : "null", stdout);     /* over 1 GB: never in practice */
}

void json_stream_end(struct json_stream *s)
{
	json_stream_abandon(s);
	fputs("]\n", stdout);
}

void json_stream_abandon(struct json_stream *s)
{
	if (s) {
		free(s->buf);
		s->buf = NULL;
	}
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	struct strbuf message = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&message, fmt, ap);
	va_end(ap);
	fprintf(stderr, "followup: %s: ", cmd);
	fputs_escaped(message.buf, stderr);
	fprintf(stderr, " (see 'followup %s --help')\n", cmd);
	strbuf_release(&message);
	return FU_USAGE;
}

struct global_option {
	const char *name, *value;       /* value: what it takes, as --help writes it */
};

/* The global option arg is (its "=value" aside), or NULL. */
static const struct global_option *global_option(const char *arg)
{
	static const struct global_option globals[] = {
		{ "--db", " PATH" }, { "--config", " PATH" }, { "--sequences", " DIR" },
		{ "--now", " TIME" }, { "--quiet", "" }, { "--verbose", "" }, { "-q", "" },
		{ "-v", "" },
	};
	size_t length = strcspn(arg, "=");

	for (size_t i = 0; i < ARRAY_SIZE(globals); i++)
		if (strlen(globals[i].name) == length && !strncmp(arg, globals[i].name, length))
			return &globals[i];
	return NULL;
}

int misplaced_global_option(const char *cmd, const char *arg)
{
	const struct global_option *global = global_option(arg);

	if (!global)
		return 0;
	return usage_error(cmd, "'%s' is a global option: it goes before the command, as in"
			   " 'followup %s%s %s'", global->name, global->name, global->value, cmd);
}

int unknown_option(char **argv)
{
	const char *arg = argv[optind - 1];

	return misplaced_global_option(argv[0], arg) ?
	       FU_USAGE : usage_error(argv[0], "unknown option or missing value in '%s'", arg);
}

int unknown_zone(const char *cmd, const char *zone)
{
	char *message = zone_unknown_message(zone);

	usage_error(cmd, "%s", message);
	free(message);
	return FU_USAGE;
}

static int parse_time_with(int (*parse)(const char *, const char *, time_t, time_t *),
			   struct cli *cli, const char *opt, const char *value, time_t *out)
{
	time_t now = cli->now ? cli->now : time(NULL);

	if (parse(value, cli_zone(cli), now, out)) {
		error("%s: invalid time '%s' (try 2026-03-05T09:00:00Z, '2026-03-05 09:00',"
		      " 2026-03-05 or +7d)", opt, value);
		return FU_USAGE;
	}
	return FU_OK;
}

int parse_time_option(struct cli *cli, const char *opt, const char *value, time_t *out)
{
	return parse_time_with(time_parse, cli, opt, value, out);
}

int parse_until_option(struct cli *cli, const char *opt, const char *value, time_t *out)
{
	return parse_time_with(time_parse_until, cli, opt, value, out);
}

int stdout_is_tty(void)
{
	return isatty(STDOUT_FILENO);
}

int cli_sequences_dir_missing(const struct cli *cli, const char *cmd)
{
	struct stat st;

	if (stat(cli->sequences_dir, &st) == 0 || errno != ENOENT)
		return 0;
	error("%s%sno sequences directory %s (set it with --sequences, FOLLOWUP_SEQUENCES or"
	      " 'sequences' in the config)", cmd ? cmd : "", cmd ? ": " : "", cli->sequences_dir);
	return 1;
}

int cli_sequence_error(struct cli *cli, const char *name)
{
	if (cli_sequences_dir_missing(cli, NULL))
		return FU_FAIL;
	if (sequence_set_status(cli->sequences, name) == SEQUENCE_INVALID)
		error("sequence '%s' is invalid and will not be used (run 'followup sequences"
		      " check')", name);
	else
		error("no sequence '%s' in %s", name, cli->sequences_dir);
	return FU_USAGE;
}
