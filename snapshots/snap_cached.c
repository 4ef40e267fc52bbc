/*
 * snap_cached.c - the one-shot publish (`artsync publish`) on top of the
 * publish cache (pcache.h): the tree is listed and stat'ed (snap_scanned.h)
 * while the cache is read on another thread, and only the
 * artifacts whose stat changed since the cached version - added, removed,
 * written, touched, or racily clean - are read, hashed and validated, by
 * the daemon's incremental publish (snap_publish_changes). Without a
 * usable cache it is snap_publish() and writes one.
 *
 * Where the cache lives: <sync root>/.publish.cache, beside .publish.lock.
 * The sync root is the publisher's own directory (it must write there
 * anyway); the source may be read-only, a git checkout, or watched by a
 * primary that would see our writes. A sync root can be fed from two
 * source trees, and a source publish to two sync roots: the cache names
 * the device and inode of both roots and the source as given, and the
 * version it describes; any mismatch and it is ignored, silently (as a
 * stale index is in git: the normal state after a switch). It is written
 * after the publish, not under the lock: a publisher that wrote a later
 * version first leaves a cache of an older version, which the next publish
 * sees (state.json names another version) and ignores. With a signing key
 * its checksum is keyed by it: whoever may write the sync root but not
 * sign cannot make the signer skip a change.
 *
 * The cache is an optimisation only: missing, it is written; damaged, cut
 * short, of another format or signing key, it is ignored with one warning
 * (*warn); of another tree, sync root or version, without one. Then the
 * publish reads everything; the result is the same in every case.
 *
 * Calling sequence: snap_publish_cached(source, sync_root, &opts,
 * &result, &version, &use, &warn, err). Error contract: snap_publish()'s;
 * warn's message (".publish.cache: ...", for the caller to prefix with
 * the sync root) is empty unless the cache was ignored or could not be
 * written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "pcache.h"
#include "readpool.h"
#include "scan.h"
#include "snap_int.h"
#include "snap_scanned.h"
#include "thread.h"

/* The threads that stat the tree: the publish's (snap.h). The stat of
 * 10,000 files is most of a cached publish's cost, and it spreads. */
static unsigned
stat_threads(const struct snap_publish_opts *o)
{
	return o->threads > 0 ? o->threads : readpool_default_threads();
}

/* The tree listed and stat'ed into s (sorted), cur its artifacts; -1 when
 * the incremental path cannot be taken (a problem the full publish will
 * report, or out of memory). */
static int
scan_source(int srcfd, const char *source, const struct snap_publish_opts *o,
    struct manifest *cur, struct report *rep, struct scanned *s)
{
	struct scan_observer obs = { scanned_observe, s, stat_threads(o), true };
	struct snap_err ignored = SNAP_ERR_INIT;

	if (scanned_begin(srcfd, s) == -1 ||
	    scan_tree_observed(srcfd, source, cur, rep, &obs, &ignored) == -1 ||
	    s->nomem || rep->nerrors > 0 || rep->lost > 0)
		return -1;
	return scanned_sort(s);	/* twice: the full publish says where */
}

/* The publisher's side of the cache: where it is, whose it is. */
struct cache_place {
	int rootfd;			/* the sync root, or -1 */
	struct stat src, root;
	const unsigned char *mackey;	/* NULL: not signing */
	unsigned char key[PCACHE_KEY_BYTES];
};

/*
 * The cache at pl->rootfd, when there is one and it is this tree's, this
 * sync root's, made as this publish would (validating or not): 0; else
 * -1. Only a damaged cache is worth a word (in warn): one of another tree
 * or sync root (a sync root made again, a source moved) is as normal as
 * one of an older version (another publisher's since), and as harmless.
 */
static int
load_cache(const struct cache_place *pl, const char *source,
    const struct snap_publish_opts *o, struct pcache *c,
    struct snap_err *warn)
{
	struct snap_err why = SNAP_ERR_INIT;
	struct stat st;
	char *buf = NULL;
	size_t len;
	int rc;

	if (pl->rootfd == -1 || (fstatat(pl->rootfd, PCACHE_FILE, &st,
	    AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOENT))
		return -1;
	rc = fsu_read_file(pl->rootfd, PCACHE_FILE, PCACHE_MAX_BYTES, &buf,
	    &len, &why);
	if (rc == 0)
		rc = pcache_decode(buf, len, pl->mackey, c, &why);
	free(buf);
	if (rc == -1) {
		snap_err_set(warn, "%s: ignored (%s); every file is read this "
		    "time, and the cache written again", PCACHE_FILE, why.msg);
		return -1;
	}
	if (c->src_dev != (uint64_t)pl->src.st_dev ||
	    c->src_ino != (uint64_t)pl->src.st_ino ||
	    c->root_dev != (uint64_t)pl->root.st_dev ||
	    c->root_ino != (uint64_t)pl->root.st_ino ||
	    strcmp(c->source, source) != 0 ||
	    c->m->has_identities != (o->xc != NULL)) {
		pcache_release(c);
		return -1;
	}
	return 0;
}

_Static_assert(PCACHE_SEEN_MAX == 2 * STATE_CHAIN_MAX &&
    PCACHE_SEEN_NAME == sizeof(((struct snap_seen *)0)->name),
    "the cache keeps every seen slot of a memo, names whole");

/*
 * The chain files the cache's publish found intact, as memo's seen list:
 * this publish stats them instead of reading them again (is_intact(),
 * snap_changes.c), as the daemon does with its own memo. Not worth more
 * trust than the cache: a list in a cache whose checksum checked but that
 * anyone who may write the sync root could have made - the same people
 * who could as well damage the base and write a state.json to match when
 * nothing is signed; when signing, the MAC says we wrote it. A damaged
 * base is still found: any write, truncation or replacement of a file
 * changes its ctime (or inode), and then it is read whole. Out of memory:
 * nothing kept, every chain file read.
 */
static void
seen_from_cache(const struct pcache *c, struct snap_memo *memo)
{
	size_t i;

	if (c->nseen == 0 ||
	    (memo->seen = calloc(PCACHE_SEEN_MAX, sizeof(*memo->seen))) == NULL)
		return;
	for (i = 0; i < c->nseen; i++) {
		/* Zero to the last byte (calloc): compared with memcmp. */
		memcpy(memo->seen[i].name, c->seen[i].name,
		    sizeof(memo->seen[i].name));
		memo->seen[i].dev = c->seen[i].st.dev;
		memo->seen[i].ino = c->seen[i].st.ino;
		memo->seen[i].size = c->seen[i].st.size;
		memo->seen[i].mtime_ns = c->seen[i].st.mtime_ns;
		memo->seen[i].ctime_ns = c->seen[i].st.ctime_ns;
	}
	memo->nseen = c->nseen;
}

/* memo's seen list into c (seen_from_cache's reverse), but for a file
 * changed less than PCACHE_RACY_NS before scan_ns: a write in the same
 * clock tick as its last one would leave its ctime as it is, so it is
 * read again next time (pcache_stat_settle). -1 on no memory. */
static int
seen_to_cache(const struct snap_memo *memo, int64_t scan_ns,
    struct pcache *c)
{
	struct pcache_stat st;
	size_t i;

	if (memo->nseen == 0)
		return 0;
	if ((c->seen = calloc(memo->nseen, sizeof(*c->seen))) == NULL)
		return -1;
	for (i = 0; i < memo->nseen; i++) {
		st.dev = memo->seen[i].dev;
		st.ino = memo->seen[i].ino;
		st.size = memo->seen[i].size;
		st.mtime_ns = memo->seen[i].mtime_ns;
		st.ctime_ns = memo->seen[i].ctime_ns;
		pcache_stat_settle(&st, scan_ns);
		if (st.ctime_ns == 0)
			continue;	/* racily clean */
		memcpy(c->seen[c->nseen].name, memo->seen[i].name,
		    sizeof(c->seen[c->nseen].name));
		c->seen[c->nseen].name[PCACHE_SEEN_NAME - 1] = '\0';
		c->seen[c->nseen++].st = st;
	}
	return 0;
}

/* memo, the version just published (or found unchanged), as the cache;
 * a failure only goes to warn: the next publish reads everything. */
static void
save_cache(struct cache_place *pl, const char *source,
    const char *sync_root, const struct snap_memo *memo,
    const struct scanned *s, struct snap_err *warn)
{
	struct pcache c = PCACHE_INIT;
	struct snap_err why = SNAP_ERR_INIT;
	char *buf = NULL;
	size_t len;

	if (pl->rootfd == -1 &&
	    ((pl->rootfd = fsu_open_root(sync_root, &why)) == -1 ||
	    fstat(pl->rootfd, &pl->root) == -1))
		goto fail;
	c.src_dev = pl->src.st_dev;
	c.src_ino = pl->src.st_ino;
	c.root_dev = pl->root.st_dev;
	c.root_ino = pl->root.st_ino;
	c.source = (char *)source;
	c.version = memo->version;
	c.chain = memo->chain;
	c.scan_ns = s->scan_ns;
	c.labels = s->labels;
	pcache_stat_settle(&c.labels, s->scan_ns);
	c.m = memo->m;
	if (scanned_stats_for(&c, s) == -1 ||
	    seen_to_cache(memo, s->scan_ns, &c) == -1) {
		snap_err_set(&why, "out of memory");
		goto fail;
	}
	/* Not fsynced (a 1 MB file at 10,000 artifacts, and its directory,
	 * each publish): the version is durable before this starts, and the
	 * cache only saves work. A crash may leave the cache before
	 * this one - of an older version than state.json's, so not used - or
	 * the new one empty or cut short, which its checksum refuses: one
	 * warning and a full scan, never a wrong version. */
	if (pcache_encode(&c, pl->mackey, &buf, &len, &why) == 0 &&
	    fsu_write_unsynced(pl->rootfd, PCACHE_FILE, buf, len, &why) == 0)
		goto out;
fail:
	snap_err_set(warn, "%s: not written (%s); the next publish reads "
	    "every file", PCACHE_FILE, why.msg);
out:
	free(buf);
	free(c.st);
	free(c.seen);
}

/* Opens the roots the cache is keyed by; -1 with err only for the
 * source (the sync root may not exist yet). */
static int
open_place(struct cache_place *pl, int srcfd, const char *sync_root,
    const struct snap_publish_opts *o, struct snap_err *err)
{
	struct snap_err ignored = SNAP_ERR_INIT;

	pl->rootfd = -1;
	pl->mackey = NULL;
	if (fstat(srcfd, &pl->src) == -1)
		return snap_err_sys(err, errno, "source");
	if (o->key != NULL && o->key->secret) {
		pcache_mac_key(o->key->sk, sizeof(o->key->sk), pl->key);
		pl->mackey = pl->key;
	}
	if ((pl->rootfd = fsu_open_root(sync_root, &ignored)) != -1 &&
	    fstat(pl->rootfd, &pl->root) == -1) {
		close(pl->rootfd);
		pl->rootfd = -1;
	}
	return 0;
}

/*
 * The cache read and decoded on a thread of its own while the tree is
 * listed and stat'ed: they share nothing, and the decoding (10,000
 * entries checked as hostile input) is a tenth of a one-shot publish,
 * now off its critical path. Only when there is a cache file: without
 * one the full publish scans (and records the stats) itself.
 */
struct loader {
	const struct cache_place *pl;
	const char *source;
	const struct snap_publish_opts *o;
	struct pcache *c;
	struct snap_err *warn;		/* the loader's until joined */
	int have;			/* load_cache()'s result */
	pthread_t thread;
	bool started;
};

static void *
load_work(void *arg)
{
	struct loader *l = arg;

	l->have = load_cache(l->pl, l->source, l->o, l->c, l->warn);
	return NULL;
}

/* The cache loaded into c (have 0), scanned into s as it loads (scanned
 * 0); -1 for each that cannot be used. */
static void
load_and_scan(struct loader *l, int srcfd, struct manifest *cur,
    struct report *rep, struct scanned *s, int *scanned)
{
	struct stat st;

	l->have = -1;
	*scanned = -1;
	if (l->pl->rootfd == -1 || fstatat(l->pl->rootfd, PCACHE_FILE, &st,
	    AT_SYMLINK_NOFOLLOW) == -1)
		return;		/* none: load_cache() would say the same */
	l->started = thread_start_nosig(&l->thread, load_work, l) == 0;
	if (!l->started)
		load_work(l);
	*scanned = scan_source(srcfd, l->source, l->o, cur, rep, s);
	if (l->started)
		pthread_join(l->thread, NULL);
}

/* Step 4 by the cache: memo from it, the changed paths from a scan. */
static int
take_cache(struct pcache *c, const struct scanned *s,
    const struct manifest *cur, struct snap_memo *memo,
    struct snap_change **changes, size_t *n)
{
	if (cur->folders != c->m->folders || !scanned_labels_clean(&c->labels,
	    &s->labels))
		return -1;	/* a full publish decides */
	if (scanned_changes(c, s, changes, n) == -1)
		return -1;
	memo->m = c->m;
	memo->version = c->version;
	memo->chain = c->chain;
	c->m = NULL;
	seen_from_cache(c, memo);
	return 0;
}

int
snap_publish_cached(const char *source, const char *sync_root,
    const struct snap_publish_opts *o, enum snap_publish_result *result,
    uint64_t *version, struct snap_cache_use *use, struct snap_err *warn,
    struct snap_err *err)
{
	static struct snap_change none;
	struct snap_memo memo = SNAP_MEMO_INIT;
	struct cache_place pl = { .rootfd = -1 };
	struct scanned s = SCANNED_INIT;
	struct scan_observer obs = { scanned_observe, &s, stat_threads(o), false };
	struct snap_publish_opts full = *o;
	struct report scanrep = REPORT_INIT;
	struct pcache c = PCACHE_INIT;
	struct snap_change *changes = NULL;
	struct manifest *cur = NULL;
	struct loader ld = { .pl = &pl, .source = source, .o = o,
	    .c = &c, .warn = warn, .have = -1 };
	size_t n = 0;
	int srcfd = -1, rc = -1, have, scanned;

	warn->msg[0] = '\0';
	if ((srcfd = fsu_open_root(source, err)) == -1 ||
	    open_place(&pl, srcfd, sync_root, o, err) == -1)
		goto out;
	if ((cur = manifest_new()) == NULL) {
		snap_err_set(err, "out of memory");
		goto out;
	}
	load_and_scan(&ld, srcfd, cur, &scanrep, &s, &scanned);
	have = ld.have;
	if (have != 0 || scanned == -1 ||
	    take_cache(&c, &s, cur, &memo, &changes, &n) == -1) {
		scanned_free(&s);
		s.nomem = false;
		have = -1;	/* the full publish reports the tree */
	}
	if (have == 0) {
		report_copy(&scanrep, o->report);
	} else {
		/* The full publish's own scan gives the stats, as it lists
		 * the tree: not a second scan. */
		s.nomem = scanned_begin(srcfd, &s) == -1;
		full.scan_obs = &obs;
	}
	if (o->scanned != NULL)
		o->scanned(o->scanned_arg);
	/* The base was checked when the cache was made, by another
	 * process: check it again (cheap: hashed, not parsed). */
	memo.check_base = true;
	/* No change is an empty list, not NULL ("not known"). */
	rc = snap_publish_changes(source, sync_root, &full, &memo,
	    have == 0 ? (changes != NULL ? changes : &none) : NULL, n, result,
	    version, err);
	if (have != 0 && !s.nomem && scanned_sort(&s) == -1)
		s.nomem = true;	/* not kept: a full publish refused it */
	if (use != NULL) {
		use->total = s.n;
		use->read = memo.rescanned || have != 0 ? s.n : n;
	}
	/* Nothing new to keep when every stat was clean and the version is
	 * the cache's: it would write the same entries again. */
	if (rc == 0 && memo.m != NULL && s.v != NULL && !s.nomem &&
	    !(have == 0 && n == 0 && !memo.rescanned &&
	    *result == SNAP_UNCHANGED))
		save_cache(&pl, source, sync_root, &memo, &s, warn);
out:
	free(changes);
	snap_memo_clear(&memo);
	pcache_release(&c);
	manifest_free(cur);
	report_free(&scanrep);
	scanned_free(&s);
	if (pl.rootfd != -1)
		close(pl.rootfd);
	if (srcfd != -1)
		close(srcfd);
	return rc;
}
