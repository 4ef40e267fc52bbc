/*
 * fuzz_xmlcheck.c - libFuzzer target for xmlcheck_artifact(): every artifact
 * a primary publishes and every deploy-local body goes through it.
 *
 * Input: byte 0 picks the artifact type (modulo the number of types; for
 * config, its high bit picks synapse.xml or another file), the rest is the
 * document. One checker lives for the whole process, as in the daemons. A
 * refusal must be one clean line; an identity must be bounded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "names.h"
#include "xmlcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct xmlcheck *xc;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct xmlcheck_result res;
	int type;

	if (size == 0)
		return 0;
	if (xc == NULL && (xc = xmlcheck_new(&err)) == NULL) {
		fprintf(stderr, "xmlcheck_new: %s\n", err.msg);
		abort();
	}
	type = (int)((data[0] & 0x7f) % artifact_type_count);
	if (xmlcheck_validate(xc, type, data[0] & 0x80 ? "other" : "synapse",
	    (const char *)data + 1, size - 1, &res, &err) == -1)
		fuzz_check_msg(err.msg);
	else if (strlen(res.identity) > XML_IDENTITY_MAX)
		abort();
	return 0;
}
