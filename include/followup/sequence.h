/*
 * sequence.h - sequence files (SPEC section 6), read with libyaml and checked whole:
 * every problem is reported as FILE:LINE:COL, and a file with any problem is never used.
 */
#ifndef FOLLOWUP_SEQUENCE_H
#define FOLLOWUP_SEQUENCE_H

#include <stddef.h>

#include "followup/diag.h"
#include "followup/timeutil.h"

struct template;

enum channel { CHANNEL_EMAIL, CHANNEL_CALL, CHANNEL_LINKEDIN, CHANNEL_TASK };
const char *channel_name(enum channel c);
int channel_from_name(const char *name);        /* -1 when unknown */

/* stop_on bits */
enum outcome {
	OUTCOME_REPLIED = 1, OUTCOME_CONVERTED = 2, OUTCOME_LOST = 4,
	OUTCOME_UNSUBSCRIBED = 8, OUTCOME_BOUNCED = 16,
};

struct step {
	char *id;
	struct duration after;
	enum channel channel;
	struct template *subject, *body, *task;  /* NULL when not given */
	int thread;
	int has_expire;
	struct duration expire;
	int line;
};

struct sequence {
	char *name, *path, *description;
	char *timezone;                 /* NULL: the config's zone */
	struct window window;           /* default 09:00-17:00 */
	int business_days;              /* default true */
	struct duration min_gap;        /* default 1d */
	unsigned stop_on;               /* default: all five outcomes */
	int has_reactivate;
	struct duration reactivate_after;
	char *reactivate_sequence;
	struct step *steps;
	size_t nsteps;
	char hash[17];                  /* FNV-1a 64 of the file: an edit changes it */
	int reactivate_line, reactivate_col;
	int name_line, name_col;        /* of the 'name' value; 1:1 when named by its file */
};

/* Loads and checks one file. Returns 0 with *out set, or -1 with the problems in d. */
int sequence_load_file(const char *path, struct sequence **out, struct diag_list *d);
void sequence_free(struct sequence *seq);
/* Whether outcome (a lead status: replied converted lost unsubscribed bounced) is in
 * the sequence's stop_on. */
int sequence_stops_on(const struct sequence *seq, const char *outcome);

const struct step *sequence_find_step(const struct sequence *seq, const char *id);

/* The sequences of a directory (every *.yaml and *.yml, by name) or of a file list. */
struct sequence_set;
enum sequence_status { SEQUENCE_UNKNOWN, SEQUENCE_VALID, SEQUENCE_INVALID };

/* A missing directory is an empty set; -1 only when it cannot be read. Invalid files,
 * unreadable ones and every file of a name defined twice are kept out of the set, their
 * problems added to d. */
int sequence_set_load_dir(const char *dir, struct sequence_set **out, struct diag_list *d);
/* The same for files; a reactivation may also name a sequence of `also` (may be NULL).
 * Returns -1 when a file cannot be read; *out is made all the same. */
int sequence_set_load_files(const char *const *paths, size_t n, const struct sequence_set *also,
			    struct sequence_set **out, struct diag_list *d);
void sequence_set_free(struct sequence_set *set);
/* A valid sequence by name, or NULL. */
const struct sequence *sequence_set_find(const struct sequence_set *set, const char *name);
int sequence_set_status(const struct sequence_set *set, const char *name);
size_t sequence_set_count(const struct sequence_set *set);
const struct sequence *sequence_set_at(const struct sequence_set *set, size_t i);
size_t sequence_set_invalid_count(const struct sequence_set *set);
/* Of the invalid files, those that could not be read at all (a failure, not bad input). */
size_t sequence_set_unreadable_count(const struct sequence_set *set);

#endif
