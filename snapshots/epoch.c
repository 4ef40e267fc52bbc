/*
 * epoch.c - epochs/<E> claims, lease.json and the reader's fence.json (see
 * epoch.h). Small JSON files, each read whole with a bound, written either
 * once with O_EXCL (a claim) or atomically (temp, fsync, rename, fsync the
 * directory: the lease, the fence); nothing opened through a symlink.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "beneath.h"
#include "epoch.h"
#include "fsutil.h"
#include "jsonfield.h"

#define LEASE_FORMAT 1
#define FENCE_FORMAT 1

static const char *const phase_names[] = {
	[LEASE_SEALING] = "sealing",
	[LEASE_ACTIVE] = "active",
	[LEASE_RELEASED] = "released",
};

const char *
epoch_phase_name(enum lease_phase p)
{
	return (unsigned)p <= LEASE_RELEASED ? phase_names[p] : "active";
}

/* key as an id (state_check_id's alphabet) into out. */
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

/* An epoch or a version: 1 (0 with zero_ok) to STATE_VERSION_MAX. */
static int
get_number(json_t *root, const char *key, bool zero_ok, uint64_t *out,
    struct snap_err *err)
{
	if (jf_uint(root, key, out, err) == -1)
		return -1;
	if ((*out == 0 && !zero_ok) || *out > STATE_VERSION_MAX)
		return snap_err_setc(err, SNAP_E_MALFORMED, "'%s' is %" PRIu64
		    ", not in %d..%" PRIu64, key, *out, zero_ok ? 0 : 1,
		    (uint64_t)STATE_VERSION_MAX);
	return 0;
}

static int
get_ms(json_t *root, const char *key, unsigned *out, struct snap_err *err)
{
	uint64_t v;

	if (jf_uint(root, key, &v, err) == -1)
		return -1;
	if (v == 0 || v > 86400000)
		return snap_err_setc(err, SNAP_E_MALFORMED, "'%s' is not 1 to "
		    "86400000 ms", key);
	*out = (unsigned)v;
	return 0;
}

static int
get_format(json_t *root, uint64_t want, struct snap_err *err)
{
	uint64_t format;

	if (!json_is_object(root))
		return snap_err_setc(err, SNAP_E_MALFORMED, "not a JSON object");
	if (jf_uint(root, "format", &format, err) == -1)
		return -1;
	if (format != want)
		return snap_err_setc(err, SNAP_E_MALFORMED, "format %" PRIu64
		    " is not supported (this build reads %" PRIu64 ")", format,
		    want);
	return 0;
}

int
epoch_lease_to_json(const struct lease *l, char **out, size_t *len,
    struct snap_err *err)
{
	return jf_dump(json_pack("{s:i, s:s, s:I, s:s, s:s, s:I, s:I, s:I, s:I}",
	    "format", LEASE_FORMAT, "cluster_id", l->cluster_id,
	    "epoch", (json_int_t)l->epoch, "node_id", l->node_id,
	    "phase", epoch_phase_name(l->phase),
	    "base_version", (json_int_t)l->base_version,
	    "seq", (json_int_t)l->seq, "lease_ms", (json_int_t)l->lease_ms,
	    "renew_ms", (json_int_t)l->renew_ms), out, len, err);
}

static int
parse_lease(json_t *root, struct lease *l, struct snap_err *err)
{
	const char *phase;
	size_t i;

	if (get_format(root, LEASE_FORMAT, err) == -1 ||
	    get_id(root, "cluster_id", l->cluster_id, sizeof(l->cluster_id),
	    err) == -1 ||
	    get_id(root, "node_id", l->node_id, sizeof(l->node_id), err) == -1 ||
	    get_number(root, "epoch", false, &l->epoch, err) == -1 ||
	    get_number(root, "base_version", true, &l->base_version,
	    err) == -1 ||
	    jf_uint(root, "seq", &l->seq, err) == -1 ||
	    get_ms(root, "lease_ms", &l->lease_ms, err) == -1 ||
	    get_ms(root, "renew_ms", &l->renew_ms, err) == -1)
		return -1;
	phase = json_string_value(json_object_get(root, "phase"));
	for (i = 0; phase != NULL && i <= LEASE_RELEASED; i++)
		if (strcmp(phase, phase_names[i]) == 0) {
			l->phase = (enum lease_phase)i;
			return 0;
		}
	return snap_err_setc(err, SNAP_E_MALFORMED, "'phase' is not sealing, "
	    "active or released");
}

int
epoch_lease_from_json(const char *buf, size_t len, struct lease *l,
    struct snap_err *err)
{
	json_t *root;
	int rc;

	memset(l, 0, sizeof(*l));
	if ((root = jf_load(buf, len, err)) == NULL)
		return snap_err_prefix(err, EPOCH_LEASE_FILE);
	rc = parse_lease(root, l, err);
	json_decref(root);
	if (rc == -1)
		snap_err_prefix(err, EPOCH_LEASE_FILE);
	return rc;
}

int
epoch_lease_read(int rootfd, const struct sign_key *pub, struct lease *l,
    struct snap_err *err)
{
	char *buf = NULL, *sig = NULL;
	size_t len, siglen;
	int rc = -1;

	if (fsu_read_file(rootfd, EPOCH_LEASE_FILE, EPOCH_FILE_MAX, &buf, &len,
	    err) == -1)
		return err != NULL && err->code == SNAP_E_MISSING ? 1 : -1;
	/* The bytes verified are the bytes parsed. A renewal between the
	 * two reads fails the check: no lease this time, not an error. */
	if (pub != NULL && (fsu_read_file(rootfd, EPOCH_LEASE_SIG,
	    EPOCH_FILE_MAX, &sig, &siglen, err) == -1 ||
	    sign_verify(pub, buf, len, sig, siglen, err) == -1)) {
		snap_err_prefix(err, EPOCH_LEASE_FILE);
		goto out;
	}
	rc = epoch_lease_from_json(buf, len, l, err);
out:
	free(sig);
	free(buf);
	return rc;
}

int
epoch_lease_write(int rootfd, const struct sign_key *key,
    const struct lease *l, struct snap_err *err)
{
	char *buf = NULL, *sig = NULL;
	size_t len, siglen;
	int rc = -1;

	if (epoch_lease_to_json(l, &buf, &len, err) == -1)
		return -1;
	if (key != NULL && (sign_buf(key, buf, len, &sig, &siglen, err) == -1 ||
	    fsu_write_atomic(rootfd, EPOCH_LEASE_SIG, sig, siglen, err) == -1))
		goto out;
	rc = fsu_write_atomic(rootfd, EPOCH_LEASE_FILE, buf, len, err);
out:
	free(sig);
	free(buf);
	return rc;
}

int
epoch_claim_to_json(const struct epoch_claim *c, char **out, size_t *len,
    struct snap_err *err)
{
	char at[32];

	fsu_rfc3339(c->claimed_at, at);
	return jf_dump(json_pack("{s:I, s:s, s:s, s:I, s:s}",
	    "epoch", (json_int_t)c->epoch, "node_id", c->node_id,
	    "nonce", c->nonce, "prev_epoch", (json_int_t)c->prev_epoch,
	    "claimed_at", at), out, len, err);
}

int
epoch_claim_from_json(const char *buf, size_t len, struct epoch_claim *c,
    struct snap_err *err)
{
	const char *nonce;
	json_t *root;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if ((root = jf_load(buf, len, err)) == NULL)
		return -1;
	if (!json_is_object(root)) {
		snap_err_setc(err, SNAP_E_MALFORMED, "not a JSON object");
		goto out;
	}
	if (get_number(root, "epoch", false, &c->epoch, err) == -1 ||
	    get_number(root, "prev_epoch", true, &c->prev_epoch, err) == -1 ||
	    get_id(root, "node_id", c->node_id, sizeof(c->node_id),
	    err) == -1 ||
	    jf_time(root, "claimed_at", &c->claimed_at, err) == -1)
		goto out;
	nonce = json_string_value(json_object_get(root, "nonce"));
	if (nonce == NULL || strlen(nonce) != EPOCH_NONCE_HEX ||
	    strspn(nonce, "0123456789abcdef") != EPOCH_NONCE_HEX) {
		snap_err_setc(err, SNAP_E_MALFORMED, "'nonce' is not %d "
		    "lower-case hex digits", EPOCH_NONCE_HEX);
		goto out;
	}
	memcpy(c->nonce, nonce, EPOCH_NONCE_HEX + 1);
	rc = 0;
out:
	json_decref(root);
	return rc;
}

void
epoch_nonce(char out[EPOCH_NONCE_HEX + 1])
{
	unsigned char raw[EPOCH_NONCE_HEX / 2];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(out, EPOCH_NONCE_HEX + 1, raw, sizeof(raw));
}

/* A claim that failed with EEXIST: ours all the same when the file holds
 * our nonce (NFS: a retransmitted exclusive create whose first reply was
 * lost). 0 ours, 1 another's, -1 unreadable. */
static int
claim_owner(int dirfd, const char *name, const struct epoch_claim *c,
    struct snap_err *err)
{
	struct epoch_claim there;
	char *buf = NULL;
	size_t len;
	int rc;

	if (fsu_read_file(dirfd, name, EPOCH_FILE_MAX, &buf, &len, err) == -1)
		return -1;
	/* A claim torn by a crash, or not ours to parse: not ours. */
	rc = epoch_claim_from_json(buf, len, &there, NULL) == 0 &&
	    there.epoch == c->epoch && strcmp(there.nonce, c->nonce) == 0 ? 0 : 1;
	free(buf);
	return rc;
}

int
epoch_claim(int rootfd, const struct epoch_claim *c, struct snap_err *err)
{
	char name[32], *buf = NULL;
	int dirfd = -1, fd = -1, rc = -1, saved;
	size_t len;

	snprintf(name, sizeof(name), "%" PRIu64, c->epoch);
	if (epoch_claim_to_json(c, &buf, &len, err) == -1)
		return -1;
	if ((dirfd = beneath_make_dir(rootfd, EPOCH_DIR, 0755, err)) == -1)
		goto out;
	/* One component below a directory opened beneath the root: O_EXCL
	 * refuses whatever is there, a symlink included. */
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	if (fd == -1) {
		saved = errno;
		if (saved == EEXIST)
			rc = claim_owner(dirfd, name, c, err);
		else
			snap_err_sys(err, saved, EPOCH_DIR "/%s", name);
		goto out;
	}
	if (fsu_write_all(fd, buf, len) == -1 || fsync(fd) == -1) {
		snap_err_sys(err, errno, EPOCH_DIR "/%s", name);
		goto out;
	}
	saved = close(fd);
	fd = -1;
	if (saved == -1) {
		snap_err_sys(err, errno, EPOCH_DIR "/%s", name);
		goto out;
	}
	/* The name made durable: a claim lost in a crash could be granted
	 * twice. */
	if (fsu_fsync_dir(dirfd, EPOCH_DIR, err) == -1)
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
	free(buf);
	return rc;
}

uint64_t
epoch_highest(int rootfd)
{
	uint64_t best = 0, v;
	struct dirent *de;
	char *end;
	DIR *d;
	int fd;

	if ((fd = beneath_open_dir(rootfd, EPOCH_DIR, NULL)) == -1)
		return 0;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		errno = 0;
		v = strtoull(de->d_name, &end, 10);
		if (errno == 0 && *end == '\0' && v <= STATE_VERSION_MAX &&
		    v > best)
			best = v;
	}
	closedir(d);
	return best;
}

int
epoch_fence_from_json(const char *buf, size_t len, struct epoch_fence *f,
    struct snap_err *err)
{
	json_t *root;
	int rc = -1;

	memset(f, 0, sizeof(*f));
	if ((root = jf_load(buf, len, err)) == NULL)
		return -1;
	if (get_format(root, FENCE_FORMAT, err) == 0 &&
	    get_number(root, "max_epoch", true, &f->max_epoch, err) == 0 &&
	    get_number(root, "base_of_max", true, &f->base_of_max, err) == 0)
		rc = 0;
	json_decref(root);
	if (rc == -1)
		memset(f, 0, sizeof(*f));
	return rc;
}

int
epoch_fence_load(int dirfd, struct epoch_fence *f, struct snap_err *err)
{
	char *buf = NULL;
	size_t len;
	int rc;

	memset(f, 0, sizeof(*f));
	if (fsu_read_file(dirfd, EPOCH_FENCE_FILE, EPOCH_FILE_MAX, &buf, &len,
	    err) == -1)
		return err != NULL && err->code == SNAP_E_MISSING ? 0 : -1;
	rc = epoch_fence_from_json(buf, len, f, err);
	free(buf);
	if (rc == -1)
		snap_err_prefix(err, EPOCH_FENCE_FILE);
	return rc;
}

int
epoch_fence_save(int dirfd, const struct epoch_fence *f, struct snap_err *err)
{
	char *buf = NULL;
	size_t len;
	int rc;

	if (jf_dump(json_pack("{s:i, s:I, s:I}", "format", FENCE_FORMAT,
	    "max_epoch", (json_int_t)f->max_epoch,
	    "base_of_max", (json_int_t)f->base_of_max), &buf, &len, err) == -1)
		return -1;
	rc = fsu_write_atomic(dirfd, EPOCH_FENCE_FILE, buf, len, err);
	free(buf);
	return rc;
}

int
epoch_fence_check(struct epoch_fence *f, const struct snap_state *st,
    const struct lease *l, bool *moved, struct snap_err *err)
{
	*moved = false;
	/* (1) A new epoch announced by its lease. */
	if (l != NULL && strcmp(l->cluster_id, st->cluster_id) == 0 &&
	    l->epoch > f->max_epoch) {
		if (l->phase == LEASE_SEALING && st->epoch < l->epoch)
			return snap_err_setc(err, SNAP_E_EPOCH_PENDING, "epoch "
			    "%" PRIu64 " of %s is being sealed: version %" PRIu64
			    " (epoch %" PRIu64 ") waits for its seal", l->epoch,
			    l->node_id, st->version, st->epoch);
		if (l->phase != LEASE_SEALING) {
			f->max_epoch = l->epoch;
			f->base_of_max = l->base_version;
			*moved = true;
		}
	}
	/* (2) A new epoch announced by its state. */
	if (st->epoch > f->max_epoch) {
		f->max_epoch = st->epoch;
		f->base_of_max = st->epoch_base_version;
		*moved = true;
	}
	/* (3) A deposed publisher's late write. */
	if (st->epoch < f->max_epoch && st->version > f->base_of_max)
		return snap_err_setc(err, SNAP_E_STALE_EPOCH, "version %" PRIu64
		    " of %s is of epoch %" PRIu64 ", deposed by epoch %" PRIu64
		    " (which builds on version %" PRIu64 "): a stale "
		    "publisher's write, refused", st->version, st->node_id,
		    st->epoch, f->max_epoch, f->base_of_max);
	return 0;
}
