/* transport.c - see transport.h: picks the backend from the URL scheme. */
#include "followup/transport.h"
#include "followup/util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct transport {
	struct smtp_transport *smtp;       /* exactly one backend is set */
	struct maildir_transport *maildir;
};

static int is_smtp_url(const char *url)
{
	return !strncasecmp(url, "smtp://", 7) || !strncasecmp(url, "smtps://", 8);
}

int transport_open(struct transport **out, const struct transport_options *o, char **errmsg)
{
	struct transport *t = xcalloc(1, sizeof(*t));
	int ret;

	*out = NULL;
	if (!o || str_empty(o->url)) {
		*errmsg = xstrdup("no transport url configured (smtp.url)");
		ret = TRANSPORT_EURL;
	} else if (!strncmp(o->url, "maildir:", 8)) {
		ret = maildir_transport_open(&t->maildir, o->url + 8, errmsg);
	} else if (is_smtp_url(o->url)) {
		ret = smtp_transport_open(&t->smtp, o, errmsg);
	} else {
		/* Only the scheme: the rest of a bad URL may hold a password. */
		*errmsg = xasprintf("unsupported transport url scheme '%.*s' "
				    "(expected smtp://, smtps:// or maildir:PATH)",
				    (int)strcspn(o->url, ":/"), o->url);
		ret = TRANSPORT_EURL;
	}
	if (ret) {
		free(t);
		return ret;
	}
	*out = t;
	return 0;
}

enum transport_result transport_send(struct transport *t, const char *envelope_from,
				     const char *recipient, const char *data, size_t len,
				     char **errmsg)
{
	if (t->smtp)
		return smtp_transport_send(t->smtp, envelope_from, recipient, data, len, errmsg);
	return maildir_transport_send(t->maildir, envelope_from, recipient, data, len, errmsg);
}

const char *transport_describe(const struct transport *t)
{
	if (t->smtp)
		return smtp_transport_describe(t->smtp);
	return maildir_transport_describe(t->maildir);
}

int transport_stalled(const struct transport *t)
{
	return t && t->smtp && smtp_transport_stalled(t->smtp);  /* a Maildir never stalls */
}

void transport_close(struct transport *t)
{
	if (!t)
		return;
	smtp_transport_close(t->smtp);
	maildir_transport_close(t->maildir);
	free(t);
}

int transport_check(const struct transport_options *o, struct transport_check *out,
		    char **errmsg)
{
	struct transport *t = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	/* A Maildir is checked as it is, not opened: opening makes its directories. */
	if (o && o->url && !strncmp(o->url, "maildir:", 8))
		return maildir_transport_check(o->url + 8, out, errmsg) ? -1 : 0;
	/* Opened as a send opens it: the same refusals (tls: none to a host that is not
	 * loopback, a malformed url), before anything connects. */
	if (transport_open(&t, o, errmsg))
		return -1;
	ret = smtp_transport_check(t->smtp, o, out, errmsg);
	transport_close(t);     /* QUIT */
	return ret ? -1 : 0;
}

void transport_check_release(struct transport_check *c)
{
	free(c->url);
	free(c->auth);
	memset(c, 0, sizeof(*c));
}

const char *transport_result_name(enum transport_result result)
{
	switch (result) {
	case TRANSPORT_SENT:
		return "sent";
	case TRANSPORT_RETRY:
		return "retry";
	case TRANSPORT_REJECTED:
		return "rejected";
	case TRANSPORT_REFUSED:
		return "refused";
	case TRANSPORT_IN_DOUBT:
		return "in doubt";
	case TRANSPORT_FATAL:
		return "fatal";
	}
	return "unknown";
}

int transport_host_is_loopback(const char *host)
{
	char bare[INET6_ADDRSTRLEN + 2];
	struct in_addr v4;
	struct in6_addr v6;
	size_t len = strlen(host);

	if (!strcasecmp(host, "localhost") || !strcasecmp(host, "localhost."))
		return 1;
	if (len >= sizeof(bare))
		return 0;
	if (host[0] == '[' && len > 2 && host[len - 1] == ']') {
		memcpy(bare, host + 1, len - 2);
		bare[len - 2] = '\0';
	} else {
		memcpy(bare, host, len + 1);
	}
	if (inet_pton(AF_INET, bare, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, bare, &v6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&v6) ||
		       (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
	return 0;
}
