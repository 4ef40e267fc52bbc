/*
 * identity.h - artifacts as Synapse knows them: by identity (the root's
 * name, an API's name and version, a local entry's key; xmlcheck.h), not
 * by file name.
 *
 * Two files of one type with one identity deploy as one artifact in
 * WSO2 - which one wins depends on the order it lists the folder in - so a
 * tree holding them is refused, naming both. Operators address artifacts
 * by either name (REST, CLI): identity_lookup() finds the file.
 */
#ifndef IDENTITY_H
#define IDENTITY_H

#include "manifest.h"
#include "report.h"

/*
 * Adds a problem to rep for every artifact of m whose identity an artifact
 * of its type before it (by file name) already has ("LABEL/api/b.xml: API
 * 'Foo:v1.0.0' is also defined by api/a.xml"): one line per file too many.
 * Entries with no identity ("") never clash. Returns how many it added.
 */
size_t identity_check_all(const struct manifest *m, const char *label,
    struct report *rep);

/*
 * The same for the entries of delta d only, against m as d will change it
 * (m's entries that d removes or replaces do not count): a publish of a
 * few changed files costs a search per change, not a sort of the tree.
 */
size_t identity_check_delta(const struct manifest *m,
    const struct manifest *d, const char *label, struct report *rep);

/* The entry of m of `type` whose identity is id (never ""), or NULL;
 * *ambiguous when more than one has it. */
const struct manifest_entry *identity_find(const struct manifest *m,
    int type, const char *id, bool *ambiguous);

/*
 * The entry of m of `type` called `name`: by file name first, then by
 * identity. NULL when neither matches, or when the identity is ambiguous
 * (*ambiguous set).
 */
const struct manifest_entry *identity_lookup(const struct manifest *m,
    int type, const char *name, bool *ambiguous);

#endif
