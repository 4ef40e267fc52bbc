/*
 * xmlcheck.h - safe parsing of one artifact's XML, the checks a gateway
 * needs before it can deploy it, and the artifact's Synapse identity.
 *
 * Every artifact is hostile until checked. The parser never touches the
 * network or the file system (no external entities, no DTD loading), refuses
 * any document that carries a DOCTYPE at all (Synapse artifacts never do, and
 * that is where entity bombs and XXE live), and keeps libxml2's default size
 * and depth limits. A document that is well-formed must then have the root
 * its type needs (names.h: name_rules): the element, its namespace, and
 * the attributes Synapse looks the artifact up by, not blank. Everything
 * inside the root stays open, as WSO2's releases differ there.
 * schemas/<type>.xsd say the same for xmllint users; a test holds the two
 * together.
 *
 * Reasons are plain words for an operator ("root element <sequence> has no
 * namespace; sequences/ needs <sequence> in http://ws.apache.org/ns/synapse"),
 * never a validator's jargon, with the line they were found at apart.
 *
 * Calling sequence:
 *	struct xmlcheck *xc = xmlcheck_new(&err);	once per thread
 *	xmlcheck_artifact(xc, type, name, buf, len, &res, &err);  any number
 *	xmlcheck_free(xc);
 * Not thread-safe: one xmlcheck per thread, each made with xmlcheck_new()
 * before the threads that use it start (it sets up libxml2 for them).
 */
#ifndef XMLCHECK_H
#define XMLCHECK_H

#include <stddef.h>

#include "snap_err.h"

/* Longest identity kept ("{package}name", "name:vVERSION"). */
#define XML_IDENTITY_MAX 512

struct xmlcheck_result {
	unsigned long line;	/* where the problem is; 0: not known */
	/* What Synapse knows the artifact by (names.h: enum name_identity):
	 * "" for a type without one, or an anonymous endpoint. */
	char identity[XML_IDENTITY_MAX + 1];
};

struct xmlcheck;

/* A checker, or NULL with err filled (out of memory). */
struct xmlcheck *xmlcheck_new(struct snap_err *err);
void xmlcheck_free(struct xmlcheck *xc);	/* NULL is a no-op */

/*
 * Checks buf[0..len) as artifact TYPE/NAME (type: an artifact_types[]
 * index). 0 with res->identity filled when it is well-formed, safe and has
 * the root its type needs; -1 otherwise with err holding the reason and
 * res->line its line. res may be NULL.
 */
int xmlcheck_artifact(struct xmlcheck *xc, int type, const char *name,
    const char *buf, size_t len, struct xmlcheck_result *res,
    struct snap_err *err);

/* xmlcheck_artifact() with the line in the message ("line 12: ..."), for
 * callers that report one artifact. */
int xmlcheck_validate(struct xmlcheck *xc, int type, const char *name,
    const char *buf, size_t len, struct xmlcheck_result *res,
    struct snap_err *err);

#endif
