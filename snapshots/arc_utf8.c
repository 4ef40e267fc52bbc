/*
 * arc_utf8.c - every call into libarchive runs under C.UTF-8 (arc_int.h
 * says why): the locale, made once, and the per-thread switch.
 *
 * Calling sequence: old = arc_utf8_enter(); libarchive calls;
 * arc_utf8_leave(old). Nothing fails: a system without the locale stays
 * as it is, and ASCII names still work.
 */
#include <locale.h>
#include <pthread.h>

#include "arc_int.h"

static locale_t utf8_loc;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void
utf8_init(void)
{
	if ((utf8_loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0)) ==
	    (locale_t)0)
		utf8_loc = newlocale(LC_CTYPE_MASK, "C.utf8", (locale_t)0);
}

locale_t
arc_utf8_enter(void)
{
	pthread_once(&utf8_once, utf8_init);
	return utf8_loc != (locale_t)0 ? uselocale(utf8_loc) : (locale_t)0;
}

void
arc_utf8_leave(locale_t old)
{
	if (old != (locale_t)0)
		uselocale(old);
}

