/*
 * test_redis.c - unit tests of agent/redis.c: the redis:// URL, the keys
 * of a Redis sync root, the password file, the settings' resolution and
 * the Sentinel answer parser. (What goes over the wire is tested against
 * a real redis-server in integration/t86-redis.sh.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "redis.h"
#include "testutil.h"

static void
test_url_forms(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct redis_url u;

	(void)state;
	assert_int_equal(redis_url_parse("redis://127.0.0.1:6379", &u, &err), 0);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, 6379);
	assert_int_equal(u.db, 0);
	assert_string_equal(u.prefix, "artsync");
	assert_string_equal(u.password, "");
	assert_false(u.tls);

	assert_int_equal(redis_url_parse("redis://al:p%40ss:w@r.example:6380/3"
	    "?prefix=gw-eu.1", &u, &err), 0);
	assert_string_equal(u.user, "al");
	assert_string_equal(u.password, "p@ss:w");
	assert_string_equal(u.host, "r.example");
	assert_int_equal(u.port, 6380);
	assert_int_equal(u.db, 3);
	assert_string_equal(u.prefix, "gw-eu.1");

	assert_int_equal(redis_url_parse("redis://onlypass@[::1]:7000/", &u,
	    &err), 0);
	assert_string_equal(u.user, "");
	assert_string_equal(u.password, "onlypass");
	assert_string_equal(u.host, "::1");

	assert_int_equal(redis_url_parse("rediss://h:1", &u, &err), 0);
	assert_true(u.tls);
}

static void
test_url_refusals(void **state)
{
	static const char *const bad[] = {
		"http://h:1", "redis://", "redis://h", "redis://h:", "redis://h:0",
		"redis://h:65536", "redis://h:12a", "redis://:6379",
		"redis://h:1/16", "redis://h:1/x", "redis://h:1/1/2",
		"redis://h:1?db=2", "redis://h:1?prefix=", "redis://h:1?prefix=a*",
		"redis://h:1?prefix=a:b", "redis://h b:1", "redis://[::1:1",
		"redis://secret%zz@h:1", "redis://h:1x", "redis://h/i:1",
	};
	struct snap_err err = SNAP_ERR_INIT;
	struct redis_url u;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (redis_url_parse(bad[i], &u, &err) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(strstr(err.msg, "redis URL") ?
		    err.msg : strstr(err.msg, "redis://"));
	}
	/* The message never repeats a password. */
	assert_int_equal(redis_url_parse("redis://hunter2@h:99999", &u, &err),
	    -1);
	assert_null(strstr(err.msg, "hunter2"));
}

static void
test_resolve(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct config c;

	(void)state;
	config_defaults(&c, CONFIG_SECONDARY);
	snprintf(c.sync_root, sizeof(c.sync_root), "/mnt/share");
	assert_int_equal(redis_config_resolve(&c, &err), 0);
	assert_string_equal(c.sync_root, "/mnt/share");
	assert_string_equal(c.redis_url, "");

	snprintf(c.sync_root, sizeof(c.sync_root), "redis://h:1");
	snprintf(c.deploy_root, sizeof(c.deploy_root), "/srv/d");
	assert_int_equal(redis_config_resolve(&c, &err), 0);
	assert_string_equal(c.redis_url, "redis://h:1");
	assert_string_equal(c.sync_root, "/srv/d/.redis-cache");

	config_defaults(&c, CONFIG_PRIMARY);
	snprintf(c.sync_root, sizeof(c.sync_root), "redis://h:1");
	assert_int_equal(redis_config_resolve(&c, &err), 0);
	assert_string_equal(c.sync_root, "/var/lib/artsync/redis-stage/default");
	config_defaults(&c, CONFIG_PRIMARY);
	snprintf(c.sync_root, sizeof(c.sync_root), "redis://h:1");
	assert_int_equal(config_set(&c, "primary", "redis_stage", "/st", &err),
	    0);
	assert_int_equal(redis_config_resolve(&c, &err), 0);
	assert_string_equal(c.sync_root, "/st");

	config_defaults(&c, CONFIG_PRIMARY);
	snprintf(c.sync_root, sizeof(c.sync_root), "rediss://h:1");
	assert_int_equal(redis_config_resolve(&c, &err), -1);
	assert_non_null(strstr(err.msg, "stunnel"));

	config_defaults(&c, CONFIG_PRIMARY);
	snprintf(c.sync_root, sizeof(c.sync_root), "redis://h:1");
	assert_int_equal(config_set(&c, "primary", "redis_master", "m", &err),
	    0);
	assert_int_equal(redis_config_resolve(&c, &err), -1);
	assert_non_null(strstr(err.msg, "go together"));
}

static void
test_config_keys(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	struct config c;

	(void)state;
	config_defaults(&c, CONFIG_SECONDARY);
	assert_int_equal(config_set(&c, "secondary", "redis_cache", "/c",
	    &err), 0);
	assert_string_equal(c.redis_dir, "/c");
	/* The other role's key is checked and dropped. */
	assert_int_equal(config_set(&c, "primary", "redis_stage", "/s", &err),
	    0);
	assert_string_equal(c.redis_dir, "/c");
	assert_int_equal(config_set(&c, "secondary", "redis_stage", "/s",
	    &err), -1);
	assert_int_equal(config_set(&c, "secondary", "redis_sentinels",
	    "10.0.0.1:26379,[::1]:26380,s3:1", &err), 0);
	assert_int_equal(config_set(&c, "secondary", "redis_sentinels",
	    "10.0.0.1", &err), -1);
	assert_int_equal(config_set(&c, "secondary", "redis_sentinels",
	    "a:1,,b:2", &err), -1);
	assert_int_equal(config_set(&c, "secondary", "redis_master", "bad name",
	    &err), -1);
}

static void
test_password_file(void **state)
{
	struct snap_err err = SNAP_ERR_INIT;
	char p[TU_PATH], out[REDIS_SECRET_MAX];
	FILE *f;

	tu_path(p, "%s/pw", (const char *)*state);
	assert_non_null(f = fopen(p, "w"));
	fputs("s3cret \n", f);
	fclose(f);
	chmod(p, 0640);
	assert_int_equal(redis_read_password(p, out, sizeof(out), &err), -1);
	assert_non_null(strstr(err.msg, "chmod 600"));
	chmod(p, 0600);
	assert_int_equal(redis_read_password(p, out, sizeof(out), &err), 0);
	assert_string_equal(out, "s3cret");
	assert_non_null(f = fopen(p, "w"));
	fputs("\n", f);
	fclose(f);
	assert_int_equal(redis_read_password(p, out, sizeof(out), &err), -1);
}

/* The reply hiredis makes of RESP bytes. */
static redisReply *
reply_of(const char *resp)
{
	redisReader *r = redisReaderCreate();
	void *rep = NULL;

	assert_non_null(r);
	assert_int_equal(redisReaderFeed(r, resp, strlen(resp)), REDIS_OK);
	assert_int_equal(redisReaderGetReply(r, &rep), REDIS_OK);
	redisReaderFree(r);
	assert_non_null(rep);
	return rep;
}

static void
test_sentinel_addr(void **state)
{
	static const char *const bad[] = {
		"*-1\r\n", "-IDONTKNOW\r\n", "*1\r\n$1\r\na\r\n",
		"*2\r\n$1\r\na\r\n$1\r\n0\r\n", "*2\r\n$1\r\na\r\n$5\r\n65536\r\n",
		"*2\r\n$3\r\na b\r\n$1\r\n1\r\n", "*2\r\n$0\r\n\r\n$1\r\n1\r\n",
		"*2\r\n$1\r\na\r\n:6379\r\n", "*3\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\n1\r\n",
		"*2\r\n$3\r\na/b\r\n$1\r\n1\r\n",
	};
	redisReply *rep;
	char host[64];
	unsigned port;
	size_t i;

	(void)state;
	rep = reply_of("*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6380\r\n");
	assert_int_equal(redis_sentinel_addr(rep, host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 6380);
	freeReplyObject(rep);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rep = reply_of(bad[i]);
		if (redis_sentinel_addr(rep, host, sizeof(host), &port) != -1)
			fail_msg("accepted reply %zu", i);
		freeReplyObject(rep);
	}
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup_tmp, \
	tu_teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_forms),
		cmocka_unit_test(test_url_refusals),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_config_keys),
		TMP_TEST(test_password_file),
		cmocka_unit_test(test_sentinel_addr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
