/*
 * csv_utf16.c - see csv_utf16.h.
 */
#include "followup/csv_utf16.h"

#include "followup/csv.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IN_SIZE (64 * 1024)
/* A UTF-16 code unit (2 bytes) is at most 3 bytes of UTF-8; a pair (4) is 4. */
#define OUT_SIZE (IN_SIZE / 2 * 3)

const char *csv_utf16_encoding(const unsigned char *p, size_t n, size_t *bom)
{
	*bom = 2;
	if (n >= 2 && p[0] == 0xFF && p[1] == 0xFE)
		return "UTF-16LE";
	if (n >= 2 && p[0] == 0xFE && p[1] == 0xFF)
		return "UTF-16BE";
	/* No mark: two ASCII characters with a NUL beside each. No UTF-8 text starts so
	 * (the reader refuses a NUL as binary data), so nothing readable is lost. */
	*bom = 0;
	if (n >= 4 && p[0] && p[0] < 0x80 && !p[1] && p[2] && p[2] < 0x80 && !p[3])
		return "UTF-16LE";
	if (n >= 4 && !p[0] && p[1] && p[1] < 0x80 && !p[2] && p[3] && p[3] < 0x80)
		return "UTF-16BE";
	return NULL;
}

/* Line breaks as the CSV reader counts them: CR, LF and CRLF are one each. */
struct line_count {
	long line;              /* the line the next byte is on, from 1 */
	int after_cr;
};

static void count_lines(struct line_count *lc, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r' || (s[i] == '\n' && !lc->after_cr))
			lc->line++;
		lc->after_cr = s[i] == '\r';
	}
}

static int write_all(int fd, const char *buf, size_t len, const char *name, char **errmsg)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*errmsg = xasprintf("cannot convert '%s' from UTF-16: %s", name,
					    n < 0 ? strerror(errno) : "short write (is the disk full?)");
			return CSV_EIO;
		}
		buf += n;
		len -= (size_t)n;
	}
	return CSV_OK;
}

/* What is wrong with UTF-16 text that iconv stopped at (errno err) with left bytes of
 * it unconverted, at the end of the file when at_end. */
static const char *invalid_utf16(int err, size_t left, int at_end)
{
	if (err == EILSEQ)
		return "not valid UTF-16 (half of a surrogate pair)";
	if (at_end && left % 2)
		return "UTF-16 text with an odd number of bytes (the file is cut short?)";
	return "UTF-16 text ending in half of a surrogate pair (the file is cut short?)";
}

/* One conversion: iconv's state, its buffers, and the lines written so far. */
struct conversion {
	iconv_t cd;
	int to;
	const char *name;
	char in[IN_SIZE], out[OUT_SIZE];
	size_t len;             /* bytes in in[], not converted yet */
	struct line_count lc;
};

/* Converts what c->in holds into c->to, leaving in it what is not converted yet (a
 * character cut by the end of the block). at_end: no more input follows. */
static int convert_block(struct conversion *c, int at_end, char **errmsg)
{
	char *inp = c->in;
	size_t inleft = c->len;
	int err;

	do {
		char *outp = c->out;
		size_t outleft = sizeof(c->out);

		err = iconv(c->cd, &inp, &inleft, &outp, &outleft) == (size_t)-1 ? errno : 0;
		count_lines(&c->lc, c->out, (size_t)(outp - c->out));
		if (write_all(c->to, c->out, (size_t)(outp - c->out), c->name, errmsg))
			return CSV_EIO;
	} while (err == E2BIG);
	if (err == EILSEQ || (inleft && at_end)) {
		*errmsg = xasprintf("%s:%ld: %s", c->name, c->lc.line,
				    invalid_utf16(err, inleft, at_end));
		return CSV_EFORMAT;
	}
	memmove(c->in, inp, inleft);    /* EINVAL: a character the next read completes */
	c->len = inleft;
	return CSV_OK;
}

int csv_utf16_to_utf8(int from, int to, const char *encoding, const char *name,
		      char **errmsg)
{
	struct conversion *c;
	iconv_t cd = iconv_open("UTF-8", encoding);
	int ret;

	if (cd == (iconv_t)-1) {
		*errmsg = xasprintf("cannot convert '%s' from %s: %s", name, encoding,
				    strerror(errno));
		return CSV_EIO;
	}
	c = xcalloc(1, sizeof(*c));
	c->cd = cd;
	c->to = to;
	c->name = name;
	c->lc.line = 1;
	ret = write_all(to, "\xEF\xBB\xBF", 3, name, errmsg);
	while (!ret) {
		ssize_t n = read(from, c->in + c->len, sizeof(c->in) - c->len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*errmsg = xasprintf("cannot read '%s': %s", name, strerror(errno));
			ret = CSV_EIO;
			break;
		}
		c->len += (size_t)n;
		ret = convert_block(c, n == 0, errmsg);
		if (n == 0)
			break;
	}
	iconv_close(cd);
	free(c);
	return ret;
}
