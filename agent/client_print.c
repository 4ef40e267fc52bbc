/*
 * client_print.c - the CLI's output (see client_print.h): the server's
 * JSON as text for people, a refusal as one line on stderr. It never sees
 * curl, so all of it is tested without a server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client.h"
#include "client_print.h"

#define EXIT_USAGE 2

/* How much of a non-JSON error body is worth a line on stderr. */
#define ERROR_BODY_MAX 200

/* The server's text may reach a terminal: control bytes become '?'. */
static void
put_text(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static void
put_value(FILE *f, json_t *v)
{
	char *dump;
	size_t i;

	switch (v != NULL ? json_typeof(v) : JSON_NULL) {
	case JSON_STRING:
		put_text(f, json_string_value(v));
		break;
	case JSON_INTEGER:
		fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		fprintf(f, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		fputs("yes", f);
		break;
	case JSON_FALSE:
		fputs("no", f);
		break;
	case JSON_ARRAY:
		if (json_array_size(v) == 0)
			fputs("-", f);
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				fputc(',', f);
			put_value(f, json_array_get(v, i));
		}
		break;
	case JSON_OBJECT:
		if ((dump = json_dumps(v, JSON_COMPACT)) != NULL)
			put_text(f, dump);
		free(dump);
		break;
	case JSON_NULL:
		fputs("-", f);
		break;
	}
}

static const char *const status_keys[] = {
	"role", "node_id", "cluster_id", "applied_version",
	"latest_seen_version", "last_sync_at", "last_error", "labels",
	"release", "artifact_count", "overrides", "healthy",
};
#define NSTATUS_KEYS (sizeof(status_keys) / sizeof(status_keys[0]))

static bool
is_status_key(const char *key)
{
	size_t i;

	for (i = 0; i < NSTATUS_KEYS; i++)
		if (strcmp(status_keys[i], key) == 0)
			return true;
	return false;
}

static void
put_field(FILE *f, const char *key, json_t *v, int width)
{
	put_text(f, key);
	fprintf(f, ":%*s", width - (int)strlen(key), "");
	put_value(f, v);
	fputc('\n', f);
}

int
client_format_status(json_t *j, FILE *f)
{
	const char *key;
	json_t *v;
	size_t i;
	int width = 0;

	if (!json_is_object(j))
		return -1;
	for (i = 0; i < NSTATUS_KEYS; i++)
		if ((int)strlen(status_keys[i]) > width)
			width = (int)strlen(status_keys[i]);
	json_object_foreach(j, key, v)
		if (strlen(key) < 64 && (int)strlen(key) > width)
			width = (int)strlen(key);
	/* One space after the colon of the longest key. */
	width++;
	/* The known fields always, in a fixed order; a newer server's extra
	 * fields after them rather than not at all. */
	for (i = 0; i < NSTATUS_KEYS; i++)
		put_field(f, status_keys[i], json_object_get(j, status_keys[i]),
		    width);
	json_object_foreach(j, key, v)
		if (!is_status_key(key))
			put_field(f, key, v, width > (int)strlen(key) ? width :
			    (int)strlen(key) + 1);
	return 0;
}

#define LIST_COLS 5
static const char *const list_header[LIST_COLS] = {
	"TYPE", "NAME", "STATE", "VERSION", "XXH128",
};
#define UPSTREAM_NOTE " (upstream changed)"

/* One artifact's cells; `num` holds the version's digits. */
static void
list_row(json_t *a, const char *cells[LIST_COLS], char num[32], bool *changed)
{
	static const char *const keys[LIST_COLS] = {
		"type", "name", "state", NULL, "xxh128",
	};
	json_t *v = json_object_get(a, "version");
	size_t i;

	for (i = 0; i < LIST_COLS; i++) {
		cells[i] = keys[i] != NULL ?
		    json_string_value(json_object_get(a, keys[i])) : NULL;
		if (cells[i] == NULL)
			cells[i] = "-";
	}
	if (json_is_integer(v))
		snprintf(num, 32, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	else
		snprintf(num, 32, "-");
	cells[3] = num;
	*changed = json_is_true(json_object_get(a, "upstream_changed"));
}

static void
put_cell(FILE *f, const char *s, size_t len, size_t width, bool last)
{
	put_text(f, s);
	if (!last)
		fprintf(f, "%*s", (int)(width - len + 2), "");
}

int
client_format_list(json_t *j, FILE *f)
{
	json_t *arts = json_object_get(j, "artifacts"), *a;
	size_t width[LIST_COLS], len[LIST_COLS], i, c;
	const char *cells[LIST_COLS];
	char num[32];
	bool changed;

	if (!json_is_object(j) || !json_is_array(arts))
		return -1;
	for (c = 0; c < LIST_COLS; c++)
		width[c] = strlen(list_header[c]);
	json_array_foreach(arts, i, a) {
		if (!json_is_object(a))
			return -1;
		list_row(a, cells, num, &changed);
		for (c = 0; c < LIST_COLS; c++) {
			len[c] = strlen(cells[c]);
			if (c == 2 && changed)
				len[c] += strlen(UPSTREAM_NOTE);
			if (len[c] > width[c])
				width[c] = len[c];
		}
	}
	if (json_array_size(arts) > 0)
		for (c = 0; c < LIST_COLS; c++)
			put_cell(f, list_header[c], strlen(list_header[c]),
			    width[c], c == LIST_COLS - 1);
	if (json_array_size(arts) > 0)
		fputc('\n', f);
	json_array_foreach(arts, i, a) {
		list_row(a, cells, num, &changed);
		for (c = 0; c < LIST_COLS; c++) {
			len[c] = strlen(cells[c]);
			/* The note goes in the state's cell: print the
			 * state, then pad after the note. */
			if (c == 2 && changed) {
				put_text(f, cells[c]);
				cells[c] = UPSTREAM_NOTE;
				len[c] += strlen(UPSTREAM_NOTE);
			}
			put_cell(f, cells[c], len[c], width[c],
			    c == LIST_COLS - 1);
		}
		fputc('\n', f);
	}
	fprintf(f, "%zu artifacts\n", json_array_size(arts));
	return 0;
}

int
client_format_change(json_t *j, FILE *f)
{
	const char *type = json_string_value(json_object_get(j, "type"));
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *state = json_string_value(json_object_get(j, "state"));
	const char *release = json_string_value(json_object_get(j, "release"));

	if (type == NULL || name == NULL || state == NULL)
		return -1;
	put_text(f, type);
	fputc('/', f);
	put_text(f, name);
	fputs(": ", f);
	put_text(f, state);
	if (release != NULL) {
		fputs(" (release ", f);
		put_text(f, release);
		fputc(')', f);
	}
	fputc('\n', f);
	return 0;
}


void
client_report_error(const char *what, long status, char *body, size_t len,
    const char *hint)
{
	json_t *j = NULL;
	const char *msg = NULL;
	size_t n;

	if (len > 0)
		j = json_loadb(body, len, 0, NULL);
	if (j != NULL)
		msg = json_string_value(json_object_get(j, "error"));
	fputs("artsync: ", stderr);
	if (msg != NULL) {
		put_text(stderr, msg);
	} else if (len > 0) {
		/* Not our JSON (a proxy's page?): its first line, trimmed. */
		n = strcspn(body, "\r\n");
		if (n > ERROR_BODY_MAX)
			n = ERROR_BODY_MAX;
		while (n > 0 && (body[n - 1] == ' ' || body[n - 1] == '\t'))
			n--;
		body[n] = '\0';
		put_text(stderr, n > 0 ? body : "(no message)");
	} else {
		fprintf(stderr, "%s failed", what);
	}
	fprintf(stderr, " (HTTP %ld)", status);
	if (hint != NULL && hint[0] != '\0') {
		fputs("; ", stderr);
		put_text(stderr, hint);
	}
	fputc('\n', stderr);
	json_decref(j);
}

int
client_print_answer(enum client_answer kind, bool raw, const char *body,
    size_t len)
{
	json_error_t jerr;
	json_t *j = NULL;
	int rc = -1, frc;

	/* show's answer is the XML itself: byte for byte, so that
	 * "artsync show api X > X.xml" gives the deployed file. */
	if (kind == CLIENT_ANSWER_XML || raw) {
		fwrite(body, 1, len, stdout);
		if (kind != CLIENT_ANSWER_XML && (len == 0 ||
		    body[len - 1] != '\n'))
			fputc('\n', stdout);
		return 0;
	}
	if ((j = json_loadb(body, len, 0, &jerr)) == NULL) {
		fprintf(stderr, "artsync: the answer is not JSON: %s\n",
		    jerr.text);
		goto out;
	}
	if (kind == CLIENT_ANSWER_STATUS)
		frc = client_format_status(j, stdout);
	else if (kind == CLIENT_ANSWER_LIST)
		frc = client_format_list(j, stdout);
	else
		frc = client_format_change(j, stdout);
	if (frc == -1) {
		fprintf(stderr, "artsync: unexpected answer from the server\n");
		goto out;
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

/* Usage errors of every command (client.h): one line, exit 2. */
int
client_usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "artsync: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see artsync --help)\n");
	return EXIT_USAGE;
}
