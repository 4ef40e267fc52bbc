/*
 * rest_guard.c - the header checks of the REST endpoint (see rest_guard.h).
 *
 * Host and Origin are parsed strictly and compared by meaning: a literal
 * address as an address (so "[0:0::1]" is "[::1]"), a name as a name in
 * any case. What a check cannot parse it refuses: a header a browser would
 * never send is not worth a second reading.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rest_guard.h"

/* An address reduced to what is compared: an IPv4-mapped IPv6 address (a
 * dual-stack socket's view of an IPv4 peer) is the IPv4 address. */
struct addr {
	int family;			/* AF_INET, AF_INET6, or 0 */
	unsigned char b[16];
};

static struct addr
addr_of(const struct sockaddr *sa)
{
	struct addr a = { 0 };

	if (sa != NULL && sa->sa_family == AF_INET) {
		a.family = AF_INET;
		memcpy(a.b, &((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr, 4);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		const struct in6_addr *in6 =
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(in6)) {
			a.family = AF_INET;
			memcpy(a.b, in6->s6_addr + 12, 4);
		} else {
			a.family = AF_INET6;
			memcpy(a.b, in6->s6_addr, 16);
		}
	}
	return a;
}

static bool
addr_equal(const struct addr *x, const struct addr *y)
{
	return x->family != 0 && x->family == y->family &&
	    memcmp(x->b, y->b, x->family == AF_INET ? 4 : 16) == 0;
}

static bool
addr_is_loopback(const struct addr *a)
{
	static const unsigned char v6[16] = { [15] = 1 };

	return (a->family == AF_INET && a->b[0] == 127) ||
	    (a->family == AF_INET6 && memcmp(a->b, v6, 16) == 0);
}

/* A literal address (host as in a URL, brackets removed) into *a. */
static bool
parse_literal(const char *host, bool bracketed, struct addr *a)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };

	if (bracketed) {
		if (inet_pton(AF_INET6, host, &s6.sin6_addr) != 1)
			return false;
		*a = addr_of((struct sockaddr *)&s6);
		return true;
	}
	if (inet_pton(AF_INET, host, &s4.sin_addr) != 1)
		return false;
	*a = addr_of((struct sockaddr *)&s4);
	return true;
}

/*
 * Splits "HOST[:PORT]" or "[V6][:PORT]" (an authority without user
 * information) into host (hlen bytes, brackets removed) and *port (-1: no
 * port given). false when it is not one.
 */
static bool
split_authority(const char *s, size_t slen, char *host, size_t hlen,
    bool *bracketed, long *port)
{
	const char *end = s + slen, *h = s, *he, *p;
	const char *allowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"
	    "XYZ0123456789.-_";

	*bracketed = slen > 0 && s[0] == '[';
	if (*bracketed) {
		h = s + 1;
		if ((he = memchr(h, ']', (size_t)(end - h))) == NULL)
			return false;
		p = he + 1;
		allowed = "0123456789abcdefABCDEF:.";
	} else {
		he = memchr(s, ':', slen);
		if (he == NULL)
			he = end;
		p = he;
	}
	if (he == h || (size_t)(he - h) >= hlen ||
	    strspn(h, allowed) < (size_t)(he - h))
		return false;
	memcpy(host, h, (size_t)(he - h));
	host[he - h] = '\0';
	*port = -1;
	if (p == end)
		return true;
	if (*p != ':' || end - p - 1 > 5)
		return false;
	for (*port = 0, p++; p < end; p++) {
		if (!isdigit((unsigned char)*p))
			return false;
		*port = *port * 10 + (*p - '0');
	}
	return *port <= 65535;
}

static bool
host_matches(const char *host, bool bracketed, const struct guard_names *n,
    const struct sockaddr *local)
{
	struct addr a, l = addr_of(local),
	    listen = addr_of((const struct sockaddr *)&n->listen_addr);

	if (parse_literal(host, bracketed, &a))
		return addr_is_loopback(&a) || addr_equal(&a, &listen) ||
		    addr_equal(&a, &l);
	if (bracketed)
		return false;
	return strcasecmp(host, "localhost") == 0 ||
	    (n->listen_name[0] != '\0' &&
	    strcasecmp(host, n->listen_name) == 0) ||
	    (n->host_name[0] != '\0' && strcasecmp(host, n->host_name) == 0);
}

bool
guard_host_ok(const char *host, const struct guard_names *n,
    const struct sockaddr *local)
{
	char h[GUARD_NAME_MAX];
	bool bracketed;
	long port;

	return host != NULL && split_authority(host, strlen(host), h,
	    sizeof(h), &bracketed, &port) && host_matches(h, bracketed, n,
	    local);
}

bool
guard_origin_ok(const char *origin, const struct guard_names *n,
    const struct sockaddr *local)
{
	char h[GUARD_NAME_MAX];
	bool bracketed;
	long port, dflt;
	size_t skip;

	if (origin == NULL)
		return false;
	if (strncasecmp(origin, "http://", 7) == 0) {
		skip = 7;
		dflt = 80;
	} else if (strncasecmp(origin, "https://", 8) == 0) {
		skip = 8;
		dflt = 443;
	} else
		return false;
	/* An origin is a scheme and an authority: no user, no path. */
	origin += skip;
	if (strpbrk(origin, "/?#@") != NULL ||
	    !split_authority(origin, strlen(origin), h, sizeof(h), &bracketed,
	    &port))
		return false;
	return (port == -1 ? dflt : port) == (long)n->port &&
	    host_matches(h, bracketed, n, local);
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

int
guard_names_init(struct guard_names *n, const char *listen,
    const char *host_name, unsigned port)
{
	struct addr a;
	char host[GUARD_NAME_MAX];
	const char *colon = strrchr(listen, ':');
	bool bracketed;
	long p;

	memset(n, 0, sizeof(*n));
	n->port = port;
	if (host_name != NULL && strlen(host_name) < sizeof(n->host_name))
		snprintf(n->host_name, sizeof(n->host_name), "%s", host_name);
	lower(n->host_name);
	if (colon == NULL)
		return -1;
	/* An unbracketed IPv6 listen ("::1:7846") is read at its last
	 * colon, as config_listen_addr() reads it. */
	if (listen[0] != '[' && memchr(listen, ':', (size_t)(colon - listen))) {
		if ((size_t)(colon - listen) >= sizeof(host))
			return -1;
		memcpy(host, listen, (size_t)(colon - listen));
		host[colon - listen] = '\0';
		bracketed = true;
	} else if (!split_authority(listen, strlen(listen), host,
	    sizeof(host), &bracketed, &p))
		return -1;
	if (parse_literal(host, bracketed, &a)) {
		/* A wildcard is where the socket listens, not a name for it:
		 * the address a connection came in on stands for it. */
		static const unsigned char zero[16];

		if (memcmp(a.b, zero, a.family == AF_INET ? 4 : 16) == 0)
			return 0;
		if (a.family == AF_INET) {
			struct sockaddr_in *s4 = (void *)&n->listen_addr;

			s4->sin_family = AF_INET;
			memcpy(&s4->sin_addr, a.b, 4);
		} else {
			struct sockaddr_in6 *s6 = (void *)&n->listen_addr;

			s6->sin6_family = AF_INET6;
			memcpy(&s6->sin6_addr, a.b, 16);
		}
	} else if (!bracketed) {
		snprintf(n->listen_name, sizeof(n->listen_name), "%s", host);
		lower(n->listen_name);
	}
	return 0;
}

/* A header value as it may appear in a message: printable ASCII, at most
 * 64 bytes (the rest of the message is ours; the value is the client's). */
static const char *
shown(const char *v, char out[72])
{
	size_t i;

	for (i = 0; v[i] != '\0' && i < 64; i++)
		out[i] = v[i] >= 0x20 && v[i] < 0x7f && v[i] != '\'' ? v[i] :
		    '?';
	snprintf(out + i, 72 - i, "%s", v[i] != '\0' ? "..." : "");
	return out;
}

/* Fills msg and returns status: a refusal in one statement. */
static int
refuse(int status, char *msg, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
refuse(int status, char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return status;
}

int
guard_framing(const struct guard_framing *f, uint64_t *length, char *msg,
    size_t len)
{
	char buf[72];
	size_t digits;

	*length = 0;
	if (f->n_host > 1)
		return refuse(400, msg, len, "more than one Host header");
	if (f->n_encoding > 0 && f->n_length > 0)
		return refuse(400, msg, len, "Content-Length and "
		    "Transfer-Encoding together (how a smuggled request "
		    "hides): send Content-Length only");
	if (f->n_length > 1 || f->n_encoding > 1)
		return refuse(400, msg, len, "more than one %s header",
		    f->n_length > 1 ? "Content-Length" : "Transfer-Encoding");
	if (f->n_encoding == 1)
		return refuse(411, msg, len, "Transfer-Encoding '%s' is not "
		    "accepted: send the body with Content-Length",
		    shown(f->encoding, buf));
	if (f->n_length == 0)
		return 0;
	digits = strspn(f->length, "0123456789");
	if (digits == 0 || digits > 19 || f->length[digits] != '\0')
		return refuse(400, msg, len, "Content-Length '%s' is not a "
		    "number", shown(f->length, buf));
	*length = strtoull(f->length, NULL, 10);
	return 0;
}

bool
guard_needs_token(const struct route *r, bool loopback_listener)
{
	/* The probes: asked without a token by load balancers, kubelets
	 * and health checkers; they say nothing an attacker can use. */
	if (r->id == ROUTE_HEALTHZ || r->id == ROUTE_LIVEZ ||
	    r->id == ROUTE_READYZ)
		return false;
	return r->mutating || !loopback_listener;
}

bool
guard_token_ok(const char *authorization, const char *token)
{
	const char *t;
	size_t i, n = strlen(token);
	unsigned char diff = 0;

	if (authorization == NULL || n == 0 ||
	    strncasecmp(authorization, "Bearer ", 7) != 0)
		return false;
	for (t = authorization + 7; *t == ' '; t++)
		continue;
	if (strlen(t) != n)
		return false;
	/* Constant time: no timing hint of how much of a guess was right. */
	for (i = 0; i < n; i++)
		diff |= (unsigned char)(t[i] ^ token[i]);
	return diff == 0;
}
