/*
 * primary.h - the primary daemon: watch the source tree, publish after each
 * quiet period.
 */
#ifndef PRIMARY_H
#define PRIMARY_H

#include "config.h"

/* Runs until SIGTERM/SIGINT. Returns the process exit code. */
int primary_run(const struct config *c);

#endif
