/*
 * curl_lib.h - libcurl, loaded the first time an SMTP transport opens.
 *
 * Why: linking libcurl brings its whole dependency tree (OpenSSL, LDAP, SSH, HTTP/2,
 * Kerberos) into every start of the program, about 20 ms on this hardware, which every
 * `followup due` would pay without sending anything. Only transport_smtp.c includes this
 * header; it calls libcurl through the table below, loaded by curl_lib_load().
 */
#ifndef FOLLOWUP_CURL_LIB_H
#define FOLLOWUP_CURL_LIB_H

#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

struct curl_lib {
	CURLcode (*global_init)(long flags);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *curl);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *curl);
	const char *(*easy_strerror)(CURLcode code);
	void (*free)(void *p);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
	CURLU *(*url)(void);
	void (*url_cleanup)(CURLU *url);
	CURLUcode (*url_get)(const CURLU *url, CURLUPart part, char **out, unsigned int flags);
	CURLUcode (*url_set)(CURLU *url, CURLUPart part, const char *value, unsigned int flags);
	const char *(*url_strerror)(CURLUcode code);
};
extern struct curl_lib curl_lib;

/* Loads libcurl.so.4 and fills curl_lib (once). Returns 0, or -1 with *errmsg allocated. */
int curl_lib_load(char **errmsg);

/* The rest of the file calls libcurl by its usual names (curl.h's own wrappers of the
 * variadic two go first). */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init (*curl_lib.global_init)
#define curl_global_cleanup (*curl_lib.global_cleanup)
#define curl_easy_init (*curl_lib.easy_init)
#define curl_easy_setopt (*curl_lib.easy_setopt)
#define curl_easy_perform (*curl_lib.easy_perform)
#define curl_easy_getinfo (*curl_lib.easy_getinfo)
#define curl_easy_cleanup (*curl_lib.easy_cleanup)
#define curl_easy_strerror (*curl_lib.easy_strerror)
#define curl_free (*curl_lib.free)
#define curl_slist_append (*curl_lib.slist_append)
#define curl_slist_free_all (*curl_lib.slist_free_all)
#define curl_url (*curl_lib.url)
#define curl_url_cleanup (*curl_lib.url_cleanup)
#define curl_url_get (*curl_lib.url_get)
#define curl_url_set (*curl_lib.url_set)
#define curl_url_strerror (*curl_lib.url_strerror)

#endif
