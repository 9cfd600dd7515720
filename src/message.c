/* message.c - see message.h. */
#include "followup/message.h"
#include "followup/util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define HEADER_LINE_MAX 78        /* RFC 5322 2.1.1: lines SHOULD not exceed it */
#define ENCODED_WORD_MAX 75       /* RFC 2047 2: the limit of one encoded-word */
#define ENCODED_WORD_OVERHEAD 12  /* "=?UTF-8?Q?" and "?=" */
#define ENCODED_WORD_MIN 24       /* room for the overhead and any one character */
#define QP_LINE_MAX 76            /* RFC 2045 6.7 (5) */
#define BODY_7BIT_LINE_MAX 78     /* longer lines go quoted-printable */
#define ADDRESS_MAX 254           /* RFC 5321 4.5.3.1.3 path, less the brackets */
#define FIELD_MAX 900             /* keeps any header line far below 998 octets */

static const char base64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Error messages quote data; this keeps control characters out of them. */
static char *printable_copy(const char *s)
{
	char *copy = xstrdup(s ? s : "");

	for (char *p = copy; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return copy;
}

static int invalid_value(char **errmsg, int code, const char *what, const char *value)
{
	char *shown = printable_copy(value);

	*errmsg = xasprintf("%s '%s'", what, shown);
	free(shown);
	return code;
}

static int is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* --- addresses and identifiers ------------------------------------------ */

int envelope_address_valid(const char *addr)
{
	const char *at;
	size_t len;

	if (!addr)
		return 0;
	len = strlen(addr);
	if (len == 0 || len > ADDRESS_MAX)
		return 0;
	for (const char *p = addr; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c >= 0x7f || strchr("<>()[]\"\\,;:", c))
			return 0;
	}
	at = strchr(addr, '@');
	return at && at != addr && at[1] && !strchr(at + 1, '@');
}

/* A msg-id as we write and accept it: "<left@right>" in printable ASCII. */
static int msg_id_valid(const char *id, size_t len)
{
	const char *at;

	if (len < 5 || len > FIELD_MAX || id[0] != '<' || id[len - 1] != '>')
		return 0;
	for (size_t i = 1; i + 1 < len; i++) {
		unsigned char c = (unsigned char)id[i];
		if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"')
			return 0;
	}
	at = memchr(id, '@', len);
	return at && at > id + 1 && at < id + len - 2;
}

/* References: one or more msg-ids separated by spaces. */
static int references_valid(const char *refs)
{
	const char *p = refs;
	int count = 0;

	while (*p) {
		size_t len;

		p += strspn(p, " ");
		len = strcspn(p, " ");
		if (len && !msg_id_valid(p, len))
			return 0;
		count += len > 0;
		p += len;
	}
	return count > 0;
}

/* Characters a URI may hold inside List-Unsubscribe's <...>: printable
 * ASCII without anything that could end the <...> or split the list. */
static int uri_chars_valid(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c >= 0x7f || strchr("<>\",", c))
			return 0;
	}
	return 1;
}

/* A URL for List-Unsubscribe: https and within FIELD_MAX. RFC 8058 3.1 asks one-click
 * links to be HTTPS (mailbox providers ignore others), and the URL holds the lead's
 * token, which unsubscribes that lead: over http anyone on the path reads it. */
static int unsubscribe_url_valid(const char *url)
{
	if (strncasecmp(url, "https://", 8))
		return 0;
	return strlen(url) <= FIELD_MAX && uri_chars_valid(url);
}

/*
 * Returns a newly allocated "mailto:..." for List-Unsubscribe, or NULL when
 * mailto is not acceptable. Accepts a bare address or a mailto: URL whose
 * address part is valid and whose ?query holds no characters that would
 * break the header.
 */
static char *unsubscribe_mailto_uri(const char *mailto)
{
	char *address, *query;
	char *uri = NULL;

	if (!strncasecmp(mailto, "mailto:", 7))
		mailto += 7;
	address = xstrdup(mailto);
	query = strchr(address, '?');
	if (query)
		*query++ = '\0';
	if (!envelope_address_valid(address))
		goto out;
	if (query && (strlen(query) > FIELD_MAX || !uri_chars_valid(query)))
		goto out;
	uri = xasprintf("mailto:%s%s%s", address, query ? "?" : "", query ? query : "");
out:
	free(address);
	return uri;
}

/* --- header text ---------------------------------------------------------- */

/*
 * Returns a copy of text fit for a header: C0 controls (CR and LF among them),
 * DEL and C1 controls each become one space, and the ends are trimmed. Returns
 * NULL when text is not valid UTF-8. A NULL text gives "". Caller frees.
 */
static char *header_text(const char *text)
{
	struct strbuf sb = STRBUF_INIT;
	const unsigned char *p = (const unsigned char *)(text ? text : "");

	if (!utf8_valid((const char *)p, strlen((const char *)p)))
		return NULL;
	while (*p) {
		size_t n = utf8_char_bytes(*p);

		if (control_char_bytes((const char *)p))
			strbuf_addch(&sb, ' ');
		else
			strbuf_add(&sb, p, n);
		p += n;
	}
	if (!sb.alloc)
		return xstrdup("");
	str_trim(sb.buf);
	sb.len = strlen(sb.buf);
	return strbuf_detach(&sb);
}

/* Writes one header field, folding at whitespace (RFC 5322 2.2.3) so that no
 * line exceeds HEADER_LINE_MAX unless a single word is longer. */
struct header_writer {
	struct strbuf *out;
	size_t line_start;  /* offset in out of the current physical line */
	size_t name_len;    /* "Subject:" */
	int has_word;       /* never fold before the first word of the field */
};

static void header_begin(struct header_writer *hw, struct strbuf *out, const char *name)
{
	hw->out = out;
	hw->line_start = out->len;
	hw->name_len = strlen(name) + 1;
	hw->has_word = 0;
	strbuf_addstr(out, name);
	strbuf_addch(out, ':');
}

static size_t header_column(const struct header_writer *hw)
{
	return hw->out->len - hw->line_start;
}

/* Adds word after `spaces` spaces; folds before the spaces when the word would
 * overflow the line. spaces == 0 glues the word to the previous one. */
static void header_add_word(struct header_writer *hw, size_t spaces,
			    const char *word, size_t len)
{
	if (spaces && hw->has_word &&
	    header_column(hw) + spaces + len > HEADER_LINE_MAX) {
		strbuf_addstr(hw->out, "\r\n");
		hw->line_start = hw->out->len;
	}
	for (size_t i = 0; i < spaces; i++)
		strbuf_addch(hw->out, ' ');
	strbuf_add(hw->out, word, len);
	hw->has_word = 1;
}

static void header_end(struct header_writer *hw)
{
	strbuf_addstr(hw->out, "\r\n");
}

/*
 * Whether text must go out as encoded-words: non-ASCII, or containing "=?"
 * (a decoder would take it for an encoded-word), or holding a word too long
 * to fit on a header line, which only encoded-words can split.
 */
static int needs_encoded_words(const struct header_writer *hw, const char *text)
{
	size_t longest_fitting = HEADER_LINE_MAX - hw->name_len - 1;

	if (!is_ascii(text) || strstr(text, "=?"))
		return 1;
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, " ");
		if (len > longest_fitting)
			return 1;
		p += len;
		p += strspn(p, " ");
	}
	return 0;
}

/* Plain words separated by spaces, each keeping the spaces before it. */
static void header_add_words(struct header_writer *hw, const char *text)
{
	const char *p = text;

	while (*p) {
		size_t spaces = strspn(p, " "), len;

		p += spaces;
		len = strcspn(p, " ");
		header_add_word(hw, hw->has_word ? spaces : 1, p, len);
		p += len;
	}
}

/* --- RFC 2047 encoded-words ----------------------------------------------- */

enum word_encoding { ENCODING_Q, ENCODING_B };

/* Characters a Q-encoded word may carry as they are, even in a phrase
 * (RFC 2047 5 (3)); space is written as "_". */
static int q_literal(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!*+-/", c));
}

static size_t q_cost(unsigned char c)
{
	return c == ' ' || q_literal(c) ? 1 : 3;
}

static size_t b_cost(size_t bytes)
{
	return (bytes + 2) / 3 * 4;
}

/* Q reads better for mostly-ASCII text; B is shorter for the rest. */
static enum word_encoding choose_encoding(const char *text)
{
	size_t q = 0, n = strlen(text);

	for (size_t i = 0; i < n; i++)
		q += q_cost((unsigned char)text[i]);
	return q <= b_cost(n) ? ENCODING_Q : ENCODING_B;
}

/*
 * How many bytes of text, in whole UTF-8 characters, go into the next
 * encoded-word of at most max_len characters (max_len >= ENCODED_WORD_MIN).
 * When the text does not fit, the word ends after a space if it can, so that
 * decoders which (against RFC 2047 6.2) keep the whitespace between encoded
 * words in a phrase still do not cut a word in two.
 */
static size_t encoded_word_take(const char *text, enum word_encoding enc, size_t max_len)
{
	size_t budget = max_len - ENCODED_WORD_OVERHEAD, taken = 0, cost = 0;
	size_t after_space = 0;

	while (text[taken]) {
		size_t n = utf8_char_bytes((unsigned char)text[taken]);
		size_t next = cost;

		if (enc == ENCODING_B) {
			next = b_cost(taken + n);
		} else {
			for (size_t i = 0; i < n; i++)
				next += q_cost((unsigned char)text[taken + i]);
		}
		if (next > budget)
			return after_space ? after_space : taken;
		cost = next;
		taken += n;
		if (text[taken - 1] == ' ')
			after_space = taken;
	}
	return taken;
}

static void base64_encode(struct strbuf *out, const unsigned char *in, size_t len)
{
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		strbuf_addch(out, base64_alphabet[(v >> 18) & 63]);
		strbuf_addch(out, base64_alphabet[(v >> 12) & 63]);
		strbuf_addch(out, i + 1 < len ? base64_alphabet[(v >> 6) & 63] : '=');
		strbuf_addch(out, i + 2 < len ? base64_alphabet[v & 63] : '=');
	}
}

static void encoded_word(struct strbuf *out, const char *text, size_t len,
			 enum word_encoding enc)
{
	strbuf_addstr(out, enc == ENCODING_B ? "=?UTF-8?B?" : "=?UTF-8?Q?");
	if (enc == ENCODING_B) {
		base64_encode(out, (const unsigned char *)text, len);
	} else {
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)text[i];
			if (c == ' ')
				strbuf_addch(out, '_');
			else if (q_literal(c))
				strbuf_addch(out, c);
			else
				strbuf_addf(out, "=%02X", c);
		}
	}
	strbuf_addstr(out, "?=");
}

/*
 * Writes text as a run of encoded-words separated by folding whitespace. The
 * first word is sized to fill the current line; the others get a line each.
 */
static void header_add_encoded_words(struct header_writer *hw, const char *text)
{
	enum word_encoding enc = choose_encoding(text);
	struct strbuf word = STRBUF_INIT;

	while (*text) {
		size_t room = HEADER_LINE_MAX - header_column(hw) - 1;
		size_t max_len = ENCODED_WORD_MAX;
		size_t taken;

		if (header_column(hw) + 1 + ENCODED_WORD_MIN <= HEADER_LINE_MAX &&
		    room < max_len)
			max_len = room;
		taken = encoded_word_take(text, enc, max_len);
		strbuf_reset(&word);
		encoded_word(&word, text, taken, enc);
		header_add_word(hw, 1, word.buf, word.len);
		text += taken;
	}
	strbuf_release(&word);
}

/* --- header fields ---------------------------------------------------------- */

/* RFC 5322 atext: what a display name may hold without quotes. */
static int atext_or_space(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr(" !#$%&'*+-/=?^_`{|}~", c));
}

/* A display name as a quoted-string, folded at its spaces if need be. */
static void header_add_quoted(struct header_writer *hw, const char *name)
{
	struct strbuf word = STRBUF_INIT;
	const char *p = name;

	while (*p) {
		size_t spaces = strspn(p, " "), len;
		int first = p == name;

		p += spaces;
		len = strcspn(p, " ");
		strbuf_reset(&word);
		if (first)
			strbuf_addch(&word, '"');
		for (size_t i = 0; i < len; i++) {
			if (p[i] == '"' || p[i] == '\\')
				strbuf_addch(&word, '\\');
			strbuf_addch(&word, p[i]);
		}
		p += len;
		if (!*p)
			strbuf_addch(&word, '"');
		header_add_word(hw, first ? 1 : spaces, word.buf, word.len);
	}
	strbuf_release(&word);
}

/* "Name: display name <addr>" or "Name: addr"; name is already header_text(). */
static void add_address_field(struct strbuf *out, const char *field,
			      const char *name, const char *addr)
{
	struct header_writer hw;
	char *angle_addr;

	header_begin(&hw, out, field);
	if (!*name) {
		header_add_word(&hw, 1, addr, strlen(addr));
		header_end(&hw);
		return;
	}
	if (needs_encoded_words(&hw, name)) {
		header_add_encoded_words(&hw, name);
	} else {
		int plain = 1;
		for (const char *p = name; *p; p++)
			plain &= atext_or_space((unsigned char)*p);
		if (plain)
			header_add_words(&hw, name);
		else
			header_add_quoted(&hw, name);
	}
	angle_addr = xasprintf("<%s>", addr);
	header_add_word(&hw, 1, angle_addr, strlen(angle_addr));
	free(angle_addr);
	header_end(&hw);
}

static void add_subject_field(struct strbuf *out, const char *subject)
{
	struct header_writer hw;

	header_begin(&hw, out, "Subject");
	if (needs_encoded_words(&hw, subject))
		header_add_encoded_words(&hw, subject);
	else
		header_add_words(&hw, subject);
	header_end(&hw);
}

static void add_date_field(struct strbuf *out, time_t date)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	/* Fixed English names: strftime's %a and %b follow the locale. */
	if (!gmtime_r(&date, &tm))
		memset(&tm, 0, sizeof(tm));
	strbuf_addf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
		    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
		    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void add_references_field(struct strbuf *out, const char *refs)
{
	struct header_writer hw;

	header_begin(&hw, out, "References");
	header_add_words(&hw, refs);
	header_end(&hw);
}

static void add_unsubscribe_fields(struct strbuf *out, const char *mailto_uri,
				   const char *url)
{
	struct header_writer hw;
	char *item;

	header_begin(&hw, out, "List-Unsubscribe");
	if (mailto_uri) {
		item = xasprintf("<%s>%s", mailto_uri, url ? "," : "");
		header_add_word(&hw, 1, item, strlen(item));
		free(item);
	}
	if (url) {
		item = xasprintf("<%s>", url);
		header_add_word(&hw, 1, item, strlen(item));
		free(item);
	}
	header_end(&hw);
	if (url)
		strbuf_addstr(out, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
}

/* --- body ----------------------------------------------------------------- */

/* Appends text with every line ending (LF, CRLF or CR) as CRLF; a last line
 * without an ending gets one. */
static void add_crlf_lines(struct strbuf *out, const char *text)
{
	while (*text) {
		size_t len = strcspn(text, "\r\n");

		strbuf_add(out, text, len);
		strbuf_addstr(out, "\r\n");
		text += len;
		if (text[0] == '\r' && text[1] == '\n')
			text += 2;
		else if (*text)
			text++;
	}
}

/* RFC 2045 2.7 7bit data, with our shorter line limit. text uses CRLF. */
static int fits_7bit(const struct strbuf *text)
{
	size_t line_len = 0;

	for (size_t i = 0; i < text->len; i++) {
		unsigned char c = (unsigned char)text->buf[i];

		if (c >= 0x80)
			return 0;
		if (c == '\r')
			continue;
		if (c == '\n') {
			line_len = 0;
			continue;
		}
		if (++line_len > BODY_7BIT_LINE_MAX)
			return 0;
	}
	return 1;
}

/* One line (without its CRLF) as quoted-printable, soft-broken at 76. */
static void qp_encode_line(struct strbuf *out, const char *line, size_t len)
{
	size_t column = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		int last = i + 1 == len;
		/* Space and tab are literal unless they would end the line. */
		int literal = (c >= 33 && c <= 126 && c != '=') ||
			      ((c == ' ' || c == '\t') && !last);
		size_t width = literal ? 1 : 3;
		/* A soft break needs one column for its "=", the line's end not. */
		size_t limit = last ? QP_LINE_MAX : QP_LINE_MAX - 1;

		if (column + width > limit) {
			strbuf_addstr(out, "=\r\n");
			column = 0;
		}
		if (literal)
			strbuf_addch(out, c);
		else
			strbuf_addf(out, "=%02X", c);
		column += width;
	}
	strbuf_addstr(out, "\r\n");
}

static void qp_encode(struct strbuf *out, const struct strbuf *text)
{
	const char *p = text->buf, *end = text->buf + text->len;

	while (p < end) {
		const char *eol = strstr(p, "\r\n");
		qp_encode_line(out, p, (size_t)(eol - p));
		p = eol + 2;
	}
}

/*
 * Body and signature as CRLF text, then encoded. Sets *encoding to the
 * Content-Transfer-Encoding.
 */
static void build_body(struct strbuf *out, const char *body, const char *signature,
		       const char **encoding)
{
	struct strbuf text = STRBUF_INIT;

	add_crlf_lines(&text, body ? body : "");
	if (!str_empty(signature)) {
		if (!starts_with(signature, "-- \n") && !starts_with(signature, "-- \r\n"))
			strbuf_addstr(&text, "-- \r\n");
		add_crlf_lines(&text, signature);
	}
	if (fits_7bit(&text)) {
		*encoding = "7bit";
		strbuf_add(out, text.buf, text.len);
	} else {
		*encoding = "quoted-printable";
		qp_encode(out, &text);
	}
	strbuf_release(&text);
}

/* --- the message ------------------------------------------------------------ */

static const char *set_or_null(const char *s)
{
	return str_empty(s) ? NULL : s;
}

static int check_identifiers(const struct message *m, char **errmsg)
{
	const char *in_reply_to = set_or_null(m->in_reply_to);
	const char *references = set_or_null(m->references);
	const char *url = set_or_null(m->unsubscribe_url);

	if (!envelope_address_valid(m->from_email))
		return invalid_value(errmsg, MESSAGE_EADDRESS, "invalid sender address", m->from_email);
	if (!envelope_address_valid(m->to_email))
		return invalid_value(errmsg, MESSAGE_EADDRESS, "invalid recipient address", m->to_email);
	if (!m->message_id || !msg_id_valid(m->message_id, strlen(m->message_id)))
		return invalid_value(errmsg, MESSAGE_EFIELD, "invalid message-id", m->message_id);
	if (in_reply_to && !msg_id_valid(in_reply_to, strlen(in_reply_to)))
		return invalid_value(errmsg, MESSAGE_EFIELD, "invalid in-reply-to", in_reply_to);
	if (references && !references_valid(references))
		return invalid_value(errmsg, MESSAGE_EFIELD, "invalid references", references);
	if (url && !unsubscribe_url_valid(url))
		return invalid_value(errmsg, MESSAGE_EFIELD, "invalid unsubscribe url", url);
	return 0;
}

static int utf8_error(char **errmsg, const char *what)
{
	*errmsg = xasprintf("%s is not valid UTF-8", what);
	return MESSAGE_EUTF8;
}

static int is_utf8(const char *text)
{
	return !text || utf8_valid(text, strlen(text));
}

/* The header-safe texts of a message; NULL until made. */
struct header_texts {
	char *from_name, *to_name, *subject, *mailto;
};

static void header_texts_release(struct header_texts *h)
{
	free(h->from_name);
	free(h->to_name);
	free(h->subject);
	free(h->mailto);
}

/* Checks every field of m and makes the texts that go into headers. */
static int prepare(const struct message *m, struct header_texts *h, char **errmsg)
{
	int ret = check_identifiers(m, errmsg);

	if (ret)
		return ret;
	if (!str_empty(m->unsubscribe_mailto)) {
		h->mailto = unsubscribe_mailto_uri(m->unsubscribe_mailto);
		if (!h->mailto)
			return invalid_value(errmsg, MESSAGE_EADDRESS, "invalid unsubscribe address",
					     m->unsubscribe_mailto);
	}
	if (!(h->from_name = header_text(m->from_name)))
		return utf8_error(errmsg, "sender name");
	if (!(h->to_name = header_text(m->to_name)))
		return utf8_error(errmsg, "recipient name");
	if (!(h->subject = header_text(m->subject)))
		return utf8_error(errmsg, "subject");
	if (!is_utf8(m->body))
		return utf8_error(errmsg, "body");
	if (!is_utf8(m->signature))
		return utf8_error(errmsg, "signature");
	return 0;
}

int message_build(const struct message *m, struct strbuf *out, char **errmsg)
{
	struct header_texts h = { NULL, NULL, NULL, NULL };
	struct strbuf head = STRBUF_INIT, body = STRBUF_INIT;
	const char *url = set_or_null(m->unsubscribe_url);
	const char *encoding = NULL;
	int ret;

	ret = prepare(m, &h, errmsg);
	if (ret)
		goto out;

	add_date_field(&head, m->date);
	add_address_field(&head, "From", h.from_name, m->from_email);
	add_address_field(&head, "To", h.to_name, m->to_email);
	add_subject_field(&head, h.subject);
	strbuf_addf(&head, "Message-ID: %s\r\n", m->message_id);
	if (set_or_null(m->in_reply_to))
		strbuf_addf(&head, "In-Reply-To: %s\r\n", m->in_reply_to);
	if (set_or_null(m->references))
		add_references_field(&head, m->references);
	build_body(&body, m->body, m->signature, &encoding);
	strbuf_addstr(&head, "MIME-Version: 1.0\r\n"
			     "Content-Type: text/plain; charset=UTF-8\r\n");
	strbuf_addf(&head, "Content-Transfer-Encoding: %s\r\n", encoding);
	if (h.mailto || url)
		add_unsubscribe_fields(&head, h.mailto, url);
	strbuf_addstr(&head, "\r\n");

	strbuf_add(out, head.buf, head.len);
	strbuf_add(out, body.buf, body.len);
out:
	header_texts_release(&h);
	strbuf_release(&head);
	strbuf_release(&body);
	return ret;
}

/* --- Message-ID and reply subject ------------------------------------------- */

/* 128 random bits. getrandom(2) only fails on kernels older than 3.17; the
 * Message-ID then stays unique through its time, pid and counter. */
static void random_hex(char hex[33])
{
	unsigned char bytes[16];
	size_t got = 0;

	while (got < sizeof(bytes)) {
		ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < sizeof(bytes)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t x = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec;
		for (size_t i = got; i < sizeof(bytes); i++) {
			x ^= x >> 33;
			x *= 0xFF51AFD7ED558CCDull;
			bytes[i] = (unsigned char)(x >> 56);
		}
	}
	for (size_t i = 0; i < sizeof(bytes); i++)
		snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
}

/* The domain of from_email if it is a plain host name, else "localhost". */
static const char *message_id_domain(const char *from_email)
{
	const char *at = from_email ? strrchr(from_email, '@') : NULL;
	const char *domain = at ? at + 1 : "";
	size_t len = strlen(domain);

	if (len == 0 || len > 253)
		return "localhost";
	for (const char *p = domain; *p; p++) {
		unsigned char c = (unsigned char)*p;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '-' || c == '.';
		if (!ok)
			return "localhost";
	}
	return domain;
}

char *message_id_new(const char *from_email)
{
	static unsigned counter;
	char hex[33];
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	if (!gmtime_r(&now.tv_sec, &tm))
		memset(&tm, 0, sizeof(tm));
	random_hex(hex);
	return xasprintf("<%04d%02d%02d%02d%02d%02d.%ld.%u.%s@%s>",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, (long)getpid(), counter++, hex,
			 message_id_domain(from_email));
}

char *message_reply_subject(const char *subject)
{
	if (!subject)
		subject = "";
	if (!strncasecmp(subject, "Re:", 3))
		return xstrdup(subject);
	return xasprintf("Re: %s", subject);
}

char *message_unsubscribe_link(const char *link, const char *token)
{
	struct strbuf sb = STRBUF_INIT;
	const char *field;

	while ((field = strstr(link, "{token}"))) {
		strbuf_add(&sb, link, (size_t)(field - link));
		strbuf_addstr(&sb, token);
		link = field + strlen("{token}");
	}
	strbuf_addstr(&sb, link);
	return strbuf_detach(&sb);
}

/* A token is hex: any will do for checking a link. */
static const char sample_token[] = "0123abcd";

int message_unsubscribe_url_ok(const char *url_template)
{
	char *url = message_unsubscribe_link(url_template, sample_token);
	int ok = unsubscribe_url_valid(url);

	free(url);
	return ok;
}

int message_unsubscribe_mailto_ok(const char *mailto_template)
{
	char *mailto = message_unsubscribe_link(mailto_template, sample_token);
	char *uri = unsubscribe_mailto_uri(mailto);

	free(mailto);
	free(uri);
	return uri != NULL;
}
