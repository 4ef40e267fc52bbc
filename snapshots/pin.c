/*
 * pin.c - pin.json, read and written (see pin.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "fsutil.h"
#include "jsonfield.h"
#include "pin.h"

#define PIN_FORMAT 1
#define PIN_MAX_BYTES 4096

int
pin_to_json(const struct pin *p, char **out, size_t *len,
    struct snap_err *err)
{
	char at[32];
	json_t *root;

	fsu_rfc3339(p->pinned_at, at);
	root = json_pack("{s:i, s:s, s:I, s:s, s:s}", "format", PIN_FORMAT,
	    "cluster_id", p->cluster_id, "version", (json_int_t)p->version,
	    "pinned_at", at, "by", p->by);
	return jf_dump(root, out, len, err);
}

static int
get_id(json_t *root, const char *key, char *out, size_t outlen,
    struct snap_err *err)
{
	const char *s = json_string_value(json_object_get(root, key));

	if (s == NULL || strlen(s) >= outlen)
		return snap_err_setc(err, SNAP_E_MALFORMED, "'%s' is not a "
		    "string of at most %zu bytes", key, outlen - 1);
	if (state_check_id(s, err) == -1)
		return snap_err_prefix(err, "%s", key);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

int
pin_from_json(const char *buf, size_t len, struct pin *p,
    struct snap_err *err)
{
	uint64_t format;
	json_t *root;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	if ((root = jf_load(buf, len, err)) == NULL)
		return snap_err_prefix(err, PIN_FILE);
	if (!json_is_object(root)) {
		snap_err_setc(err, SNAP_E_MALFORMED, "not a JSON object");
		goto out;
	}
	if (jf_uint(root, "format", &format, err) == -1)
		goto out;
	if (format != PIN_FORMAT) {
		snap_err_setc(err, SNAP_E_MALFORMED, "format %" PRIu64 " is not "
		    "supported (this build reads %d)", format, PIN_FORMAT);
		goto out;
	}
	if (get_id(root, "cluster_id", p->cluster_id, sizeof(p->cluster_id),
	    err) == -1 || get_id(root, "by", p->by, sizeof(p->by), err) == -1 ||
	    jf_uint(root, "version", &p->version, err) == -1 ||
	    jf_time(root, "pinned_at", &p->pinned_at, err) == -1)
		goto out;
	if (p->version == 0 || p->version > STATE_VERSION_MAX) {
		snap_err_setc(err, SNAP_E_MALFORMED, "'version' is not 1 to %"
		    PRIu64, (uint64_t)STATE_VERSION_MAX);
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	if (rc == -1) {
		snap_err_prefix(err, PIN_FILE);
		memset(p, 0, sizeof(*p));
	}
	return rc;
}

int
pin_read(int rootfd, struct pin *p, struct snap_err *err)
{
	char *buf = NULL;
	size_t len;
	int rc;

	memset(p, 0, sizeof(*p));
	if (fsu_read_file(rootfd, PIN_FILE, PIN_MAX_BYTES, &buf, &len,
	    err) == -1)
		return err != NULL && err->code == SNAP_E_MISSING ? 1 : -1;
	rc = pin_from_json(buf, len, p, err);
	free(buf);
	return rc;
}

int
pin_write(int rootfd, const struct pin *p, struct snap_err *err)
{
	char *buf = NULL;
	size_t len;
	int rc;

	if (pin_to_json(p, &buf, &len, err) == -1)
		return -1;
	rc = fsu_write_atomic(rootfd, PIN_FILE, buf, len, err);
	free(buf);
	return rc;
}

int
pin_remove(int rootfd, struct snap_err *err)
{
	/* One name in a directory opened as the root: unlinkat never
	 * follows a symlink, it removes the name. */
	if (unlinkat(rootfd, PIN_FILE, 0) == -1) {
		if (errno == ENOENT)
			return 0;
		return snap_err_sys(err, errno, PIN_FILE);
	}
	return fsu_fsync_dir(rootfd, PIN_FILE, err);
}
