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
	const struct field_name *f = bsearch(name, field_names,
					     sizeof(field_names) / sizeof(*field_names),
					     sizeof(*field_names), by_field_name);
	return f ? (int)f->field : -1;
}

int template_field_known(const char *name)
{
	if (starts_with(name, "extra.") && name[6])
		return 1;
	return template_field(name) >= 0;
}

/* One {{ ... }}: the variable name and the fallback, trimmed, as spans of the template
 * (rendering a 10,000-line listing parses placeholders 50,000 times: no allocation). */
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

/* The name as a string: in buf when it fits (it nearly always does), else allocated. */
static char *placeholder_name(const struct placeholder *p, char *buf, size_t size)
{
	if ((size_t)p->name_len >= size)
		return xstrndup(p->name, (size_t)p->name_len);
	memcpy(buf, p->name, (size_t)p->name_len);
	buf[p->name_len] = '\0';
	return buf;
}

int template_check(const char *tmpl, template_report report, void *ctx)
{
	const char *s = tmpl, *open;
	int problems = 0;

	while ((open = strstr(s, "{{"))) {
		struct placeholder p;
		char buf[128], *name;
		size_t offset = (size_t)(open - tmpl);

		if (parse_placeholder(open, &p)) {
			report(ctx, offset, "unterminated '{{': close it with '}}'");
			return problems + 1;
		}
		name = placeholder_name(&p, buf, sizeof(buf));
		if (!*name) {
			report(ctx, offset, "empty '{{}}'");
			problems++;
		} else if (!template_field_known(name)) {
			char *msg = xasprintf("unknown template variable '{{%s}}'", name);
			report(ctx, offset, msg);
			free(msg);
			problems++;
		}
		if (name != buf)
			free(name);
		s = p.end;
	}
	return problems;
}

/* Rendering into no buffer only finds whether the template would be held. */
static void add(struct strbuf *out, const char *s, size_t len)
{
	if (out)
		strbuf_add(out, s, len);
}

int template_render(const char *tmpl, template_lookup lookup, void *ctx, struct strbuf *out,
		    char **held)
{
	const char *s = tmpl, *open;
	int is_held = 0;

	*held = NULL;
	while ((open = strstr(s, "{{"))) {
		struct placeholder p;
		char buf[128], *name;
		const char *value;

		add(out, s, (size_t)(open - s));
		if (parse_placeholder(open, &p)) {
			add(out, open, strlen(open));   /* checked files never get here */
			return is_held;
		}
		name = placeholder_name(&p, buf, sizeof(buf));
		value = lookup(ctx, name);
		if (!str_empty(value))
			add(out, value, strlen(value));
		else if (p.fallback)
			add(out, p.fallback, (size_t)p.fallback_len);
		else if (!is_held) {
			is_held = 1;
			*held = xasprintf("no value for {{%s}} and no fallback", name);
		}
		if (name != buf)
			free(name);
		s = p.end;
	}
	add(out, s, strlen(s));
	return is_held;
}
