/*
 * template.h - {{field}}, {{field|fallback}} and {{extra.Header}} in subjects, bodies and
 * task texts (SPEC section 6). Mail is text/plain: nothing is escaped.
 */
#ifndef FOLLOWUP_TEMPLATE_H
#define FOLLOWUP_TEMPLATE_H

#include "followup/util.h"


/* The variables a template may name, besides extra.*. */
enum template_field {
	TF_BADGE_ID, TF_COMPANY, TF_COUNTRY, TF_EMAIL, TF_EVENT, TF_FIRST_NAME, TF_LAST_NAME,
	TF_NAME, TF_NOTES, TF_OWNER, TF_OWNER_EMAIL, TF_OWNER_NAME, TF_PHONE, TF_RATING,
	TF_SCANNED_AT, TF_SENDER_NAME, TF_SEQUENCE, TF_SIGNATURE, TF_STEP, TF_TIMEZONE, TF_TITLE,
	TF_UNSUBSCRIBE_URL,
};
/* The field a variable names ("first_name"), or -1 (also for extra.*). */
int template_field(const char *name);

/* 1 when name is a field templates may use (lead fields, event, sequence, step,
 * owner_name, owner_email, sender_name, signature, unsubscribe_url, extra.*). */
int template_field_known(const char *name);

/* Calls report(ctx, offset, message) for each problem in tmpl: an unknown variable, an
 * unterminated or empty {{ }}. offset is the byte where the problem starts. Returns the
 * number of problems. */
typedef void (*template_report)(void *ctx, size_t offset, const char *message);
int template_check(const char *tmpl, template_report report, void *ctx);

/* A template parsed for rendering; an unterminated {{ stays text. */
struct template;
struct template *template_compile(const char *text);
void template_free(struct template *t);

/* 1 when t names the field somewhere ({{signature}}), else 0. */
int template_uses(const struct template *t, enum template_field field);

/* Returns the value of a variable, or NULL when it has none: field is its
 * template_field(), -1 for extra.* (and unknown names), name the variable as written. */
typedef const char *(*template_lookup)(void *ctx, int field, const char *name);

/* Renders t into out. A variable that is empty and has no fallback makes it return 1
 * with *held set to an allocated reason ("no value for {{first_name}}"); the rest is
 * still rendered. 0 on success. With out NULL it only finds whether t is held. */
int template_render(const struct template *t, template_lookup lookup, void *ctx,
		    struct strbuf *out, char **held);

#endif
