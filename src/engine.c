/*
 * engine.c - the cadence engine: when each step falls due, and what follows a touch.
 */
#include "followup/engine.h"
#include "followup/timeutil.h"
#include "followup/util.h"

#include <stdlib.h>
#include <string.h>

/* A tick that keeps finding work after this many rounds is looping on bad data. */
#define TICK_MAX_ROUNDS 64

const char *engine_zone(const struct engine *e, const struct lead *lead,
			const struct sequence *seq)
{
	if (lead && !str_empty(lead->timezone) && zone_valid(lead->timezone))
		return lead->timezone;
	if (seq && !str_empty(seq->timezone))
		return seq->timezone;
	if (e->config && !str_empty(e->config->timezone))
		return e->config->timezone;
	return NULL;
}

time_t engine_step_due(const struct engine *e, const struct sequence *seq, size_t index,
		       time_t anchor, time_t last_touched, const char *zone)
{
	const struct step *step = &seq->steps[index];
	time_t at = cadence_offset(anchor, step->after, seq->business_days, zone);

	(void)e;
	if (last_touched) {
		time_t gap_end = last_touched + duration_seconds(seq->min_gap);
		if (gap_end > at)
			at = gap_end;
	}
	return cadence_place(at, &seq->window, seq->business_days, zone);
}

/* Says once a run that a sequence some leads need cannot be used, why, and what that
 * costs them: a tick that closes a thousand touches of a broken file would say it a
 * thousand times. */
static void warn_unusable_sequence(const struct engine *e, const char *name,
				   const char *consequence)
{
	static struct strbuf warned = STRBUF_INIT;     /* "\nname\n" for each */
	char *entry = xasprintf("\n%s\n", name);

	if (!strstr(warned.buf, entry)) {
		strbuf_add(&warned, entry + !!warned.len, strlen(entry) - !!warned.len);
		if (sequence_set_status(e->sequences, name) == SEQUENCE_INVALID)
			warning("sequence '%s' is invalid ('followup sequences check' says where):"
				" %s", name, consequence);
		else
			warning("sequence '%s' is not in the sequences directory: %s", name,
				consequence);
	}
	free(entry);
}

static int step_index(const struct sequence *seq, const char *id)
{
	for (size_t i = 0; i < seq->nsteps; i++)
		if (!strcmp(seq->steps[i].id, id))
			return (int)i;
	return -1;
}

static int is_manual(const struct step *step)
{
	return step->channel != CHANNEL_EMAIL;
}

/* When step `index` falls due, no sooner than not_before (0: no floor): a step whose
 * time passed before the enrolment reached it (added by an edit) is due at once, in the
 * window, not back then, when it may already have expired. */
static time_t touch_due(const struct engine *e, const struct sequence *seq, size_t index,
			time_t anchor, time_t last_touched, time_t not_before, const char *zone)
{
	time_t due = engine_step_due(e, seq, index, anchor, last_touched, zone);

	if (due < not_before)
		due = cadence_place(not_before, &seq->window, seq->business_days, zone);
	return due;
}

/* When a pending touch closes by itself: expire, or (manual touches) the next step
 * falling due. 0 when it waits for ever (an email without expire: send will make it).
 * The next step is timed as if this touch were made when due, so that min_gap keeps
 * it away: otherwise, on a catch-up run where both are past, the touch would be missed
 * the moment it falls due. */
static time_t close_time(const struct engine *e, const struct sequence *seq, size_t index,
			 time_t due, time_t anchor, const char *zone)
{
	const struct step *step = &seq->steps[index];
	time_t close = 0;

	if (step->has_expire)   /* skipped once now is past due + expire, not at it */
		close = due + duration_seconds(step->expire) + 1;
	if (is_manual(step) && index + 1 < seq->nsteps) {
		time_t next = engine_step_due(e, seq, index + 1, anchor, due, zone);
		if (!close || next < close)
			close = next;
	}
	return close;
}

static int step_made(char **made, size_t nmade, const char *id)
{
	for (size_t i = 0; i < nmade; i++)
		if (!strcmp(made[i], id))
			return 1;
	return 0;
}

static void free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* The first step of seq, in file order, that the enrolment has not made: -1 if none. */
static int next_step(struct engine *e, const struct enrolment *en, const struct sequence *seq,
		     int *index)
{
	char **made = NULL;
	size_t nmade = 0;

	*index = -1;
	if (store_enrolment_steps_made(e->store, en->id, &made, &nmade))
		return -1;
	for (size_t i = 0; i < seq->nsteps; i++) {
		if (!step_made(made, nmade, seq->steps[i].id)) {
			*index = (int)i;
			break;
		}
	}
	free_list(made, nmade);
	return 0;
}

static int complete(struct engine *e, const struct enrolment *en, const struct sequence *seq,
		    const struct lead *lead);

/* What times a new pending touch besides the anchor and its offset. */
struct timing {
	time_t last;            /* the previous touch, for min_gap (0: never) */
	time_t not_before;      /* the earliest it may fall due (0: no floor) */
};

/* Inserts the pending touch of step `index`. */
static int insert_touch(struct engine *e, const struct enrolment *en,
			const struct sequence *seq, const struct lead *lead, size_t index,
			struct timing tm)
{
	const char *zone = engine_zone(e, lead, seq);
	struct touch t = { 0 };

	t.enrolment_id = en->id;
	t.lead_id = lead->id;
	t.step = seq->steps[index].id;
	t.channel = (char *)channel_name(seq->steps[index].channel);
	t.due_at = touch_due(e, seq, index, en->anchor_at, tm.last, tm.not_before, zone);
	t.close_at = close_time(e, seq, index, t.due_at, en->anchor_at, zone);
	return store_touch_insert(e->store, &t, NULL);
}

/* Schedules the next step of an enrolment, or completes it. tm.last, when later than
 * the lead's last real touch, stands for a touch that was due but not made (a missed
 * call): the next step keeps min_gap from it, as close_time() assumed. */
static int schedule_next(struct engine *e, const struct enrolment *en,
			 const struct sequence *seq, const struct lead *lead, struct timing tm)
{
	time_t touched = store_lead_last_touched(e->store, lead->id);
	int index;

	if (next_step(e, en, seq, &index))
		return -1;
	if (index < 0)
		return complete(e, en, seq, lead);
	if (touched > tm.last)
		tm.last = touched;
	return insert_touch(e, en, seq, lead, (size_t)index, tm);
}

static int complete(struct engine *e, const struct enrolment *en, const struct sequence *seq,
		    const struct lead *lead)
{
	const struct sequence *next;
	time_t anchor;

	if (store_enrolment_end(e->store, en->id, "completed", "last step made", e->now))
		return -1;
	if (!strcmp(lead->status, "active") &&
	    store_lead_set_status(e->store, lead->id, "cold", e->now))
		return -1;
	/* Only a lead gone quiet is reactivated: not one converted or lost while a sequence
	 * whose stop_on left that out went on to its end. */
	if (!seq->has_reactivate || (strcmp(lead->status, "active") && strcmp(lead->status, "cold")))
		return 0;
	next = sequence_set_find(e->sequences, seq->reactivate_sequence);
	if (!next) {
		warn_unusable_sequence(e, seq->reactivate_sequence,
				       "leads going cold are not reactivated into it");
		return 0;
	}
	anchor = store_lead_last_touched(e->store, lead->id);
	if (!anchor)
		anchor = e->now;
	anchor += duration_seconds(seq->reactivate_after);
	return engine_enrol(e, lead, next, en->event, anchor);
}

static struct enrolment enrolment_of(const struct engine *e, const struct lead *lead,
				      const struct sequence *seq, const char *event,
				      time_t anchor)
{
	struct enrolment en = { 0 };

	en.lead_id = lead->id;
	en.sequence = seq->name;
	en.event = (char *)event;
	en.seq_hash = (char *)seq->hash;
	en.anchor_at = anchor;
	en.started_at = e->now;
	return en;
}

int engine_enrol(struct engine *e, const struct lead *lead, const struct sequence *seq,
		 const char *event, time_t anchor)
{
	struct enrolment en = enrolment_of(e, lead, seq, event, anchor);

	if (store_enrolment_create(e->store, &en, &en.id))
		return -1;
	return schedule_next(e, &en, seq, lead, (struct timing){ 0, 0 });
}

int engine_enrol_new(struct engine *e, const struct lead *lead, const struct sequence *seq,
		     const char *event, time_t anchor)
{
	struct enrolment en = enrolment_of(e, lead, seq, event, anchor);

	if (store_enrolment_insert(e->store, &en, &en.id))
		return -1;
	return insert_touch(e, &en, seq, lead, 0, (struct timing){ 0, 0 });
}

/* Loads what a touch's enrolment needs: its lead and its (valid) sequence. */
static int load_context(struct engine *e, int64_t enrolment_id, struct enrolment *en,
			struct lead *lead, const struct sequence **seq)
{
	if (store_enrolment_get(e->store, enrolment_id, en) != 1)
		return error("enrolment %lld not found", (long long)enrolment_id);
	if (store_lead_get(e->store, en->lead_id, lead) != 1) {
		enrolment_release(en);
		return error("lead %lld not found", (long long)en->lead_id);
	}
	*seq = sequence_set_find(e->sequences, en->sequence);
	return 0;
}

int engine_reanchor(struct engine *e, int64_t enrolment_id, time_t anchor)
{
	struct enrolment en;
	struct lead lead;
	struct touch t;
	const struct sequence *seq;
	int ret = 0, found, index;

	if (load_context(e, enrolment_id, &en, &lead, &seq))
		return -1;
	found = store_touch_pending(e->store, enrolment_id, &t);
	if (seq && found == 1 && (index = step_index(seq, t.step)) >= 0) {
		const char *zone = engine_zone(e, &lead, seq);
		time_t last = store_lead_last_touched(e->store, lead.id);
		time_t due = engine_step_due(e, seq, (size_t)index, anchor, last, zone);
		time_t close = close_time(e, seq, (size_t)index, due, anchor, zone);

		/* A touch the earlier anchor would close at once (expired unsent) keeps the
		 * time it has: an earlier scan must not cost the lead its recap. */
		if (!close || close > e->now)
			ret = store_enrolment_set_anchor(e->store, enrolment_id, anchor) ||
			      store_touch_reschedule(e->store, t.id, due, close) ? -1 : 0;
	}
	if (found == 1)
		touch_release(&t);
	enrolment_release(&en);
	lead_release(&lead);
	return found < 0 ? -1 : ret;
}

/* A call or task closed unmade (missed, or expired) was due all the same: what follows
 * keeps min_gap from it, as close_time() timed it. An email that expired never reached
 * the lead and does not count. */
static int due_counts_as_touched(const struct touch *t, const char *state)
{
	return strcmp(t->channel, "email") && (!strcmp(state, "missed") || !strcmp(state, "expired"));
}

int engine_close_touch(struct engine *e, const struct touch *t, const char *state, time_t at,
		       const char *note)
{
	struct enrolment en;
	struct lead lead;
	const struct sequence *seq;
	int ret;

	if (store_touch_close(e->store, t->id, state, at, note))
		return -1;
	if (load_context(e, t->enrolment_id, &en, &lead, &seq))
		return -1;
	ret = 0;
	if (strcmp(en.state, "active"))
		goto out;       /* stopped meanwhile: nothing follows */
	if (!seq) {
		warn_unusable_sequence(e, en.sequence, "its leads wait until it is fixed");
		goto out;
	}
	ret = schedule_next(e, &en, seq, &lead,
			    (struct timing){ due_counts_as_touched(t, state) ? t->due_at : 0, 0 });
out:
	enrolment_release(&en);
	lead_release(&lead);
	return ret;
}

/* Whether an outcome ends an enrolment in seq: those its stop_on names, and always a
 * reply, an opt-out or a bounce, whatever the file says (nobody who answered or asked
 * to be left alone gets another email). A missing or invalid file stops it too. */
static int outcome_stops(const struct sequence *seq, const char *outcome)
{
	if (!strcmp(outcome, "replied") || status_never_emails(outcome))
		return 1;
	return !seq || sequence_stops_on(seq, outcome);
}

int status_never_emails(const char *status)
{
	return !strcmp(status, "unsubscribed") || !strcmp(status, "bounced");
}

int engine_stop_lead(struct engine *e, int64_t lead_id, const char *status, const char *note)
{
	struct enrolment en;
	int found;

	if (store_lead_set_status(e->store, lead_id, status, e->now) ||
	    store_history_add(e->store, lead_id, e->now, status, note))
		return -1;
	while ((found = store_enrolment_active(e->store, lead_id, &en)) == 1) {
		int stop = outcome_stops(sequence_set_find(e->sequences, en.sequence), status);
		int ret = stop ? store_enrolment_end(e->store, en.id, "stopped", status, e->now) : 0;

		enrolment_release(&en);
		if (ret)
			return -1;
		if (!stop)
			break;  /* a sequence that goes on after this outcome (see stop_on) */
	}
	return found < 0 ? -1 : 0;
}

/* --- the tick ---------------------------------------------------------------------------- */

struct tick_state {
	struct engine *e;
	int closed;
};

/* A pending touch whose close time has come: expired, or missed by its next step. */
static int close_overdue(const struct touch *t, void *ctx)
{
	struct tick_state *ts = ctx;
	struct engine *e = ts->e;
	struct enrolment en;
	struct lead lead;
	const struct sequence *seq;
	const char *state = "missed";
	int index;

	if (load_context(e, t->enrolment_id, &en, &lead, &seq))
		return -1;
	if (seq && (index = step_index(seq, t->step)) >= 0 && seq->steps[index].has_expire &&
	    t->due_at + duration_seconds(seq->steps[index].expire) < e->now)
		state = "expired";
	enrolment_release(&en);
	lead_release(&lead);
	if (!seq)
		return 0;       /* an invalid file is never used: the touch waits */
	ts->closed++;
	return engine_close_touch(e, t, state, t->close_at, NULL);
}

/* Follows the file as it is now: the same next step is re-timed in place and takes
 * the step's channel; when the next step is another one (a step added before it), the
 * touch is replaced by one due no sooner than now (SPEC 7: an added step whose offset
 * is past is due at once). The store cannot re-point a touch to another step, hence a
 * new touch id. */
static int retime_pending(struct engine *e, const struct enrolment *en,
			  const struct sequence *seq, const struct lead *lead, const struct touch *t)
{
	const char *zone = engine_zone(e, lead, seq);
	time_t last = store_lead_last_touched(e->store, lead->id);
	const char *channel;
	time_t due;
	int index;

	if (next_step(e, en, seq, &index))
		return -1;
	if (index < 0 || strcmp(seq->steps[index].id, t->step)) {
		if (store_touch_close(e->store, t->id, "cancelled", e->now, "sequence edited"))
			return -1;
		return schedule_next(e, en, seq, lead, (struct timing){ 0, e->now });
	}
	/* The channel is the step's as the file says now: send picks touches by their
	 * channel, and an email step turned into a call must never go out as a blank
	 * email (nor a call turned into an email wait for ever as a call). */
	channel = channel_name(seq->steps[index].channel);
	if (strcmp(t->channel, channel) && store_touch_set_channel(e->store, t->id, channel))
		return -1;
	/* An edit never pulls a touch further into the past than it already is: a step
	 * made due at once by an earlier edit must not fall back to its offset (and
	 * expire) when the file is touched again. */
	due = touch_due(e, seq, (size_t)index, en->anchor_at, last,
			t->due_at < e->now ? t->due_at : e->now, zone);
	return store_touch_reschedule(e->store, t->id, due,
		close_time(e, seq, (size_t)index, due, en->anchor_at, zone));
}

/* An edited sequence file: pending steps whose id is gone are closed as `removed`;
 * otherwise the pending touch is re-timed (or re-pointed) to the file as it is now. */
static int follow_edit(const struct enrolment *en, void *ctx)
{
	struct engine *e = ctx;
	const struct sequence *seq = sequence_set_find(e->sequences, en->sequence);
	struct lead lead;
	struct touch t;
	int found, ret = 0;

	if (!seq || store_lead_get(e->store, en->lead_id, &lead) != 1)
		return 0;
	found = store_touch_pending(e->store, en->id, &t);
	if (found < 0) {
		lead_release(&lead);
		return -1;
	}
	if (found && step_index(seq, t.step) < 0)
		ret = engine_close_touch(e, &t, "removed", e->now, "step removed from the sequence");
	else if (found)
		ret = retime_pending(e, en, seq, &lead, &t);
	if (found)
		touch_release(&t);
	lead_release(&lead);
	return ret;
}

static int follow_edited_sequences(struct engine *e, int *changed)
{
	for (size_t i = 0; i < sequence_set_count(e->sequences); i++) {
		const struct sequence *seq = sequence_set_at(e->sequences, i);
		char *known = NULL;
		int found = store_sequence_version(e->store, seq->name, &known);
		int edited = found == 1 && strcmp(known, seq->hash);

		free(known);
		if (found < 0)
			return -1;
		if (found == 1 && !edited)
			continue;
		if (edited && store_enrolments_active_each(e->store, seq->name, follow_edit, e))
			return -1;
		if (store_sequence_version_set(e->store, seq->name, seq->hash))
			return -1;
		*changed = 1;
	}
	return 0;
}

/* Cheap read-only check first: most runs have nothing to do and take no write lock. */
static int tick_has_work(struct engine *e)
{
	for (size_t i = 0; i < sequence_set_count(e->sequences); i++) {
		const struct sequence *seq = sequence_set_at(e->sequences, i);
		char *known = NULL;
		int found = store_sequence_version(e->store, seq->name, &known);
		int same = found == 1 && !strcmp(known, seq->hash);
		free(known);
		if (!same)
			return 1;
	}
	return store_has_closing(e->store, e->now);
}

int engine_view_begin(struct engine *e, int keep)
{
	if (keep)
		return engine_tick(e);
	if (!e->sequences || !tick_has_work(e))
		return 0;
	/* On the file, the tick's transaction would hold the write lock for as long as the
	 * command runs (a `due` piped into less stops every send). */
	if (store_use_private_copy(e->store))
		return -1;
	return engine_tick(e);
}

int engine_tick(struct engine *e)
{
	struct tick_state ts = { e, 0 };
	int changed = 0, rounds = 0;

	if (!e->sequences || !tick_has_work(e))
		return 0;
	if (store_begin(e->store))
		return -1;
	if (follow_edited_sequences(e, &changed))
		goto fail;
	do {
		ts.closed = 0;
		if (store_touches_closing(e->store, e->now, close_overdue, &ts))
			goto fail;
	} while (ts.closed && ++rounds < TICK_MAX_ROUNDS);
	return store_commit(e->store);
fail:
	store_rollback(e->store);
	return -1;
}
