/* config_internal: what config.c (the ini reader and its sections), config_keys.c (the keys and
 * applying their values) and config_value.c (the value parsers) share.
 * Not installed, not for other modules. */
#ifndef NONO_CONFIG_INTERNAL_H
#define NONO_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

#define CONFIG__MSG_MAX 512	/* one message of a file:line: list */

/* A growing NULL-terminated vector; v is handed out as a config_strv_free()-able char **. */
struct config__strv {
	char **v;
	size_t n, cap;
};

/* The section being read; SEC_IGNORE: a bad header, its keys are skipped. */
enum config__section { SEC_NONE, SEC_SUPERVISOR, SEC_SERVICE, SEC_CREDENTIAL, SEC_IGNORE };

/* The keys of all sections: config_keys.c's table is indexed by these. */
enum config__key {
	K_COMMAND, K_CWD, K_ENV, K_ENV_FILE, K_USER, K_PROFILE, K_AUTOSTART, K_RESTART,
	K_SUCCESS_EXIT_CODES, K_START_SECS, K_RESTART_DELAY, K_RESTART_DELAY_MAX, K_RESET_AFTER,
	K_START_LIMIT, K_STOP_SIGNAL, K_STOP_TIMEOUT, K_LOG_MAX_SIZE, K_LOG_BACKUPS,
	K_SANDBOX, K_ALLOW_DEGRADED, K_READ, K_WRITE, K_ALLOW_DOMAIN, K_CREDENTIALS,
	K_SOCKET, K_LOG_DIR, K_PROXY_MAX_CONNECTIONS, K_PROXY_MAX_CONNECTIONS_PER_SERVICE,
	K_PROXY_MAX_BODY, K_PROXY_IDLE_TIMEOUT, K_PROXY_CONNECT_TIMEOUT, K_PROXY_STREAM_TIMEOUT,
	K_SOURCE, K_ROUTE, K_UPSTREAM, K_CA, K_HEADER, K_FORMAT, K_VAR, K_COUNT
};

/* One config_load(): the reader's state, the value being collected and the messages so far. */
struct config__parse {
	struct config *cfg;
	const char *file;	/* as given, for messages */
	char *dir;		/* directory of the ini file, for relative paths */
	FILE *fp;
	char *line;		/* getline buffer: physical lines of any length */
	size_t line_cap;
	int lineno;
	bool cont;		/* inih will deliver this line as a continuation */
	bool have_prev;		/* an indented line would continue a value (inih's prev_name) */
	bool swallow;		/* drop the continuation lines of a line already reported */
	enum config__section sec;
	size_t svc_cap, cred_cap;
	int seen_sup[K_COUNT];	/* line each key was first set on, 0 = not yet */
	int seen_sec[K_COUNT];	/* of the current [service:] or [credential:] section */
	struct config__strv file_env, env;	/* of the current service, merged when it ends */
	int key;		/* enum config__key being collected, -1 = none or ignored */
	int key_line;
	char *val;
	size_t val_len, val_cap;
	bool val_long;
	char *err;
	size_t errlen;
	int nerr;
	bool err_full;		/* err ends in "...": later lines are dropped */
	int sys_err;		/* -ENOMEM or a read error: the load fails with it */
};

/* ---- config.c ---- */

/* Appends "file:line: msg" as one line of err; when err is full, ends it with "...". */
void config__perr(struct config__parse *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The section being read: the last service or credential added. */
struct service_config *config__cur(struct config__parse *p);
struct credential_config *config__cur_cred(struct config__parse *p);

/* ---- config_keys.c ---- */

/* A key line: looks the key up in the current section and starts collecting its value. */
void config__start_key(struct config__parse *p, const char *name, const char *value);
/* Adds sep then v (a continuation line) to the value being collected. */
void config__val_append(struct config__parse *p, const char *sep, const char *v);
/* Applies the value collected, if any, to the current section; reports its own errors. */
void config__flush_value(struct config__parse *p);
/* Service and credential names: true, or false with why in msg. */
bool config__name_check(const char *what, const char *name, char *msg, size_t len);
/* Once the whole file is read: each service's credentials resolved to their sections. */
void config__resolve_credentials(struct config__parse *p);

/* ---- config_value.c ---- */

/* Append s (owned by the vector on success, not freed on failure): 0 or -ENOMEM. */
int config__strv_push(struct config__strv *sv, char *s);
/* Takes "KEY=VALUE" (owned, freed on failure, NULL = -ENOMEM); a later KEY replaces an earlier
 * one. */
int config__env_set(struct config__strv *sv, char *kv);

/* Leading decimal digits of s into n, *end after them: 0, -EINVAL (no digit) or -ERANGE. */
int config__parse_digits(const char *s, uint64_t *n, const char **end);

/* Syntax only, lengths are the caller's (route names and URLs are resolved by routes.c). */
bool config__route_name_ok(const char *s);	/* [A-Za-z0-9_-]+ */
bool config__url_ok(const char *s);		/* http:// or https:// then visible ASCII, no blanks */
bool config__header_ok(const char *s);		/* an HTTP token: Authorization, x-api-key */
bool config__format_ok(const char *s);		/* printable ASCII with exactly one "{}" */

bool config__env_name_ok(const char *s, size_t len);	/* [A-Za-z_][A-Za-z0-9_]* of len bytes */
bool config__host_ok(const char *h);		/* a host name or *.suffix (see config_value.c) */

/* rel against dir (absolute rel as is): malloc'd, NULL = -ENOMEM. */
char *config__path_join(const char *dir, const char *rel);
/* Cuts trailing whitespace in place; returns s past its leading whitespace. */
char *config__trim(char *s);

#endif
