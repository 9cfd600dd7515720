/*
 * transport_smtp.c - the SMTP backend, on libcurl's easy interface.
 *
 * One easy handle serves the whole run, so libcurl keeps the connection (and
 * its TLS session and AUTH) open from one message to the next. The message
 * goes up through a read callback with CURLOPT_UPLOAD; it is already CRLF, so
 * CURLOPT_CRLF stays off, and libcurl dot-stuffs it.
 *
 * libcurl's result code alone does not say whether a failure concerns the
 * recipient, the session, or a message that may already be delivered. So the
 * debug callback (CURLOPT_VERBOSE is always on, printing only when asked)
 * follows the commands libcurl sends (MAIL, RCPT, DATA) and the server's last
 * reply, and the read callback notes when libcurl has taken the whole message:
 * together with CURLINFO_RESPONSE_CODE that classifies every outcome.
 */
#include "followup/curl_lib.h"
#include "followup/message.h"
#include "followup/transport.h"
#include "followup/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define DEFAULT_CONNECT_TIMEOUT 30L
#define DEFAULT_TIMEOUT 60L

/* How far the dialogue for the current message got. */
enum smtp_stage {
	STAGE_SESSION,     /* connect, greeting, EHLO, STARTTLS, AUTH */
	STAGE_MAIL,        /* MAIL FROM sent */
	STAGE_RCPT,        /* RCPT TO sent */
	STAGE_DATA,        /* DATA sent; the message may be partly uploaded */
	STAGE_END_OF_DATA, /* libcurl holds the whole message; the final "." may be sent */
	STAGE_NOOP,        /* a check's NOOP sent: the session before it worked */
};

struct smtp_transport {
	CURL *curl;
	char *description;          /* "smtp://host:port" */
	int verbose;
	char error[CURL_ERROR_SIZE];

	/* State of the message being sent. */
	const char *data;
	size_t len, pos;
	enum smtp_stage stage;
	int authenticating;         /* AUTH sent, and the server answers with challenges */
	int quitting;               /* QUIT sent: its reply says nothing about the message */
	int timed_out;              /* the server stopped answering once in this run */
	char last_reply[512];       /* the server's last reply line before any QUIT */

	/* What a check reports: libcurl skips AUTH without a word when the server offers
	 * none, so only the dialogue says whether the login was used. */
	int offers_auth;            /* the last EHLO reply listed AUTH */
	int logged_in;              /* an AUTH exchange ended in 235 */
	char auth_mechanism[32];    /* of the last AUTH sent */
};

/* curl_global_init() once, however many transports are open. */
static unsigned curl_users;

static int curl_acquire(void)
{
	char *err = NULL;

	if (curl_lib_load(&err)) {
		error("%s", err);
		free(err);
		return -1;
	}
	if (curl_users == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	curl_users++;
	return 0;
}

static void curl_release(void)
{
	if (curl_users && --curl_users == 0)
		curl_global_cleanup();
}

/* --- callbacks ------------------------------------------------------------ */

static size_t read_message(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct smtp_transport *t = userdata;
	size_t n = t->len - t->pos;

	if (n > size * nitems)
		n = size * nitems;
	if (n == 0) {
		/* End of the message: libcurl now sends the final "." */
		t->stage = STAGE_END_OF_DATA;
		return 0;
	}
	memcpy(buf, t->data + t->pos, n);
	t->pos += n;
	/* With the size known (CURLOPT_INFILESIZE_LARGE) libcurl may not ask again: once
	 * it holds the last byte, the final "." may go out at any moment, and the
	 * message may be delivered whatever happens next. */
	if (t->pos == t->len)
		t->stage = STAGE_END_OF_DATA;
	return n;
}

static size_t line_length(const char *data, size_t size)
{
	while (size && (data[size - 1] == '\n' || data[size - 1] == '\r'))
		size--;
	return size;
}

/*
 * Makes server text fit to print and to keep, in place: a relay that verifies recipients
 * quotes what the lead's own MX said, text anyone can write, and a TLS certificate's
 * names come from whoever answers before it is verified. C0 controls and DEL become
 * spaces; C1 controls (which terminals obey, in UTF-8 too) and bytes that are no UTF-8
 * become '?'. Valid UTF-8 text stays.
 */
static void make_printable(char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t n = utf8_char_bytes(c);

		if (c < 0x20 || c == 0x7f)
			s[i++] = ' ';
		else if (c < 0x80)
			i++;
		else if (n > len - i || utf8_valid_prefix(s + i, n) != n || control_char_bytes(s + i))
			s[i++] = '?';
		else
			i += n;
	}
}

/* One line of --verbose on stderr: prefix and data made printable. */
static void verbose_line(const char *prefix, const char *data, size_t len)
{
	char *line = xstrndup(data, len);

	make_printable(line, strlen(line));
	fprintf(stderr, "%s%s\n", prefix, line);
	free(line);
}

/* Notes an AUTH command's mechanism (the text up to the first space: the rest is the
 * secret's initial response) and that its exchange has begun. */
static void start_auth(struct smtp_transport *t, const char *args, size_t len)
{
	size_t mech = strcspn(args, " \r\n");

	if (mech > len)
		mech = len;
	if (mech >= sizeof(t->auth_mechanism))
		mech = sizeof(t->auth_mechanism) - 1;
	memcpy(t->auth_mechanism, args, mech);
	t->auth_mechanism[mech] = '\0';
	make_printable(t->auth_mechanism, mech);
	t->authenticating = 1;
}

/* Whether a reply line to EHLO lists AUTH ("250-AUTH PLAIN LOGIN", or the old
 * "250-AUTH=LOGIN"). */
static int lists_auth(const char *line, size_t len)
{
	return len >= 8 && !strncmp(line, "250", 3) && (line[3] == '-' || line[3] == ' ') &&
	       !strncasecmp(line + 4, "AUTH", 4) && (len == 8 || line[8] == ' ' || line[8] == '=');
}

/* Follows the commands libcurl sends; prints them when verbose, with the
 * arguments of AUTH and every line of the exchange it starts masked. */
static void note_command(struct smtp_transport *t, const char *data, size_t size)
{
	size_t len = line_length(data, size);

	if (t->authenticating) {
		if (t->verbose)
			fputs("> [masked]\n", stderr);
		return;
	}
	if (len >= 5 && !strncasecmp(data, "AUTH ", 5))
		start_auth(t, data + 5, len - 5);
	else if (len >= 4 && !strncasecmp(data, "EHLO", 4))
		t->offers_auth = 0;     /* the one after STARTTLS says again */
	else if (len == 4 && !strncasecmp(data, "NOOP", 4))
		t->stage = STAGE_NOOP;
	else if (len >= 4 && !strncasecmp(data, "MAIL", 4))
		t->stage = STAGE_MAIL;
	else if (len >= 4 && !strncasecmp(data, "RCPT", 4))
		t->stage = STAGE_RCPT;
	else if (len == 4 && !strncasecmp(data, "DATA", 4))
		t->stage = STAGE_DATA;
	else if (len == 4 && !strncasecmp(data, "QUIT", 4))
		t->quitting = 1;
	if (!t->verbose)
		return;
	if (len >= 5 && !strncasecmp(data, "AUTH ", 5)) {
		size_t mech = strcspn(data + 5, " \r\n");
		fprintf(stderr, "> AUTH %.*s%s\n", (int)mech, data + 5,
			5 + mech < len ? " [masked]" : "");
	} else {
		verbose_line("> ", data, len);
	}
}

static void note_reply(struct smtp_transport *t, const char *data, size_t size)
{
	size_t len = line_length(data, size);

	if (t->quitting) {
		if (t->verbose)
			verbose_line("< ", data, len);
		return;
	}
	if (len >= sizeof(t->last_reply))
		len = sizeof(t->last_reply) - 1;
	memcpy(t->last_reply, data, len);
	t->last_reply[len] = '\0';
	/* It goes into error lines, the summary's per-message lines and the store. */
	make_printable(t->last_reply, len);
	if (t->authenticating && !strncmp(data, "235", 3))
		t->logged_in = 1;
	/* A 334 is a challenge ("334 " and text, or a bare "334" that libcurl takes too):
	 * the client's answer holds the secret. Any other reply ends the exchange. */
	if (t->authenticating && strncmp(data, "334", 3))
		t->authenticating = 0;
	if (lists_auth(t->last_reply, len))
		t->offers_auth = 1;
	if (t->verbose)
		fprintf(stderr, "< %s\n", t->last_reply);
}

static int on_debug(CURL *curl, curl_infotype type, char *data, size_t size, void *userdata)
{
	struct smtp_transport *t = userdata;

	(void)curl;
	if (type == CURLINFO_HEADER_OUT)
		note_command(t, data, size);
	else if (type == CURLINFO_HEADER_IN)
		note_reply(t, data, size);
	else if (type == CURLINFO_TEXT && t->verbose)
		verbose_line("* ", data, line_length(data, size));
	return 0;
}

/* --- opening ---------------------------------------------------------------- */

struct smtp_url {
	char *scheme; /* "smtp" or "smtps" */
	char *host;   /* "[::1]" for IPv6 */
	char *port;
};

static void smtp_url_release(struct smtp_url *u)
{
	curl_free(u->scheme);
	curl_free(u->host);
	curl_free(u->port);
}

static int parse_smtp_url(const char *url, struct smtp_url *out, char **errmsg)
{
	CURLU *h = curl_url();
	CURLUcode rc;

	if (!h) {
		*errmsg = xstrdup("out of memory parsing the smtp url");
		return TRANSPORT_ESYSTEM;
	}
	rc = curl_url_set(h, CURLUPART_URL, url, 0);
	if (!rc)
		rc = curl_url_get(h, CURLUPART_SCHEME, &out->scheme, 0);
	if (!rc)
		rc = curl_url_get(h, CURLUPART_HOST, &out->host, 0);
	if (!rc)
		rc = curl_url_get(h, CURLUPART_PORT, &out->port, CURLU_DEFAULT_PORT);
	curl_url_cleanup(h);
	if (rc) {
		/* Not the URL itself: it may hold a password. */
		*errmsg = xasprintf("invalid smtp url: %s", curl_url_strerror(rc));
		return TRANSPORT_EURL;
	}
	return 0;
}

/* Refuses what would send credentials or mail in the clear, or could not work. */
static int check_options(const struct transport_options *o, const struct smtp_url *u,
			 char **errmsg)
{
	if (o->tls_none && !strcmp(u->scheme, "smtps")) {
		*errmsg = xstrdup("'tls: none' contradicts an smtps:// url");
		return TRANSPORT_EURL;
	}
	if (o->tls_none && !transport_host_is_loopback(u->host)) {
		*errmsg = xasprintf("refusing to send without TLS to '%s': 'tls: none' is "
				    "allowed only for loopback hosts", u->host);
		return TRANSPORT_EINSECURE;
	}
	if (!str_empty(o->oauth2_token) && str_empty(o->username)) {
		*errmsg = xstrdup("an oauth2 token needs a username (smtp.username)");
		return TRANSPORT_EURL;
	}
	return 0;
}

static CURLcode configure_handle(struct smtp_transport *t, const struct transport_options *o)
{
	CURL *c = t->curl;
	long timeout = o->timeout > 0 ? o->timeout : DEFAULT_TIMEOUT;
	CURLcode rc = CURLE_OK;

#define SET(option, value) \
	do { if (rc == CURLE_OK) rc = curl_easy_setopt(c, option, value); } while (0)
	SET(CURLOPT_URL, o->url);
	SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	SET(CURLOPT_USE_SSL, (long)(o->tls_none ? CURLUSESSL_NONE : CURLUSESSL_ALL));
	/* Plain text is allowed to a loopback host only: ALL_PROXY must not carry it, and the
	 * password, to a proxy somewhere else. */
	if (o->tls_none)
		SET(CURLOPT_PROXY, "");
	/* ca_file is the only trust: CURLOPT_CAINFO alone replaces the default bundle but
	 * keeps the default CApath (Debian's /etc/ssl/certs), through which OpenSSL still
	 * trusts every system CA. libcurl 7.88 adds no other store (its CA fallback is
	 * not built in, CURLSSLOPT_NATIVE_CA is Windows only and off). */
	if (!str_empty(o->ca_file)) {
		SET(CURLOPT_CAINFO, o->ca_file);
		SET(CURLOPT_CAPATH, (char *)NULL);
	}
	if (!str_empty(o->username))
		SET(CURLOPT_USERNAME, o->username);
	if (!str_empty(o->password))
		SET(CURLOPT_PASSWORD, o->password);
	if (o->netrc)
		SET(CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL);
	if (!str_empty(o->oauth2_token))
		SET(CURLOPT_XOAUTH2_BEARER, o->oauth2_token);
	SET(CURLOPT_CONNECTTIMEOUT, o->connect_timeout > 0 ? o->connect_timeout
							    : DEFAULT_CONNECT_TIMEOUT);
	/* Per message: a server that stops answering cannot hang cron. The
	 * response timeout also bounds the wait for the reply to the QUIT that
	 * libcurl sends when it drops a failed connection, which CURLOPT_TIMEOUT
	 * does not cover. */
	SET(CURLOPT_TIMEOUT, timeout);
	SET(CURLOPT_SERVER_RESPONSE_TIMEOUT, timeout);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_UPLOAD, 1L);
	SET(CURLOPT_READFUNCTION, read_message);
	SET(CURLOPT_READDATA, t);
	SET(CURLOPT_ERRORBUFFER, t->error);
	SET(CURLOPT_VERBOSE, 1L);
	SET(CURLOPT_DEBUGFUNCTION, on_debug);
	SET(CURLOPT_DEBUGDATA, t);
#undef SET
	return rc;
}

int smtp_transport_open(struct smtp_transport **out, const struct transport_options *o,
			char **errmsg)
{
	struct smtp_transport *t = NULL;
	struct smtp_url url = { NULL, NULL, NULL };
	int acquired = 0, ret;
	CURLcode rc;

	*out = NULL;
	if (curl_acquire()) {
		*errmsg = xstrdup("cannot initialize libcurl");
		return TRANSPORT_ESYSTEM;
	}
	acquired = 1;
	ret = parse_smtp_url(o->url, &url, errmsg);
	if (!ret)
		ret = check_options(o, &url, errmsg);
	if (ret)
		goto out;

	t = xcalloc(1, sizeof(*t));
	t->verbose = o->verbose;
	t->description = xasprintf("%s://%s:%s", url.scheme, url.host, url.port);
	t->curl = curl_easy_init();
	if (!t->curl) {
		*errmsg = xstrdup("cannot initialize libcurl");
		ret = TRANSPORT_ESYSTEM;
		goto out;
	}
	rc = configure_handle(t, o);
	if (rc != CURLE_OK) {
		*errmsg = xasprintf("cannot set up smtp: %s", curl_easy_strerror(rc));
		ret = rc == CURLE_OUT_OF_MEMORY ? TRANSPORT_ESYSTEM : TRANSPORT_EURL;
		goto out;
	}
	*out = t;
	t = NULL;
	acquired = 0; /* now held by *out */
out:
	smtp_url_release(&url);
	if (t) {
		curl_easy_cleanup(t->curl);
		free(t->description);
		free(t);
	}
	if (acquired)
		curl_release();
	return ret;
}

/* --- sending ---------------------------------------------------------------- */

/* Failures of the connection, TLS, authentication or setup: every message
 * would hit them, so the run stops. */
static int is_session_failure(CURLcode rc)
{
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_FAILED_INIT:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_REMOTE_ACCESS_DENIED:
	case CURLE_OUT_OF_MEMORY:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_UNKNOWN_OPTION:
	case CURLE_LOGIN_DENIED:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_AUTH_ERROR:
		return 1;
	default:
		return 0;
	}
}

/* The subject of a reply's enhanced status code (RFC 3463), the 1 of "550 5.1.1 ...":
 * 1 the address, 2 the mailbox, 7 security or policy; -1 when the reply has none. */
static int enhanced_subject(const char *reply)
{
	const char *p = reply;

	if (strlen(p) < 4 || (p[3] != ' ' && p[3] != '-'))
		return -1;
	p += 4;
	if ((*p != '4' && *p != '5') || p[1] != '.' || !isdigit((unsigned char)p[2]))
		return -1;
	return atoi(p + 2);
}

/* What a 5xx after RCPT or the data says. Its address or its mailbox (5.1.x, 5.2.x) is
 * a bounce. A policy refusal (5.7.x: relaying denied, DMARC), or one after the data that
 * does not say, is about the sender or the message, and every message would get it:
 * bouncing on it would stop the follow-up of the whole list. A refusal at RCPT that
 * says neither (exim and qmail give no enhanced code) is most likely the address, but
 * is what a relay refusing everyone says too. */
static enum transport_result refusal(enum smtp_stage stage, const char *reply)
{
	int subject = enhanced_subject(reply);

	if (subject == 1 || subject == 2)
		return TRANSPORT_REJECTED;
	return stage == STAGE_RCPT && subject != 7 ? TRANSPORT_REFUSED : TRANSPORT_FATAL;
}

/*
 * Whether the transfer failed with no refusal from the server: the connection
 * was reset or closed, or the server went silent. libcurl says CURLE_SEND_ERROR
 * for a 4xx or 5xx to MAIL, RCPT or DATA too, so the reply code tells them apart:
 * 0 on a reused connection, 250 or 354 for what was answered before.
 */
static int connection_lost(CURLcode rc, long code)
{
	long reply_class = code / 100;

	if (reply_class == 4 || reply_class == 5)
		return 0;
	switch (rc) {
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_OPERATION_TIMEDOUT:
		return 1;
	default:
		return 0;
	}
}

/*
 * What the outcome means for this message. code is the server's last reply
 * code in this transfer (CURLINFO_RESPONSE_CODE), 354 when the data went up
 * but no reply to the final "." came; reply that reply's line.
 */
static enum transport_result classify(CURLcode rc, enum smtp_stage stage, long code,
				      const char *reply)
{
	long reply_class = code / 100;

	if (rc == CURLE_OK)
		return TRANSPORT_SENT;
	/* 421: the server is closing the session, whatever it was asked. */
	if (code == 421)
		return TRANSPORT_FATAL;
	/* A connection lost before RCPT TO (at the greeting, EHLO, STARTTLS, AUTH or MAIL
	 * FROM) is a server that is down or going: nothing of the message was sent and the
	 * next would fare the same, so the run stops and the touch is not marked. It is no
	 * refusal of the sender. Lost later, it is retried, or in doubt once the whole
	 * message is out (below). */
	if (connection_lost(rc, code) && (stage == STAGE_SESSION || stage == STAGE_MAIL))
		return TRANSPORT_FATAL;
	/* Once the whole message is out, only a reply may say it was not
	 * delivered; whatever else went wrong, it may have been. */
	if (stage == STAGE_END_OF_DATA) {
		if (reply_class == 5)
			return refusal(stage, reply);
		if (reply_class == 4)
			return TRANSPORT_RETRY;
		return TRANSPORT_IN_DOUBT;
	}
	/* A 535 is 5xx but no bounce: LOGIN_DENIED, in the session stage. */
	if (is_session_failure(rc) || stage == STAGE_SESSION)
		return TRANSPORT_FATAL;
	switch (stage) {
	case STAGE_MAIL:
		/* A reply to MAIL FROM is about the sender (a refusal, a demand for AUTH or
		 * TLS, a rate limit): no fault of this recipient, and every message would
		 * get it. */
		return TRANSPORT_FATAL;
	case STAGE_RCPT:
	case STAGE_DATA:
		/* A drop before the final "." delivers nothing. */
		if (reply_class == 5)
			return refusal(stage, reply);
		return TRANSPORT_RETRY;
	case STAGE_SESSION:
	case STAGE_END_OF_DATA:
	case STAGE_NOOP:
		break;
	}
	return TRANSPORT_FATAL;
}

/* Why the session failed (a check's failure, or a send's TRANSPORT_FATAL), into sb, in the
 * same words for both. recipient is NULL for a check: it had no message to stop for. */
static void add_session_failure(struct strbuf *sb, const struct smtp_transport *t,
				CURLcode rc, long code, const char *from, const char *recipient,
				int server_said)
{
	const char *why = t->error[0] ? t->error : curl_easy_strerror(rc);
	const char *stopped = recipient ? ": stopped, nothing marked" : "";

	if (rc == CURLE_USE_SSL_FAILED)
		strbuf_addf(sb, "%s does not offer STARTTLS: refusing to send without "
			    "TLS", t->description);
	else if (rc == CURLE_LOGIN_DENIED || rc == CURLE_AUTH_ERROR)
		strbuf_addf(sb, "authentication failed at %s: %s", t->description, why);
	else if (code == 421)
		strbuf_addf(sb, "%s is closing the session%s", t->description, stopped);
	else if (t->stage == STAGE_SESSION && server_said)
		strbuf_addf(sb, "%s refused the session before any message (its greeting,"
			    " EHLO or STARTTLS)%s", t->description, stopped);
	else if (connection_lost(rc, code) && rc == CURLE_OPERATION_TIMEDOUT && recipient)
		strbuf_addf(sb, "no answer from %s (%s) before the message to '%s' was"
			    " sent%s", t->description, why, recipient, stopped);
	else if (connection_lost(rc, code) && rc == CURLE_OPERATION_TIMEDOUT)
		strbuf_addf(sb, "no answer from %s (%s)", t->description, why);
	else if (connection_lost(rc, code) && recipient)
		strbuf_addf(sb, "the connection to %s was lost (%s) before the message to"
			    " '%s' was sent%s", t->description, why, recipient, stopped);
	else if (connection_lost(rc, code))
		strbuf_addf(sb, "the connection to %s was lost (%s)", t->description, why);
	else if (t->stage == STAGE_MAIL)
		strbuf_addf(sb, "%s refused sender '%s'", t->description, from);
	else if (server_said && recipient)
		strbuf_addf(sb, "%s refused the message to '%s' for a reason that is not"
			    " the recipient's, so every message would be%s", t->description,
			    recipient, stopped);
	else
		strbuf_addf(sb, "cannot send via %s: %s", t->description, why);
}

static char *failure_message(const struct smtp_transport *t, CURLcode rc, long code,
			     enum transport_result result, const char *from,
			     const char *recipient)
{
	const char *why = t->error[0] ? t->error : curl_easy_strerror(rc);
	struct strbuf sb = STRBUF_INIT;
	int server_said = t->last_reply[0] == '4' || t->last_reply[0] == '5';

	switch (result) {
	case TRANSPORT_REJECTED:
	case TRANSPORT_REFUSED:
		if (t->stage == STAGE_END_OF_DATA)
			strbuf_addf(&sb, "%s refused the message to '%s'", t->description,
				    recipient);
		else
			strbuf_addf(&sb, "%s refused recipient '%s'", t->description, recipient);
		break;
	case TRANSPORT_RETRY:
		if (server_said)
			strbuf_addf(&sb, "%s deferred '%s'", t->description, recipient);
		else
			strbuf_addf(&sb, "connection to %s lost before the message to '%s' "
				    "was complete: %s", t->description, recipient, why);
		break;
	case TRANSPORT_IN_DOUBT:
		strbuf_addf(&sb, "no reply from %s after the whole message to '%s' was "
			    "sent (%s): it may have been delivered", t->description,
			    recipient, why);
		server_said = 0;
		break;
	case TRANSPORT_FATAL:
		add_session_failure(&sb, t, rc, code, from, recipient, server_said);
		break;
	case TRANSPORT_SENT:
		break;
	}
	if (server_said)
		strbuf_addf(&sb, " (server said: %s)", t->last_reply);
	return strbuf_detach(&sb);
}

/*
 * Abandons the connection after a failure. libcurl 7.88 keeps some failed
 * connections for reuse, among them one whose reply to the final "." timed
 * out: a late reply would then be read as the answer to the next message's
 * MAIL FROM. Shutting the socket down (libcurl still closes it) makes libcurl
 * find the connection dead, drop it without a QUIT that a hung server would
 * make us wait for, and open a fresh one for the next message.
 */
static void abandon_connection(struct smtp_transport *t)
{
	curl_socket_t sock = CURL_SOCKET_BAD;

	if (curl_easy_getinfo(t->curl, CURLINFO_ACTIVESOCKET, &sock) == CURLE_OK &&
	    sock != CURL_SOCKET_BAD)
		shutdown(sock, SHUT_RDWR);
}

/* Forgets what the last transfer's dialogue said. */
static void begin_transfer(struct smtp_transport *t, const char *data, size_t len)
{
	t->data = data;
	t->len = len;
	t->pos = 0;
	t->stage = STAGE_SESSION;
	t->authenticating = 0;
	t->quitting = 0;
	t->last_reply[0] = '\0';
	t->error[0] = '\0';
}

enum transport_result smtp_transport_send(struct smtp_transport *t, const char *envelope_from,
					  const char *recipient, const char *data, size_t len,
					  char **errmsg)
{
	struct curl_slist *rcpt = NULL;
	char *mail_from = NULL, *rcpt_to = NULL;
	enum transport_result result;
	long code = 0;
	CURLcode rc;

	if (!envelope_address_valid(recipient)) {
		*errmsg = xstrdup("invalid recipient address");
		return TRANSPORT_REJECTED;
	}
	if (!envelope_address_valid(envelope_from)) {
		*errmsg = xstrdup("invalid envelope sender address");
		return TRANSPORT_FATAL;
	}
	mail_from = xasprintf("<%s>", envelope_from);
	rcpt_to = xasprintf("<%s>", recipient);
	rcpt = curl_slist_append(NULL, rcpt_to);

	begin_transfer(t, data, len);
	rc = curl_easy_setopt(t->curl, CURLOPT_MAIL_FROM, mail_from);
	if (rc == CURLE_OK)
		rc = rcpt ? curl_easy_setopt(t->curl, CURLOPT_MAIL_RCPT, rcpt) : CURLE_OUT_OF_MEMORY;
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(t->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	if (rc == CURLE_OK)
		rc = curl_easy_perform(t->curl);
	if (curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
		code = 0;
	/* A server that let one message time out would make every other wait as long (a
	 * cron run of 200, hours): the caller asks smtp_transport_stalled() and stops. */
	if (rc == CURLE_OPERATION_TIMEDOUT)
		t->timed_out = 1;
	result = classify(rc, t->stage, code, t->last_reply);
	if (result != TRANSPORT_SENT)
		*errmsg = failure_message(t, rc, code, result, envelope_from, recipient);

	/* The list dies here: libcurl must not keep a pointer to it. */
	curl_easy_setopt(t->curl, CURLOPT_MAIL_RCPT, (struct curl_slist *)NULL);
	curl_slist_free_all(rcpt);
	if (result != TRANSPORT_SENT)
		abandon_connection(t);
	t->data = NULL;
	free(mail_from);
	free(rcpt_to);
	return result;
}

const char *smtp_transport_describe(const struct smtp_transport *t)
{
	return t->description;
}

int smtp_transport_stalled(const struct smtp_transport *t)
{
	return t->timed_out;
}

void smtp_transport_close(struct smtp_transport *t)
{
	if (!t)
		return;
	curl_easy_cleanup(t->curl); /* sends QUIT on an open connection */
	free(t->description);
	free(t);
	curl_release();
}

/* --- checking --------------------------------------------------------------------------- */

/* A NOOP's reply is a body to libcurl: without this it would go to stdout. */
static size_t discard_reply(char *data, size_t size, size_t nmemb, void *userdata)
{
	(void)data;
	(void)userdata;
	return size * nmemb;
}

/* The handle asks for a NOOP instead of a message: libcurl sends CURLOPT_CUSTOMREQUEST as
 * a command of its own when there is no upload and no CURLOPT_MAIL_RCPT (curl's test 929:
 * EHLO, NOOP, QUIT), after the greeting, EHLO, STARTTLS and AUTH of every session.
 * CURLOPT_NOBODY keeps its reply out of the write callback too. */
static CURLcode ask_for_noop(struct smtp_transport *t)
{
	CURLcode rc = curl_easy_setopt(t->curl, CURLOPT_UPLOAD, 0L);

	if (rc == CURLE_OK)
		rc = curl_easy_setopt(t->curl, CURLOPT_MAIL_RCPT, (struct curl_slist *)NULL);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(t->curl, CURLOPT_CUSTOMREQUEST, "NOOP");
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(t->curl, CURLOPT_NOBODY, 1L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(t->curl, CURLOPT_WRITEFUNCTION, discard_reply);
	return rc;
}

static int configured_login(const struct transport_options *o)
{
	return !str_empty(o->username) || !str_empty(o->password) ||
	       !str_empty(o->oauth2_token) || o->netrc;
}

/* A login the config asks for but the session went without: libcurl skips AUTH when the
 * server offers none (a port 25 relay instead of the submission port), or when ~/.netrc
 * has no entry for the host. A send would go unauthenticated, and be refused at best. */
static char *unused_login_message(const struct smtp_transport *t,
				  const struct transport_options *o)
{
	if (!t->offers_auth)
		return xasprintf("%s offers no AUTH%s, so the configured login cannot be used"
				 " (is this the submission port, 587 or 465?)", t->description,
				 o->tls_none ? "" : " after TLS");
	return xasprintf("%s offers AUTH, but there was no login to give it: ~/.netrc has"
			 " no entry for its host (smtp.netrc)", t->description);
}

static void fill_check(const struct smtp_transport *t, const struct transport_options *o,
		       struct transport_check *out)
{
	long verify = -1;

	out->tls = o->tls_none ? "none" : starts_with(t->description, "smtps:") ? "tls"
									      : "starttls";
	if (!o->tls_none &&
	    curl_easy_getinfo(t->curl, CURLINFO_SSL_VERIFYRESULT, &verify) == CURLE_OK)
		out->certificate_ok = verify == 0;  /* X509_V_OK; a failure fails the session */
	if (t->logged_in)
		out->auth = xstrdup(t->auth_mechanism);
	out->username = str_empty(o->username) ? NULL : o->username;
}

int smtp_transport_check(struct smtp_transport *t, const struct transport_options *o,
			 struct transport_check *out, char **errmsg)
{
	long code = 0;
	CURLcode rc;

	out->url = xstrdup(t->description);
	begin_transfer(t, NULL, 0);
	t->logged_in = 0;
	rc = ask_for_noop(t);
	if (rc == CURLE_OK)
		rc = curl_easy_perform(t->curl);
	if (curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
		code = 0;
	/* NOOP is required of every server (RFC 5321 4.5.1), but one that does not know it
	 * (500, 502) has already done all a send needs before its MAIL FROM. Any other
	 * refusal (530: log in first) says something a send would meet too. */
	if (rc != CURLE_OK && t->stage == STAGE_NOOP && (code == 500 || code == 502))
		rc = CURLE_OK;
	if (rc != CURLE_OK) {
		*errmsg = failure_message(t, rc, code, TRANSPORT_FATAL, NULL, NULL);
		abandon_connection(t);
		return -1;
	}
	if (configured_login(o) && !t->logged_in) {
		*errmsg = unused_login_message(t, o);
		return -1;
	}
	fill_check(t, o, out);
	return 0;
}
