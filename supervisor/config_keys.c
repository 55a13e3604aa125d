/* config_keys: the keys of services.ini, what each one means and how its value is applied to
 * the section being read, [credential:NAME] sources and names included. */
#include "config.h"
#include "config_internal.h"
#include "creds.h"
#include "routes.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>

#define VALUE_MAX 65536		/* one value, continuation lines included */
#define SOCKET_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
#define STR(x) STR_(x)
#define STR_(x) #x

enum kind { T_ARGV, T_STR, T_PATH, T_ENV, T_ENV_FILE, T_PROFILE, T_BOOL, T_RESTART, T_CODES,
	    T_DURATION, T_LIMIT, T_SIGNAL, T_SIZE, T_BACKUPS, T_PATH_LIST, T_HOST_LIST, T_NAMES,
	    T_SOURCE, T_CHECKED, T_COUNT };

#define KEY_REPEAT 1u		/* may appear more than once */
#define KEY_NONZERO 2u		/* a duration that must be > 0 */
#define KEY_SOCKET 4u		/* a path that must fit in sockaddr_un */
#define KEY_NO_ECHO 8u		/* a bad value is not repeated: it may be a pasted key */

struct key_def {
	const char *name;
	enum config__section sec;
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

#define COUNT "a number from 1 to 1000000"
#define SUP(key, nm, kd, member, fl, exp) \
	[key] = { .name = nm, .sec = SEC_SUPERVISOR, .kind = kd, \
		  .off = offsetof(struct config, proxy) + offsetof(struct config_proxy, member), \
		  .flags = fl, .expect = exp }

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
	    "a host name like api.example.com, *.example.com or 10.0.0.1, optionally :PORT"),
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
	SUP(K_PROXY_MAX_CONNECTIONS, "proxy_max_connections", T_COUNT, max_connections, 0,
	    COUNT),
	SUP(K_PROXY_MAX_CONNECTIONS_PER_SERVICE, "proxy_max_connections_per_service", T_COUNT,
	    max_connections_per_service, 0, COUNT),
	SUP(K_PROXY_MAX_BODY, "proxy_max_body", T_SIZE, max_body, 0, "a size like 64K, 16M or 1G"),
	SUP(K_PROXY_IDLE_TIMEOUT, "proxy_idle_timeout", T_DURATION, idle_timeout_ms, KEY_NONZERO,
	    DURATION_NZ),
	SUP(K_PROXY_CONNECT_TIMEOUT, "proxy_connect_timeout", T_DURATION, connect_timeout_ms,
	    KEY_NONZERO, DURATION_NZ),
	SUP(K_PROXY_STREAM_TIMEOUT, "proxy_stream_timeout", T_DURATION, stream_timeout_ms,
	    KEY_NONZERO, DURATION_NZ),
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

static void kerr(struct config__parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* An error about the value being applied: "file:line: service 'web': msg". */
static void kerr(struct config__parse *p, const char *fmt, ...)
{
	char msg[CONFIG__MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->sec == SEC_SERVICE)
		config__perr(p, p->key_line, "service '%s': %s", config__cur(p)->name, msg);
	else if (p->sec == SEC_CREDENTIAL)
		config__perr(p, p->key_line, "credential '%s': %s", config__cur_cred(p)->name, msg);
	else
		config__perr(p, p->key_line, "supervisor: %s", msg);
}

static bool var_ok(const char *v)
{
	return config__env_name_ok(v, strlen(v));
}

/* KEY=VALUE lines; '#' comments, blank lines, "export " and one pair of quotes allowed. */
static int read_env_file(struct config__parse *p, const char *path, const char *shown)
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
		s = config__trim(line);
		if (!*s || *s == '#')
			continue;
		if (strncmp(s, "export", 6) == 0 && (s[6] == ' ' || s[6] == '\t'))
			s = config__trim(s + 6);
		eq = strchr(s, '=');
		klen = eq ? (size_t)(eq - s) : 0;
		while (klen && isspace((unsigned char)s[klen - 1]))
			klen--;
		if (!eq || !config__env_name_ok(s, klen)) {
			kerr(p, "%s:%d: bad line '%s' (expected KEY=VALUE with KEY of [A-Za-z_][A-Za-z0-9_]*)",
			     shown, lineno, s);
			rc = -EINVAL;
			continue;
		}
		v = config__trim(eq + 1);
		vlen = strlen(v);
		if (vlen >= 2 && (v[0] == '"' || v[0] == '\'') && v[vlen - 1] == v[0]) {
			v++;
			vlen -= 2;
		}
		kv = malloc(klen + vlen + 2);
		if (kv)
			snprintf(kv, klen + vlen + 2, "%.*s=%.*s", (int)klen, s, (int)vlen, v);
		if (config__env_set(&p->file_env, kv) < 0) {
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

static int set_profile_path(struct config__parse *p, struct service_config *s, const char *v)
{
	char *path = config__path_join(p->dir, v);
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
bool config__name_check(const char *what, const char *name, char *msg, size_t len)
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

/* credentials = a, b: known names are checked once the whole file is read (config__resolve_credentials). */
static int set_names(struct config__parse *p, struct service_config *s, const char *v)
{
	char msg[CONFIG__MSG_MAX], *name, **names = NULL;
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
		if (!config__name_check("credential", name, msg, sizeof(msg))) {
			kerr(p, "credentials: %s", msg);
			rc = -EINVAL;
		} else if (names && names[i]) {
			kerr(p, "credentials: '%s' listed twice", name);
			rc = -EINVAL;
		} else if (config_strv_add(&names, name) < 0) {
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
static int set_source(struct config__parse *p, struct credential_config *c, const char *v)
{
	char msg[CONFIG__MSG_MAX], *path = NULL, *spec = NULL;
	size_t len;
	int rc;

	if (strncmp(v, "file:", 5) == 0 && v[5] && v[5] != '/') {
		path = config__path_join(p->dir, v + 5);
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
static int apply(struct config__parse *p, const struct key_def *k, const char *v)
{
	static const char *const bools[] = { "false", "no", "off", "0", "true", "yes", "on", "1" };
	struct service_config *s = k->sec == SEC_SERVICE ? config__cur(p) : NULL;
	struct credential_config *c = k->sec == SEC_CREDENTIAL ? config__cur_cred(p) : NULL;
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
		*str = config__path_join(p->dir, v);
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
		if (!end || !config__env_name_ok(v, (size_t)(end - v)))
			break;
		return config__env_set(&p->env, strdup(v));	/* merged with env_file's when the service ends */
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
		if (config_parse_size(v, (uint64_t *)dst) == 0)
			return 0;
		break;
	case T_COUNT:
		if (config__parse_digits(v, &n, &end) < 0 || *end || !n || n > 1000000)
			break;
		*(unsigned *)dst = (unsigned)n;
		return 0;
	case T_BACKUPS:
		if (config__parse_digits(v, &n, &end) < 0 || *end || n > 100)
			break;
		s->log_backups = (unsigned)n;
		return 0;
	case T_PATH_LIST:
		return config_strv_add((char ***)dst, config__path_join(p->dir, v));
	case T_HOST_LIST:
		if (!config__host_ok(v))
			break;
		return config_strv_add((char ***)dst, strdup(v));
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

void config__val_append(struct config__parse *p, const char *sep, const char *v)
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

void config__start_key(struct config__parse *p, const char *name, const char *value)
{
	int i, *seen = p->sec == SEC_SUPERVISOR ? p->seen_sup : p->seen_sec;
	char where[CONFIG_NAME_MAX + 16] = "[supervisor]", known[128];
	size_t used;

	p->key = -1;
	p->key_line = p->lineno;
	if (p->sec == SEC_IGNORE)
		return;
	if (p->sec == SEC_NONE) {
		config__perr(p, p->lineno, "key '%s' before any section; hint: start with [supervisor] or [service:NAME]",
		     name);
		return;
	}
	if (p->sec == SEC_SERVICE)
		snprintf(where, sizeof(where), "[service:%s]", config__cur(p)->name);
	else if (p->sec == SEC_CREDENTIAL)
		snprintf(where, sizeof(where), "[credential:%s]", config__cur_cred(p)->name);
	for (i = 0; i < K_COUNT; i++)
		if (keys[i].sec == p->sec && strcmp(keys[i].name, name) == 0)
			break;
	if (i == K_COUNT && p->sec == SEC_CREDENTIAL) {
		/* not repeated: a pasted key "c2stbGl2ZQ==" reads as key "c2stbGl2ZQ" */
		for (i = 0, used = 0; i < K_COUNT; i++)
			if (keys[i].sec == SEC_CREDENTIAL && used < sizeof(known))
				used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s",
							 used ? ", " : "", keys[i].name);
		config__perr(p, p->lineno, "unknown key in %s (expected one of %s)", where, known);
	} else if (i == K_COUNT) {
		config__perr(p, p->lineno, "unknown key '%s' in %s", name, where);
	} else if (seen[i] && !(keys[i].flags & KEY_REPEAT)) {
		config__perr(p, p->lineno, "duplicate key '%s' in %s (first set on line %d)", name, where, seen[i]);
	} else {
		if (!seen[i])
			seen[i] = p->lineno;
		p->key = i;
		p->val_len = 0;
		p->val_long = false;
		config__val_append(p, "", value);
	}
}

void config__flush_value(struct config__parse *p)
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

/*
 * Once the whole file is read: every name in a service's credentials must be a
 * [credential:NAME] section, and the service gets its own copy of each (see config.h).
 */
void config__resolve_credentials(struct config__parse *p)
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
				config__perr(p, s->credentials_line, "service '%s': unknown credential '%s'",
				     s->name, s->credentials[j]);
			else if (config_credential_copy(&s->credential_defs[j], c) < 0)
				p->sys_err = -ENOMEM;
		}
	}
}
