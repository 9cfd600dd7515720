/*
 * due_json.c - see due_json.h. The lister fills a batch of rows while the printer prints
 * the batch before it; a few batches in a ring keep both busy without holding the whole
 * listing in memory.
 */
#include "followup/due_json.h"
#include "followup/cli.h"
#include "followup/timeutil.h"
#include "followup/util.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_ROWS 256
#define NBATCHES 4

/* The members of an object, in the order printed. */
enum due_key {
	KEY_TOUCH_ID, KEY_LEAD_ID, KEY_EMAIL, KEY_NAME, KEY_COMPANY, KEY_SEQUENCE, KEY_STEP,
	KEY_CHANNEL, KEY_DUE_AT, KEY_OVERDUE, KEY_OWNER, KEY_STATE, KEY_TEXT, KEY_HELD, NKEYS
};
static const char *const due_keys[NKEYS] = {
	"touch_id", "lead_id", "email", "name", "company", "sequence", "step", "channel",
	"due_at", "overdue", "owner", "state", "text", "held",
};

/* The strings of a row, copied into its batch's text. */
enum row_text {
	RT_EMAIL, RT_FIRST_NAME, RT_LAST_NAME, RT_COMPANY, RT_SEQUENCE, RT_STEP, RT_CHANNEL,
	RT_OWNER, RT_STATE, RT_TEXT, RT_HELD, NTEXTS
};

struct stored_row {
	int64_t touch_id, lead_id;
	time_t due_at;
	int overdue;
	size_t text[NTEXTS];    /* offset into the batch's text plus one; 0 for NULL */
};

struct batch {
	struct stored_row rows[BATCH_ROWS];
	size_t nrows;
	struct strbuf text;     /* the rows' strings, each with its NUL */
};

/* The printer's object, built once: for each row its members point at the row's values,
 * so that printing allocates nothing per row. */
struct printer {
	struct json_stream stream;
	cJSON *object, *member[NKEYS];
	char touch_id[24], lead_id[24], due_at[TIME_UTC_SIZE];
	struct strbuf name;
};

struct due_json {
	struct batch batches[NBATCHES];
	size_t filling;         /* the batch due_json_add() fills */
	size_t printing;        /* the next batch the printer takes */
	size_t queued;          /* batches handed to the printer and not yet printed */
	int done, threaded;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct printer printer;
};

/* Sets a member's type, keeping the flag that says its key is a constant. */
static void set_type(cJSON *member, int type)
{
	member->type = (member->type & cJSON_StringIsConst) | type;
}

/* Members that point (cJSON_IsReference): cJSON_Delete leaves the strings alone. */
static void point_at(cJSON *member, const char *s)
{
	set_type(member, s ? cJSON_String | cJSON_IsReference : cJSON_NULL);
	member->valuestring = (char *)s;
}

/* An id as a raw JSON number, its digits written here: cJSON prints a double with
 * printf and checks it with sscanf, and snprintf was the next biggest cost. */
static void point_at_id(cJSON *member, char digits[24], int64_t id)
{
	uint64_t v = id < 0 ? -(uint64_t)id : (uint64_t)id;
	char *p = digits + 23;

	*p = '\0';
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	if (id < 0)
		*--p = '-';
	set_type(member, cJSON_Raw | cJSON_IsReference);
	member->valuestring = p;
}

static const char *row_text(const struct batch *b, const struct stored_row *row,
			    enum row_text which)
{
	return row->text[which] ? b->text.buf + row->text[which] - 1 : NULL;
}

/* The lead's name, else its email, as the listing names people. */
static const char *row_name(struct printer *p, const struct batch *b,
			    const struct stored_row *row)
{
	strbuf_reset(&p->name);
	if (!lead_name_add(&p->name, row_text(b, row, RT_FIRST_NAME),
			   row_text(b, row, RT_LAST_NAME)))
		return row_text(b, row, RT_EMAIL);
	return p->name.buf;
}

static void print_row(struct printer *p, const struct batch *b, const struct stored_row *row)
{
	cJSON **m = p->member;
	const char *held = row_text(b, row, RT_HELD);

	point_at_id(m[KEY_TOUCH_ID], p->touch_id, row->touch_id);
	point_at_id(m[KEY_LEAD_ID], p->lead_id, row->lead_id);
	point_at(m[KEY_EMAIL], row_text(b, row, RT_EMAIL));
	point_at(m[KEY_NAME], row_name(p, b, row));
	point_at(m[KEY_COMPANY], row_text(b, row, RT_COMPANY));
	point_at(m[KEY_SEQUENCE], row_text(b, row, RT_SEQUENCE));
	point_at(m[KEY_STEP], row_text(b, row, RT_STEP));
	point_at(m[KEY_CHANNEL], row_text(b, row, RT_CHANNEL));
	time_format_utc(row->due_at, p->due_at);
	point_at(m[KEY_DUE_AT], p->due_at);
	set_type(m[KEY_OVERDUE], row->overdue ? cJSON_True : cJSON_False);
	point_at(m[KEY_OWNER], row_text(b, row, RT_OWNER));
	point_at(m[KEY_STATE], row_text(b, row, RT_STATE));
	/* A held touch's text has holes ("Hi ,"): like the listing, give only the reason. */
	point_at(m[KEY_TEXT], held ? NULL : row_text(b, row, RT_TEXT));
	point_at(m[KEY_HELD], held);
	json_stream_item(&p->stream, p->object);
}

static void print_batch(struct printer *p, struct batch *b)
{
	for (size_t i = 0; i < b->nrows; i++)
		print_row(p, b, &b->rows[i]);
	b->nrows = 0;
	strbuf_reset(&b->text);
}

/* The printer thread. It must not touch time zones or the environment, which the main
 * thread changes (use_zone in timeutil.c): time_format_utc uses gmtime_r alone. */
static void *printer_main(void *opaque)
{
	struct due_json *j = opaque;

	pthread_mutex_lock(&j->lock);
	for (;;) {
		while (!j->queued && !j->done)
			pthread_cond_wait(&j->changed, &j->lock);
		if (!j->queued)
			break;
		pthread_mutex_unlock(&j->lock);
		print_batch(&j->printer, &j->batches[j->printing]);
		pthread_mutex_lock(&j->lock);
		j->printing = (j->printing + 1) % NBATCHES;
		j->queued--;
		pthread_cond_signal(&j->changed);
	}
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

/* Gives the batch being filled to the printer and waits for a free one. */
static void hand_over(struct due_json *j)
{
	if (!j->threaded) {
		print_batch(&j->printer, &j->batches[j->filling]);
		return;
	}
	pthread_mutex_lock(&j->lock);
	j->queued++;
	j->filling = (j->filling + 1) % NBATCHES;
	pthread_cond_signal(&j->changed);
	while (j->queued == NBATCHES)
		pthread_cond_wait(&j->changed, &j->lock);
	pthread_mutex_unlock(&j->lock);
}

struct due_json *due_json_start(void)
{
	struct due_json *j = xcalloc(1, sizeof(*j));
	struct printer *p = &j->printer;

	for (int b = 0; b < NBATCHES; b++)
		strbuf_init(&j->batches[b].text);
	strbuf_init(&p->name);
	p->object = cJSON_CreateObject();
	for (int k = 0; k < NKEYS; k++)
		cJSON_AddItemToObjectCS(p->object, due_keys[k], p->member[k] = cJSON_CreateNull());
	json_stream_start(&p->stream);
	fflush(stdout);         /* from here on only the printer writes to stdout */
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->changed, NULL);
	/* Without a thread the rows are printed as each batch fills: slower, no different. */
	j->threaded = !pthread_create(&j->thread, NULL, printer_main, j);
	return j;
}

static void copy_text(struct batch *b, struct stored_row *row, enum row_text which,
		      const char *s)
{
	if (!s) {
		row->text[which] = 0;
		return;
	}
	row->text[which] = b->text.len + 1;
	strbuf_add(&b->text, s, strlen(s) + 1);
}

void due_json_add(struct due_json *j, const struct due_row *r)
{
	struct batch *b = &j->batches[j->filling];
	struct stored_row *row = &b->rows[b->nrows++];

	row->touch_id = r->touch_id;
	row->lead_id = r->lead_id;
	row->due_at = r->due_at;
	row->overdue = r->overdue;
	copy_text(b, row, RT_EMAIL, r->email);
	copy_text(b, row, RT_FIRST_NAME, r->first_name);
	copy_text(b, row, RT_LAST_NAME, r->last_name);
	copy_text(b, row, RT_COMPANY, r->company);
	copy_text(b, row, RT_SEQUENCE, r->sequence);
	copy_text(b, row, RT_STEP, r->step);
	copy_text(b, row, RT_CHANNEL, r->channel);
	copy_text(b, row, RT_OWNER, r->owner);
	copy_text(b, row, RT_STATE, r->state);
	copy_text(b, row, RT_TEXT, r->text);
	copy_text(b, row, RT_HELD, r->held);
	if (b->nrows == BATCH_ROWS)
		hand_over(j);
}

void due_json_finish(struct due_json *j)
{
	struct printer *p = &j->printer;

	if (j->batches[j->filling].nrows)
		hand_over(j);
	if (j->threaded) {
		pthread_mutex_lock(&j->lock);
		j->done = 1;
		pthread_cond_signal(&j->changed);
		pthread_mutex_unlock(&j->lock);
		pthread_join(j->thread, NULL);
	}
	json_stream_end(&p->stream);
	pthread_cond_destroy(&j->changed);
	pthread_mutex_destroy(&j->lock);
	cJSON_Delete(p->object);
	strbuf_release(&p->name);
	for (int b = 0; b < NBATCHES; b++)
		strbuf_release(&j->batches[b].text);
	free(j);
}
