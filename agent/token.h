/*
 * token.h - the bearer token of a secondary's REST endpoint: where it is,
 * reading it, making one.
 *
 * Where it is: the file token_file names; else DEPLOY_ROOT/rest.token,
 * which the secondary writes at its first start (32 random bytes in hex,
 * mode 0600, beside releases/ and never in one). The daemon and the CLI
 * find it the same way, token_path() and token_read_own(), so that `artsync undeploy ...` works
 * for whoever may read that file - root and the user the secondary runs
 * as - and for no other local user.
 *
 * Calling sequence: the daemon calls token_load() once its deploy root is
 * open; the CLI calls token_read_own(), or token_read() for a file named
 * on its command line. Every token is a regular file (one an operator
 * names may be a symlink, as a mounted secret often is; rest.token may
 * not) that group and others may not access,
 * holding 1..TOKEN_MAX bytes that can go into a header line; trailing
 * white space is dropped. Errors: -1 with err naming the file and what to
 * do ("chmod 600 FILE"). Only token_load() writes, and only a whole file
 * (temp, fsync, rename, fsync the directory): a reader finds the token or
 * no file, never half of one.
 */
#ifndef TOKEN_H
#define TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "snap_err.h"

#define TOKEN_MAX 255			/* bytes, without the NUL */
#define TOKEN_FILE_NAME "rest.token"	/* in the deploy root */

/* Reads the token at path into out (outlen bytes; at most TOKEN_MAX + 1
 * are used). 0, or -1 with err. */
int token_read(const char *path, char *out, size_t outlen,
    struct snap_err *err);

/* Reads the token of the secondary c describes (token_path): token_file
 * as token_read() does, else the deploy root's rest.token, which must be no
 * symlink. 0, or -1 with err. */
int token_read_own(const struct config *c, char *out, size_t outlen,
    struct snap_err *err);

/*
 * The token file of the secondary c describes: token_file, else
 * DEPLOY_ROOT/rest.token (*generated true), else "" (neither is set).
 * 0, or -1 when it does not fit in len bytes.
 */
int token_path(const struct config *c, char *out, size_t len,
    bool *generated);

/*
 * The daemon's token: token_file's, else the deploy root's (rootfd, opened
 * from c->deploy_root), written first when there is none yet (*created).
 * 0, or -1 with err ("token_file: ..." or "deploy root DIR: ...").
 */
int token_load(const struct config *c, int rootfd, char *out, size_t outlen,
    bool *created, struct snap_err *err);

#endif
