/*
 * pushfilter.h - what an rsync push sends, and what it may delete on a
 * target: the files a publisher writes, and nothing else either way.
 *
 * The rules are rsync filter rules, read by `rsync --delete
 * --exclude-from=-` run in snapshots/ (push.h), first match wins:
 *	- /NAME      each file named as ours that is no file of ours to send
 *	             (not a regular file, over the size a reader accepts, of
 *	             a version above the one pushed): not sent, and - being
 *	             excluded - not deleted on the target either;
 *	+ /PATTERN   every name snap_file_version() accepts, exactly (one to
 *	             nineteen digits, no leading zero, each of its suffixes):
 *	             sent, and deleted on the target when the primary no
 *	             longer has it (retention);
 *	- *          everything else: never sent, never deleted (no
 *	             --delete-excluded, on purpose).
 */
#ifndef PUSHFILTER_H
#define PUSHFILTER_H

#include <stdint.h>

#include "snap_err.h"

/* Writes the rules of a push of version `upto` from snapshots/ (snapfd,
 * read from its first entry, left open) into fd. The number of files
 * excluded by name, or -1 with err. */
int pushfilter_write(int snapfd, uint64_t upto, int fd, struct snap_err *err);

#endif
