/*
 * transport.h - hand built messages to a mail server or a Maildir.
 *
 * One interface, two backends chosen by the URL:
 *   smtp://host[:port]   SMTP with STARTTLS required (port 25 by default)
 *   smtps://host[:port]  SMTP over implicit TLS (port 465 by default)
 *   maildir:PATH         each message written atomically into PATH/new
 * A transport is opened once per run and sends every message of the run; the
 * SMTP backend keeps one connection open across messages.
 *
 * The result of a send tells the caller what it may record (SPEC section 8):
 * only TRANSPORT_RETRY may be sent again by a later run.
 */
#ifndef FOLLOWUP_TRANSPORT_H
#define FOLLOWUP_TRANSPORT_H

#include <stddef.h>

struct transport;

struct transport_options {
	const char *url;          /* smtp://host[:port], smtps://host[:port], maildir:PATH */
	const char *username;
	const char *password;     /* already resolved by the caller from password_env;
				     never logged, never in an error message */
	int netrc;                /* 1: credentials from ~/.netrc when not given */
	const char *oauth2_token; /* XOAUTH2 bearer token (needs username) */
	int tls_none;             /* 1: plain SMTP; refused unless the host is loopback */
	const char *ca_file;      /* the only CA certificates (PEM) to trust; none: the system's */
	long connect_timeout;     /* seconds; 0 means 30 */
	long timeout;             /* seconds for one whole message; 0 means 60 */
	int verbose;              /* SMTP dialogue on stderr, AUTH arguments masked */
};

enum transport_result {
	TRANSPORT_SENT,      /* the server accepted the message (250 after the data) */
	TRANSPORT_RETRY,     /* 4xx for this recipient, or the connection dropped before
				the end of the data was sent: nothing delivered, retry later */
	TRANSPORT_REJECTED,  /* 5xx for this recipient (or its address is unusable): bounce */
	TRANSPORT_REFUSED,   /* 5xx to RCPT TO that does not say it is the address (no
				5.1.x or 5.2.x code): most likely it is, but a relay that
				refuses everyone says the same; send decides */
	TRANSPORT_IN_DOUBT,  /* the whole message was handed over (after 354, the final
				"." sent) but no reply came: it may have been delivered */
	TRANSPORT_FATAL,     /* connect/TLS/auth/sender/config failure, or a Maildir that
				cannot be written (a full disk): stop the run and mark
				nothing; the next message would fail the same way */
};

/* Error codes of transport_open(). */
enum transport_error {
	TRANSPORT_EURL = -1,      /* missing, malformed or unsupported URL or options */
	TRANSPORT_EINSECURE = -2, /* tls_none towards a host that is not loopback */
	TRANSPORT_ESYSTEM = -3,   /* libcurl could not start, or the Maildir cannot be made */
};

/*
 * Prepares a transport for o->url; nothing is sent and SMTP does not connect
 * until the first transport_send(). A Maildir and its tmp/, new/ and cur/
 * are created (mode 0700) when missing. o's strings are copied as needed.
 * Returns 0 with *out set (free it with transport_close()), or a negative
 * enum transport_error with *errmsg set to an allocated message.
 */
int transport_open(struct transport **out, const struct transport_options *o, char **errmsg);

/*
 * Sends one message: data[0..len) as built by message_build() (CRLF line ends,
 * not dot-stuffed), from envelope_from to the single recipient. Both addresses
 * are checked with envelope_address_valid(): a bad recipient is
 * TRANSPORT_REJECTED, a bad sender TRANSPORT_FATAL. For every result but
 * TRANSPORT_SENT, *errmsg is set to an allocated message that names the server
 * and quotes its reply (never the password); the caller frees it.
 */
enum transport_result transport_send(struct transport *t, const char *envelope_from,
				     const char *recipient, const char *data, size_t len,
				     char **errmsg);

/* "smtp://host:port", "smtps://host:port" or "maildir /abs/path", for
 * "sent 12 messages via ..."; never contains credentials. Owned by t. */
const char *transport_describe(const struct transport *t);

/* Whether the server stopped answering (a timeout) in this run: then nothing more
 * should be tried, since every message would wait out the same timeout. */
int transport_stalled(const struct transport *t);

/* Closes the connection (SMTP QUIT) and frees t. NULL is fine. */
void transport_close(struct transport *t);

/* What transport_check() found, for the line `send --check` prints. */
struct transport_check {
	char *url;              /* "smtp://host:port", "smtps://host:port" or "maildir:/abs/path";
				   never credentials. Set as soon as it is known, failure or not */
	const char *tls;        /* SMTP: "starttls", "tls" (implicit) or "none"; NULL for a Maildir */
	int certificate_ok;     /* SMTP over TLS: the server's certificate was verified */
	char *auth;             /* the SASL mechanism that logged in ("PLAIN", "XOAUTH2"), or
				   NULL when no login is configured */
	const char *username;   /* as configured (o->username), or NULL: ~/.netrc's */
	int maildir_missing;    /* Maildir: not there yet; the first send creates it */
};

/*
 * Tries o->url the way a send would, and sends no message. SMTP: connects, reads the
 * greeting, EHLO, STARTTLS (or implicit TLS) with certificate verification, AUTH with
 * the credentials in o, then a NOOP and QUIT. A login that is configured but could not
 * be used (the server offers no AUTH, ~/.netrc has no entry) is a failure: a send would
 * go without it. Maildir: that it and its tmp/, new/ and cur/ exist and can be written
 * (a file is created in tmp/ and removed), or, when missing, that they can be made;
 * nothing is left behind. Returns 0, or -1 with *errmsg set to an allocated message in
 * the words a send would fail with (never the password). out is filled either way:
 * free it with transport_check_release().
 */
int transport_check(const struct transport_options *o, struct transport_check *out,
		    char **errmsg);
void transport_check_release(struct transport_check *c);

/* "sent", "retry", "rejected", "in doubt" or "fatal". */
const char *transport_result_name(enum transport_result result);

/*
 * The backends, for transport.c only: each has the same contract as the
 * transport_* function of the same name.
 */
struct smtp_transport;
int smtp_transport_open(struct smtp_transport **out, const struct transport_options *o,
			char **errmsg);
enum transport_result smtp_transport_send(struct smtp_transport *t, const char *envelope_from,
					  const char *recipient, const char *data, size_t len,
					  char **errmsg);
const char *smtp_transport_describe(const struct smtp_transport *t);
int smtp_transport_stalled(const struct smtp_transport *t);
void smtp_transport_close(struct smtp_transport *t);
int smtp_transport_check(struct smtp_transport *t, const struct transport_options *o,
			 struct transport_check *out, char **errmsg);

struct maildir_transport;
/* path is what follows "maildir:"; a leading "~/" means $HOME. */
int maildir_transport_open(struct maildir_transport **out, const char *path, char **errmsg);
enum transport_result maildir_transport_send(struct maildir_transport *t,
					     const char *envelope_from, const char *recipient,
					     const char *data, size_t len, char **errmsg);
const char *maildir_transport_describe(const struct maildir_transport *t);
void maildir_transport_close(struct maildir_transport *t);
/* path is what follows "maildir:". Makes nothing; see transport_check(). */
int maildir_transport_check(const char *path, struct transport_check *out, char **errmsg);

/* Whether host (a name, an IPv4 or an IPv6 address, bracketed or not) is this machine:
 * localhost, 127.0.0.0/8, ::1 or ::ffff:127.x: the only hosts 'tls: none' may reach. */
int transport_host_is_loopback(const char *host);

#endif
