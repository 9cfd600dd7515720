/* names.c - see names.h. */
#include "followup/names.h"
#include "followup/util.h"

#include <locale.h>
#include <string.h>
#include <wctype.h>

#define NOT_UTF8 0x110000u      /* + the byte: a byte that starts no character */

/* The character p starts (*n its bytes), or NOT_UTF8 + the byte for one that is not
 * UTF-8 (a CLI argument in Latin-1): it stands for itself. */
static unsigned decode(const unsigned char *p, const unsigned char *end, size_t *n)
{
	size_t len = utf8_char_bytes(*p);
	unsigned c;

	if (len == 1 || len > (size_t)(end - p) || utf8_valid_prefix((const char *)p, len) != len) {
		*n = 1;
		return *p < 0x80 ? *p : NOT_UTF8 + *p;
	}
	c = *p & (0x7F >> len);
	for (size_t i = 1; i < len; i++)
		c = (c << 6) | (p[i] & 0x3F);
	*n = len;
	return c;
}

static int is_space(unsigned c)
{
	return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
	       c == 0x205F || c == 0x3000;
}

/* Zero-width space, non-joiner and joiner, word joiner, BOM: pasted in, never seen. */
static int is_invisible(unsigned c)
{
	return (c >= 0x200B && c <= 0x200D) || c == 0x2060 || c == 0xFEFF;
}

static unsigned fold(unsigned c)
{
	static locale_t utf8;
	static int tried;

	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
	if (c >= NOT_UTF8)
		return c;
	if (!tried) {   /* kept for the process: a store's collation asks once per row */
		utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
		tried = 1;
	}
	return utf8 ? (unsigned)towlower_l((wint_t)c, utf8) : c;
}

/* A name being read: the part p..end, then (for "Last, First") the part rest..rest_end. */
struct reader {
	const unsigned char *p, *end;
	const unsigned char *rest, *rest_end;
	int started;    /* a character has been read */
	int gap;        /* white space since then: a ' ' comes before the next character */
};

/* The next character as read (folded), ' ' for white space between words, -1 at the
 * end. */
static long next_char(struct reader *r)
{
	for (;;) {
		while (r->p < r->end) {
			size_t n;
			unsigned c = decode(r->p, r->end, &n);

			r->p += n;
			if (is_invisible(c))
				continue;
			if (is_space(c)) {
				r->gap = r->started;
				continue;
			}
			if (r->gap) {
				r->gap = 0;
				r->p -= n;      /* read again, after the space */
				return ' ';
			}
			r->started = 1;
			return (long)fold(c);
		}
		if (!r->rest)
			return -1;
		r->p = r->rest;
		r->end = r->rest_end;
		r->rest = NULL;
		r->gap = r->started;
	}
}

static int has_word(const unsigned char *p, const unsigned char *end)
{
	struct reader r = { p, end, NULL, NULL, 0, 0 };

	return next_char(&r) >= 0;
}

static void reader_init(struct reader *r, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	const unsigned char *comma = len ? memchr(p, ',', len) : NULL;

	*r = (struct reader){ p, end, NULL, NULL, 0, 0 };
	/* A comma is never a byte of a longer UTF-8 character. */
	if (comma && !memchr(comma + 1, ',', (size_t)(end - comma - 1)) &&
	    has_word(p, comma) && has_word(comma + 1, end)) {
		r->p = comma + 1;
		r->rest = p;
		r->rest_end = comma;
	}
}

int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	struct reader x, y;
	long c, d;

	reader_init(&x, a, alen);
	reader_init(&y, b, blen);
	do {
		c = next_char(&x);
		d = next_char(&y);
	} while (c == d && c >= 0);
	return c < d ? -1 : c > d;
}

int name_blank(const char *s)
{
	return !s || !has_word((const unsigned char *)s, (const unsigned char *)s + strlen(s));
}

int name_same(const char *a, const char *b)
{
	return a && b && !name_cmp(a, strlen(a), b, strlen(b)) && !name_blank(a);
}
