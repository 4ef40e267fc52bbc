/*
 * client_print.h - what the CLI prints: the REST endpoint's answers as
 * text for people, and a refused request as one line on stderr.
 *
 * Calling sequence: after a request (client_http.h), a 2xx answer goes to
 * client_print_answer(), anything else to client_report_error(). The
 * formatters below it are public so that they can be tested alone. The
 * server's text may reach a terminal: every byte below 0x20 and DEL is
 * printed as '?'. The JSON and the bodies stay the caller's.
 */
#ifndef CLIENT_PRINT_H
#define CLIENT_PRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* What an answer holds. */
enum client_answer {
	CLIENT_ANSWER_STATUS,		/* GET /api/v1/status */
	CLIENT_ANSWER_LIST,		/* GET /api/v1/artifacts */
	CLIENT_ANSWER_XML,		/* show: the artifact itself */
	CLIENT_ANSWER_CHANGE,		/* redeploy, undeploy, ... */
};

/*
 * Prints a 2xx answer on stdout: the XML byte for byte; with raw (--json)
 * the JSON as it came, newline-terminated; else as text. 0, or -1 (said on
 * stderr) when the answer is not what was expected.
 */
int client_print_answer(enum client_answer kind, bool raw, const char *body,
    size_t len);

/*
 * One line on stderr for a non-2xx answer: the server's {"error": ...},
 * else the first line of its body (trimmed to 200 bytes; body is cut
 * there), else "WHAT failed"; then "(HTTP STATUS)" and, when hint is not
 * empty, "; HINT".
 */
void client_report_error(const char *what, long status, char *body,
    size_t len, const char *hint);

/*
 * The server's answers as text. status: aligned "key: value" lines; list:
 * a table and "N artifacts"; change (redeploy, undeploy, deploy-local,
 * forget): "TYPE/NAME: STATE (release R)". 0, or -1 when the answer is not
 * the expected object (nothing useful was printed).
 */
int client_format_status(json_t *j, FILE *f);
int client_format_list(json_t *j, FILE *f);
int client_format_change(json_t *j, FILE *f);

#endif
