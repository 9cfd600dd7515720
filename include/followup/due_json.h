/*
 * due_json.h - the array that `due --json` prints, printed by a second thread. cJSON takes
 * as long to print 10,000 touches as the store takes to read them; on two cores the two
 * overlap. The rows come out in the order they were added.
 */
#ifndef FOLLOWUP_DUE_JSON_H
#define FOLLOWUP_DUE_JSON_H

#include <stdint.h>
#include <time.h>

/* One touch as listed. The strings may be NULL (printed as null) and need live only
 * until due_json_add() returns: it copies them. */
struct due_row {
	int64_t touch_id, lead_id;
	time_t due_at;
	int overdue;
	const char *email, *first_name, *last_name, *company, *sequence, *step, *channel;
	const char *owner, *state, *text, *held;
};

struct due_json;

/* Prints the '[' and starts the printer. */
struct due_json *due_json_start(void);
void due_json_add(struct due_json *j, const struct due_row *row);
/* Prints what is left and the ']', and frees j. */
void due_json_finish(struct due_json *j);

#endif
