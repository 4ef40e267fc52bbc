/*
 * xmlcheck.c - safe parsing and the root checks of artifacts (see
 * xmlcheck.h).
 *
 * The document streams through libxml2's SAX2 parser and no tree is ever
 * built: our only element handler looks at the root (its name, namespace
 * and the attributes its type needs) and ignores the rest, which the
 * parser still checks for well-formedness to the last byte.
 *
 * The parser runs with libxml2's default limits (no XML_PARSE_HUGE), no
 * network, and never substitutes entities. A DOCTYPE is refused from the SAX
 * callback that announces it, before its internal subset is read: XXE and
 * entity bombs live there, and Synapse artifacts never carry one. The
 * process-wide external entity loader is replaced by one that refuses
 * everything, so even a path we did not think of cannot make libxml2 open
 * a file or a URL. Every message libxml2 produces during a call is caught
 * by our handlers: the first error becomes the caller's reason, reworded
 * where libxml2's own words would not tell an operator what to fix, and
 * nothing is ever printed.
 */
#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

#include "names.h"
#include "xmlcheck.h"

#define DOCTYPE_REFUSED	"DOCTYPE is not allowed in an artifact (Synapse " \
	"artifacts never carry one, and entity attacks live there)"

struct xmlcheck {
	int unused;	/* no state yet: a handle so that callers need not
			 * change when a checker grows some */
};

/* What the handlers saw during one xmlcheck_artifact() call. */
struct xc_call {
	xmlParserCtxtPtr parser;
	int type;
	const char *name;
	struct name_rules rules;
	bool seen_root;
	bool failed;		/* msg holds the first error */
	unsigned long line;
	char msg[sizeof(((struct snap_err *)0)->msg)];
	char identity[XML_IDENTITY_MAX + 1];
};

/* Refuses every external entity, DTD and schema libxml2 might want. */
static xmlParserInputPtr
load_nothing(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	(void)url;
	(void)id;
	(void)ctxt;
	return NULL;
}

/*
 * Copies a libxml2 message in our style: one line, no final period, and the
 * capitalised first word of libxml2's own sentences in lower case. Only the
 * start and the text after "': " is touched: anything else may be a name
 * from the document, which must be shown as written.
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
		word = c == ':' && n > 0 && dst[n - 1] == '\'';
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

/* The first problem wins; later ones are usually its echoes. */
static void
fail_at(struct xc_call *call, unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
fail_at(struct xc_call *call, unsigned long line, const char *fmt, ...)
{
	va_list ap;

	if (call->failed)
		return;
	call->failed = true;
	call->line = line;
	va_start(ap, fmt);
	vsnprintf(call->msg, sizeof(call->msg), fmt, ap);
	va_end(ap);
}

/*
 * libxml2's words for the mistakes people make most in hand-edited
 * artifacts, said so that they know what to change. Anything else keeps
 * libxml2's own message, which is clear enough once lower-cased.
 */
static bool
plain_words(const xmlError *e, char *out, size_t size)
{
	switch (e->code) {
	case XML_ERR_DOCUMENT_EMPTY:
		snprintf(out, size, "no XML element in the file (is it empty?)");
		return true;
	case XML_ERR_DOCUMENT_END:
		snprintf(out, size, "extra content after the root element's end "
		    "tag (one artifact per file, one root element)");
		return true;
	case XML_ERR_RESERVED_XML_NAME:
		snprintf(out, size, "the <?xml ...?> declaration must come first "
		    "in the file, with nothing before it (not even a blank "
		    "line)");
		return true;
	case XML_ERR_UNDECLARED_ENTITY:
		snprintf(out, size, "unknown entity &%s; (XML knows only &lt; "
		    "&gt; &amp; &quot; &apos; and &#NNN;)",
		    e->str1 != NULL ? e->str1 : "?");
		return true;
	case XML_ERR_INVALID_CHAR:
	case XML_ERR_INVALID_ENCODING:
		snprintf(out, size, "bytes that are not valid in the file's "
		    "encoding (UTF-8 unless <?xml ... encoding=\"...\"?> says "
		    "otherwise)");
		return true;
	case XML_ERR_TAG_NOT_FINISHED:
		snprintf(out, size, "the file ends before the end tag of <%s> "
		    "(opened at line %d): truncated?",
		    e->str1 != NULL ? e->str1 : "?", e->int1);
		return true;
	case XML_ERR_TAG_NAME_MISMATCH:
		snprintf(out, size, "end tag </%s> does not match start tag <%s> "
		    "of line %d", e->str2 != NULL ? e->str2 : "?",
		    e->str1 != NULL ? e->str1 : "?", e->int1);
		return true;
	default:
		return false;
	}
}

/* Records the first error; warnings are not reasons to refuse. */
static void
on_error(void *arg, xmlErrorPtr e)
{
	struct xc_call *call = arg;
	char text[sizeof(call->msg)];

	if (e == NULL || e->level < XML_ERR_ERROR || call->failed)
		return;
	if (!plain_words(e, text, sizeof(text)))
		copy_message(text, sizeof(text), e->message != NULL ?
		    e->message : "unknown libxml2 error");
	fail_at(call, e->line > 0 ? (unsigned long)e->line : 0, "%s", text);
}

/* For the few libxml2 paths that still print without a structured error. */
static void
on_generic_error(void *arg, const char *fmt, ...)
{
	(void)arg;
	(void)fmt;
}

static unsigned long
current_line(const struct xc_call *call)
{
	const xmlParserCtxt *p = call->parser;

	return p->input != NULL && p->input->line > 0 ?
	    (unsigned long)p->input->line : 0;
}

/* Stops the parser with this reason, which wins over any earlier one. */
static void
stop(struct xc_call *call, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
stop(struct xc_call *call, const char *fmt, ...)
{
	va_list ap;

	call->failed = true;
	call->line = current_line(call);
	va_start(ap, fmt);
	vsnprintf(call->msg, sizeof(call->msg), fmt, ap);
	va_end(ap);
	xmlStopParser(call->parser);
}

static void
on_subset(void *ctx, const xmlChar *name, const xmlChar *public_id,
    const xmlChar *system_id)
{
	xmlParserCtxtPtr p = ctx;

	(void)name;
	(void)public_id;
	(void)system_id;
	stop(p->_private, "%s", DOCTYPE_REFUSED);
}

/* Unreachable once on_subset has stopped the parser; kept as a second lock. */
static void
on_entity_decl(void *ctx, const xmlChar *name, int type,
    const xmlChar *public_id, const xmlChar *system_id, xmlChar *content)
{
	xmlParserCtxtPtr p = ctx;

	(void)name;
	(void)type;
	(void)public_id;
	(void)system_id;
	(void)content;
	stop(p->_private, "%s", DOCTYPE_REFUSED);
}

/* Where the type's files live, for messages: "sequences/", "the top". */
static void
where(const struct xc_call *call, char *out, size_t size)
{
	if (call->type == TYPE_CONFIG)
		snprintf(out, size, "%s.xml", call->name);
	else
		snprintf(out, size, "%s/", artifact_types[call->type].dir);
}

static void
check_root_name(struct xc_call *call, const char *local, const char *uri)
{
	const struct name_rules *r = &call->rules;
	char loc[NAME_PATH_MAX];

	where(call, loc, sizeof(loc));
	if (r->root != NULL && strcmp(local, r->root) != 0) {
		stop(call, "root element <%s> is not <%s>: %s holds one <%s> "
		    "(%s) per file", local, r->root, loc, r->root, r->what);
		return;
	}
	if (r->ns == NS_ANY || (uri != NULL && strcmp(uri, SYNAPSE_NS) == 0) ||
	    (uri == NULL && r->ns == NS_SYNAPSE_OR_NONE))
		return;
	if (uri == NULL)
		stop(call, "root element <%s> has no namespace; %s needs <%s> in "
		    SYNAPSE_NS " (add xmlns=\"" SYNAPSE_NS "\")", local, loc,
		    local);
	else
		stop(call, "root element <%s> is in namespace %s; %s needs <%s> "
		    "in " SYNAPSE_NS, local, uri, loc, local);
}

/* The value of the root's unqualified attribute `name`, or NULL. */
static const char *
attr_value(const xmlChar **attrs, int n, const char *name, size_t *len)
{
	int i;

	for (i = 0; i < n; i++) {
		const xmlChar **a = attrs + 5 * i;

		if (a[2] == NULL && strcmp((const char *)a[0], name) == 0) {
			*len = (size_t)(a[4] - a[3]);
			return (const char *)a[3];
		}
	}
	return NULL;
}

static bool
is_blank(const char *v, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (v[i] != ' ' && v[i] != '\t' && v[i] != '\n' && v[i] != '\r')
			return false;
	return true;
}

static void
check_required(struct xc_call *call, const char *local,
    const xmlChar **attrs, int n)
{
	const char *const *req = call->rules.required;
	const char *v;
	size_t i, len;

	for (i = 0; i < TYPE_ATTRS_MAX && req[i] != NULL && !call->failed; i++) {
		if ((v = attr_value(attrs, n, req[i], &len)) == NULL)
			stop(call, "<%s> has no '%s' attribute: every %s needs one",
			    local, req[i], call->rules.what);
		else if (is_blank(v, len))
			stop(call, "<%s> has a blank '%s' attribute", local,
			    req[i]);
	}
}

/*
 * Appends the attribute value v[0..len) to the identity; false when it
 * does not fit. Without entity substitution (never asked for: see
 * parser_new) libxml2 hands an '&' over as "&#38;", every other reference
 * already replaced: that one is undone here.
 */
static bool
identity_add(struct xc_call *call, const char *v, size_t len)
{
	size_t have = strlen(call->identity), i;

	for (i = 0; i < len; i++) {
		if (have == XML_IDENTITY_MAX)
			return false;
		call->identity[have++] = v[i];
		if (v[i] == '&' && len - i >= 5 && memcmp(v + i, "&#38;", 5) == 0)
			i += 4;
	}
	call->identity[have] = '\0';
	return true;
}

/* What Synapse calls the artifact (names.h: enum name_identity). */
static void
take_identity(struct xc_call *call, const xmlChar **attrs, int n)
{
	const char *name, *extra = NULL;
	size_t nlen = 0, elen = 0;
	bool ok = true;

	call->identity[0] = '\0';
	if (call->rules.id == ID_NONE)
		return;
	name = attr_value(attrs, n, call->rules.id == ID_KEY ? "key" : "name",
	    &nlen);
	if (name == NULL)
		return;		/* an anonymous endpoint */
	if (call->rules.id == ID_IMPORT &&
	    (extra = attr_value(attrs, n, "package", &elen)) != NULL)
		ok = identity_add(call, "{", 1) &&
		    identity_add(call, extra, elen) && identity_add(call, "}", 1);
	ok = ok && identity_add(call, name, nlen);
	if (ok && call->rules.id == ID_API &&
	    (extra = attr_value(attrs, n, "version", &elen)) != NULL &&
	    !is_blank(extra, elen))
		ok = identity_add(call, ":v", 2) &&
		    identity_add(call, extra, elen);
	if (!ok)
		stop(call, "the artifact's name is longer than %d bytes",
		    XML_IDENTITY_MAX);
}

static void
on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
    const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
    int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
	xmlParserCtxtPtr p = ctx;
	struct xc_call *call = p->_private;

	(void)prefix;
	(void)nb_namespaces;
	(void)namespaces;
	(void)nb_defaulted;
	if (call->seen_root)
		return;
	call->seen_root = true;
	check_root_name(call, (const char *)localname, (const char *)uri);
	if (!call->failed)
		check_required(call, (const char *)localname, attributes,
		    nb_attributes);
	if (!call->failed)
		take_identity(call, attributes, nb_attributes);
}

struct xmlcheck *
xmlcheck_new(struct snap_err *err)
{
	struct xmlcheck *xc;

	xmlInitParser();
	/* Process-wide and idempotent: see load_nothing(). */
	xmlSetExternalEntityLoader(load_nothing);
	if ((xc = calloc(1, sizeof(*xc))) == NULL)
		snap_err_set(err, "xml checker: out of memory");
	return xc;
}

void
xmlcheck_free(struct xmlcheck *xc)
{
	free(xc);
}

/* A parser for buf whose SAX layer builds nothing: it refuses a DOCTYPE
 * and looks at the root. */
static xmlParserCtxtPtr
parser_new(const char *buf, int len, struct xc_call *call)
{
	xmlParserCtxtPtr ctxt = xmlCreateMemoryParserCtxt(buf, len);

	if (ctxt == NULL)
		return NULL;
	memset(ctxt->sax, 0, sizeof(*ctxt->sax));
	ctxt->sax->initialized = XML_SAX2_MAGIC;
	ctxt->sax->internalSubset = on_subset;
	ctxt->sax->externalSubset = on_subset;
	ctxt->sax->entityDecl = on_entity_decl;
	ctxt->sax->startElementNs = on_start;
	ctxt->_private = call;
	/*
	 * No NOENT, DTDLOAD, DTDATTR, DTDVALID or HUGE: each would either
	 * change what the document means or lift a limit that protects us.
	 * BIG_LINES only keeps line numbers past 65535 right in messages.
	 */
	xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR |
	    XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES);
	return ctxt;
}

/* Parses buf in one pass; 0 when nothing was wrong. */
static int
parse(struct xc_call *call, const char *buf, size_t len)
{
	xmlStructuredErrorFunc old_serror = xmlStructuredError;
	void *old_sctx = xmlStructuredErrorContext;
	xmlGenericErrorFunc old_gerror = xmlGenericError;
	void *old_gctx = xmlGenericErrorContext;
	int rc = -1;

	/* libxml2's global handlers are per thread: route everything to this
	 * call for its duration and give the caller's back on the way out. */
	xmlSetStructuredErrorFunc(call, on_error);
	xmlSetGenericErrorFunc(NULL, on_generic_error);
	if ((call->parser = parser_new(buf, (int)len, call)) == NULL) {
		fail_at(call, 0, "out of memory");
		goto out;
	}
	xmlParseDocument(call->parser);
	if (!call->failed && call->parser->wellFormed && call->seen_root)
		rc = 0;
	else if (!call->failed)
		fail_at(call, 0, "not a well-formed XML document");
out:
	xmlFreeParserCtxt(call->parser);
	call->parser = NULL;
	xmlSetStructuredErrorFunc(old_sctx, old_serror);
	xmlSetGenericErrorFunc(old_gctx, old_gerror);
	return rc;
}

int
xmlcheck_artifact(struct xmlcheck *xc, int type, const char *name,
    const char *buf, size_t len, struct xmlcheck_result *res,
    struct snap_err *err)
{
	struct xc_call call = { .type = type, .name = name };
	struct xmlcheck_result ignored;

	assert(xc != NULL && name != NULL);
	assert(type >= 0 && (size_t)type < artifact_type_count);
	assert(buf != NULL || len == 0);
	if (res == NULL)
		res = &ignored;
	res->line = 0;
	res->identity[0] = '\0';
	if (len == 0)
		return snap_err_set(err, "empty file (an artifact is one XML "
		    "element)");
	if (len > INT_MAX)
		return snap_err_set(err, "larger than %d bytes", INT_MAX);
	name_rules(type, name, &call.rules);
	if (parse(&call, buf, len) == -1) {
		res->line = call.line;
		return snap_err_set(err, "%s", call.msg);
	}
	memcpy(res->identity, call.identity, sizeof(res->identity));
	return 0;
}

int
xmlcheck_validate(struct xmlcheck *xc, int type, const char *name,
    const char *buf, size_t len, struct xmlcheck_result *res,
    struct snap_err *err)
{
	struct xmlcheck_result mine;

	if (res == NULL)
		res = &mine;
	if (xmlcheck_artifact(xc, type, name, buf, len, res, err) == 0)
		return 0;
	if (res->line > 0)
		snap_err_prefix(err, "line %lu", res->line);
	return -1;
}
