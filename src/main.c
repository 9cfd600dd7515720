/*
 * main.c - global options, then one lookup in the command table, one call.
 */
#include "followup/cli.h"
#include "followup/engine.h"
#include "followup/util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What a command needs ready before it runs. */
enum {
	NEED_STORE = 1,         /* an existing store */
	NEED_SEQUENCES = 2,     /* the sequence files */
	NEED_VIEW = 4,          /* only reads: sees the store brought up to --now, a tick that
	                         * is kept unless --now is a "what if" (engine_view_begin) */
	CREATES_CONFIG = 8,     /* a --config that does not exist is created, not an error */
};

struct command {
	const char *name;
	int (*run)(int argc, char **argv, struct cli *cli);
	int needs;
	const char *summary;
};

static const struct command commands[] = {
	{ "init", cmd_init, CREATES_CONFIG, "create the config, the store and its schema" },
	{ "import", cmd_import, NEED_STORE | NEED_SEQUENCES, "load badge-scan CSV files" },
	{ "leads", cmd_leads, NEED_STORE, "list leads" },
	{ "show", cmd_show, NEED_STORE | NEED_SEQUENCES | NEED_VIEW, "one lead and its whole timeline" },
	{ "sequences", cmd_sequences, 0, "list or check sequence files" },
	{ "plan", cmd_plan, NEED_SEQUENCES, "the calendar a lead contacted at a time would get" },
	{ "due", cmd_due, NEED_STORE | NEED_SEQUENCES | NEED_VIEW, "touches due now, overdue first" },
	{ "send", cmd_send, NEED_STORE | NEED_SEQUENCES, "send the due emails (cron-safe)" },
	{ "done", cmd_done, NEED_STORE | NEED_SEQUENCES, "complete a manual touch" },
	{ "skip", cmd_skip, NEED_STORE | NEED_SEQUENCES, "skip a touch" },
	{ "mark", cmd_mark, NEED_STORE | NEED_SEQUENCES, "record an outcome: replied, converted or lost" },
	{ "optout", cmd_optout, NEED_STORE, "never email these addresses again" },
	{ "enroll", cmd_enroll, NEED_STORE | NEED_SEQUENCES, "start a sequence for a lead" },
	{ "preview", cmd_preview, NEED_STORE | NEED_SEQUENCES, "the exact message that would be sent" },
	{ "resolve", cmd_resolve, NEED_STORE | NEED_SEQUENCES, "settle a touch left in doubt" },
	{ "pipeline", cmd_pipeline, NEED_STORE | NEED_SEQUENCES | NEED_VIEW, "follow-up numbers: status, speed, replies" },
	{ "export", cmd_export, NEED_STORE | NEED_SEQUENCES | NEED_VIEW, "leads with status and last touch, for a CRM" },
};

static void print_usage(FILE *out)
{
	fputs("usage: followup [--db PATH] [--config PATH] [--sequences DIR] [--now TIME]\n"
	      "                [--quiet] [--verbose] COMMAND [ARGS]\n\n"
	      "Commands:\n", out);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\nGlobal options (the first four also from the environment):\n"
	      "  --db PATH         the store (FOLLOWUP_DB)\n"
	      "  --config PATH     the config file (FOLLOWUP_CONFIG)\n"
	      "  --sequences DIR   the sequence files (FOLLOWUP_SEQUENCES)\n"
	      "  --now TIME        pretend it is TIME (FOLLOWUP_NOW)\n"
	      "  -q, --quiet       no progress or warnings, for cron\n"
	      "  -v, --verbose     say more (SMTP dialogue, without credentials)\n"
	      "  -h, --help        this text\n"
	      "  --version         the version\n\n"
	      "TIME: 2026-03-05T09:00:00Z, 2026-03-05T09:00:00+01:00, '2026-03-05 09:00'\n"
	      "(local), 2026-03-05, @EPOCH, +7d, +36h, -1d, now, today, yesterday, tomorrow.\n\n"
	      "'followup COMMAND --help' tells more. Exit status: 0 ok, 1 the work failed,\n"
	      "2 usage or invalid input.\n", out);
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* Whether the command's arguments hold option (or alias, when not NULL) as an option:
 * "--note -h" is a note, not that. The options of any command that take a value, and
 * the value after each, are skipped. */
static int has_option(int argc, char **argv, const char *option, const char *alias)
{
	static const char *const value_options[] = {
		"--channel", "--date-format", "--event", "--from", "--limit", "--map", "--note",
		"--owner", "--rejects", "--sequence", "--status", "--timezone", "--until",
	};

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return 0;
		if (!strcmp(argv[i], option) || (alias && !strcmp(argv[i], alias)))
			return 1;
		for (size_t k = 0; k < ARRAY_SIZE(value_options); k++)
			if (!strcmp(argv[i], value_options[k])) {
				i++;    /* its value, whatever it says */
				break;
			}
	}
	return 0;
}

/* Whether the command is asked for its --help, so that it needs no store. */
static int wants_help(int argc, char **argv)
{
	return has_option(argc, argv, "--help", "-h");
}

/* What the command needs ready, given its arguments: with these options a command needs
 * neither store nor sequences, and changes neither. `send --check` tries the config's
 * SMTP login before the first cron run, when the store may not even exist yet. */
static int command_needs(const struct command *cmd, int argc, char **argv)
{
	static const struct { const char *command, *option; } standalone[] = {
		{ "send", "--check" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(standalone); i++)
		if (!strcmp(cmd->name, standalone[i].command) &&
		    has_option(argc, argv, standalone[i].option, NULL))
			return 0;
	return cmd->needs;
}

/* An environment variable, NULL when unset or empty ("FOLLOWUP_DB= followup ..."
 * means the default, as the shell user meant). */
static const char *env(const char *name)
{
	const char *value = getenv(name);

	return str_empty(value) ? NULL : value;
}

/* *out = the path made absolute (NULL when not given). A relative one would be read
 * against another directory once it is in the starter config (its directory) or in a
 * message. Returns 0, or an exit status after printing why. */
static int take_path(const char *option, const char *given, char **out)
{
	if (!given)
		return FU_OK;
	if (!*given) {
		error("%s needs a path (see 'followup --help')", option);
		return FU_USAGE;
	}
	if (!(*out = path_absolute(given))) {
		error("%s: cannot make '%s' absolute: %s", option, given, strerror(errno));
		return FU_FAIL;
	}
	return FU_OK;
}

/* Parses the options before the command; returns the index of the command or -1. */
static int parse_global_options(int argc, char **argv, struct cli *cli, int *status)
{
	static const struct option options[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "sequences", required_argument, NULL, 's' },
		{ "now", required_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = env("FOLLOWUP_DB"), *config = env("FOLLOWUP_CONFIG");
	const char *sequences = env("FOLLOWUP_SEQUENCES");
	int c;

	opterr = 0;     /* options are reported as followup reports everything else */
	cli->now_opt = env("FOLLOWUP_NOW");
	cli->now_source = "FOLLOWUP_NOW";
	while ((c = getopt_long(argc, argv, "+qvh", options, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'c': config = optarg; break;
		case 's': sequences = optarg; break;
		case 'n': cli->now_opt = optarg, cli->now_source = "--now"; break;
		case 'q': cli->quiet = 1; break;
		case 'v': cli->verbose = 1; break;
		case 'h':
			print_usage(stdout);
			*status = FU_OK;
			return -1;
		case 'V':
			printf("followup %s\n", FOLLOWUP_VERSION);
			*status = FU_OK;
			return -1;
		default:
			error("unknown global option or missing value in '%s' (see 'followup"
			      " --help')", argv[optind - 1]);
			*status = FU_USAGE;
			return -1;
		}
	}
	if (optind >= argc) {
		print_usage(stderr);
		*status = FU_USAGE;
		return -1;
	}
	if ((*status = take_path("--db", db, &cli->db_opt)) ||
	    (*status = take_path("--config", config, &cli->config_opt)) ||
	    (*status = take_path("--sequences", sequences, &cli->sequences_opt)))
		return -1;
	return optind;
}

/* Like git's run_builtin(): a command's output that could not be written is a failure. */
static int finish_stdout(int status)
{
	int flushed = !fflush(stdout);
	int flush_errno = errno;

	if (!flushed || ferror(stdout)) {
		/* An earlier write's errno is gone; the last flush's says why (a full disk). */
		error("cannot write the output: %s", flushed ? "write error" : strerror(flush_errno));
		return status ? status : FU_FAIL;
	}
	return status;
}

int main(int argc, char **argv)
{
	struct cli cli = { 0 };
	struct engine view = { 0 };
	const struct command *cmd;
	int status = FU_OK, first, needs;
	static char stdout_buffer[1 << 16];

	/* cJSON out of memory returns NULL items, which print as a listing cut short: exit
	 * with "out of memory", as everything else that runs out does. */
	cJSON_InitHooks(&(cJSON_Hooks){ .malloc_fn = xmalloc, .free_fn = free });
	/* A long listing into a pipe or file goes out in 64 KB writes, not 4 KB ones. */
	if (!stdout_is_tty())
		setvbuf(stdout, stdout_buffer, _IOFBF, sizeof(stdout_buffer));
	/* Before anything switches zones: timeutil works in a zone by setting TZ. */
	cli.tz = xstrdup_nonempty(getenv("TZ"));
	first = parse_global_options(argc, argv, &cli, &status);
	if (first < 0)
		goto out;
	set_quiet(cli.quiet);
	cli.color = stdout_is_tty() && str_empty(getenv("NO_COLOR"));   /* no-color.org */
	cmd = find_command(argv[first]);
	if (!cmd) {
		error("'%s' is not a followup command (see 'followup --help')", argv[first]);
		status = FU_USAGE;
		goto out;
	}
	cli.may_create_config = cmd->needs & CREATES_CONFIG;
	argc -= first;
	argv += first;
	optind = 0;     /* each command parses its own options from its argv */
	needs = command_needs(cmd, argc, argv);
	if (!wants_help(argc, argv)) {       /* a bad FOLLOWUP_NOW does not hide the help */
		if (cli.now_opt &&
		    (status = parse_time_option(&cli, cli.now_source, cli.now_opt, &cli.now)))
			goto out;
		if (!cli.now_opt)
			cli.now = time(NULL);
		cli.what_if = cli.now > time(NULL);
		if ((needs & NEED_STORE) && (status = cli_store(&cli, 0)))
			goto out;
		if ((needs & NEED_STORE) && !cli.what_if &&
		    store_settle_dead_sends(cli.store, cli.now)) {
			status = FU_FAIL;
			goto out;
		}
		if ((needs & NEED_SEQUENCES) && (status = cli_sequences(&cli)))
			goto out;
		view = (struct engine){ cli.store, cli.sequences, &cli.config, cli.now };
		if ((needs & NEED_VIEW) && engine_view_begin(&view, !cli.what_if)) {
			status = FU_FAIL;
			goto out;
		}
	}
	status = cmd->run(argc, argv, &cli);
out:
	cli_release(&cli);
	return finish_stdout(status);
}
