/*
 * redis_lease.c - the primaries' lease and epoch in the store (see
 * redis_lease.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "redis_lease.h"

/*
 * KEYS: lease, epoch. ARGV: node, ttl ms, the epoch node believes it
 * holds ("0": none). {epoch, holder}: held by node at epoch (renewed, or
 * new); {0, holder}: another node's.
 */
static const char take_script[] =
"local l = redis.call('GET', KEYS[1])\n"
"if l then\n"
"  if l == ARGV[3] .. ' ' .. ARGV[1] then\n"
"    redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
"    return {tonumber(ARGV[3]), l}\n"
"  end\n"
"  return {0, l}\n"
"end\n"
"local e = redis.call('INCR', KEYS[2])\n"
"l = e .. ' ' .. ARGV[1]\n"
"redis.call('SET', KEYS[1], l, 'PX', ARGV[2])\n"
"return {e, l}\n";

/* KEYS: lease. ARGV: "<epoch> <node>". */
static const char release_script[] =
"if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
"  return redis.call('DEL', KEYS[1])\n"
"end\n"
"return 0\n";

int
redis_lease_take(struct redis *r, const char *node, unsigned ttl_ms,
    uint64_t *epoch, char *holder, size_t holderlen, struct snap_err *err)
{
	char lease[REDIS_KEY_MAX], ekey[REDIS_KEY_MAX], ttl[16], mine[24];
	const char *argv[8] = { "EVAL", take_script, "2", lease, ekey, node,
	    ttl, mine };
	redisReply *rep;
	int rc = -1;

	redis_key(r, "lease", lease, sizeof(lease));
	redis_key(r, "epoch", ekey, sizeof(ekey));
	snprintf(ttl, sizeof(ttl), "%u", ttl_ms);
	snprintf(mine, sizeof(mine), "%" PRIu64, *epoch);
	if ((rep = redis_cmd(r, 8, argv, NULL, err)) == NULL)
		return -1;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER ||
	    rep->element[0]->integer < 0 ||
	    rep->element[1]->type != REDIS_REPLY_STRING) {
		snap_err_set(err, "redis: the lease script answered something "
		    "else");
		goto out;
	}
	*epoch = (uint64_t)rep->element[0]->integer;
	snprintf(holder, holderlen, "%.*s", (int)(rep->element[1]->len > 200 ?
	    200 : rep->element[1]->len), rep->element[1]->str);
	snap_err_sanitize(holder);
	rc = 0;
out:
	freeReplyObject(rep);
	return rc;
}

void
redis_lease_release(struct redis *r, const char *node, uint64_t epoch)
{
	char lease[REDIS_KEY_MAX], mine[200];
	const char *argv[5] = { "EVAL", release_script, "1", lease, mine };
	struct snap_err err = SNAP_ERR_INIT;
	redisReply *rep;

	if (epoch == 0)
		return;
	redis_key(r, "lease", lease, sizeof(lease));
	snprintf(mine, sizeof(mine), "%" PRIu64 " %s", epoch, node);
	if ((rep = redis_cmd(r, 5, argv, NULL, &err)) != NULL)
		freeReplyObject(rep);
}
