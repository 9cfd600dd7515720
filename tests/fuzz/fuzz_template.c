/* libFuzzer harness: template checking and rendering on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "followup/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lookup(void *ctx, const char *name)
{
	(void)ctx;
	return strlen(name) % 3 == 0 ? NULL : strlen(name) % 3 == 1 ? "" : "value";
}

static void report(void *ctx, size_t offset, const char *message)
{
	size_t *size = ctx;
	if (offset > *size || !message)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tmpl = xstrndup((const char *)data, size), *held = NULL;
	struct strbuf out = STRBUF_INIT;
	size_t len = strlen(tmpl);

	template_check(tmpl, report, &len);
	if (template_render(tmpl, lookup, NULL, &out, &held) && !held)
		abort();        /* held without a reason */
	free(held);
	strbuf_release(&out);
	free(tmpl);
	return 0;
}
