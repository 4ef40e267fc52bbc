/*
 * scan.h - list the artifacts of a source tree.
 *
 * The tree is the contract's layout: TYPE/NAME.xml, one folder per artifact
 * type, and optionally labels.conf at the top (labels.h). Hidden entries (a leading '.': .git, editor swap files, rsync's
 * temp files) are skipped. Anything else that does not fit - an unknown
 * folder, a file at the top, a bad name, a symlink, a device, a file larger
 * than ARTIFACT_MAX_BYTES - fails the scan with one error naming the
 * path, because publishing a tree that is not what the operator thinks it is
 * would be worse than publishing nothing.
 */
#ifndef SCAN_H
#define SCAN_H

#include <stdbool.h>

#include "manifest.h"
#include "snap_err.h"

/*
 * Fills `out` (empty, from manifest_new()) with one entry per artifact under
 * the directory srcfd: type, name and size; xxh128 is left empty. The result
 * is sorted. `label` names the tree in messages. 0 or -1 with err.
 */
int scan_tree(int srcfd, const char *label, struct manifest *out,
    struct snap_err *err);

/*
 * Checks the one artifact type/name below srcfd as scan_tree() would:
 * *exists is false when it is not there; otherwise it must be a regular
 * file within the size limit. 0 or -1 with err.
 */
int scan_one(int srcfd, const char *label, int type, const char *name,
    bool *exists, struct snap_err *err);

#endif
