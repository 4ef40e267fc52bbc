/*
 * watch.c - recursive and single-directory watches on libinotifytools (see
 * watch.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <inotifytools/inotifytools.h>

#include "log.h"
#include "watch.h"

#define TREE_EVENTS (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | \
    IN_CREATE | IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)
#define DIR_EVENTS (IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF | \
    IN_MOVE_SELF)

static int inotify_fd = -1;
static int root_wd = -1;	/* the watched root: its loss is WATCH_LOST */
static char tree_root[PATH_MAX];	/* watch_tree()'s path, for rewatch() */
static watch_file_fn file_fn;
static void *file_arg;

void
watch_on_file(watch_file_fn fn, void *arg)
{
	file_fn = fn;
	file_arg = arg;
}

/* The process's inotify fds, as a bit set over fd numbers below 1024. */
static void
inotify_fds(unsigned char set[128])
{
	char link[64], path[64];
	struct dirent *de;
	DIR *d;
	long fd;

	memset(set, 0, 128);
	if ((d = opendir("/proc/self/fd")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		fd = strtol(de->d_name, NULL, 10);
		if (de->d_name[0] == '.' || fd < 0 || fd >= 1024)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%ld", fd);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, "anon_inode:inotify") == 0)
			set[fd / 8] |= (unsigned char)(1u << (fd % 8));
	}
	closedir(d);
}

int
watch_init(struct snap_err *err)
{
	unsigned char before[128], after[128];
	int fd;

	inotify_fds(before);
	if (!inotifytools_initialize()) {
		if (inotifytools_error() == EMFILE)
			return snap_err_setc(err, SNAP_E_NO_SPACE, "inotify: "
			    "instance limit reached (raise "
			    "fs.inotify.max_user_instances)");
		return snap_err_sys(err, inotifytools_error(), "inotify");
	}
	inotify_fds(after);
	/* The one that appeared is libinotifytools' own. */
	for (fd = 0; fd < 1024; fd++)
		if ((after[fd / 8] & ~before[fd / 8]) & (1u << (fd % 8)))
			break;
	if (fd == 1024) {
		inotifytools_cleanup();
		return snap_err_set(err, "inotify: cannot find the instance's fd");
	}
	inotify_fd = fd;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		int saved = errno;

		watch_cleanup();
		return snap_err_sys(err, saved, "inotify: non-blocking");
	}
	return 0;
}

void
watch_cleanup(void)
{
	if (inotify_fd >= 0)
		inotifytools_cleanup();
	inotify_fd = -1;
	root_wd = -1;
	tree_root[0] = '\0';
}

int
watch_fd(void)
{
	return inotify_fd;
}

static int
watch_error(const char *path, struct snap_err *err)
{
	int e = inotifytools_error();

	if (e == ENOSPC)
		return snap_err_setc(err, SNAP_E_NO_SPACE, "%s: inotify watch "
		    "limit reached (raise fs.inotify.max_user_watches)", path);
	return snap_err_sys(err, e, "%s: inotify watch", path);
}


/* libinotifytools names directories with or without a trailing '/'
 * depending on how they were added: ask for both. */
static void
remember_root(const char *path)
{
	char slash[PATH_MAX + 2];

	root_wd = inotifytools_wd_from_filename(path);
	if (root_wd < 0) {
		snprintf(slash, sizeof(slash), "%s/", path);
		root_wd = inotifytools_wd_from_filename(slash);
	}
}

int
watch_tree(const char *path, struct snap_err *err)
{
	char root[PATH_MAX];

	/* Watching a tree again (its root was moved or removed): the old
	 * table still names its folders, so start from an empty one. */
	if (tree_root[0] != '\0') {
		snprintf(root, sizeof(root), "%s", path);
		watch_cleanup();
		if (watch_init(err) == -1)
			return -1;
		path = root;
	}
	if (!inotifytools_watch_recursively(path, TREE_EVENTS))
		return watch_error(path, err);
	remember_root(path);
	snprintf(tree_root, sizeof(tree_root), "%s", path);
	return 0;
}

/*
 * A folder moved or removed inside the tree leaves libinotifytools' table
 * naming paths that no longer hold what they say, and a folder moved back in
 * under an old name would not be watched. Artifact trees are two levels
 * deep, so starting over is cheap and cannot go stale.
 */
static unsigned
rewatch(void)
{
	struct snap_err err = SNAP_ERR_INIT;
	char root[PATH_MAX];

	snprintf(root, sizeof(root), "%s", tree_root);
	if (watch_tree(root, &err) == -1) {
		log_debug("%s: cannot watch again: %s", root, err.msg);
		return WATCH_INCOMPLETE | WATCH_LOST | WATCH_CHANGED;
	}
	return WATCH_CHANGED;
}

int
watch_dir(const char *path, struct snap_err *err)
{
	if (!inotifytools_watch_file(path, DIR_EVENTS))
		return watch_error(path, err);
	remember_root(path);
	return 0;
}

/* A directory appeared in a watched tree: watch it and what it holds.
 * WATCH_INCOMPLETE when it cannot be (the caller polls instead). */
static unsigned
follow_new_dir(struct inotify_event *ev)
{
	const char *parent = inotifytools_filename_from_wd(ev->wd);
	char path[PATH_MAX];

	if (parent == NULL)
		return 0;
	/* libinotifytools keeps directory paths with a trailing '/'. */
	snprintf(path, sizeof(path), "%s%s", parent, ev->name);
	if (!inotifytools_watch_recursively(path, TREE_EVENTS)) {
		log_debug("%s: cannot watch new folder: %s", path,
		    strerror(inotifytools_error()));
		return WATCH_INCOMPLETE;
	}
	return 0;
}

/* Keeps libinotifytools' table in step with one raw event; returns flags. */
static unsigned
handle_event(struct inotify_event *ev)
{
	if (ev->mask & IN_Q_OVERFLOW)
		return WATCH_OVERFLOW | WATCH_CHANGED;
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT |
	    IN_IGNORED)) {
		bool root = ev->wd == root_wd;

		/* The kernel dropped (or will drop) this watch: forget it.
		 * A root moved away raises no IN_IGNORED while it lives on
		 * elsewhere, so its record goes now, or it would leak when
		 * the same inode is watched again. */
		if ((ev->mask & IN_IGNORED) || root)
			inotifytools_remove_watch_by_wd(ev->wd);
		if (!root)
			return WATCH_CHANGED;
		root_wd = -1;
		return WATCH_LOST | WATCH_CHANGED;
	}
	if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_MOVED_FROM | IN_MOVED_TO |
	    IN_DELETE)) && tree_root[0] != '\0')
		return WATCH_REWATCH | WATCH_CHANGED;
	if ((ev->mask & IN_ISDIR) && (ev->mask & IN_CREATE) && ev->len > 0)
		return follow_new_dir(ev) | WATCH_NEWDIR | WATCH_CHANGED;
	if (ev->len > 0 && strcmp(ev->name, "state.json") == 0)
		return WATCH_STATE | WATCH_CHANGED;
	if (ev->len > 0 && !(ev->mask & IN_ISDIR) && file_fn != NULL)
		file_fn(inotifytools_filename_from_wd(ev->wd), ev->name,
		    file_arg);
	return WATCH_CHANGED;
}

unsigned
watch_drain(void)
{
	/* Aligned as inotify(7) asks. */
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct inotify_event *ev;
	unsigned flags = 0;
	ssize_t n;
	char *p;

	/*
	 * Raw reads, not inotifytools_next_event(): in this library version a
	 * zero timeout blocks, which would stall the loop. The fd is
	 * non-blocking, so this stops when the queue is empty.
	 */
	if (inotify_fd < 0)
		return 0;
	for (;;) {
		n = read(inotify_fd, buf, sizeof(buf));
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return flags;
		}
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (struct inotify_event *)(void *)p;
			flags |= handle_event(ev);
		}
		/* Whatever the moved folders hold raised no event here. */
		if (flags & WATCH_REWATCH)
			return (flags & ~WATCH_REWATCH) | rewatch() |
			    WATCH_NEWDIR;
	}
}

/* Hashes one entry's name and what a write or rename changes. */
static void
digest_entry(struct hash_state *h, int dirfd, const char *name)
{
	struct stat st;
	int64_t t[2];

	hash_update(h, name, strlen(name) + 1);
	if (fstatat(dirfd, name, &st, 0) == -1)
		memset(&st, 0, sizeof(st));
	t[0] = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	t[1] = st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
	hash_update(h, &st.st_ino, sizeof(st.st_ino));
	hash_update(h, &st.st_size, sizeof(st.st_size));
	hash_update(h, t, sizeof(t));
}

/* Every entry of dirfd, and (depth 0) of every folder in it. */
static int
digest_dir(struct hash_state *h, int fd, int depth, struct snap_err *err)
{
	struct dirent *de;
	DIR *d;
	int sub;

	if ((d = fdopendir(fd)) == NULL) {
		int saved = errno;

		close(fd);
		return snap_err_sys(err, saved, "opendir");
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		digest_entry(h, dirfd(d), de->d_name);
		if (depth > 0 || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
		if (sub >= 0 && digest_dir(h, sub, depth + 1, err) == -1) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

int
watch_poll_digest(const char *path, char out[HASH_HEX_LEN + 1],
    struct snap_err *err)
{
	struct hash_state h;
	int fd;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return snap_err_sys(err, errno, "%s", path);
	hash_init(&h);
	if (digest_dir(&h, fd, 0, err) == -1)
		return snap_err_prefix(err, "%s", path);
	hash_final(&h, out);
	return 0;
}
