/* curl_lib.c - see curl_lib.h. */
#include "followup/curl_lib.h"
#include "followup/util.h"

#include <dlfcn.h>
#include <string.h>

struct curl_lib curl_lib;

/* Resolves one symbol into its slot; the slot's type is the real function's. */
static int resolve(void *handle, const char *name, void *slot, char **errmsg)
{
	void *sym = dlsym(handle, name);

	if (!sym) {
		*errmsg = xasprintf("libcurl has no %s: %s", name, dlerror());
		return -1;
	}
	memcpy(slot, &sym, sizeof(sym));
	return 0;
}

int curl_lib_load(char **errmsg)
{
	static void *handle;
	static const struct { const char *name; size_t offset; } symbols[] = {
		{ "curl_global_init", offsetof(struct curl_lib, global_init) },
		{ "curl_global_cleanup", offsetof(struct curl_lib, global_cleanup) },
		{ "curl_easy_init", offsetof(struct curl_lib, easy_init) },
		{ "curl_easy_setopt", offsetof(struct curl_lib, easy_setopt) },
		{ "curl_easy_perform", offsetof(struct curl_lib, easy_perform) },
		{ "curl_easy_getinfo", offsetof(struct curl_lib, easy_getinfo) },
		{ "curl_easy_cleanup", offsetof(struct curl_lib, easy_cleanup) },
		{ "curl_easy_strerror", offsetof(struct curl_lib, easy_strerror) },
		{ "curl_free", offsetof(struct curl_lib, free) },
		{ "curl_slist_append", offsetof(struct curl_lib, slist_append) },
		{ "curl_slist_free_all", offsetof(struct curl_lib, slist_free_all) },
		{ "curl_url", offsetof(struct curl_lib, url) },
		{ "curl_url_cleanup", offsetof(struct curl_lib, url_cleanup) },
		{ "curl_url_get", offsetof(struct curl_lib, url_get) },
		{ "curl_url_set", offsetof(struct curl_lib, url_set) },
		{ "curl_url_strerror", offsetof(struct curl_lib, url_strerror) },
	};

	if (handle)
		return 0;
	handle = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		*errmsg = xasprintf("cannot load libcurl: %s", dlerror());
		return -1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(symbols); i++) {
		if (resolve(handle, symbols[i].name, (char *)&curl_lib + symbols[i].offset, errmsg)) {
			dlclose(handle);
			handle = NULL;
			return -1;
		}
	}
	return 0;
}
