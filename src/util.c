/* util.c - see util.h. */
#include "followup/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

char strbuf_empty[1];
static int quiet;

/* Exit 1, the work failed (SPEC section 4), not abort(): a SIGABRT and a core dump read
 * as a crash in a cron mail, and a script sees 134. _exit, because stdio or an atexit
 * handler may want memory too; what a send had claimed is settled by the next command,
 * as after a kill. */
void die_out_of_memory(void)
{
	fputs("followup: out of memory\n", stderr);
	_exit(FU_FAIL);
}

static void *die_oom(void)
{
	die_out_of_memory();
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	return p ? p : die_oom();
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	return p ? p : die_oom();
}

void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);
	return p ? p : die_oom();
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	return strbuf_detach(&sb);
}

void strbuf_add_escaped(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		size_t control;
		unsigned char c = (unsigned char)*s;

		if (c == '\n')
			strbuf_addstr(sb, "\\n");
		else if (c == '\r')
			strbuf_addstr(sb, "\\r");
		else if (c == '\t')
			strbuf_addstr(sb, "\\t");
		else if ((control = control_char_bytes(s)) == 1)
			strbuf_addf(sb, "\\x%02x", c);
		else if (control == 2)
			strbuf_addf(sb, "\\u%04x", (unsigned char)*++s);   /* C1: U+0080-U+009F */
		else
			strbuf_addch(sb, (char)c);
	}
}

void fputs_escaped(const char *s, FILE *out)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_add_escaped(&sb, s);
	fwrite(sb.buf ? sb.buf : "", 1, sb.len, out);
	strbuf_release(&sb);
}

/* One line on stderr, whatever the values in it hold, in one write: stderr has no
 * buffer, and an import rejecting 100,000 rows wrote each of their characters alone. */
static void report(const char *prefix, const char *fmt, va_list ap) FU_PRINTF(2, 0);
static void report(const char *prefix, const char *fmt, va_list ap)
{
	struct strbuf message = STRBUF_INIT, line = STRBUF_INIT;

	strbuf_vaddf(&message, fmt, ap);
	strbuf_addstr(&line, prefix);
	strbuf_add_escaped(&line, message.buf);
	strbuf_addch(&line, '\n');
	fwrite(line.buf, 1, line.len, stderr);
	strbuf_release(&message);
	strbuf_release(&line);
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("followup: ", fmt, ap);
	va_end(ap);
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	report("followup: warning: ", fmt, ap);
	va_end(ap);
}

void set_quiet(int q)
{
	quiet = q;
}

int is_quiet(void)
{
	return quiet;
}

void strbuf_init(struct strbuf *sb)
{
	sb->buf = strbuf_empty;
	sb->len = sb->alloc = 0;
}

void strbuf_grow(struct strbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;

	if (need <= sb->alloc)
		return;
	size_t alloc = sb->alloc ? sb->alloc : 64;
	while (alloc < need)
		alloc *= 2;
	if (sb->alloc == 0) {
		sb->buf = xmalloc(alloc);
		sb->buf[0] = '\0';
	} else {
		sb->buf = xrealloc(sb->buf, alloc);
	}
	sb->alloc = alloc;
}

void strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	strbuf_grow(sb, len);
	memcpy(sb->buf + sb->len, data, len);
	strbuf_setlen(sb, sb->len + len);
}

void strbuf_addstr(struct strbuf *sb, const char *s)
{
	strbuf_add(sb, s, strlen(s));
}

void strbuf_addch(struct strbuf *sb, int c)
{
	strbuf_grow(sb, 1);
	sb->buf[sb->len++] = (char)c;
	sb->buf[sb->len] = '\0';
}

void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list copy;
	int n;

	va_copy(copy, ap);
	n = vsnprintf(sb->buf + sb->len, sb->alloc ? sb->alloc - sb->len : 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return;
	if ((size_t)n >= (sb->alloc ? sb->alloc - sb->len : 0)) {
		strbuf_grow(sb, (size_t)n);
		vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, ap);
	}
	sb->len += (size_t)n;
}

void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

void strbuf_setlen(struct strbuf *sb, size_t len)
{
	if (sb->alloc == 0)
		return; /* the shared empty buffer must stay "" */
	sb->len = len;
	sb->buf[len] = '\0';
}

void strbuf_release(struct strbuf *sb)
{
	if (sb->alloc)
		free(sb->buf);
	strbuf_init(sb);
}

char *strbuf_detach(struct strbuf *sb)
{
	char *s = sb->alloc ? sb->buf : xstrdup("");
	strbuf_init(sb);
	return s;
}

int str_empty(const char *s)
{
	return !s || !*s;
}

char *xstrdup_nonempty(const char *s)
{
	return str_empty(s) ? NULL : xstrdup(s);
}

int is_directory(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* s without a leading BOM and ASCII space; *len its length less the space at its end. */
static const char *trimmed_span(const char *s, size_t *len)
{
	if (!s)
		s = "";
	if (starts_with(s, "\xEF\xBB\xBF"))
		s += 3;
	while (*s && isspace((unsigned char)*s))
		s++;
	*len = strlen(s);
	while (*len && isspace((unsigned char)s[*len - 1]))
		--*len;
	return s;
}

int str_same_trimmed_nocase(const char *a, const char *b)
{
	size_t alen, blen;

	a = trimmed_span(a, &alen);
	b = trimmed_span(b, &blen);
	return alen == blen && !strncasecmp(a, b, alen);
}

char *str_trim(char *s)
{
	char *start = s, *end;

	while (*start && isspace((unsigned char)*start))
		start++;
	end = start + strlen(start);
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	if (start != s)
		memmove(s, start, (size_t)(end - start) + 1);
	return s;
}

size_t utf8_valid_prefix(const char *str, size_t len)
{
	const unsigned char *start = (const unsigned char *)str, *s = start, *end = s + len;

	while (s < end) {
		unsigned char c = *s;
		size_t n, i;
		unsigned min, cp;

		if (c < 0x80) {
			s++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			n = 1, min = 0x80, cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2, min = 0x800, cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3, min = 0x10000, cp = c & 0x07;
		} else {
			break;
		}
		if ((size_t)(end - s) <= n)
			break;
		for (i = 1; i <= n && (s[i] & 0xC0) == 0x80; i++)
			cp = (cp << 6) | (s[i] & 0x3F);
		if (i <= n || cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			break;
		s += n + 1;
	}
	return (size_t)(s - start);
}

int utf8_valid(const char *s, size_t len)
{
	return utf8_valid_prefix(s, len) == len;
}

size_t utf8_char_bytes(unsigned char lead)
{
	if (lead < 0x80)
		return 1;
	if ((lead & 0xE0) == 0xC0)
		return 2;
	if ((lead & 0xF0) == 0xE0)
		return 3;
	return 4;
}

void text_position(const char *text, size_t len, size_t offset, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < offset && i < len; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xC0) != 0x80) {
			(*col)++;       /* a continuation byte is the same character */
		}
	}
}

char *path_absolute(const char *path)
{
	char *cwd, *absolute;

	if (path[0] == '/')
		return xstrdup(path);
	while (path[0] == '.' && path[1] == '/')
		for (path += 2; *path == '/'; path++)
			;
	if (!(cwd = getcwd(NULL, 0)))
		return NULL;
	if (!strcmp(path, "."))
		path = "";
	absolute = xasprintf("%s%s%s", cwd, strcmp(cwd, "/") && *path ? "/" : "", path);
	free(cwd);
	return absolute;
}

size_t control_char_bytes(const char *s)
{
	unsigned char c = (unsigned char)s[0];

	if (c < 0x20 || c == 0x7f)
		return 1;
	if (c == 0xc2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] <= 0x9f)
		return 2;       /* C1: U+0080-U+009F, which 8-bit terminals obey too */
	return 0;
}

/* The bytes of a control character that printing leaves out: all but the white space
 * (tab, line break), which prints as a space. */
static size_t unprinted_bytes(const char *s)
{
	return *s == '\t' || *s == '\n' || *s == '\r' ? 0 : control_char_bytes(s);
}

void fput_printable(const char *s, size_t len, FILE *f)
{
	const char *end = s + len;

	while (s < end) {
		size_t control = control_char_bytes(s);

		if (*s == '\t' || *s == '\n' || *s == '\r')
			putc(' ', f), s++;
		else if (control)
			s += control;
		else
			putc(*s++, f);
	}
}

void fputs_one_line(const char *s, FILE *f)
{
	while (s && *s) {
		size_t len = strcspn(s, "\r\n");

		fput_printable(s, len, f);
		s += len;
		if (*s) {
			fputs(" / ", f);
			s += s[0] == '\r' && s[1] == '\n' ? 2 : 1;
		}
	}
}

int utf8_chars(const char *s)
{
	int chars = 0;

	for (; *s; s++)
		chars += ((unsigned char)*s & 0xC0) != 0x80;
	return chars;
}

size_t utf8_prefix_bytes(const char *s, size_t chars)
{
	size_t len = 0;

	for (; s[len]; len++)
		if (((unsigned char)s[len] & 0xC0) != 0x80 && chars-- == 0)
			break;
	return len;
}

void fputs_column(const char *s, int width, FILE *f)
{
	int chars = 0;
	size_t len = 0, cut = 0;

	while (s[len]) {
		size_t unprinted = unprinted_bytes(s + len);

		if (unprinted) {                /* takes no room */
			len += unprinted;
			continue;
		}
		if (((unsigned char)s[len] & 0xC0) != 0x80) {  /* not a continuation byte */
			if (chars == width - 1)
				cut = len;      /* where "…" goes if it does not fit */
			chars++;
		}
		len++;
	}
	if (chars > width) {
		fput_printable(s, cut, f);
		fputs("\xe2\x80\xa6", f);     /* U+2026 */
		return;
	}
	fput_printable(s, len, f);
	for (; chars < width; chars++)
		putc(' ', f);
}

const char *temp_dir(void)
{
	const char *dir = getenv("TMPDIR");

	return str_empty(dir) ? "/tmp" : dir;
}

int temp_file(const char *prefix)
{
	char *path = xasprintf("%s/%s.XXXXXX", temp_dir(), prefix);
	int fd = mkstemp(path);

	if (fd >= 0)
		unlink(path);
	free(path);
	return fd;
}
