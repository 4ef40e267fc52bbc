/*
 * token.c - the REST endpoint's bearer token (see token.h).
 *
 * One reader for every token artsync holds (the REST token, on both sides,
 * and webhook_token_file): a token is a secret, checked as the signing key
 * is (fsu_check_private), and the same trimming on the server and the
 * client, or a token would never match.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "fsutil.h"
#include "token.h"

#define TOKEN_FILE_MAX 4096		/* bytes read at most */
#define TOKEN_RANDOM_BYTES 32		/* 256 bits, 64 hex digits */

/*
 * Reads the token file at path; with `follow` symlinks are followed (a
 * token an operator names may be a mounted secret), without it the file
 * itself must be no symlink (the one we wrote). Errors name path as given.
 */
static int
read_token_file(const char *path, bool follow, char *out, size_t outlen,
    struct snap_err *err)
{
	char *buf = NULL;
	size_t len = 0, i;
	int rc = -1;

	if (outlen > TOKEN_MAX + 1)
		outlen = TOKEN_MAX + 1;
	if (fsu_read_file_flags(AT_FDCWD, path, TOKEN_FILE_MAX, FSU_SECRET |
	    (follow ? FSU_FOLLOW : 0), &buf, &len, err) == -1)
		goto out;
	while (len > 0 && strchr(" \t\r\n", buf[len - 1]) != NULL)
		len--;
	if (len == 0 || len >= outlen) {
		snap_err_set(err, "%s: the token must be 1 to %zu bytes of text",
		    path, outlen - 1);
		goto out;
	}
	/* It goes into a header line: a CR, LF or any control byte there
	 * would end the header or forge another one. */
	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] <= 0x20 ||
		    (unsigned char)buf[i] >= 0x7f) {
			snap_err_set(err, "%s: byte 0x%02x at offset %zu cannot "
			    "go into an HTTP header", path,
			    (unsigned char)buf[i], i);
			goto out;
		}
	memcpy(out, buf, len);
	out[len] = '\0';
	rc = 0;
out:
	if (buf != NULL)
		explicit_bzero(buf, len);
	free(buf);
	return rc;
}

int
token_read(const char *path, char *out, size_t outlen, struct snap_err *err)
{
	return read_token_file(path, true, out, outlen, err);
}

int
token_read_own(const struct config *c, char *out, size_t outlen,
    struct snap_err *err)
{
	char path[PATH_MAX];
	bool generated;

	if (token_path(c, path, sizeof(path), &generated) == -1)
		return snap_err_set(err, "deploy_root: too long a path for %s",
		    TOKEN_FILE_NAME);
	if (path[0] == '\0')
		return snap_err_set(err, "no token_file and no deploy_root");
	return read_token_file(path, !generated, out, outlen, err);
}

int
token_path(const struct config *c, char *out, size_t len, bool *generated)
{
	int n;

	*generated = false;
	out[0] = '\0';
	if (c->token_file[0] != '\0')
		n = snprintf(out, len, "%s", c->token_file);
	else if (c->deploy_root[0] != '\0') {
		n = snprintf(out, len, "%s/%s", c->deploy_root,
		    TOKEN_FILE_NAME);
		*generated = true;
	} else
		return 0;
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* A new token in rootfd, atomically, readable by its owner only. */
static int
token_create(int rootfd, struct snap_err *err)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[TOKEN_RANDOM_BYTES];
	char text[2 * TOKEN_RANDOM_BYTES + 1];
	size_t i;
	int rc;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return snap_err_sys(err, errno, "getrandom");
	for (i = 0; i < sizeof(rnd); i++) {
		text[2 * i] = hex[rnd[i] >> 4];
		text[2 * i + 1] = hex[rnd[i] & 15];
	}
	text[sizeof(text) - 1] = '\n';
	rc = fsu_write_atomic_mode(rootfd, TOKEN_FILE_NAME, text, sizeof(text),
	    0600, err);
	explicit_bzero(rnd, sizeof(rnd));
	explicit_bzero(text, sizeof(text));
	return rc;
}

int
token_load(const struct config *c, int rootfd, char *out, size_t outlen,
    bool *created, struct snap_err *err)
{
	*created = false;
	if (c->token_file[0] != '\0')
		return token_read(c->token_file, out, outlen, err) == -1 ?
		    snap_err_prefix(err, "token_file") : 0;
	/* One agent per deploy root (its flock): no one else writes it. */
	if (faccessat(rootfd, TOKEN_FILE_NAME, F_OK, AT_SYMLINK_NOFOLLOW) ==
	    -1) {
		if (errno != ENOENT)
			return snap_err_sys(err, errno, "%s/%s", c->deploy_root,
			    TOKEN_FILE_NAME);
		if (token_create(rootfd, err) == -1)
			return snap_err_prefix(err, "deploy root %s",
			    c->deploy_root);
		*created = true;
	}
	return token_read_own(c, out, outlen, err);
}
