/*
 * template.c - see template.h.
 */
#include "followup/template.h"

#include <stdlib.h>
#include <string.h>

static const char *const known_fields[] = {
	"email", "first_name", "last_name", "name", "company", "title", "phone", "country",
	"timezone", "scanned_at", "notes", "rating", "owner", "event", "badge_id", "sequence",
	"step", "owner_name", "owner_email", "sender_name", "signature", "unsubscribe_url",
};

int template_field_known(const char *name)
{
	if (starts_with(name, "extra.") && name[6])
		return 1;
	for (size_t i = 0; i < sizeof(known_fields) / sizeof(*known_fields); i++)
		if (!strcmp(known_fields[i], name))
			return 1;
	return 0;
}

/* One {{ ... }}: the variable name and the fallback, trimmed. */
struct placeholder {
	char *name, *fallback;  /* fallback NULL when there is no | */
	const char *end;        /* just after the closing }} */
};

/* Parses the placeholder starting at open ("{{"). Returns 0, or -1 when unterminated. */
static int parse_placeholder(const char *open, struct placeholder *p)
{
	const char *close = strstr(open + 2, "}}");
	char *inner, *bar;

	memset(p, 0, sizeof(*p));
	if (!close)
		return -1;
	inner = xstrndup(open + 2, (size_t)(close - open - 2));
	if ((bar = strchr(inner, '|'))) {
		*bar = '\0';
		p->fallback = xstrdup(str_trim(bar + 1));
	}
	p->name = xstrdup(str_trim(inner));
	free(inner);
	p->end = close + 2;
	return 0;
}

static void placeholder_release(struct placeholder *p)
{
	free(p->name);
	free(p->fallback);
}

int template_check(const char *tmpl, template_report report, void *ctx)
{
	const char *s = tmpl, *open;
	int problems = 0;

	while ((open = strstr(s, "{{"))) {
		struct placeholder p;
		size_t offset = (size_t)(open - tmpl);
		if (parse_placeholder(open, &p)) {
			report(ctx, offset, "unterminated '{{': close it with '}}'");
			return problems + 1;
		}
		if (!*p.name) {
			report(ctx, offset, "empty '{{}}'");
			problems++;
		} else if (!template_field_known(p.name)) {
			char *msg = xasprintf("unknown template variable '{{%s}}'", p.name);
			report(ctx, offset, msg);
			free(msg);
			problems++;
		}
		s = p.end;
		placeholder_release(&p);
	}
	return problems;
}

int template_render(const char *tmpl, template_lookup lookup, void *ctx, struct strbuf *out,
		    char **held)
{
	const char *s = tmpl, *open;
	int is_held = 0;

	*held = NULL;
	while ((open = strstr(s, "{{"))) {
		struct placeholder p;
		const char *value;

		strbuf_add(out, s, (size_t)(open - s));
		if (parse_placeholder(open, &p)) {
			strbuf_addstr(out, open);   /* checked files never get here */
			return is_held;
		}
		value = lookup(ctx, p.name);
		if (str_empty(value))
			value = p.fallback;
		if (!value && !is_held) {
			is_held = 1;
			*held = xasprintf("no value for {{%s}} and no fallback", p.name);
		}
		if (value)
			strbuf_addstr(out, value);
		s = p.end;
		placeholder_release(&p);
	}
	strbuf_addstr(out, s);
	return is_held;
}
