/*
 * bench-probe.c - the clock of scripts/bench: times what a shell cannot.
 *
 * A shell sees a process start and end; the events a benchmark of artsync
 * is about happen elsewhere: `current` replaced in a deploy root, a file
 * landing in an rsync mirror. This helper watches those with inotify and
 * timestamps them with CLOCK_MONOTONIC, against a start taken in the same
 * process, so that no fork or sleep of a shell lands in a figure.
 *
 *   bench-probe run [-d DIR]... [-t MS] -- CMD [ARG...]
 *	Runs CMD (its stdout to /dev/null), reaps it, then waits until
 *	`current` was replaced in every
 *	DIR since CMD started (a secondary applied what CMD published).
 *	Prints one line: exit=N run_ms=F total_ms=F maxrss_kb=N wchar=N
 *	write_bytes=N cpu_ms=F (CMD's own figures; the I/O counters are read
 *	from /proc/PID/io while CMD is a zombie, before it is reaped; cpu_ms
 *	is its user + system time, its threads' included).
 *
 *   bench-probe exec -o FILE [-d DIR]... [-t MS] -- CMD [ARG...]
 *	Becomes CMD (same PID, so a shell's $! and kill work on it), after
 *	starting a detached watcher that writes "ready_ms=F" to FILE (temp
 *	and rename) once `current` was replaced in every DIR, counted from
 *	just before the exec; or "ready_ms=timeout" after MS.
 *
 *   bench-probe changes -s SRC -r REL -n N [-w W] [-g GAP_MS] [-t MS]
 *	    -m deploy|mirror -o FILE TARGET...
 *	Makes W unrecorded, then N recorded one-artifact changes: each
 *	rewrites SRC/REL in place (open O_TRUNC, one write, close: what an
 *	editor or `cp` does) with a fresh marker comment (its size differs
 *	from the last change's), and measures write
 *	-> the new content readable in every TARGET: through TARGET/current/
 *	REL after `current` is replaced (mode deploy: TARGET is a deploy
 *	root), or at TARGET/REL once it is renamed or written there (mode
 *	mirror: an rsync target). Appends one line per recorded change to
 *	FILE: the latency in ms (the slowest target). Events drive it; a
 *	200 ms re-read is only a safety net, counted and reported as
 *	"late" when it is what saw a change.
 *
 * Exit status: 0, 1 when a wait timed out or CMD could not run, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_DIRS 16
#define MAX_FILE (4 << 20)
#define SAFETY_MS 200

static const char *prog = "bench-probe";

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static void
usage(void)
{
	fputs("usage: bench-probe run [-d DIR]... [-t MS] -- CMD [ARG...]\n"
	    "       bench-probe exec -o FILE [-d DIR]... [-t MS] -- CMD [ARG...]\n"
	    "       bench-probe changes -s SRC -r REL -n N [-w W] [-g GAP_MS]"
	    " [-t MS]\n"
	    "           -m deploy|mirror -o FILE TARGET...\n", stderr);
	exit(2);
}

static long
num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		usage();
	return v;
}

/*
 * A set of directories, each with an inotify watch, and for each whether
 * the name it waits for has shown up (and when).
 */
struct watches {
	int fd;
	int n;
	int wd[MAX_DIRS];
	const char *dir[MAX_DIRS];
	double done_at[MAX_DIRS];	/* 0: not yet */
};

static void
watches_init(struct watches *w)
{
	memset(w, 0, sizeof(*w));
	if ((w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		die("inotify_init1: %s", strerror(errno));
}

static void
watches_add(struct watches *w, const char *dir, uint32_t mask)
{
	if (w->n == MAX_DIRS)
		die("more than %s directories", "16");
	w->dir[w->n] = dir;
	if ((w->wd[w->n] = inotify_add_watch(w->fd, dir, mask)) == -1) {
		fprintf(stderr, "%s: %s: %s\n", prog, dir, strerror(errno));
		exit(1);
	}
	w->n++;
}

static bool
watches_all_done(const struct watches *w)
{
	for (int i = 0; i < w->n; i++)
		if (w->done_at[i] == 0)
			return false;
	return true;
}

static double
watches_last(const struct watches *w)
{
	double last = 0;

	for (int i = 0; i < w->n; i++)
		if (w->done_at[i] > last)
			last = w->done_at[i];
	return last;
}

/*
 * Reads what is queued; for each event on a watched directory naming
 * `name`, calls check(i) (NULL: always true) and marks directory i done at
 * the time of the event's reading. Returns the number of events read.
 */
static int
watches_drain(struct watches *w, const char *name, bool (*check)(int, void *),
    void *arg)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	char *p;
	int count = 0;

	for (;;) {
		n = read(w->fd, buf, sizeof(buf));
		if (n <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && errno != EAGAIN)
				die("inotify read: %s", strerror(errno));
			return count;
		}
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(void *)p;
			count++;
			if (ev->len == 0 || strcmp(ev->name, name) != 0)
				continue;
			for (int i = 0; i < w->n; i++)
				if (w->wd[i] == ev->wd && w->done_at[i] == 0 &&
				    (check == NULL || check(i, arg)))
					w->done_at[i] = now_ms();
		}
	}
}

/* Waits until every directory is done or `deadline` (ms) passes; the
 * safety net re-runs check() on each still waiting every SAFETY_MS. */
static int
watches_wait(struct watches *w, const char *name, double deadline,
    bool (*check)(int, void *), void *arg, int *late)
{
	struct pollfd pfd;
	double left;

	for (;;) {
		watches_drain(w, name, check, arg);
		if (watches_all_done(w))
			return 0;
		left = deadline - now_ms();
		if (left <= 0)
			return -1;
		pfd = (struct pollfd){ .fd = w->fd, .events = POLLIN };
		if (poll(&pfd, 1, left < SAFETY_MS ? (int)left + 1 : SAFETY_MS)
		    == -1 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (pfd.revents != 0 || check == NULL)
			continue;
		for (int i = 0; i < w->n; i++)
			if (w->done_at[i] == 0 && check(i, arg)) {
				w->done_at[i] = now_ms();
				(*late)++;
			}
	}
}

/* Counters of a process, readable while it is a zombie. */
static void
read_io(pid_t pid, unsigned long long *wchar, unsigned long long *wbytes)
{
	char path[64], line[128];
	FILE *f;

	*wchar = *wbytes = 0;
	snprintf(path, sizeof(path), "/proc/%d/io", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		sscanf(line, "wchar: %llu", wchar);
		sscanf(line, "write_bytes: %llu", wbytes);
	}
	fclose(f);
}

struct cmd_opts {
	const char *dirs[MAX_DIRS];
	int ndirs;
	long timeout_ms;
	const char *out;
	char **argv;
};

static void
parse_cmd(int argc, char **argv, struct cmd_opts *o)
{
	int ch;

	o->timeout_ms = 600000;
	while ((ch = getopt(argc, argv, "+d:t:o:")) != -1) {
		switch (ch) {
		case 'd':
			if (o->ndirs == MAX_DIRS)
				usage();
			o->dirs[o->ndirs++] = optarg;
			break;
		case 't':
			o->timeout_ms = num(optarg);
			break;
		case 'o':
			o->out = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	o->argv = argv + optind;
}

static void
watch_current(struct watches *w, const struct cmd_opts *o)
{
	watches_init(w);
	for (int i = 0; i < o->ndirs; i++)
		watches_add(w, o->dirs[i], IN_MOVED_TO | IN_CREATE);
}

static int
cmd_run(int argc, char **argv)
{
	struct cmd_opts o = { .ndirs = 0 };
	struct watches w;
	struct rusage ru;
	siginfo_t si;
	unsigned long long wchar, wbytes;
	double t0, t1;
	int status, late = 0;
	pid_t pid;

	parse_cmd(argc, argv, &o);
	watch_current(&w, &o);
	t0 = now_ms();
	if ((pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		/* Our stdout is for our one line. */
		if (null == -1 || dup2(null, STDOUT_FILENO) == -1)
			_exit(127);
		close(w.fd);
		execvp(o.argv[0], o.argv);
		fprintf(stderr, "%s: %s: %s\n", prog, o.argv[0], strerror(errno));
		_exit(127);
	}
	/* Exited but not reaped: its /proc entry still holds the counters. */
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == -1)
		if (errno != EINTR)
			die("waitid: %s", strerror(errno));
	t1 = now_ms();
	read_io(pid, &wchar, &wbytes);
	while (wait4(pid, &status, 0, &ru) == -1)
		if (errno != EINTR)
			die("wait4: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "%s: %s exited with status %d\n", prog, o.argv[0],
		    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		return 1;
	}
	if (watches_wait(&w, "current", t0 + (double)o.timeout_ms, NULL, NULL,
	    &late) == -1)
		die("no swap of current within the timeout (%s)", "-t");
	printf("exit=0 run_ms=%.1f total_ms=%.1f maxrss_kb=%ld wchar=%llu "
	    "write_bytes=%llu cpu_ms=%.1f\n", t1 - t0,
	    (o.ndirs ? watches_last(&w) : t1) - t0, ru.ru_maxrss, wchar, wbytes,
	    (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3);
	return 0;
}

static void
write_result(const char *path, const char *text)
{
	char tmp[PATH_MAX];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "we")) == NULL)
		die("%s: cannot write", tmp);
	fputs(text, f);
	if (fclose(f) != 0 || rename(tmp, path) == -1)
		die("%s: cannot write", path);
}

static int
cmd_exec(int argc, char **argv)
{
	struct cmd_opts o = { .ndirs = 0 };
	struct watches w;
	char text[64];
	double t0;
	int late = 0;
	pid_t pid;

	parse_cmd(argc, argv, &o);
	if (o.out == NULL)
		usage();
	watch_current(&w, &o);
	t0 = now_ms();
	/* The watcher is a grandchild: orphaned at once, it is reaped by init,
	 * never by CMD, which knows nothing of it. */
	if ((pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if ((pid = fork()) == -1)
			_exit(1);
		if (pid > 0)
			_exit(0);
		if (watches_wait(&w, "current", t0 + (double)o.timeout_ms, NULL,
		    NULL, &late) == -1)
			snprintf(text, sizeof(text), "ready_ms=timeout\n");
		else
			snprintf(text, sizeof(text), "ready_ms=%.1f\n",
			    watches_last(&w) - t0);
		write_result(o.out, text);
		_exit(0);
	}
	while (waitpid(pid, NULL, 0) == -1)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	close(w.fd);
	execvp(o.argv[0], o.argv);
	die("exec: %s", strerror(errno));
	return 1;
}

/* --- changes ----------------------------------------------------------- */

struct changes {
	const char *src, *rel, *mode, *out;
	long n, warmup, gap_ms, timeout_ms;
	char **targets;
	int ntargets;
	char *want;		/* the content every target must show */
	size_t wantlen;
	char *buf;		/* scratch for reading a target's copy */
};

static bool
same_content(const char *path, const struct changes *c)
{
	size_t got = 0;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return false;
	while (got <= c->wantlen &&
	    (r = read(fd, c->buf + got, MAX_FILE - got)) > 0)
		got += (size_t)r;
	close(fd);
	return got == c->wantlen && memcmp(c->buf, c->want, got) == 0;
}

static bool
target_has_it(int i, void *arg)
{
	const struct changes *c = arg;
	char path[PATH_MAX];

	if (strcmp(c->mode, "deploy") == 0)
		snprintf(path, sizeof(path), "%s/current/%s", c->targets[i],
		    c->rel);
	else
		snprintf(path, sizeof(path), "%s/%s", c->targets[i], c->rel);
	return same_content(path, c);
}

static char *
read_all(const char *path, size_t *len)
{
	char *b = malloc(MAX_FILE);
	ssize_t r;
	int fd;

	*len = 0;
	if (b == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		die("%s: cannot read", path);
	while ((r = read(fd, b + *len, MAX_FILE - 1024 - *len)) > 0)
		*len += (size_t)r;
	close(fd);
	if (r == -1 || *len >= MAX_FILE - 1024)
		die("%s: cannot read, or too big", path);
	return b;
}

static void
write_in_place(const char *path, const char *b, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd == -1 || write(fd, b, len) != (ssize_t)len || close(fd) != 0)
		die("%s: cannot write", path);
}

static int
cmd_changes(int argc, char **argv)
{
	static char dirs[MAX_DIRS][PATH_MAX];	/* the watched folders */
	struct changes c = { .n = -1, .gap_ms = 100, .timeout_ms = 60000 };
	struct watches w;
	char srcpath[PATH_MAX], *base, *slash;
	const char *name;
	size_t baselen;
	FILE *out;
	double t0, lat, sum = 0;
	long k;
	int ch, late = 0, rc = 1;

	while ((ch = getopt(argc, argv, "s:r:n:w:g:t:m:o:")) != -1) {
		switch (ch) {
		case 's': c.src = optarg; break;
		case 'r': c.rel = optarg; break;
		case 'n': c.n = num(optarg); break;
		case 'w': c.warmup = num(optarg); break;
		case 'g': c.gap_ms = num(optarg); break;
		case 't': c.timeout_ms = num(optarg); break;
		case 'm': c.mode = optarg; break;
		case 'o': c.out = optarg; break;
		default: usage();
		}
	}
	c.targets = argv + optind;
	c.ntargets = argc - optind;
	if (c.src == NULL || c.rel == NULL || c.n < 1 || c.mode == NULL ||
	    c.out == NULL || c.ntargets < 1 || c.ntargets > MAX_DIRS ||
	    (strcmp(c.mode, "deploy") != 0 && strcmp(c.mode, "mirror") != 0))
		usage();
	snprintf(srcpath, sizeof(srcpath), "%s/%s", c.src, c.rel);
	base = read_all(srcpath, &baselen);
	if ((c.want = malloc(MAX_FILE)) == NULL ||
	    (c.buf = malloc(MAX_FILE)) == NULL)
		die("%s", "out of memory");
	if ((out = fopen(c.out, "ae")) == NULL)
		die("%s: cannot open", c.out);

	/* What to watch: the deploy root (current is renamed there), or the
	 * mirror's folder of the file (rsync renames its temp there). */
	slash = strrchr(c.rel, '/');
	name = slash ? slash + 1 : c.rel;
	watches_init(&w);
	for (int i = 0; i < c.ntargets; i++) {
		if (strcmp(c.mode, "deploy") == 0) {
			watches_add(&w, c.targets[i], IN_MOVED_TO | IN_CREATE);
		} else {
			snprintf(dirs[i], sizeof(dirs[i]), "%s/%.*s",
			    c.targets[i], slash ? (int)(slash - c.rel) : 0,
			    c.rel);
			watches_add(&w, dirs[i], IN_MOVED_TO | IN_CLOSE_WRITE);
		}
	}
	if (strcmp(c.mode, "deploy") == 0)
		name = "current";

	for (k = 1; k <= c.warmup + c.n; k++) {
		memcpy(c.want, base, baselen);
		/* Each size differs from the last one's: rsync's quick check
		 * (size and mtime second) would skip a same-size change made
		 * within a second, and a mirror would never get it. */
		c.wantlen = baselen + (size_t)snprintf(c.want + baselen, 1024,
		    "<!-- bench change %08ld%s -->\n", k, k % 2 ? " " : "");
		memset(w.done_at, 0, sizeof(w.done_at));
		watches_drain(&w, "", NULL, NULL);	/* what came before */
		t0 = now_ms();
		write_in_place(srcpath, c.want, c.wantlen);
		if (watches_wait(&w, name, t0 + (double)c.timeout_ms,
		    target_has_it, &c, &late) == -1) {
			for (int i = 0; i < w.n; i++)
				if (w.done_at[i] == 0)
					fprintf(stderr, "%s: change %ld: %s did "
					    "not get it within %ld ms\n", prog,
					    k, c.targets[i], c.timeout_ms);
			write_in_place(srcpath, base, baselen);
			goto out;
		}
		lat = watches_last(&w) - t0;
		if (k > c.warmup) {
			fprintf(out, "%.2f\n", lat);
			sum += lat;
		}
		usleep((useconds_t)c.gap_ms * 1000);
	}
	printf("changes=%ld mean_ms=%.2f late=%d\n", c.n, sum / (double)c.n,
	    late);
	rc = 0;
out:
	if (fclose(out) != 0)
		die("%s: cannot write", c.out);
	close(w.fd);
	free(base);
	free(c.want);
	free(c.buf);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "exec") == 0)
		return cmd_exec(argc - 1, argv + 1);
	if (strcmp(argv[1], "changes") == 0)
		return cmd_changes(argc - 1, argv + 1);
	usage();
	return 2;
}
