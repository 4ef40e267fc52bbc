/*
 * secondary.h - the secondary daemon: find new versions in the sync root,
 * verify them, swap DEPLOY_ROOT/current.
 */
#ifndef SECONDARY_H
#define SECONDARY_H

#include "config.h"

/* Runs until SIGTERM/SIGINT. Returns the process exit code. */
int secondary_run(const struct config *c);

#endif
