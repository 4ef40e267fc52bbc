/*
 * scan.c - walk a source tree and refuse what does not belong (see scan.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "labels.h"
#include "names.h"
#include "scan.h"

static const char *
kind_of(mode_t mode)
{
	if (S_ISLNK(mode))
		return "a symlink";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	if (S_ISREG(mode))
		return "a regular file";
	return "not a regular file";
}

static int
scan_type_dir(int typefd, const char *label, int type, struct manifest *out,
    struct snap_err *err)
{
	const char *folder = artifact_types[type].folder;
	char name[NAME_MAX_BYTES + 1];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = -1;

	if ((d = fdopendir(typefd)) == NULL) {
		close(typefd);
		return snap_err_sys(err, errno, "%s/%s", label, folder);
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
			snap_err_sys(err, errno, "%s/%s/%s", label, folder,
			    de->d_name);
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			snap_err_set(err, "%s/%s/%s: %s, only regular files are "
			    "artifacts", label, folder, de->d_name,
			    kind_of(st.st_mode));
			goto out;
		}
		if (name_from_file(de->d_name, name, err) == -1) {
			snap_err_prefix(err, "%s/%s/%s", label, folder,
			    de->d_name);
			goto out;
		}
		if ((uint64_t)st.st_size > ARTIFACT_MAX_BYTES) {
			snap_err_set(err, "%s/%s/%s: larger than %u bytes", label,
			    folder, de->d_name, ARTIFACT_MAX_BYTES);
			goto out;
		}
		if (manifest_add(out, type, name, NULL, (uint64_t)st.st_size, "",
		    0) == -1) {
			snap_err_set(err, "%s: out of memory", label);
			goto out;
		}
	}
	if (errno != 0) {
		snap_err_sys(err, errno, "%s/%s: readdir", label, folder);
		goto out;
	}
	rc = 0;
out:
	closedir(d);
	return rc;
}

int
scan_one(int srcfd, const char *label, int type, const char *name,
    bool *exists, struct snap_err *err)
{
	const char *folder = artifact_types[type].folder;
	char path[NAME_MAX_BYTES + 64];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s.xml", folder, name);
	*exists = false;
	if (fstatat(srcfd, path, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			return 0;
		return snap_err_sys(err, errno, "%s/%s", label, path);
	}
	*exists = true;
	if (!S_ISREG(st.st_mode))
		return snap_err_set(err, "%s/%s: %s, only regular files are "
		    "artifacts", label, path, kind_of(st.st_mode));
	if ((uint64_t)st.st_size > ARTIFACT_MAX_BYTES)
		return snap_err_set(err, "%s/%s: larger than %u bytes", label,
		    path, ARTIFACT_MAX_BYTES);
	return 0;
}

int
scan_tree(int srcfd, const char *label, struct manifest *out,
    struct snap_err *err)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, type, rc = -1;

	if ((d = fsu_opendir_dup(srcfd)) == NULL)
		return snap_err_sys(err, errno, "%s", label);
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
			snap_err_sys(err, errno, "%s/%s", label, de->d_name);
			goto out;
		}
		/* Not an artifact: the rules that label them (labels.h). */
		if (strcmp(de->d_name, LABELS_FILE) == 0 && S_ISREG(st.st_mode))
			continue;
		if ((type = name_type_index(de->d_name)) < 0) {
			snap_err_set(err, "%s/%s: unknown %s (artifact folders are "
			    "api, sequences, endpoints, local-entries, "
			    "proxy-services, templates, inbound-endpoints, "
			    "message-stores, message-processors, tasks; the one "
			    "file is " LABELS_FILE ")", label,
			    de->d_name, S_ISDIR(st.st_mode) ? "folder" : "entry");
			goto out;
		}
		if (!S_ISDIR(st.st_mode)) {
			snap_err_set(err, "%s/%s: %s, expected a folder", label,
			    de->d_name, kind_of(st.st_mode));
			goto out;
		}
		fd = openat(dirfd(d), de->d_name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1) {
			snap_err_sys(err, errno, "%s/%s", label, de->d_name);
			goto out;
		}
		if (scan_type_dir(fd, label, type, out, err) == -1)
			goto out;
	}
	if (errno != 0) {
		snap_err_sys(err, errno, "%s: readdir", label);
		goto out;
	}
	rc = manifest_sort(out, err);
out:
	closedir(d);
	return rc;
}
