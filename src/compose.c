/*
 * compose.c - renders a touch's templates with the lead, its owner and the config.
 */
#include "followup/compose.h"
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
	cJSON *extra;
	char scanned_at[32];
};

static const char *lead_field(const struct lead *l, const char *name)
{
	const struct { const char *name, *value; } fields[] = {
		{ "email", l->email }, { "first_name", l->first_name },
		{ "last_name", l->last_name }, { "company", l->company }, { "title", l->title },
		{ "phone", l->phone }, { "country", l->country }, { "timezone", l->timezone },
		{ "notes", l->notes }, { "rating", l->rating }, { "owner", l->owner },
		{ "badge_id", l->badge_id },
	};
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (!strcmp(fields[i].name, name))
			return fields[i].value;
	return NULL;
}

static const char *lookup(void *opaque, const char *name)
{
	struct lookup_ctx *ctx = opaque;
	const struct lead *l = &ctx->d->lead;
	const struct composed *c = ctx->c;

	if (starts_with(name, "extra.")) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(ctx->extra, name + 6);
		return cJSON_IsString(v) ? v->valuestring : NULL;
	}
	if (!strcmp(name, "name")) {
		return !str_empty(l->first_name) ? l->first_name : l->last_name;
	}
	if (!strcmp(name, "event"))
		return !str_empty(ctx->d->enrolment.event) ? ctx->d->enrolment.event : l->event;
	if (!strcmp(name, "sequence"))
		return ctx->d->enrolment.sequence;
	if (!strcmp(name, "step"))
		return ctx->d->touch.step;
	if (!strcmp(name, "owner_name"))
		return c->from_name;
	if (!strcmp(name, "owner_email"))
		return c->from_email;
	if (!strcmp(name, "sender_name"))
		return c->from_name;
	if (!strcmp(name, "signature"))
		return c->signature;
	if (!strcmp(name, "unsubscribe_url"))
		return c->unsubscribe_url;
	if (!strcmp(name, "scanned_at")) {
		/* Formatted on demand: switching time zones for every touch listed is slow. */
		time_format_local(l->contact_at, l->timezone, ctx->scanned_at,
				  sizeof(ctx->scanned_at));
		return ctx->scanned_at;
	}
	return lead_field(l, name);
}

/* Renders one template; the first held reason wins. */
static char *render(const char *tmpl, struct lookup_ctx *ctx, struct composed *c)
{
	struct strbuf out = STRBUF_INIT;
	char *held = NULL;

	if (!tmpl)
		return NULL;
	if (template_render(tmpl, lookup, ctx, &out, &held) && !c->held)
		c->held = held;
	else
		free(held);
	return strbuf_detach(&out);
}

static char *unsubscribe_url(const struct config *config, const struct lead *l)
{
	const char *url = config->unsubscribe_url, *token;
	struct strbuf sb = STRBUF_INIT;

	if (str_empty(url))
		return NULL;
	while ((token = strstr(url, "{token}"))) {
		strbuf_add(&sb, url, (size_t)(token - url));
		strbuf_addstr(&sb, l->token);
		url = token + strlen("{token}");
	}
	strbuf_addstr(&sb, url);
	return strbuf_detach(&sb);
}

static void pick_sender(const struct config *config, const struct lead *l, struct composed *c)
{
	const struct owner *owner = str_empty(l->owner) ? NULL : config_find_owner(config, l->owner);

	if (owner && !str_empty(owner->email)) {
		c->from_name = owner->name;
		c->from_email = owner->email;
		c->signature = owner->signature ? owner->signature : config->signature;
	} else {
		c->from_name = config->sender_name;
		c->from_email = config->sender_email;
		c->signature = config->signature;
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
static const char *earlier_subject(const struct sequence *seq, const struct step *step)
{
	const char *subject = NULL;

	for (const struct step *s = seq->steps; s < step; s++)
		if (s->channel == CHANNEL_EMAIL && s->subject)
			subject = s->subject;
	return subject;
}

int compose_touch(struct store *store, const struct config *config,
		  const struct sequence_set *sequences, const struct due_item *d,
		  struct composed *c)
{
	struct lookup_ctx ctx = { 0 };
	int ret = 0;

	memset(c, 0, sizeof(*c));
	c->sequence = sequence_set_find(sequences, d->enrolment.sequence);
	if (!c->sequence) {
		c->held = xasprintf("sequence '%s' is missing or invalid", d->enrolment.sequence);
		return 0;
	}
	c->step = sequence_find_step(c->sequence, d->touch.step);
	if (!c->step) {
		c->held = xasprintf("step '%s' is no longer in sequence '%s'", d->touch.step,
				    c->sequence->name);
		return 0;
	}
	pick_sender(config, &d->lead, c);
	c->unsubscribe_url = unsubscribe_url(config, &d->lead);
	ctx.d = d;
	ctx.c = c;
	ctx.extra = d->lead.extra ? cJSON_Parse(d->lead.extra) : NULL;
	if (c->step->channel == CHANNEL_EMAIL) {
		c->subject = render(c->step->subject, &ctx, c);
		if (c->step->thread)
			ret = thread_on_previous(store, d, c);
		if (!c->subject)        /* the email it follows never went: its own subject */
			c->subject = render(earlier_subject(c->sequence, c->step), &ctx, c);
		if (!c->subject && !c->held)
			c->held = xstrdup("no subject, and no earlier email to reply to");
		c->body = render(c->step->body, &ctx, c);
		if (str_empty(c->from_email) && !c->held)
			c->held = xstrdup("no sender address: set 'sender' or the owner's email in the config");
		c->text = xstrdup(c->subject ? c->subject : "");
	} else {
		c->text = render(c->step->task, &ctx, c);
	}
	cJSON_Delete(ctx.extra);
	return ret;
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
	free(c->held);
	memset(c, 0, sizeof(*c));
}
