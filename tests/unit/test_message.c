/* test_message.c - the RFC 5322 message builder. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "followup/message.h"
#include "followup/util.h"

#define MARCH_5_2026_0900 ((time_t)1772701200)

static struct message base_message(void)
{
	struct message m = {
		.from_name = "Alex Rep",
		.from_email = "alex@example.com",
		.to_name = "Jo Lead",
		.to_email = "jo@example.org",
		.subject = "Great meeting you",
		.body = "Hi Jo,\nthanks for stopping by.\n",
		.message_id = "<1.2.abc@example.com>",
		.date = MARCH_5_2026_0900,
	};
	return m;
}

/* Builds m, failing the test on error; caller frees. */
static char *build(const struct message *m)
{
	struct strbuf out = STRBUF_INIT;
	char *err = NULL;
	int ret = message_build(m, &out, &err);

	if (ret)
		fail_msg("message_build: %d %s", ret, err);
	return strbuf_detach(&out);
}

/* Header section only (up to, not including, the blank line). */
static char *headers_of(const char *msg)
{
	const char *end = strstr(msg, "\r\n\r\n");

	assert_non_null(end);
	return xstrndup(msg, (size_t)(end - msg) + 2);
}

static const char *body_of(const char *msg)
{
	const char *end = strstr(msg, "\r\n\r\n");

	assert_non_null(end);
	return end + 4;
}

/* The unfolded value of header `name` (first occurrence), or NULL. */
static char *header_value(const char *msg, const char *name)
{
	char *head = headers_of(msg);
	struct strbuf value = STRBUF_INIT;
	size_t name_len = strlen(name);
	const char *line = head;
	int found = 0;

	while (*line) {
		const char *eol = strstr(line, "\r\n");
		int continuation = *line == ' ' || *line == '\t';

		if (found && !continuation)
			break;
		if (found)
			strbuf_add(&value, line, (size_t)(eol - line));
		else if (!strncasecmp(line, name, name_len) && line[name_len] == ':') {
			const char *v = line + name_len + 1;
			if (*v == ' ')
				v++;
			strbuf_add(&value, v, (size_t)(eol - v));
			found = 1;
		}
		line = eol + 2;
	}
	free(head);
	if (!found) {
		strbuf_release(&value);
		return NULL;
	}
	return strbuf_detach(&value);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void base64_decode(struct strbuf *out, const char *in, size_t len)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned bits = 0, nbits = 0;

	for (size_t i = 0; i < len && in[i] != '='; i++) {
		const char *p = strchr(alphabet, in[i]);
		assert_non_null(p);
		bits = (bits << 6) | (unsigned)(p - alphabet);
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			strbuf_addch(out, (char)((bits >> nbits) & 0xFF));
		}
	}
}

/*
 * A strict RFC 2047 decoder for the test: text made only of encoded-words
 * separated by whitespace (which is dropped, RFC 2047 6.2), each at most 75
 * characters, each decoding to whole UTF-8 characters. Returns NULL when the
 * text is not that.
 */
static char *decode_encoded_words(const char *text)
{
	struct strbuf out = STRBUF_INIT;
	const char *p = text;

	while (*p) {
		const char *start, *end;
		size_t before = out.len;
		char kind;

		p += strspn(p, " \t");
		if (!*p)
			break;
		start = p;
		if (strncmp(p, "=?UTF-8?", 8) || (p[8] != 'Q' && p[8] != 'B') || p[9] != '?')
			goto bad;
		kind = p[8];
		p += 10;
		end = strstr(p, "?=");
		if (!end || (size_t)(end + 2 - start) > 75)
			goto bad;
		if (kind == 'B') {
			base64_decode(&out, p, (size_t)(end - p));
		} else {
			for (; p < end; p++) {
				if (*p == '_')
					strbuf_addch(&out, ' ');
				else if (*p == '=' && hex_value(p[1]) >= 0 && hex_value(p[2]) >= 0) {
					strbuf_addch(&out, (char)(hex_value(p[1]) * 16 + hex_value(p[2])));
					p += 2;
				} else if (strchr(" ?=\t", *p))
					goto bad;
				else
					strbuf_addch(&out, *p);
			}
		}
		if (!utf8_valid(out.buf + before, out.len - before))
			goto bad; /* a character split across encoded-words */
		p = end + 2;
		if (*p && *p != ' ')
			goto bad;
	}
	return strbuf_detach(&out);
bad:
	strbuf_release(&out);
	return NULL;
}

/* Quoted-printable decoding of a CRLF body (soft breaks removed). */
static char *qp_decode(const char *body)
{
	struct strbuf out = STRBUF_INIT;

	for (const char *p = body; *p; p++) {
		if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
			p += 2;
		} else if (p[0] == '=') {
			assert_true(hex_value(p[1]) >= 0 && hex_value(p[2]) >= 0);
			strbuf_addch(&out, (char)(hex_value(p[1]) * 16 + hex_value(p[2])));
			p += 2;
		} else {
			strbuf_addch(&out, *p);
		}
	}
	return strbuf_detach(&out);
}

/* Every line ends in CRLF (no bare CR or LF), header lines within 78 and
 * body lines within max_body_line. */
static void assert_line_limits(const char *msg, size_t max_body_line)
{
	const char *body = body_of(msg);

	for (const char *line = msg; *line;) {
		const char *eol = strstr(line, "\r\n");
		size_t limit = line < body ? 78 : max_body_line;

		assert_non_null(eol);
		for (const char *c = line; c < eol; c++)
			assert_true(*c != '\r' && *c != '\n');
		if ((size_t)(eol - line) > limit)
			fail_msg("line of %zu > %zu: %.*s", (size_t)(eol - line), limit,
				 (int)(eol - line), line);
		line = eol + 2;
	}
}

static int count_header_lines_starting(const char *msg, const char *prefix)
{
	char *head = headers_of(msg);
	int count = 0;

	for (const char *line = head; *line; line = strstr(line, "\r\n") + 2)
		count += !strncasecmp(line, prefix, strlen(prefix));
	free(head);
	return count;
}

static void test_message__ascii_headers_exact(void **state)
{
	struct message m = base_message();
	char *msg;

	(void)state;
	m.to_name = "J. Smith, Acme \"West\" \\ Co";
	m.signature = "Alex\nAcme Corp";
	msg = build(&m);
	assert_string_equal(msg,
		"Date: Thu, 05 Mar 2026 09:00:00 +0000\r\n"
		"From: Alex Rep <alex@example.com>\r\n"
		"To: \"J. Smith, Acme \\\"West\\\" \\\\ Co\" <jo@example.org>\r\n"
		"Subject: Great meeting you\r\n"
		"Message-ID: <1.2.abc@example.com>\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=UTF-8\r\n"
		"Content-Transfer-Encoding: 7bit\r\n"
		"\r\n"
		"Hi Jo,\r\n"
		"thanks for stopping by.\r\n"
		"-- \r\n"
		"Alex\r\n"
		"Acme Corp\r\n");
	free(msg);
}

static void test_message__no_name_gives_bare_address(void **state)
{
	struct message m = base_message();
	char *msg, *to;

	(void)state;
	m.to_name = NULL;
	m.from_name = "  ";
	msg = build(&m);
	to = header_value(msg, "To");
	assert_string_equal(to, "jo@example.org");
	free(to);
	to = header_value(msg, "From");
	assert_string_equal(to, "alex@example.com");
	free(to);
	free(msg);
}

/* Known-good encodings, checked with Python's email package
 * (policy.strict parses them back to the name). */
static void test_message__encoded_names_known_good(void **state)
{
	static const struct {
		const char *name;
		const char *header;
	} cases[] = {
		{ "Dana Díaz", "=?UTF-8?Q?Dana_D=C3=ADaz?= <jo@example.org>" },
		{ "Société Générale, Paris",
		  "=?UTF-8?B?U29jacOpdMOpIEfDqW7DqXJhbGUsIFBhcmlz?= <jo@example.org>" },
		{ "山田 太郎", "=?UTF-8?B?5bGx55SwIOWkqumDjg==?= <jo@example.org>" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct message m = base_message();
		char *msg, *to;

		m.to_name = cases[i].name;
		msg = build(&m);
		to = header_value(msg, "To");
		assert_string_equal(to, cases[i].header);
		free(to);
		free(msg);
	}
}

/* Names and subjects of all shapes decode back to themselves, stay one
 * address, and keep every line within 78. */
static void test_message__encoded_words_round_trip(void **state)
{
	static const char *texts[] = {
		"Müller, Hans GmbH & Co. KG — Vertrieb und Außendienst Norddeutschland",
		"株式会社サンプル 営業部 第二課 課長代理 山田太郎 様 (東京本社 営業企画グループ)",
		"Ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé",
		"emoji 😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀 end",
		"a=?UTF-8?Q?looks_encoded?= but is plain ASCII",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		struct message m = base_message();
		char *msg, *subject, *decoded, *to, *name_part, *angle;

		m.to_name = texts[i];
		m.subject = texts[i];
		msg = build(&m);
		assert_line_limits(msg, 78);

		subject = header_value(msg, "Subject");
		decoded = decode_encoded_words(subject);
		if (!decoded)
			fail_msg("not clean encoded-words: %s", subject);
		assert_string_equal(decoded, texts[i]);
		free(decoded);
		free(subject);

		to = header_value(msg, "To");
		angle = strrchr(to, '<');
		assert_non_null(angle);
		assert_string_equal(angle, "<jo@example.org>");
		assert_null(strchr(to, ',')); /* a comma would make two addresses */
		name_part = xstrndup(to, (size_t)(angle - to));
		decoded = decode_encoded_words(name_part);
		assert_non_null(decoded);
		assert_string_equal(decoded, texts[i]);
		free(decoded);
		free(name_part);
		free(to);
		free(msg);
	}
}

static void test_message__long_ascii_subject_folds_at_spaces(void **state)
{
	struct message m = base_message();
	const char *subject = "Following up on our conversation at the booth about "
			      "the pilot, pricing tiers, onboarding and the integration "
			      "with your existing CRM";
	char *msg, *value;

	(void)state;
	m.subject = subject;
	msg = build(&m);
	assert_line_limits(msg, 78);
	assert_true(count_header_lines_starting(msg, " ") >= 1); /* it did fold */
	value = header_value(msg, "Subject");
	assert_string_equal(value, subject); /* unfolding gives it back */
	free(value);
	free(msg);
}

static void test_message__crlf_in_name_and_subject_adds_no_header(void **state)
{
	struct message m = base_message();
	char *msg, *to, *subject;

	(void)state;
	m.to_name = "x\r\nBcc: a@evil.example";
	m.from_name = "Alex\nX-Injected: 1";
	m.subject = "Hello\r\nBcc: b@evil.example\rCc: c@evil.example\x01";
	msg = build(&m);
	assert_int_equal(count_header_lines_starting(msg, "Bcc:"), 0);
	assert_int_equal(count_header_lines_starting(msg, "Cc:"), 0);
	assert_int_equal(count_header_lines_starting(msg, "X-Injected:"), 0);
	assert_line_limits(msg, 78);
	to = header_value(msg, "To");
	assert_string_equal(to, "\"x  Bcc: a@evil.example\" <jo@example.org>");
	subject = header_value(msg, "Subject");
	assert_string_equal(subject, "Hello  Bcc: b@evil.example Cc: c@evil.example");
	free(to);
	free(subject);
	free(msg);
}

static void test_message__bad_addresses_refused(void **state)
{
	static const char *bad[] = {
		"a@b.example\r\nBcc: c@d.example", "a@b.example\n", "a b@example.com",
		"<a@example.com>", "a@example.com>", "\"a\"@example.com", "a,b@example.com",
		"a@b@example.com", "@example.com", "a@", "", "noat.example.com",
		"a;b@example.com", "a:b@example.com", "a\\b@example.com", "a\x7f@example.com",
		"josé@example.com", "a@exa(mple).com",
	};
	static const char *good[] = {
		"a@example.com", "first.last+tag@sub.example.co.uk", "o'brien@example.ie",
		"x_y-z@example-domain.com", "a@localhost",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct message m = base_message();
		struct strbuf out = STRBUF_INIT;
		char *err = NULL;

		if (envelope_address_valid(bad[i]))
			fail_msg("accepted bad address #%zu", i);
		m.to_email = bad[i];
		assert_int_equal(message_build(&m, &out, &err), MESSAGE_EADDRESS);
		assert_non_null(err);
		assert_null(strchr(err, '\r'));
		assert_null(strchr(err, '\n'));
		assert_int_equal(out.len, 0);
		free(err);
		err = NULL;
		m = base_message();
		m.from_email = bad[i];
		assert_int_equal(message_build(&m, &out, &err), MESSAGE_EADDRESS);
		free(err);
	}
	assert_false(envelope_address_valid(NULL));
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (!envelope_address_valid(good[i]))
			fail_msg("refused good address %s", good[i]);
}

static void test_message__bad_fields_refused(void **state)
{
	static const struct {
		const char *message_id, *in_reply_to, *references, *mailto, *url;
		int code;
	} cases[] = {
		{ "1@example.com", NULL, NULL, NULL, NULL, MESSAGE_EFIELD },
		{ "<1@example.com>\r\nBcc: x@y", NULL, NULL, NULL, NULL, MESSAGE_EFIELD },
		{ NULL, NULL, NULL, NULL, NULL, MESSAGE_EFIELD },
		{ "<1@example.com>", "<a@b>\r\nX: y", NULL, NULL, NULL, MESSAGE_EFIELD },
		{ "<1@example.com>", NULL, "<a@b> junk", NULL, NULL, MESSAGE_EFIELD },
		{ "<1@example.com>", NULL, NULL, "u@x\r\nBcc: y@z", NULL, MESSAGE_EADDRESS },
		{ "<1@example.com>", NULL, NULL, NULL, "https://x/u>\r\nBcc: y", MESSAGE_EFIELD },
		{ "<1@example.com>", NULL, NULL, NULL, "javascript:alert(1)", MESSAGE_EFIELD },
		/* RFC 8058 3.1: one-click is HTTPS; over http the lead's token goes in clear */
		{ "<1@example.com>", NULL, NULL, NULL, "http://example.com/u/tok", MESSAGE_EFIELD },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct message m = base_message();
		struct strbuf out = STRBUF_INIT;
		char *err = NULL;

		m.message_id = cases[i].message_id;
		m.in_reply_to = cases[i].in_reply_to;
		m.references = cases[i].references;
		m.unsubscribe_mailto = cases[i].mailto;
		m.unsubscribe_url = cases[i].url;
		if (message_build(&m, &out, &err) != cases[i].code)
			fail_msg("case %zu: expected %d (%s)", i, cases[i].code, err ? err : "");
		assert_non_null(err);
		assert_int_equal(out.len, 0);
		free(err);
	}
}

static void test_message__invalid_utf8_refused(void **state)
{
	struct message m = base_message();
	struct strbuf out = STRBUF_INIT;
	char *err = NULL;

	(void)state;
	m.subject = "caf\xe9";
	assert_int_equal(message_build(&m, &out, &err), MESSAGE_EUTF8);
	assert_string_equal(err, "subject is not valid UTF-8");
	free(err);
	err = NULL;
	m = base_message();
	m.body = "\xff\xfe";
	assert_int_equal(message_build(&m, &out, &err), MESSAGE_EUTF8);
	free(err);
	assert_int_equal(out.len, 0);
}

static void test_message__line_ends_become_crlf(void **state)
{
	struct message m = base_message();
	char *msg;

	(void)state;
	m.body = "unix\nwindows\r\nold mac\rlast";
	m.signature = "sig\r\nline";
	msg = build(&m);
	assert_string_equal(body_of(msg),
			    "unix\r\nwindows\r\nold mac\r\nlast\r\n-- \r\nsig\r\nline\r\n");
	assert_line_limits(msg, 78);
	free(msg);

	/* a signature that brings its own separator does not get a second one */
	m.body = "hi";
	m.signature = "-- \nDana";
	msg = build(&m);
	assert_string_equal(body_of(msg), "hi\r\n-- \r\nDana\r\n");
	free(msg);
}

static void test_message__long_line_goes_quoted_printable(void **state)
{
	struct message m = base_message();
	struct strbuf body = STRBUF_INIT;
	char *msg, *cte, *decoded, *expected;

	(void)state;
	for (int i = 0; i < 2000; i++)
		strbuf_addch(&body, "abc= \t"[i % 6]);
	strbuf_addstr(&body, "\n.starts with a dot\nends with space \nnaïve\t\n");
	m.body = body.buf;
	msg = build(&m);
	cte = header_value(msg, "Content-Transfer-Encoding");
	assert_string_equal(cte, "quoted-printable");
	assert_line_limits(msg, 76);
	assert_non_null(strstr(body_of(msg), "\r\n.starts with a dot\r\n"));
	assert_non_null(strstr(body_of(msg), "\r\nends with space=20\r\n"));
	assert_non_null(strstr(body_of(msg), "\r\nna=C3=AFve=09\r\n"));
	decoded = qp_decode(body_of(msg));
	expected = xasprintf("%s", body.buf);
	strbuf_reset(&body);
	for (const char *p = expected; *p; p++) {
		if (*p == '\n')
			strbuf_addch(&body, '\r');
		strbuf_addch(&body, *p);
	}
	assert_string_equal(decoded, body.buf);
	free(expected);
	free(decoded);
	free(cte);
	free(msg);
	strbuf_release(&body);
}

static void test_message__ascii_short_lines_stay_7bit(void **state)
{
	struct message m = base_message();
	char *msg, *cte;

	(void)state;
	m.body = ".leading dot stays as is (libcurl dot-stuffs)\n"
		 "78 chars: 01234567890123456789012345678901234567890123456789012345678901234567\n";
	msg = build(&m);
	cte = header_value(msg, "Content-Transfer-Encoding");
	assert_string_equal(cte, "7bit");
	assert_true(starts_with(body_of(msg), ".leading dot stays as is"));
	free(cte);
	free(msg);

	m.body = "79 chars: 012345678901234567890123456789012345678901234567890123456789012345678\n";
	msg = build(&m);
	cte = header_value(msg, "Content-Transfer-Encoding");
	assert_string_equal(cte, "quoted-printable");
	free(cte);
	free(msg);
}

static void test_message__threading_headers(void **state)
{
	struct message m = base_message();
	char *msg, *value;

	(void)state;
	msg = build(&m);
	assert_null(strstr(msg, "In-Reply-To:"));
	assert_null(strstr(msg, "References:"));
	free(msg);

	m.in_reply_to = "<first@example.com>";
	m.references = "<zero@example.com> <first@example.com>";
	msg = build(&m);
	value = header_value(msg, "In-Reply-To");
	assert_string_equal(value, "<first@example.com>");
	free(value);
	value = header_value(msg, "References");
	assert_string_equal(value, "<zero@example.com> <first@example.com>");
	free(value);
	/* right after Message-ID, before the MIME headers */
	assert_true(strstr(msg, "Message-ID:") < strstr(msg, "In-Reply-To:"));
	assert_true(strstr(msg, "References:") < strstr(msg, "MIME-Version:"));
	free(msg);
}

/* Real Message-IDs are some 60 characters: a three-email thread folds References over
 * lines, and every ID must still be there, whole and in order (RFC 5322 3.6.4). */
static void test_message__long_references_fold_without_loss(void **state)
{
	static const char refs[] =
		"<20260309130500.4242.0.0123456789abcdef0123456789abcdef@acme.example> "
		"<20260312130500.4243.0.fedcba9876543210fedcba9876543210@acme.example> "
		"<20260318130500.4244.0.00112233445566778899aabbccddeeff@acme.example>";
	struct message m = base_message();
	char *msg, *value;

	(void)state;
	m.references = refs;
	msg = build(&m);
	/* folded between the IDs: one per line, none cut */
	assert_non_null(strstr(msg, "acme.example>\r\n <20260312"));
	assert_non_null(strstr(msg, "acme.example>\r\n <20260318"));
	/* unfolding joins the lines with the space that starts each continuation */
	value = header_value(msg, "References");
	assert_string_equal(value, refs);
	free(value);
	free(msg);
}

static void test_message__list_unsubscribe(void **state)
{
	static const struct {
		const char *mailto, *url, *header;
		int one_click;
	} cases[] = {
		{ NULL, NULL, NULL, 0 },
		{ "unsubscribe@example.com", NULL, "<mailto:unsubscribe@example.com>", 0 },
		{ "mailto:u@example.com?subject=unsubscribe", NULL,
		  "<mailto:u@example.com?subject=unsubscribe>", 0 },
		{ NULL, "https://example.com/u/tok123", "<https://example.com/u/tok123>", 1 },
		{ "unsubscribe@example.com", "https://example.com/u/tok123",
		  "<mailto:unsubscribe@example.com>, <https://example.com/u/tok123>", 1 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct message m = base_message();
		char *msg, *value, *post;

		m.unsubscribe_mailto = cases[i].mailto;
		m.unsubscribe_url = cases[i].url;
		msg = build(&m);
		value = header_value(msg, "List-Unsubscribe");
		post = header_value(msg, "List-Unsubscribe-Post");
		if (cases[i].header)
			assert_string_equal(value, cases[i].header);
		else
			assert_null(value);
		if (cases[i].one_click)
			assert_string_equal(post, "List-Unsubscribe=One-Click");
		else
			assert_null(post);
		free(value);
		free(post);
		free(msg);
	}
	/* What the config accepts: an https link only (the token is each lead's key). */
	assert_true(message_unsubscribe_url_ok("https://example.com/u/{token}"));
	assert_true(message_unsubscribe_url_ok("HTTPS://example.com/u/{token}"));
	assert_false(message_unsubscribe_url_ok("http://example.com/u/{token}"));
}

static void test_message__message_id_shape_and_uniqueness(void **state)
{
	enum { COUNT = 2000 };
	char **ids = xcalloc(COUNT, sizeof(*ids));
	char *odd;

	(void)state;
	for (int i = 0; i < COUNT; i++) {
		size_t len;

		ids[i] = message_id_new("alex@Example.COM");
		len = strlen(ids[i]);
		assert_true(ids[i][0] == '<' && ids[i][len - 1] == '>');
		assert_true(len > 40); /* time, pid, counter and 32 hex digits */
		assert_string_equal(strchr(ids[i], '@'), "@Example.COM>");
		assert_null(strchr(ids[i] + 1, '<'));
		assert_null(strchr(ids[i], ' '));
	}
	for (int i = 0; i < COUNT; i++)
		for (int j = i + 1; j < COUNT; j++)
			if (!strcmp(ids[i], ids[j]))
				fail_msg("duplicate %s", ids[i]);
	for (int i = 0; i < COUNT; i++)
		free(ids[i]);
	free(ids);

	odd = message_id_new("no-at-sign");
	assert_string_equal(strchr(odd, '@'), "@localhost>");
	free(odd);
	odd = message_id_new(NULL);
	assert_string_equal(strchr(odd, '@'), "@localhost>");
	free(odd);
}

static void test_message__message_id_new_is_accepted_by_build(void **state)
{
	struct message m = base_message();
	char *id = message_id_new(m.from_email), *msg, *value;

	(void)state;
	m.message_id = id;
	msg = build(&m);
	value = header_value(msg, "Message-ID");
	assert_string_equal(value, id);
	free(value);
	free(msg);
	free(id);
}

static void test_message__reply_subject(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "Hello", "Re: Hello" },
		{ "Re: Hello", "Re: Hello" },
		{ "RE: Hello", "RE: Hello" },
		{ "re:Hello", "re:Hello" },
		{ "Regarding the pilot", "Re: Regarding the pilot" },
		{ "", "Re: " },
		{ NULL, "Re: " },
		{ "Grüße", "Re: Grüße" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *s = message_reply_subject(cases[i].in);
		assert_string_equal(s, cases[i].out);
		free(s);
	}
}

/*
 * Python's email package with policy.strict (raises on any defect) parses
 * representative messages back to what we put in. Skipped when Debian's
 * /usr/bin/python3 is not there.
 */
static const char python_check[] =
	"import sys, email, email.policy\n"
	"m = email.message_from_bytes(open(sys.argv[1], 'rb').read(),"
	" policy=email.policy.strict)\n"
	"to = m['To'].addresses\n"
	"print('from=' + m['From'].addresses[0].display_name)\n"
	"print('to=%d|%s|%s' % (len(to), to[0].display_name, to[0].addr_spec))\n"
	"print('subject=' + str(m['Subject']))\n"
	"print('body=' + repr(m.get_content()))\n";

static char *python_parse(const char *msg)
{
	char path[] = "/tmp/followup-test-message-XXXXXX";
	struct strbuf out = STRBUF_INIT;
	char buf[4096], *cmd;
	FILE *f;
	int fd = mkstemp(path), status;
	size_t n;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, msg, strlen(msg)), (ssize_t)strlen(msg));
	close(fd);
	cmd = xasprintf("/usr/bin/python3 -c \"$FOLLOWUP_PYCHECK\" %s", path);
	setenv("FOLLOWUP_PYCHECK", python_check, 1);
	f = popen(cmd, "r");
	assert_non_null(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&out, buf, n);
	status = pclose(f);
	unlink(path);
	free(cmd);
	if (status != 0)
		fail_msg("python's strict parser refused the message:\n%s", msg);
	return strbuf_detach(&out);
}

static void test_message__python_strict_parser_agrees(void **state)
{
	static const struct {
		const char *to_name, *subject, *body, *expected;
	} cases[] = {
		{ "Jo Lead", "Great meeting you", "Hi\n",
		  "from=Alex Rep\nto=1|Jo Lead|jo@example.org\nsubject=Great meeting you\n"
		  "body='Hi\\r\\n-- \\r\\nAlex\\r\\n'\n" },
		{ "Müller, Hans", "Grüße aus München", "Schöne Grüße\n",
		  "from=Alex Rep\nto=1|Müller, Hans|jo@example.org\nsubject=Grüße aus München\n"
		  "body='Schöne Grüße\\r\\n-- \\r\\nAlex\\r\\n'\n" },
		{ "J. \"Jo\" Smith, Acme", "x\r\nBcc: a@evil.example", ".dot\n",
		  "from=Alex Rep\nto=1|J. \"Jo\" Smith, Acme|jo@example.org\n"
		  "subject=x  Bcc: a@evil.example\nbody='.dot\\r\\n-- \\r\\nAlex\\r\\n'\n" },
		{ "山田 太郎",
		  "A rather long subject line with ünïcödé that has to be folded over several "
		  "header lines to stay within the limit",
		  "short\n",
		  "from=Alex Rep\nto=1|山田 太郎|jo@example.org\n"
		  "subject=A rather long subject line with ünïcödé that has to be folded over "
		  "several header lines to stay within the limit\nbody='short\\r\\n-- \\r\\nAlex\\r\\n'\n" },
	};

	(void)state;
	if (access("/usr/bin/python3", X_OK) != 0)
		skip();
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct message m = base_message();
		char *msg, *parsed;

		m.to_name = cases[i].to_name;
		m.subject = cases[i].subject;
		m.body = cases[i].body;
		m.signature = "Alex";
		m.unsubscribe_mailto = "u@example.com";
		m.unsubscribe_url = "https://example.com/u/t";
		m.in_reply_to = "<a@example.com>";
		m.references = "<a@example.com>";
		msg = build(&m);
		parsed = python_parse(msg);
		assert_string_equal(parsed, cases[i].expected);
		free(parsed);
		free(msg);
	}
}

static void test_message__python_decodes_long_quoted_printable(void **state)
{
	struct message m = base_message();
	struct strbuf body = STRBUF_INIT;
	char *msg, *parsed, *expected;

	(void)state;
	if (access("/usr/bin/python3", X_OK) != 0)
		skip();
	for (int i = 0; i < 200; i++)
		strbuf_addstr(&body, "ça = ");
	strbuf_addch(&body, '\n');
	m.body = body.buf;
	msg = build(&m);
	parsed = python_parse(msg);
	expected = xasprintf("body='%.*s\\r\\n'\n", (int)body.len - 1, body.buf);
	assert_non_null(strstr(parsed, expected));
	free(expected);
	free(parsed);
	free(msg);
	strbuf_release(&body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message__ascii_headers_exact),
		cmocka_unit_test(test_message__no_name_gives_bare_address),
		cmocka_unit_test(test_message__encoded_names_known_good),
		cmocka_unit_test(test_message__encoded_words_round_trip),
		cmocka_unit_test(test_message__long_ascii_subject_folds_at_spaces),
		cmocka_unit_test(test_message__crlf_in_name_and_subject_adds_no_header),
		cmocka_unit_test(test_message__bad_addresses_refused),
		cmocka_unit_test(test_message__bad_fields_refused),
		cmocka_unit_test(test_message__invalid_utf8_refused),
		cmocka_unit_test(test_message__line_ends_become_crlf),
		cmocka_unit_test(test_message__long_line_goes_quoted_printable),
		cmocka_unit_test(test_message__ascii_short_lines_stay_7bit),
		cmocka_unit_test(test_message__threading_headers),
		cmocka_unit_test(test_message__long_references_fold_without_loss),
		cmocka_unit_test(test_message__list_unsubscribe),
		cmocka_unit_test(test_message__message_id_shape_and_uniqueness),
		cmocka_unit_test(test_message__message_id_new_is_accepted_by_build),
		cmocka_unit_test(test_message__reply_subject),
		cmocka_unit_test(test_message__python_strict_parser_agrees),
		cmocka_unit_test(test_message__python_decodes_long_quoted_printable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
