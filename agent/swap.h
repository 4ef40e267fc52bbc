/*
 * swap.h - the one atomic step a gateway ever sees: DEPLOY_ROOT/current.
 *
 * `current` is a relative symlink to releases/<NAME>. It is replaced by
 * creating current.tmp and rename(2)ing it over current, then fsyncing the
 * directory: rename is atomic, so a reader that resolves current gets the old
 * release or the new one, never neither and never a mix.
 */
#ifndef SWAP_H
#define SWAP_H

#include <stddef.h>

#include "snap_err.h"

/* Points rootfd/current at target (e.g. "releases/v42-r7"). 0 or -1. */
int swap_current(int rootfd, const char *target, struct snap_err *err);

/* The release name current points at ("v42-r7") into out. 0; 1 when there
 * is no current (first start); -1 when current is not one of ours. */
int swap_read_current(int rootfd, char *out, size_t outlen,
    struct snap_err *err);

#endif
