/*
 * fuzz_manifest.c - libFuzzer target for manifest_from_json(), the reader of
 * snapshots/<V>.manifest.json, which comes from the share and is hostile.
 *
 * Besides "no crash, no leak", a manifest the reader accepts must survive a
 * round trip: what manifest_to_json() writes, manifest_from_json() reads back
 * to the same content. A failure there is a reader and writer that disagree,
 * which would make a secondary refuse what its own primary published.
 *
 * The same bytes are then read as a secondary reads them, streamed from a
 * file against their state record (manifest_read_checked): it must accept
 * exactly what the in-memory reader accepts, with the same content, and
 * refuse the bytes under a record whose BLAKE2b is not theirs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fsutil.h"
#include "hash.h"
#include "manifest.h"
#include "fuzz.h"
#include "names.h"
#include "sign.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
		if (manifest_find(m, e->type, e->name) != e) {
			fprintf(stderr, "entry %zu not found by manifest_find\n",
			    i);
			abort();
		}
	}
	if (m->version == 0 || m->parent_version >= m->version)
		abort();
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
	m = manifest_read_checked(fd, &f, &err);
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
	f.blake2b[0] = f.blake2b[0] == '0' ? '1' : '0';
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	if ((m = manifest_read_checked(fd, &f, &err)) != NULL ||
	    strstr(err.msg, "blake2b mismatch") == NULL) {
		fprintf(stderr, "another blake2b not refused: %s\n", err.msg);
		abort();
	}
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct manifest *m, *again;
	char *json = NULL;
	size_t len, i;

	m = manifest_from_json((const char *)data, size, &err);
	check_streamed(data, size, m);
	if (m == NULL) {
		fuzz_check_msg(err.msg);
		return 0;
	}
	check_entries(m);
	if (manifest_to_json(m, &json, &len, &err) == -1) {
		fprintf(stderr, "manifest_to_json: %s\n", err.msg);
		abort();
	}
	again = manifest_from_json(json, len, &err);
	if (again == NULL) {
		fprintf(stderr, "round trip refused: %s\n%s\n", err.msg, json);
		abort();
	}
	if (!manifest_same_content(m, again) || again->version != m->version ||
	    again->parent_version != m->parent_version ||
	    again->published_at != m->published_at ||
	    again->nev != m->nev) {
		fprintf(stderr, "round trip changed the manifest\n%s\n", json);
		abort();
	}
	for (i = 0; i < m->n; i++)
		if (again->entries[i].size != m->entries[i].size ||
		    again->entries[i].updated_at != m->entries[i].updated_at)
			abort();
	for (i = 0; i < m->nev; i++)
		if (again->events[i].type != m->events[i].type ||
		    again->events[i].action != m->events[i].action ||
		    again->events[i].updated_at != m->events[i].updated_at ||
		    strcmp(again->events[i].name, m->events[i].name) != 0)
			abort();
	manifest_free(again);
	free(json);
	manifest_free(m);
	return 0;
}
