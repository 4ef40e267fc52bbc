/*
 * labels.h - gateway labels (as WSO2's gateway_labels): which gateways
 * deploy which artifacts.
 *
 * Assigned in the source tree by an optional labels.conf at its root, one
 * rule per line, "RULE = LABEL,LABEL": RULE is TYPE/NAME (one artifact),
 * TYPE followed by "/" and "*" (every artifact of a type), or "*" alone
 * (every artifact); see README "Gateway labels". An artifact carries the union of the labels of every rule that matches
 * it, and "default" when none does. A secondary deploys an artifact when
 * they share at least one label.
 */
#ifndef LABELS_H
#define LABELS_H

#include <stdbool.h>
#include <stddef.h>

#include "snap_err.h"

#define LABELS_FILE "labels.conf"
#define LABELS_MAX 1024		/* bytes of one artifact's label list */

struct label_rules;

/* Reads LABELS_FILE below srcfd. *out is NULL (no rules) when there is no
 * such file. -1 with err naming the line of a bad rule. */
int labels_load(int srcfd, struct label_rules **out, struct snap_err *err);
void labels_free(struct label_rules *r);	/* NULL is a no-op */

/* The labels of type/name, comma-separated and sorted, into out. */
void labels_for(const struct label_rules *r, int type, const char *name,
    char out[LABELS_MAX]);

/* Copies a label list written by a person ("a, b") without the blanks
 * around its items ("a,b"). -1 with err if it does not fit outlen. */
int labels_normalize(const char *in, char *out, size_t outlen,
    struct snap_err *err);

/* Whether two comma-separated label lists share a label. */
bool labels_intersect(const char *a, const char *b);

#endif
