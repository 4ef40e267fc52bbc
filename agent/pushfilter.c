/*
 * pushfilter.c - the rsync rules of a push: our files, nothing else (see
 * pushfilter.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "pushfilter.h"
#include "snap.h"

/* The rsync patterns of every name snap_file_version() accepts: one per
 * suffix and number of digits (a version is at most INT64_MAX, 19
 * digits), so that no other name - "1x.tar.zst", "01.tar.zst" - matches. */
#define VERSION_DIGITS_MAX 19

static void
put_patterns(FILE *f)
{
	size_t k, n, i;

	for (k = 0; k < SNAP_FILE_KINDS; k++)
		for (n = 1; n <= VERSION_DIGITS_MAX; n++) {
			fputs("+ /[1-9]", f);
			for (i = 1; i < n; i++)
				fputs("[0-9]", f);
			fprintf(f, "%s\n", snap_file_suffix[k]);
		}
}

int
pushfilter_write(int snapfd, uint64_t upto, int fd, struct snap_err *err)
{
	char *buf = NULL;
	size_t len = 0, n = 0;
	struct dirent *de;
	struct stat st;
	uint64_t v, max;
	FILE *f;
	DIR *d;
	int rc = -1;

	if ((d = fsu_opendir_dup(snapfd)) == NULL)
		return snap_err_sys(err, errno, "snapshots");
	if ((f = open_memstream(&buf, &len)) == NULL) {
		snap_err_sys(err, errno, "push filter");
		goto out;
	}
	fprintf(f, "# artsync push of version %" PRIu64 ": what is ours, "
	    "sent and deleted; nothing else, either way\n", upto);
	/* Named as ours, but not what a publish leaves: not sent, and
	 * not deleted there (an excluded name is protected). */
	while ((de = readdir(d)) != NULL) {
		if ((v = snap_file_version(de->d_name, &max)) == 0 ||
		    fstatat(snapfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if (v > upto || !S_ISREG(st.st_mode) ||
		    (uint64_t)st.st_size > max) {
			fprintf(f, "- /%s\n", de->d_name);
			n++;
		}
	}
	put_patterns(f);
	fputs("- *\n", f);
	if (fclose(f) == EOF) {
		snap_err_sys(err, errno, "push filter");
		goto out;
	}
	if (fsu_write_all(fd, buf, len) == -1) {
		snap_err_sys(err, errno, "push filter: write");
		goto out;
	}
	rc = (int)n;
out:
	closedir(d);
	free(buf);
	return rc;
}
