/*
 * curlload.c - libcurl, loaded when a client command first needs it (see
 * curlload.h).
 */
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

#include "curlload.h"

/* The run-time name (Debian's libcurl4 and libcurl3-gnutls both provide
 * it); the unversioned libcurl.so is only in the -dev package. */
#define CURL_SONAME "libcurl.so.4"

static struct curl_api api;
static void *handle;

/* Each symbol into its slot: the table's order is the struct's. */
static const struct {
	const char *name;
	size_t offset;
} symbols[] = {
	{ "curl_global_init", offsetof(struct curl_api, global_init) },
	{ "curl_global_cleanup", offsetof(struct curl_api, global_cleanup) },
	{ "curl_easy_init", offsetof(struct curl_api, easy_init) },
	{ "curl_easy_setopt", offsetof(struct curl_api, easy_setopt) },
	{ "curl_easy_perform", offsetof(struct curl_api, easy_perform) },
	{ "curl_easy_getinfo", offsetof(struct curl_api, easy_getinfo) },
	{ "curl_easy_cleanup", offsetof(struct curl_api, easy_cleanup) },
	{ "curl_easy_strerror", offsetof(struct curl_api, easy_strerror) },
	{ "curl_slist_append", offsetof(struct curl_api, slist_append) },
	{ "curl_slist_free_all", offsetof(struct curl_api, slist_free_all) },
};

const struct curl_api *
curl_api(struct snap_err *err)
{
	struct curl_api loaded;
	void *fn;
	size_t i;

	if (handle != NULL)
		return &api;
	if ((handle = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snap_err_set(err, "cannot load %s (%s): install libcurl4",
		    CURL_SONAME, dlerror());
		return NULL;
	}
	for (i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		if ((fn = dlsym(handle, symbols[i].name)) == NULL) {
			snap_err_set(err, "%s: no %s", CURL_SONAME,
			    symbols[i].name);
			dlclose(handle);
			handle = NULL;
			return NULL;
		}
		/* POSIX: a data pointer from dlsym converts to a function
		 * pointer; memcpy says so without a cast warning. */
		memcpy((char *)&loaded + symbols[i].offset, &fn, sizeof(fn));
	}
	api = loaded;
	return &api;
}
