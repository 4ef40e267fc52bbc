/*
 * xsd_embed.S - the artifact schemas (every .xsd under schemas/), built into
 * the binary.
 *
 * The daemon validates with exactly the schemas it was built and tested
 * with, and never depends on a schemas directory being installed next to it
 * at run time. For each file, xsd_<name>_start and xsd_<name>_end bracket its
 * bytes (end - start is the file's size); one NUL byte follows the end so
 * that the bytes are also a C string, which libxml2's string input needs.
 * xmlcheck.c lists these symbols; a schema added here must be added there.
 *
 * .incbin paths are relative to the repository root, where the Makefile
 * runs the assembler (make tracks the .xsd files as prerequisites).
 */

/* EMBED name, path: xsd_<name>_start .. xsd_<name>_end, then a NUL. */
	.macro	EMBED name, path
	.globl	xsd_\name\()_start
	.globl	xsd_\name\()_end
	.type	xsd_\name\()_start, @object
	.type	xsd_\name\()_end, @object
	.balign	16
xsd_\name\()_start:
	.incbin	"\path"
xsd_\name\()_end:
	.byte	0
	.size	xsd_\name\()_start, xsd_\name\()_end - xsd_\name\()_start
	.endm

	.section .rodata

	EMBED	api, "schemas/api.xsd"
	EMBED	sequences, "schemas/sequences.xsd"
	EMBED	endpoints, "schemas/endpoints.xsd"
	EMBED	local_entries, "schemas/local-entries.xsd"
	EMBED	proxy_services, "schemas/proxy-services.xsd"
	EMBED	templates, "schemas/templates.xsd"
	EMBED	inbound_endpoints, "schemas/inbound-endpoints.xsd"
	EMBED	inbound_endpoints_no_namespace, "schemas/inbound-endpoints.no-namespace.xsd"
	EMBED	message_stores, "schemas/message-stores.xsd"
	EMBED	message_processors, "schemas/message-processors.xsd"
	EMBED	tasks, "schemas/tasks.xsd"

/* No executable stack: this object must not make the whole binary need one. */
	.section .note.GNU-stack, "", @progbits
