/*
 * cmd_touch.c - the verbs a rep uses on touches and leads: done, skip, mark, optout,
 * enroll. Each runs in one transaction: it lands whole or not at all.
 */
#include "followup/cli.h"
#include "followup/engine.h"
#include "followup/fields.h"
#include "followup/util.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* Parses "--note TEXT" and "--help"; positional arguments are left in argv[optind..]. */
static int parse_note(int argc, char **argv, const char *usage, const char **note,
		      const char **from)
{
	static const struct option options[] = {
		{ "note", required_argument, NULL, 'n' },
		{ "from", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!note)
				return usage_error(argv[0], "--note does not apply here");
			*note = optarg;
			break;
		case 'f':
			if (!from)
				return usage_error(argv[0], "--from does not apply here");
			*from = optarg;
			break;
		case 'h': fputs(usage, stdout); return -1;
		default: return unknown_option(argv);
		}
	}
	return FU_OK;
}

static int parse_id(const char *s, int64_t *id)
{
	char *end;
	long long v;

	if (*s == '#')
		s++;
	v = strtoll(s, &end, 10);
	if (!*s || *end || v <= 0)
		return -1;
	*id = v;
	return 0;
}

/* Loads a touch named on the command line: 1 found, 0 (after an error) not. */
static int find_touch(struct cli *cli, const char *cmd, const char *arg, struct touch *t)
{
	int64_t id;
	int found;

	if (parse_id(arg, &id)) {
		usage_error(cmd, "'%s' is not a touch id", arg);
		return 0;
	}
	found = store_touch_get(cli->store, id, t);
	if (found == 0)
		error("%s: no touch %lld", cmd, (long long)id);
	return found;
}

static int find_lead(struct cli *cli, const char *cmd, const char *arg, struct lead *l)
{
	int found = store_lead_find(cli->store, arg, l);

	if (found == 0)
		error("%s: no lead '%s'", cmd, arg);
	return found;
}

static struct engine engine_of(struct cli *cli)
{
	return (struct engine){ cli->store, cli->sequences, &cli->config, cli->now };
}

/* Runs fn inside one transaction after bringing the store up to date. */
static int in_transaction(struct cli *cli, struct engine *e, int (*fn)(void *), void *arg)
{
	int status;

	if (engine_tick(e) || store_begin(cli->store))
		return FU_FAIL;
	status = fn(arg);
	if (status)
		store_rollback(cli->store);
	else if (store_commit(cli->store))
		status = FU_FAIL;
	return status;
}

/* --- done / skip ------------------------------------------------------------------------- */

struct close_args {
	struct cli *cli;
	struct engine *e;
	const char *cmd, *arg, *note;
};

static int close_touch(void *opaque)
{
	struct close_args *a = opaque;
	int is_done = !strcmp(a->cmd, "done");
	struct touch t;
	int found = find_touch(a->cli, a->cmd, a->arg, &t), status = FU_OK;

	if (found <= 0)
		return found < 0 ? FU_FAIL : FU_USAGE;
	if (strcmp(t.state, "pending")) {
		status = FU_USAGE;
		error("%s: touch %lld is already %s", a->cmd, (long long)t.id, t.state);
	} else if (is_done && !strcmp(t.channel, "email")) {
		status = FU_USAGE;
		error("done: touch %lld is an email: 'followup send' sends it (or skip it)",
		      (long long)t.id);
	} else if (engine_close_touch(a->e, &t, is_done ? "done" : "skipped", a->cli->now,
				      a->note)) {
		status = FU_FAIL;
	} else if (!a->cli->quiet) {
		printf("touch %lld (%s) %s\n", (long long)t.id, t.step, is_done ? "done" : "skipped");
	}
	touch_release(&t);
	return status;
}

static int close_command(int argc, char **argv, struct cli *cli, const char *usage)
{
	struct engine e = engine_of(cli);
	struct close_args a = { cli, &e, argv[0], NULL, NULL };
	int status = parse_note(argc, argv, usage, &a.note, NULL);

	if (status)
		return status < 0 ? FU_OK : status;
	if (optind + 1 != argc)
		return usage_error(argv[0], "expected one TOUCH id");
	a.arg = argv[optind];
	return in_transaction(cli, &e, close_touch, &a);
}

int cmd_done(int argc, char **argv, struct cli *cli)
{
	return close_command(argc, argv, cli,
		"usage: followup done TOUCH [--note TEXT]\n\n"
		"Completes a manual touch (call, linkedin, task); the next step follows.\n\n"
		"  --note TEXT  a note for the lead's timeline ('followup show')\n\n"
		"example: followup done 1042 --note 'left a voicemail, will email'\n");
}

int cmd_skip(int argc, char **argv, struct cli *cli)
{
	return close_command(argc, argv, cli,
		"usage: followup skip TOUCH [--note TEXT]\n\n"
		"Skips a pending touch of any channel; the next step follows.\n\n"
		"  --note TEXT  a note for the lead's timeline ('followup show')\n\n"
		"example: followup skip 1043 --note 'met them in person instead'\n");
}

/* --- mark ------------------------------------------------------------------------------- */

struct mark_args {
	struct cli *cli;
	struct engine *e;
	const char *lead, *outcome, *note;
};

/* 1 when the lead is in a sequence now, 0 when not, -1 on a store error. */
static int in_a_sequence(struct store *store, int64_t lead_id)
{
	struct enrolment en;
	int found = store_enrolment_active(store, lead_id, &en);

	if (found == 1)
		enrolment_release(&en);
	return found;
}

static int mark_lead(void *opaque)
{
	struct mark_args *a = opaque;
	struct lead l;
	int found = find_lead(a->cli, "mark", a->lead, &l), status = FU_OK;

	if (found <= 0)
		return found < 0 ? FU_FAIL : FU_USAGE;
	struct enrolment en;
	int goes_on, was_in_one = in_a_sequence(a->cli->store, l.id);

	if (was_in_one < 0 || engine_stop_lead(a->e, l.id, a->outcome, a->note) ||
	    (goes_on = store_enrolment_active(a->cli->store, l.id, &en)) < 0) {
		lead_release(&l);
		return FU_FAIL;
	}
	if (status_never_emails(l.status) && !a->cli->quiet)
		printf("%s marked %s in its timeline; its status stays %s: it never gets email\n",
		       l.email, a->outcome, l.status);
	else if (goes_on && !a->cli->quiet)
		printf("%s marked %s; sequence %s goes on (its stop_on leaves %s out)\n", l.email,
		       a->outcome, en.sequence, a->outcome);
	else if (was_in_one && !a->cli->quiet)
		printf("%s marked %s; pending touches cancelled\n", l.email, a->outcome);
	else if (!a->cli->quiet)
		printf("%s marked %s; it was in no sequence\n", l.email, a->outcome);
	if (goes_on)
		enrolment_release(&en);
	lead_release(&l);
	return status;
}

int cmd_mark(int argc, char **argv, struct cli *cli)
{
	static const char usage[] =
		"usage: followup mark LEAD replied|converted|lost [--note TEXT]\n\n"
		"Records an outcome for a lead (id or email); its sequence stops (for converted\n"
		"and lost, unless the sequence's stop_on leaves them out).\n\n"
		"  --note TEXT  a note for the lead's timeline ('followup show')\n\n"
		"example: followup mark dana.whitfield@northwind.example replied --note 'wants a demo'\n";
	struct engine e = engine_of(cli);
	struct mark_args a = { cli, &e, NULL, NULL, NULL };
	int status = parse_note(argc, argv, usage, &a.note, NULL);

	if (status)
		return status < 0 ? FU_OK : status;
	if (optind + 2 != argc)
		return usage_error("mark", "expected LEAD and an outcome");
	a.lead = argv[optind];
	a.outcome = argv[optind + 1];
	if (strcmp(a.outcome, "replied") && strcmp(a.outcome, "converted") &&
	    strcmp(a.outcome, "lost"))
		return usage_error("mark", "outcome must be replied, converted or lost, not '%s'",
				   a.outcome);
	return in_transaction(cli, &e, mark_lead, &a);
}

/* --- optout ------------------------------------------------------------------------------ */

struct optout_args {
	struct cli *cli;
	struct engine *e;
	char **keys;            /* emails, or with by_token the tokens of unsubscribe links */
	int count, by_token;
	char **emails;          /* by_token: the emails of the tokens' leads (owned) */
};

/* Turns the tokens into their leads' emails: a token no lead has stops the lot before
 * anything is opted out (or said to be). Each token costs a read of the leads (they are
 * not indexed by token), so each is looked up once. */
static int tokens_to_emails(struct optout_args *a)
{
	a->emails = xcalloc((size_t)a->count, sizeof(*a->emails));
	for (int i = 0; i < a->count; i++) {
		struct lead l;
		int found = store_lead_find_by_token(a->cli->store, a->keys[i], &l);

		if (found == 0)
			error("optout: no lead has the unsubscribe token '%s'", a->keys[i]);
		if (found <= 0)
			return found < 0 ? FU_FAIL : FU_USAGE;
		a->emails[i] = xstrdup(l.email);
		lead_release(&l);
	}
	return FU_OK;
}

static int optout_all(void *opaque)
{
	struct optout_args *a = opaque;
	int status = a->by_token ? tokens_to_emails(a) : FU_OK;
	char **emails = a->by_token ? a->emails : a->keys;

	for (int i = 0; !status && i < a->count; i++) {
		struct lead l;
		int found = store_lead_find(a->cli->store, emails[i], &l);

		if (found < 0 || store_suppress(a->cli->store, emails[i], "optout", a->cli->now) ||
		    (found && engine_stop_lead(a->e, l.id, "unsubscribed", "opted out")))
			status = FU_FAIL;
		else if (!a->cli->quiet)
			printf("%s opted out%s\n", emails[i], found ? "" : " (no lead yet)");
		if (found > 0)
			lead_release(&l);
	}
	return status;
}

/* A token as message.c makes them: lower-case hex. */
static int token_well_formed(const char *s)
{
	return *s && s[strspn(s, "0123456789abcdef")] == '\0';
}

int cmd_optout(int argc, char **argv, struct cli *cli)
{
	static const char usage[] =
		"usage: followup optout EMAIL...\n"
		"       followup optout --token TOKEN...\n\n"
		"Never emails these addresses again, now or after any later import. --token takes\n"
		"the token of the lead's unsubscribe link (unsubscribe.url's {token}), for the\n"
		"web page that link opens.\n\n"
		"example: followup optout someone@example.com\n";
	static const struct option options[] = {
		{ "token", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct engine e = engine_of(cli);
	struct optout_args a = { cli, &e, NULL, 0, 0, NULL };
	int c, status;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 't': a.by_token = 1; break;
		case 'h': fputs(usage, stdout); return FU_OK;
		default: return unknown_option(argv);
		}
	}
	if (optind >= argc)
		return usage_error("optout", a.by_token ? "expected at least one TOKEN"
							: "expected at least one EMAIL");
	for (int i = optind; i < argc; i++) {
		const char *reason;

		str_trim(argv[i]);
		if (a.by_token && !token_well_formed(argv[i]))
			return usage_error("optout", "'%s' is not an unsubscribe token (lower-case"
					   " hex)", argv[i]);
		if (!a.by_token && !email_plausible(argv[i], &reason))
			return usage_error("optout", "'%s' is not an email address: %s", argv[i],
					   reason);
	}
	a.keys = argv + optind;
	a.count = argc - optind;
	status = in_transaction(cli, &e, optout_all, &a);
	for (int i = 0; a.emails && i < a.count; i++)
		free(a.emails[i]);
	free(a.emails);
	return status;
}

/* --- enroll ------------------------------------------------------------------------------ */

struct enroll_args {
	struct cli *cli;
	struct engine *e;
	const char *lead;
	const struct sequence *seq;
	time_t from;
};

/* Whether the lead is already in seq: 1 yes (after an error), 0 no, -1 store error.
 * Enrolling it again would supersede that enrolment and make every step again, the
 * recap included: a slip of the hand that emails the lead twice, so it is refused. */
static int already_enrolled(struct cli *cli, const struct lead *l, const struct sequence *seq)
{
	struct enrolment en;
	int found = store_enrolment_active(cli->store, l->id, &en), same;

	if (found <= 0)
		return found;
	same = !strcmp(en.sequence, seq->name);
	if (same)
		error("enroll: %s is already in sequence '%s': enrolling again would repeat its"
		      " steps", l->email, seq->name);
	enrolment_release(&en);
	return same;
}

static int enroll_lead(void *opaque)
{
	struct enroll_args *a = opaque;
	struct lead l;
	int found = find_lead(a->cli, "enroll", a->lead, &l), status = FU_OK, enrolled;

	if (found <= 0)
		return found < 0 ? FU_FAIL : FU_USAGE;
	if ((enrolled = already_enrolled(a->cli, &l, a->seq)) != 0) {
		status = enrolled < 0 ? FU_FAIL : FU_USAGE;
	} else if (status_never_emails(l.status)) {
		status = FU_USAGE;
		error("enroll: %s is %s: never emailed again", l.email, l.status);
	} else if (!l.consent || store_is_suppressed(a->cli->store, l.email) == 1) {
		status = FU_USAGE;
		error("enroll: %s opted out or gave no consent", l.email);
	} else if (store_lead_set_status(a->cli->store, l.id, "active", a->cli->now) ||
		   engine_enrol(a->e, &l, a->seq, l.event, a->from)) {
		status = FU_FAIL;
	} else if (!a->cli->quiet) {
		printf("%s enrolled in %s\n", l.email, a->seq->name);
	}
	lead_release(&l);
	return status;
}

int cmd_enroll(int argc, char **argv, struct cli *cli)
{
	static const char usage[] =
		"usage: followup enroll LEAD SEQUENCE [--from TIME]\n\n"
		"Starts a sequence for a lead by hand, ending any other sequence it is in. A\n"
		"lead already in SEQUENCE is refused: enrolling it again would repeat the steps\n"
		"it has had.\n\n"
		"  --from TIME  the time the steps count from (default: now)\n\n"
		"example: followup enroll dana.whitfield@northwind.example reactivation --from 2026-04-01\n";
	struct engine e = engine_of(cli);
	struct enroll_args a = { cli, &e, NULL, NULL, cli->now };
	const char *from = NULL;
	int status = parse_note(argc, argv, usage, NULL, &from);

	if (status)
		return status < 0 ? FU_OK : status;
	if (optind + 2 != argc)
		return usage_error("enroll", "expected LEAD and SEQUENCE");
	if (from && (status = parse_time_option(cli, "--from", from, &a.from)))
		return status;
	a.lead = argv[optind];
	a.seq = sequence_set_find(cli->sequences, argv[optind + 1]);
	if (!a.seq)
		return cli_sequence_error(cli, argv[optind + 1]);
	return in_transaction(cli, &e, enroll_lead, &a);
}
