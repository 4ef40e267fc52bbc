/*
 * fuzz_guard.c - libFuzzer target for the REST endpoint's header checks
 * (rest_guard.h): the Host, Origin, Content-Length, Transfer-Encoding and
 * Authorization values of every request, as any client sends them.
 *
 * Input: byte 0 picks the check (0 Host, 1 Origin, 2 framing, 3 token),
 * byte 1 the endpoint (a loopback, a wildcard, a named and an IPv6
 * listener; the connection's local address with it), the rest is the
 * header value, cut at its first NUL as a C string is. For framing, bytes
 * 2 to 4 are the counts of Content-Length, Transfer-Encoding and Host
 * headers (0 to 3) and the value is "LENGTH\nENCODING". Each string is an
 * exact-size heap copy, so ASan sees any read past its end.
 *
 * Beyond memory safety, checks what the endpoint relies on: an accepted
 * Host holds only the bytes of a name, an address and a port; case never
 * changes a verdict; an accepted Origin is http(s):// and an accepted Host;
 * a refusal's message is one printable line; a framing verdict is 0, 400
 * or 411, and 0 means one all-digit length or none; a token is accepted
 * exactly when the value is "Bearer", blanks and the token.
 */
#include <ctype.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "rest_guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const listens[] = {
	"127.0.0.1:7846", "0.0.0.0:7846", "GW1.example.com:7846", "[::1]:7846",
};
static const char *const locals[] = {
	"127.0.0.1", "10.1.2.3", "192.0.2.7", "::1",
};

static char *
dup_bytes(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	size_t len = 0;

	if (s == NULL)
		abort();
	while (len < n && p[len] != 0)
		len++;
	memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

static char *
upper(const char *s)
{
	char *u = strdup(s), *p;

	if (u == NULL)
		abort();
	for (p = u; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	return u;
}

static void
check_host(const char *v, const struct guard_names *n,
    const struct sockaddr *local)
{
	bool ok = guard_host_ok(v, n, local);
	char *u = upper(v);

	if (ok && strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
	    "WXYZ0123456789.-_:[]") != strlen(v))
		abort();
	if (guard_host_ok(u, n, local) != ok)
		abort();
	free(u);
}

static void
check_origin(const char *v, const struct guard_names *n,
    const struct sockaddr *local)
{
	const char *auth;

	if (!guard_origin_ok(v, n, local))
		return;
	if (strncasecmp(v, "http://", 7) == 0)
		auth = v + 7;
	else if (strncasecmp(v, "https://", 8) == 0)
		auth = v + 8;
	else
		abort();
	if (!guard_host_ok(auth, n, local))
		abort();
}

static void
check_framing(const uint8_t *data, size_t size, const char *v)
{
	struct guard_framing f = { 0 };
	char msg[256], *nl, *len = strdup(v);
	uint64_t length = 7;
	int status;

	if (len == NULL)
		abort();
	if ((nl = strchr(len, '\n')) != NULL)
		*nl = '\0';
	f.n_length = size > 2 ? data[2] % 4 : 0;
	f.n_encoding = size > 3 ? data[3] % 4 : 0;
	f.n_host = size > 4 ? data[4] % 4 : 1;
	f.length = f.n_length > 0 ? len : NULL;
	f.encoding = f.n_encoding > 0 ? (nl != NULL ? nl + 1 : "") : NULL;
	status = guard_framing(&f, &length, msg, sizeof(msg));
	if (status != 0 && status != 400 && status != 411)
		abort();
	if (status != 0)
		fuzz_check_msg(msg);
	else if (f.n_encoding != 0 || f.n_length > 1 || f.n_host > 1 ||
	    (f.n_length == 1 && (len[0] == '\0' ||
	    strspn(len, "0123456789") != strlen(len))) ||
	    (f.n_length == 0 && length != 0))
		abort();
	free(len);
}

static void
check_token(const char *v)
{
	static const char token[] = "s3cret-T0k";
	const char *t = v + (strlen(v) >= 7 ? 7 : strlen(v));
	bool want;

	while (*t == ' ')
		t++;
	want = strncasecmp(v, "Bearer ", 7) == 0 && strcmp(t, token) == 0;
	if (guard_token_ok(v, token) != want)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage ss = { 0 };
	struct guard_names n;
	const char *loc;
	unsigned mode, which;
	char *v;

	if (size < 2)
		return 0;
	mode = data[0] % 4;
	which = data[1] % 4;
	if (guard_names_init(&n, listens[which], "gw1", 7846) != 0)
		abort();
	loc = locals[which];
	if (strchr(loc, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, loc, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		inet_pton(AF_INET, loc, &s4->sin_addr);
	}
	v = dup_bytes(data + (mode == 2 ? 5 : 2), size > (mode == 2 ? 5u : 2u) ?
	    size - (mode == 2 ? 5 : 2) : 0);
	if (mode == 0)
		check_host(v, &n, (struct sockaddr *)&ss);
	else if (mode == 1)
		check_origin(v, &n, (struct sockaddr *)&ss);
	else if (mode == 2)
		check_framing(data, size, v);
	else
		check_token(v);
	free(v);
	return 0;
}
