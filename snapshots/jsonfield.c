/*
 * jsonfield.c - checked reads of JSON fields, and the one writer of small
 * JSON files (see jsonfield.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"
#include "jsonfield.h"

json_t *
jf_load(const char *buf, size_t len, struct snap_err *err)
{
	json_error_t jerr;
	json_t *root;

	if ((root = json_loadb(buf, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL)
		snap_err_setc(err, SNAP_E_MALFORMED, "malformed JSON at line "
		    "%d: %s", jerr.line, jerr.text);
	return root;
}

int
jf_uint(json_t *obj, const char *key, uint64_t *u, struct snap_err *err)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return snap_err_setc(err, SNAP_E_MALFORMED, "'%s' is not a "
		    "non-negative integer", key);
	*u = (uint64_t)json_integer_value(v);
	return 0;
}

int
jf_time(json_t *obj, const char *key, int64_t *t, struct snap_err *err)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v) ||
	    fsu_parse_rfc3339(json_string_value(v), t) == -1)
		return snap_err_setc(err, SNAP_E_MALFORMED, "'%s' is not an "
		    "RFC 3339 UTC time", key);
	return 0;
}

json_t *
jf_time_or_null(int64_t t)
{
	char when[32];

	if (t == 0)
		return json_null();
	fsu_rfc3339(t, when);
	return json_string(when);
}

int
jf_escape(char *out, size_t size, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;
	int w;

	for (; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			if (n + 3 > size)
				return -1;
			out[n++] = '\\';
			out[n++] = (char)*p;
			continue;
		}
		if (*p < 0x20 || *p == 0x7f) {
			w = n + 7 > size ? -1 : snprintf(out + n, size - n,
			    "\\u%04x", *p);
			if (w != 6)
				return -1;
			n += 6;
			continue;
		}
		if (n + 2 > size)
			return -1;
		out[n++] = (char)*p;
	}
	if (size == 0)
		return -1;
	out[n] = '\0';
	return (int)n;
}

int
jf_dump(json_t *root, char **out, size_t *len, struct snap_err *err)
{
	char *s;

	*out = NULL;
	s = root != NULL ? json_dumps(root, JSON_INDENT(2) |
	    JSON_PRESERVE_ORDER) : NULL;
	json_decref(root);
	if (s == NULL || (*out = malloc(strlen(s) + 2)) == NULL) {
		free(s);
		return snap_err_setc(err, SNAP_E_NOMEM, "out of memory");
	}
	*len = (size_t)sprintf(*out, "%s\n", s);
	free(s);
	return 0;
}
