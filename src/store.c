/*
 * store.c - the SQLite backend of store.h. All of followup's SQL lives here.
 *
 * Durability: the store runs in WAL mode with synchronous=NORMAL. A commit survives a
 * process kill (it is in the WAL, in the OS page cache), so a claim committed before a
 * transfer is never lost to a crash of followup; a power loss may lose the last commits
 * (see the README on what that can cost).
 */
#include "followup/store.h"
#include "followup/names.h"
#include "followup/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <wchar.h>
#include <wctype.h>

#define SCHEMA_VERSION 4
/* The statuses that are never emailed again, as status_never_emails() (engine.c) says. */
#define NEVER_EMAILED "'unsubscribed', 'bounced'"
#define BUSY_TIMEOUT_MS 5000
#define STRINGIFY(x) STRINGIFY_(x)
#define STRINGIFY_(x) #x

/* Every statement is prepared once per open store and reused. */
enum stmt_id {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
	ST_IMPORT_START, ST_IMPORT_FINISH, ST_IMPORT_FORGET,
	ST_LEAD_BY_EMAIL, ST_LEAD_INSERT, ST_LEAD_MERGE, ST_LEAD_MARK_IMPORT, ST_LEAD_GET,
	ST_LEAD_SET_STATUS, ST_SUPPRESSED, ST_HAS_SUPPRESSIONS, ST_SUPPRESS, ST_HISTORY_ADD,
	ST_ENROL_INSERT, ST_ENROL_SUPERSEDE, ST_ENROL_GET, ST_ENROL_ACTIVE, ST_ENROL_LATEST,
	ST_ENROL_FROM_EVENT, ST_MET_AT, ST_ENROL_ANY, ST_ENROL_ANCHOR,
	ST_ENROL_END, ST_ENROL_CANCEL_PENDING, ST_ENROL_ACTIVE_OF, ST_SEQ_VERSION,
	ST_SEQ_VERSION_SET,
	ST_TOUCH_INSERT, ST_TOUCH_GET, ST_TOUCH_SET_CHANNEL, ST_TOUCH_PENDING, ST_TOUCH_RESCHEDULE, ST_TOUCH_CLOSE,
	ST_STEPS_MADE, ST_MADE_ANY, ST_LAST_TOUCHED, ST_LAST_EMAIL, ST_THREAD, ST_CLOSING, ST_HAS_CLOSING,
	ST_DUE_ITEM, ST_EXTRA_KEYS, ST_SENDING_TO_DOUBT, ST_CLAIM, ST_UNCLAIM, ST_RETRY, ST_FORGIVE, ST_SENT_SINCE, ST_COUNT_STATE,
	ST_COUNT
};

struct store {
	sqlite3 *db;
	char *path;
	char *real_path;        /* of the file opened, symlinks resolved: the sender lock's */
	int depth;              /* of store_begin() calls not yet committed */
	int64_t first_import;   /* of the open transaction; 0 before its first import */
	int sender_lock_fd;
	sqlite3_stmt *stmts[ST_COUNT];
};

static const char *const schema_v1 =
	"CREATE TABLE leads("
	" id INTEGER PRIMARY KEY,"
	" email TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	" first_name TEXT, last_name TEXT, company TEXT, title TEXT, phone TEXT,"
	" country TEXT, timezone TEXT, notes TEXT, rating TEXT, owner TEXT, event TEXT,"
	" badge_id TEXT, extra TEXT,"
	" contact_at INTEGER NOT NULL,"
	" status TEXT NOT NULL DEFAULT 'active',"
	" consent INTEGER NOT NULL DEFAULT 1,"
	" token TEXT NOT NULL,"
	" import_id INTEGER,"            /* the import that created this lead */
	" created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
	"CREATE TABLE suppressions("
	" email TEXT PRIMARY KEY COLLATE NOCASE, reason TEXT NOT NULL, at INTEGER NOT NULL);"
	"CREATE TABLE imports("
	" id INTEGER PRIMARY KEY, file TEXT NOT NULL, event TEXT, at INTEGER NOT NULL);"
	"CREATE TABLE history("
	" id INTEGER PRIMARY KEY, lead_id INTEGER NOT NULL, at INTEGER NOT NULL,"
	" kind TEXT NOT NULL, detail TEXT);"
	"CREATE INDEX history_lead ON history(lead_id, at);"
	"CREATE TABLE enrolments("
	" id INTEGER PRIMARY KEY, lead_id INTEGER NOT NULL, sequence TEXT NOT NULL,"
	" event TEXT, state TEXT NOT NULL DEFAULT 'active', seq_hash TEXT,"
	" anchor_at INTEGER NOT NULL, started_at INTEGER NOT NULL,"
	" ended_at INTEGER, end_reason TEXT);"
	"CREATE INDEX enrolments_lead ON enrolments(lead_id, state);"
	"CREATE INDEX enrolments_active ON enrolments(sequence) WHERE state = 'active';"
	"CREATE TABLE sequence_versions(name TEXT PRIMARY KEY, hash TEXT NOT NULL);"
	"CREATE TABLE touches("
	" id INTEGER PRIMARY KEY, enrolment_id INTEGER NOT NULL, lead_id INTEGER NOT NULL,"
	" step TEXT NOT NULL, channel TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending',"
	" due_at INTEGER NOT NULL, close_at INTEGER, retry_at INTEGER,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" message_id TEXT, subject TEXT, sender TEXT, note TEXT, done_at INTEGER);"
	"CREATE INDEX touches_due ON touches(due_at) WHERE state = 'pending';"
	"CREATE INDEX touches_closing ON touches(close_at)"
	" WHERE state = 'pending' AND close_at IS NOT NULL;"
	"CREATE INDEX touches_enrolment ON touches(enrolment_id, state);"
	"CREATE INDEX touches_lead ON touches(lead_id, done_at);"
	"CREATE INDEX touches_unsettled ON touches(state) WHERE state IN ('sending', 'in_doubt');"
	"CREATE INDEX touches_sent_by ON touches(sender, done_at) WHERE sender IS NOT NULL;";

/* SQLite opened the store read-only. Every command writes (even `due` closes touches as
 * time passes), so it is said at once: whose the fix is depends on why. */
static void report_read_only(const char *path)
{
	struct statvfs vfs;

	if (!statvfs(path, &vfs) && (vfs.f_flag & ST_RDONLY))
		error("%s: the store is on a read-only file system, and every command writes it"
		      " (even `due` closes touches as time passes): mount it read-write, or copy"
		      " the store elsewhere and use --db", path);
	else
		error("%s: the store is read-only to you, and every command writes it (even"
		      " `due` closes touches as time passes): run followup as the store's owner",
		      path);
}

/* Whether the directory that holds path can take new files (the -wal and -shm). */
static int directory_writable(const char *path)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int ok;

	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	ok = !access(slash ? dir : ".", W_OK);
	free(dir);
	return ok;
}

static int db_error(struct store *s, const char *what)
{
	int code = sqlite3_extended_errcode(s->db), sys = sqlite3_system_errno(s->db);

	if ((code & 0xff) == SQLITE_BUSY)
		return error("%s: %s: %s: another followup command is writing to it (an import,"
			     " a send, or any command catching up on touches to close); try"
			     " again when it is done", s->path, what, sqlite3_errmsg(s->db));
	if (((code & 0xff) == SQLITE_CANTOPEN || (code & 0xff) == SQLITE_READONLY) &&
	    !directory_writable(s->path))
		return error("%s: %s: its directory is read-only, and followup writes its -wal"
			     " and -shm files beside the store", s->path, what);
	/* "disk I/O error" alone does not say what to do about it, nor "unable to open
	 * database file" of a store that is there (too many open files, for its -shm). */
	if (((code & 0xff) == SQLITE_IOERR || (code & 0xff) == SQLITE_CANTOPEN) && sys)
		return error("%s: %s: %s (%s)", s->path, what, sqlite3_errmsg(s->db), strerror(sys));
	if (code == SQLITE_IOERR_WRITE || code == SQLITE_IOERR_FSYNC || code == SQLITE_FULL ||
	    code == SQLITE_IOERR_SHMSIZE || code == SQLITE_IOERR_TRUNCATE)
		return error("%s: %s: %s (writing failed: is the disk full?)", s->path, what,
			     sqlite3_errmsg(s->db));
	return error("%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

static sqlite3_stmt *stmt(struct store *s, enum stmt_id id, const char *sql)
{
	if (!s->stmts[id] &&
	    sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[id], NULL)) {
		db_error(s, "cannot prepare statement");
		return NULL;
	}
	return s->stmts[id];
}

/* Emails compare without case (the NOCASE collation), but NOCASE folds only A-Z: the
 * other letters are lowercased here before an address is stored or looked up, so that
 * "JOSÉ@École.example" is the lead (and the opt-out) "josé@école.example" is. Caller
 * frees. */
static char *fold_non_ascii_case(const char *email)
{
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0), old;
	struct strbuf out = STRBUF_INIT;
	mbstate_t in_state = { 0 }, out_state = { 0 };
	size_t len = strlen(email), n;

	if (!utf8)
		return xstrdup(email);
	old = uselocale(utf8);
	for (const char *p = email; len; p += n, len -= n) {
		char bytes[MB_LEN_MAX];
		wchar_t wc;
		size_t m;

		n = mbrtowc(&wc, p, len, &in_state);
		if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {     /* not UTF-8: as is */
			strbuf_addstr(&out, p);
			break;
		}
		m = (unsigned char)*p < 0x80 ? (size_t)-1 : wcrtomb(bytes, towlower(wc), &out_state);
		if (m == (size_t)-1)
			strbuf_add(&out, p, n);
		else
			strbuf_add(&out, bytes, m);
	}
	uselocale(old);
	freelocale(utf8);
	return strbuf_detach(&out);
}

/* Binds an email as the store keys it (see fold_non_ascii_case); ASCII, nearly every
 * address, as it is. */
static void bind_email(sqlite3_stmt *st, int i, const char *email)
{
	const unsigned char *p = (const unsigned char *)email;
	char *folded;

	while (*p && *p < 0x80)
		p++;
	if (!*p) {
		sqlite3_bind_text(st, i, email, -1, SQLITE_STATIC);
		return;
	}
	folded = fold_non_ascii_case(email);
	sqlite3_bind_text(st, i, folded, -1, SQLITE_TRANSIENT);
	free(folded);
}

/* Binds a string, or NULL for a NULL/empty one. */
static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (str_empty(v))
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* A lead is from an event that imported it, that it was enrolled from later or that met
 * it again (history `met`): ?i, NULL for any. */
#define FROM_EVENT(l, i) \
	" (?" i " IS NULL OR " l ".event = ?" i " COLLATE NOCASE OR EXISTS (SELECT 1" \
	"  FROM enrolments fe WHERE fe.lead_id = " l ".id AND fe.event = ?" i " COLLATE NOCASE)" \
	"  OR EXISTS (SELECT 1 FROM history fh WHERE fh.lead_id = " l ".id AND fh.kind = 'met'" \
	"  AND fh.detail = ?" i " COLLATE NOCASE))"

/* A filter on a rep (struct owner_names): parameter i holds the key, ?20 and ?21 the
 * display name and email, so that a lead stored under any of them matches, however it
 * is spelt ("Becker, Anna", two spaces: the followup_name collation). */
#define OWNER_IS(l, i) \
	" (?" i " IS NULL OR " l ".owner = ?" i " COLLATE followup_name" \
	" OR " l ".owner = ?20 COLLATE followup_name OR " l ".owner = ?21 COLLATE followup_name)"

static void bind_owner(sqlite3_stmt *st, int i, const struct owner_names *owner)
{
	bind_text(st, i, owner ? owner->key : NULL);
	bind_text(st, 20, owner ? owner->name : NULL);
	bind_text(st, 21, owner ? owner->email : NULL);
}

static void bind_time(sqlite3_stmt *st, int i, time_t t)
{
	if (t)
		sqlite3_bind_int64(st, i, (sqlite3_int64)t);
	else
		sqlite3_bind_null(st, i);
}

static char *column_text(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);
	return v ? xstrdup((const char *)v) : NULL;
}

/* The text in SQLite's own memory, valid until the statement steps on: for rows that a
 * callback sees and lets go (store_due_each), which then need no copy and no free. */
static char *column_borrowed(sqlite3_stmt *st, int i)
{
	return (char *)sqlite3_column_text(st, i);
}

typedef char *(*text_reader)(sqlite3_stmt *st, int i);

static time_t column_time(sqlite3_stmt *st, int i)
{
	return (time_t)sqlite3_column_int64(st, i);
}

/* Runs a statement that returns no rows; resets it. */
static int run(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc;

	if (!st)
		return -1;
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		db_error(s, what);      /* before the reset, which forgets the system error */
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

/* Steps a statement expected to return at most one row: 1 row, 0 none, -1 error.
 * The caller reads the row, then calls finish(). */
static int step_row(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc;

	if (!st)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : db_error(s, what);
}

static void finish(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Whether a query of SELECT 1 has a row: 1, 0, or -1 after reporting what failed. */
static int has_row(struct store *s, sqlite3_stmt *st, const char *what)
{
	int found = step_row(s, st, what);

	if (found == 1)
		finish(st);
	return found;
}

/* --- structs ------------------------------------------------------------------------ */

void lead_release(struct lead *l)
{
	if (!l)
		return;
	free(l->email); free(l->first_name); free(l->last_name); free(l->company);
	free(l->title); free(l->phone); free(l->country); free(l->timezone); free(l->notes);
	free(l->rating); free(l->owner); free(l->event); free(l->badge_id); free(l->extra);
	free(l->status); free(l->token);
	memset(l, 0, sizeof(*l));
}

void enrolment_release(struct enrolment *e)
{
	if (!e)
		return;
	free(e->sequence); free(e->event); free(e->state); free(e->seq_hash); free(e->end_reason);
	memset(e, 0, sizeof(*e));
}

void touch_release(struct touch *t)
{
	if (!t)
		return;
	free(t->step); free(t->channel); free(t->state); free(t->message_id); free(t->subject);
	free(t->sender); free(t->note);
	memset(t, 0, sizeof(*t));
}

void due_item_release(struct due_item *d)
{
	if (!d)
		return;
	touch_release(&d->touch);
	lead_release(&d->lead);
	enrolment_release(&d->enrolment);
}

#define LEAD_COLUMNS \
	"l.id, l.email, l.first_name, l.last_name, l.company, l.title, l.phone, l.country," \
	" l.timezone, l.notes, l.rating, l.owner, l.event, l.badge_id, l.extra, l.contact_at," \
	" l.status, l.consent, l.token, l.created_at, l.updated_at"
#define LEAD_NCOLUMNS 21

static int read_lead(sqlite3_stmt *st, text_reader text, int c, struct lead *l)
{
	memset(l, 0, sizeof(*l));
	l->id = sqlite3_column_int64(st, c++);
	l->email = text(st, c++);
	l->first_name = text(st, c++);
	l->last_name = text(st, c++);
	l->company = text(st, c++);
	l->title = text(st, c++);
	l->phone = text(st, c++);
	l->country = text(st, c++);
	l->timezone = text(st, c++);
	l->notes = text(st, c++);
	l->rating = text(st, c++);
	l->owner = text(st, c++);
	l->event = text(st, c++);
	l->badge_id = text(st, c++);
	l->extra = text(st, c++);
	l->contact_at = column_time(st, c++);
	l->status = text(st, c++);
	l->consent = sqlite3_column_int(st, c++);
	l->token = text(st, c++);
	l->created_at = column_time(st, c++);
	l->updated_at = column_time(st, c++);
	return c;
}

#define ENROLMENT_COLUMNS \
	"e.id, e.lead_id, e.sequence, e.event, e.state, e.seq_hash, e.end_reason," \
	" e.anchor_at, e.started_at, e.ended_at"

static int read_enrolment(sqlite3_stmt *st, text_reader text, int c, struct enrolment *e)
{
	memset(e, 0, sizeof(*e));
	e->id = sqlite3_column_int64(st, c++);
	e->lead_id = sqlite3_column_int64(st, c++);
	e->sequence = text(st, c++);
	e->event = text(st, c++);
	e->state = text(st, c++);
	e->seq_hash = text(st, c++);
	e->end_reason = text(st, c++);
	e->anchor_at = column_time(st, c++);
	e->started_at = column_time(st, c++);
	e->ended_at = column_time(st, c++);
	return c;
}

#define TOUCH_COLUMNS \
	"t.id, t.enrolment_id, t.lead_id, t.step, t.channel, t.state, t.due_at, t.close_at," \
	" t.retry_at, t.attempts, t.message_id, t.subject, t.sender, t.note, t.done_at"

static int read_touch(sqlite3_stmt *st, text_reader text, int c, struct touch *t)
{
	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(st, c++);
	t->enrolment_id = sqlite3_column_int64(st, c++);
	t->lead_id = sqlite3_column_int64(st, c++);
	t->step = text(st, c++);
	t->channel = text(st, c++);
	t->state = text(st, c++);
	t->due_at = column_time(st, c++);
	t->close_at = column_time(st, c++);
	t->retry_at = column_time(st, c++);
	t->attempts = sqlite3_column_int(st, c++);
	t->message_id = text(st, c++);
	t->subject = text(st, c++);
	t->sender = text(st, c++);
	t->note = text(st, c++);
	t->done_at = column_time(st, c++);
	return c;
}

/* --- opening ------------------------------------------------------------------------ */

static int make_parent_dir(const char *path)
{
	char *dir = xstrdup(path), *slash;
	int ret = 0;

	for (slash = strchr(dir + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST) {
			ret = error("cannot create directory '%s': %s", dir, strerror(errno));
			break;
		}
		*slash = '/';
	}
	free(dir);
	return ret;
}

/* Creates the file 0600 before SQLite does, so it never exists with looser rights. */
static int create_private_file(const char *path)
{
	int fd;

	if (make_parent_dir(path))
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return error("cannot create '%s': %s", path, strerror(errno));
	close(fd);
	return 0;
}

static int exec(struct store *s, const char *sql, const char *what)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_error(s, what);
	return 0;
}

static int read_user_version(struct store *s, int *version)
{
	sqlite3_stmt *st = NULL;
	int ret = -1;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*version = sqlite3_column_int(st, 0);
		ret = 0;
	} else {
		db_error(s, "cannot read the schema version");
	}
	sqlite3_finalize(st);
	return ret;
}

static void fold_email_function(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char *email = sqlite3_value_text(argv[0]);

	(void)argc;
	if (email)
		sqlite3_result_text(ctx, fold_non_ascii_case((const char *)email), -1, free);
	else
		sqlite3_result_null(ctx);
}

/* Schema 2 keys emails with their letters beyond A-Z lowercased (bind_email): the ones
 * stored before are folded so that lookups find them. Two spellings of one address that
 * were two leads stay two (OR IGNORE): the later one keeps its spelling. */
static int fold_stored_emails(struct store *s)
{
	if (sqlite3_create_function(s->db, "followup_fold_email", 1, SQLITE_UTF8, NULL,
				    fold_email_function, NULL, NULL) != SQLITE_OK)
		return db_error(s, "cannot migrate the store");
	return exec(s, "UPDATE OR IGNORE leads SET email = followup_fold_email(email)"
		       " WHERE email GLOB '*[^ -~]*';"
		       " UPDATE OR IGNORE suppressions SET email = followup_fold_email(email)"
		       " WHERE email GLOB '*[^ -~]*'", "cannot migrate the store");
}

/* Schema 3: the due index holds what the listing reads of a touch, so that listing
 * 10,000 due touches reads no touch row (a third of its B-tree lookups). The id comes
 * second, before the other columns (an index ends with the rowid, but here that would
 * be after them): ties in due_at still come in touch order, as send takes them, unsorted. */
static const char *const schema_v3_due_index =
	"DROP INDEX IF EXISTS touches_due;"
	"CREATE INDEX touches_due ON touches(due_at, id, lead_id, enrolment_id, step, channel,"
	" state, retry_at) WHERE state = 'pending';";

/* Schema 4 mends what earlier versions stored: a claim's sender as the config spelt it
 * (per_day now counts one mailbox by its lower-case spelling, and would not count those),
 * and touches made pending again after their sequence had stopped (a `mark lost` while
 * the touch was being sent), which are cancelled as of that stop. */
static const char *const schema_v4_mends =
	"UPDATE touches SET sender = lower(sender) WHERE sender <> lower(sender);"
	"UPDATE touches SET state = 'cancelled', done_at = e.ended_at FROM enrolments e"
	" WHERE e.id = touches.enrolment_id AND e.state <> 'active'"
	" AND touches.state = 'pending';";

/* The store's schema version; a store of a newer followup is refused. */
static int schema_version(struct store *s, int *version)
{
	if (read_user_version(s, version))
		return -1;
	if (*version > SCHEMA_VERSION)
		return error("%s: written by a newer followup (schema %d, this one knows %d)",
			     s->path, *version, SCHEMA_VERSION);
	return 0;
}

/* Brings the schema up to SCHEMA_VERSION in one transaction. */
static int migrate(struct store *s)
{
	int version;

	if (schema_version(s, &version))
		return -1;
	if (version == SCHEMA_VERSION)
		return 0;
	if (exec(s, "BEGIN IMMEDIATE", "cannot start the migration"))
		return -1;
	if (read_user_version(s, &version))
		goto fail;
	if (version < 1 && exec(s, schema_v1, "cannot create the schema"))
		goto fail;
	if (version < 2 && fold_stored_emails(s))
		goto fail;
	if (version < 3 && exec(s, schema_v3_due_index, "cannot migrate the store"))
		goto fail;
	if (version < 4 && exec(s, schema_v4_mends, "cannot migrate the store"))
		goto fail;
	if (exec(s, "PRAGMA user_version = " STRINGIFY(SCHEMA_VERSION),
		 "cannot record the schema version") ||
	    exec(s, "COMMIT", "cannot commit the migration"))
		goto fail;
	return 0;
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* Whether the file opened is a store, or may become one: a file without any schema
 * yet, when the command creates stores. Another program's database named by a typo in
 * --db is refused before anything (WAL mode, the schema) is written to it. */
static int check_is_store(struct store *s, int may_create)
{
	sqlite3_stmt *st = NULL;
	int version, tables = -1, ours = 0;

	if (read_user_version(s, &version))
		return -1;
	/* Tables, and whether followup's are among them (every schema has had these). */
	if (sqlite3_prepare_v2(s->db, "SELECT count(*), count(*) FILTER (WHERE name IN"
			       " ('leads', 'enrolments', 'touches')) FROM sqlite_schema"
			       " WHERE type = 'table'", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		tables = sqlite3_column_int(st, 0);
		ours = sqlite3_column_int(st, 1);
	}
	sqlite3_finalize(st);
	if (tables < 0)
		return db_error(s, "cannot read the store");
	if (version > 0 ? ours < 3 : tables > 0)
		return error("%s: not a followup store (an SQLite database of something else):"
			     " name the store with --db or FOLLOWUP_DB", s->path);
	if (version > 0)
		return 0;
	if (!may_create)
		return error("%s: no store here, only an empty file (run 'followup init' first)",
			     s->path);
	if (chmod(s->path, 0600))       /* it holds people's addresses from now on */
		return error("%s: %s", s->path, strerror(errno));
	return 0;
}

/* SQLite counts every allocation under a global mutex unless told not to (6% of an
 * import's instructions); followup never reads the counts. This must come before SQLite
 * initializes, at the first open; SQLite refuses it, harmlessly, after. */
static void skip_memory_statistics(void)
{
	static int done;

	if (!done)
		sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	done = 1;
}

static int collate_names(void *unused, int alen, const void *a, int blen, const void *b)
{
	(void)unused;
	return name_cmp(a, (size_t)alen, b, (size_t)blen);
}

/* Owners compare as names.h reads a name, in SQL as in C (OWNER_IS). */
static int add_collations(struct store *s)
{
	if (sqlite3_create_collation(s->db, "followup_name", SQLITE_UTF8, NULL,
				     collate_names) != SQLITE_OK)
		return db_error(s, "cannot set up the store");
	return 0;
}

int store_open(struct store **out, const char *path, int flags)
{
	struct store *s = xcalloc(1, sizeof(*s));
	struct stat st;

	*out = NULL;
	s->path = xstrdup(path);
	s->sender_lock_fd = -1;
	if (stat(path, &st) == 0) {
		/* FOLLOWUP_DB=/dev/null: SQLite would read a device as an empty database. */
		if (!S_ISREG(st.st_mode)) {
			error("%s: is %s, not a store", path,
			      S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
			goto fail;
		}
	} else if (errno == ENOENT) {
		if (!(flags & STORE_CREATE)) {
			error("%s: no store here (run 'followup init' first)", path);
			goto fail;
		}
		if (create_private_file(path))
			goto fail;
	}
	skip_memory_statistics();
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		db_error(s, "cannot open the store");
		goto fail;
	}
	/* The sender lock is beside the file, not the path: one lock however the store is
	 * named (SQLite follows symlinks to its -wal too). Resolved here, where the file
	 * exists (init has just made it), and kept while a dry run works on a private copy. */
	s->real_path = realpath(path, NULL);
	if (!s->real_path) {
		error("%s: cannot resolve the store's path: %s", path, strerror(errno));
		goto fail;
	}
	/* SQLite opens a file it may not write read-only, and fails at the first write: a
	 * `due` works until the day a touch is to be closed. Said at once, and before the
	 * first read, which would leave -wal and -shm files of this user's beside the store
	 * that lock its owner out. */
	if (sqlite3_db_readonly(s->db, "main") == 1) {
		report_read_only(path);
		goto fail;
	}
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(s->db, 1);
	if (add_collations(s) || check_is_store(s, flags & STORE_CREATE))
		goto fail;
	if (exec(s, "PRAGMA journal_mode = WAL", "cannot switch to WAL mode"))
		goto fail;
	if (exec(s, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF;"
		    " PRAGMA cache_size = -32000; PRAGMA mmap_size = 2147418112",
		 "cannot configure the store"))
		goto fail;
	if (migrate(s))
		goto fail;
	*out = s;
	return 0;
fail:
	store_close(s);
	return -1;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->stmts[i]);
	if (s->db)
		sqlite3_close(s->db);
	if (s->sender_lock_fd >= 0)
		close(s->sender_lock_fd);
	free(s->path);
	free(s->real_path);
	free(s);
}

int store_use_private_copy(struct store *s)
{
	sqlite3 *copy = NULL;
	sqlite3_backup *backup;
	int rc;

	if (s->depth)
		return error("%s: internal error: a copy inside a transaction", s->path);
	/* "": a private temporary file, deleted when closed, of which SQLite keeps in
	 * memory only its page cache (a copy in :memory: doubled the command's memory). */
	if (sqlite3_open_v2("", &copy, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		sqlite3_close(copy);
		return error("%s: cannot make a temporary copy of the store", s->path);
	}
	backup = sqlite3_backup_init(copy, "main", s->db, "main");
	rc = backup ? sqlite3_backup_step(backup, -1) : sqlite3_errcode(copy);
	sqlite3_backup_finish(backup);
	if (rc != SQLITE_DONE) {
		int ret = rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? db_error(s, "cannot copy the store")
			: error("%s: cannot copy the store: %s", s->path, sqlite3_errstr(rc));
		sqlite3_close(copy);
		return ret;
	}
	for (int i = 0; i < ST_COUNT; i++) {    /* they belong to the file's connection */
		sqlite3_finalize(s->stmts[i]);
		s->stmts[i] = NULL;
	}
	sqlite3_close(s->db);
	s->db = copy;
	sqlite3_extended_result_codes(s->db, 1);
	return add_collations(s);
}

const char *store_path(const struct store *s)
{
	return s->path;
}

int store_begin_patiently(struct store *s, int milliseconds)
{
	int ret;

	sqlite3_busy_timeout(s->db, milliseconds);
	ret = store_begin(s);
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	return ret;
}

int store_begin(struct store *s)
{
	if (s->depth > 0) {     /* joins the transaction already open */
		s->depth++;
		return 0;
	}
	if (run(s, stmt(s, ST_BEGIN, "BEGIN IMMEDIATE"), "cannot start a transaction"))
		return -1;
	s->depth = 1;
	s->first_import = 0;
	return 0;
}

int store_commit(struct store *s)
{
	if (s->depth == 0)      /* rolled back inside, where the failure was reported */
		return -1;
	if (s->depth > 1) {
		s->depth--;
		return 0;
	}
	if (run(s, stmt(s, ST_COMMIT, "COMMIT"), "cannot commit")) {
		store_rollback(s);
		return -1;
	}
	s->depth = 0;
	return 0;
}

void store_rollback(struct store *s)
{
	if (!s || !s->db)
		return;
	s->depth = 0;
	if (sqlite3_get_autocommit(s->db))
		return;
	sqlite3_stmt *st = stmt(s, ST_ROLLBACK, "ROLLBACK");
	if (st) {
		sqlite3_step(st);
		sqlite3_reset(st);
	}
}

/* --- leads and import ---------------------------------------------------------------- */

/* The files of one `followup import` are one transaction, and a lead in two of them is
 * a duplicate like a lead twice in one file: what was seen is kept per transaction. */
int store_import_start(struct store *s, const char *file, const char *event, time_t now,
		       int64_t *import_id)
{
	int first_of_transaction = s->depth == 0 || !s->first_import;
	sqlite3_stmt *st;

	if (first_of_transaction &&
	    exec(s, "CREATE TEMP TABLE IF NOT EXISTS import_seen(lead_id INTEGER PRIMARY KEY);"
		    " DELETE FROM temp.import_seen", "cannot start the import"))
		return -1;
	st = stmt(s, ST_IMPORT_START, "INSERT INTO imports(file, event, at) VALUES (?, ?, ?)");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, file, -1, SQLITE_STATIC);
	bind_text(st, 2, event);
	sqlite3_bind_int64(st, 3, now);
	if (run(s, st, "cannot record the import"))
		return -1;
	*import_id = sqlite3_last_insert_rowid(s->db);
	if (first_of_transaction)
		s->first_import = *import_id;
	return 0;
}

int store_import_finish(struct store *s, int64_t import_id, int changed)
{
	sqlite3_stmt *st;

	if (changed)
		return 0;
	/* An import that changed nothing leaves no trace: importing twice is a no-op. */
	st = stmt(s, ST_IMPORT_FORGET, "DELETE FROM imports WHERE id = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, import_id);
	if (run(s, st, "cannot record the import"))
		return -1;
	return 0;
}

static int bind_lead_fields(sqlite3_stmt *st, const struct lead *in)
{
	int i = 1;

	bind_text(st, i++, in->first_name);
	bind_text(st, i++, in->last_name);
	bind_text(st, i++, in->company);
	bind_text(st, i++, in->title);
	bind_text(st, i++, in->phone);
	bind_text(st, i++, in->country);
	bind_text(st, i++, in->timezone);
	bind_text(st, i++, in->notes);
	bind_text(st, i++, in->rating);
	bind_text(st, i++, in->owner);
	bind_text(st, i++, in->event);
	bind_text(st, i++, in->badge_id);
	bind_text(st, i++, in->extra);
	sqlite3_bind_int64(st, i++, in->contact_at);
	return i;
}

static int lead_insert(struct store *s, const struct lead *in, int64_t import_id, int64_t *id)
{
	sqlite3_stmt *st = stmt(s, ST_LEAD_INSERT,
		"INSERT INTO leads(first_name, last_name, company, title, phone, country,"
		" timezone, notes, rating, owner, event, badge_id, extra, contact_at,"
		" email, status, consent, token, import_id, created_at, updated_at)"
		" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?, ?,?,?, lower(hex(randomblob(12))), ?,?,?)");
	int i;

	if (!st)
		return -1;
	i = bind_lead_fields(st, in);
	bind_email(st, i++, in->email);
	sqlite3_bind_text(st, i++, in->status ? in->status : "active", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, i++, in->consent);
	sqlite3_bind_int64(st, i++, import_id);
	sqlite3_bind_int64(st, i++, in->created_at);
	sqlite3_bind_int64(st, i++, in->created_at);
	if (run(s, st, "cannot insert a lead"))
		return -1;
	*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

/* Whether the row's note (?8) is one of the lead's notes, which are joined by line
 * breaks: whole lines, so that "interested" is not found inside "Not interested". */
#define NOTE_IS_THERE \
	"instr(char(10) || coalesce(notes, '') || char(10), char(10) || ?8 || char(10))"

/* Whether the row's extra (?13) has a key the lead's lacks: the one change merging it
 * can make, as the lead's values win. Not the merge's text against the lead's, which
 * differs whenever a file lists its extra columns in another order. Keys are distinct
 * (header_map_extra_json) and values strings, so the merge has more keys exactly then.
 * Counted, not looked up one by one: a NOT IN over json_each(extra) per key took 29 s
 * for 1,000 leads of 400 extra columns, the counts 0.2 s (about the json_patch's cost). */
#define EXTRA_ADDS_A_KEY \
	"(SELECT count(*) FROM json_each(json_patch(?13, extra)))" \
	" > (SELECT count(*) FROM json_each(extra))"

/* Fills empty fields, appends notes not already there, keeps the earliest contact time,
 * and a consent refusal sticks. Changes nothing when there is nothing new, so that a
 * second import of the same file leaves the store as it was. */
static int lead_merge_into(struct store *s, int64_t id, const struct lead *in, int *changed)
{
	sqlite3_stmt *st = stmt(s, ST_LEAD_MERGE,
		"UPDATE leads SET"
		" first_name = coalesce(first_name, ?1), last_name = coalesce(last_name, ?2),"
		" company = coalesce(company, ?3), title = coalesce(title, ?4),"
		" phone = coalesce(phone, ?5), country = coalesce(country, ?6),"
		" timezone = coalesce(timezone, ?7),"
		" notes = CASE WHEN ?8 IS NULL OR " NOTE_IS_THERE " > 0 THEN notes"
		"         WHEN notes IS NULL THEN ?8 ELSE notes || char(10) || ?8 END,"
		" rating = coalesce(rating, ?9), owner = coalesce(owner, ?10),"
		" event = coalesce(event, ?11), badge_id = coalesce(badge_id, ?12),"
		" extra = CASE WHEN extra IS NULL THEN ?13"
		"         WHEN ?13 IS NULL OR NOT " EXTRA_ADDS_A_KEY " THEN extra"
		"         ELSE json_patch(?13, extra) END,"
		" contact_at = min(contact_at, ?14),"
		" consent = min(consent, ?15), updated_at = ?16"
		" WHERE id = ?17 AND ("
		"  (first_name IS NULL AND ?1 IS NOT NULL) OR (last_name IS NULL AND ?2 IS NOT NULL)"
		"  OR (company IS NULL AND ?3 IS NOT NULL) OR (title IS NULL AND ?4 IS NOT NULL)"
		"  OR (phone IS NULL AND ?5 IS NOT NULL) OR (country IS NULL AND ?6 IS NOT NULL)"
		"  OR (timezone IS NULL AND ?7 IS NOT NULL)"
		"  OR (?8 IS NOT NULL AND " NOTE_IS_THERE " = 0)"
		"  OR (rating IS NULL AND ?9 IS NOT NULL) OR (owner IS NULL AND ?10 IS NOT NULL)"
		"  OR (event IS NULL AND ?11 IS NOT NULL) OR (badge_id IS NULL AND ?12 IS NOT NULL)"
		"  OR (?13 IS NOT NULL AND (extra IS NULL OR " EXTRA_ADDS_A_KEY "))"
		"  OR contact_at > ?14 OR consent > ?15)");
	int i;

	if (!st)
		return -1;
	i = bind_lead_fields(st, in);
	sqlite3_bind_int(st, i++, in->consent);
	sqlite3_bind_int64(st, i++, in->created_at);
	sqlite3_bind_int64(st, i++, id);
	if (run(s, st, "cannot update a lead"))
		return -1;
	*changed = sqlite3_changes(s->db) > 0;
	return 0;
}

/* Remembers, for this import only, that a lead already in the store was seen, so that
 * a repeat in the same files counts as a duplicate. Kept in a temporary table, not in the
 * lead, so that importing the same file twice writes nothing. */
static int lead_mark_seen(struct store *s, int64_t id)
{
	sqlite3_stmt *st = stmt(s, ST_LEAD_MARK_IMPORT,
				"INSERT OR IGNORE INTO temp.import_seen(lead_id) VALUES (?)");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return run(s, st, "cannot update a lead");
}

int store_lead_merge(struct store *s, const struct lead *in, int64_t import_id,
		     enum merge_result *result, int64_t *lead_id, int *changed, int *earlier)
{
	sqlite3_stmt *st = stmt(s, ST_LEAD_BY_EMAIL,
		"SELECT id, import_id >= ?2 OR EXISTS (SELECT 1 FROM temp.import_seen"
		" WHERE lead_id = leads.id), contact_at FROM leads WHERE email = ?1");
	int seen_by_import;
	time_t old_contact;
	int found;

	*changed = *earlier = 0;
	if (!st)
		return -1;
	bind_email(st, 1, in->email);
	/* Leads made by this transaction's imports, whose ids go up from its first. */
	sqlite3_bind_int64(st, 2, s->first_import);
	found = step_row(s, st, "cannot look up a lead");
	if (found < 0)
		return -1;
	if (!found) {
		*result = MERGE_NEW;
		*changed = 1;
		return lead_insert(s, in, import_id, lead_id);
	}
	*lead_id = sqlite3_column_int64(st, 0);
	seen_by_import = sqlite3_column_int(st, 1);
	old_contact = column_time(st, 2);
	finish(st);

	*result = seen_by_import ? MERGE_DUPLICATE : MERGE_UPDATED;
	if (lead_merge_into(s, *lead_id, in, changed))
		return -1;
	*earlier = in->contact_at < old_contact;
	if (*result == MERGE_UPDATED && lead_mark_seen(s, *lead_id))
		return -1;
	return 0;
}

static int lead_query(struct store *s, sqlite3_stmt *st, struct lead *out)
{
	int found = step_row(s, st, "cannot read a lead");

	if (found == 1) {
		read_lead(st, column_text, 0, out);
		finish(st);
	}
	return found;
}

static const char lead_get_sql[] =
	"SELECT " LEAD_COLUMNS " FROM leads l WHERE l.id = ?1 OR (?1 IS NULL AND l.email = ?2)";

int store_lead_get(struct store *s, int64_t id, struct lead *out)
{
	sqlite3_stmt *st = stmt(s, ST_LEAD_GET, lead_get_sql);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return lead_query(s, st, out);
}

int store_lead_find(struct store *s, const char *id_or_email, struct lead *out)
{
	sqlite3_stmt *st = stmt(s, ST_LEAD_GET, lead_get_sql);
	/* Pasted from a mail or a spreadsheet, it may come with spaces around it. */
	char *key = str_trim(xstrdup(id_or_email)), *end;
	const char *digits = key[0] == '#' ? key + 1 : key;
	long long id;
	int found;

	if (!st) {
		free(key);
		return -1;
	}
	errno = 0;
	id = strtoll(digits, &end, 10);
	if (*digits && !*end && !errno) {
		sqlite3_bind_int64(st, 1, id);
	} else {
		sqlite3_bind_null(st, 1);
		bind_email(st, 2, key);
	}
	found = lead_query(s, st, out);
	free(key);
	return found;
}

int store_lead_find_by_token(struct store *s, const char *token, struct lead *out)
{
	/* No index: an unsubscribe now and then reads the leads once, where an index would
	 * cost every import a B-tree insert per lead. */
	static const char sql[] = "SELECT " LEAD_COLUMNS " FROM leads l WHERE l.token = ?";
	sqlite3_stmt *st = NULL;
	int found;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, "cannot look up an unsubscribe token");
	sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC);
	found = lead_query(s, st, out);
	sqlite3_finalize(st);
	return found;
}

int store_lead_set_status(struct store *s, int64_t lead_id, const char *status, time_t now)
{
	/* A lead that opted out or bounced keeps that status whatever happens later: it is
	 * what keeps it from being emailed (and what export writes). */
	sqlite3_stmt *st = stmt(s, ST_LEAD_SET_STATUS,
				"UPDATE leads SET status = ?, updated_at = ? WHERE id = ?"
				" AND status NOT IN (" NEVER_EMAILED ")");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, lead_id);
	return run(s, st, "cannot update a lead");
}

int store_is_suppressed(struct store *s, const char *email)
{
	sqlite3_stmt *st = stmt(s, ST_SUPPRESSED, "SELECT 1 FROM suppressions WHERE email = ?");

	if (!st)
		return -1;
	bind_email(st, 1, email);
	return has_row(s, st, "cannot read suppressions");
}

int store_has_suppressions(struct store *s)
{
	sqlite3_stmt *st = stmt(s, ST_HAS_SUPPRESSIONS, "SELECT 1 FROM suppressions LIMIT 1");

	if (!st)
		return 1;       /* when in doubt, look each address up */
	return has_row(s, st, "cannot read suppressions") != 0;
}

int store_suppress(struct store *s, const char *email, const char *reason, time_t now)
{
	sqlite3_stmt *st = stmt(s, ST_SUPPRESS,
		"INSERT INTO suppressions(email, reason, at) VALUES (?, ?, ?)"
		" ON CONFLICT(email) DO NOTHING");
	if (!st)
		return -1;
	bind_email(st, 1, email);
	sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	return run(s, st, "cannot record the opt-out");
}

int store_owner_has_leads(struct store *s, const struct owner_names *owner)
{
	static const char sql[] =
		"SELECT EXISTS (SELECT 1 FROM leads l WHERE" OWNER_IS("l", "1") ")";
	sqlite3_stmt *st = NULL;
	int found = -1;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, "cannot look up an owner");
	bind_owner(st, 1, owner);
	if (sqlite3_step(st) == SQLITE_ROW)
		found = sqlite3_column_int(st, 0);
	else
		db_error(s, "cannot look up an owner");
	sqlite3_finalize(st);
	return found;
}

int store_leads_each(struct store *s, const struct lead_filter *f, lead_fn fn, void *ctx)
{
	static const char sql[] =
		"SELECT " LEAD_COLUMNS " FROM leads l"
		" WHERE (?1 IS NULL OR l.status = ?1) AND" OWNER_IS("l", "2")
		" AND" FROM_EVENT("l", "3") " ORDER BY l.id";
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, "cannot list leads");
	bind_text(st, 1, f ? f->status : NULL);
	bind_owner(st, 2, f ? f->owner : NULL);
	bind_text(st, 3, f ? f->event : NULL);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct lead l;
		read_lead(st, column_text, 0, &l);
		ret = fn(&l, ctx);
		lead_release(&l);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = db_error(s, "cannot list leads");
	sqlite3_finalize(st);
	return ret;
}

int store_history_add(struct store *s, int64_t lead_id, time_t at, const char *kind,
		      const char *detail)
{
	sqlite3_stmt *st = stmt(s, ST_HISTORY_ADD,
		"INSERT INTO history(lead_id, at, kind, detail) VALUES (?, ?, ?, ?)");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, lead_id);
	sqlite3_bind_int64(st, 2, at);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	bind_text(st, 4, detail);
	return run(s, st, "cannot record history");
}

/* --- enrolments ---------------------------------------------------------------------- */

static int cancel_pending(struct store *s, int64_t enrolment_id, time_t now)
{
	sqlite3_stmt *st = stmt(s, ST_ENROL_CANCEL_PENDING,
		"UPDATE touches SET state = 'cancelled', done_at = ?"
		" WHERE enrolment_id = ? AND state = 'pending'");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, enrolment_id);
	return run(s, st, "cannot cancel touches");
}

int store_enrolment_end(struct store *s, int64_t id, const char *state, const char *reason,
			time_t now)
{
	sqlite3_stmt *st = stmt(s, ST_ENROL_END,
		"UPDATE enrolments SET state = ?, end_reason = ?, ended_at = ?"
		" WHERE id = ? AND state = 'active'");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	bind_text(st, 2, reason);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, id);
	if (run(s, st, "cannot end an enrolment"))
		return -1;
	return cancel_pending(s, id, now);
}

int store_enrolment_create(struct store *s, const struct enrolment *e, int64_t *id)
{
	struct enrolment old;
	int found;

	while ((found = store_enrolment_active(s, e->lead_id, &old)) == 1) {
		int ret = store_enrolment_end(s, old.id, "stopped", "superseded", e->started_at);
		enrolment_release(&old);
		if (ret)
			return -1;
	}
	if (found < 0)
		return -1;
	return store_enrolment_insert(s, e, id);
}

int store_enrolment_insert(struct store *s, const struct enrolment *e, int64_t *id)
{
	sqlite3_stmt *st = stmt(s, ST_ENROL_INSERT,
		  "INSERT INTO enrolments(lead_id, sequence, event, seq_hash, anchor_at, started_at)"
		  " VALUES (?, ?, ?, ?, ?, ?)");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, e->lead_id);
	sqlite3_bind_text(st, 2, e->sequence, -1, SQLITE_STATIC);
	bind_text(st, 3, e->event);
	bind_text(st, 4, e->seq_hash);
	sqlite3_bind_int64(st, 5, e->anchor_at);
	sqlite3_bind_int64(st, 6, e->started_at);
	if (run(s, st, "cannot enrol a lead"))
		return -1;
	*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static int enrolment_query(struct store *s, sqlite3_stmt *st, struct enrolment *out)
{
	int found = step_row(s, st, "cannot read an enrolment");

	if (found == 1) {
		read_enrolment(st, column_text, 0, out);
		finish(st);
	}
	return found;
}

int store_enrolment_get(struct store *s, int64_t id, struct enrolment *out)
{
	sqlite3_stmt *st = stmt(s, ST_ENROL_GET,
		"SELECT " ENROLMENT_COLUMNS " FROM enrolments e WHERE e.id = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return enrolment_query(s, st, out);
}

int store_enrolment_active(struct store *s, int64_t lead_id, struct enrolment *out)
{
	sqlite3_stmt *st = stmt(s, ST_ENROL_ACTIVE,
		"SELECT " ENROLMENT_COLUMNS " FROM enrolments e"
		" WHERE e.lead_id = ? AND e.state = 'active' ORDER BY e.id DESC LIMIT 1");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, lead_id);
	return enrolment_query(s, st, out);
}

int store_lead_met_at(struct store *s, int64_t lead_id, const char *event)
{
	sqlite3_stmt *st = stmt(s, ST_MET_AT,
		"SELECT 1 FROM leads l WHERE l.id = ?1 AND ?2 IS NOT NULL AND" FROM_EVENT("l", "2"));

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, lead_id);
	bind_text(st, 2, event);
	return has_row(s, st, "cannot read the lead's events");
}

int store_enrolment_latest(struct store *s, int64_t lead_id, struct enrolment *out)
{
	/* An active one counts from its start, an ended one from its end; on a tie, the
	 * active one. */
	sqlite3_stmt *st = stmt(s, ST_ENROL_LATEST,
		"SELECT " ENROLMENT_COLUMNS " FROM enrolments e WHERE e.lead_id = ?"
		" ORDER BY coalesce(e.ended_at, e.started_at) DESC, e.state = 'active' DESC,"
		" e.id DESC LIMIT 1");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, lead_id);
	return enrolment_query(s, st, out);
}

int store_lead_ever_enrolled(struct store *s, int64_t lead_id)
{
	sqlite3_stmt *st = stmt(s, ST_ENROL_ANY,
		"SELECT 1 FROM enrolments WHERE lead_id = ? LIMIT 1");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, lead_id);
	return has_row(s, st, "cannot read enrolments");
}

int store_lead_enrolled_from(struct store *s, int64_t lead_id, const char *event)
{
	sqlite3_stmt *st = stmt(s, ST_ENROL_FROM_EVENT,
		"SELECT 1 FROM enrolments WHERE lead_id = ? AND event IS ? LIMIT 1");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, lead_id);
	bind_text(st, 2, event);
	return has_row(s, st, "cannot read enrolments");
}

int store_enrolment_set_anchor(struct store *s, int64_t id, time_t anchor)
{
	sqlite3_stmt *st = stmt(s, ST_ENROL_ANCHOR,
				"UPDATE enrolments SET anchor_at = ? WHERE id = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, anchor);
	sqlite3_bind_int64(st, 2, id);
	return run(s, st, "cannot update an enrolment");
}

int store_sequence_version(struct store *s, const char *sequence, char **hash)
{
	sqlite3_stmt *st = stmt(s, ST_SEQ_VERSION,
				"SELECT hash FROM sequence_versions WHERE name = ?");
	int found;

	*hash = NULL;
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, sequence, -1, SQLITE_STATIC);
	found = step_row(s, st, "cannot read sequence versions");
	if (found == 1) {
		*hash = column_text(st, 0);
		finish(st);
	}
	return found;
}

int store_sequence_version_set(struct store *s, const char *sequence, const char *hash)
{
	sqlite3_stmt *st = stmt(s, ST_SEQ_VERSION_SET,
		"INSERT INTO sequence_versions(name, hash) VALUES (?1, ?2)"
		" ON CONFLICT(name) DO UPDATE SET hash = ?2");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, sequence, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	return run(s, st, "cannot record a sequence version");
}

int store_enrolments_active_each(struct store *s, const char *sequence, enrolment_fn fn,
				 void *ctx)
{
	sqlite3_stmt *st = stmt(s, ST_ENROL_ACTIVE_OF,
		"SELECT " ENROLMENT_COLUMNS " FROM enrolments e WHERE e.state = 'active'"
		" AND e.sequence = ? ORDER BY e.id");
	struct enrolment *list = NULL;
	size_t n = 0, alloc = 0;
	int rc, ret = 0;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, sequence, -1, SQLITE_STATIC);
	/* Read them all first: fn updates the rows this query walks. */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == alloc)
			list = xrealloc(list, (alloc = alloc ? alloc * 2 : 16) * sizeof(*list));
		read_enrolment(st, column_text, 0, &list[n++]);
	}
	finish(st);
	if (rc != SQLITE_DONE)
		ret = db_error(s, "cannot list enrolments");
	for (size_t i = 0; i < n; i++) {
		if (!ret)
			ret = fn(&list[i], ctx);
		enrolment_release(&list[i]);
	}
	free(list);
	return ret;
}

/* --- touches -------------------------------------------------------------------------- */

int store_touch_insert(struct store *s, const struct touch *t, int64_t *id)
{
	sqlite3_stmt *st = stmt(s, ST_TOUCH_INSERT,
		"INSERT INTO touches(enrolment_id, lead_id, step, channel, state, due_at, close_at,"
		" note, done_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, t->enrolment_id);
	sqlite3_bind_int64(st, 2, t->lead_id);
	sqlite3_bind_text(st, 3, t->step, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, t->channel, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, t->state ? t->state : "pending", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, t->due_at);
	bind_time(st, 7, t->close_at);
	bind_text(st, 8, t->note);
	bind_time(st, 9, t->done_at);
	if (run(s, st, "cannot schedule a touch"))
		return -1;
	if (id)
		*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static int touch_query(struct store *s, sqlite3_stmt *st, struct touch *out)
{
	int found = step_row(s, st, "cannot read a touch");

	if (found == 1) {
		read_touch(st, column_text, 0, out);
		finish(st);
	}
	return found;
}

int store_touch_get(struct store *s, int64_t id, struct touch *out)
{
	sqlite3_stmt *st = stmt(s, ST_TOUCH_GET,
				"SELECT " TOUCH_COLUMNS " FROM touches t WHERE t.id = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return touch_query(s, st, out);
}

int store_touch_pending(struct store *s, int64_t enrolment_id, struct touch *out)
{
	sqlite3_stmt *st = stmt(s, ST_TOUCH_PENDING,
		"SELECT " TOUCH_COLUMNS " FROM touches t"
		" WHERE t.enrolment_id = ? AND t.state = 'pending' ORDER BY t.id LIMIT 1");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, enrolment_id);
	return touch_query(s, st, out);
}

int store_touch_reschedule(struct store *s, int64_t id, time_t due_at, time_t close_at)
{
	sqlite3_stmt *st = stmt(s, ST_TOUCH_RESCHEDULE,
		"UPDATE touches SET due_at = ?, close_at = ? WHERE id = ? AND state = 'pending'");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, due_at);
	bind_time(st, 2, close_at);
	sqlite3_bind_int64(st, 3, id);
	return run(s, st, "cannot reschedule a touch");
}

int store_touch_set_channel(struct store *s, int64_t id, const char *channel)
{
	/* A retry time belongs to an email that was tried: it means nothing to the new
	 * channel. */
	sqlite3_stmt *st = stmt(s, ST_TOUCH_SET_CHANNEL,
		"UPDATE touches SET channel = ?, retry_at = NULL WHERE id = ? AND state = 'pending'");

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, channel, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	return run(s, st, "cannot update a touch");
}

int store_touch_close(struct store *s, int64_t id, const char *state, time_t at,
		      const char *note)
{
	sqlite3_stmt *st = stmt(s, ST_TOUCH_CLOSE,
		"UPDATE touches SET state = ?, done_at = ?, note = coalesce(?, note),"
		" close_at = NULL, retry_at = NULL WHERE id = ?");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, at);
	bind_text(st, 3, note);
	sqlite3_bind_int64(st, 4, id);
	return run(s, st, "cannot update a touch");
}

/* The first column of every row of st (bound, run here) as allocated strings. */
static int read_strings(struct store *s, sqlite3_stmt *st, char ***strings, size_t *count,
			const char *what)
{
	char **list = NULL;
	size_t n = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		list = xrealloc(list, (n + 1) * sizeof(*list));
		list[n++] = column_text(st, 0);
	}
	finish(st);
	*strings = list;
	*count = n;
	return rc == SQLITE_DONE ? 0 : db_error(s, what);
}

/* The touches that were never made: still to come, or closed before they were. */
#define NOT_MADE "('pending', 'cancelled', 'removed')"

int store_enrolment_steps_made(struct store *s, int64_t enrolment_id, char ***steps,
			       size_t *count)
{
	sqlite3_stmt *st = stmt(s, ST_STEPS_MADE,
		"SELECT step FROM touches WHERE enrolment_id = ?"
		" AND state NOT IN " NOT_MADE " ORDER BY id");

	*steps = NULL;
	*count = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, enrolment_id);
	return read_strings(s, st, steps, count, "cannot read touches");
}

int store_enrolment_made_any(struct store *s, int64_t enrolment_id)
{
	sqlite3_stmt *st = stmt(s, ST_MADE_ANY,
		"SELECT 1 FROM touches WHERE enrolment_id = ? AND state NOT IN " NOT_MADE " LIMIT 1");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, enrolment_id);
	return has_row(s, st, "cannot read touches");
}

time_t store_lead_last_touched(struct store *s, int64_t lead_id)
{
	sqlite3_stmt *st = stmt(s, ST_LAST_TOUCHED,
		"SELECT max(done_at) FROM touches WHERE lead_id = ? AND state IN ('sent', 'done')");
	time_t at = 0;

	if (!st)
		return 0;
	sqlite3_bind_int64(st, 1, lead_id);
	if (step_row(s, st, "cannot read touches") == 1) {
		at = column_time(st, 0);
		finish(st);
	}
	return at;
}

int store_enrolment_last_email(struct store *s, int64_t enrolment_id, struct touch *out)
{
	sqlite3_stmt *st = stmt(s, ST_LAST_EMAIL,
		"SELECT " TOUCH_COLUMNS " FROM touches t WHERE t.enrolment_id = ?"
		" AND t.state IN ('sent', 'in_doubt') AND t.message_id IS NOT NULL"
		" ORDER BY t.done_at DESC, t.id DESC LIMIT 1");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, enrolment_id);
	return touch_query(s, st, out);
}

int store_enrolment_thread(struct store *s, int64_t enrolment_id, char **references)
{
	sqlite3_stmt *st = stmt(s, ST_THREAD,
		"SELECT message_id FROM touches WHERE enrolment_id = ?"
		" AND state IN ('sent', 'in_doubt') AND message_id IS NOT NULL"
		" ORDER BY done_at, id");
	struct strbuf ids = STRBUF_INIT;
	int rc;

	*references = NULL;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, enrolment_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		strbuf_addf(&ids, "%s%s", ids.len ? " " : "", sqlite3_column_text(st, 0));
	finish(st);
	if (rc != SQLITE_DONE) {
		strbuf_release(&ids);
		return db_error(s, "cannot read a thread");
	}
	if (!ids.len) {
		strbuf_release(&ids);
		return 0;
	}
	*references = strbuf_detach(&ids);
	return 1;
}

/* Collects touches first and calls fn after: fn changes the rows the query walks. */
static int touches_collect(struct store *s, sqlite3_stmt *st, touch_fn fn, void *ctx)
{
	struct touch *list = NULL;
	size_t n = 0, alloc = 0;
	int rc, ret = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == alloc)
			list = xrealloc(list, (alloc = alloc ? alloc * 2 : 16) * sizeof(*list));
		read_touch(st, column_text, 0, &list[n++]);
	}
	finish(st);
	if (rc != SQLITE_DONE)
		ret = db_error(s, "cannot read touches");
	for (size_t i = 0; i < n; i++) {
		if (!ret)
			ret = fn(&list[i], ctx);
		touch_release(&list[i]);
	}
	free(list);
	return ret;
}

int store_has_closing(struct store *s, time_t now)
{
	sqlite3_stmt *st = stmt(s, ST_HAS_CLOSING,
		"SELECT 1 FROM touches WHERE state = 'pending' AND close_at IS NOT NULL"
		" AND close_at <= ? LIMIT 1");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	return has_row(s, st, "cannot read touches");
}

int store_touches_closing(struct store *s, time_t now, touch_fn fn, void *ctx)
{
	sqlite3_stmt *st = stmt(s, ST_CLOSING,
		"SELECT " TOUCH_COLUMNS " FROM touches t WHERE t.state = 'pending'"
		" AND t.close_at IS NOT NULL AND t.close_at <= ? ORDER BY t.close_at, t.id");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	return touches_collect(s, st, fn, ctx);
}

#define DUE_SELECT \
	"SELECT " TOUCH_COLUMNS ", " LEAD_COLUMNS ", " ENROLMENT_COLUMNS \
	" FROM touches t JOIN leads l ON l.id = t.lead_id" \
	" JOIN enrolments e ON e.id = t.enrolment_id"

static void read_due_item(sqlite3_stmt *st, text_reader text, struct due_item *d)
{
	int c = read_touch(st, text, 0, &d->touch);
	c = read_lead(st, text, c, &d->lead);
	read_enrolment(st, text, c, &d->enrolment);
}

/* A listing reads only what due and send need of a touch (the columns of the due index,
 * so no touch row is read) and of its enrolment: every column read costs, 10,000 times. */
#define LISTED_SELECT \
	"SELECT t.id, t.enrolment_id, t.lead_id, t.step, t.channel, t.state, t.due_at," \
	" t.retry_at, " LEAD_COLUMNS ", e.id, e.sequence, e.event, e.anchor_at" \
	" FROM touches t JOIN leads l ON l.id = t.lead_id" \
	" JOIN enrolments e ON e.id = t.enrolment_id"

static void read_listed_item(sqlite3_stmt *st, struct due_item *d)
{
	struct touch *t = &d->touch;
	struct enrolment *e = &d->enrolment;
	int c = 0;

	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(st, c++);
	t->enrolment_id = sqlite3_column_int64(st, c++);
	t->lead_id = sqlite3_column_int64(st, c++);
	t->step = column_borrowed(st, c++);
	t->channel = column_borrowed(st, c++);
	t->state = column_borrowed(st, c++);
	t->due_at = column_time(st, c++);
	t->retry_at = column_time(st, c++);
	c = read_lead(st, column_borrowed, c, &d->lead);
	memset(e, 0, sizeof(*e));
	e->id = sqlite3_column_int64(st, c++);
	e->lead_id = t->lead_id;
	e->sequence = column_borrowed(st, c++);
	e->event = column_borrowed(st, c++);
	e->anchor_at = column_time(st, c++);
}

int store_due_each(struct store *s, const struct due_filter *f, due_fn fn, void *ctx)
{
	/* The pending branch walks the partial due index by time; in-doubt touches are few. */
	static const char sql[] =
		LISTED_SELECT " WHERE t.state = 'pending' AND t.due_at <= ?1"
		" AND" OWNER_IS("l", "2")
		" AND (?3 IS NULL OR t.channel = ?3)"
		" AND (?4 = 0 OR (t.channel = 'email' AND coalesce(t.retry_at, 0) <= ?5))"
		" UNION ALL "
		/* The IN term lets SQLite use the partial index of unsettled touches. */
		LISTED_SELECT " WHERE ?6 AND t.state IN ('sending', 'in_doubt') AND t.state = 'in_doubt'"
		" AND" OWNER_IS("l", "2")
		" AND (?3 IS NULL OR t.channel = ?3)"
		" ORDER BY 7, 1";
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, "cannot list due touches");
	sqlite3_bind_int64(st, 1, f->until);
	bind_owner(st, 2, f->owner);
	bind_text(st, 3, f->channel);
	sqlite3_bind_int(st, 4, f->email_sendable);
	sqlite3_bind_int64(st, 5, f->now);
	sqlite3_bind_int(st, 6, f->with_in_doubt);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct due_item d;
		read_listed_item(st, &d);
		if ((ret = fn(&d, ctx)))
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = db_error(s, "cannot list due touches");
	sqlite3_finalize(st);
	return ret;
}

int store_due_item(struct store *s, int64_t touch_id, struct due_item *out)
{
	sqlite3_stmt *st = stmt(s, ST_DUE_ITEM, DUE_SELECT " WHERE t.id = ?");
	int found;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, touch_id);
	found = step_row(s, st, "cannot read a touch");
	if (found == 1) {
		read_due_item(st, column_text, out);
		finish(st);
	}
	return found;
}

/* --- sending ---------------------------------------------------------------------------- */

#define SENDING_TO_DOUBT_SQL \
	"UPDATE touches SET state = 'in_doubt', done_at = coalesce(done_at, ?)," \
	" note = 'the run sending it ended before the server answered'" \
	" WHERE state IN ('sending', 'in_doubt') AND state = 'sending'"

int store_sending_to_in_doubt(struct store *s, time_t now)
{
	sqlite3_stmt *st = stmt(s, ST_SENDING_TO_DOUBT, SENDING_TO_DOUBT_SQL);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	if (run(s, st, "cannot settle interrupted touches"))
		return -1;
	return sqlite3_changes(s->db);
}

int store_settle_dead_sends(struct store *s, time_t now)
{
	sqlite3_stmt *st;
	long sending;
	int got, rc = SQLITE_DONE;

	if (store_count_state(s, "sending", &sending))
		return -1;
	if (!sending)
		return 0;
	if ((got = store_lock_sender(s)) <= 0)
		return got;     /* a send runs: its touches are being sent */
	/* Not store_sending_to_in_doubt(): a store another command writes is no error here
	 * (the next command settles them), and is not to be said as one. */
	sqlite3_busy_timeout(s->db, 0);
	st = stmt(s, ST_SENDING_TO_DOUBT, SENDING_TO_DOUBT_SQL);
	if (st) {
		sqlite3_bind_int64(st, 1, now);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
	}
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	store_unlock_sender(s);
	if (!st)
		return -1;
	if (rc == SQLITE_DONE || (rc & 0xff) == SQLITE_BUSY)
		return 0;
	return db_error(s, "cannot settle interrupted touches");
}

int store_touch_claim(struct store *s, int64_t id, const char *message_id,
		      const char *subject, const char *sender, time_t now)
{
	/* Claimable only while pending, while the lead may still be written to (never after
	 * a reply, an opt-out or a bounce) and while its sequence runs (a converted or lost
	 * lead still has a pending touch only when its sequence's stop_on lets it go on). */
	sqlite3_stmt *st = stmt(s, ST_CLAIM,
		"UPDATE touches SET state = 'sending', message_id = ?, subject = ?, sender = lower(?),"
		" done_at = ?, attempts = attempts + 1"
		" WHERE id = ? AND state = 'pending' AND EXISTS (SELECT 1 FROM leads l"
		"  WHERE l.id = touches.lead_id AND l.consent = 1"
		"  AND l.status NOT IN ('replied', " NEVER_EMAILED "))"
		" AND NOT EXISTS (SELECT 1 FROM suppressions x, leads l"
		"  WHERE l.id = touches.lead_id AND x.email = l.email)"
		" AND EXISTS (SELECT 1 FROM enrolments e WHERE e.id = touches.enrolment_id"
		"  AND e.state = 'active')");
	int claimed;

	/* The claim must be on disk before the transfer starts: never inside a caller's
	 * transaction, where it would commit only with it. */
	if (s->depth)
		return error("%s: internal error: a claim inside a transaction", s->path);
	if (!st || store_begin(s))
		return -1;
	sqlite3_bind_text(st, 1, message_id, -1, SQLITE_STATIC);
	bind_text(st, 2, subject);
	sqlite3_bind_text(st, 3, sender, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, id);
	if (run(s, st, "cannot claim a touch")) {
		store_rollback(s);
		return -1;
	}
	claimed = sqlite3_changes(s->db) > 0;
	if (store_commit(s))
		return -1;
	return claimed;
}

int store_lock_sender(struct store *s)
{
	char *path = xasprintf("%s.send-lock", s->real_path);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		error("cannot open '%s': %s", path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int busy = errno == EWOULDBLOCK;
		close(fd);
		return busy ? 0 : error("%s: cannot take the sender lock: %s", s->path,
					strerror(errno));
	}
	s->sender_lock_fd = fd;
	return 1;
}

void store_unlock_sender(struct store *s)
{
	if (s->sender_lock_fd >= 0)
		close(s->sender_lock_fd);
	s->sender_lock_fd = -1;
}

/* A touch given back (not sent, or to be tried again) is pending again only while its
 * enrolment runs: a `mark lost` or an opt-out while it was being sent stopped the
 * sequence, and cancelled it then but for this touch. It is cancelled as of that stop. */
#define PENDING_UNLESS_STOPPED \
	" state = CASE WHEN e.state = 'active' THEN 'pending' ELSE 'cancelled' END," \
	" done_at = CASE WHEN e.state = 'active' THEN NULL ELSE e.ended_at END" \
	" FROM (SELECT state, ended_at FROM enrolments WHERE id =" \
	"  (SELECT enrolment_id FROM touches WHERE id = ?1)) e"

int store_touch_unclaim(struct store *s, int64_t id)
{
	sqlite3_stmt *st = stmt(s, ST_UNCLAIM,
		"UPDATE touches SET message_id = NULL, subject = NULL, sender = NULL,"
		" attempts = max(attempts - 1, 0)," PENDING_UNLESS_STOPPED
		" WHERE id = ?1 AND touches.state = 'sending'");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return run(s, st, "cannot update a touch");
}

int store_touch_retry_later(struct store *s, int64_t id, time_t retry_at, const char *why)
{
	sqlite3_stmt *st = stmt(s, ST_RETRY,
		"UPDATE touches SET retry_at = ?2, note = ?3, message_id = NULL,"
		PENDING_UNLESS_STOPPED " WHERE id = ?1 AND touches.state IN ('sending', 'in_doubt')");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, retry_at);
	bind_text(st, 3, why);
	return run(s, st, "cannot update a touch");
}

int store_touch_forgive_attempt(struct store *s, int64_t id)
{
	sqlite3_stmt *st = stmt(s, ST_FORGIVE,
		"UPDATE touches SET attempts = max(attempts - 1, 0) WHERE id = ? AND state = 'pending'");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return run(s, st, "cannot update a touch");
}

int store_sent_since(struct store *s, const char *sender, time_t since, long *count)
{
	sqlite3_stmt *st = stmt(s, ST_SENT_SINCE,
		"SELECT count(*) FROM touches WHERE state IN ('sent', 'sending', 'in_doubt')"
		" AND sender = lower(?) AND done_at > ?");
	int found;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, sender, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since);
	found = step_row(s, st, "cannot count sent messages");
	if (found != 1)
		return -1;
	*count = (long)sqlite3_column_int64(st, 0);
	finish(st);
	return 0;
}

int store_count_state(struct store *s, const char *state, long *count)
{
	sqlite3_stmt *st = stmt(s, ST_COUNT_STATE, "SELECT count(*) FROM touches"
				" WHERE state IN ('sending', 'in_doubt') AND state = ?");
	int found;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	found = step_row(s, st, "cannot count touches");
	if (found != 1)
		return -1;
	*count = (long)sqlite3_column_int64(st, 0);
	finish(st);
	return 0;
}

/* --- reading back ----------------------------------------------------------------------- */

int store_timeline_each(struct store *s, int64_t lead_id, timeline_fn fn, void *ctx)
{
	/* Column 8 places each entry. A touch exists only once the one before it closed,
	 * and after its enrolment began, so it is placed no sooner than either: the next
	 * step due before the last one expired still reads after that expiry. */
	static const char sql[] =
		"SELECT l.created_at, 0, 'imported', i.file, coalesce(i.event, l.event), NULL, 0,"
		" l.created_at FROM leads l LEFT JOIN imports i ON i.id = l.import_id WHERE l.id = ?1"
		/* An enrolment that takes over from one ending at that moment (reactivation,
		 * enroll) comes after that end, not before the touch that ended it. */
		" UNION ALL SELECT started_at, CASE WHEN EXISTS (SELECT 1 FROM enrolments p"
		"  WHERE p.lead_id = ?1 AND p.id < n.id AND p.ended_at = n.started_at) THEN 5 ELSE 1 END,"
		" 'enrolled', sequence, event, NULL, id, started_at FROM enrolments n WHERE lead_id = ?1"
		" UNION ALL SELECT at, 2, kind, detail, NULL, NULL, id, at"
		" FROM history WHERE lead_id = ?1"
		" UNION ALL SELECT coalesce(t.done_at, t.due_at), 3, 'touch',"
		" t.step || ' (' || t.channel || ')',"
		" t.state || CASE WHEN t.state = 'pending' THEN ', due' ELSE '' END"
		" || coalesce(': ' || t.note, ''), t.message_id, t.id,"
		" max(max(coalesce(t.done_at, t.due_at), e.started_at))"
		"  OVER (ORDER BY t.id ROWS UNBOUNDED PRECEDING)"
		" FROM touches t JOIN enrolments e ON e.id = t.enrolment_id WHERE t.lead_id = ?1"
		" UNION ALL SELECT ended_at, 4, state, sequence, end_reason, NULL, id, ended_at"
		" FROM enrolments WHERE lead_id = ?1 AND ended_at IS NOT NULL"
		" ORDER BY 8, 2, 7";
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, "cannot read the timeline");
	sqlite3_bind_int64(st, 1, lead_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct timeline_entry e = {
			.at = column_time(st, 0),
			.kind = (const char *)sqlite3_column_text(st, 2),
			.title = (const char *)sqlite3_column_text(st, 3),
			.detail = (const char *)sqlite3_column_text(st, 4),
			.message_id = (const char *)sqlite3_column_text(st, 5),
			.ref = sqlite3_column_int64(st, 6),
		};
		if ((ret = fn(&e, ctx)))
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = db_error(s, "cannot read the timeline");
	sqlite3_finalize(st);
	return ret;
}

int store_extra_keys(struct store *s, char ***keys, size_t *count)
{
	/* The bare jid comes from the row of min(lid) (SQLite's min/max bare columns): a
	 * key's place in the first lead that has it. */
	sqlite3_stmt *st = stmt(s, ST_EXTRA_KEYS,
		"SELECT key, min(lid), jid FROM (SELECT j.key AS key, l.id AS lid, j.id AS jid"
		" FROM leads l, json_each(l.extra) j WHERE l.extra IS NOT NULL)"
		" GROUP BY key ORDER BY 2, 3");

	*keys = NULL;
	*count = 0;
	if (!st)
		return -1;
	return read_strings(s, st, keys, count, "cannot list the extra columns");
}

int store_export_each(struct store *s, export_fn fn, void *ctx)
{
	static const char sql[] =
		/* Step is the step of Last Touch, whichever enrolment made it: a lead waiting
		 * in reactivation still shows where its follow-up got to. */
		"SELECT " LEAD_COLUMNS ", e.sequence,"
		" (SELECT t.step FROM touches t WHERE t.lead_id = l.id"
		"   AND t.state IN ('sent', 'done') ORDER BY t.done_at DESC, t.id DESC LIMIT 1),"
		" (SELECT max(t.done_at) FROM touches t WHERE t.lead_id = l.id"
		"   AND t.state IN ('sent', 'done')),"
		" (SELECT min(t.due_at) FROM touches t WHERE t.lead_id = l.id AND t.state = 'pending')"
		" FROM leads l LEFT JOIN enrolments e ON e.id = (SELECT max(x.id) FROM enrolments x"
		"   WHERE x.lead_id = l.id) ORDER BY l.id";
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, "cannot export");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct lead l;
		int c = read_lead(st, column_text, 0, &l);
		struct export_row r = {
			.lead = &l,
			.sequence = (const char *)sqlite3_column_text(st, c),
			.step = (const char *)sqlite3_column_text(st, c + 1),
			.last_touch = column_time(st, c + 2),
			.next_due = column_time(st, c + 3),
		};
		ret = fn(&r, ctx);
		lead_release(&l);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = db_error(s, "cannot export");
	sqlite3_finalize(st);
	return ret;
}

/* --- pipeline ------------------------------------------------------------------------------ */

const char *const pipeline_statuses[7] = {
	"active", "cold", "replied", "converted", "lost", "unsubscribed", "bounced",
};

/* Leads in scope: ?1 event, ?2 owner (NULL for any). */
#define IN_SCOPE(l) FROM_EVENT(l, "1") " AND" OWNER_IS(l, "2")

/* Enrolment e of lead l came from the event ?1: its own event, else the lead's. */
#define ENROLLED_FROM(e, l) " coalesce(" e ".event, " l ".event) = ?1 COLLATE NOCASE"

/* A touch is in scope when its lead is the owner's and its enrolment e came from the
 * event (a lead met at two events has touches of each). */
#define SCOPE_OF(l, e) " (?1 IS NULL OR" ENROLLED_FROM(e, l) ") AND" OWNER_IS(l, "2")

/* For a query of touches alone: no join at all when nothing narrows. */
#define TOUCH_IN_SCOPE \
	" (?1 IS NULL AND ?2 IS NULL OR EXISTS (SELECT 1 FROM leads l" \
	"  JOIN enrolments e ON e.id = t.enrolment_id WHERE l.id = t.lead_id AND" \
	SCOPE_OF("l", "e") "))"

/* For a query that has joined the touch's enrolment as e already. */
#define ENROLLED_TOUCH_IN_SCOPE \
	" (?1 IS NULL AND ?2 IS NULL OR EXISTS (SELECT 1 FROM leads l" \
	"  WHERE l.id = t.lead_id AND" SCOPE_OF("l", "e") "))"

static sqlite3_stmt *prepare_scoped(struct store *s, const char *sql, const char *event,
				    const struct owner_names *owner)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		db_error(s, "cannot compute the pipeline");
		return NULL;
	}
	bind_text(st, 1, event);
	bind_owner(st, 2, owner);
	return st;
}

static int pipeline_statuses_count(struct store *s, const char *event, const struct owner_names *owner,
				   struct pipeline *p)
{
	sqlite3_stmt *st = prepare_scoped(s, "SELECT l.status, count(*) FROM leads l WHERE"
					  IN_SCOPE("l") " GROUP BY l.status", event, owner);
	int rc;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *status = (const char *)sqlite3_column_text(st, 0);
		long n = (long)sqlite3_column_int64(st, 1);
		p->leads += n;
		for (size_t i = 0; i < ARRAY_SIZE(pipeline_statuses); i++)
			if (!strcmp(status, pipeline_statuses[i]))
				p->by_status[i] += n;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_error(s, "cannot compute the pipeline");
}

static int pipeline_touch_counts(struct store *s, const char *event, const struct owner_names *owner,
				 time_t now, time_t today, struct pipeline *p)
{
	sqlite3_stmt *st = prepare_scoped(s,
		"SELECT coalesce(sum(t.state = 'pending' AND t.due_at <= ?3), 0),"
		" coalesce(sum(t.state = 'pending' AND t.due_at < ?4), 0),"
		" coalesce(sum(t.state = 'in_doubt'), 0)"
		" FROM touches t WHERE t.state IN ('pending', 'in_doubt') AND" TOUCH_IN_SCOPE,
		event, owner);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, today);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		p->due_now = (long)sqlite3_column_int64(st, 0);
		p->overdue = (long)sqlite3_column_int64(st, 1);
		p->in_doubt = (long)sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : db_error(s, "cannot compute the pipeline");
}

/* Speed to lead: hours from contact to first touch, over leads ever enrolled. The hours
 * come back sorted, so the median is read off the middle row. */
static int pipeline_speed(struct store *s, const char *event, const struct owner_names *owner,
			  struct pipeline *p)
{
	/* For an event: from the lead's first enrolment from there (the scan) to the first
	 * touch of any enrolment from there (it may have been superseded by an `enroll`
	 * before it made one), as a lead met at two events was followed up twice. A later
	 * enrolment (a reactivation, which keeps the event) was no scan. */
	static const char per_lead[] =
		"SELECT (SELECT min(t.done_at) FROM touches t WHERE t.lead_id = l.id"
		"  AND t.state IN ('sent', 'done')) - l.contact_at AS wait"
		" FROM leads l WHERE EXISTS (SELECT 1 FROM enrolments e WHERE e.lead_id = l.id)"
		" AND" IN_SCOPE("l") " ORDER BY wait IS NULL, wait";
	static const char per_enrolment[] =
		"SELECT (SELECT min(t.done_at) FROM touches t JOIN enrolments x"
		"  ON x.id = t.enrolment_id WHERE t.lead_id = e.lead_id AND" ENROLLED_FROM("x", "l")
		"  AND t.state IN ('sent', 'done')) - e.anchor_at AS wait"
		" FROM enrolments e JOIN leads l ON l.id = e.lead_id"
		" WHERE" SCOPE_OF("l", "e") " AND e.id = (SELECT min(x.id) FROM enrolments x"
		"  WHERE x.lead_id = e.lead_id AND" ENROLLED_FROM("x", "l") ")"
		" ORDER BY wait IS NULL, wait";
	sqlite3_stmt *st = prepare_scoped(s, event ? per_enrolment : per_lead, event, owner);
	double *waits = NULL;
	size_t n = 0, alloc = 0;
	int rc;

	if (!st)
		return -1;
	p->median_hours = -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		p->enrolled++;
		if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
			p->never_touched++;
			continue;
		}
		double hours = (double)sqlite3_column_int64(st, 0) / 3600.0;
		if (n == alloc)
			waits = xrealloc(waits, (alloc = alloc ? alloc * 2 : 256) * sizeof(*waits));
		waits[n++] = hours;
		p->within_24h += hours <= 24;
		p->within_48h += hours <= 48;
	}
	sqlite3_finalize(st);
	p->touched = (long)n;
	if (n)
		p->median_hours = n % 2 ? waits[n / 2] : (waits[n / 2 - 1] + waits[n / 2]) / 2;
	free(waits);
	return rc == SQLITE_DONE ? 0 : db_error(s, "cannot compute the pipeline");
}

static struct pipeline_step *pipeline_step_of(struct pipeline *p, const char *sequence,
					      const char *step)
{
	struct pipeline_step *ps;

	for (size_t i = 0; i < p->nsteps; i++)
		if (!strcmp(p->steps[i].sequence, sequence) && !strcmp(p->steps[i].step, step))
			return &p->steps[i];
	p->steps = xrealloc(p->steps, (p->nsteps + 1) * sizeof(*p->steps));
	ps = &p->steps[p->nsteps++];
	ps->sequence = xstrdup(sequence);
	ps->step = xstrdup(step);
	ps->made = ps->replies = 0;
	return ps;
}

/* Per step: touches made, then the touches a reply came after: each reply is credited to
 * the last touch made before it (a lead who replies again after a later touch credits
 * that one too; twice after the same touch counts once). */
static int pipeline_steps(struct store *s, const char *event, const struct owner_names *owner,
			  struct pipeline *p)
{
	static const char made_sql[] =
		"SELECT e.sequence, t.step, count(*) FROM touches t"
		" JOIN enrolments e ON e.id = t.enrolment_id"
		" WHERE t.state IN ('sent', 'done') AND" ENROLLED_TOUCH_IN_SCOPE
		" GROUP BY e.sequence, t.step ORDER BY e.sequence, min(t.done_at)";
	static const char replies_sql[] =
		"SELECT e.sequence, t.step, count(DISTINCT t.id) FROM history h"
		" JOIN touches t ON t.id = (SELECT x.id FROM touches x WHERE x.lead_id = h.lead_id"
		"  AND x.state IN ('sent', 'done') AND x.done_at <= h.at"
		"  ORDER BY x.done_at DESC LIMIT 1)"
		" JOIN enrolments e ON e.id = t.enrolment_id"
		" WHERE h.kind = 'replied' AND" ENROLLED_TOUCH_IN_SCOPE
		" GROUP BY e.sequence, t.step";
	const char *sql[2] = { made_sql, replies_sql };
	int rc = SQLITE_DONE;

	for (int pass = 0; pass < 2 && rc == SQLITE_DONE; pass++) {
		sqlite3_stmt *st = prepare_scoped(s, sql[pass], event, owner);
		if (!st)
			return -1;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct pipeline_step *ps = pipeline_step_of(p,
				(const char *)sqlite3_column_text(st, 0),
				(const char *)sqlite3_column_text(st, 1));
			long n = (long)sqlite3_column_int64(st, 2);
			if (pass == 0)
				ps->made = n;
			else
				ps->replies = n;
		}
		sqlite3_finalize(st);
	}
	return rc == SQLITE_DONE ? 0 : db_error(s, "cannot compute the pipeline");
}

/* Manual touches nobody made: closed as `missed` when the next step fell due, or as
 * `expired` when the step's expire ran out first (the shipped call step has one). Both
 * are a call or task that slipped; an expired email is no rep's doing. */
static int pipeline_missed(struct store *s, const char *event, const struct owner_names *owner,
			   struct pipeline *p)
{
	sqlite3_stmt *st = prepare_scoped(s,
		"SELECT l.owner, count(*) FROM touches t JOIN leads l ON l.id = t.lead_id"
		" JOIN enrolments e ON e.id = t.enrolment_id"
		" WHERE (t.state = 'missed' OR t.state = 'expired' AND t.channel <> 'email')"
		" AND" SCOPE_OF("l", "e")
		" GROUP BY l.owner COLLATE NOCASE", event, owner);     /* sorted per rep: cmd_pipeline */
	int rc;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		p->missed = xrealloc(p->missed, (p->nmissed + 1) * sizeof(*p->missed));
		p->missed[p->nmissed].owner = column_text(st, 0);
		p->missed[p->nmissed++].missed = (long)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_error(s, "cannot compute the pipeline");
}

int store_pipeline(struct store *s, const char *event, const struct owner_names *owner, time_t now,
		   time_t today, struct pipeline *out)
{
	memset(out, 0, sizeof(*out));
	if (pipeline_statuses_count(s, event, owner, out) ||
	    pipeline_touch_counts(s, event, owner, now, today, out) ||
	    pipeline_speed(s, event, owner, out) ||
	    pipeline_steps(s, event, owner, out) ||
	    pipeline_missed(s, event, owner, out)) {
		pipeline_release(out);
		return -1;
	}
	return 0;
}

void pipeline_release(struct pipeline *p)
{
	for (size_t i = 0; i < p->nsteps; i++) {
		free(p->steps[i].sequence);
		free(p->steps[i].step);
	}
	for (size_t i = 0; i < p->nmissed; i++)
		free(p->missed[i].owner);
	free(p->steps);
	free(p->missed);
	memset(p, 0, sizeof(*p));
}
