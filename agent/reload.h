/*
 * reload.h - SIGHUP: the configuration read again, and what can change in
 * a running daemon changed.
 *
 * The file is the one chosen at start (--config, $ARTSYNC_CONFIG or
 * SYSCONFDIR/artsync.conf), laid under the same environment and the same
 * flags (cmdline_reread()), so that a flag given at start still wins.
 * Each key falls in one of two kinds:
 *	now      a value read where it is used (log_level, labels, the
 *	         hook's command, max_lag_ms, the keys, the retry and keep
 *	         knobs, poll_ms ...): copied into the live config, one line
 *	         "KEY: OLD -> NEW" each ("KEY: changed" for a secret);
 *	restart  anything a daemon built its structure from (sync_root,
 *	         deploy_root, source, listen, push targets, ha, redis, ids,
 *	         ...): one line "KEY changed in FILE; needs a restart, still
 *	         using OLD", the old value kept.
 * A file that fails to parse or check changes nothing: one error line
 * naming the file (and line), and the daemon goes on as it was.
 *
 * Calling sequence (a daemon's loop, on SIGHUP, before what SIGHUP did
 * before reloads existed):
 *	unsigned what;
 *	if (reload_config(cl, &what) == 0) {
 *		what & RELOAD_TOKEN: read the REST token again (token.h), ...
 *	}
 * cl is the daemon's cmdline (cmdline.h), cl->c the live config that the
 * daemon's modules point at; only this thread reads it.
 */
#ifndef RELOAD_H
#define RELOAD_H

#include "cmdline.h"

/* What the caller has to redo after a reload: the live config says how. */
enum {
	RELOAD_LABELS = 1 << 0,		/* secondary: rebuild for new labels */
	RELOAD_TRUST = 1 << 1,		/* secondary: public_key,
					 * require_fresh or min_version */
	RELOAD_WEBHOOK = 1 << 2,	/* secondary: webhook_* (hook.h) */
};

/*
 * Reads the configuration again and applies what may change now to
 * cl->c (log_init() included), logging each change. Returns 0 with *what
 * (RELOAD_* bits), or -1 when the file cannot be used (logged; cl->c
 * untouched).
 */
int reload_config(struct cmdline *cl, unsigned *what);

#endif
