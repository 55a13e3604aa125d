/* profile_load: read nono profiles (JSONC, key tables, legacy keys) and merge a profile and what
 * it extends into a struct ws.
 */
#include "profile_internal.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void profile__strv_clear(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	*s = (struct strv){0};
}

bool profile__strv_has(const struct strv *s, const char *str)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], str) == 0)
			return true;
	return false;
}

/* Append a copy of str unless already present. */
int profile__strv_add(struct strv *s, const char *str)
{
	char **v;

	if (profile__strv_has(s, str))
		return 0;
	v = realloc(s->v, (s->n + 2) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->v = v;
	v[s->n] = strdup(str);
	if (!v[s->n])
		return -ENOMEM;
	v[++s->n] = NULL;
	return 0;
}

int profile__fail(struct ws *w, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->err, w->errlen, fmt, ap);
	va_end(ap);
	return rc;
}

int profile__warn(struct ws *w, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return profile__strv_add(&w->warnings, msg);
}

void profile_strip_jsonc(char *s)
{
	bool str = false;
	char *last = NULL; /* the last ',' outside strings with only blanks since */

	for (char *p = s; *p; p++) {
		if (str) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				str = false;
			continue;
		}
		if (*p == '/' && p[1] == '/') {
			while (*p && *p != '\n')
				*p++ = ' ';
			if (!*p)
				break;
			continue;
		}
		if (*p == '/' && p[1] == '*') {
			*p++ = ' ';
			*p = ' ';
			while (p[1] && !(p[1] == '*' && p[2] == '/'))
				if (*++p != '\n')
					*p = ' ';
			if (!p[1])
				break;
			p[1] = p[2] = ' ';
			p += 2;
			continue;
		}
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			continue;
		if ((*p == '}' || *p == ']') && last)
			*last = ' ';
		last = *p == ',' ? p : NULL;
		if (*p == '"')
			str = true;
	}
}

/* Read and parse a JSON(C) file; display names it in messages. */
int profile__read_json(struct ws *w, const char *file, const char *display, cJSON **out)
{
	const char *end = NULL;
	FILE *f = fopen(file, "re");
	char *text;
	size_t n;
	int line = 1;

	if (!f)
		return profile__fail(w, -errno, "profile '%s': cannot open '%s': %s", display, file,
				     strerror(errno));
	text = malloc(PROFILE_MAX_SIZE + 1);
	if (!text) {
		fclose(f);
		return profile__fail(w, -ENOMEM, "out of memory");
	}
	n = fread(text, 1, PROFILE_MAX_SIZE + 1, f);
	fclose(f);
	if (n > PROFILE_MAX_SIZE) {
		free(text);
		return profile__fail(w, -EFBIG, "profile '%s': larger than %d bytes", display,
				     PROFILE_MAX_SIZE);
	}
	text[n] = '\0';
	profile_strip_jsonc(text);
	*out = cJSON_ParseWithOpts(text, &end, true);
	if (!*out || !cJSON_IsObject(*out)) {
		for (const char *p = text; end && p < end; p++)
			line += *p == '\n';
		free(text);
		if (!*out)
			return profile__fail(w, -EINVAL, "profile '%s': line %d: invalid JSON",
					     display, line);
		cJSON_Delete(*out);
		*out = NULL;
		return profile__fail(w, -EINVAL, "profile '%s': not a JSON object", display);
	}
	free(text);
	return 0;
}

/* A name, "*.suffix" or dotted IPv4 address, optionally ":PORT" (1-65535): "api.x.com:8443". */
int profile__host_norm(const char *in, char *out, size_t len)
{
	const char *colon = strchr(in, ':');
	size_t n = colon ? (size_t)(colon - in) : strlen(in), label = 0;
	const char *p = in;
	unsigned long port = 0;

	if (colon) {
		char *end;

		if (colon[1] < '1' || colon[1] > '9' || strlen(colon + 1) > 5)
			return -EINVAL;
		port = strtoul(colon + 1, &end, 10);
		if (*end || port > 65535)
			return -EINVAL;
	}

	if (n && in[n - 1] == '.')
		n--;
	if (n == 0 || n >= len || n > 253)
		return -EINVAL;
	if (n > 2 && in[0] == '*' && in[1] == '.') {
		memcpy(out, "*.", 2);
		p += 2;
	}
	for (size_t i = (size_t)(p - in); i < n; i++) {
		char c = in[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0 || out[i - 1] == '-')
				return -EINVAL;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
			if (++label > 63 || (label == 1 && c == '-'))
				return -EINVAL;
		} else {
			return -EINVAL;
		}
		out[i] = c;
	}
	if (label == 0 || out[n - 1] == '-')
		return -EINVAL;
	out[n] = '\0';
	if (port && (size_t)snprintf(out + n, len - n, ":%lu", port) >= len - n)
		return -EINVAL;
	return 0;
}

enum act {
	A_OBJ,
	A_META,
	A_EXTENDS,
	A_WORKDIR,
	A_INCLUDE,
	A_EXCLUDE,
	A_FS,
	A_UNIX,
	A_BLOCK,
	A_NETPROFILE,
	A_DOMAINS,
	A_CREDS,
	A_ENV_ALLOW,
	A_ENV_DENY,
	A_ENV_SET,
	A_UNENFORCED,
};

struct key {
	const char *name;
	enum act act;
	int arg;
	const char *legacy_for; /* a legacy key: its canonical name (warned about) */
	const struct key *sub;
};

static const struct key meta_keys[] = {
    {.name = "name", .act = A_META},
    {.name = "version", .act = A_META},
    {.name = "description", .act = A_META},
    {.name = "author", .act = A_META},
    {0},
};
static const struct key workdir_keys[] = {{.name = "access", .act = A_WORKDIR}, {0}};
static const struct key groups_keys[] = {
    {.name = "include", .act = A_INCLUDE},
    {.name = "exclude", .act = A_EXCLUDE},
    {0},
};
static const struct key fs_keys[] = {
    {.name = "allow", .act = A_FS, .arg = FS_ALLOW},
    {.name = "read", .act = A_FS, .arg = FS_READ},
    {.name = "write", .act = A_FS, .arg = FS_WRITE},
    {.name = "allow_file", .act = A_FS, .arg = FS_ALLOW_FILE},
    {.name = "read_file", .act = A_FS, .arg = FS_READ_FILE},
    {.name = "write_file", .act = A_FS, .arg = FS_WRITE_FILE},
    {.name = "deny", .act = A_FS, .arg = FS_DENY},
    {.name = "bypass_protection", .act = A_FS, .arg = FS_BYPASS},
    {.name = "unix_socket*", .act = A_UNIX},
    {0},
};
static const struct key security_keys[] = {
    {.name = "groups", .act = A_INCLUDE, .legacy_for = "groups.include"},
    {.name = "allowed_commands", .act = A_UNENFORCED, .legacy_for = "commands.allow"},
    {.name = "signal_mode", .act = A_UNENFORCED},
    {.name = "process_info_mode", .act = A_UNENFORCED},
    {.name = "ipc_mode", .act = A_UNENFORCED},
    {.name = "capability_elevation", .act = A_UNENFORCED},
    {0},
};
static const struct key policy_keys[] = {
    {.name = "add_allow_read", .act = A_FS, .arg = FS_READ, .legacy_for = "filesystem.read"},
    {.name = "add_allow_write", .act = A_FS, .arg = FS_WRITE, .legacy_for = "filesystem.write"},
    {.name = "add_allow_readwrite", .act = A_FS, .arg = FS_ALLOW, .legacy_for = "filesystem.allow"},
    {.name = "add_deny_access", .act = A_FS, .arg = FS_DENY, .legacy_for = "filesystem.deny"},
    {.name = "add_deny_commands", .act = A_UNENFORCED, .legacy_for = "commands.deny"},
    {.name = "override_deny",
     .act = A_FS,
     .arg = FS_BYPASS,
     .legacy_for = "filesystem.bypass_protection"},
    {.name = "exclude_groups", .act = A_EXCLUDE, .legacy_for = "groups.exclude"},
    {0},
};
static const struct key network_keys[] = {
    {.name = "block", .act = A_BLOCK},
    {.name = "network_profile", .act = A_NETPROFILE},
    {.name = "allow_domain", .act = A_DOMAINS},
    {.name = "credentials", .act = A_CREDS},
    {.name = "allow_hosts", .act = A_DOMAINS, .legacy_for = "network.allow_domain"},
    {.name = "proxy_allow", .act = A_DOMAINS, .legacy_for = "network.allow_domain"},
    {.name = "allow_proxy", .act = A_DOMAINS, .legacy_for = "network.allow_domain"},
    {.name = "proxy_credentials", .act = A_CREDS, .legacy_for = "network.credentials"},
    {.name = "port_allow", .act = A_UNENFORCED, .legacy_for = "network.open_port"},
    {.name = "allow_port", .act = A_UNENFORCED, .legacy_for = "network.open_port"},
    {.name = "external_proxy", .act = A_UNENFORCED, .legacy_for = "network.upstream_proxy"},
    {.name = "custom_credentials", .act = A_UNENFORCED},
    {.name = "open_port", .act = A_UNENFORCED},
    {.name = "listen_port", .act = A_UNENFORCED},
    {.name = "connect_port", .act = A_UNENFORCED},
    {.name = "upstream_proxy", .act = A_UNENFORCED},
    {.name = "upstream_bypass", .act = A_UNENFORCED},
    {.name = "allow_http2", .act = A_UNENFORCED},
    {.name = "tls_intercept", .act = A_UNENFORCED},
    {0},
};
static const struct key env_keys[] = {
    {.name = "allow_vars", .act = A_ENV_ALLOW},
    {.name = "deny_vars", .act = A_ENV_DENY},
    {.name = "set_vars", .act = A_ENV_SET},
    {0},
};
static const struct key linux_keys[] = {
    {.name = "af_unix_mediation", .act = A_UNENFORCED},
    {.name = "sandbox_policy", .act = A_UNENFORCED},
    {0},
};
static const struct key top_keys[] = {
    {.name = "extends", .act = A_EXTENDS},
    {.name = "meta", .act = A_OBJ, .sub = meta_keys},
    {.name = "workdir", .act = A_OBJ, .sub = workdir_keys},
    {.name = "groups", .act = A_OBJ, .sub = groups_keys},
    {.name = "filesystem", .act = A_OBJ, .sub = fs_keys},
    {.name = "security", .act = A_OBJ, .sub = security_keys},
    {.name = "policy", .act = A_OBJ, .sub = policy_keys},
    {.name = "network", .act = A_OBJ, .sub = network_keys},
    {.name = "environment", .act = A_OBJ, .sub = env_keys},
    {.name = "linux", .act = A_OBJ, .sub = linux_keys},
    {.name = "custom_credentials", .act = A_UNENFORCED},
    {.name = "env_credentials", .act = A_UNENFORCED},
    {.name = "secrets", .act = A_UNENFORCED, .legacy_for = "env_credentials"},
    {.name = "session_hooks", .act = A_UNENFORCED},
    {.name = "commands", .act = A_UNENFORCED},
    {.name = "rollback", .act = A_UNENFORCED},
    {.name = "undo", .act = A_UNENFORCED},
    {.name = "open_urls", .act = A_UNENFORCED},
    {.name = "interactive", .act = A_UNENFORCED},
    {0},
};

static const struct key *find_key(const struct key *tab, const char *name)
{
	for (; tab->name; tab++) {
		size_t n = strlen(tab->name);

		if (tab->name[n - 1] == '*' ? strncmp(name, tab->name, n - 1) == 0
					    : strcmp(name, tab->name) == 0)
			return tab;
	}
	return NULL;
}

static int need_strings(struct ws *w, const struct src *src, const cJSON *v, const char *key)
{
	const cJSON *e;

	if (!cJSON_IsArray(v))
		goto bad;
	cJSON_ArrayForEach(e, v) if (!cJSON_IsString(e)) goto bad;
	return 0;
bad:
	return profile__fail(w, -EINVAL, "profile '%s': '%s' must be an array of strings",
			     src->display, key);
}

static const cJSON *group_get(const struct ws *w, const char *name)
{
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(w->groups, "groups");

	return cJSON_GetObjectItemCaseSensitive(g, name);
}

bool profile__group_required(const cJSON *g)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(g, "required"));
}

int profile__add_groups(struct ws *w, const struct src *src, const cJSON *v, const char *key,
			bool exclude)
{
	const cJSON *e;
	int rc = need_strings(w, src, v, key);

	cJSON_ArrayForEach(e, v)
	{
		const cJSON *g = group_get(w, e->valuestring);

		if (rc < 0)
			return rc;
		if (!g)
			return profile__fail(w, -EINVAL, "profile '%s': '%s': unknown group '%s'",
					     src->display, key, e->valuestring);
		if (exclude && profile__group_required(g))
			return profile__fail(
			    w, -EPERM,
			    "profile '%s': '%s': group '%s' is required and cannot be excluded",
			    src->display, key, e->valuestring);
		rc = profile__strv_add(exclude ? &w->exclude : &w->include, e->valuestring);
	}
	return rc;
}

/* A "when" predicate: "linux", "linux:debian:>=12" hold here; other platforms do not. */
static bool when_holds(const cJSON *when)
{
	const cJSON *e;

	if (cJSON_IsString(when))
		return strncmp(when->valuestring, "linux", 5) == 0 &&
		       (when->valuestring[5] == '\0' || when->valuestring[5] == ':');
	cJSON_ArrayForEach(e, when) if (when_holds(e)) return true;
	return false;
}

static int add_fs(struct ws *w, const struct src *src, const cJSON *v, const char *key,
		  enum fs_kind kind)
{
	const cJSON *e;
	int i = 0;

	if (!cJSON_IsArray(v))
		return profile__fail(w, -EINVAL, "profile '%s': '%s' must be an array of paths",
				     src->display, key);
	cJSON_ArrayForEach(e, v)
	{
		const char *path = cJSON_GetStringValue(e);
		char origin[512];
		struct fs_entry *fs;

		if (cJSON_IsObject(e)) {
			const cJSON *f, *when = NULL;

			cJSON_ArrayForEach(f, e)
			{
				if (strcmp(f->string, "path") == 0 && cJSON_IsString(f))
					path = f->valuestring;
				else if (strcmp(f->string, "when") == 0 &&
					 (cJSON_IsString(f) || cJSON_IsArray(f)))
					when = f;
				else
					return profile__fail(
					    w, -EINVAL, "profile '%s': unknown key '%s[%d].%s'",
					    src->display, key, i, f->string);
			}
			if (path && when && !when_holds(when))
				path = ""; /* another platform's entry */
		}
		i++;
		if (!path)
			return profile__fail(
			    w, -EINVAL, "profile '%s': '%s[%d]' must be a path or {path, when}",
			    src->display, key, i - 1);
		if (!*path)
			continue;
		snprintf(origin, sizeof(origin), "profile %s (%s)", src->name, key);
		fs = realloc(w->fs, (w->n_fs + 1) * sizeof(*fs));
		if (!fs)
			return -ENOMEM;
		w->fs = fs;
		fs[w->n_fs] = (struct fs_entry){strdup(path), kind, strdup(origin)};
		if (!fs[w->n_fs].path || !fs[w->n_fs].origin)
			return -ENOMEM;
		w->n_fs++;
	}
	return 0;
}

static int add_domains(struct ws *w, const char *who, const cJSON *v, const char *key)
{
	const cJSON *e;
	int rc = 0;

	if (!cJSON_IsArray(v))
		return profile__fail(w, -EINVAL, "%s: '%s' must be an array of host names", who,
				     key);
	cJSON_ArrayForEach(e, v)
	{
		const cJSON *d =
		    cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "domain") : e;
		char host[256];

		if (!cJSON_IsString(d))
			return profile__fail(
			    w, -EINVAL, "%s: '%s': entries are host names or {domain, endpoints}",
			    who, key);
		if (profile__host_norm(d->valuestring, host, sizeof(host)) < 0)
			return profile__fail(w, -EINVAL, "%s: '%s': invalid host name '%s'", who,
					     key, d->valuestring);
		if (cJSON_IsObject(e) && cJSON_GetObjectItemCaseSensitive(e, "endpoints"))
			rc = profile__warn(w,
					   "%s: '%s': endpoint rules for '%s' are not enforced by "
					   "nono-supervise (the whole host is allowed)",
					   who, key, host);
		if (rc < 0 || (rc = profile__strv_add(&w->domains, host)) < 0)
			return rc;
	}
	return 0;
}

static bool env_name_ok(const char *s, bool glob)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || (glob && *s == '*')))
			return false;
	return true;
}

static int add_env(struct ws *w, const struct src *src, const cJSON *v, const char *key,
		   struct strv *to)
{
	const cJSON *e;
	int rc = need_strings(w, src, v, key);

	cJSON_ArrayForEach(e, v)
	{
		if (rc < 0)
			return rc;
		if (!env_name_ok(e->valuestring, true))
			return profile__fail(w, -EINVAL,
					     "profile '%s': '%s': invalid variable name '%s'",
					     src->display, key, e->valuestring);
		rc = profile__strv_add(to, e->valuestring);
	}
	return rc;
}

static int set_env(struct ws *w, const struct src *src, const cJSON *v, const char *key)
{
	const cJSON *e;

	if (!cJSON_IsObject(v))
		return profile__fail(w, -EINVAL, "profile '%s': '%s' must be an object of strings",
				     src->display, key);
	cJSON_ArrayForEach(e, v)
	{
		size_t n = strlen(e->string), len;
		char *kv;
		int rc;

		if (!cJSON_IsString(e) || !env_name_ok(e->string, false))
			return profile__fail(
			    w, -EINVAL, "profile '%s': '%s.%s' must be a string with a valid name",
			    src->display, key, e->string);
		for (size_t i = 0; i < w->env_set.n; i++) {
			if (strncmp(w->env_set.v[i], e->string, n) == 0 &&
			    w->env_set.v[i][n] == '=') {
				free(w->env_set.v[i]);
				memmove(&w->env_set.v[i], &w->env_set.v[i + 1],
					(w->env_set.n - i) * sizeof(char *));
				w->env_set.n--;
				break;
			}
		}
		len = n + strlen(e->valuestring) + 2;
		kv = malloc(len);
		if (!kv)
			return -ENOMEM;
		snprintf(kv, len, "%s=%s", e->string, e->valuestring);
		rc = profile__strv_add(&w->env_set, kv);
		free(kv);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int apply(struct ws *w, const struct src *src, const cJSON *obj, const struct key *tab,
		 const char *prefix);

static int apply_one(struct ws *w, const struct src *src, const cJSON *v, const struct key *k,
		     const char *key)
{
	static const char *const access[] = {"none", "read", "write", "readwrite"};
	const char *s = cJSON_GetStringValue(v);
	const cJSON *np;
	int rc = 0;

	switch (k->act) {
	case A_OBJ:
		if (!cJSON_IsObject(v))
			return profile__fail(w, -EINVAL, "profile '%s': '%s' must be an object",
					     src->display, key);
		return apply(w, src, v, k->sub, key);
	case A_META:
		if (!s)
			return profile__fail(w, -EINVAL, "profile '%s': '%s' must be a string",
					     src->display, key);
		return 0;
	case A_EXTENDS:
		return 0; /* loaded before the rest */
	case A_WORKDIR:
		for (unsigned i = 0; s && i < ARRAY_SIZE(access); i++) {
			if (strcmp(s, access[i]) == 0) {
				/* child wins, except that "none" does not take an inherited grant
				 * away */
				if (i)
					w->workdir = i;
				return 0;
			}
		}
		return profile__fail(w, -EINVAL,
				     "profile '%s': '%s' must be none, read, write or readwrite",
				     src->display, key);
	case A_INCLUDE:
	case A_EXCLUDE:
		return profile__add_groups(w, src, v, key, k->act == A_EXCLUDE);
	case A_FS:
		return add_fs(w, src, v, key, (enum fs_kind)k->arg);
	case A_UNIX:
		w->unix_sockets = true;
		return profile__warn(
		    w,
		    "profile '%s': '%s' allows pathname unix sockets: before Landlock ABI "
		    "9 a connect() to any socket path is not mediated",
		    src->display, key);
	case A_BLOCK:
		if (!cJSON_IsBool(v))
			return profile__fail(w, -EINVAL, "profile '%s': '%s' must be true or false",
					     src->display, key);
		w->block = cJSON_IsTrue(v);
		return 0;
	case A_NETPROFILE:
		if (cJSON_IsNull(v)) {
			free(w->net_profile);
			w->net_profile = NULL;
			return 0;
		}
		np = cJSON_GetObjectItemCaseSensitive(w->netdata, "profiles");
		if (!s || !cJSON_GetObjectItemCaseSensitive(np, s))
			return profile__fail(w, -EINVAL,
					     "profile '%s': '%s': unknown network profile '%s'",
					     src->display, key, s ? s : "(not a string)");
		free(w->net_profile);
		w->net_profile = strdup(s);
		return w->net_profile ? 0 : -ENOMEM;
	case A_DOMAINS: {
		char who[PATH_MAX + 16];

		snprintf(who, sizeof(who), "profile '%s'", src->display);
		return add_domains(w, who, v, key);
	}
	case A_CREDS:
		if ((rc = need_strings(w, src, v, key)) < 0)
			return rc;
		if (cJSON_GetArraySize(v) == 0)
			profile__strv_clear(&w->creds); /* credentials: [] drops inherited routes */
		cJSON_ArrayForEach(np, v)
		{
			const cJSON *r = cJSON_GetObjectItemCaseSensitive(w->routes, "routes");

			if (w->routes && !cJSON_GetObjectItemCaseSensitive(r, np->valuestring))
				return profile__fail(
				    w, -EINVAL, "profile '%s': '%s': unknown credential route '%s'",
				    src->display, key, np->valuestring);
			if ((rc = profile__strv_add(&w->creds, np->valuestring)) < 0)
				return rc;
		}
		return 0;
	case A_ENV_ALLOW:
		w->env_allow_set = true;
		return add_env(w, src, v, key, &w->env_allow);
	case A_ENV_DENY:
		return add_env(w, src, v, key, &w->env_deny);
	case A_ENV_SET:
		return set_env(w, src, v, key);
	case A_UNENFORCED:
		return profile__warn(w, "profile '%s': '%s' is not enforced by nono-supervise",
				     src->display, key);
	}
	return -EINVAL;
}

static int apply(struct ws *w, const struct src *src, const cJSON *obj, const struct key *tab,
		 const char *prefix)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, obj)
	{
		const struct key *k = find_key(tab, it->string);
		char key[256];
		int rc;

		snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", it->string);
		if (!k)
			return profile__fail(w, -EINVAL, "profile '%s': unknown key '%s'",
					     src->display, key);
		if (k->legacy_for) {
			rc = profile__warn(w, "profile '%s': '%s' is a legacy key, use '%s'",
					   src->display, key, k->legacy_for);
			if (rc < 0)
				return rc;
		}
		rc = apply_one(w, src, it, k, key);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static bool is_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!(*s == '_' || *s == '-' || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

/* Load REF (a name or a path, relative to base_dir) and what it extends, merging into w. */
int profile__load(struct ws *w, const char *ref, const char *base_dir)
{
	char file[PATH_MAX], canon[PATH_MAX], dir[PATH_MAX];
	const cJSON *ext, *e;
	struct src src;
	cJSON *root = NULL;
	int rc;

	if (strlen(ref) > NAME_MAX)
		return profile__fail(w, -ENAMETOOLONG, "profile '%.64s...': name too long", ref);
	if (is_name(ref)) {
		snprintf(file, sizeof(file), "%s/nono/profiles/%s.json", w->vars[4], ref);
		if (access(file, F_OK) != 0)
			snprintf(file, sizeof(file), "%s/%s.json", w->ctx->data_dir, ref);
		if (access(file, F_OK) != 0)
			return profile__fail(
			    w, -ENOENT,
			    "profile '%s' not found (looked in %s/nono/profiles and %s)", ref,
			    w->vars[4], w->ctx->data_dir);
	} else if (ref[0] != '/' && base_dir) {
		snprintf(file, sizeof(file), "%s/%s", base_dir, ref);
	} else {
		snprintf(file, sizeof(file), "%s", ref);
	}
	if (!realpath(file, canon))
		return profile__fail(w, -errno, "profile '%s': cannot open '%s': %s", ref, file,
				     strerror(errno));
	for (int i = 0; i < w->depth; i++) {
		if (strcmp(w->stack[i], canon) == 0) {
			size_t o = (size_t)snprintf(w->err, w->errlen,
						    "profile '%s': extends cycle: ", file);

			for (int j = i; j < w->depth && o < w->errlen; j++)
				o += (size_t)snprintf(w->err + o, w->errlen - o, "%s -> ",
						      w->stack[j]);
			if (o < w->errlen)
				snprintf(w->err + o, w->errlen - o, "%s", canon);
			return -ELOOP;
		}
	}
	if (w->depth > PROFILE_MAX_DEPTH)
		return profile__fail(w, -ELOOP, "profile '%s': extends chain deeper than %d", file,
				     PROFILE_MAX_DEPTH);
	if ((rc = profile__read_json(w, file, file, &root)) < 0)
		return rc;
	w->stack[w->depth] = strdup(canon);
	if (!w->stack[w->depth++]) {
		rc = -ENOMEM;
		goto out;
	}
	src = (struct src){.display = file, .name = ref};
	snprintf(dir, sizeof(dir), "%s", canon);
	*strrchr(dir, '/') = '\0';
	ext = cJSON_GetObjectItemCaseSensitive(root, "extends");
	if (ext && !cJSON_IsString(ext) && need_strings(w, &src, ext, "extends") < 0) {
		rc = -EINVAL;
		goto out;
	}
	if (cJSON_IsString(ext)) {
		rc = profile__load(w, ext->valuestring, dir);
	} else {
		cJSON_ArrayForEach(e, ext)
		{
			if ((rc = profile__load(w, e->valuestring, dir)) < 0)
				goto out;
		}
	}
	if (rc >= 0)
		rc = apply(w, &src, root, top_keys, "");
out:
	free(w->stack[--w->depth]);
	cJSON_Delete(root);
	return rc;
}

/* Merge a profile object given as text (command-line flags) over what is loaded already. */
int profile__load_text(struct ws *w, const char *text, const char *display)
{
	struct src src = {.display = display, .name = display};
	cJSON *root = cJSON_Parse(text);
	int rc = cJSON_IsObject(root) ? apply(w, &src, root, top_keys, "")
				      : profile__fail(w, -EINVAL, "%s: not a profile object", display);

	cJSON_Delete(root);
	return rc;
}
