/*
 * snap_open.c - a version opened for reading (see snap.h): its state
 * checked, its manifests read and verified in one pass each, its deltas
 * applied, its archives opened for arc_extract().
 *
 * Calling sequence (a reader): struct snap_version v = SNAP_VERSION_INIT;
 * set v.pub to require a signature; snap_read_state() to look at the
 * latest without opening it (optional); snap_open() or snap_open_since()
 * with the manifest the reader holds; arc_extract() on v.layers[] (or
 * snap_verify_layers()); snap_close(&v) always. snap_verify() is all of it
 * for one version.
 *
 * Error contract: -1 with err, coded (SNAP_E_CHECKSUM, SNAP_E_MALFORMED,
 * SNAP_E_TRUNCATED, the signature codes...), and v closed: nothing to
 * free, and a borrowed manifest back at the version it had.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arc.h"
#include "beneath.h"
#include "fsutil.h"
#include "snap_int.h"

/*
 * state.json is the one file no checksum covers, so it is checked against
 * its twin, the copy its version was published with
 * (snapshots/<V>.state.json): the XXH128 of the bytes each was read from
 * must match. A flipped bit in a field that nothing else checks (an id, a
 * time) is then refused like any other damage.
 */
static int
check_copy(int rootfd, const struct snap_version *v, struct snap_err *err)
{
	char *copy = NULL, name[96], sum[HASH_HEX_LEN + 1];
	size_t clen;

	state_copy_name(v->st.version, name, sizeof(name));
	if (fsu_read_file(rootfd, name, STATE_MAX_BYTES, &copy, &clen,
	    err) == -1)
		return -1;
	hash_buf(copy, clen, sum);
	free(copy);
	if (strcmp(sum, v->st_xxh128) != 0)
		return snap_err_setc(err, SNAP_E_CHECKSUM, STATE_FILE
		    " differs from its copy %s "
		    "(damaged, or not written by a publisher)", name);
	return 0;
}

int
snap_read_state(int rootfd, struct snap_version *v, struct snap_err *err)
{
	char *buf = NULL;
	size_t len;
	int rc;

	if (fsu_read_file(rootfd, STATE_FILE, STATE_MAX_BYTES, &buf, &len,
	    err) == -1)
		return -1;
	if ((rc = sign_state_parse(rootfd, buf, len, v->pub, &v->st,
	    err)) == -1)
		snap_err_prefix(err, STATE_FILE);
	else {
		hash_buf(buf, len, v->st_xxh128);
		if (v->pub != NULL)
			sign_hash_buf(buf, len, v->st_blake2b);
		v->st_read = true;
	}
	free(buf);
	return rc;
}

static int
open_state(int rootfd, uint64_t version, struct snap_version *v,
    struct snap_err *err)
{
	char name[96];

	if (version == 0 && !v->st_read &&
	    snap_read_state(rootfd, v, err) == -1)
		return -1;
	if (version == 0)
		return check_copy(rootfd, v, err);
	state_copy_name(version, name, sizeof(name));
	if (sign_state_read(rootfd, name, v->pub, &v->st, err) == -1)
		return -1;
	if (v->st.version != version)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "%s records version %" PRIu64, name,
		    v->st.version);
	return 0;
}

/* Reads a manifest whose state record says what its bytes must be: size,
 * XXH128 and BLAKE2b are checked over the very bytes parsed, in one pass
 * (manifest_read_checked), so a file swapped meanwhile cannot get in. */
static struct manifest *
read_manifest(int rootfd, const struct state_file *f,
    enum manifest_kind kind, unsigned flags, struct snap_err *err)
{
	struct manifest *m = NULL;
	int fd;

	if (f->size > SNAP_MANIFEST_MAX_BYTES) {
		snap_err_setc(err, SNAP_E_TOO_LARGE,
		    "%s: %" PRIu64 " bytes is over the limit",
		    f->name, f->size);
		return NULL;
	}
	if ((fd = beneath_open(rootfd, f->name, O_RDONLY | O_NONBLOCK, 0,
	    err)) == -1)
		return NULL;
	if (fsu_check_regular(fd, f->name, err) == -1 ||
	    (m = manifest_read_checked(fd, f, flags, err)) == NULL)
		snap_err_prefix(err, "%s", f->name);
	else if (m->kind != kind) {
		snap_err_setc(err, SNAP_E_MALFORMED,
		    "%s: a %s manifest where a %s one belongs",
		    f->name, m->kind == MANIFEST_FULL ? "full" : "delta",
		    kind == MANIFEST_FULL ? "full" : "delta");
		manifest_free(m);
		m = NULL;
	}
	close(fd);
	return m;
}

/* Adds a layer: its manifest read and verified, its archive opened. */
static int
open_layer(int rootfd, struct snap_version *v, const struct state_file *mf,
    const struct state_file *af, uint64_t version, enum manifest_kind kind,
    struct snap_err *err)
{
	struct snap_layer *l = &v->layers[v->nlayers];

	l->manifest_f = mf;
	l->archive_f = af;
	l->archfd = -1;
	if ((l->m = read_manifest(rootfd, mf, kind, v->drop_full_events ?
	    MANIFEST_NO_FULL_EVENTS : 0, err)) == NULL)
		return -1;
	v->nlayers++;
	if (l->m->version != version)
		return snap_err_setc(err, SNAP_E_MALFORMED,
		    "%s records version %" PRIu64, mf->name,
		    l->m->version);
	if ((l->archfd = beneath_open(rootfd, af->name, O_RDONLY | O_NONBLOCK,
	    0, err)) == -1)
		return -1;
	return fsu_check_regular(l->archfd, af->name, err);
}

/* The chain position just past `have`, or -1 when have is not on it. */
static ssize_t
chain_start(const struct snap_state *st, const struct manifest *have)
{
	size_t i;

	if (have == NULL || have->version >= st->version)
		return -1;
	if (have->version == st->base_version)
		return 0;
	for (i = 0; i < st->ndeltas; i++)
		if (st->deltas[i].version == have->version)
			return (ssize_t)i + 1;
	return -1;
}

/* Puts a borrowed m back at the version it was borrowed at. */
static void
undo_all(struct snap_version *v)
{
	while (v->nundo > 0)
		manifest_undo(v->m, &v->undo[--v->nundo]);
}

/* Applies delta d to v->m: in place on the borrowed manifest while the
 * deltas are small; at the first that is not, on a copy from then on. */
static int
apply_layer(struct snap_version *v, const struct manifest *d,
    struct snap_err *err)
{
	struct manifest *copy;
	int rc;

	if (v->m_borrowed) {
		rc = manifest_apply_delta_undoable(v->m, d,
		    &v->undo[v->nundo], err);
		if (rc != 1) {
			v->nundo += rc == 0;
			return rc;
		}
		if ((copy = manifest_dup(v->m)) == NULL)
			return snap_err_set(err, "out of memory");
		undo_all(v);
		v->m_borrowed = false;
		v->m = copy;
	}
	return manifest_apply_delta(v->m, d, err);
}

static int
open_chain(int rootfd, struct snap_version *v, struct manifest *have,
    struct snap_err *err)
{
	const struct snap_state *st = &v->st;
	ssize_t from = chain_start(st, have);
	size_t i;

	if (from >= 0) {
		v->from_delta = true;
		v->undo = calloc(st->ndeltas - (size_t)from + 1,
		    sizeof(*v->undo));
		if (v->undo == NULL)
			return snap_err_set(err, "out of memory");
		v->m = have;
		v->m_borrowed = true;
	} else {
		from = 0;
		if (open_layer(rootfd, v, &st->manifest, &st->archive,
		    st->base_version, MANIFEST_FULL, err) == -1)
			return -1;
		/* A full version is its base: one copy in memory, not two. */
		v->m_shared = st->ndeltas == 0;
		v->m = v->m_shared ? v->layers[0].m :
		    manifest_dup(v->layers[0].m);
		if (v->m == NULL)
			return snap_err_set(err, "out of memory");
	}
	for (i = (size_t)from; i < st->ndeltas; i++) {
		const struct state_delta *d = &st->deltas[i];

		if (open_layer(rootfd, v, &d->manifest, &d->archive, d->version,
		    MANIFEST_DELTA, err) == -1)
			return -1;
		if (apply_layer(v, v->layers[v->nlayers - 1].m, err) == -1)
			return snap_err_prefix(err, "%s", d->manifest.name);
	}
	/* Each delta passed the limit alone; the tree they make must too. */
	if (st->ndeltas > 0 && manifest_check_total(v->m, err) == -1)
		return snap_err_prefix(err, "version %" PRIu64, st->version);
	return 0;
}

int
snap_open_since(int rootfd, uint64_t version, struct manifest *have,
    struct snap_version *v, struct snap_err *err)
{
	if (open_state(rootfd, version, v, err) == -1)
		return -1;
	if (open_chain(rootfd, v, have, err) == -1)
		goto fail;
	if (v->m->version != v->st.version ||
	    v->m->parent_version != v->st.parent_version ||
	    v->m->n != v->st.artifact_count) {
		snap_err_setc(err, SNAP_E_MALFORMED,
		    "version %" PRIu64 ": its manifests do not "
		    "match its state record (version, parent or artifact "
		    "count)", v->st.version);
		goto fail;
	}
	return 0;
fail:
	snap_close(v);
	return -1;
}

int
snap_open(int rootfd, uint64_t version, struct snap_version *v,
    struct snap_err *err)
{
	return snap_open_since(rootfd, version, NULL, v, err);
}

void
snap_close(struct snap_version *v)
{
	size_t i;

	if (v->m_borrowed) {
		if (v->m != NULL)
			undo_all(v);
		while (v->nundo > 0)
			manifest_undo_forget(&v->undo[--v->nundo]);
		v->m = NULL;		/* the reader's */
		v->m_borrowed = false;
	}
	free(v->undo);
	v->undo = NULL;
	/* Shared: freed once, as layer 0, unless a caller took v->m. */
	if (!v->m_shared)
		manifest_free(v->m);
	for (i = 0; i < v->nlayers; i++) {
		if (i > 0 || !v->m_shared || v->m != NULL)
			manifest_free(v->layers[i].m);
		if (v->layers[i].archfd >= 0)
			close(v->layers[i].archfd);
	}
	v->m = NULL;
	v->nlayers = 0;
	v->from_delta = false;
	v->m_shared = false;
	v->st_read = false;
}

int
snap_extract_layers(struct snap_version *v, int destfd, struct snap_err *err)
{
	struct arc_extract x = { .destfd = destfd };
	size_t i;

	for (i = 0; i < v->nlayers; i++)
		if (arc_extract(v->layers[i].archfd, v->layers[i].archive_f,
		    v->layers[i].m, &x, err) == -1)
			return snap_err_prefix(err, "%s",
			    v->layers[i].archive_f->name);
	return 0;
}

int
snap_verify_layers(struct snap_version *v, struct snap_err *err)
{
	return snap_extract_layers(v, -1, err);
}

int
snap_verify(const char *sync_root, uint64_t version,
    const struct sign_key *pub, struct snap_state *st, struct snap_err *err)
{
	struct snap_version v = SNAP_VERSION_INIT;
	int rootfd, rc = -1;

	v.pub = pub;
	if ((rootfd = fsu_open_root(sync_root, err)) == -1)
		return -1;
	if (snap_open(rootfd, version, &v, err) == -1 ||
	    snap_verify_layers(&v, err) == -1)
		goto out;
	if (st != NULL)
		*st = v.st;
	rc = 0;
out:
	snap_close(&v);
	close(rootfd);
	return rc;
}
