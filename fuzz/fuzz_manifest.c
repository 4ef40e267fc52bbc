/*
 * fuzz_manifest.c - libFuzzer target for the readers of snapshots/<V>.
 * manifest.json and <V>.delta.json (format 2, one JSON object per line),
 * which come from the share and are hostile, and for manifest_apply_delta(),
 * which puts a delta read from there onto the manifest a secondary holds.
 *
 * Each input is read twice: by manifest_from_json() from memory, and by
 * manifest_read() from a SOCK_SEQPACKET socket that hands it over in small
 * pieces (one read() per piece, so that lines straddle reads). Both must
 * agree: accepted by both with the same content, or refused by both.
 * Besides "no crash, no leak", a manifest the reader accepts must hold only
 * valid entries, sorted and unique, and survive a round trip: what
 * manifest_to_json() writes, manifest_from_json() reads back to the same
 * content. A failure there is a reader and writer that disagree, which
 * would make a secondary refuse what its own primary published.
 * The same bytes are also read as a secondary reads them, from a file
 * against their state record (manifest_read_checked): it must accept
 * exactly what the in-memory reader accepts, with the same content, and
 * refuse the bytes under a record whose BLAKE2b is not theirs.
 *
 * An input with an empty line (never valid in a manifest) is also split
 * there into two manifests; when both parse, the second is applied to the
 * first. A refusal must leave the first unchanged; a success must give a
 * sorted manifest without duplicates that holds exactly the first's
 * entries, less the delta's removals, with the delta's entries replacing
 * or joining them, and that our own reader accepts once written.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fsutil.h"
#include "hash.h"
#include "manifest.h"
#include "fuzz.h"
#include "names.h"
#include "sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Room for these in a socket's default buffer; a bigger input (past
 * -max_len, run by hand) goes through a memfd in one piece. */
#define PIECES_MAX 128
#define PIECES_MAX_BYTES (32 * 1024)

static void __attribute__((noreturn))
die(const char *what)
{
	perror(what);
	abort();
}

static int
key_cmp(const struct manifest_entry *a, const struct manifest_entry *b)
{
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	return strcmp(a->name, b->name);
}

static void
check_entries(const struct manifest *m)
{
	struct snap_err err = SNAP_ERR_INIT;
	size_t i;

	for (i = 0; i < m->n; i++) {
		const struct manifest_entry *e = &m->entries[i];

		if (e->type < 0 || (size_t)e->type >= artifact_type_count ||
		    name_check(e->name, &err) == -1 ||
		    manifest_check_labels(e->labels, &err) == -1 ||
		    !hash_is_hex(e->xxh128) || e->size > ARTIFACT_MAX_BYTES) {
			fprintf(stderr, "accepted a bad entry %zu: %s\n", i,
			    err.msg);
			abort();
		}
		/* Sorted and unique: binary search finds each entry. */
		if ((i > 0 && key_cmp(&m->entries[i - 1], e) >= 0) ||
		    manifest_find(m, e->type, e->name) != e) {
			fprintf(stderr, "entry %zu out of order or twice\n", i);
			abort();
		}
	}
	for (i = 0; i < m->nev; i++)
		if (m->events[i].type < 0 ||
		    (size_t)m->events[i].type >= artifact_type_count ||
		    name_check(m->events[i].name, &err) == -1) {
			fprintf(stderr, "accepted a bad event %zu\n", i);
			abort();
		}
	if (m->version == 0 || m->parent_version >= m->version ||
	    (m->kind != MANIFEST_FULL && m->kind != MANIFEST_DELTA) ||
	    (m->kind == MANIFEST_DELTA && m->parent_version == 0))
		abort();
}

static bool
same_events(const struct manifest *a, const struct manifest *b)
{
	size_t i;

	if (a->nev != b->nev)
		return false;
	for (i = 0; i < a->nev; i++)
		if (a->events[i].type != b->events[i].type ||
		    a->events[i].action != b->events[i].action ||
		    a->events[i].updated_at != b->events[i].updated_at ||
		    strcmp(a->events[i].name, b->events[i].name) != 0)
			return false;
	return true;
}

/* Everything manifest_write() writes, compared. */
static bool
same_manifest(const struct manifest *a, const struct manifest *b)
{
	size_t i;

	if (!manifest_same_content(a, b) || a->kind != b->kind ||
	    a->version != b->version || a->parent_version != b->parent_version ||
	    a->published_at != b->published_at || !same_events(a, b) ||
	    a->total_bytes != b->total_bytes)
		return false;
	for (i = 0; i < a->n; i++)
		if (a->entries[i].updated_at != b->entries[i].updated_at)
			return false;
	return true;
}

static void
round_trip(const struct manifest *m)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *again;
	char *json = NULL;
	size_t len;

	if (manifest_to_json(m, &json, &len, &err) == -1) {
		fprintf(stderr, "manifest_to_json: %s\n", err.msg);
		abort();
	}
	again = manifest_from_json(json, len, &err);
	if (again == NULL) {
		fprintf(stderr, "round trip refused: %s\n%s\n", err.msg, json);
		abort();
	}
	if (!same_manifest(m, again)) {
		fprintf(stderr, "round trip changed the manifest\n%s\n", json);
		abort();
	}
	manifest_free(again);
	free(json);
}

/*
 * manifest_read() on the input, handed over in pieces of one read() each:
 * a SOCK_SEQPACKET socket keeps message boundaries. The piece length (1 to
 * 251 bytes, at most PIECES_MAX pieces) follows from the input, so the
 * fuzzer moves it around.
 */
static struct manifest *
read_in_pieces(const uint8_t *data, size_t size, struct snap_err *err)
{
	struct manifest *m;
	size_t piece, off;
	int sv[2];

	if (size > PIECES_MAX_BYTES) {
		if ((sv[0] = memfd_create("fuzz-manifest", MFD_CLOEXEC)) == -1 ||
		    write(sv[0], data, size) != (ssize_t)size ||
		    lseek(sv[0], 0, SEEK_SET) == -1)
			die("memfd");
		m = manifest_read(sv[0], size, err);
		close(sv[0]);
		return m;
	}
	piece = 1 + (size * 31 + (size ? data[size / 2] : 0)) % 251;
	if (size / piece >= PIECES_MAX)
		piece = size / PIECES_MAX + 1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		die("socketpair");
	for (off = 0; off < size; off += piece) {
		size_t n = size - off < piece ? size - off : piece;

		if (send(sv[1], data + off, n, MSG_DONTWAIT) != (ssize_t)n)
			die("send");	/* PIECES_MAX small messages fit */
	}
	if (shutdown(sv[1], SHUT_WR) == -1)
		die("shutdown");
	m = manifest_read(sv[0], size, err);
	close(sv[0]);
	close(sv[1]);
	return m;
}

static void
check_streamed(const uint8_t *data, size_t size, const struct manifest *want)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct state_file f;
	struct manifest *m;
	int fd = memfd_create("manifest", MFD_CLOEXEC);

	if (fd == -1 || (size > 0 && fsu_write_all(fd, data, size) == -1))
		abort();
	memset(&f, 0, sizeof(f));
	f.size = size;
	hash_buf(data, size, f.xxh128);
	sign_hash_buf(data, size, f.blake2b);
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	m = manifest_read_checked(fd, &f, 0, &err);
	if ((m == NULL) != (want == NULL)) {
		fprintf(stderr, "streamed reader %s what the other %s: %s\n",
		    m ? "accepted" : "refused", m ? "refused" : "accepted",
		    err.msg);
		abort();
	}
	if (m != NULL && (!manifest_same_content(m, want) ||
	    m->version != want->version || m->nev != want->nev)) {
		fprintf(stderr, "streamed reader read other content\n");
		abort();
	}
	manifest_free(m);
	/* Without a full manifest's events: whatever is accepted whole is
	 * accepted so, the same but for those events (what it refuses whole
	 * for a bad event line of a full manifest it may take: not read). */
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	m = manifest_read_checked(fd, &f, MANIFEST_NO_FULL_EVENTS, &err);
	if (want != NULL && (m == NULL || !manifest_same_content(m, want) ||
	    m->version != want->version || m->kind != want->kind ||
	    m->nev != (want->kind == MANIFEST_FULL ? 0 : want->nev))) {
		fprintf(stderr, "reader without full events differs: %s\n",
		    m ? "content" : err.msg);
		abort();
	}
	manifest_free(m);
	f.blake2b[0] = f.blake2b[0] == '0' ? '1' : '0';
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	if ((m = manifest_read_checked(fd, &f, 0, &err)) != NULL ||
	    strstr(err.msg, "blake2b mismatch") == NULL) {
		fprintf(stderr, "another blake2b not refused: %s\n", err.msg);
		abort();
	}
	close(fd);
}

/* Parses one manifest both ways; NULL when refused. */
static struct manifest *
parse(const uint8_t *data, size_t size)
{
	struct snap_err err = SNAP_ERR_INIT, err2 = SNAP_ERR_INIT;
	struct manifest *m, *streamed;

	m = manifest_from_json((const char *)data, size, &err);
	streamed = read_in_pieces(data, size, &err2);
	check_streamed(data, size, m);
	if ((m == NULL) != (streamed == NULL)) {
		fprintf(stderr, "manifest_from_json %s, manifest_read %s\n",
		    m ? "accepted" : err.msg, streamed ? "accepted" : err2.msg);
		abort();
	}
	if (m == NULL) {
		fuzz_check_msg(err.msg);
		fuzz_check_msg(err2.msg);
		return NULL;
	}
	if (!same_manifest(m, streamed)) {
		fprintf(stderr, "manifest_read read another manifest\n");
		abort();
	}
	manifest_free(streamed);
	check_entries(m);
	return m;
}

static bool
removed_by(const struct manifest *d, const struct manifest_entry *e)
{
	size_t i;

	for (i = 0; i < d->nev; i++)
		if (d->events[i].action == MANIFEST_UNDEPLOY &&
		    d->events[i].type == e->type &&
		    strcmp(d->events[i].name, e->name) == 0)
			return true;
	return false;
}

static bool
same_entry(const struct manifest_entry *a, const struct manifest_entry *b)
{
	return a->type == b->type && strcmp(a->name, b->name) == 0 &&
	    strcmp(a->labels, b->labels) == 0 && a->size == b->size &&
	    a->updated_at == b->updated_at && strcmp(a->xxh128, b->xxh128) == 0;
}

/* The same delta applied undoably to a copy of `before`: m exactly, or
 * (too big for that) nothing done; and undone, `before` exactly. */
static void
check_undo(const struct manifest *before, const struct manifest *d,
    const struct manifest *m)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *c = manifest_dup(before);
	struct manifest_undo u;
	int rc;

	if (c == NULL)
		die("manifest_dup");
	if ((rc = manifest_apply_delta_undoable(c, d, &u, &err)) == -1) {
		fprintf(stderr, "undoable apply refused what apply took: %s\n",
		    err.msg);
		abort();
	}
	if (rc == 0 && !same_manifest(c, m)) {
		fprintf(stderr, "undoable apply: not the applied manifest\n");
		abort();
	}
	if (rc == 0)
		manifest_undo(c, &u);
	if (!same_manifest(c, before)) {
		fprintf(stderr, "undone apply: not the manifest before\n");
		abort();
	}
	manifest_free(c);
}

/* Applies d to m (both parsed) and checks the outcome. */
static void
check_apply(struct manifest *m, const struct manifest *d)
{
	struct snap_err err = SNAP_ERR_INIT;
	const struct manifest_entry *e, *f;
	struct manifest *before;
	size_t i, expect;

	if ((before = manifest_dup(m)) == NULL)
		die("manifest_dup");
	if (manifest_apply_delta(m, d, &err) == -1) {
		fuzz_check_msg(err.msg);
		if (!same_manifest(m, before)) {
			fprintf(stderr, "a refused delta changed the manifest: "
			    "%s\n", err.msg);
			abort();
		}
		manifest_free(before);
		return;
	}
	if (d->kind != MANIFEST_DELTA || d->parent_version != before->version ||
	    m->version != d->version || m->parent_version != d->parent_version ||
	    m->published_at != d->published_at || m->kind != before->kind ||
	    !same_events(m, d)) {
		fprintf(stderr, "applied delta %llu: wrong header or events\n",
		    (unsigned long long)d->version);
		abort();
	}
	/* Sorted, unique, valid: the checks of a parsed manifest. */
	check_entries(m);
	expect = d->n;
	for (i = 0; i < before->n; i++) {
		e = &before->entries[i];
		f = manifest_find(m, e->type, e->name);
		if (manifest_find(d, e->type, e->name) != NULL)
			continue;
		if (removed_by(d, e) ? f != NULL : f == NULL || !same_entry(e, f)) {
			fprintf(stderr, "applied delta: %s/%s %s\n",
			    artifact_types[e->type].folder, e->name,
			    f ? "kept or changed" : "lost");
			abort();
		}
		expect += f != NULL;
	}
	for (i = 0; i < d->n; i++) {
		e = &d->entries[i];
		if ((f = manifest_find(m, e->type, e->name)) == NULL ||
		    !same_entry(e, f)) {
			fprintf(stderr, "applied delta: %s/%s missing or not "
			    "the delta's\n", artifact_types[e->type].folder,
			    e->name);
			abort();
		}
	}
	if (m->n != expect) {
		fprintf(stderr, "applied delta: %zu entries, %zu expected\n",
		    m->n, expect);
		abort();
	}
	check_undo(before, d, m);
	/* What a secondary applied, written, reads back the same. */
	round_trip(m);
	manifest_free(before);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest *m, *d;
	const uint8_t *cut;

	if ((m = parse(data, size)) != NULL) {
		round_trip(m);
		manifest_free(m);
	}
	/* The first empty line splits a full manifest from a delta. */
	cut = size > 1 ? memmem(data, size, "\n\n", 2) : NULL;
	if (cut == NULL)
		return 0;
	if ((m = parse(data, (size_t)(cut - data) + 1)) == NULL)
		return 0;
	if ((d = parse(cut + 2, size - (size_t)(cut - data) - 2)) != NULL) {
		check_apply(m, d);
		manifest_free(d);
	}
	manifest_free(m);
	return 0;
}
