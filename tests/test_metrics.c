/*
 * test_metrics.c - unit tests of agent/metrics.c: refusal messages sorted
 * into reasons, and the Prometheus text.
 *
 * The messages are the library's own, as a secondary logs them (copied
 * from real runs of the integration tests). Then the same sentences with
 * hostile text where a snapshot's writer controls it - a quoted tar path,
 * a quoted name, libxml2 quoting the document - which must not change the
 * reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

struct sample {
	const char *msg;
	const char *reason;
};

static const struct sample real[] = {
	{ "version 5 refused: snapshots/5.tar.zst: archive checksum mismatch "
	  "(xxh128 0123456789abcdef0123456789abcdef, state.json records "
	  "00000000000000000000000000000000)", "checksum" },
	{ "snapshots/5.manifest.json: checksum mismatch (xxh128 "
	  "0123456789abcdef0123456789abcdef, state records "
	  "ffffffffffffffffffffffffffffffff)", "checksum" },
	{ "version 5 refused: snapshots/5.tar.zst: sequences/main.xml: "
	  "checksum mismatch (xxh128 a, manifest says b)", "checksum" },
	{ "version 5 refused: snapshots/5.tar.zst: archive changed while it "
	  "was read (100 bytes, xxh128 a; state.json records 100, b)",
	  "checksum" },
	{ "state.json differs from its copy snapshots/5.state.json (damaged, "
	  "or not written by a publisher)", "checksum" },
	{ "version 5 refused: snapshots/5.tar.zst: archive is 100 bytes, "
	  "state.json records 200 (truncated or still being written?)",
	  "truncated" },
	{ "version 5 refused: snapshots/5.tar.zst: archive is 300 bytes, "
	  "longer than the 200 state.json records (replaced by another "
	  "file?)", "truncated" },
	{ "snapshots/5.manifest.json: 100 bytes, state records 3000 "
	  "(truncated or still being written?)", "truncated" },
	{ "version 5 refused: snapshots/5.tar.zst: api/x.xml: more data than "
	  "the 5 bytes the manifest declares", "truncated" },
	{ "state.json: malformed JSON at line 1: end of file expected near "
	  "'garbage'", "malformed" },
	{ "state.json: 'version' is not a non-negative integer", "malformed" },
	{ "state.json: format 2 is not supported (this build reads 1)",
	  "malformed" },
	{ "state.json: archive file is 'snapshots/4.tar.zst', expected "
	  "'snapshots/5.tar.zst'", "malformed" },
	{ "snapshots/5.manifest.json does not match its state record "
	  "(version, parent or artifact count)", "malformed" },
	{ "snapshots/5.manifest.json: manifest: api/x: listed twice",
	  "malformed" },
	{ "version 5 refused: snapshots/5.tar.zst: archive: read header: "
	  "Damaged tar archive", "malformed" },
	{ "version 2 refused: snapshots/2.tar.zst: entry "
	  "'../../../canary/pwned.xml' is not in an artifact folder",
	  "hostile_entry" },
	{ "version 6 refused: snapshots/6.tar.zst: entry '/etc/passwd' is not "
	  "TYPE/NAME.xml", "hostile_entry" },
	{ "version 20 refused: snapshots/20.tar.zst: entry 'api/x.xml' is not "
	  "a regular file (type 020000)", "hostile_entry" },
	{ "version 36 refused: snapshots/36.tar.zst: entry 'api/x.xml' "
	  "declares 1099511627776 bytes, the manifest 68", "hostile_entry" },
	{ "version 32 refused: snapshots/32.tar.zst: api/ghost is in the "
	  "manifest but not in the archive", "hostile_entry" },
	{ "snapshots/5.tar.zst: No such file or directory", "missing_file" },
	{ "snapshots/5.state.json: No such file or directory",
	  "missing_file" },
	{ "sync root holds version 1, older than applied 3: not going back",
	  "older_version" },
	{ "version 40 refused: snapshots/40.tar.zst: sequences/zero0000.xml: "
	  "invalid artifact: line 1: document is empty", "invalid_artifact" },
	{ "version 9 refused: snapshots/9.tar.zst: api/Evil.xml: invalid "
	  "artifact: line 2: DOCTYPE is not allowed in an artifact",
	  "invalid_artifact" },
	{ "snapshots/34.manifest.json: manifest: api/x: size 1099511627776 is "
	  "over the 33554432-byte limit", "too_large" },
	{ "snapshots/38.manifest.json: manifest: artifacts add up to "
	  "4295581334 bytes, over the 1073741824-byte limit", "too_large" },
	{ "snapshots/5.manifest.json: 300000000 bytes is over the limit",
	  "too_large" },
	{ "version 2 refused: snapshots/2.tar.zst: sequences/big0006.xml: "
	  "write: No space left on device", "no_space" },
	{ "version 2 refused: upstream: 2.json: write: No space left on "
	  "device", "no_space" },
	{ "version 2 refused: v2-r2.json: write: Disk quota exceeded",
	  "no_space" },
	{ "state.json: archive file: 'xxh128' is not 32 lower-case hex "
	  "digits", "malformed" },
	{ "state.json: 'parent_version' is not a non-negative integer",
	  "malformed" },
	{ "state.json: 'files' must list the manifest, then the archive",
	  "malformed" },
	{ "state.json: id 'a b' has a character other than letters, digits, "
	  "'.', '_', '-'", "malformed" },
	{ "state.json: id must be 1 to 127 bytes", "malformed" },
	{ "state.json: not a regular file", "malformed" },
	{ "snapshots/5.manifest.json: manifest: 'labels' holds a bad label",
	  "malformed" },
	{ "snapshots/5.manifest.json: manifest: api/x: 'labels' is too long",
	  "malformed" },
	{ "snapshots/5.manifest.json: manifest: event api/a: 'type' does not "
	  "match 'id'", "malformed" },
	{ "snapshots/5.manifest.json: manifest: empty artifact name",
	  "malformed" },
	{ "snapshots/5.manifest.json: manifest: 'artifact_count' is 2 but 1 "
	  "artifacts are listed", "malformed" },
	{ "snapshots/5.state.json records version 4", "malformed" },
	{ "version 5 refused: snapshots/5.tar.zst: archive: x.xml: Truncated "
	  "tar archive", "malformed" },
	{ "version 5 refused: snapshots/5.tar.zst: archive: read header: "
	  "Damaged tar archive", "malformed" },
	{ "snapshots/5.manifest.json: larger than the 268435456-byte limit",
	  "too_large" },
	{ "version 2 refused: snapshots/2.tar.zst: archive: read: "
	  "Input/output error", "other" },
	{ "version 2 refused: snapshots/2.tar.zst: archive: seek: "
	  "Input/output error", "other" },
	{ "version 2 refused: snapshots/2.tar.zst: archive: out of memory",
	  "other" },
	{ "version 2 refused: .staging: Permission denied", "other" },
	{ "", "other" },
};

/* Sentences whose quoted or borrowed parts say something else. */
static const struct sample hostile[] = {
	{ "version 2 refused: snapshots/2.tar.zst: entry 'api/checksum "
	  "mismatch (truncated.xml' is a symlink", "hostile_entry" },
	{ "version 2 refused: snapshots/2.tar.zst: entry 'No space left on "
	  "device' is not TYPE/NAME.xml", "hostile_entry" },
	{ "version 2 refused: snapshots/2.tar.zst: api/x.xml: invalid "
	  "artifact: line 1: element 'checksum mismatch': no matching global "
	  "declaration", "invalid_artifact" },
	{ "version 2 refused: snapshots/2.tar.zst: api/x.xml: invalid "
	  "artifact: line 1: No space left on device in an attribute",
	  "invalid_artifact" },
	{ "snapshots/5.manifest.json: manifest: 'No such file': artifact "
	  "name has a character other than letters, digits, '.', '_', '-' "
	  "(byte 0x20 at offset 2)", "malformed" },
	{ "state.json: manifest file is 'older than applied 9', expected "
	  "'snapshots/5.manifest.json'", "malformed" },
	{ "state.json: malformed JSON at line 1: invalid token near 'No space "
	  "left'", "malformed" },
	/* Artifact names can carry words, never blanks or parentheses. */
	{ "version 2 refused: snapshots/2.tar.zst: api/truncated.xml: write: "
	  "No space left on device", "no_space" },
	{ "version 2 refused: snapshots/2.tar.zst: api/checksum.xml: "
	  "checksum mismatch (xxh128 a, manifest says b)", "checksum" },
	{ "state.json: manifest file is 'No space left (truncated', "
	  "expected 'snapshots/5.manifest.json'", "malformed" },
	{ "state.json: id 'older than applied' has a character other than "
	  "letters", "malformed" },
};

static void
check(const struct sample *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *got = metrics_reason_name(metrics_reason(s[i].msg));

		if (strcmp(got, s[i].reason) != 0)
			fail_msg("\"%s\": %s, expected %s", s[i].msg, got,
			    s[i].reason);
	}
}

static void
test_real_messages(void **state)
{
	(void)state;
	check(real, sizeof(real) / sizeof(real[0]));
}

static void
test_hostile_text_cannot_pick_the_reason(void **state)
{
	(void)state;
	check(hostile, sizeof(hostile) / sizeof(hostile[0]));
}

/* A message longer than the matcher's buffer is cut, not overrun. */
static void
test_long_message(void **state)
{
	char *msg = malloc(5000);

	(void)state;
	assert_non_null(msg);
	memset(msg, 'x', 4999);
	msg[4999] = '\0';
	memcpy(msg, "entry '", 7);
	assert_string_equal(metrics_reason_name(metrics_reason(msg)),
	    "hostile_entry");
	memcpy(msg + 4900, "No space left", 13);
	assert_string_equal(metrics_reason_name(metrics_reason(msg)),
	    "hostile_entry");
	free(msg);
}

/* Every reason has exactly one sample line, zero or not. */
static void
test_render_rejects(void **state)
{
	struct metrics m;
	struct metrics_sample s;
	char *buf = NULL, line[128];
	size_t len = 0, r;
	FILE *f;

	(void)state;
	memset(&m, 0, sizeof(m));
	memset(&s, 0, sizeof(s));
	m.rejects[REJECT_NO_SPACE] = 3;
	m.rejects[REJECT_INVALID] = 1;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	metrics_render(&m, &s, f);
	assert_int_equal(fclose(f), 0);
	for (r = 0; r < REJECT_COUNT; r++) {
		snprintf(line, sizeof(line), "\nartsync_rejects_total{reason=\""
		    "%s\"} %llu\n", metrics_reason_name((enum reject_reason)r),
		    (unsigned long long)m.rejects[r]);
		if (strstr(buf, line) == NULL)
			fail_msg("no line %s in:\n%s", line + 1, buf);
	}
	assert_non_null(strstr(buf, "reason=\"no_space\"} 3\n"));
	assert_non_null(strstr(buf, "reason=\"invalid_artifact\"} 1\n"));
	assert_non_null(strstr(buf, "reason=\"too_large\"} 0\n"));
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_messages),
		cmocka_unit_test(test_hostile_text_cannot_pick_the_reason),
		cmocka_unit_test(test_long_message),
		cmocka_unit_test(test_render_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
