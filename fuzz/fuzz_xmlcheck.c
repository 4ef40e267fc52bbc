/*
 * fuzz_xmlcheck.c - libFuzzer target for xmlcheck_validate(): every artifact
 * a primary publishes and every deploy-local body goes through it.
 *
 * Input: byte 0 picks the artifact type (modulo the number of types), the
 * rest is the document. One validator lives for the whole process, as in the
 * daemons, so the schema cache is exercised across documents too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "names.h"
#include "xmlcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct xmlcheck *xc;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_err err = SNAP_ERR_INIT;
	const char *folder;

	if (size == 0)
		return 0;
	if (xc == NULL && (xc = xmlcheck_new(&err)) == NULL) {
		fprintf(stderr, "xmlcheck_new: %s\n", err.msg);
		abort();
	}
	folder = artifact_types[data[0] % artifact_type_count].folder;
	if (xmlcheck_validate(xc, folder, (const char *)data + 1, size - 1,
	    &err) == -1 && err.msg[0] == '\0')
		abort();	/* every refusal says why */
	return 0;
}
