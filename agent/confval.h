/*
 * confval.h - the value parsers every settings file shares (config.c,
 * haconf.c, redis_url.c): a key's value checked and stored, or -1 with an
 * error naming the key, the value and what is allowed.
 */
#ifndef CONFVAL_H
#define CONFVAL_H

#include "snap_err.h"

/* A whole number from min to max (no sign, no blank, no overflow). */
int conf_uint(unsigned *dst, const char *key, const char *value,
    unsigned min, unsigned max, struct snap_err *err);

#endif
