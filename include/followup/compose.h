/*
 * compose.h - a due touch rendered for a person or for the wire: who it is from, the
 * subject, body or task text, threading, and why it is held back, if it is.
 */
#ifndef FOLLOWUP_COMPOSE_H
#define FOLLOWUP_COMPOSE_H

#include "followup/config.h"
#include "followup/sequence.h"
#include "followup/store.h"

struct composed {
	const struct sequence *sequence;    /* NULL when the file is missing or invalid */
	const struct step *step;            /* NULL when the step is gone from the file */
	const char *from_name, *from_email; /* the lead's owner, else the sender */
	const char *signature;              /* the owner's, else their name; else the sender's */
	const char *signature_below;        /* what goes under "-- ": the signature, or NULL
	                                     * when the body places {{signature}} itself */
	char *subject, *body;               /* email steps */
	char *text;                         /* the task text, or the subject of an email */
	char *in_reply_to;                  /* thread: the Message-ID answered, else NULL */
	char *unsubscribe_url;              /* with the lead's token, NULL when not set */
	char *unsubscribe_mailto;           /* the same */
	char *held;                         /* why it cannot go out as is, NULL when it can */
};

/* The address an email to l goes out from (its owner's, else the sender's), or NULL:
 * what compose_touch() would give, without the work of composing. */
const char *compose_from_email(const struct config *config, const struct lead *l);
/* Renders touch d->touch of lead d->lead. Returns 0 (out->held says whether it can be
 * used) or -1 on a store error. Release out with composed_release(). */
int compose_touch(struct store *store, const struct config *config,
		  const struct sequence_set *sequences, const struct due_item *d,
		  struct composed *out);
/* The same for a listing, which shows no body: the body is checked, not rendered
 * (out->body stays NULL). */
int compose_listing(struct store *store, const struct config *config,
		    const struct sequence_set *sequences, const struct due_item *d,
		    struct composed *out);
void composed_release(struct composed *c);

#endif
