/*
 * message.h - build one RFC 5322 plain-text email, ready for SMTP or a Maildir.
 *
 * We write the message ourselves because curl_mime does not encode headers.
 * The builder's promises:
 *  - no CR, LF or other control character from the data reaches a header:
 *    in names and the subject they become spaces, and an address containing
 *    one is refused (a CSV name "x\r\nBcc: a@evil.example" cannot add a header);
 *  - non-ASCII names and subjects become RFC 2047 encoded-words, each at most
 *    75 characters and split on UTF-8 character boundaries; header lines are
 *    folded to 78 characters;
 *  - every line ends in CRLF and the body is 7bit when it is ASCII with lines
 *    of at most 78 octets, else quoted-printable (lines of at most 76);
 *  - the body is not dot-stuffed: libcurl does that on the wire.
 */
#ifndef FOLLOWUP_MESSAGE_H
#define FOLLOWUP_MESSAGE_H

#include <time.h>

struct strbuf;

/* Error codes of message_build(). */
enum message_error {
	MESSAGE_OK = 0,
	MESSAGE_EADDRESS = -1, /* a From/To or unsubscribe address is not acceptable */
	MESSAGE_EUTF8 = -2,    /* a name, the subject, body or signature is not UTF-8 */
	MESSAGE_EFIELD = -3,   /* a missing or malformed Message-ID, reference or URL */
};

/* What goes into one message. Strings are UTF-8 and owned by the caller. */
struct message {
	const char *from_name;          /* display name; NULL or "" for none */
	const char *from_email;         /* bare address: local@domain */
	const char *to_name;
	const char *to_email;
	const char *subject;
	const char *body;               /* LF, CRLF or CR line ends */
	const char *signature;          /* appended after "-- \n" when non-empty */
	const char *message_id;         /* "<...@...>", see message_id_new() */
	const char *in_reply_to;        /* a "<...@...>"; NULL when not threaded */
	const char *references;         /* "<a@x> <b@y>"; NULL when not threaded */
	const char *unsubscribe_mailto; /* "unsub@example.com" or "mailto:..."; */
	const char *unsubscribe_url;    /* "https://..."; both NULL when not configured */
	time_t date;
};

/*
 * Appends the complete message (headers, blank line, body; CRLF line ends) to
 * out. Headers, in order: Date, From, To, Subject, Message-ID, In-Reply-To and
 * References (when set), MIME-Version, Content-Type, Content-Transfer-Encoding,
 * List-Unsubscribe (when a mailto or URL is set) and List-Unsubscribe-Post
 * (only with a URL, RFC 8058).
 *
 * Returns 0, or a negative enum message_error with *errmsg set to an allocated
 * message the caller frees; out is then left as it was.
 */
int message_build(const struct message *m, struct strbuf *out, char **errmsg);

/*
 * Returns 1 when addr is a bare address we accept as an envelope (MAIL FROM,
 * RCPT TO) or header address, else 0: printable ASCII, exactly one '@' with a
 * non-empty local part and domain, at most 254 octets, and none of the RFC 5322
 * specials that would change its meaning in a header or an SMTP command
 * (space, CR, LF, controls, < > ( ) [ ] " \ , ; :). libcurl 7.88 would pass
 * CR/LF in MAIL FROM or RCPT TO straight to the wire.
 */
int envelope_address_valid(const char *addr);

/*
 * Returns a new Message-ID "<UNIQUE@DOMAIN>", DOMAIN being the domain of
 * from_email (or "localhost" when it has none we can use). UNIQUE combines
 * the time, the pid, a per-process counter and 128 bits from getrandom(2).
 * Caller frees.
 */
char *message_id_new(const char *from_email);

/* Returns "Re: " + subject, or a copy of subject when it already starts with
 * "Re:" (any case). A NULL subject counts as "". Caller frees. */
char *message_reply_subject(const char *subject);

/* Whether an unsubscribe link (a URL with {token} for the lead's token) or address
 * makes a valid List-Unsubscribe header: for checking the config when it is read,
 * before any message is built. */
int message_unsubscribe_url_ok(const char *url_template);
int message_unsubscribe_mailto_ok(const char *mailto_template);

/* An unsubscribe link of the config (unsubscribe.url or .mailto) with each {token} the
 * lead's token: the page the url opens, or the inbox the mailto writes to, knows the
 * lead by it. Caller frees. */
char *message_unsubscribe_link(const char *link, const char *token);

#endif
