/* config: parse services.ini into plain structs (pure: reads the ini and env files, nothing else). */
#include "config.h"
#include "config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

void config_service_init(struct service_config *s)
{
	*s = service_defaults;
}

/* Appends "file:line: msg" as one line of err; when err is full, ends it with "...". */
void config__perr(struct config__parse *p, int line, const char *fmt, ...)
{
	char msg[CONFIG__MSG_MAX], loc[16] = "";
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

struct service_config *config__cur(struct config__parse *p)
{
	return &p->cfg->services[p->cfg->n_services - 1];
}

struct credential_config *config__cur_cred(struct config__parse *p)
{
	return &p->cfg->credentials[p->cfg->n_credentials - 1];
}

/* ---- sections ---- */

static void end_section(struct config__parse *p)
{
	struct service_config *s;
	struct config__strv env = { 0 };
	size_t i;
	int line;

	if (p->sec == SEC_CREDENTIAL && !p->seen_sec[K_SOURCE])
		config__perr(p, config__cur_cred(p)->line, "credential '%s': missing 'source'", config__cur_cred(p)->name);
	if (p->sec != SEC_SERVICE) {
		p->sec = SEC_NONE;
		return;
	}
	p->sec = SEC_NONE;
	s = config__cur(p);
	for (i = 0; i < p->file_env.n; i++)
		if (config__env_set(&env, p->file_env.v[i]) < 0)
			p->sys_err = -ENOMEM;
	for (i = 0; i < p->env.n; i++)
		if (config__env_set(&env, p->env.v[i]) < 0)
			p->sys_err = -ENOMEM;
	free(p->file_env.v);
	free(p->env.v);
	p->file_env = (struct config__strv){ 0 };
	p->env = (struct config__strv){ 0 };
	s->env = env.v ? env.v : calloc(1, sizeof(*s->env));
	if (!s->env)
		p->sys_err = -ENOMEM;

	if (!p->seen_sec[K_COMMAND])
		config__perr(p, s->line, "service '%s': missing 'command'", s->name);
	line = p->seen_sec[K_RESTART_DELAY_MAX] ? p->seen_sec[K_RESTART_DELAY_MAX] : p->seen_sec[K_RESTART_DELAY];
	if (s->restart_delay_max_ms < s->restart_delay_ms)
		config__perr(p, line, "service '%s': restart_delay_max (%" PRIu64 "ms) is less than restart_delay (%"
		     PRIu64 "ms)", s->name, s->restart_delay_max_ms, s->restart_delay_ms);
}

static bool section_name_ok(struct config__parse *p, bool service, const char *name)
{
	struct config *cfg = p->cfg;
	char msg[CONFIG__MSG_MAX];
	size_t i;

	if (!config__name_check(service ? "service" : "credential", name, msg, sizeof(msg))) {
		config__perr(p, p->lineno, "%s", msg);
	} else if (service && cfg->n_services == CONFIG_MAX_SERVICES) {
		config__perr(p, p->lineno, "too many services (limit %d)", CONFIG_MAX_SERVICES);
	} else if (!service && cfg->n_credentials == CONFIG_MAX_CREDENTIALS) {
		config__perr(p, p->lineno, "too many credentials (limit %d)", CONFIG_MAX_CREDENTIALS);
	} else {
		for (i = 0; service && i < cfg->n_services; i++) {
			if (strcmp(cfg->services[i].name, name) == 0) {
				config__perr(p, p->lineno, "duplicate service '%s' (first defined on line %d)", name,
				     cfg->services[i].line);
				return false;
			}
		}
		for (i = 0; !service && i < cfg->n_credentials; i++) {
			if (strcmp(cfg->credentials[i].name, name) == 0) {
				config__perr(p, p->lineno, "duplicate credential '%s' (first defined on line %d)",
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

static void begin_service(struct config__parse *p, const char *name)
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

static void begin_credential(struct config__parse *p, const char *name)
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

static void begin_section(struct config__parse *p, const char *text, size_t len)
{
	char buf[CONFIG_LINE_MAX + 1], *name;

	end_section(p);
	p->sec = SEC_IGNORE;
	snprintf(buf, sizeof(buf), "%.*s", (int)len, text);
	name = config__trim(buf);
	if (strcmp(name, "supervisor") == 0)
		p->sec = SEC_SUPERVISOR;
	else if (strncmp(name, "service:", 8) == 0)
		begin_service(p, name + 8);
	else if (strncmp(name, "credential:", 11) == 0)
		begin_credential(p, name + 11);
	else
		config__perr(p, p->lineno, "unknown section '[%s]'; expected [supervisor], [service:NAME] or "
		     "[credential:NAME]", name);
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
	struct config__parse *p = stream;
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
		config__flush_value(p);

	if (len > max || nul) {
		if (nul)
			config__perr(p, p->lineno, "NUL byte in line");
		else
			config__perr(p, p->lineno, "line too long (%zu > %zu characters); "
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
			config__perr(p, p->lineno, "missing ']' in section header '%s'", start);
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
			config__perr(p, p->lineno, "expected 'key = value' or '[section]'; hint: the key itself "
			     "never goes here, use source = keyring:ACCOUNT, file:PATH, env:VAR or "
			     "systemd:NAME");
			return str;
		}
		if (*sep != '=' && *sep != ':') {
			config__perr(p, p->lineno, "expected 'key = value' or '[section]', got '%s'", start);
			return str;
		}
		if (sep == start) {
			if (p->sec == SEC_CREDENTIAL)
				config__perr(p, p->lineno, "missing key name");
			else
				config__perr(p, p->lineno, "missing key name in '%s'", start);
			return str;
		}
		p->have_prev = true;
	}
	memcpy(str, line, end + 1);
	return str;
}

static int on_value(void *user, const char *section, const char *name, const char *value)
{
	struct config__parse *p = user;

	(void)section;	/* we track our own: inih cuts section names at 49 characters */
	if (!name || p->sys_err)
		return 1;
	if (p->cont) {
		if (p->key >= 0)
			config__val_append(p, " ", value ? value : "");
		return 1;
	}
	config__start_key(p, name, value ? value : "");
	return 1;
}

/* ---- the API ---- */

int config_load(struct config *cfg, const char *file, char *err, size_t errlen)
{
	struct config__parse p = { .cfg = cfg, .file = file, .err = err, .errlen = errlen, .key = -1 };
	char *slash;
	int rc;

	*cfg = (struct config){ 0 };
	if (errlen)
		err[0] = '\0';
	p.fp = fopen(file, "re");
	if (!p.fp) {
		rc = -errno;
		config__perr(&p, 0, "cannot open: %s", strerror(-rc));
		return rc;
	}
	cfg->path = realpath(file, NULL);
	p.dir = cfg->path ? strdup(cfg->path) : NULL;
	if (!p.dir) {
		rc = -errno;
		config__perr(&p, 0, "cannot resolve path: %s", strerror(-rc));
		goto out;
	}
	slash = strrchr(p.dir, '/');
	if (slash == p.dir)
		slash[1] = '\0';
	else
		slash[0] = '\0';

	rc = ini_parse_stream(read_line, &p, on_value, &p);
	config__flush_value(&p);
	end_section(&p);
	config__resolve_credentials(&p);
	if (rc == -2)
		p.sys_err = -ENOMEM;
	else if (rc > 0 && !p.nerr)
		config__perr(&p, rc, "syntax error");
	if (p.sys_err == -ENOMEM)
		config__perr(&p, 0, "out of memory");
	else if (p.sys_err)
		config__perr(&p, 0, "cannot read: %s", strerror(-p.sys_err));
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
	free(s->profile_overlay);
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
	       str_eq(a->profile, b->profile) && str_eq(a->profile_overlay, b->profile_overlay) &&
	       a->autostart == b->autostart && a->restart == b->restart &&
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
