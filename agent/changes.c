/*
 * changes.c - inotify's file events as the artifacts a publish must read
 * again (see changes.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changes.h"
#include "names.h"

void
changes_note(struct changes *ch, const char *source, const char *dir,
    const char *name)
{
	size_t len = strlen(source);
	char folder[64];
	int type;

	if (name[0] == '.')
		return;		/* hidden: never an artifact (editors' temps) */
	while (len > 1 && source[len - 1] == '/')
		len--;
	if (ch->unknown || dir == NULL ||
	    strncmp(dir, source, len) != 0 || dir[len] != '/' ||
	    sscanf(dir + len + 1, "%63[^/]/", folder) != 1 ||
	    strlen(dir + len + 1) != strlen(folder) + 1 ||
	    (type = name_type_of_dir(folder)) < 0)
		goto unknown;	/* top level (labels.conf), or not ours */
	if (ch->n == ch->cap) {
		size_t ncap = ch->cap ? ch->cap * 2 : 64;
		void *n = ncap > CHANGES_MAX ? NULL :
		    realloc(ch->v, ncap * sizeof(*ch->v));

		if (n == NULL)
			goto unknown;
		ch->v = n;
		ch->cap = ncap;
	}
	/* Not *.xml: WSO2 does not read it, nor do we (an editor's temp
	 * file, a README). A *.xml whose name we cannot carry: the rescan
	 * names it among the tree's problems. */
	if (!name_is_xml_file(name))
		return;
	if (name_from_file(name, ch->v[ch->n].name, NULL) == 0) {
		ch->v[ch->n++].type = type;
		return;
	}
unknown:
	ch->unknown = true;
}

void
changes_clear(struct changes *ch)
{
	ch->n = 0;
	ch->unknown = false;
}

void
changes_free(struct changes *ch)
{
	free(ch->v);
	ch->v = NULL;
	ch->n = ch->cap = 0;
}
