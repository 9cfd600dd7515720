/* libFuzzer harness: template checking and rendering on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "followup/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lookup(void *ctx, int field, const char *name)
{
	(void)ctx;
	if (field != template_field(name))
		abort();
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
	struct template *t = template_compile(tmpl);

	template_check(tmpl, report, &len);
	if (template_render(t, lookup, NULL, &out, &held) && !held)
		abort();        /* held without a reason */
	free(held);
	template_free(t);
	strbuf_release(&out);
	free(tmpl);
	return 0;
}
