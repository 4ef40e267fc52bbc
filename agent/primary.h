/*
 * primary.h - the primary daemon: watch the source tree, publish after each
 * quiet period.
 */
#ifndef PRIMARY_H
#define PRIMARY_H

#include "cmdline.h"
#include "config.h"
#include "snap.h"

/* Runs until SIGTERM/SIGINT, with cl->c as its live config (SIGHUP
 * reloads it, reload.h). Returns the process exit code. */
int primary_run(struct cmdline *cl);

/* The options every publish from c runs with: the daemon's and the
 * one-shot commands' (publish, check, rollback). No validator, report or
 * deferred pruning: those are the caller's to add. */
struct snap_publish_opts primary_publish_opts(const struct config *c);

#endif
