/*
 * jsonfield.h - typed, checked reads of one field of a JSON object (jansson),
 * shared by the manifest and state.json readers; and the one time writer
 * the REST answers share. Each returns 0, or -1 with
 * err naming the key and what it should have been.
 */
#ifndef JSONFIELD_H
#define JSONFIELD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "snap_err.h"

/* buf as one JSON document (duplicate keys refused): a new reference, or
 * NULL with err ("malformed JSON at line N: ...", SNAP_E_MALFORMED). */
json_t *jf_load(const char *buf, size_t len, struct snap_err *err);

/* A non-negative integer. */
int jf_uint(json_t *obj, const char *key, uint64_t *u, struct snap_err *err);

/* An RFC 3339 UTC time ("2026-11-24T19:40:00Z"), as unix seconds. */
int jf_time(json_t *obj, const char *key, int64_t *t, struct snap_err *err);

/* t as an RFC 3339 UTC string, or JSON null when t is 0 ("never"): a new
 * reference. */
json_t *jf_time_or_null(int64_t t);

/* s (UTF-8) as the inside of a JSON string into out (size bytes): '"',
 * '\\' and control characters escaped, everything else as it is. The
 * length written, or -1 when it does not fit. */
int jf_escape(char *out, size_t size, const char *s);

/* root (released here; NULL counts as out of memory) as one indented
 * document, keys in insertion order, with a final newline: malloc'ed in
 * *out, the caller's. The form every small JSON file we write has. */
int jf_dump(json_t *root, char **out, size_t *len, struct snap_err *err);

#endif
