/*
 * xmlcheck.h - safe parsing and schema validation of one artifact's XML.
 *
 * Every artifact is hostile until checked. The parser never touches the
 * network or the file system (no external entities, no DTD loading), refuses
 * any document that carries a DOCTYPE at all (Synapse artifacts never do, and
 * that is where entity bombs and XXE live), and keeps libxml2's default size
 * and depth limits. A document that parses is then validated against the XSD
 * of its type (schemas/<folder>.xsd, embedded in the binary at build time).
 *
 * Calling sequence:
 *	struct xmlcheck *xc = xmlcheck_new(&err);	once per process
 *	xmlcheck_validate(xc, "api", buf, len, &err);	any number of times
 *	xmlcheck_free(xc);
 * Each schema is compiled once, on first use, and kept until xmlcheck_free().
 * Not thread-safe: one xmlcheck per thread, each made with xmlcheck_new()
 * before the threads that use it start (it sets up libxml2 for them).
 */
#ifndef XMLCHECK_H
#define XMLCHECK_H

#include <stddef.h>

#include "snap_err.h"

struct xmlcheck;

/* A validator, or NULL with err filled (out of memory, libxml2 init). */
struct xmlcheck *xmlcheck_new(struct snap_err *err);
void xmlcheck_free(struct xmlcheck *xc);	/* NULL is a no-op */

/*
 * Validates buf[0..len) as an artifact of type `folder` ("api",
 * "proxy-services", ...). Returns 0 when it is well-formed, safe and valid;
 * -1 otherwise with err holding the parser's or validator's first message,
 * with its line number ("line 12: element 'foo': ...").
 */
int xmlcheck_validate(struct xmlcheck *xc, const char *folder,
    const char *buf, size_t len, struct snap_err *err);

#endif
