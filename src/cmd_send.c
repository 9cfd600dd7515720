/*
 * cmd_send.c - `followup send`, `followup preview` and `followup resolve`.
 *
 * At most once (SPEC section 8): a touch is committed as `sending`, with its Message-ID,
 * before its transfer starts, and as `sent` after the server accepted it. A run that
 * dies in between leaves `sending`; the next run (holding the sender lock, so no other
 * run is alive) turns those into `in_doubt`, which are never re-sent by themselves.
 */
#include "followup/cli.h"
#include "followup/compose.h"
#include "followup/credentials.h"
#include "followup/engine.h"
#include "followup/message.h"
#include "followup/timeutil.h"
#include "followup/transport.h"
#include "followup/util.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* Retry delays after a temporary failure; one more failure after the last is final. */
static const long retry_delays[] = { 15 * 60, 60 * 60, 4 * 60 * 60 };
/* Refusals and deferrals in a row, with no message taken in between, that stop a run:
 * a server that turns everyone away must not use up every touch's retries. */
#define FAILURES_IN_A_ROW 3

struct send_counts {
	long sent, failed, retry, bounced, deferred, held;
	long in_doubt;     /* every touch in doubt after the run, this run's and earlier ones' */
	long in_doubt_new; /* those this run left in doubt */
	long would_send;   /* --dry-run: what a real run would send; sent stays 0 */
	long waiting;      /* due, but outside their window now (not in --json: its keys are set) */
};

struct send_run {
	struct cli *cli;
	struct engine engine;
	struct transport *transport;
	struct transport_options topt;
	char *password, *token;
	int dry_run, json;
	int check;      /* --check: log in and out, send nothing, touch no store */
	int busy;       /* another send holds the lock: this run did nothing */
	long limit;
	struct send_counts n;
	int64_t *ids;
	size_t nids;
	int delivered;          /* the server took a message this run */
	int failing;            /* refusals and deferrals since the last verdict it gave */
	int64_t *deferred;      /* the deferrals among them */
	size_t ndeferred;
	char *last_failure;     /* what the server said to the last of them: the line that
				 * stops the run quotes it, for --quiet hides the others */
	int64_t *unconfirmed;   /* refused (TRANSPORT_REFUSED), no message taken since */
	size_t nunconfirmed;
	int64_t *proven;        /* refused, and then the server took another message */
	size_t nproven;
	struct sender *senders;         /* the addresses this run sent from, or tried to */
	size_t nsenders;
	long sending_when_checked;      /* --dry-run: touches `sending`, with no send running */
};

struct sender {
	char *address;
	long would_send;        /* --dry-run: writes no sent touches, so the limit counts these */
	int full;               /* at its daily limit: the rest of its emails wait */
};

/* --- credentials ------------------------------------------------------------------------- */

static int resolve_credentials(struct send_run *r)
{
	const struct config *c = &r->cli->config;
	int secret = c->smtp.password_env || c->smtp.netrc || c->smtp.oauth2_token_cmd;

	if (secret && r->cli->config.exists && config_trust_check(r->cli->config_path))
		return -1;
	if (c->smtp.password_env) {
		const char *p = getenv(c->smtp.password_env);
		if (!p) {
			error("%s: smtp.password_env: $%s is not set (cron runs with few variables:"
			      " set it in the crontab or the script cron runs)", r->cli->config_path,
			      c->smtp.password_env);
			return -1;
		}
		r->password = xstrdup(p);
	}
	if (c->smtp.netrc && netrc_check())
		return -1;
	r->topt.url = c->smtp.url;
	r->topt.username = c->smtp.username;
	r->topt.password = r->password;
	r->topt.netrc = c->smtp.netrc;
	r->topt.tls_none = c->smtp.tls_none;
	r->topt.ca_file = c->smtp.ca_file;
	r->topt.connect_timeout = c->smtp.connect_timeout;
	r->topt.timeout = c->smtp.timeout;
	r->topt.verbose = r->cli->verbose;
	return 0;
}

/* The bearer token, fetched as the first message is about to go, not with the rest of
 * resolve_credentials(): a run with nothing to send (most cron runs) runs no helper and
 * holds the sender lock no longer for one. */
static int resolve_token(struct send_run *r)
{
	const struct smtp_config *s = &r->cli->config.smtp;

	if (!s->oauth2_token_cmd || r->token)
		return 0;
	r->token = token_cmd_run(s->oauth2_token_cmd,
				 s->timeout > 0 ? s->timeout : TOKEN_CMD_TIMEOUT);
	r->topt.oauth2_token = r->token;
	return r->token ? 0 : -1;
}

/* --- one touch --------------------------------------------------------------------------- */

static int build_message(const struct cli *cli, const struct due_item *d,
			 const struct composed *c, const char *message_id, struct strbuf *out)
{
	struct message m = { 0 };
	char *err = NULL, *to_name = NULL, *references = NULL;
	int ret;

	/* Looked up here, not in compose: only a message on its way needs the thread. */
	if (c->in_reply_to && store_enrolment_thread(cli->store, d->enrolment.id, &references) < 0)
		return -1;
	to_name = lead_name(&d->lead);
	m.from_name = c->from_name;
	m.from_email = c->from_email;
	m.to_name = to_name;
	m.to_email = d->lead.email;
	m.subject = c->subject;
	m.body = c->body;
	m.signature = c->signature_below;
	m.message_id = message_id;
	m.in_reply_to = c->in_reply_to;
	m.references = references;
	m.unsubscribe_mailto = c->unsubscribe_mailto;
	m.unsubscribe_url = c->unsubscribe_url;
	m.date = cli->now;
	ret = message_build(&m, out, &err);
	if (ret)
		error("touch %lld: %s", (long long)d->touch.id, err);
	free(err);
	free(to_name);
	free(references);
	return ret;
}

/* Whether now is inside the touch's sending window (and on a business day when the
 * sequence says so), in the lead's zone: a touch that fell due at 09:00 is not sent at
 * 20:00 because the server was down all day, nor on Saturday. */
static int in_window(struct send_run *r, const struct due_item *d)
{
	const struct sequence *seq = sequence_set_find(r->cli->sequences, d->enrolment.sequence);
	const char *zone;

	if (!seq)
		return 1;       /* held below, with its reason */
	zone = engine_zone(&r->engine, &d->lead, seq);
	return cadence_place(r->cli->now, &seq->window, seq->business_days, zone) == r->cli->now;
}

/* The run's record of address, or NULL when it has none and create is 0. */
static struct sender *sender_of(struct send_run *r, const char *address, int create)
{
	for (size_t i = 0; address && i < r->nsenders; i++)
		if (!strcasecmp(r->senders[i].address, address))     /* one mailbox, however spelt */
			return &r->senders[i];
	if (!address || !create)
		return NULL;
	r->senders = xrealloc(r->senders, (r->nsenders + 1) * sizeof(*r->senders));
	r->senders[r->nsenders] = (struct sender){ xstrdup(address), 0, 0 };
	return &r->senders[r->nsenders++];
}

/* Whether address is at its daily limit, as found earlier in this run. */
static int is_full(struct send_run *r, const char *address)
{
	const struct sender *s = sender_of(r, address, 0);

	return s && s->full;
}

/* Whether every address the run could send from is at its daily limit: then nothing
 * more can go, and the run stops rather than compose each email to defer it. */
static int all_full(struct send_run *r)
{
	const struct config *c = &r->cli->config;
	int addresses = !str_empty(c->sender_email);

	if (addresses && !is_full(r, c->sender_email))
		return 0;
	for (size_t i = 0; i < c->nowners; i++) {
		if (str_empty(c->owners[i].email))
			continue;
		if (!is_full(r, c->owners[i].email))
			return 0;
		addresses++;
	}
	return addresses > 0;
}

/* Over the per-sender rolling 24 h limit? 1 when sender has sent per_day in the last 24
 * hours (remembered for the run), 0 when it may send, -1 on a store error. */
static int over_daily_limit(struct send_run *r, const char *sender)
{
	long sent = 0, per_day = r->cli->config.per_day;

	if (per_day <= 0)
		return 0;
	if (store_sent_since(r->cli->store, sender, r->cli->now - 24 * 3600, &sent))
		return -1;
	if (r->dry_run)
		sent += sender_of(r, sender, 1)->would_send;
	if (sent < per_day)
		return 0;
	sender_of(r, sender, 1)->full = 1;
	return 1;
}

/* Records what the server said, in one transaction. The message may be out already:
 * another command's lock (an import, a rep's `done`) is waited out for up to two
 * minutes, where anything else gives up after 5 s, so that a delivered touch is not
 * left `sending` (and then in doubt) for want of patience. Returns 0, 1 when the touch
 * used its last retry (it is `failed`), -1 on a store error. */
static int record_outcome(struct send_run *r, const struct due_item *d,
			  enum transport_result result, const char *why)
{
	struct store *store = r->cli->store;
	struct send_counts before = r->n;       /* counted only once recorded */
	struct touch t;
	int ret = 0, gave_up = 0;

	if (store_begin_patiently(store, 120 * 1000))
		return -1;
	if (store_touch_get(store, d->touch.id, &t) != 1) {
		store_rollback(store);
		return -1;
	}
	switch (result) {
	case TRANSPORT_SENT:
		r->n.sent++;
		ret = engine_close_touch(&r->engine, &t, "sent", r->cli->now, NULL);
		break;
	case TRANSPORT_RETRY:
	case TRANSPORT_REFUSED:         /* not yet a bounce (see count_outcome) */
		if ((size_t)t.attempts <= ARRAY_SIZE(retry_delays)) {
			r->n.retry++;
			ret = store_touch_retry_later(store, t.id,
				r->cli->now + retry_delays[t.attempts - 1], why);
		} else {
			r->n.failed++;
			gave_up = 1;
			ret = engine_close_touch(&r->engine, &t, "failed", r->cli->now, why);
		}
		break;
	case TRANSPORT_REJECTED:
		r->n.failed++;
		r->n.bounced++;
		ret = store_touch_close(store, t.id, "failed", r->cli->now, why);
		if (!ret)
			ret = engine_stop_lead(&r->engine, t.lead_id, "bounced", why);
		break;
	case TRANSPORT_IN_DOUBT:
		r->n.in_doubt_new++;
		ret = store_touch_close(store, t.id, "in_doubt", r->cli->now, why);
		break;
	case TRANSPORT_FATAL:
		ret = store_touch_unclaim(store, t.id);
		break;
	}
	touch_release(&t);
	if (ret || store_commit(store)) {
		store_rollback(store);
		r->n = before;
		return -1;
	}
	return gave_up;
}

static int open_transport(struct send_run *r)
{
	char *err = NULL;

	if (r->transport)
		return 0;
	if (resolve_token(r))
		return -1;
	if (transport_open(&r->transport, &r->topt, &err)) {
		error("%s", err);
		free(err);
		return -1;
	}
	return 0;
}

/* A per-message line's first word. gave_up: the refusal or deferral used the touch's
 * last retry, and the touch is failed, as the summary and `show` say. */
static const char *outcome_label(enum transport_result result, int gave_up)
{
	if (gave_up)
		return "failed";
	switch (result) {
	case TRANSPORT_RETRY: return "retry";
	case TRANSPORT_REJECTED: return "bounce";
	case TRANSPORT_REFUSED: return "refused";
	default: return "doubt";
	}
}

static void add_id(int64_t **ids, size_t *n, int64_t id)
{
	*ids = xrealloc(*ids, (*n + 1) * sizeof(**ids));
	(*ids)[(*n)++] = id;
}

static int has_id(const int64_t *ids, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return 1;
	return 0;
}

/* A refused touch waiting for its second try in this run: counted as a retry already. */
static int second_try(const struct send_run *r, int64_t touch_id)
{
	return has_id(r->proven, r->nproven, touch_id);
}

/* Whether a bare refusal is this address's, not the server's: the server took another
 * message after refusing it this run, or took one before in this run and this touch
 * failed on an earlier try too. */
static int refusal_proven(const struct send_run *r, const struct touch *t)
{
	return second_try(r, t->id) || (r->delivered && t->attempts > 0);
}

/*
 * Keeps the score that tells a server refusing everyone from refused addresses. A bare
 * refusal (TRANSPORT_REFUSED) is a retry, not a bounce, until refusal_proven(): when the
 * server takes another message after it, the refused touch is tried again at the end of
 * the run, where a refusal bounces. raw is what the server said, result what it was
 * taken as, gave_up whether that used the touch's last retry.
 */
static void count_outcome(struct send_run *r, int64_t touch_id, enum transport_result raw,
			  enum transport_result result, int gave_up)
{
	switch (result) {
	case TRANSPORT_SENT:
		r->delivered = 1;
		r->failing = 0;
		r->ndeferred = 0;
		for (size_t i = 0; i < r->nunconfirmed; i++) {
			add_id(&r->ids, &r->nids, r->unconfirmed[i]);
			add_id(&r->proven, &r->nproven, r->unconfirmed[i]);
		}
		r->nunconfirmed = 0;
		break;
	case TRANSPORT_REFUSED:
		if (!gave_up)           /* failed: no second try */
			add_id(&r->unconfirmed, &r->nunconfirmed, touch_id);
		r->failing++;
		break;
	case TRANSPORT_RETRY:
		add_id(&r->deferred, &r->ndeferred, touch_id);
		r->failing++;
		break;
	case TRANSPORT_REJECTED:
		if (raw == TRANSPORT_REFUSED) {
			/* a second try this run was counted as a retry at its first */
			r->n.retry -= second_try(r, touch_id);
			break;
		}
		r->failing = 0;         /* a verdict on an address: the server works */
		r->ndeferred = 0;
		break;
	case TRANSPORT_IN_DOUBT:
	case TRANSPORT_FATAL:
		break;
	}
}

/* Stops the run after FAILURES_IN_A_ROW refusals and deferrals with nothing taken in
 * between: the server, not the addresses. The deferred touches get back the retry they
 * used (they still wait their delay, so the next run tries others first); a refused one
 * keeps it, so that addresses refused run after run still end, as failed. */
static int stop_failing_run(struct send_run *r)
{
	for (size_t i = 0; i < r->ndeferred; i++)
		if (store_touch_forgive_attempt(r->cli->store, r->deferred[i]))
			return -1;
	return error("%s refused or deferred %d messages in a row%s: stopped, the rest waits"
		     " for the next run (the last: %s)", transport_describe(r->transport),
		     r->failing, r->delivered ? "" : " and took none",
		     r->last_failure ? r->last_failure : "no reason given");
}

/* Sends one touch. Returns 0 to go on, 1 to stop the run cleanly, -1 on failure. */
static int send_one(struct send_run *r, int64_t touch_id)
{
	struct due_item d;
	struct composed c = { 0 };
	struct strbuf msg = STRBUF_INIT;
	char *message_id = NULL, *err = NULL;
	enum transport_result raw, result;
	int found, ret = 0, over, gave_up;

	found = store_due_item(r->cli->store, touch_id, &d);
	if (found <= 0)
		return found;
	if (strcmp(d.touch.state, "pending"))
		goto out;       /* settled meanwhile */
	/* Not composed: while its sender is full, a touch that would be held counts as
	 * deferred too (`due` says why it is held). */
	if (is_full(r, compose_from_email(&r->cli->config, &d.lead))) {
		r->n.deferred += !second_try(r, touch_id);
		goto out;
	}
	if (compose_touch(r->cli->store, &r->cli->config, r->cli->sequences, &d, &c)) {
		ret = -1;
		goto out;
	}
	if (c.held) {
		r->n.held++;
		if (!r->json && !r->cli->quiet)
			printf("held   #%lld %s: %s\n", (long long)touch_id, d.lead.email, c.held);
		goto out;
	}
	if ((over = over_daily_limit(r, c.from_email)) != 0) {
		r->n.deferred += over > 0 && !second_try(r, touch_id);
		ret = over < 0 ? -1 : 0;
		goto out;
	}
	message_id = message_id_new(c.from_email);
	if (build_message(r->cli, &d, &c, message_id, &msg)) {
		r->n.held++;
		goto out;
	}
	if (r->dry_run) {
		r->n.would_send++;
		sender_of(r, c.from_email, 1)->would_send++;
		if (!r->json && !r->cli->quiet)
			printf("would send #%lld to %s: %s\n", (long long)touch_id, d.lead.email,
			       c.subject);
		goto out;
	}
	if (open_transport(r)) {
		ret = -1;
		goto out;
	}
	found = store_touch_claim(r->cli->store, touch_id, message_id, c.subject, c.from_email,
				  r->cli->now);
	if (found <= 0) {
		ret = found;
		goto out;
	}
	raw = transport_send(r->transport, c.from_email, d.lead.email, msg.buf, msg.len, &err);
	result = raw == TRANSPORT_REFUSED && refusal_proven(r, &d.touch) ? TRANSPORT_REJECTED : raw;
	if ((gave_up = record_outcome(r, &d, result, err)) < 0) {
		/* The touch stays `sending`, which the next run marks in doubt: counted so
		 * now, not as what the server said. */
		r->n.in_doubt_new++;
		if (result == TRANSPORT_FATAL)
			error("%s (and touch %lld, not sent, could not be given back: the next"
			      " send marks it in doubt; resolve it with retry)",
			      err ? err : "cannot send", (long long)touch_id);
		else
			error("touch %lld: the server answered (%s), but that could not be recorded:"
			      " the next send marks it in doubt", (long long)touch_id,
			      result == TRANSPORT_SENT ? "it took the message" : outcome_label(result, 0));
		ret = -1;
	} else if (result == TRANSPORT_FATAL) {
		error("%s", err ? err : "cannot send");
		ret = -1;
	} else {
		count_outcome(r, touch_id, raw, result, gave_up);
		if (!r->json && !r->cli->quiet && result != TRANSPORT_SENT)
			printf("%-7s #%lld %s: %s\n", outcome_label(result, gave_up),
			       (long long)touch_id, d.lead.email, err ? err : "");
		if (err && (result == TRANSPORT_REFUSED || result == TRANSPORT_RETRY)) {
			free(r->last_failure);
			r->last_failure = err;
			err = NULL;
		}
	}
out:
	free(err);
	free(message_id);
	strbuf_release(&msg);
	composed_release(&c);
	due_item_release(&d);
	return ret;
}

/* --- the check ---------------------------------------------------------------------------- */

/* What the check found, after where: "connected, STARTTLS, certificate ok, logged in as
 * rep@example.com", or the Maildir's state. Caller frees. */
static char *check_findings(const struct transport_check *c)
{
	struct strbuf sb = STRBUF_INIT;

	if (!c->tls) {
		strbuf_addstr(&sb, c->maildir_missing ? "not there yet, and can be made"
						      : "exists and is writable");
		return strbuf_detach(&sb);
	}
	strbuf_addstr(&sb, "connected");
	if (!strcmp(c->tls, "none"))
		strbuf_addstr(&sb, ", no TLS (tls: none, loopback)");
	else
		strbuf_addf(&sb, ", %s, certificate %s", !strcmp(c->tls, "tls") ? "TLS" : "STARTTLS",
			    c->certificate_ok ? "ok" : "not verified");
	if (c->auth && c->username)
		strbuf_addf(&sb, ", logged in as %s", c->username);
	else if (c->auth)
		strbuf_addstr(&sb, ", logged in with the login in ~/.netrc");
	else
		strbuf_addstr(&sb, ", no login (none configured)");
	return strbuf_detach(&sb);
}

/* {"ok","url","tls","certificate","auth","username"} or, failed, {"ok","url","error"};
 * a Maildir's has "maildir_exists" instead of the SMTP keys. */
static void print_check_json(const struct transport_check *c, const char *failure)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "ok", !failure);
	if (c->url)
		cJSON_AddStringToObject(o, "url", c->url);
	else
		cJSON_AddNullToObject(o, "url");
	if (failure) {
		cJSON_AddStringToObject(o, "error", failure);
	} else if (!c->tls) {
		cJSON_AddBoolToObject(o, "maildir_exists", !c->maildir_missing);
	} else {
		cJSON_AddStringToObject(o, "tls", c->tls);
		cJSON_AddBoolToObject(o, "certificate", c->certificate_ok);
		if (c->auth)
			cJSON_AddStringToObject(o, "auth", c->auth);
		else
			cJSON_AddNullToObject(o, "auth");
		if (c->username)
			cJSON_AddStringToObject(o, "username", c->username);
		else
			cJSON_AddNullToObject(o, "username");
	}
	json_print(o);
}

/* `send --check`: the credentials as a send resolves them, refused as a send refuses
 * them, then one session that logs in and out. No store: nothing due is needed, nothing
 * is marked, and no sender lock keeps a real send waiting for a slow server. */
static int run_check(struct send_run *r)
{
	struct transport_check found = { 0 };
	char *err = NULL, *findings;
	int failed;

	/* Their errors are said already; --json still gets an answer. */
	if (resolve_credentials(r) || resolve_token(r)) {
		if (r->json)
			print_check_json(&found, "the credentials cannot be used (stderr says why)");
		return FU_FAIL;
	}
	failed = transport_check(&r->topt, &found, &err);
	if (failed)
		error("%s", err);
	if (r->json) {
		print_check_json(&found, failed ? err : NULL);
	} else if (!failed && !r->cli->quiet) {
		findings = check_findings(&found);
		printf("%s: %s: ready to send\n", found.url, findings);
		free(findings);
	}
	free(err);
	transport_check_release(&found);
	return failed ? FU_FAIL : FU_OK;
}

/* --- the run ------------------------------------------------------------------------------ */

/* The due touches whose window is open now, and apart those the server refused or
 * deferred before: they go after the rest, so that three bad addresses at the front of
 * the queue do not stop every run before a good one is tried. */
struct collected {
	struct send_run *r;
	int64_t *retried;
	size_t nretried;
};

/* At night or on a weekend the list is empty at once, however many touches wait for
 * the morning. */
static int collect_id(const struct due_item *d, void *opaque)
{
	struct collected *c = opaque;

	if (!in_window(c->r, d))
		c->r->n.waiting++;
	else if (d->touch.retry_at)
		add_id(&c->retried, &c->nretried, d->touch.id);
	else
		add_id(&c->r->ids, &c->r->nids, d->touch.id);
	return 0;
}

/* The spec's keys always, so that a script reads every run the same way; a dry run adds
 * would_send (sent stays 0: nothing went) and a run that found another one sending adds
 * busy. */
static void print_json(const struct send_run *r)
{
	const struct send_counts *n = &r->n;
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "sent", (double)n->sent);
	cJSON_AddNumberToObject(o, "failed", (double)n->failed);
	cJSON_AddNumberToObject(o, "retry", (double)n->retry);
	cJSON_AddNumberToObject(o, "bounced", (double)n->bounced);
	cJSON_AddNumberToObject(o, "deferred", (double)n->deferred);
	cJSON_AddNumberToObject(o, "in_doubt", (double)n->in_doubt);
	cJSON_AddNumberToObject(o, "held", (double)n->held);
	if (r->dry_run)
		cJSON_AddNumberToObject(o, "would_send", (double)n->would_send);
	if (r->busy)
		cJSON_AddTrueToObject(o, "busy");
	json_print(o);
}

/* Where messages go, in transport_describe()'s words ("maildir /path"), also for a run
 * that opened no transport because it had nothing to send. Caller frees. */
static char *destination(const struct send_run *r)
{
	const char *url = r->cli->config.smtp.url;

	if (r->transport)
		return xstrdup(transport_describe(r->transport));
	if (starts_with(url, "maildir:"))
		return xasprintf("maildir %s", url + strlen("maildir:"));
	return xstrdup(url);
}

static void print_summary(const struct send_run *r)
{
	const struct send_counts *n = &r->n;
	long messages = r->dry_run ? n->would_send : n->sent;
	char *where;

	if (r->json) {
		print_json(r);
		return;
	}
	if (r->cli->quiet)
		return;
	where = destination(r);
	printf("%s %ld message%s via %s", r->dry_run ? "would send" : "sent", messages,
	       messages == 1 ? "" : "s", where);
	printf(" (%ld failed, %ld to retry, %ld bounced, %ld deferred by limits, %ld newly in doubt,"
	       " %ld held)\n", n->failed, n->retry, n->bounced, n->deferred, n->in_doubt_new,
	       n->held);
	if (n->waiting)
		printf("%ld due email%s wait%s for the sending window or a business day\n",
		       n->waiting, n->waiting == 1 ? "" : "s", n->waiting == 1 ? "s" : "");
	free(where);
}

/* On stderr, even for cron's --quiet and with --json: what stays stuck until someone acts.
 * A held email waits for a config or template fix, a touch in doubt for 'resolve'. */
static void print_needs_action(const struct send_run *r)
{
	const struct send_counts *n = &r->n;

	if (n->held)
		fprintf(stderr, "followup: send: %ld email%s held back: 'followup due' says why\n",
			n->held, n->held == 1 ? "" : "s");
	if (n->in_doubt)
		fprintf(stderr, "followup: send: %ld touch%s in doubt: see 'followup due' and"
			" 'followup resolve'\n", n->in_doubt, n->in_doubt == 1 ? " is" : "es are");
}

/* Counts every touch in doubt, as held emails are counted: each run reports them until
 * 'resolve' settles them. A dry run leaves a dead run's `sending` touches as they are;
 * a real run would find them in doubt, so they count. */
static int count_in_doubt(struct send_run *r)
{
	long sending = 0;

	if (store_count_state(r->cli->store, "in_doubt", &r->n.in_doubt))
		return -1;
	/* A touch still `sending` after a run is one whose outcome could not be recorded. A
	 * dry run counts those of a dead run, as it found them with no send running: any
	 * now may be a send's that started since. */
	if (r->dry_run)
		sending = r->sending_when_checked;
	else if (store_count_state(r->cli->store, "sending", &sending))
		return -1;
	r->n.in_doubt += sending;
	return 0;
}

static int send_all(struct send_run *r)
{
	struct due_filter f = { 0 };
	struct collected collected = { r, NULL, 0 };
	int ret;

	f.until = r->cli->now;
	f.now = r->cli->now;
	f.email_sendable = 1;
	ret = store_due_each(r->cli->store, &f, collect_id, &collected);
	for (size_t i = 0; i < collected.nretried; i++)
		add_id(&r->ids, &r->nids, collected.retried[i]);
	free(collected.retried);
	if (ret)
		return -1;
	for (size_t i = 0; i < r->nids && ret == 0; i++) {
		if ((r->limit > 0 && r->n.sent + r->n.would_send >= r->limit) || all_full(r)) {
			/* A refused one waiting for its second try has its retry counted. */
			for (; i < r->nids; i++)
				r->n.deferred += !second_try(r, r->ids[i]);
			break;
		}
		ret = send_one(r, r->ids[i]);
		/* Checked before the next claim, and after the last message too: exit 1. */
		if (!ret && transport_stalled(r->transport))
			ret = error("%s stopped answering (timed out): the rest waits for the next run",
				    transport_describe(r->transport));
		if (!ret && r->failing >= FAILURES_IN_A_ROW)
			ret = stop_failing_run(r);
	}
	return ret;
}

int cmd_send(int argc, char **argv, struct cli *cli)
{
	static const char usage[] =
		"usage: followup send [--dry-run] [--limit N] [--json]\n"
		"       followup send --check [--json]\n\n"
		"Sends the due email touches, at most once each, through the config's smtp.url\n"
		"(smtp://, smtps:// or maildir:PATH). Safe from cron: a second send while one\n"
		"runs does nothing; a run killed mid-send leaves the touch 'in doubt', never\n"
		"sent twice.\n\n"
		"  --dry-run   show what would go, change nothing\n"
		"  --limit N   send at most N messages this run (also config limits.per_run)\n"
		"  --check     try smtp.url with the credentials a send would use: connect,\n"
		"              STARTTLS or TLS, verify the certificate, log in, log out; send\n"
		"              nothing and leave the store alone (a Maildir: can it be written).\n"
		"              Exit 0 when a send could go, 1 with the reason when not\n"
		"  --json      {\"sent\",\"failed\",\"retry\",\"bounced\",\"deferred\",\"in_doubt\",\"held\"};\n"
		"              with --check {\"ok\",\"url\",\"tls\",\"certificate\",\"auth\",\"username\"}\n"
		"              or {\"ok\":false,\"url\",\"error\"}\n\n"
		"Before the first cron run: FOLLOWUP_SMTP_PASSWORD=... followup send --check\n"
		"example (crontab): */10 * * * *  followup --quiet send\n";
	static const struct option options[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "limit", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "check", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct send_run r = { .cli = cli };
	char *end;
	int c, status = FU_FAIL, got, sent_all, limit_given = 0;

	r.engine = (struct engine){ cli->store, cli->sequences, &cli->config, cli->now };
	r.limit = cli->config.per_run;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'n': r.dry_run = 1; break;
		case 'l':
			r.limit = strtol(optarg, &end, 10);
			if (*end || r.limit <= 0)
				return usage_error("send", "--limit takes a positive number");
			limit_given = 1;
			if (cli->config.per_run > 0 && cli->config.per_run < r.limit)
				r.limit = cli->config.per_run;
			break;
		case 'j': r.json = 1; break;
		case 'c': r.check = 1; break;
		case 'h': fputs(usage, stdout); return FU_OK;
		default: return unknown_option(argv);
		}
	}
	if (optind < argc)
		return usage_error("send", "unexpected argument '%s'", argv[optind]);
	if (r.check && (r.dry_run || limit_given))
		return usage_error("send", "--check sends nothing: it takes no %s",
				   r.dry_run ? "--dry-run" : "--limit");
	/* The store loaded the config for a send; a check opens no store. */
	if (r.check && (status = cli_config(cli)))
		return status;
	if (str_empty(cli->config.smtp.url)) {
		error("send: no smtp.url in %s (see 'followup init')", cli->config_path);
		return FU_USAGE;
	}
	if (r.check) {
		status = run_check(&r);
		goto out;
	}
	/* Without it every email would be held, each for its sequence: say the cause. */
	if (cli_sequences_dir_missing(cli, "send"))
		return FU_FAIL;
	/* "What would send do next week?" is a dry run. A real one ahead of the clock would
	 * mail people early, dated then, and spend today's per_day on it. Into a Maildir
	 * outbox it is a trial, where stepping through a sequence day by day is the point. */
	if (cli->what_if && !r.dry_run && !starts_with(cli->config.smtp.url, "maildir:")) {
		error("send: %s %s is ahead of the clock: that would mail people now, dated"
		      " then; --dry-run shows what it would send", cli->now_source, cli->now_opt);
		return FU_USAGE;
	}
	got = store_lock_sender(cli->store);
	if (got < 0)
		return FU_FAIL;
	if (got == 0) {
		/* Not a failure: cron started this run while the last one still sends. */
		if (!cli->quiet)
			fprintf(stderr, "followup: send: another send is running; nothing done\n");
		r.busy = 1;
		if (r.json)
			print_json(&r);
		return FU_OK;
	}
	/* A dry run only asks whether a send is running: holding the lock while its listing
	 * waits for a reader (a pipe into less) would stop cron's sends. */
	if (r.dry_run) {
		if (store_count_state(cli->store, "sending", &r.sending_when_checked))
			goto out;
		store_unlock_sender(cli->store);
	}
	/* A dry run shows what the tick would do and leaves the store as it was. It
	 * connects to nothing, so it needs no password and runs no oauth2_token_cmd. */
	if ((!r.dry_run && resolve_credentials(&r)) || engine_view_begin(&r.engine, !r.dry_run))
		goto out;
	if (!r.dry_run && store_sending_to_in_doubt(cli->store, cli->now) < 0)
		goto out;
	sent_all = send_all(&r);
	/* Counted after a failed run too: its summary still says what needs resolving. */
	if (count_in_doubt(&r) == 0 && sent_all == 0)
		status = FU_OK;
	print_summary(&r);
	print_needs_action(&r);
out:
	transport_close(r.transport);
	free(r.ids);
	free(r.unconfirmed);
	free(r.proven);
	free(r.deferred);
	free(r.last_failure);
	for (size_t i = 0; i < r.nsenders; i++)
		free(r.senders[i].address);
	free(r.senders);
	if (r.password) {
		explicit_bzero(r.password, strlen(r.password));
		free(r.password);
	}
	if (r.token) {
		explicit_bzero(r.token, strlen(r.token));
		free(r.token);
	}
	return status;
}

/* --- preview --------------------------------------------------------------------------------- */

/* TOUCH is a touch id; LEAD an email (or a lead id when no touch has that id): its
 * pending touch. */
static int find_preview_item(struct cli *cli, const char *arg, struct due_item *d)
{
	char *end;
	long long id = strtoll(arg[0] == '#' ? arg + 1 : arg, &end, 10);
	struct lead l;
	struct enrolment en;
	struct touch t;
	int found;

	if (!*end && id > 0 && (found = store_due_item(cli->store, id, d)) != 0)
		return found;
	if ((found = store_lead_find(cli->store, arg, &l)) <= 0)
		return found;
	found = store_enrolment_active(cli->store, l.id, &en);
	if (found == 1) {
		found = store_touch_pending(cli->store, en.id, &t);
		if (found == 1) {
			found = store_due_item(cli->store, t.id, d);
			touch_release(&t);
		}
		enrolment_release(&en);
	}
	lead_release(&l);
	return found;
}

int cmd_preview(int argc, char **argv, struct cli *cli)
{
	static const char usage[] =
		"usage: followup preview TOUCH\n"
		"       followup preview LEAD\n\n"
		"Prints the exact message that would be sent for a touch (or for a lead's next\n"
		"touch: LEAD is an email or a lead id), headers and all, or the task text of a\n"
		"call or task. Changes nothing.\n\n"
		"example: followup preview dana.whitfield@northwind.example\n";
	struct due_item d;
	struct composed c;
	struct strbuf msg = STRBUF_INIT;
	char *message_id;
	int found, status = FU_OK;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return FU_OK;
	}
	for (int i = 1; i < argc; i++)
		if (misplaced_global_option("preview", argv[i]))
			return FU_USAGE;
	if (argc != 2)
		return usage_error("preview", "expected one TOUCH or LEAD");
	found = find_preview_item(cli, argv[1], &d);
	if (found <= 0) {
		if (found == 0)
			error("preview: no touch or lead '%s' with a pending touch", argv[1]);
		return found < 0 ? FU_FAIL : FU_USAGE;
	}
	if (strcmp(d.touch.state, "pending")) {
		/* Rebuilt now, it would not be what went out: other Message-ID, other copy. */
		error("preview: touch %lld is %s, not pending: 'followup show %s' has its history",
		      (long long)d.touch.id, d.touch.state, d.lead.email);
		due_item_release(&d);
		return FU_USAGE;
	}
	if (compose_touch(cli->store, &cli->config, cli->sequences, &d, &c)) {
		due_item_release(&d);
		return FU_FAIL;
	}
	if (c.held) {
		error("preview: touch %lld is held: %s", (long long)d.touch.id, c.held);
		status = FU_FAIL;
	} else if (strcmp(d.touch.channel, "email")) {
		printf("%s for %s (touch %lld, %s/%s):\n%s\n", d.touch.channel, d.lead.email,
		       (long long)d.touch.id, d.enrolment.sequence, d.touch.step, c.text);
	} else {
		message_id = message_id_new(c.from_email);
		if (build_message(cli, &d, &c, message_id, &msg))
			status = FU_FAIL;
		else
			fwrite(msg.buf, 1, msg.len, stdout);
		free(message_id);
	}
	strbuf_release(&msg);
	composed_release(&c);
	due_item_release(&d);
	return status;
}

/* --- resolve --------------------------------------------------------------------------------- */

int cmd_resolve(int argc, char **argv, struct cli *cli)
{
	static const char usage[] =
		"usage: followup resolve TOUCH sent|retry\n\n"
		"Settles a touch left in doubt by a run that died while sending it: 'sent' when\n"
		"the message did arrive (check the sent folder or the server log for its\n"
		"Message-ID), 'retry' to send it on the next run.\n\n"
		"example: followup resolve 1042 sent\n";
	struct engine e = { cli->store, cli->sequences, &cli->config, cli->now };
	struct touch t, after = { 0 };
	char *end;
	long long id;
	int found, status = FU_OK;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return FU_OK;
	}
	for (int i = 1; i < argc; i++)
		if (misplaced_global_option("resolve", argv[i]))
			return FU_USAGE;
	if (argc != 3 || (strcmp(argv[2], "sent") && strcmp(argv[2], "retry")))
		return usage_error("resolve", "expected TOUCH and 'sent' or 'retry'");
	id = strtoll(argv[1][0] == '#' ? argv[1] + 1 : argv[1], &end, 10);
	if (*end || id <= 0)
		return usage_error("resolve", "'%s' is not a touch id", argv[1]);
	if (store_begin(cli->store))
		return FU_FAIL;
	found = store_touch_get(cli->store, id, &t);
	if (found <= 0) {
		store_rollback(cli->store);
		if (found == 0)
			error("resolve: no touch %lld", id);
		return found < 0 ? FU_FAIL : FU_USAGE;
	}
	if (strcmp(t.state, "in_doubt")) {
		error("resolve: touch %lld is %s, not in doubt", id, t.state);
		status = FU_USAGE;
	} else if (!strcmp(argv[2], "sent")) {
		if (engine_close_touch(&e, &t, "sent", t.done_at ? t.done_at : cli->now,
				       "resolved as sent"))
			status = FU_FAIL;
	} else if (store_touch_retry_later(cli->store, t.id, cli->now, "resolved: retry") ||
		   store_touch_get(cli->store, id, &after) != 1) {
		status = FU_FAIL;
	}
	touch_release(&t);
	if (status)
		store_rollback(cli->store);
	else if (store_commit(cli->store))
		status = FU_FAIL;
	/* The lead replied, was marked lost or opted out while the touch was in doubt. */
	if (!status && after.state && !strcmp(after.state, "cancelled"))
		printf("touch %lld: cancelled, not retried: its sequence has stopped\n", id);
	else if (!status && !cli->quiet)
		printf("touch %lld: %s\n", id, argv[2]);
	touch_release(&after);
	return status;
}
