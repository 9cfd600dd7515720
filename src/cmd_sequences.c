/*
 * cmd_sequences.c - `followup sequences [check]` and `followup plan`.
 */
#include "followup/cli.h"
#include "followup/diag.h"
#include "followup/engine.h"
#include "followup/timeutil.h"
#include "followup/util.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <string.h>

/* A file that cannot be read is the work failing (1); bad content is invalid input (2). */
static int check_status(int loaded, const struct sequence_set *set, const struct diag_list *d)
{
	if (loaded < 0 || sequence_set_unreadable_count(set))
		return FU_FAIL;
	return diag_count(d) ? FU_USAGE : FU_OK;
}

static void print_check_summary(int status, const struct sequence_set *set,
				const struct diag_list *d, int quiet)
{
	size_t problems = diag_count(d), count = sequence_set_count(set);

	if (status == FU_OK && !quiet)
		printf("%zu sequence%s OK\n", count, count == 1 ? "" : "s");
	else if (status != FU_OK)
		error("sequences check: %zu problem%s", problems, problems == 1 ? "" : "s");
}

static int check_files(struct cli *cli, int argc, char **argv)
{
	struct diag_list diags = DIAG_LIST_INIT;
	struct sequence_set *set = NULL;
	int status, loaded;

	if (argc > 0)
		loaded = sequence_set_load_files((const char *const *)argv, (size_t)argc,
						 cli->sequences, &set, &diags);
	else if (cli_sequences_dir_missing(cli, "sequences check"))
		return FU_FAIL;
	else
		loaded = sequence_set_load_dir(cli->sequences_dir, &set, &diags);
	diag_print(&diags, stdout, "");
	status = check_status(loaded, set, &diags);
	print_check_summary(status, set, &diags, cli->quiet);
	diag_release(&diags);
	sequence_set_free(set);
	return status;
}

static cJSON *sequence_json(const struct sequence *seq)
{
	cJSON *o = cJSON_CreateObject(), *steps = cJSON_CreateArray();
	char buf[DURATION_FORMAT_SIZE];

	cJSON_AddStringToObject(o, "name", seq->name);
	cJSON_AddStringToObject(o, "file", seq->path);
	cJSON_AddItemToObject(o, "description", seq->description ?
			      cJSON_CreateString(seq->description) : cJSON_CreateNull());
	for (size_t i = 0; i < seq->nsteps; i++) {
		cJSON *s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "id", seq->steps[i].id);
		duration_format(seq->steps[i].after, buf);
		cJSON_AddStringToObject(s, "after", buf);
		cJSON_AddStringToObject(s, "channel", channel_name(seq->steps[i].channel));
		cJSON_AddItemToArray(steps, s);
	}
	cJSON_AddItemToObject(o, "steps", steps);
	return o;
}

static void print_sequence(const struct sequence *seq)
{
	char buf[DURATION_FORMAT_SIZE];

	printf("%-20s %zu step%s:", seq->name, seq->nsteps, seq->nsteps == 1 ? "" : "s");
	for (size_t i = 0; i < seq->nsteps; i++) {
		duration_format(seq->steps[i].after, buf);
		printf(" %s(%s %s)", seq->steps[i].id, channel_name(seq->steps[i].channel), buf);
	}
	if (seq->has_reactivate) {
		duration_format(seq->reactivate_after, buf);
		printf(" -> %s after %s", seq->reactivate_sequence, buf);
	}
	putchar('\n');
	if (seq->description)
		printf("%-20s %s\n", "", seq->description);
}

int cmd_sequences(int argc, char **argv, struct cli *cli)
{
	static const char usage[] =
		"usage: followup sequences [--json]\n"
		"       followup sequences check [FILE...]\n\n"
		"Lists the sequence files, or checks them (all of the sequences directory, or the\n"
		"FILEs): every problem is printed as FILE:LINE:COL: message, and the exit status\n"
		"is 2 when there is any (1 when a file or the directory cannot be read). A\n"
		"sequence that fails the check is never used.\n\n"
		"  --json  the list as a JSON array\n\n"
		"example: followup sequences check webinar.yaml    (a sequence being written, before it goes in the directory)\n";
	int json = 0, status, invalid;

	int check = argc > 1 && !strcmp(argv[1], "check");
	const char *first = argc > 1 + check ? argv[1 + check] : "";

	if (!strcmp(first, "--help") || !strcmp(first, "-h")) {
		fputs(usage, stdout);
		return FU_OK;
	}
	if ((status = cli_sequences(cli)))
		return status;
	for (int i = 2; check && i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1])    /* a file is never named like an option */
			return usage_error("sequences", "check takes files, not '%s'", argv[i]);
	if (check)
		return check_files(cli, argc - 2, argv + 2);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json"))
			return misplaced_global_option("sequences", argv[i]) ? FU_USAGE :
			       usage_error("sequences", "unexpected argument '%s'", argv[i]);
		json = 1;
	}
	if (cli_sequences_dir_missing(cli, "sequences"))
		return FU_FAIL;
	if (json) {
		cJSON *array = cJSON_CreateArray();
		for (size_t i = 0; i < sequence_set_count(cli->sequences); i++)
			cJSON_AddItemToArray(array, sequence_json(sequence_set_at(cli->sequences, i)));
		json_print(array);
		return FU_OK;
	}
	for (size_t i = 0; i < sequence_set_count(cli->sequences); i++)
		print_sequence(sequence_set_at(cli->sequences, i));
	invalid = (int)sequence_set_invalid_count(cli->sequences);
	if (invalid)
		printf("%d invalid sequence file%s: run 'followup sequences check'\n", invalid,
		       invalid == 1 ? "" : "s");
	return FU_OK;
}

int cmd_plan(int argc, char **argv, struct cli *cli)
{
	static const char usage[] =
		"usage: followup plan SEQUENCE [--from TIME] [--timezone ZONE]\n\n"
		"Prints the calendar a lead contacted at TIME would get: each step with\n"
		"windows, weekends and min_gap applied, as if each touch were made when due.\n\n"
		"  --from TIME      the contact time (default: now)\n"
		"  --timezone ZONE  the lead's time zone (default: the sequence's, else the\n"
		"                   config timezone)\n\n"
		"example: followup plan event-followup --from '2026-03-06 18:30'\n";
	static const struct option options[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "timezone", required_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct engine e = { cli->store, cli->sequences, &cli->config, cli->now };
	const struct sequence *seq;
	struct lead lead = { 0 };
	time_t from = cli->now, last = 0;
	const char *zone;
	char when[32], day[32], after[DURATION_FORMAT_SIZE];
	int c, status;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'f':
			if ((status = parse_time_option(cli, "--from", optarg, &from)))
				return status;
			break;
		case 'z':
			if (!zone_valid(optarg))
				return unknown_zone("plan", optarg);
			lead.timezone = optarg;
			break;
		case 'h': fputs(usage, stdout); return FU_OK;
		default: return unknown_option(argv);
		}
	}
	if (optind + 1 != argc)
		return usage_error("plan", "expected one SEQUENCE");
	seq = sequence_set_find(cli->sequences, argv[optind]);
	if (!seq)
		return cli_sequence_error(cli, argv[optind]);
	zone = engine_zone(&e, &lead, seq);
	time_format_day(from, zone, day, sizeof(day));
	time_format_local(from, zone, when, sizeof(when));
	printf("%s for a lead contacted %s %s (%s)\n", seq->name, day, when + 11,
	       zone ? zone : "local time");
	for (size_t i = 0; i < seq->nsteps; i++) {
		time_t due = engine_step_due(&e, seq, i, from, last, zone);
		time_format_day(due, zone, day, sizeof(day));
		time_format_local(due, zone, when, sizeof(when));
		duration_format(seq->steps[i].after, after);
		printf("  %-12s %-8s %s %s  (after %s)\n", seq->steps[i].id,
		       channel_name(seq->steps[i].channel), day, when + 11, after);
		last = due;
	}
	if (seq->has_reactivate) {
		duration_format(seq->reactivate_after, after);
		printf("  then '%s' %s after the last touch, if no reply\n",
		       seq->reactivate_sequence, after);
	}
	return FU_OK;
}
