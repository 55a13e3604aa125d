/* config: parse services.ini into plain structs (pure: reads the ini and env files, nothing else). */
#include "config.h"
#include "config_internal.h"
#include "creds.h"
#include "routes.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define VALUE_MAX 65536		/* one value, continuation lines included */
#define MSG_MAX 512
#define SOCKET_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
#define STR(x) STR_(x)
#define STR_(x) #x

enum section { SEC_NONE, SEC_SUPERVISOR, SEC_SERVICE, SEC_CREDENTIAL, SEC_IGNORE };

enum key {
	K_COMMAND, K_CWD, K_ENV, K_ENV_FILE, K_USER, K_PROFILE, K_AUTOSTART, K_RESTART,
	K_SUCCESS_EXIT_CODES, K_START_SECS, K_RESTART_DELAY, K_RESTART_DELAY_MAX, K_RESET_AFTER,
	K_START_LIMIT, K_STOP_SIGNAL, K_STOP_TIMEOUT, K_LOG_MAX_SIZE, K_LOG_BACKUPS,
	K_SANDBOX, K_ALLOW_DEGRADED, K_READ, K_WRITE, K_ALLOW_DOMAIN, K_CREDENTIALS,
	K_SOCKET, K_LOG_DIR,
	K_SOURCE, K_ROUTE, K_UPSTREAM, K_CA, K_HEADER, K_FORMAT, K_VAR, K_COUNT
};

enum kind { T_ARGV, T_STR, T_PATH, T_ENV, T_ENV_FILE, T_PROFILE, T_BOOL, T_RESTART, T_CODES,
	    T_DURATION, T_LIMIT, T_SIGNAL, T_SIZE, T_BACKUPS, T_PATH_LIST, T_HOST_LIST, T_NAMES,
	    T_SOURCE, T_CHECKED };

#define KEY_REPEAT 1u		/* may appear more than once */
#define KEY_NONZERO 2u		/* a duration that must be > 0 */
#define KEY_SOCKET 4u		/* a path that must fit in sockaddr_un */
#define KEY_NO_ECHO 8u		/* a bad value is not repeated: it may be a pasted key */

struct key_def {
	const char *name;
	enum section sec;
	enum kind kind;
	size_t off;		/* into struct service_config, credential_config or config */
	unsigned flags;
	size_t max;		/* bytes of the value (of the resolved path for T_PATH), 0 = no limit */
	bool (*ok)(const char *v);	/* T_CHECKED: the syntax of the string */
	const char *expect;	/* for "bad KEY 'VALUE' (expected ...)" */
};

#define BOOLEAN "true, false, yes, no, on, off, 1 or 0"
#define DURATION "a duration like 500ms, 10s, 2m or 1h"
#define DURATION_NZ "a duration greater than 0 like 500ms, 10s, 2m or 1h"
#define SVC(key, nm, kd, member, fl, exp) \
	[key] = { .name = nm, .sec = SEC_SERVICE, .kind = kd, \
		  .off = offsetof(struct service_config, member), .flags = fl, .expect = exp }

#define CRED(key, nm, kd, member, check, mx, exp) \
	[key] = { .name = nm, .sec = SEC_CREDENTIAL, .kind = kd, \
		  .off = offsetof(struct credential_config, member), .flags = KEY_NO_ECHO, \
		  .ok = check, .max = mx, .expect = exp }

static bool var_ok(const char *v);

static const struct key_def keys[K_COUNT] = {
	SVC(K_COMMAND, "command", T_ARGV, argv, 0, NULL),
	SVC(K_CWD, "cwd", T_PATH, cwd, 0, NULL),
	SVC(K_ENV, "env", T_ENV, env, KEY_REPEAT, "KEY=VALUE with KEY of [A-Za-z_][A-Za-z0-9_]*"),
	SVC(K_ENV_FILE, "env_file", T_ENV_FILE, env_file, 0, NULL),
	SVC(K_USER, "user", T_STR, user, 0, NULL),
	SVC(K_PROFILE, "profile", T_PROFILE, profile, 0,
	    "a profile name of [A-Za-z0-9_-] or a path to a .json file"),
	SVC(K_AUTOSTART, "autostart", T_BOOL, autostart, 0, BOOLEAN),
	SVC(K_SANDBOX, "sandbox", T_BOOL, sandbox, 0, BOOLEAN),
	SVC(K_ALLOW_DEGRADED, "allow_degraded", T_BOOL, allow_degraded, 0, BOOLEAN),
	SVC(K_READ, "read", T_PATH_LIST, read, KEY_REPEAT, NULL),
	SVC(K_WRITE, "write", T_PATH_LIST, write, KEY_REPEAT, NULL),
	SVC(K_ALLOW_DOMAIN, "allow_domain", T_HOST_LIST, allow_domain, KEY_REPEAT,
	    "a host name like api.example.com or *.example.com"),
	SVC(K_RESTART, "restart", T_RESTART, restart, 0, "always, on-failure or never"),
	SVC(K_SUCCESS_EXIT_CODES, "success_exit_codes", T_CODES, success_codes, 0,
	    "up to " STR(CONFIG_MAX_EXIT_CODES) " exit codes 0-255 separated by commas or spaces"),
	SVC(K_START_SECS, "start_secs", T_DURATION, start_ms, 0, DURATION),
	SVC(K_RESTART_DELAY, "restart_delay", T_DURATION, restart_delay_ms, 0, DURATION),
	SVC(K_RESTART_DELAY_MAX, "restart_delay_max", T_DURATION, restart_delay_max_ms, 0, DURATION),
	SVC(K_RESET_AFTER, "reset_after", T_DURATION, reset_after_ms, KEY_NONZERO, DURATION_NZ),
	SVC(K_START_LIMIT, "start_limit", T_LIMIT, start_limit_n, 0,
	    "COUNT/DURATION like 5/60s, COUNT >= 1 and DURATION > 0"),
	SVC(K_STOP_SIGNAL, "stop_signal", T_SIGNAL, stop_signal, 0,
	    "a signal name or number like TERM, SIGINT or 15"),
	SVC(K_STOP_TIMEOUT, "stop_timeout", T_DURATION, stop_timeout_ms, KEY_NONZERO, DURATION_NZ),
	SVC(K_LOG_MAX_SIZE, "log_max_size", T_SIZE, log_max_size, 0, "a size like 64K, 10M or 1G"),
	SVC(K_LOG_BACKUPS, "log_backups", T_BACKUPS, log_backups, 0, "a number 0-100"),
	SVC(K_CREDENTIALS, "credentials", T_NAMES, credentials, 0,
	    "names of [credential:NAME] sections separated by commas or spaces"),
	[K_SOCKET] = { .name = "socket", .sec = SEC_SUPERVISOR, .kind = T_PATH,
		       .off = offsetof(struct config, socket), .flags = KEY_SOCKET },
	[K_LOG_DIR] = { .name = "log_dir", .sec = SEC_SUPERVISOR, .kind = T_PATH,
			.off = offsetof(struct config, log_dir) },
	/* a credential section's values are never repeated in messages (see KEY_NO_ECHO) */
	CRED(K_SOURCE, "source", T_SOURCE, source, NULL, 0,
	     "keyring:ACCOUNT, file:PATH, env:VAR or systemd:NAME"),
	CRED(K_ROUTE, "route", T_CHECKED, route, config__route_name_ok, ROUTE_NAME_MAX,
	     "a route name of 1-" STR(ROUTE_NAME_MAX) " characters A-Z a-z 0-9 _ -"),
	CRED(K_UPSTREAM, "upstream", T_CHECKED, upstream, config__url_ok, ROUTE_URL_MAX,
	     "an https:// or http:// URL of at most " STR(ROUTE_URL_MAX) " bytes"),
	CRED(K_CA, "ca", T_PATH, ca, NULL, ROUTE_CA_MAX, NULL),
	CRED(K_HEADER, "header", T_CHECKED, header, config__header_ok, ROUTE_HEADER_MAX,
	     "a header name of at most " STR(ROUTE_HEADER_MAX) " characters like Authorization or x-api-key"),
	CRED(K_FORMAT, "format", T_CHECKED, format, config__format_ok, ROUTE_FORMAT_MAX,
	     "at most " STR(ROUTE_FORMAT_MAX) " printable characters with exactly one {} where the key goes, "
	     "like Bearer {}"),
	CRED(K_VAR, "env", T_CHECKED, env, var_ok, ROUTE_ENV_MAX,
	     "a variable name of at most " STR(ROUTE_ENV_MAX) " characters like OPENAI_API_KEY"),
};

static const struct service_config service_defaults = {
	.autostart = true,
	.sandbox = true,
	.restart = RESTART_ON_FAILURE,
	.success_codes = { 0 },
	.n_success_codes = 1,
	.start_ms = 1000,
	.restart_delay_ms = 1000,
	.restart_delay_max_ms = 60000,
	.reset_after_ms = 30000,
	.start_limit_n = 5,
	.start_limit_window_ms = 60000,
	.stop_signal = SIGTERM,
	.stop_timeout_ms = 10000,
	.log_max_size = 10 * 1024 * 1024,
	.log_backups = 5,
};

struct parse {
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
	enum section sec;
	size_t svc_cap, cred_cap;
	int seen_sup[K_COUNT];	/* line each key was first set on, 0 = not yet */
	int seen_sec[K_COUNT];	/* of the current [service:] or [credential:] section */
	struct config__strv file_env, env;	/* of the current service, merged when it ends */
	int key;		/* enum key being collected, -1 = none or ignored */
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

static void perr(struct parse *p, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void kerr(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends "file:line: msg" as one line of err; when err is full, ends it with "...". */
static void perr(struct parse *p, int line, const char *fmt, ...)
{
	char msg[MSG_MAX], loc[16] = "";
	const char *sep;
	size_t used;
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->nerr++;
	if (!p->errlen || p->err_full)
		return;
	if (line > 0)
		snprintf(loc, sizeof(loc), ":%d", line);
	used = strlen(p->err);
	sep = used ? "\n" : "";
	n = snprintf(NULL, 0, "%s%s%s: %s", sep, p->file, loc, msg);
	if (used + (size_t)n + 4 < p->errlen) {
		snprintf(p->err + used, p->errlen - used, "%s%s%s: %s", sep, p->file, loc, msg);
	} else {
		snprintf(p->err + used, p->errlen - used, "%s...", sep);
		p->err_full = true;
	}
}

static struct service_config *cur(struct parse *p)
{
	return &p->cfg->services[p->cfg->n_services - 1];
}

static struct credential_config *cur_cred(struct parse *p)
{
	return &p->cfg->credentials[p->cfg->n_credentials - 1];
}

/* An error about the value being applied: "file:line: service 'web': msg". */
static void kerr(struct parse *p, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->sec == SEC_SERVICE)
		perr(p, p->key_line, "service '%s': %s", cur(p)->name, msg);
	else if (p->sec == SEC_CREDENTIAL)
		perr(p, p->key_line, "credential '%s': %s", cur_cred(p)->name, msg);
	else
		perr(p, p->key_line, "supervisor: %s", msg);
}

/* ---- string vectors and paths ---- */

/* Append s (owned; NULL = -ENOMEM) to a NULL-terminated vector. */
static int strv_add(char ***v, char *s)
{
	size_t n = 0;
	char **nv;

	if (!s)
		return -ENOMEM;
	while (*v && (*v)[n])
		n++;
	nv = realloc(*v, (n + 2) * sizeof(*nv));
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	nv[n] = s;
	nv[n + 1] = NULL;
	*v = nv;
	return 0;
}

/*
 * A host name or "*.suffix": labels of [A-Za-z0-9-] not starting or ending with '-', at most 253
 * bytes, one trailing dot: what the profile compiler's host check (profile__host_norm) accepts.
 */
static bool host_ok(const char *h)
{
	size_t len = strlen(h), label = 0;

	if (strncmp(h, "*.", 2) == 0)
		h += 2, len -= 2;
	if (len && h[len - 1] == '.')
		len--;
	if (!len || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (h[i] == '.') {
			if (!label || h[i - 1] == '-')
				return false;
			label = 0;
		} else if (isalnum((unsigned char)h[i]) || h[i] == '-') {
			if (++label > 63 || (label == 1 && h[i] == '-'))
				return false;
		} else {
			return false;
		}
	}
	return label > 0 && h[len - 1] != '-';
}

/* Takes "KEY=VALUE" (owned, freed on failure, NULL = -ENOMEM); a later KEY replaces an earlier one. */
static int env_set(struct config__strv *sv, char *kv)
{
	size_t klen, i;

	if (!kv)
		return -ENOMEM;
	klen = strcspn(kv, "=") + 1;
	for (i = 0; i < sv->n; i++) {
		if (strncmp(sv->v[i], kv, klen) == 0) {
			free(sv->v[i]);
			sv->v[i] = kv;
			return 0;
		}
	}
	if (config__strv_push(sv, kv) == 0)
		return 0;
	free(kv);
	return -ENOMEM;
}

static bool env_name_ok(const char *s, size_t len)
{
	size_t i;

	if (!len || isdigit((unsigned char)s[0]))
		return false;
	for (i = 0; i < len; i++)
		if (!(isascii((unsigned char)s[i]) && (isalnum((unsigned char)s[i]) || s[i] == '_')))
			return false;
	return true;
}

static bool var_ok(const char *v)
{
	return env_name_ok(v, strlen(v));
}

static char *path_join(const char *dir, const char *rel)
{
	size_t dl = strlen(dir), rl;
	char *s;

	if (rel[0] == '/')
		return strdup(rel);
	while (rel[0] == '.' && rel[1] == '/')
		rel += 2;
	if (!rel[0] || strcmp(rel, ".") == 0)
		return strdup(dir);
	rl = strlen(rel);
	s = malloc(dl + rl + 2);
	if (!s)
		return NULL;
	memcpy(s, dir, dl);
	if (!dl || dir[dl - 1] != '/')
		s[dl++] = '/';
	memcpy(s + dl, rel, rl + 1);
	return s;
}

static char *trim(char *s)
{
	size_t len;

	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	return s;
}


/* KEY=VALUE lines; '#' comments, blank lines, "export " and one pair of quotes allowed. */
static int read_env_file(struct parse *p, const char *path, const char *shown)
{
	char *line = NULL, *s, *eq, *v, *kv;
	size_t cap = 0, klen, vlen;
	int lineno = 0, rc = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		kerr(p, "env_file '%s': cannot open: %s", shown, strerror(errno));
		return -EINVAL;
	}
	for (errno = 0; getline(&line, &cap, f) >= 0; errno = 0) {
		lineno++;
		s = trim(line);
		if (!*s || *s == '#')
			continue;
		if (strncmp(s, "export", 6) == 0 && (s[6] == ' ' || s[6] == '\t'))
			s = trim(s + 6);
		eq = strchr(s, '=');
		klen = eq ? (size_t)(eq - s) : 0;
		while (klen && isspace((unsigned char)s[klen - 1]))
			klen--;
		if (!eq || !env_name_ok(s, klen)) {
			kerr(p, "%s:%d: bad line '%s' (expected KEY=VALUE with KEY of [A-Za-z_][A-Za-z0-9_]*)",
			     shown, lineno, s);
			rc = -EINVAL;
			continue;
		}
		v = trim(eq + 1);
		vlen = strlen(v);
		if (vlen >= 2 && (v[0] == '"' || v[0] == '\'') && v[vlen - 1] == v[0]) {
			v++;
			vlen -= 2;
		}
		kv = malloc(klen + vlen + 2);
		if (kv)
			snprintf(kv, klen + vlen + 2, "%.*s=%.*s", (int)klen, s, (int)vlen, v);
		if (env_set(&p->file_env, kv) < 0) {
			rc = -ENOMEM;
			break;
		}
	}
	if (rc != -ENOMEM && ferror(f)) {
		kerr(p, "env_file '%s': cannot read: %s", shown, strerror(errno ? errno : EIO));
		rc = -EINVAL;
	}
	free(line);
	fclose(f);
	return rc;
}

static int set_profile_path(struct parse *p, struct service_config *s, const char *v)
{
	char *path = path_join(p->dir, v);
	struct stat st;
	int rc = 0;

	if (!path)
		return -ENOMEM;
	if (stat(path, &st) < 0) {
		kerr(p, "profile '%s': %s", path, strerror(errno));
		rc = -EINVAL;
	} else if (!S_ISREG(st.st_mode)) {
		kerr(p, "profile '%s': not a regular file", path);
		rc = -EINVAL;
	} else {
		s->profile = realpath(path, NULL);
		rc = s->profile ? 0 : errno == ENOMEM ? -ENOMEM : -EINVAL;
		if (rc == -EINVAL)
			kerr(p, "profile '%s': %s", path, strerror(errno));
	}
	free(path);
	return rc;
}

static int parse_codes(struct service_config *s, const char *v)
{
	const char *end;
	int count = 0;
	uint64_t n;

	for (;;) {
		v += strspn(v, ", \t");
		if (!*v)
			break;
		if (config__parse_digits(v, &n, &end) < 0 || n > 255 || (*end && !strchr(", \t", *end)) ||
		    count == CONFIG_MAX_EXIT_CODES)
			return -EINVAL;
		s->success_codes[count++] = (int)n;
		v = end;
	}
	s->n_success_codes = count;
	return count ? 0 : -EINVAL;
}

/* Service and credential names: true, or false with why in msg. */
static bool name_check(const char *what, const char *name, char *msg, size_t len)
{
	size_t n = strlen(name);

	if (!n)
		snprintf(msg, len, "empty %s name in [%s:]", what, what);
	else if (n > CONFIG_NAME_MAX)
		snprintf(msg, len, "%s name '%s' too long (%zu > %d characters)", what, name, n,
			 CONFIG_NAME_MAX);
	else if (strspn(name, NAME_CHARS ".-") != n || name[0] == '.' || name[0] == '-')
		snprintf(msg, len, "bad %s name '%s' (use A-Z a-z 0-9 _ . -, not starting with '.' or '-')",
			 what, name);
	else if (strcmp(name, "all") == 0)
		snprintf(msg, len, "%s name 'all' is reserved", what);
	else
		return true;
	return false;
}

/* credentials = a, b: known names are checked once the whole file is read (resolve_credentials). */
static int set_names(struct parse *p, struct service_config *s, const char *v)
{
	char msg[MSG_MAX], *name, **names = NULL;
	size_t len, i;
	int rc = 0;

	s->credentials_line = p->key_line;
	for (;;) {
		v += strspn(v, ", \t");
		if (!*v)
			break;
		len = strcspn(v, ", \t");
		name = strndup(v, len);
		v += len;
		if (!name) {
			rc = -ENOMEM;
			break;
		}
		for (i = 0; names && names[i] && strcmp(names[i], name) != 0; i++)
			;
		if (!name_check("credential", name, msg, sizeof(msg))) {
			kerr(p, "credentials: %s", msg);
			rc = -EINVAL;
		} else if (names && names[i]) {
			kerr(p, "credentials: '%s' listed twice", name);
			rc = -EINVAL;
		} else if (strv_add(&names, name) < 0) {
			rc = -ENOMEM;
			break;
		} else {
			continue;
		}
		free(name);
	}
	if (rc < 0)
		config_strv_free(names);
	else
		s->credentials = names;
	return rc;
}

static bool source_kind_known(const char *v)
{
	static const char *const kinds[] = { "keyring:", "file:", "env:", "systemd:" };
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strncmp(v, kinds[i], strlen(kinds[i])) == 0)
			return true;
	return false;
}

/* A reference to the key, never the key: a relative file: path is made absolute first. */
static int set_source(struct parse *p, struct credential_config *c, const char *v)
{
	char msg[MSG_MAX], *path = NULL, *spec = NULL;
	size_t len;
	int rc;

	if (strncmp(v, "file:", 5) == 0 && v[5] && v[5] != '/') {
		path = path_join(p->dir, v + 5);
		len = path ? strlen(path) + 6 : 0;
		spec = path ? malloc(len) : NULL;
		if (!spec) {
			free(path);
			return -ENOMEM;
		}
		snprintf(spec, len, "file:%s", path);
		free(path);
	}
	rc = creds_parse_source(spec ? spec : v, &c->src, msg, sizeof(msg));
	free(spec);
	if (rc < 0) {
		kerr(p, "%s", msg);
		return -EINVAL;
	}
	c->source = strdup(v);
	return c->source ? 0 : -ENOMEM;
}

/* Applies value v of key k to the current section; reports its own errors. */
static int apply(struct parse *p, const struct key_def *k, const char *v)
{
	static const char *const bools[] = { "false", "no", "off", "0", "true", "yes", "on", "1" };
	struct service_config *s = k->sec == SEC_SERVICE ? cur(p) : NULL;
	struct credential_config *c = k->sec == SEC_CREDENTIAL ? cur_cred(p) : NULL;
	char *dst = (s ? (char *)s : c ? (char *)c : (char *)p->cfg) + k->off, **str = (char **)dst;
	enum restart_policy r;
	const char *end;
	uint64_t n, ms;
	char msg[64];
	size_t i;
	int rc;

	if (k->max && k->kind != T_PATH && strlen(v) > k->max)
		goto bad_value;
	switch (k->kind) {
	case T_ARGV:
		rc = config_split_argv(v, &s->argv, msg, sizeof(msg));
		if (rc == -EINVAL)
			kerr(p, "bad command: %s", msg);
		return rc;
	case T_STR:
		*str = strdup(v);
		return *str ? 0 : -ENOMEM;
	case T_PATH:
	case T_ENV_FILE:
		*str = path_join(p->dir, v);
		if (!*str)
			return -ENOMEM;
		if (k->kind == T_ENV_FILE)
			return read_env_file(p, *str, v);
		if ((k->flags & KEY_SOCKET) && strlen(*str) > SOCKET_PATH_MAX) {
			kerr(p, "socket path '%s' too long (%zu > %zu bytes); hint: use a shorter path",
			     *str, strlen(*str), SOCKET_PATH_MAX);
			return -EINVAL;
		}
		if (k->max && strlen(*str) > k->max) {
			kerr(p, "%s path too long (%zu > %zu bytes)", k->name, strlen(*str), k->max);
			return -EINVAL;
		}
		return 0;
	case T_ENV:
		end = strchr(v, '=');
		if (!end || !env_name_ok(v, (size_t)(end - v)))
			break;
		return env_set(&p->env, strdup(v));	/* merged with env_file's when the service ends */
	case T_PROFILE:
		if (strchr(v, '/') || (strlen(v) > 5 && strcmp(v + strlen(v) - 5, ".json") == 0))
			return set_profile_path(p, s, v);
		if (strspn(v, NAME_CHARS "-") != strlen(v))
			break;
		s->profile = strdup(v);
		return s->profile ? 0 : -ENOMEM;
	case T_BOOL:
		for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
			if (strcasecmp(v, bools[i]) == 0) {
				*(bool *)dst = i >= 4;
				return 0;
			}
		}
		break;
	case T_RESTART:
		for (r = RESTART_ALWAYS; r <= RESTART_NEVER; r++) {
			if (strcmp(v, config_restart_name(r)) == 0) {
				s->restart = r;
				return 0;
			}
		}
		break;
	case T_CODES:
		if (parse_codes(s, v) == 0)
			return 0;
		break;
	case T_DURATION:
		if (config_parse_duration(v, &ms) < 0 || (!ms && (k->flags & KEY_NONZERO)))
			break;
		*(uint64_t *)dst = ms;
		return 0;
	case T_LIMIT:
		if (config__parse_digits(v, &n, &end) < 0 || *end != '/' || !n || n > UINT_MAX ||
		    config_parse_duration(end + 1, &ms) < 0 || !ms)
			break;
		s->start_limit_n = (unsigned)n;
		s->start_limit_window_ms = ms;
		return 0;
	case T_SIGNAL:
		if (config_parse_signal(v, &s->stop_signal) == 0)
			return 0;
		break;
	case T_SIZE:
		if (config_parse_size(v, &s->log_max_size) == 0)
			return 0;
		break;
	case T_BACKUPS:
		if (config__parse_digits(v, &n, &end) < 0 || *end || n > 100)
			break;
		s->log_backups = (unsigned)n;
		return 0;
	case T_PATH_LIST:
		return strv_add((char ***)dst, path_join(p->dir, v));
	case T_HOST_LIST:
		if (!host_ok(v))
			break;
		return strv_add((char ***)dst, strdup(v));
	case T_NAMES:
		if (!v[strspn(v, ", \t")])
			break;
		return set_names(p, s, v);
	case T_SOURCE:
		if (!source_kind_known(v))
			break;
		return set_source(p, c, v);
	case T_CHECKED:
		if (!k->ok(v))
			break;
		*str = strdup(v);
		return *str ? 0 : -ENOMEM;
	}
bad_value:
	if (k->flags & KEY_NO_ECHO)
		kerr(p, "bad %s (expected %s)", k->name, k->expect);
	else
		kerr(p, "bad %s '%s' (expected %s)", k->name, v, k->expect);
	return -EINVAL;
}

/* ---- collecting a value: a key line plus its continuation lines ---- */

static void val_append(struct parse *p, const char *sep, const char *v)
{
	size_t need = p->val_len + strlen(sep) + strlen(v) + 1;
	char *nv;

	if (p->val_long || need > VALUE_MAX) {
		p->val_long = true;
		return;
	}
	if (need > p->val_cap) {
		nv = realloc(p->val, need);
		if (!nv) {
			p->sys_err = -ENOMEM;
			return;
		}
		p->val = nv;
		p->val_cap = need;
	}
	snprintf(p->val + p->val_len, need - p->val_len, "%s%s", sep, v);
	p->val_len = need - 1;
}

static void start_key(struct parse *p, const char *name, const char *value)
{
	int i, *seen = p->sec == SEC_SUPERVISOR ? p->seen_sup : p->seen_sec;
	char where[CONFIG_NAME_MAX + 16] = "[supervisor]", known[128];
	size_t used;

	p->key = -1;
	p->key_line = p->lineno;
	if (p->sec == SEC_IGNORE)
		return;
	if (p->sec == SEC_NONE) {
		perr(p, p->lineno, "key '%s' before any section; hint: start with [supervisor] or [service:NAME]",
		     name);
		return;
	}
	if (p->sec == SEC_SERVICE)
		snprintf(where, sizeof(where), "[service:%s]", cur(p)->name);
	else if (p->sec == SEC_CREDENTIAL)
		snprintf(where, sizeof(where), "[credential:%s]", cur_cred(p)->name);
	for (i = 0; i < K_COUNT; i++)
		if (keys[i].sec == p->sec && strcmp(keys[i].name, name) == 0)
			break;
	if (i == K_COUNT && p->sec == SEC_CREDENTIAL) {
		/* not repeated: a pasted key "c2stbGl2ZQ==" reads as key "c2stbGl2ZQ" */
		for (i = 0, used = 0; i < K_COUNT; i++)
			if (keys[i].sec == SEC_CREDENTIAL && used < sizeof(known))
				used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s",
							 used ? ", " : "", keys[i].name);
		perr(p, p->lineno, "unknown key in %s (expected one of %s)", where, known);
	} else if (i == K_COUNT) {
		perr(p, p->lineno, "unknown key '%s' in %s", name, where);
	} else if (seen[i] && !(keys[i].flags & KEY_REPEAT)) {
		perr(p, p->lineno, "duplicate key '%s' in %s (first set on line %d)", name, where, seen[i]);
	} else {
		if (!seen[i])
			seen[i] = p->lineno;
		p->key = i;
		p->val_len = 0;
		p->val_long = false;
		val_append(p, "", value);
	}
}

static void flush_value(struct parse *p)
{
	const struct key_def *k;

	if (p->key < 0)
		return;
	k = &keys[p->key];
	p->key = -1;
	if (p->sys_err)
		return;
	if (p->val_long)
		kerr(p, "value of '%s' too long (limit %d bytes)", k->name, VALUE_MAX);
	else if (!p->val_len)
		kerr(p, "empty value for '%s'", k->name);
	else if (apply(p, k, p->val) == -ENOMEM)
		p->sys_err = -ENOMEM;
}

/* ---- sections ---- */

static void end_section(struct parse *p)
{
	struct service_config *s;
	struct config__strv env = { 0 };
	size_t i;
	int line;

	if (p->sec == SEC_CREDENTIAL && !p->seen_sec[K_SOURCE])
		perr(p, cur_cred(p)->line, "credential '%s': missing 'source'", cur_cred(p)->name);
	if (p->sec != SEC_SERVICE) {
		p->sec = SEC_NONE;
		return;
	}
	p->sec = SEC_NONE;
	s = cur(p);
	for (i = 0; i < p->file_env.n; i++)
		if (env_set(&env, p->file_env.v[i]) < 0)
			p->sys_err = -ENOMEM;
	for (i = 0; i < p->env.n; i++)
		if (env_set(&env, p->env.v[i]) < 0)
			p->sys_err = -ENOMEM;
	free(p->file_env.v);
	free(p->env.v);
	p->file_env = (struct config__strv){ 0 };
	p->env = (struct config__strv){ 0 };
	s->env = env.v ? env.v : calloc(1, sizeof(*s->env));
	if (!s->env)
		p->sys_err = -ENOMEM;

	if (!p->seen_sec[K_COMMAND])
		perr(p, s->line, "service '%s': missing 'command'", s->name);
	line = p->seen_sec[K_RESTART_DELAY_MAX] ? p->seen_sec[K_RESTART_DELAY_MAX] : p->seen_sec[K_RESTART_DELAY];
	if (s->restart_delay_max_ms < s->restart_delay_ms)
		perr(p, line, "service '%s': restart_delay_max (%" PRIu64 "ms) is less than restart_delay (%"
		     PRIu64 "ms)", s->name, s->restart_delay_max_ms, s->restart_delay_ms);
}

static bool section_name_ok(struct parse *p, bool service, const char *name)
{
	struct config *cfg = p->cfg;
	char msg[MSG_MAX];
	size_t i;

	if (!name_check(service ? "service" : "credential", name, msg, sizeof(msg))) {
		perr(p, p->lineno, "%s", msg);
	} else if (service && cfg->n_services == CONFIG_MAX_SERVICES) {
		perr(p, p->lineno, "too many services (limit %d)", CONFIG_MAX_SERVICES);
	} else if (!service && cfg->n_credentials == CONFIG_MAX_CREDENTIALS) {
		perr(p, p->lineno, "too many credentials (limit %d)", CONFIG_MAX_CREDENTIALS);
	} else {
		for (i = 0; service && i < cfg->n_services; i++) {
			if (strcmp(cfg->services[i].name, name) == 0) {
				perr(p, p->lineno, "duplicate service '%s' (first defined on line %d)", name,
				     cfg->services[i].line);
				return false;
			}
		}
		for (i = 0; !service && i < cfg->n_credentials; i++) {
			if (strcmp(cfg->credentials[i].name, name) == 0) {
				perr(p, p->lineno, "duplicate credential '%s' (first defined on line %d)",
				     name, cfg->credentials[i].line);
				return false;
			}
		}
		return true;
	}
	return false;
}

/* Room for one more element of size in *v (n used, *cap allocated): 0 or -ENOMEM. */
static int grow(void *v, size_t n, size_t *cap, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 8;
	void *nv;

	if (n < *cap)
		return 0;
	nv = realloc(*(void **)v, ncap * size);
	if (!nv)
		return -ENOMEM;
	*(void **)v = nv;
	*cap = ncap;
	return 0;
}

static void begin_service(struct parse *p, const char *name)
{
	struct config *cfg = p->cfg;
	struct service_config *svc;

	if (!section_name_ok(p, true, name))
		return;
	if (grow(&cfg->services, cfg->n_services, &p->svc_cap, sizeof(*svc)) < 0) {
		p->sys_err = -ENOMEM;
		return;
	}
	svc = &cfg->services[cfg->n_services];
	*svc = service_defaults;
	svc->line = p->lineno;
	svc->name = strdup(name);
	if (!svc->name) {
		p->sys_err = -ENOMEM;
		return;
	}
	cfg->n_services++;
	memset(p->seen_sec, 0, sizeof(p->seen_sec));
	p->sec = SEC_SERVICE;
}

static void begin_credential(struct parse *p, const char *name)
{
	struct config *cfg = p->cfg;
	struct credential_config *c;

	if (!section_name_ok(p, false, name))
		return;
	if (grow(&cfg->credentials, cfg->n_credentials, &p->cred_cap, sizeof(*c)) < 0) {
		p->sys_err = -ENOMEM;
		return;
	}
	c = &cfg->credentials[cfg->n_credentials];
	*c = (struct credential_config){ .line = p->lineno, .name = strdup(name) };
	if (!c->name) {
		p->sys_err = -ENOMEM;
		return;
	}
	cfg->n_credentials++;
	memset(p->seen_sec, 0, sizeof(p->seen_sec));
	p->sec = SEC_CREDENTIAL;
}

static void begin_section(struct parse *p, const char *text, size_t len)
{
	char buf[CONFIG_LINE_MAX + 1], *name;

	end_section(p);
	p->sec = SEC_IGNORE;
	snprintf(buf, sizeof(buf), "%.*s", (int)len, text);
	name = trim(buf);
	if (strcmp(name, "supervisor") == 0)
		p->sec = SEC_SUPERVISOR;
	else if (strncmp(name, "service:", 8) == 0)
		begin_service(p, name + 8);
	else if (strncmp(name, "credential:", 11) == 0)
		begin_credential(p, name + 11);
	else
		perr(p, p->lineno, "unknown section '[%s]'; expected [supervisor], [service:NAME] or "
		     "[credential:NAME]", name);
}

/*
 * Once the whole file is read: every name in a service's credentials must be a
 * [credential:NAME] section, and the service gets its own copy of each (see config.h).
 */
static void resolve_credentials(struct parse *p)
{
	struct config *cfg = p->cfg;
	const struct credential_config *c;
	struct service_config *s;
	size_t i, j, n;

	for (i = 0; i < cfg->n_services && !p->sys_err; i++) {
		s = &cfg->services[i];
		for (n = 0; s->credentials && s->credentials[n]; n++)
			;
		if (!n)
			continue;
		s->credential_defs = calloc(n, sizeof(*s->credential_defs));
		if (!s->credential_defs) {
			p->sys_err = -ENOMEM;
			return;
		}
		for (j = 0; j < n; j++) {
			c = config_find_credential(cfg, s->credentials[j]);
			if (!c)
				perr(p, s->credentials_line, "service '%s': unknown credential '%s'",
				     s->name, s->credentials[j]);
			else if (config_credential_copy(&s->credential_defs[j], c) < 0)
				p->sys_err = -ENOMEM;
		}
	}
}

/* ---- the inih callbacks ---- */

/* inih's scan: stop at one of chars or at an inline comment (';' after whitespace). */
static const char *find_sep(const char *s, const char *chars)
{
	bool was_space = false;

	while (*s && !strchr(chars, *s) && !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

/*
 * Reads one physical line and classifies it as inih will, because inih tells the handler
 * neither line numbers, nor continuations, nor sections without keys, nor its syntax errors,
 * and it silently splits lines longer than its buffer. Lines we report (too long, malformed)
 * reach inih as blank lines, so its state (section, prev_name) never diverges from ours.
 */
static char *read_line(char *str, int num, void *stream)
{
	struct parse *p = stream;
	size_t max = (size_t)num - 1 < CONFIG_LINE_MAX ? (size_t)num - 1 : CONFIG_LINE_MAX;
	size_t len, end;
	char *line, *start;
	const char *sep;
	bool cont, nul;
	ssize_t n;

	errno = 0;
	n = getline(&p->line, &p->line_cap, p->fp);
	if (n < 0 && ferror(p->fp))
		p->sys_err = errno ? -errno : -EIO;
	if (n < 0 || p->sys_err)
		return NULL;
	p->lineno++;
	p->cont = false;
	str[0] = '\0';
	line = p->line;
	len = strlen(line);
	nul = len != (size_t)n;
	if (p->lineno == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0) {
		line += 3;
		len -= 3;
	}
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	for (end = len; end && isspace((unsigned char)line[end - 1]); end--)
		line[end - 1] = '\0';
	start = line;
	while (isspace((unsigned char)*start))
		start++;
	if (!nul && (!*start || *start == ';' || *start == '#'))
		return str;
	cont = start > line && (p->have_prev || p->swallow);
	if (!cont)
		flush_value(p);

	if (len > max || nul) {
		if (nul)
			perr(p, p->lineno, "NUL byte in line");
		else
			perr(p, p->lineno, "line too long (%zu > %zu characters); "
			     "hint: continue the value on indented lines", len, max);
		p->key = -1;
		p->swallow = true;
		if (!cont && *start == '[') {
			end_section(p);
			p->sec = SEC_IGNORE;
		}
		return str;
	}
	if (cont) {
		/* Debian's inih (r55) keeps "; comments" on continuation lines; newer ones cut them */
		p->cont = !p->swallow;
		if (p->cont) {
			sep = find_sep(start, "");
			for (end = (size_t)(sep - line); isspace((unsigned char)line[end - 1]); end--)
				;
			line[end] = '\0';
			memcpy(str, line, end + 1);
		}
		return str;
	}
	p->swallow = false;
	if (*start == '[') {
		sep = find_sep(start + 1, "]");
		if (*sep != ']') {
			perr(p, p->lineno, "missing ']' in section header '%s'", start);
			end_section(p);
			p->sec = SEC_IGNORE;
			return str;
		}
		begin_section(p, start + 1, (size_t)(sep - start - 1));
		p->have_prev = false;
	} else {
		/* in a [credential:] section the line may be a pasted key: never repeat it */
		sep = find_sep(start, "=:");
		if ((*sep != '=' && *sep != ':') && p->sec == SEC_CREDENTIAL) {
			perr(p, p->lineno, "expected 'key = value' or '[section]'; hint: the key itself "
			     "never goes here, use source = keyring:ACCOUNT, file:PATH, env:VAR or "
			     "systemd:NAME");
			return str;
		}
		if (*sep != '=' && *sep != ':') {
			perr(p, p->lineno, "expected 'key = value' or '[section]', got '%s'", start);
			return str;
		}
		if (sep == start) {
			if (p->sec == SEC_CREDENTIAL)
				perr(p, p->lineno, "missing key name");
			else
				perr(p, p->lineno, "missing key name in '%s'", start);
			return str;
		}
		p->have_prev = true;
	}
	memcpy(str, line, end + 1);
	return str;
}

static int on_value(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;

	(void)section;	/* we track our own: inih cuts section names at 49 characters */
	if (!name || p->sys_err)
		return 1;
	if (p->cont) {
		if (p->key >= 0)
			val_append(p, " ", value ? value : "");
		return 1;
	}
	start_key(p, name, value ? value : "");
	return 1;
}

/* ---- the API ---- */

int config_load(struct config *cfg, const char *file, char *err, size_t errlen)
{
	struct parse p = { .cfg = cfg, .file = file, .err = err, .errlen = errlen, .key = -1 };
	char *slash;
	int rc;

	*cfg = (struct config){ 0 };
	if (errlen)
		err[0] = '\0';
	p.fp = fopen(file, "re");
	if (!p.fp) {
		rc = -errno;
		perr(&p, 0, "cannot open: %s", strerror(-rc));
		return rc;
	}
	cfg->path = realpath(file, NULL);
	p.dir = cfg->path ? strdup(cfg->path) : NULL;
	if (!p.dir) {
		rc = -errno;
		perr(&p, 0, "cannot resolve path: %s", strerror(-rc));
		goto out;
	}
	slash = strrchr(p.dir, '/');
	if (slash == p.dir)
		slash[1] = '\0';
	else
		slash[0] = '\0';

	rc = ini_parse_stream(read_line, &p, on_value, &p);
	flush_value(&p);
	end_section(&p);
	resolve_credentials(&p);
	if (rc == -2)
		p.sys_err = -ENOMEM;
	else if (rc > 0 && !p.nerr)
		perr(&p, rc, "syntax error");
	if (p.sys_err == -ENOMEM)
		perr(&p, 0, "out of memory");
	else if (p.sys_err)
		perr(&p, 0, "cannot read: %s", strerror(-p.sys_err));
	rc = p.sys_err ? p.sys_err : p.nerr ? -EINVAL : 0;
out:
	config_strv_free(p.file_env.v);
	config_strv_free(p.env.v);
	free(p.val);
	free(p.line);
	free(p.dir);
	fclose(p.fp);
	if (rc < 0)
		config_free(cfg);
	return rc;
}

void config_service_release(struct service_config *s)
{
	size_t i;

	for (i = 0; s->credential_defs && s->credentials && s->credentials[i]; i++)
		config_credential_release(&s->credential_defs[i]);
	free(s->credential_defs);
	config_strv_free(s->credentials);
	free(s->name);
	config_strv_free(s->argv);
	free(s->cwd);
	config_strv_free(s->env);
	free(s->env_file);
	free(s->user);
	free(s->profile);
	config_strv_free(s->read);
	config_strv_free(s->write);
	config_strv_free(s->allow_domain);
}

void config_free(struct config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->n_services; i++)
		config_service_release(&cfg->services[i]);
	free(cfg->services);
	for (i = 0; i < cfg->n_credentials; i++)
		config_credential_release(&cfg->credentials[i]);
	free(cfg->credentials);
	free(cfg->path);
	free(cfg->socket);
	free(cfg->log_dir);
	*cfg = (struct config){ 0 };
}

const struct service_config *config_find(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->n_services; i++)	/* a NULL name: the service was moved out */
		if (cfg->services[i].name && strcmp(cfg->services[i].name, name) == 0)
			return &cfg->services[i];
	return NULL;
}

const struct credential_config *config_find_credential(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->n_credentials; i++)
		if (strcmp(cfg->credentials[i].name, name) == 0)
			return &cfg->credentials[i];
	return NULL;
}

static bool str_eq(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) == 0 : a == b;
}

/* NULL and an empty vector are the same. */
static bool strv_eq(char *const *a, char *const *b)
{
	size_t i;

	for (i = 0; a && a[i] && b && b[i]; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return !(a && a[i]) && !(b && b[i]);
}

/* The same names in the same order, and the same definitions behind them. */
static bool credentials_eq(const struct service_config *a, const struct service_config *b)
{
	size_t i;

	if (!strv_eq(a->credentials, b->credentials))
		return false;
	for (i = 0; a->credentials && a->credentials[i]; i++) {
		if (!a->credential_defs || !b->credential_defs)
			return a->credential_defs == b->credential_defs;
		if (!config_credential_equal(&a->credential_defs[i], &b->credential_defs[i]))
			return false;
	}
	return true;
}

bool service_config_equal(const struct service_config *a, const struct service_config *b)
{
	return str_eq(a->name, b->name) && strv_eq(a->argv, b->argv) && str_eq(a->cwd, b->cwd) &&
	       strv_eq(a->env, b->env) && str_eq(a->env_file, b->env_file) && str_eq(a->user, b->user) &&
	       str_eq(a->profile, b->profile) && a->autostart == b->autostart && a->restart == b->restart &&
	       a->n_success_codes == b->n_success_codes &&
	       memcmp(a->success_codes, b->success_codes, (size_t)a->n_success_codes * sizeof(int)) == 0 &&
	       a->start_ms == b->start_ms && a->restart_delay_ms == b->restart_delay_ms &&
	       a->restart_delay_max_ms == b->restart_delay_max_ms && a->reset_after_ms == b->reset_after_ms &&
	       a->start_limit_n == b->start_limit_n && a->start_limit_window_ms == b->start_limit_window_ms &&
	       a->stop_signal == b->stop_signal && a->stop_timeout_ms == b->stop_timeout_ms &&
	       a->log_max_size == b->log_max_size && a->log_backups == b->log_backups &&
	       a->sandbox == b->sandbox && a->allow_degraded == b->allow_degraded &&
	       strv_eq(a->read, b->read) && strv_eq(a->write, b->write) &&
	       strv_eq(a->allow_domain, b->allow_domain) && credentials_eq(a, b);
}

/* Writes a then b, or an empty string when they do not fit. */
static int put(char *buf, size_t len, const char *a, const char *b)
{
	int n = snprintf(buf, len, "%s%s", a, b);

	if (n >= 0 && (size_t)n < len)
		return 0;
	if (len)
		buf[0] = '\0';
	return -ENAMETOOLONG;
}

/* XDG base directories must be absolute; relative ones are ignored (XDG spec). */
static const char *xdg_dir(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] == '/' ? v : NULL;
}

int config_default_socket(char *buf, size_t len)
{
	const char *dir = xdg_dir("XDG_RUNTIME_DIR");
	char tmp[64];

	if (geteuid() == 0)
		return put(buf, len, "/run/nono-supervise.sock", "");
	if (dir)
		return put(buf, len, dir, "/nono-supervise.sock");
	snprintf(tmp, sizeof(tmp), "/tmp/nono-supervise-%u.sock", (unsigned)geteuid());
	return put(buf, len, tmp, "");
}

int config_default_log_dir(char *buf, size_t len)
{
	const char *state = xdg_dir("XDG_STATE_HOME"), *home = xdg_dir("HOME");

	if (geteuid() == 0)
		return put(buf, len, "/var/log/nono-supervise", "");
	if (state)
		return put(buf, len, state, "/nono-supervise/logs");
	if (home)
		return put(buf, len, home, "/.local/state/nono-supervise/logs");
	return -ENOENT;
}
