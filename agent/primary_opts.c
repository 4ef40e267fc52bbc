/*
 * primary_opts.c - the options every publish runs with (primary.h): the
 * daemon's and the one-shot commands'.
 *
 * A file of its own, apart from primary.c, because the light front
 * (front.c, commands.c) calls it: linked from primary.c it would pull the
 * whole daemon - the REST endpoint, libcurl, libmicrohttpd - into a binary
 * that is there to start fast (docs/architecture.md).
 */
#include "primary.h"

struct snap_publish_opts
primary_publish_opts(const struct config *c)
{
	return (struct snap_publish_opts){ .cluster_id = c->cluster_id,
	    .node_id = c->node_id, .keep_versions = c->keep_versions,
	    .grace_s = c->keep_grace_ms / 1000, .max_chain = c->max_chain,
	    .key = c->have_key ? &c->key : NULL,
	    .validity_s = c->state_validity_s,
	    .threads = c->publish_threads };
}
