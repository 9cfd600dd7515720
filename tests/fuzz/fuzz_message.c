/* libFuzzer harness: the message builder. Whatever the names, subject and body, the
 * output has CRLF line ends only, no header line a datum could have added, and no line
 * over 998 octets. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "followup/message.h"
#include "followup/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const header_names[] = {
	"Date:", "From:", "To:", "Subject:", "Message-ID:", "In-Reply-To:", "References:",
	"MIME-Version:", "Content-Type:", "Content-Transfer-Encoding:", "List-Unsubscribe:",
	"List-Unsubscribe-Post:",
};

static void check(const struct strbuf *msg)
{
	const char *p = msg->buf, *end = msg->buf + msg->len;
	int in_headers = 1;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t len;
		if (!eol || eol == p || eol[-1] != '\r')
			abort();        /* a bare LF, or no line end */
		len = (size_t)(eol - p) - 1;
		if (len > 998)
			abort();
		if (in_headers && len == 0) {
			in_headers = 0;
		} else if (in_headers && *p != ' ' && *p != '\t') {
			int known = 0;
			for (size_t i = 0; i < sizeof(header_names) / sizeof(*header_names); i++)
				known |= !strncmp(p, header_names[i], strlen(header_names[i]));
			if (!known)
				abort();        /* a header the data made up */
		}
		p = eol + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	const char *parts[5] = { "", "", "", "", "" };
	struct message m = { 0 };
	struct strbuf out = STRBUF_INIT;
	char *err = NULL;
	size_t n = 0;

	memcpy(text, data, size);
	text[size] = '\0';
	for (char *p = text; n < 5; n++) {
		parts[n] = p;
		p = strchr(p, '\x1f');
		if (!p)
			break;
		*p++ = '\0';
	}
	m.from_name = parts[0];
	m.from_email = "rep@acme.example";
	m.to_name = parts[1];
	m.to_email = "lead@example.com";
	m.subject = parts[2];
	m.body = parts[3];
	m.signature = parts[4];
	m.message_id = "<1@acme.example>";
	m.unsubscribe_url = "https://acme.example/u/abc";
	m.date = 1773057600;
	if (message_build(&m, &out, &err) == 0)
		check(&out);
	free(err);
	strbuf_release(&out);
	free(text);
	return 0;
}
