/*
 * xmlcheck.c - safe parsing and schema validation of artifacts (see
 * xmlcheck.h).
 *
 * The document is validated as it streams through the parser: the schema
 * validator is plugged into our own SAX layer (xmlSchemaSAXPlug), and no
 * tree is ever built. That is half the cost of parsing into a DOM and then
 * walking it, and a secondary validates every artifact it applies.
 *
 * The parser runs with libxml2's default limits (no XML_PARSE_HUGE), no
 * network, and never substitutes entities. A DOCTYPE is refused from the SAX
 * callback that announces it, before its internal subset is read: XXE and
 * entity bombs live there, and Synapse artifacts never carry one. The
 * process-wide external entity loader is replaced by one that only serves
 * our own embedded schemas, so even a path we did not think of cannot make
 * libxml2 open a file or a URL. Every message libxml2 produces during a call
 * is caught by our handlers: the first error becomes the caller's message and
 * nothing is ever printed.
 */
#include <assert.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlschemastypes.h>

#include "names.h"
#include "xmlcheck.h"

/* Defined in xsd_embed.S: each blob is followed by a NUL at *_end. */
extern const char xsd_api_start[], xsd_api_end[];
extern const char xsd_sequences_start[], xsd_sequences_end[];
extern const char xsd_endpoints_start[], xsd_endpoints_end[];
extern const char xsd_local_entries_start[], xsd_local_entries_end[];
extern const char xsd_proxy_services_start[], xsd_proxy_services_end[];
extern const char xsd_templates_start[], xsd_templates_end[];
extern const char xsd_inbound_endpoints_start[], xsd_inbound_endpoints_end[];
extern const char xsd_inbound_endpoints_no_namespace_start[],
    xsd_inbound_endpoints_no_namespace_end[];
extern const char xsd_message_stores_start[], xsd_message_stores_end[];
extern const char xsd_message_processors_start[], xsd_message_processors_end[];
extern const char xsd_tasks_start[], xsd_tasks_end[];

struct embedded_xsd {
	const char *file;	/* name under schemas/, as xs:import names it */
	const char *start;	/* NUL-terminated at end */
	const char *end;
};

/* The schema of type F is "F.xsd"; the others are only reached by import. */
static const struct embedded_xsd embedded_xsds[] = {
	{ "api.xsd", xsd_api_start, xsd_api_end },
	{ "sequences.xsd", xsd_sequences_start, xsd_sequences_end },
	{ "endpoints.xsd", xsd_endpoints_start, xsd_endpoints_end },
	{ "local-entries.xsd", xsd_local_entries_start, xsd_local_entries_end },
	{ "proxy-services.xsd", xsd_proxy_services_start,
	    xsd_proxy_services_end },
	{ "templates.xsd", xsd_templates_start, xsd_templates_end },
	{ "inbound-endpoints.xsd", xsd_inbound_endpoints_start,
	    xsd_inbound_endpoints_end },
	{ "inbound-endpoints.no-namespace.xsd",
	    xsd_inbound_endpoints_no_namespace_start,
	    xsd_inbound_endpoints_no_namespace_end },
	{ "message-stores.xsd", xsd_message_stores_start,
	    xsd_message_stores_end },
	{ "message-processors.xsd", xsd_message_processors_start,
	    xsd_message_processors_end },
	{ "tasks.xsd", xsd_tasks_start, xsd_tasks_end },
};

#define DOCTYPE_REFUSED	"DOCTYPE is not allowed in an artifact"

struct xmlcheck {
	xmlSchemaPtr *schemas;	/* per artifact_types[] entry; NULL until used */
};

/* What the handlers saw during one xmlcheck_validate() call. */
struct xc_call {
	xmlParserCtxtPtr parser;
	bool failed;		/* msg holds the first error */
	char msg[sizeof(((struct snap_err *)0)->msg)];
};

/*
 * The call in progress on this thread. Once the validator is plugged in,
 * our DOCTYPE hooks are handed the plug as their context, not the parser,
 * so they find the parser here.
 */
static __thread struct xc_call *active_call;

static const struct embedded_xsd *
embedded_find(const char *file)
{
	size_t i;

	for (i = 0; i < sizeof(embedded_xsds) / sizeof(embedded_xsds[0]); i++)
		if (strcmp(embedded_xsds[i].file, file) == 0)
			return &embedded_xsds[i];
	return NULL;
}

/*
 * The process-wide entity loader: refuses everything but the bare file name
 * of an embedded schema, which is how an xs:import of one of our schemas
 * arrives. Serving those compiled-in bytes to anyone is harmless, and an
 * artifact cannot ask for them anyway (no DOCTYPE, no XInclude, and a
 * validator given a schema ignores xsi:schemaLocation).
 */
static xmlParserInputPtr
load_embedded_only(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	const struct embedded_xsd *x;
	xmlParserInputPtr in;

	(void)id;
	if (url == NULL || (x = embedded_find(url)) == NULL)
		return NULL;
	if ((in = xmlNewStringInputStream(ctxt, (const xmlChar *)x->start)) ==
	    NULL)
		return NULL;
	in->filename = (const char *)xmlStrdup((const xmlChar *)url);
	return in;
}

/*
 * Copies a libxml2 message in our style: one line, no final period, and the
 * capitalised first word of libxml2's own sentences in lower case. Only the
 * start and the text after "': " or "'] " are touched: that is where
 * libxml2's words begin ("Element 'x': The attribute ...", "[facet 'x'] The
 * value ..."), and anything else may be a name from the document, which must
 * be shown as written.
 */
static void
copy_message(char *dst, size_t size, const char *src)
{
	size_t n = 0;
	bool space = false, word = true;

	for (; *src != '\0' && n + 2 < size; src++) {
		char c = *src;

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			space = n > 0;
			continue;
		}
		if (space)
			dst[n++] = ' ';
		space = false;
		if (word && c >= 'A' && c <= 'Z' && src[1] >= 'a' &&
		    src[1] <= 'z')
			c = (char)(c - 'A' + 'a');
		word = (c == ':' || c == ']') && n > 0 && dst[n - 1] == '\'';
		dst[n++] = c;
	}
	/* Cut short: never leave half of a UTF-8 character at the end. */
	if (*src != '\0') {
		while (n > 0 && ((unsigned char)dst[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0 && (unsigned char)dst[n - 1] >= 0xc0)
			n--;
	}
	while (n > 0 && dst[n - 1] == '.')
		n--;
	dst[n] = '\0';
}

/* Records the first error; warnings are not reasons to refuse. */
static void
on_error(void *arg, xmlErrorPtr e)
{
	struct xc_call *call = arg;
	char text[sizeof(call->msg) - 32];	/* room for "line N: " */

	if (e == NULL || e->level < XML_ERR_ERROR || call->failed)
		return;
	call->failed = true;
	copy_message(text, sizeof(text), e->message != NULL ? e->message :
	    "unknown libxml2 error");
	if (e->line > 0)
		snprintf(call->msg, sizeof(call->msg), "line %d: %s", e->line,
		    text);
	else
		snprintf(call->msg, sizeof(call->msg), "%s", text);
}

/* For the few libxml2 paths that still print without a structured error. */
static void
on_generic_error(void *arg, const char *fmt, ...)
{
	(void)arg;
	(void)fmt;
}

/* Stops the parser at the DOCTYPE; this reason wins over any earlier one. */
static void
refuse_doctype(void)
{
	struct xc_call *call = active_call;
	int line;

	assert(call != NULL && call->parser != NULL);
	line = call->parser->input != NULL ? call->parser->input->line : 0;
	xmlStopParser(call->parser);
	call->failed = true;
	snprintf(call->msg, sizeof(call->msg), "line %d: %s", line,
	    DOCTYPE_REFUSED);
}

static void
on_subset(void *ctx, const xmlChar *name, const xmlChar *public_id,
    const xmlChar *system_id)
{
	(void)ctx;
	(void)name;
	(void)public_id;
	(void)system_id;
	refuse_doctype();
}

/* Unreachable once on_subset has stopped the parser; kept as a second lock. */
static void
on_entity_decl(void *ctx, const xmlChar *name, int type,
    const xmlChar *public_id, const xmlChar *system_id, xmlChar *content)
{
	(void)ctx;
	(void)name;
	(void)type;
	(void)public_id;
	(void)system_id;
	(void)content;
	refuse_doctype();
}

struct xmlcheck *
xmlcheck_new(struct snap_err *err)
{
	struct xmlcheck *xc = NULL;

	xmlInitParser();
	/*
	 * libxml2 2.9 builds its table of built-in XSD types on first use,
	 * unlocked: two threads compiling their first schema at once would
	 * both build it. Done here, before any validation thread starts.
	 */
	xmlSchemaInitTypes();
	/* Process-wide and idempotent: see load_embedded_only(). */
	xmlSetExternalEntityLoader(load_embedded_only);

	if ((xc = calloc(1, sizeof(*xc))) == NULL)
		goto out;
	if ((xc->schemas = calloc(artifact_type_count,
	    sizeof(*xc->schemas))) == NULL)
		goto out;
	return xc;
out:
	xmlcheck_free(xc);
	snap_err_set(err, "xml validator: out of memory");
	return NULL;
}

void
xmlcheck_free(struct xmlcheck *xc)
{
	size_t i;

	if (xc == NULL)
		return;
	if (xc->schemas != NULL)
		for (i = 0; i < artifact_type_count; i++)
			xmlSchemaFree(xc->schemas[i]);
	free(xc->schemas);
	free(xc);
}

/* The compiled schema of artifact_types[type], compiling it on first use. */
static xmlSchemaPtr
schema_get(struct xmlcheck *xc, int type, struct xc_call *call)
{
	const char *folder = artifact_types[type].folder;
	const struct embedded_xsd *x;
	xmlSchemaParserCtxtPtr pctxt = NULL;
	xmlSchemaPtr schema = NULL;
	char file[NAME_MAX_BYTES + sizeof(".xsd")];

	if (xc->schemas[type] != NULL)
		return xc->schemas[type];

	snprintf(file, sizeof(file), "%s.xsd", folder);
	if ((x = embedded_find(file)) == NULL) {
		call->failed = true;
		snprintf(call->msg, sizeof(call->msg),
		    "no schema built in for type '%s'", folder);
		goto out;
	}
	pctxt = xmlSchemaNewMemParserCtxt(x->start, (int)(x->end - x->start));
	if (pctxt == NULL)
		goto out;
	xmlSchemaSetParserStructuredErrors(pctxt, on_error, call);
	schema = xmlSchemaParse(pctxt);
out:
	xmlSchemaFreeParserCtxt(pctxt);
	if (schema == NULL) {
		char why[sizeof(call->msg)];

		/* A broken built-in schema is a bug; say whose it is. */
		snprintf(why, sizeof(why), "%s", call->failed ? call->msg :
		    "out of memory");
		call->failed = true;
		snprintf(call->msg, sizeof(call->msg), "schemas/%s.xsd: %.900s",
		    folder, why);
		return NULL;
	}
	xc->schemas[type] = schema;
	return schema;
}

/* Where the parser is, for the validator's messages (it has no tree). */
static int
parser_position(void *arg, const char **file, unsigned long *line)
{
	xmlParserCtxtPtr ctxt = arg;

	*file = NULL;
	*line = ctxt->input != NULL && ctxt->input->line > 0 ?
	    (unsigned long)ctxt->input->line : 0;
	return 0;
}

/*
 * A parser for buf whose own SAX layer builds nothing and only refuses a
 * DOCTYPE; the validator's element callbacks are plugged on top of it.
 */
static xmlParserCtxtPtr
parser_new(const char *buf, int len)
{
	xmlParserCtxtPtr ctxt = xmlCreateMemoryParserCtxt(buf, len);

	if (ctxt == NULL)
		return NULL;
	memset(ctxt->sax, 0, sizeof(*ctxt->sax));
	ctxt->sax->initialized = XML_SAX2_MAGIC;
	ctxt->sax->internalSubset = on_subset;
	ctxt->sax->externalSubset = on_subset;
	ctxt->sax->entityDecl = on_entity_decl;
	/*
	 * No NOENT, DTDLOAD, DTDATTR, DTDVALID or HUGE: each would either
	 * change what the document means or lift a limit that protects us.
	 * BIG_LINES only keeps line numbers past 65535 right in messages.
	 */
	xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR |
	    XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES);
	return ctxt;
}

/* Parses and validates in one pass; call.failed or -1 when refused. */
static int
parse_validating(xmlSchemaPtr schema, xmlParserCtxtPtr ctxt,
    struct xc_call *call)
{
	xmlSchemaValidCtxtPtr vctxt;
	xmlSchemaSAXPlugPtr plug = NULL;
	int rc = -1;

	if ((vctxt = xmlSchemaNewValidCtxt(schema)) == NULL)
		return -1;
	xmlSchemaSetValidStructuredErrors(vctxt, on_error, call);
	xmlSchemaValidateSetLocator(vctxt, parser_position, ctxt);
	if ((plug = xmlSchemaSAXPlug(vctxt, &ctxt->sax,
	    &ctxt->userData)) == NULL)
		goto out;
	xmlParseDocument(ctxt);
	/* Unplugging ends the validation: it may still report an error. */
	xmlSchemaSAXUnplug(plug);
	if (!call->failed && ctxt->wellFormed && xmlSchemaIsValid(vctxt) == 1)
		rc = 0;
out:
	xmlSchemaFreeValidCtxt(vctxt);
	return rc;
}

int
xmlcheck_validate(struct xmlcheck *xc, const char *folder,
    const char *buf, size_t len, struct snap_err *err)
{
	struct xc_call call = { .failed = false };
	xmlSchemaPtr schema;
	xmlStructuredErrorFunc old_serror;
	xmlGenericErrorFunc old_gerror;
	void *old_sctx, *old_gctx;
	int type, rc = -1;

	assert(xc != NULL && folder != NULL);
	assert(buf != NULL || len == 0);
	if ((type = name_type_index(folder)) < 0)
		return snap_err_set(err, "unknown artifact type '%s'", folder);
	if (len == 0)
		return snap_err_set(err, "empty document");
	if (len > INT_MAX)
		return snap_err_set(err, "document larger than %d bytes",
		    INT_MAX);

	/*
	 * libxml2's global handlers are per thread: route everything to this
	 * call for its duration and give the caller's back on the way out.
	 */
	old_serror = xmlStructuredError;
	old_sctx = xmlStructuredErrorContext;
	old_gerror = xmlGenericError;
	old_gctx = xmlGenericErrorContext;
	xmlSetStructuredErrorFunc(&call, on_error);
	xmlSetGenericErrorFunc(NULL, on_generic_error);

	if ((schema = schema_get(xc, type, &call)) == NULL)
		goto out;

	if ((call.parser = parser_new(buf, (int)len)) == NULL)
		goto out;
	active_call = &call;
	rc = parse_validating(schema, call.parser, &call);
	active_call = NULL;
out:
	xmlFreeParserCtxt(call.parser);
	xmlSetStructuredErrorFunc(old_sctx, old_serror);
	xmlSetGenericErrorFunc(old_gctx, old_gerror);
	if (rc == -1)
		snap_err_set(err, "%s", call.failed ? call.msg :
		    "not a well-formed xml document");
	return rc;
}
