/*
 * secondary.h - the secondary daemon: find new versions in the sync root,
 * verify them, swap DEPLOY_ROOT/current.
 */
#ifndef SECONDARY_H
#define SECONDARY_H

#include "cmdline.h"

/* Runs until SIGTERM/SIGINT, with cl->c as its live config (SIGHUP
 * reloads it, reload.h). Returns the process exit code. */
int secondary_run(struct cmdline *cl);

#endif
