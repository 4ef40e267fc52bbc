/*
 * pushconf.h - how rsync reaches the push targets: the [primary] keys
 *	push_rsh            rsync -e CMD, for [USER@]HOST:PATH targets
 *	push_ssh_key        -e "ssh -i KEY -o BatchMode=yes" (not with
 *	                    push_rsh); refused when it cannot be read
 *	push_password_file  --password-file, for rsync:// targets; refused
 *	                    unless a regular file of mode 0600 or tighter
 *	push_rsync_options  more long options (--NAME or --NAME=VALUE),
 *	                    blank-separated; those that would break what a
 *	                    target's readers rely on are refused
 * and the third kind of target, an absolute path (a second mounted
 * share), pushed to by rsync locally with --fsync.
 *
 * Why options are refused: a target must only ever hold whole files put
 * in place by rename (rsync's temp file in the same directory), in the
 * order push.h gives, and only our names may be deleted there.
 * --inplace, --append* and --write-devices write in place; --temp-dir
 * and --partial-dir put the temp elsewhere (a copy, not a rename);
 * --delay-updates changes the order; --remove-source-files, --delete*
 * and the filter options change what is sent or deleted;
 * --update, --existing, --ignore-existing and --size-only can skip
 * state.json; --dry-run, --list-only and --only-write-batch send nothing
 * while rsync says success; --rsh and --password-file have their keys.
 *
 * Calling sequence: config.c's set_primary() hands each key to
 * push_config_set() (1: not a key of ours); config_check() calls
 * push_config_check() (the files, once: at -n, start and reload);
 * push_new() fills a struct push_opts with push_opts_init(), and each
 * rsync child's argv gets push_opts_argv() for its target.
 */
#ifndef PUSHCONF_H
#define PUSHCONF_H

#include <limits.h>
#include <stdbool.h>

#include "config.h"
#include "snap_err.h"

#define PUSH_OPTS_MAX 16		/* push_rsync_options' options */
#define PUSH_OPTS_ARGV 20		/* argv slots push_opts_argv() uses */

struct push_opts {
	char rsh[PATH_MAX + 64];	/* -e's value; "" none */
	char password_file[PATH_MAX];	/* absolute; "" none */
	char buf[1024];			/* push_rsync_options, split here */
	char *extra[PUSH_OPTS_MAX];
	int nextra;
};

/* One push_* key over c: 0, 1 (not one of these keys), or -1 with err. */
int push_config_set(struct config *c, const char *key, const char *value,
    struct snap_err *err);

/* push_ssh_key readable, push_password_file private, not both push_rsh
 * and push_ssh_key. 0, or -1 with err naming the key, the file and the
 * fix. */
int push_config_check(const struct config *c, struct snap_err *err);

/* Whether a target is a local path (absolute). */
bool push_target_is_local(const char *target);

/* What c's push_* keys give every child (nothing to free). The files are
 * made absolute here: rsync runs in the sync root's snapshots/. */
void push_opts_init(struct push_opts *o, const struct config *c);

/* Appends to argv at *i the options for target: -e for HOST:PATH,
 * --password-file for rsync://, --fsync for a local path, then the
 * extra options. At most PUSH_OPTS_ARGV slots; o must outlive argv. */
void push_opts_argv(const struct push_opts *o, const char *target,
    char **argv, int *i);

#endif
