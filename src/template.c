/*
 * template.c - see template.h.
 */
#include "followup/template.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Sorted by name, for bsearch: a listing looks up some 50,000 variables. */
static const struct field_name {
	const char *name;
	enum template_field field;
} field_names[] = {
	{ "badge_id", TF_BADGE_ID }, { "company", TF_COMPANY }, { "country", TF_COUNTRY },
	{ "email", TF_EMAIL }, { "event", TF_EVENT }, { "first_name", TF_FIRST_NAME },
	{ "last_name", TF_LAST_NAME }, { "name", TF_NAME }, { "notes", TF_NOTES },
	{ "owner", TF_OWNER }, { "owner_email", TF_OWNER_EMAIL }, { "owner_name", TF_OWNER_NAME },
	{ "phone", TF_PHONE }, { "rating", TF_RATING }, { "scanned_at", TF_SCANNED_AT },
	{ "sender_name", TF_SENDER_NAME }, { "sequence", TF_SEQUENCE },
	{ "signature", TF_SIGNATURE }, { "step", TF_STEP }, { "timezone", TF_TIMEZONE },
	{ "title", TF_TITLE }, { "unsubscribe_url", TF_UNSUBSCRIBE_URL },
};

static int by_field_name(const void *key, const void *entry)
{
	return strcmp(key, ((const struct field_name *)entry)->name);
}

int template_field(const char *name)
{
	const struct field_name *f = bsearch(name, field_names, ARRAY_SIZE(field_names),
					     sizeof(*field_names), by_field_name);
	return f ? (int)f->field : -1;
}

int template_field_known(const char *name)
{
	if (starts_with(name, "extra.") && name[6])
		return 1;
	return template_field(name) >= 0;
}

/* One {{ ... }}: the variable name and the fallback, trimmed, as spans of the template. */
struct placeholder {
	const char *name, *fallback;    /* fallback NULL when there is no | */
	int name_len, fallback_len;
	const char *end;                /* just after the closing }} */
};

static void trim_span(const char **s, int *len)
{
	while (*len > 0 && isspace((unsigned char)**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

/* Parses the placeholder starting at open ("{{"). Returns 0, or -1 when unterminated. */
static int parse_placeholder(const char *open, struct placeholder *p)
{
	const char *inner = open + 2, *close = strstr(inner, "}}"), *bar;

	memset(p, 0, sizeof(*p));
	if (!close)
		return -1;
	bar = memchr(inner, '|', (size_t)(close - inner));
	p->name = inner;
	p->name_len = (int)((bar ? bar : close) - inner);
	trim_span(&p->name, &p->name_len);
	if (bar) {
		p->fallback = bar + 1;
		p->fallback_len = (int)(close - bar - 1);
		trim_span(&p->fallback, &p->fallback_len);
	}
	p->end = close + 2;
	return 0;
}

int template_check(const char *tmpl, template_report report, void *ctx)
{
	const char *s = tmpl, *open;
	int problems = 0;

	while ((open = strstr(s, "{{"))) {
		struct placeholder p;
		char *name;
		size_t offset = (size_t)(open - tmpl);

		if (parse_placeholder(open, &p)) {
			report(ctx, offset, "unterminated '{{': close it with '}}'");
			return problems + 1;
		}
		name = xstrndup(p.name, (size_t)p.name_len);
		if (!*name) {
			report(ctx, offset, "empty '{{}}'");
			problems++;
		} else if (!template_field_known(name)) {
			char *msg = xasprintf("unknown template variable '{{%s}}'", name);
			report(ctx, offset, msg);
			free(msg);
			problems++;
		}
		free(name);
		s = p.end;
	}
	return problems;
}

/* A template is parsed once, when its sequence is loaded, into the text before each
 * placeholder and the placeholder: a listing renders it 10,000 times. */
struct part {
	const char *literal;    /* in the template's text */
	size_t literal_len;
	char *name;             /* NULL for the text after the last placeholder */
	int field;              /* template_field(name) */
	const char *fallback;   /* NULL when there is no | */
	size_t fallback_len;
};

struct template {
	char *text;
	struct part *parts;
	size_t nparts;
};

int template_uses(const struct template *t, enum template_field field)
{
	for (size_t i = 0; t && i < t->nparts; i++)
		if (t->parts[i].name && t->parts[i].field == (int)field)
			return 1;
	return 0;
}

static struct part *add_part(struct template *t, const char *literal, size_t len)
{
	struct part *part;

	t->parts = xrealloc(t->parts, (t->nparts + 1) * sizeof(*t->parts));
	part = memset(&t->parts[t->nparts++], 0, sizeof(*part));
	part->literal = literal;
	part->literal_len = len;
	return part;
}

struct template *template_compile(const char *text)
{
	struct template *t = xcalloc(1, sizeof(*t));
	const char *s, *open;
	struct placeholder p;

	t->text = xstrdup(text);
	s = t->text;
	/* An unterminated {{ (which sequences check refuses) stays text. */
	while ((open = strstr(s, "{{")) && !parse_placeholder(open, &p)) {
		struct part *part = add_part(t, s, (size_t)(open - s));
		part->name = xstrndup(p.name, (size_t)p.name_len);
		part->field = template_field(part->name);
		part->fallback = p.fallback;
		part->fallback_len = (size_t)p.fallback_len;
		s = p.end;
	}
	add_part(t, s, strlen(s));
	return t;
}

void template_free(struct template *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nparts; i++)
		free(t->parts[i].name);
	free(t->parts);
	free(t->text);
	free(t);
}

/* Rendering into no buffer only finds whether the template would be held. */
static void add(struct strbuf *out, const char *s, size_t len)
{
	if (out)
		strbuf_add(out, s, len);
}

int template_render(const struct template *t, template_lookup lookup, void *ctx,
		    struct strbuf *out, char **held)
{
	int is_held = 0;

	*held = NULL;
	for (size_t i = 0; i < t->nparts; i++) {
		const struct part *part = &t->parts[i];
		const char *value;

		add(out, part->literal, part->literal_len);
		if (!part->name)
			continue;
		value = lookup(ctx, part->field, part->name);
		if (!str_empty(value))
			add(out, value, strlen(value));
		else if (part->fallback)
			add(out, part->fallback, part->fallback_len);
		else if (!is_held) {
			is_held = 1;
			*held = xasprintf("no value for {{%s}} and no fallback", part->name);
		}
	}
	return is_held;
}
