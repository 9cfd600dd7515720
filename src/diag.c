/* diag.c - see diag.h. */
#include "followup/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void diag_add(struct diag_list *d, const char *file, int line, int col, const char *fmt, ...)
{
	struct strbuf msg = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	if (d->count == d->alloc) {
		d->alloc = d->alloc ? d->alloc * 2 : 8;
		d->items = xrealloc(d->items, d->alloc * sizeof(*d->items));
	}
	d->items[d->count++] = (struct diag){ xstrdup(file ? file : "-"), line, col,
					      strbuf_detach(&msg) };
}

size_t diag_count(const struct diag_list *d)
{
	return d->count;
}

static int by_position(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;
	int c = strcmp(x->file, y->file);

	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->col < y->col ? -1 : x->col > y->col;
}

void diag_print(struct diag_list *d, FILE *out, const char *prefix)
{
	/* A stable order: equal positions keep the order they were found in. */
	for (size_t i = 1; i < d->count; i++)
		for (size_t j = i; j > 0 && by_position(&d->items[j - 1], &d->items[j]) > 0; j--) {
			struct diag t = d->items[j];
			d->items[j] = d->items[j - 1];
			d->items[j - 1] = t;
		}
	for (size_t i = 0; i < d->count; i++) {
		fprintf(out, "%s", prefix);
		fputs_escaped(d->items[i].file, out);
		fprintf(out, ":%d:%d: ", d->items[i].line, d->items[i].col);
		fputs_escaped(d->items[i].message, out);
		fputc('\n', out);
	}
}

void diag_release(struct diag_list *d)
{
	for (size_t i = 0; i < d->count; i++) {
		free(d->items[i].file);
		free(d->items[i].message);
	}
	free(d->items);
	d->items = NULL;
	d->count = d->alloc = 0;
}
