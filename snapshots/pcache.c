/*
 * pcache.c - the publish cache's bytes (pcache.h): written by us, read
 * back without trusting them. The checksum is checked before anything is
 * parsed; then every length is bounded by what is left, every name goes
 * through name_check(), labels through manifest_check_labels(), hashes
 * must be hex, types in range, entries strictly sorted.
 */
#include <endian.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hash.h"
#include "labels.h"
#include "manifest_int.h"
#include "names.h"
#include "pcache.h"
#include "xmlcheck.h"

static const char magic[8] = { 'A', 'R', 'T', 'S', 'P', 'C', '0', '2' };

static unsigned
hexval(char c)
{
	return c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10);
}

#define FLAG_FOLDERS 1u
#define FLAG_IDENTITIES 2u

void
pcache_stat_of(const struct stat *st, struct pcache_stat *out)
{
	out->size = (uint64_t)st->st_size;
	out->mtime_ns = st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
	out->ctime_ns = st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec;
	out->ino = st->st_ino;
	out->dev = st->st_dev;
}

void
pcache_stat_settle(struct pcache_stat *s, int64_t scan_ns)
{
	/* Racily clean: a write in the same tick would leave it as it is. */
	if (s->mtime_ns >= scan_ns - PCACHE_RACY_NS ||
	    s->ctime_ns >= scan_ns - PCACHE_RACY_NS)
		memset(s, 0, sizeof(*s));
}

bool
pcache_is_clean(const struct pcache_stat *had, const struct pcache_stat *now)
{
	static const struct pcache_stat unknown;

	return memcmp(had, &unknown, sizeof(*had)) != 0 &&
	    had->size == now->size && had->mtime_ns == now->mtime_ns &&
	    had->ctime_ns == now->ctime_ns && had->ino == now->ino &&
	    had->dev == now->dev;
}

void
pcache_mac_key(const unsigned char *secret, size_t len,
    unsigned char out[PCACHE_KEY_BYTES])
{
	static const char ctx[] = "artsync publish cache MAC key";

	crypto_generichash(out, PCACHE_KEY_BYTES, (const unsigned char *)ctx,
	    sizeof(ctx) - 1, secret, len);
}

/* The checksum: XXH128 (hash.h), ten times cheaper than BLAKE2b, unless
 * keyed; a signer's is a BLAKE2b MAC that only the key holder can make. */
static void
mac(const char *buf, size_t len, const unsigned char *key,
    unsigned char out[PCACHE_MAC_BYTES])
{
	char hex[HASH_HEX_LEN + 1];
	size_t i;

	if (key != NULL) {
		crypto_generichash(out, PCACHE_MAC_BYTES,
		    (const unsigned char *)buf, len, key, PCACHE_KEY_BYTES);
		return;
	}
	hash_buf(buf, len, hex);
	for (i = 0; i < PCACHE_MAC_BYTES; i++)
		out[i] = (unsigned char)(16 * hexval(hex[2 * i]) +
		    hexval(hex[2 * i + 1]));
}

/* --- writing ------------------------------------------------------- */

struct wbuf {
	char *p;
	size_t len, cap;
	bool nomem;
};

static void
put_grow(struct wbuf *w, const void *src, size_t n)
{
	size_t ncap;
	char *np;

	if (w->nomem)
		return;
	if (w->len + n > w->cap) {
		ncap = w->cap ? w->cap : 4096;
		while (ncap < w->len + n)
			ncap *= 2;
		if ((np = realloc(w->p, ncap)) == NULL) {
			w->nomem = true;
			return;
		}
		w->p = np;
		w->cap = ncap;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

/* Inline while it fits (nearly always: encode sizes the buffer first):
 * a call per field was a third of the encoding. After an allocation
 * failure, what fits may still be copied; it is all thrown away. */
static inline void
put(struct wbuf *w, const void *src, size_t n)
{
	if (w->len + n <= w->cap) {
		memcpy(w->p + w->len, src, n);
		w->len += n;
	} else {
		put_grow(w, src, n);
	}
}

/* Little-endian whatever the host: htole64 (one move on x86, where the
 * byte loop was a tenth of a one-shot publish's own instructions). */
static void
put_u64(struct wbuf *w, uint64_t v)
{
	uint64_t le = htole64(v);

	put(w, &le, 8);
}

static void
put_u8(struct wbuf *w, unsigned v)
{
	unsigned char b = (unsigned char)v;

	put(w, &b, 1);
}

/* A string of at most 65535 bytes (every one we keep is far shorter). */
static void
put_str(struct wbuf *w, const char *s)
{
	size_t n = strlen(s);
	unsigned char b[2] = { (unsigned char)n, (unsigned char)(n >> 8) };

	put(w, b, 2);
	put(w, s, n);
}

static void
put_stat(struct wbuf *w, const struct pcache_stat *s)
{
	put_u64(w, s->size);
	put_u64(w, (uint64_t)s->mtime_ns);
	put_u64(w, (uint64_t)s->ctime_ns);
	put_u64(w, s->ino);
	put_u64(w, s->dev);
}

static void
put_entry(struct wbuf *w, const struct manifest_entry *e,
    const struct pcache_stat *s)
{
	put_u8(w, (unsigned)e->type);
	put_str(w, e->name);
	put_u8(w, e->identity != NULL);
	if (e->identity != NULL)
		put_str(w, e->identity);
	put_str(w, e->labels);
	put_u64(w, e->size);
	put_u64(w, (uint64_t)e->updated_at);
	put(w, e->xxh128, HASH_HEX_LEN);
	put_stat(w, s);
}

int
pcache_encode(const struct pcache *c, const unsigned char *mackey,
    char **out, size_t *len, struct snap_err *err)
{
	struct wbuf w = { NULL, 0, 0, false };
	unsigned char sum[PCACHE_MAC_BYTES];
	size_t i;

	/* Room for the usual entry (~110 bytes) at once: not a dozen
	 * reallocs, each copying what was written so far. */
	w.cap = 4096 + c->m->n * 128;
	if ((w.p = malloc(w.cap)) == NULL)
		w.cap = 0;
	put(&w, magic, sizeof(magic));
	put_u64(&w, c->src_dev);
	put_u64(&w, c->src_ino);
	put_u64(&w, c->root_dev);
	put_u64(&w, c->root_ino);
	put_str(&w, c->source);
	put_u64(&w, c->version);
	put_u64(&w, c->chain);
	put_u64(&w, (uint64_t)c->scan_ns);
	put_stat(&w, &c->labels);
	put_u64(&w, c->m->folders);
	put_u8(&w, (c->m->has_folders ? FLAG_FOLDERS : 0) |
	    (c->m->has_identities ? FLAG_IDENTITIES : 0));
	put_u64(&w, c->m->n);
	for (i = 0; i < c->m->n; i++)
		put_entry(&w, &c->m->entries[i], &c->st[i]);
	put_u64(&w, c->nseen);
	for (i = 0; i < c->nseen; i++) {
		put_str(&w, c->seen[i].name);
		put_stat(&w, &c->seen[i].st);
	}
	if (!w.nomem)
		mac(w.p, w.len, mackey, sum);
	put(&w, sum, sizeof(sum));
	if (w.nomem) {
		free(w.p);
		return snap_err_set(err, "out of memory");
	}
	*out = w.p;
	*len = w.len;
	return 0;
}

/* --- reading ------------------------------------------------------- */

struct rbuf {
	const unsigned char *p;
	size_t left;
	bool short_read;
};

static const unsigned char *
take(struct rbuf *r, size_t n)
{
	const unsigned char *at = r->p;

	if (r->short_read || n > r->left) {
		r->short_read = true;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return at;
}

static uint64_t
get_u64(struct rbuf *r)
{
	const unsigned char *b = take(r, 8);
	uint64_t v = 0;

	if (b != NULL)
		memcpy(&v, b, 8);
	return le64toh(v);
}

static unsigned
get_u8(struct rbuf *r)
{
	const unsigned char *b = take(r, 1);

	return b != NULL ? *b : 0;
}

/* A string of at most max bytes, without NUL, into out[max + 1]. */
static int
get_str(struct rbuf *r, char *out, size_t max)
{
	const unsigned char *b = take(r, 2), *s;
	size_t n;

	out[0] = '\0';
	if (b == NULL)
		return -1;
	n = b[0] | (size_t)b[1] << 8;
	if (n > max || (s = take(r, n)) == NULL || memchr(s, '\0', n) != NULL)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static void
get_stat(struct rbuf *r, struct pcache_stat *s)
{
	s->size = get_u64(r);
	s->mtime_ns = (int64_t)get_u64(r);
	s->ctime_ns = (int64_t)get_u64(r);
	s->ino = get_u64(r);
	s->dev = get_u64(r);
}

/* One entry, added to m (unsorted order refused by the caller). */
static int
get_entry(struct rbuf *r, struct manifest *m, struct pcache_stat *s,
    struct snap_err *err)
{
	char name[NAME_MAX_BYTES + 1], id[XML_IDENTITY_MAX + 1];
	char labels[LABELS_MAX], sum[HASH_HEX_LEN + 1];
	const unsigned char *h;
	unsigned type, has_id;
	uint64_t size;
	int64_t stamp;

	type = get_u8(r);
	if (get_str(r, name, NAME_MAX_BYTES) == -1 ||
	    (has_id = get_u8(r)) > 1 ||
	    (has_id && get_str(r, id, XML_IDENTITY_MAX) == -1) ||
	    get_str(r, labels, LABELS_MAX - 1) == -1)
		return snap_err_setc(err, SNAP_E_MALFORMED, "an entry is cut "
		    "short or has a field too long");
	size = get_u64(r);
	stamp = (int64_t)get_u64(r);
	if ((h = take(r, HASH_HEX_LEN)) == NULL)
		return snap_err_setc(err, SNAP_E_TRUNCATED, "cut short");
	memcpy(sum, h, HASH_HEX_LEN);
	sum[HASH_HEX_LEN] = '\0';
	get_stat(r, s);
	if (r->short_read)
		return snap_err_setc(err, SNAP_E_TRUNCATED, "cut short");
	if (type >= artifact_type_count || name_check(name, err) == -1 ||
	    (has_id && strcmp(id, name) == 0) ||
	    manifest_check_labels(labels, err) == -1 || !hash_is_hex(sum) ||
	    size > ARTIFACT_MAX_BYTES)
		return snap_err_setc(err, SNAP_E_MALFORMED, "an entry is not "
		    "one a publish could have made");
	if (manifest_add(m, (int)type, name, labels, size, sum, stamp) == -1 ||
	    (has_id && manifest_entry_set_identity(&m->entries[m->n - 1],
	    id) == -1))
		return snap_err_setc(err, SNAP_E_NOMEM, "out of memory");
	return 0;
}

/* The chain files found intact: names are only compared with those
 * state.json gives (one that is no chain file's never matches), so
 * bounded and NUL-free is all they must be. */
static int
get_seen(struct rbuf *r, struct pcache *c, struct snap_err *err)
{
	uint64_t i, k = get_u64(r);

	if (r->short_read || k > PCACHE_SEEN_MAX || k > r->left / 42)
		return snap_err_setc(err, SNAP_E_MALFORMED, "bad list of chain "
		    "files");
	if (k > 0 && (c->seen = calloc(k, sizeof(*c->seen))) == NULL)
		return snap_err_setc(err, SNAP_E_NOMEM, "out of memory");
	for (i = 0; i < k; i++) {
		if (get_str(r, c->seen[i].name, PCACHE_SEEN_NAME - 1) == -1)
			return snap_err_setc(err, SNAP_E_MALFORMED, "a chain "
			    "file is cut short or its name too long");
		get_stat(r, &c->seen[i].st);
	}
	if (r->short_read)
		return snap_err_setc(err, SNAP_E_TRUNCATED, "cut short");
	c->nseen = k;
	return 0;
}

static int
get_header(struct rbuf *r, struct pcache *c, uint64_t *n,
    struct snap_err *err)
{
	char source[PATH_MAX];
	const unsigned char *b = take(r, sizeof(magic));
	uint64_t folders;
	unsigned flags;

	if (b == NULL || memcmp(b, magic, sizeof(magic)) != 0)
		return snap_err_setc(err, SNAP_E_MALFORMED, "not a publish "
		    "cache of this artsync (format ARTSPC02)");
	c->src_dev = get_u64(r);
	c->src_ino = get_u64(r);
	c->root_dev = get_u64(r);
	c->root_ino = get_u64(r);
	if (get_str(r, source, PATH_MAX - 1) == -1)
		return snap_err_setc(err, SNAP_E_MALFORMED, "bad source path");
	c->version = get_u64(r);
	c->chain = get_u64(r);
	c->scan_ns = (int64_t)get_u64(r);
	get_stat(r, &c->labels);
	folders = get_u64(r);
	c->m->folders = (uint32_t)folders;
	flags = get_u8(r);
	*n = get_u64(r);
	if (r->short_read)
		return snap_err_setc(err, SNAP_E_TRUNCATED, "cut short");
	c->m->has_folders = flags & FLAG_FOLDERS;
	c->m->has_identities = flags & FLAG_IDENTITIES;
	c->m->version = c->version;
	/* Each entry takes more than 64 bytes: a count past that is a lie. */
	if (flags > 3 || folders >> artifact_type_count != 0 ||
	    *n > r->left / 64 || c->chain > 4096)
		return snap_err_setc(err, SNAP_E_MALFORMED, "bad header");
	if ((c->source = strdup(source)) == NULL ||
	    (*n > 0 && (c->st = calloc(*n, sizeof(*c->st))) == NULL) ||
	    manifest_reserve(c->m, (size_t)*n) == -1)
		return snap_err_setc(err, SNAP_E_NOMEM, "out of memory");
	return 0;
}

static int
check_sum(const char *buf, size_t len, const unsigned char *mackey,
    struct snap_err *err)
{
	unsigned char sum[PCACHE_MAC_BYTES];

	if (len < sizeof(magic) + PCACHE_MAC_BYTES)
		return snap_err_setc(err, SNAP_E_TRUNCATED, "cut short");
	mac(buf, len - PCACHE_MAC_BYTES, mackey, sum);
	if (sodium_memcmp(sum, buf + len - PCACHE_MAC_BYTES,
	    PCACHE_MAC_BYTES) != 0)
		return snap_err_setc(err, SNAP_E_CHECKSUM, "checksum mismatch "
		    "(damaged, cut short, or made with another signing key)");
	return 0;
}

int
pcache_decode(const char *buf, size_t len, const unsigned char *mackey,
    struct pcache *out, struct snap_err *err)
{
	struct rbuf r = { (const unsigned char *)buf, 0, false };
	struct pcache c = PCACHE_INIT;
	uint64_t i, n;

	if (check_sum(buf, len, mackey, err) == -1)
		return -1;
	r.left = len - PCACHE_MAC_BYTES;
	if ((c.m = manifest_new()) == NULL) {
		snap_err_setc(err, SNAP_E_NOMEM, "out of memory");
		goto fail;
	}
	if (get_header(&r, &c, &n, err) == -1)
		goto fail;
	for (i = 0; i < n; i++)
		if (get_entry(&r, c.m, &c.st[i], err) == -1)
			goto fail;
	if (get_seen(&r, &c, err) == -1)
		goto fail;
	if (r.left != 0) {
		snap_err_setc(err, SNAP_E_MALFORMED, "bytes past the last entry");
		goto fail;
	}
	/* Sorted already: a sort that moves anything was not ours. */
	for (i = 1; i < n; i++)
		if (entry_cmp(&c.m->entries[i - 1],
		    &c.m->entries[i]) >= 0) {
			snap_err_setc(err, SNAP_E_MALFORMED, "entries out of "
			    "order or listed twice");
			goto fail;
		}
	*out = c;
	return 0;
fail:
	pcache_release(&c);
	return -1;
}

void
pcache_release(struct pcache *c)
{
	free(c->source);
	manifest_free(c->m);
	free(c->st);
	free(c->seen);
	*c = (struct pcache)PCACHE_INIT;
}
