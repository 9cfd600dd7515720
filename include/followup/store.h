/*
 * store.h - everything followup keeps, behind one interface.
 *
 * The store speaks the product's language (leads, enrolments, touches); the SQL that
 * implements it lives in src/store.c and nowhere else, so that another backend could
 * replace it without touching the commands.
 *
 * Errors: functions return 0 (or a documented positive value) on success and -1 on
 * failure, after printing one "followup: <db path>: <why>" line through error().
 * Strings in the structs below are owned by the struct; *_release() frees them.
 * Times are UTC seconds; 0 means "none".
 */
#ifndef FOLLOWUP_STORE_H
#define FOLLOWUP_STORE_H

#include <stdint.h>
#include <time.h>

struct store;

struct lead {
	int64_t id;
	char *email, *first_name, *last_name, *company, *title, *phone, *country;
	char *timezone, *notes, *rating, *owner, *event, *badge_id;
	char *extra;            /* JSON object of the columns no field claimed, or NULL */
	time_t contact_at;      /* the sequence anchor: scanned_at, else import time */
	char *status;           /* active cold replied converted lost unsubscribed bounced */
	int consent;            /* 0: imported with an opt-out/no-consent column: never enrolled */
	char *token;            /* unsubscribe token */
	time_t created_at, updated_at;
};

struct enrolment {
	int64_t id, lead_id;
	char *sequence, *event, *state, *seq_hash, *end_reason;  /* state: active completed stopped */
	time_t anchor_at, started_at, ended_at;
};

/* Touch states: pending sending sent done skipped expired missed removed cancelled
 * failed in_doubt. A pending email touch with retry_at set waits for that time. */
struct touch {
	int64_t id, enrolment_id, lead_id;
	char *step, *channel, *state;
	time_t due_at;
	time_t close_at;        /* a pending touch is closed (missed/expired) at this time */
	time_t retry_at;
	int attempts;
	char *message_id, *subject, *sender, *note;
	time_t done_at;
};

void lead_release(struct lead *l);
void enrolment_release(struct enrolment *e);
void touch_release(struct touch *t);

/* --- opening ------------------------------------------------------------------ */

enum store_open_flags {
	STORE_CREATE = 1,       /* create the file (0600) and its directory when missing */
};

/* Opens (and migrates forward) the store at path. A store written by a newer
 * followup is refused. */
int store_open(struct store **out, const char *path, int flags);
void store_close(struct store *s);
const char *store_path(const struct store *s);
/* From here on, works on a temporary copy of the store: what it writes is gone when the
 * store closes, and it holds no lock on the file meanwhile (a "what if" view). */
int store_use_private_copy(struct store *s);

/* Write transactions (BEGIN IMMEDIATE: the write lock is taken at once). They nest: a
 * begin/commit pair inside an open transaction joins it and commits with it, so that a
 * step that runs its own transaction (engine_tick) can also be part of a larger one (an
 * import, a dry run). A rollback at any depth rolls back the whole transaction. */
int store_begin(struct store *s);
int store_commit(struct store *s);
/* store_begin() waits 5 s for another command's lock before "database is locked"; this
 * one waits up to milliseconds. */
int store_begin_patiently(struct store *s, int milliseconds);
void store_rollback(struct store *s);   /* safe to call when no transaction is open */

/* --- leads and import ----------------------------------------------------------- */

int store_import_start(struct store *s, const char *file, const char *event, time_t now,
		       int64_t *import_id);
/* Records the counts; forgets the import when it changed nothing. */
int store_import_finish(struct store *s, int64_t import_id, int changed);

enum merge_result { MERGE_NEW, MERGE_UPDATED, MERGE_DUPLICATE };
/* Inserts a lead or merges it into the one with the same email (case-insensitive):
 * empty fields are filled, new notes appended, the earliest contact time kept.
 * *result says which; *lead_id is set; *changed is 1 when the store changed;
 * *earlier is 1 when the merge moved contact_at earlier. */
int store_lead_merge(struct store *s, const struct lead *in, int64_t import_id,
		     enum merge_result *result, int64_t *lead_id, int *changed, int *earlier);
/* Loads a lead by id ("123" or "#123") or email. Returns 1 found, 0 not found. */
int store_lead_find(struct store *s, const char *id_or_email, struct lead *out);
/* Loads the lead whose unsubscribe links carry token. Returns 1 found, 0 not found. */
int store_lead_find_by_token(struct store *s, const char *token, struct lead *out);
int store_lead_get(struct store *s, int64_t id, struct lead *out);
/* Sets a lead's status, unless it is unsubscribed or bounced: those are kept for good. */
int store_lead_set_status(struct store *s, int64_t lead_id, const char *status, time_t now);
/* Whether an address is suppressed (opted out) for ever. */
int store_is_suppressed(struct store *s, const char *email);
/* Whether any address is suppressed at all (1/0). */
int store_has_suppressions(struct store *s);
int store_suppress(struct store *s, const char *email, const char *reason, time_t now);

/* A rep, for narrowing a listing: the names a lead's owner may be stored under (the
 * config key, the display name, the email), matched case-insensitively; NULL where
 * there is none. A NULL struct owner_names pointer matches every lead. */
struct owner_names {
	const char *key, *name, *email;
};

struct lead_filter {
	const char *status, *event;
	const struct owner_names *owner;
};
typedef int (*lead_fn)(const struct lead *l, void *ctx);
/* Calls fn for every lead matching filter, by id; stops early when fn returns non-zero
 * and returns that value. */
int store_leads_each(struct store *s, const struct lead_filter *f, lead_fn fn, void *ctx);
/* Whether any lead belongs to the rep: 1 yes, 0 no, -1 error. */
int store_owner_has_leads(struct store *s, const struct owner_names *owner);

int store_history_add(struct store *s, int64_t lead_id, time_t at, const char *kind,
		      const char *detail);

/* --- enrolments ------------------------------------------------------------------ */

/* Creates an active enrolment; any other active enrolment of the lead is stopped
 * ("superseded") and its pending touches cancelled. */
int store_enrolment_create(struct store *s, const struct enrolment *e, int64_t *id);
/* Inserts an enrolment as is, for a lead known to have none active. */
int store_enrolment_insert(struct store *s, const struct enrolment *e, int64_t *id);
int store_enrolment_get(struct store *s, int64_t id, struct enrolment *out);
/* The lead's active enrolment: 1 found, 0 none. */
int store_enrolment_active(struct store *s, int64_t lead_id, struct enrolment *out);
/* The lead's latest enrolment: the one that began or ended last (an active one counts
 * from its start, an ended one from its end): 1 found, 0 none (never enrolled). */
int store_enrolment_latest(struct store *s, int64_t lead_id, struct enrolment *out);
/* Whether the lead was ever enrolled: 1, 0, -1. */
int store_lead_ever_enrolled(struct store *s, int64_t lead_id);
/* Whether any enrolment of the lead came from event (NULL: none named): 1, 0, -1. */
int store_lead_enrolled_from(struct store *s, int64_t lead_id, const char *event);
/* Whether the lead is known from event (imported from it, enrolled from it, or met there
 * again, history kind `met`): 1, 0, -1. */
int store_lead_met_at(struct store *s, int64_t lead_id, const char *event);
int store_enrolment_set_anchor(struct store *s, int64_t id, time_t anchor);
/* Ends an enrolment (state completed or stopped) and cancels its pending touches. */
int store_enrolment_end(struct store *s, int64_t id, const char *state, const char *reason,
			time_t now);
typedef int (*enrolment_fn)(const struct enrolment *e, void *ctx);
/* Calls fn for each active enrolment in sequence (read first, so fn may write). */
int store_enrolments_active_each(struct store *s, const char *sequence, enrolment_fn fn,
				 void *ctx);
/* The content hash of a sequence file the store last followed: 1 found (hash set, caller
 * frees), 0 never seen. An edited file is noticed by comparing this. */
int store_sequence_version(struct store *s, const char *sequence, char **hash);
int store_sequence_version_set(struct store *s, const char *sequence, const char *hash);

/* --- touches ----------------------------------------------------------------------- */

int store_touch_insert(struct store *s, const struct touch *t, int64_t *id);
int store_touch_get(struct store *s, int64_t id, struct touch *out);
/* The pending touch of an enrolment: 1 found, 0 none. */
int store_touch_pending(struct store *s, int64_t enrolment_id, struct touch *out);
int store_touch_reschedule(struct store *s, int64_t id, time_t due_at, time_t close_at);
/* Gives a pending touch another channel (its step's, after an edit); clears retry_at. */
int store_touch_set_channel(struct store *s, int64_t id, const char *channel);
/* Sets a touch's final state (and done_at, note). */
int store_touch_close(struct store *s, int64_t id, const char *state, time_t at,
		      const char *note);
/* Step ids of the enrolment's touches that are no longer pending, but for those
 * cancelled or closed as `removed`: never made, so a step that comes back into the file
 * is due again. */
int store_enrolment_steps_made(struct store *s, int64_t enrolment_id, char ***steps,
			       size_t *count);
/* Whether the enrolment has made any touch: 1, 0, -1. */
int store_enrolment_made_any(struct store *s, int64_t enrolment_id);
/* When the lead was last touched (a sent email or a done manual touch), 0 if never. */
time_t store_lead_last_touched(struct store *s, int64_t lead_id);
/* The enrolment's most recent sent email: 1 found, 0 none. */
int store_enrolment_last_email(struct store *s, int64_t enrolment_id, struct touch *out);
/* The Message-IDs of the enrolment's emails sent so far (or in doubt), oldest first and
 * space-separated, as a References header lists them: 1 found (caller frees), 0 none. */
int store_enrolment_thread(struct store *s, int64_t enrolment_id, char **references);

typedef int (*touch_fn)(const struct touch *t, void *ctx);
/* Whether any pending touch's close_at has come: 1 yes, 0 no, -1 error. */
int store_has_closing(struct store *s, time_t now);
/* Pending touches whose close_at has come (missed/expired candidates). */
int store_touches_closing(struct store *s, time_t now, touch_fn fn, void *ctx);

/* A touch with its lead and enrolment, as `due`, `send` and `preview` need them. */
struct due_item {
	struct touch touch;
	struct lead lead;
	struct enrolment enrolment;
};
void due_item_release(struct due_item *d);
struct due_filter {
	time_t until;           /* touches due at or before this time */
	const struct owner_names *owner;
	const char *channel;
	int email_sendable;     /* only email touches whose retry time has come (for send) */
	time_t now;             /* with email_sendable */
	int with_in_doubt;      /* also list in_doubt touches */
};
typedef int (*due_fn)(const struct due_item *d, void *ctx);
/* Pending touches due by f->until, oldest first, through the due index. The item's
 * strings are the store's own and live only until fn returns: copy what you keep.
 * It carries only what a listing needs: the whole lead; the touch without message_id,
 * subject, sender, note, attempts, close_at and done_at; of the enrolment only id,
 * lead_id, sequence, event and anchor_at. store_due_item() reads everything. */
int store_due_each(struct store *s, const struct due_filter *f, due_fn fn, void *ctx);
int store_due_item(struct store *s, int64_t touch_id, struct due_item *out);

/* --- reading back ------------------------------------------------------------------- */

/* One event in a lead's life, for `show`. */
struct timeline_entry {
	time_t at;
	const char *kind;       /* imported enrolled touch completed stopped updated replied ... */
	const char *title;      /* file, sequence, or "step (channel)" */
	const char *detail;     /* event, state and note, or reason; may be NULL */
	const char *message_id; /* sent touches */
	int64_t ref;            /* touch or enrolment id, 0 when none */
};
typedef int (*timeline_fn)(const struct timeline_entry *e, void *ctx);
/* A lead's whole timeline in the order things happened (or will): each touch after the
 * one before it and after its enrolment began, though its own time (e->at) may be
 * earlier, as a step that fell due while the previous one was still open is. At one
 * instant, the cause (an outcome) comes before what it cancels and ends. */
int store_timeline_each(struct store *s, int64_t lead_id, timeline_fn fn, void *ctx);

/* One row of `export`: a lead and where it stands. */
struct export_row {
	const struct lead *lead;
	const char *sequence;   /* the active (else latest) enrolment's sequence, or NULL */
	const char *step;       /* the last step made, or NULL */
	time_t last_touch, next_due;
};
typedef int (*export_fn)(const struct export_row *r, void *ctx);
int store_export_each(struct store *s, export_fn fn, void *ctx);
/* The leads' extra columns, each once, in the order they first appear (by lead, then
 * column): a CSV export's last columns. The caller frees each and the array. */
int store_extra_keys(struct store *s, char ***keys, size_t *count);

/* The numbers of `pipeline` (SPEC section 9), for leads matching event and owner. */
struct pipeline_step {
	char *sequence, *step;
	long made, replies;     /* replies after this touch and before the next one */
};
struct pipeline_owner {
	char *owner;            /* NULL: leads without an owner */
	long missed;            /* calls and tasks closed undone: missed or expired */
};
struct pipeline {
	long leads, by_status[7];       /* in the order of pipeline_statuses[] */
	long due_now, overdue, in_doubt;
	long enrolled, touched, never_touched, within_24h, within_48h;
	double median_hours;            /* contact to first touch; < 0 when none */
	struct pipeline_step *steps;
	size_t nsteps;
	struct pipeline_owner *missed;
	size_t nmissed;
};
extern const char *const pipeline_statuses[7];
int store_pipeline(struct store *s, const char *event, const struct owner_names *owner,
		   time_t now, time_t today, struct pipeline *out);
void pipeline_release(struct pipeline *p);

/* --- sending ----------------------------------------------------------------------- */

/* One sender at a time: takes the store's sender lock (flock on <store>.send-lock beside
 * the file opened, its path's symlinks resolved, so one lock however the store is
 * named), held until store_close() (or the process dies, so a killed run never blocks
 * the next). 1 taken, 0 another run holds it. */
int store_lock_sender(struct store *s);
void store_unlock_sender(struct store *s);
/* Touches left `sending` by a run that died become `in_doubt`; returns how many. */
int store_sending_to_in_doubt(struct store *s, time_t now);
/* The same, from any command, when no send runs (its lock is free): a run killed mid-
 * transfer would otherwise leave its touch `sending`, unlisted and unresolvable, until
 * the next send. Best effort: a store another command is writing is left for later. */
int store_settle_dead_sends(struct store *s, time_t now);
/* Claims a pending touch for sending (commits `sending` with its Message-ID): 1 claimed,
 * 0 no longer claimable (state changed, lead stopped). Runs its own transaction. */
int store_touch_claim(struct store *s, int64_t id, const char *message_id,
		      const char *subject, const char *sender, time_t now);
/* Undoes a claim whose transfer never started (the server could not be reached). */
int store_touch_unclaim(struct store *s, int64_t id);
/* A touch being sent (or in doubt) is pending again from retry_at; a touch settled
 * meanwhile (a reply marked during the run) is left alone. */
int store_touch_retry_later(struct store *s, int64_t id, time_t retry_at, const char *why);
/* Gives a pending touch back the attempt its last retry used (a failure that was the
 * server's, not the recipient's). */
int store_touch_forgive_attempt(struct store *s, int64_t id);
/* Emails sent from sender since a time (for the rolling per-day limit). A claim keeps
 * the sender lower-cased: Dana@ and dana@ are one mailbox and share its limit. */
int store_sent_since(struct store *s, const char *sender, time_t since, long *count);
/* Touches in an unsettled state (sending or in_doubt), through their small index. */
int store_count_state(struct store *s, const char *state, long *count);

#endif
