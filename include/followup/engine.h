/*
 * engine.h - the cadence engine (SPEC section 7).
 *
 * Each active enrolment has at most one pending touch: the next step to make. When a
 * touch is closed (sent, done, skipped, missed, expired, removed) the engine schedules
 * the next step, or completes the enrolment (lead cold, reactivation enrolled). A pending
 * touch carries close_at, the moment it is closed by itself: `expire` run out, or, for a
 * manual touch, the next step falling due. engine_tick() closes those and follows
 * edited sequence files; every command that reads or writes touches runs it first.
 *
 * Functions return 0 or -1 (after printing the error) and expect the caller to hold a
 * store transaction, except engine_tick() which runs its own.
 */
#ifndef FOLLOWUP_ENGINE_H
#define FOLLOWUP_ENGINE_H

#include "followup/config.h"
#include "followup/sequence.h"
#include "followup/store.h"

struct engine {
	struct store *store;
	const struct sequence_set *sequences;
	const struct config *config;
	time_t now;
};

/* The zone a lead's windows are in: its own, else the sequence's, else the config's. */
const char *engine_zone(const struct engine *e, const struct lead *lead,
			const struct sequence *seq);

/* The moment step `index` of seq falls due for a lead anchored at `anchor` and last
 * touched at `last_touched` (0: never): offset, min_gap, then window and weekends. */
time_t engine_step_due(const struct engine *e, const struct sequence *seq, size_t index,
		       time_t anchor, time_t last_touched, const char *zone);

/* Enrols lead in seq anchored at `anchor`, ending any other active enrolment, and
 * schedules the first step. */
int engine_enrol(struct engine *e, const struct lead *lead, const struct sequence *seq,
		 const char *event, time_t anchor);

/* The same for a lead created a moment ago, which has no enrolment nor touch yet: no
 * need to look (the fast path of a large import). */
int engine_enrol_new(struct engine *e, const struct lead *lead, const struct sequence *seq,
		     const char *event, time_t anchor);

/* Moves an enrolment's anchor and re-times its pending touch, unless that would close the
 * touch at once (past its expire): then nothing changes. */
int engine_reanchor(struct engine *e, int64_t enrolment_id, time_t anchor);

/* Closes touch t with state (sent done skipped missed expired removed failed) at `at`
 * and schedules what follows. */
int engine_close_touch(struct engine *e, const struct touch *t, const char *state, time_t at,
		       const char *note);

/* Records an outcome (replied converted lost unsubscribed bounced) for a lead: sets its
 * status and ends its active enrolment, cancelling what is pending. A lead that opted
 * out or bounced keeps that status (the outcome goes into its timeline only), so that
 * every listing still says it must never get email. */
int engine_stop_lead(struct engine *e, int64_t lead_id, const char *status, const char *note);
/* 1 for the statuses that mean no email ever again: unsubscribed and bounced. */
int status_never_emails(const char *status);

/* Brings the store up to e->now (own transaction). */
int engine_tick(struct engine *e);

/* The same for a command that only reads: with keep the tick is committed as usual;
 * without (a dry run, a "what if" --now) it is made on a private copy of the store
 * (store_use_private_copy), so that the command shows the store as of e->now and leaves
 * it as it was, locking nobody out. */
int engine_view_begin(struct engine *e, int keep);

#endif
