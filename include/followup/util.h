/*
 * util.h - allocation that cannot fail, growable strings, and error reporting.
 *
 * Conventions used across followup:
 *  - x*alloc() end the process on out-of-memory, with "followup: out of memory" and
 *    exit 1 (like git's xmalloc): callers need not check.
 *  - Functions that can fail return 0 on success and a negative code on failure.
 *  - error() prints "followup: <message>" to stderr and returns -1, so that
 *    `return error("cannot open '%s': %s", path, strerror(errno));` reads naturally.
 *  - Only main() exits; handlers return an exit status (see enum fu_exit).
 */
#ifndef FOLLOWUP_UTIL_H
#define FOLLOWUP_UTIL_H

#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>

#define FU_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Process exit status, shared by every command (SPEC section 4). */
enum fu_exit {
	FU_OK = 0,     /* success */
	FU_FAIL = 1,   /* the work failed: unreadable file, SMTP down, store error */
	FU_USAGE = 2,  /* bad option or invalid input */
};

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* What x*alloc() do when memory runs out, for the libraries that say so in their own
 * way (libyaml's YAML_MEMORY_ERROR) rather than fail an allocation of ours. */
void die_out_of_memory(void) __attribute__((noreturn));
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string; caller frees. */
char *xasprintf(const char *fmt, ...) FU_PRINTF(1, 2);

/* Prints "followup: <fmt>\n" to stderr and returns -1. */
int error(const char *fmt, ...) FU_PRINTF(1, 2);
/* Prints "followup: warning: <fmt>\n" to stderr unless warnings are silenced. */
void warning(const char *fmt, ...) FU_PRINTF(1, 2);
/* --quiet silences warnings and progress (errors are always printed). */
void set_quiet(int quiet);
int is_quiet(void);

/* A growable NUL-terminated string. STRBUF_INIT is an empty, unallocated buffer;
 * sb.buf is never NULL after init (points at a static "" until the first add). */
struct strbuf {
	char *buf;
	size_t len;
	size_t alloc;
};
extern char strbuf_empty[];
#define STRBUF_INIT { strbuf_empty, 0, 0 }

void strbuf_init(struct strbuf *sb);
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, int c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) FU_PRINTF(2, 3);
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap) FU_PRINTF(2, 0);
void strbuf_setlen(struct strbuf *sb, size_t len);
#define strbuf_reset(sb) strbuf_setlen((sb), 0)
/* Frees the buffer and leaves sb empty and reusable. */
void strbuf_release(struct strbuf *sb);
/* Hands the buffer to the caller (who frees it) and leaves sb empty. */
char *strbuf_detach(struct strbuf *sb);

/* Small string helpers. */
int str_empty(const char *s);                   /* NULL or "" */
char *xstrdup_nonempty(const char *s);          /* a copy, or NULL when str_empty */
int is_directory(const char *path);
/* Prints s on one line: its line breaks (CRLF, LF or CR, as in booth notes) become " / ",
 * a tab a space, its other control characters are left out. */
void fputs_one_line(const char *s, FILE *f);
/* Writes s with its control characters escaped (\n, \r, \t, \x1b): a value from a
 * file cannot break a message over two lines or send a terminal escape. error() and
 * warning() print their message so. */
void fputs_escaped(const char *s, FILE *out);
void strbuf_add_escaped(struct strbuf *sb, const char *s);     /* the same, appended */
/* Prints UTF-8 s in a column `width` characters wide: padded with spaces, or cut at a
 * character boundary with "…" as its last character; printed as fput_printable does. */
void fputs_column(const char *s, int width, FILE *f);
/* The bytes of the control character s starts with (C0, DEL, or a C1 in UTF-8), or 0. */
size_t control_char_bytes(const char *s);
/* Writes s[0..len) without its control characters, tab and line breaks as spaces: a
 * value from a CSV must not drive the terminal it is shown on. */
void fput_printable(const char *s, size_t len, FILE *f);
int utf8_chars(const char *s);                  /* characters, not bytes, of UTF-8 s */
/* The bytes of s's first `chars` characters (all of s when it has fewer). */
size_t utf8_prefix_bytes(const char *s, size_t chars);
int starts_with(const char *s, const char *prefix);
char *str_trim(char *s);                        /* trims ASCII space in place, returns s */
/* 1 when a and b (NULL is "") are the same text but for ASCII case, ASCII space at
 * either end and a UTF-8 BOM at the start: how a header cell is told again. */
int str_same_trimmed_nocase(const char *a, const char *b);
int utf8_valid(const char *s, size_t len);      /* 1 if s[0..len) is valid UTF-8 */
/* The bytes of the longest prefix of s[0..len) that is valid UTF-8. */
size_t utf8_valid_prefix(const char *s, size_t len);
/* The bytes of the character that starts with lead, in text known to be valid UTF-8. */
size_t utf8_char_bytes(unsigned char lead);
/* The 1-based line and column (in characters) of byte `offset` of text[0..len): libyaml
 * reports bad bytes (invalid UTF-8, control characters) by offset, not by mark. */
void text_position(const char *text, size_t len, size_t offset, int *line, int *col);

/* path made absolute against the current directory (leading "./" dropped; nothing else
 * is resolved, so the file need not exist). Returns an allocated string, or NULL with
 * errno set when the current directory cannot be found. */
char *path_absolute(const char *path);

/* Where temporary files go: $TMPDIR, else /tmp. */
const char *temp_dir(void);
/* A new 0600 file in temp_dir() with no name (unlinked at once, so nothing is left
 * behind by a crash), open for reading and writing; -1 and errno when it cannot be. */
int temp_file(const char *prefix);

#endif
