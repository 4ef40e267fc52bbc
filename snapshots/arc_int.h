/*
 * arc_int.h - what arc_write.c and arc_read.c share; not an API (arc.h is).
 *
 * libarchive converts entry names between the locale's charset and UTF-8
 * (a pax header holds UTF-8); under the "C" locale a daemon runs with, a
 * name such as "café.xml" cannot be converted, and 3.6's pax writer then
 * crashes. Artifact names are UTF-8 (names.h), so every call into
 * libarchive runs under C.UTF-8 - on the calling thread only (uselocale),
 * never touching the process's locale.
 *
 * arc_utf8_enter() switches the calling thread to C.UTF-8 and returns what
 * to give arc_utf8_leave(), which switches it back (arc_utf8.c).
 */
#ifndef ARC_INT_H
#define ARC_INT_H

#include <locale.h>

locale_t arc_utf8_enter(void);
void arc_utf8_leave(locale_t old);

#endif
