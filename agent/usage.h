/*
 * usage.h - what artsync --help prints: every command, and every flag
 * with its default, grouped by the role that takes it.
 */
#ifndef USAGE_H
#define USAGE_H

extern const char usage_text[];

#endif
