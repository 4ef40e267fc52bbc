/*
 * pushconf.c - the push_* keys, checked, and the rsync options they give
 * each child (see pushconf.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "pushconf.h"

/* Long options a target's readers cannot live with (pushconf.h says why);
 * a name ending in '*' refuses every option it begins. */
static const char *const refused[] = {
	"--inplace", "--append*", "--write-devices", "--temp-dir*",
	"--partial-dir*", "--delay-updates", "--remove-source-files",
	"--delete*", "--del", "--filter*", "--exclude*", "--include*",
	"--files-from*", "--cvs-exclude", "--update", "--existing",
	"--ignore-existing", "--size-only", "--dry-run", "--list-only",
	"--only-write-batch*", "--write-batch*", "--read-batch*", "--rsh*",
	"--password-file*", "--max-size*", "--from0", "--server",
	"--sender", "--daemon*", "--config*",
};

/* Whether opt ("--name" or "--name=value") is one of refused[]. */
static bool
is_refused(const char *opt)
{
	size_t i, n, len = strcspn(opt, "=");

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		n = strlen(refused[i]);
		if (refused[i][n - 1] == '*' ?
		    strncmp(opt, refused[i], n - 1) == 0 :
		    len == n && strncmp(opt, refused[i], n) == 0)
			return true;
	}
	return false;
}

/* push_rsync_options: each word a long option, none refused. */
static int
check_options(const char *value, struct snap_err *err)
{
	char buf[sizeof(((struct config *)0)->push_rsync_options)];
	char *w, *save = NULL;
	int n = 0;

	if (snprintf(buf, sizeof(buf), "%s", value) >= (int)sizeof(buf))
		return snap_err_set(err, "push_rsync_options: longer than %zu "
		    "bytes", sizeof(buf) - 1);
	for (w = strtok_r(buf, " \t", &save); w != NULL;
	    w = strtok_r(NULL, " \t", &save)) {
		if (strncmp(w, "--", 2) != 0 || w[2] == '\0' || w[2] == '=')
			return snap_err_set(err, "push_rsync_options: '%s' is "
			    "not a long option (--NAME or --NAME=VALUE)", w);
		if (is_refused(w))
			return snap_err_set(err, "push_rsync_options: '%s' is "
			    "refused: a target must get whole files by rename, "
			    "in order, and lose only our names (docs/"
			    "operations.md)", w);
		if (++n > PUSH_OPTS_MAX)
			return snap_err_set(err, "push_rsync_options: more "
			    "than %d options", PUSH_OPTS_MAX);
	}
	return 0;
}

/* No byte that rsync's own word split of -e or a log line would mangle. */
static int
check_plain(const char *key, const char *value, struct snap_err *err)
{
	size_t i;

	for (i = 0; value[i] != '\0'; i++)
		if ((unsigned char)value[i] < ' ' || value[i] == 0x7f)
			return snap_err_set(err, "%s: a control byte at offset "
			    "%zu", key, i);
	return 0;
}

static int
set(char *dst, size_t len, const char *key, const char *value,
    struct snap_err *err)
{
	if (check_plain(key, value, err) == -1)
		return -1;
	if (snprintf(dst, len, "%s", value) >= (int)len)
		return snap_err_set(err, "%s: value longer than %zu bytes", key,
		    len - 1);
	return 0;
}

int
push_config_set(struct config *c, const char *key, const char *value,
    struct snap_err *err)
{
	if (!strcmp(key, "push_rsh"))
		return set(c->push_rsh, sizeof(c->push_rsh), key, value, err);
	if (!strcmp(key, "push_ssh_key")) {
		/* It goes into -e, which rsync splits on blanks. */
		if (strpbrk(value, " \t'\"\\") != NULL)
			return snap_err_set(err, "push_ssh_key: '%s' holds a "
			    "blank or a quote: move the key to a path without",
			    value);
		return set(c->push_ssh_key, sizeof(c->push_ssh_key), key,
		    value, err);
	}
	if (!strcmp(key, "push_password_file"))
		return set(c->push_password_file, sizeof(c->push_password_file),
		    key, value, err);
	if (!strcmp(key, "push_rsync_options")) {
		if (check_plain(key, value, err) == -1 ||
		    check_options(value, err) == -1)
			return -1;
		return set(c->push_rsync_options,
		    sizeof(c->push_rsync_options), key, value, err);
	}
	return 1;
}

/* rsync refuses a password file others may read ("password file must not
 * be other-accessible"); we refuse group access too, as for every secret,
 * and say so at start rather than at every push. */
static int
check_password_file(const char *path, struct snap_err *err)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return snap_err_sys(err, errno, "push_password_file %s", path);
	if (fstat(fd, &st) == -1) {
		snap_err_sys(err, errno, "push_password_file %s", path);
		close(fd);
		return -1;
	}
	close(fd);
	if (!S_ISREG(st.st_mode))
		return snap_err_set(err, "push_password_file %s: not a regular "
		    "file", path);
	if (fsu_check_private(&st, path, "an rsync password", err) == -1)
		return snap_err_prefix(err, "push_password_file");
	return 0;
}

int
push_config_check(const struct config *c, struct snap_err *err)
{
	if (c->push_rsh[0] != '\0' && c->push_ssh_key[0] != '\0')
		return snap_err_set(err, "push_rsh and push_ssh_key are both "
		    "set: give one (put -i KEY in push_rsh)");
	if (c->push_ssh_key[0] != '\0' && access(c->push_ssh_key, R_OK) == -1)
		return snap_err_sys(err, errno, "push_ssh_key %s (the ssh "
		    "identity file: readable by the user the primary runs as)",
		    c->push_ssh_key);
	if (c->push_password_file[0] != '\0' &&
	    check_password_file(c->push_password_file, err) == -1)
		return -1;
	return 0;
}

bool
push_target_is_local(const char *target)
{
	return target[0] == '/';
}

/* path made absolute into out (PATH_MAX bytes), for a child whose working
 * directory is elsewhere; as given when that fails (checked readable at
 * start, it then fails with rsync's or ssh's own words). */
static const char *
absolute(const char *path, char *out)
{
	if (realpath(path, out) == NULL)
		snprintf(out, PATH_MAX, "%s", path);
	return out;
}

void
push_opts_init(struct push_opts *o, const struct config *c)
{
	char *w, *save = NULL;

	char key[PATH_MAX];

	memset(o, 0, sizeof(*o));
	if (c->push_rsh[0] != '\0')
		snprintf(o->rsh, sizeof(o->rsh), "%s", c->push_rsh);
	else if (c->push_ssh_key[0] != '\0')
		snprintf(o->rsh, sizeof(o->rsh), "ssh -i %s -o BatchMode=yes",
		    absolute(c->push_ssh_key, key));
	if (c->push_password_file[0] != '\0')
		absolute(c->push_password_file, o->password_file);
	snprintf(o->buf, sizeof(o->buf), "%s", c->push_rsync_options);
	for (w = strtok_r(o->buf, " \t", &save); w != NULL &&
	    o->nextra < PUSH_OPTS_MAX; w = strtok_r(NULL, " \t", &save))
		o->extra[o->nextra++] = w;
}

void
push_opts_argv(const struct push_opts *o, const char *target, char **argv,
    int *i)
{
	int k;

	if (push_target_is_local(target)) {
		/* No far side to sync its disk: each file written is
		 * fsync'd before rsync renames it into place. */
		argv[(*i)++] = "--fsync";
	} else if (strncmp(target, "rsync://", 8) == 0) {
		if (o->password_file[0] != '\0') {
			argv[(*i)++] = "--password-file";
			argv[(*i)++] = (char *)o->password_file;
		}
	} else if (o->rsh[0] != '\0') {
		argv[(*i)++] = "-e";
		argv[(*i)++] = (char *)o->rsh;
	}
	for (k = 0; k < o->nextra; k++)
		argv[(*i)++] = o->extra[k];
}
