/* config: parse services.ini into plain structs (pure: reads the file, nothing else). */
#ifndef NONO_CONFIG_H
#define NONO_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "creds.h"

#define CONFIG_ERR_MAX 4096	/* all error lines of one parse, '\n'-separated */
#define CONFIG_MAX_SERVICES 1024
#define CONFIG_MAX_EXIT_CODES 16
#define CONFIG_LINE_MAX 199	/* Debian's libinih cuts longer lines */
#define CONFIG_NAME_MAX 64	/* service and credential names: [A-Za-z0-9_.-], not starting with '.' */
#define CONFIG_MAX_CREDENTIALS 256

/*
 * A [credential:NAME] section: where the real key is (a reference: the parser never reads a key)
 * and the route overrides, NULL when not set. Only syntax is checked here; the supervisor
 * resolves route and overrides against routes.json (routes_resolve) and loads the key.
 */
struct credential_config {
	char *name;
	char *source;		/* as written: "keyring:openai" (a reference, safe to show) */
	struct cred_source src;	/* parsed; a relative file: path made absolute against the ini's dir */
	char *route;		/* built-in route to start from, NULL = NAME */
	char *upstream;		/* http:// or https:// URL */
	char *ca;		/* absolute PEM path */
	char *header;
	char *format;		/* exactly one "{}" */
	char *env;		/* phantom variable */
	int line;		/* line of the [credential:NAME] header, for messages */
	bool optional;		/* asked for by a profile: skipped (and said) if its key is missing */
};

enum restart_policy {
	RESTART_ALWAYS,
	RESTART_ON_FAILURE,
	RESTART_NEVER,
};

struct service_config {
	char *name;
	char **argv;		/* NULL-terminated, shell-like quoting resolved */
	char *cwd;		/* absolute (relative ones resolved against the ini's dir); NULL = ini's dir */
	char **env;		/* NULL-terminated "KEY=VALUE": env_file entries first, then env= in order */
	char *env_file;		/* absolute path as written (resolved), NULL if none */
	char *user;		/* NULL = the supervisor's user */
	char *profile;		/* NAME or absolute PATH, NULL = default (validated: name or existing file) */
	char *profile_overlay;	/* run's flags as a profile object merged last; NULL from an ini */
	bool sandbox;		/* default true; "sandbox = off" runs the service unsandboxed */
	bool allow_degraded;	/* accept a weaker sandbox on an old kernel (loudly) */
	char **read;		/* per-service grants and hosts, NULL-terminated (NULL = none) */
	char **write;
	char **allow_domain;
	/*
	 * credentials = a, b: the names, and copies of those [credential:NAME] sections in the
	 * same order (so the service owns what it uses after the config is freed, and a changed
	 * credential section makes service_config_equal() false). Both NULL when none.
	 */
	char **credentials;
	struct credential_config *credential_defs;
	int credentials_line;		/* of the credentials key, for messages */
	bool autostart;		/* default true */
	enum restart_policy restart;	/* default on-failure */
	int success_codes[CONFIG_MAX_EXIT_CODES];	/* default {0} */
	int n_success_codes;
	uint64_t start_ms;		/* start_secs, default 1000 */
	uint64_t restart_delay_ms;	/* default 1000, 0 allowed */
	uint64_t restart_delay_max_ms;	/* default 60000 */
	uint64_t reset_after_ms;	/* default 30000 */
	unsigned start_limit_n;		/* default 5 */
	uint64_t start_limit_window_ms;	/* default 60000 */
	int stop_signal;		/* default SIGTERM; names with or without SIG, or numbers */
	uint64_t stop_timeout_ms;	/* default 10000 */
	uint64_t log_max_size;		/* bytes, default 10M; 0 = no rotation */
	unsigned log_backups;		/* default 5 */
	int line;			/* line of the [service:NAME] header, for messages */
};

/* [supervisor] proxy_* keys: the credential proxy's limits; 0 = the built-in default. */
struct config_proxy {
	unsigned max_connections;
	unsigned max_connections_per_service;
	uint64_t max_body;		/* bytes */
	uint64_t idle_timeout_ms;
	uint64_t connect_timeout_ms;
	uint64_t stream_timeout_ms;
};

struct config {
	char *path;		/* absolute path of the ini file */
	char *socket;		/* NULL = default (config_default_socket) */
	char *log_dir;		/* NULL = default (config_default_log_dir) */
	struct config_proxy proxy;
	struct service_config *services;
	size_t n_services;
	struct credential_config *credentials;	/* in file order */
	size_t n_credentials;
};

/*
 * Parse FILE. Returns 0, or a negative errno with every problem found written to err as
 * "file:line: message" lines (parsing goes on after an error so all are reported).
 */
int config_load(struct config *cfg, const char *file, char *err, size_t errlen);
void config_free(struct config *cfg);
/* Free what one service_config owns (not the struct itself). */
void config_service_release(struct service_config *sc);

const struct service_config *config_find(const struct config *cfg, const char *name);
const struct credential_config *config_find_credential(const struct config *cfg, const char *name);

/* A service definition with every default, as an empty [service:NAME] section gives. */
void config_service_init(struct service_config *s);

/* Free what one credential_config owns (not the struct itself). */
void config_credential_release(struct credential_config *c);
/* Deep copy: 0 or -ENOMEM (dst then owns nothing). */
int config_credential_copy(struct credential_config *dst, const struct credential_config *src);
/* Same name, key reference and route settings (the spelling of source and the line may differ). */
bool config_credential_equal(const struct credential_config *a, const struct credential_config *b);

/*
 * True when two definitions would run the same thing the same way (reload keeps it running).
 * Compares the credential sections the services use too (their copies in credential_defs).
 */
bool service_config_equal(const struct service_config *a, const struct service_config *b);

/* Defaults when [supervisor] does not set them: root and non-root locations (see README). */
int config_default_socket(char *buf, size_t len);
int config_default_log_dir(char *buf, size_t len);

/* Small parsers, exported for tests and for nonoctl. */
int config_parse_duration(const char *s, uint64_t *ms);		/* "500ms" "10s" "2m" "1h", bare number = seconds */
int config_parse_size(const char *s, uint64_t *bytes);		/* "64K" "10M" "1G", bare number = bytes */
int config_parse_signal(const char *s, int *sig);			/* "TERM" "SIGTERM" "15" */
const char *config_signal_name(int sig);				/* "SIGTERM"; "SIG?" for unknown */
int config_split_argv(const char *s, char ***argv, char *err, size_t errlen);	/* shell-like quoting */
void config_strv_free(char **v);
/* Append s (owned; NULL = -ENOMEM) to a NULL-terminated vector (*v may be NULL). */
int config_strv_add(char ***v, char *s);
const char *config_restart_name(enum restart_policy p);

#endif
