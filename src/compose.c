/*
 * compose.c - renders a touch's templates with the lead, its owner and the config.
 */
#include "followup/compose.h"
#include "followup/message.h"
#include "followup/template.h"
#include "followup/timeutil.h"
#include "followup/util.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct lookup_ctx {
	const struct due_item *d;
	const struct composed *c;
	const struct owner *owner;
	cJSON *extra;           /* the lead's extra columns, parsed when a template asks */
	int extra_parsed;
	char scanned_at[32];
};

static const char *extra_field(struct lookup_ctx *ctx, const char *key)
{
	const cJSON *v;

	if (!ctx->extra_parsed) {
		ctx->extra_parsed = 1;
		ctx->extra = ctx->d->lead.extra ? cJSON_Parse(ctx->d->lead.extra) : NULL;
	}
	v = cJSON_GetObjectItemCaseSensitive(ctx->extra, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *lookup(void *opaque, int field, const char *name)
{
	struct lookup_ctx *ctx = opaque;
	const struct lead *l = &ctx->d->lead;
	const struct composed *c = ctx->c;

	if (field < 0)
		return starts_with(name, "extra.") ? extra_field(ctx, name + 6) : NULL;
	switch ((enum template_field)field) {
	case TF_BADGE_ID: return l->badge_id;
	case TF_COMPANY: return l->company;
	case TF_COUNTRY: return l->country;
	case TF_EMAIL: return l->email;
	case TF_EVENT: return !str_empty(ctx->d->enrolment.event) ? ctx->d->enrolment.event : l->event;
	case TF_FIRST_NAME: return l->first_name;
	case TF_LAST_NAME: return l->last_name;
	case TF_NAME: return !str_empty(l->first_name) ? l->first_name : l->last_name;
	case TF_NOTES: return l->notes;
	case TF_OWNER: return l->owner;
	case TF_OWNER_EMAIL: return c->from_email;
	case TF_OWNER_NAME: return c->from_name;
	case TF_PHONE: return l->phone;
	case TF_RATING: return l->rating;
	case TF_SCANNED_AT:
		/* Formatted on demand: switching time zones for every touch listed is slow. */
		time_format_local(l->contact_at, l->timezone, ctx->scanned_at,
				  sizeof(ctx->scanned_at));
		return ctx->scanned_at;
	case TF_SENDER_NAME: return c->from_name;
	case TF_SEQUENCE: return ctx->d->enrolment.sequence;
	case TF_SIGNATURE: return c->signature;
	case TF_STEP: return ctx->d->touch.step;
	case TF_TIMEZONE: return l->timezone;
	case TF_TITLE: return l->title;
	case TF_UNSUBSCRIBE_URL: return c->unsubscribe_url;
	}
	return NULL;
}

/* Renders tmpl into out, or with out NULL only finds whether it holds the touch (a
 * listing shows no body); the first held reason wins. */
static void render_into(const struct template *tmpl, struct lookup_ctx *ctx,
			struct composed *c, struct strbuf *out)
{
	char *held = NULL;

	if (template_render(tmpl, lookup, ctx, out, &held) && !c->held)
		c->held = held;
	else
		free(held);
}

static char *render(const struct template *tmpl, struct lookup_ctx *ctx, struct composed *c)
{
	struct strbuf out = STRBUF_INIT;

	if (!tmpl)
		return NULL;
	strbuf_grow(&out, 256);     /* a subject or task fits at once; a body grows it */
	render_into(tmpl, ctx, c, &out);
	return strbuf_detach(&out);
}

/* An unsubscribe link of the config for this lead; NULL when not set. */
static char *unsubscribe_link(const char *link, const struct lead *l)
{
	return str_empty(link) ? NULL : message_unsubscribe_link(link, l->token);
}

/* The mail is signed by whoever it is from: a rep without a signature of their own signs
 * with their name, never with the company sender's signature, which names someone else;
 * the sender without one signs with its name too, rather than "Best regards," and
 * nobody. */
static void pick_sender(const struct config *config, const struct lead *l, struct composed *c)
{
	const struct owner *owner = str_empty(l->owner) ? NULL : config_find_owner(config, l->owner);

	if (owner && !str_empty(owner->email)) {
		c->from_name = owner->name;
		c->from_email = owner->email;
		c->signature = !str_empty(owner->signature) ? owner->signature : owner->name;
	} else {
		c->from_name = config->sender_name;
		c->from_email = config->sender_email;
		c->signature = !str_empty(config->signature) ? config->signature
							      : config->sender_name;
	}
}

/* A thread: answer the enrolment's last email; with no subject of its own the step
 * takes "Re: " and that email's subject. */
static int thread_on_previous(struct store *store, const struct due_item *d,
			      struct composed *c)
{
	struct touch prev;
	int found = store_enrolment_last_email(store, d->enrolment.id, &prev);

	if (found < 0)
		return -1;
	if (found) {
		c->in_reply_to = xstrdup(prev.message_id);
		if (!c->subject && prev.subject) {
			c->subject = !strncasecmp(prev.subject, "Re:", 3) ? xstrdup(prev.subject)
				: xasprintf("Re: %s", prev.subject);
		}
		touch_release(&prev);
	}
	return 0;
}

/* The subject of the nearest email step before step that has one, or NULL. */
static const struct template *earlier_subject(const struct sequence *seq,
					      const struct step *step)
{
	const struct template *subject = NULL;

	for (const struct step *s = seq->steps; s < step; s++)
		if (s->channel == CHANNEL_EMAIL && s->subject)
			subject = s->subject;
	return subject;
}

static int compose(struct store *store, const struct config *config,
		   const struct sequence_set *sequences, const struct due_item *d,
		   struct composed *c, int with_body)
{
	struct lookup_ctx ctx = { 0 };
	int ret = 0;

	memset(c, 0, sizeof(*c));
	c->sequence = sequence_set_find(sequences, d->enrolment.sequence);
	if (!c->sequence) {
		c->held = sequence_set_status(sequences, d->enrolment.sequence) == SEQUENCE_INVALID
			? xasprintf("sequence '%s' is invalid ('followup sequences check' says"
				    " where)", d->enrolment.sequence)
			: xasprintf("sequence '%s' is not in the sequences directory",
				    d->enrolment.sequence);
		return 0;
	}
	c->step = sequence_find_step(c->sequence, d->touch.step);
	if (!c->step) {
		c->held = xasprintf("step '%s' is no longer in sequence '%s'", d->touch.step,
				    c->sequence->name);
		return 0;
	}
	/* The engine gives a touch its step's channel when the file changes; should it not
	 * have yet, an email step's text must not go out as a call's, nor the reverse. */
	if ((int)c->step->channel != channel_from_name(d->touch.channel)) {
		c->held = xasprintf("step '%s' is now a %s step", d->touch.step,
				    channel_name(c->step->channel));
		return 0;
	}
	pick_sender(config, &d->lead, c);
	c->unsubscribe_url = unsubscribe_link(config->unsubscribe_url, &d->lead);
	c->unsubscribe_mailto = unsubscribe_link(config->unsubscribe_mailto, &d->lead);
	ctx.d = d;
	ctx.c = c;
	if (c->step->channel == CHANNEL_EMAIL) {
		c->subject = render(c->step->subject, &ctx, c);
		if (c->step->thread)
			ret = thread_on_previous(store, d, c);
		if (!c->subject)        /* the email it follows never went: its own subject */
			c->subject = render(earlier_subject(c->sequence, c->step), &ctx, c);
		if (!c->subject && !c->held)
			c->held = xstrdup("no subject, and no earlier email to reply to");
		if (with_body)
			c->body = render(c->step->body, &ctx, c);
		else if (c->step->body)
			render_into(c->step->body, &ctx, c, NULL);
		if (!template_uses(c->step->body, TF_SIGNATURE))
			c->signature_below = c->signature;
		if (str_empty(c->from_email) && !c->held)
			c->held = xstrdup("no sender address: set 'sender' or the owner's email in the config");
		/* Mail goes out without SMTPUTF8: an address beyond ASCII cannot be written to. */
		if (!envelope_address_valid(d->lead.email) && !c->held)
			c->held = xasprintf("'%s' is not an ASCII address, which followup cannot send"
					    " to: call or write from a mail client", d->lead.email);
		c->text = xstrdup(c->subject ? c->subject : "");
	} else {
		c->text = render(c->step->task, &ctx, c);
	}
	cJSON_Delete(ctx.extra);
	return ret;
}

int compose_touch(struct store *store, const struct config *config,
		  const struct sequence_set *sequences, const struct due_item *d,
		  struct composed *out)
{
	return compose(store, config, sequences, d, out, 1);
}

const char *compose_from_email(const struct config *config, const struct lead *l)
{
	struct composed c = { 0 };

	pick_sender(config, l, &c);
	return c.from_email;
}

int compose_listing(struct store *store, const struct config *config,
		    const struct sequence_set *sequences, const struct due_item *d,
		    struct composed *out)
{
	return compose(store, config, sequences, d, out, 0);
}

void composed_release(struct composed *c)
{
	if (!c)
		return;
	free(c->subject);
	free(c->body);
	free(c->text);
	free(c->in_reply_to);
	free(c->unsubscribe_url);
	free(c->unsubscribe_mailto);
	free(c->held);
	memset(c, 0, sizeof(*c));
}
