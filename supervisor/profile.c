/* profile: load nono profiles (JSON/JSONC, extends, groups) and compile them into a struct policy.
 */
#include "profile.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct strv {
	char **v; /* NULL-terminated once non-empty */
	size_t n;
};

enum fs_kind {
	FS_ALLOW,
	FS_READ,
	FS_WRITE,
	FS_ALLOW_FILE,
	FS_READ_FILE,
	FS_WRITE_FILE,
	FS_DENY,
	FS_BYPASS,
};

struct fs_entry {
	char *path; /* as written (variables not yet expanded) */
	enum fs_kind kind;
	char *origin; /* "profile NAME (filesystem.read)" */
};

struct deny {
	char *canon; /* symlinks of the existing prefix resolved, for comparisons */
	bool lifted;
};

/* One compilation: the merged profile, the data files, then the policy being built. */
struct ws {
	const struct profile_ctx *ctx;
	char *err;
	size_t errlen;
	cJSON *groups, *netdata, *routes; /* data files; routes may be NULL */
	char vars[11][PATH_MAX];	  /* values of var_names[] */
	/* the merged profile */
	struct strv include, exclude;
	struct fs_entry *fs;
	size_t n_fs;
	unsigned workdir;
	bool block;
	char *net_profile;
	struct strv domains, creds, env_allow, env_deny, env_set;
	bool env_allow_set, unix_sockets;
	struct strv warnings;
	char *stack[PROFILE_MAX_DEPTH + 2]; /* canonical files being loaded (cycle check) */
	int depth;
	/* the policy being built */
	struct policy_path *paths;
	size_t n_paths;
	struct policy_deny *denies;
	struct deny *dx;
	size_t n_denies;
};

static const char *const var_names[] = {
    "HOME",
    "WORKDIR",
    "TMPDIR",
    "UID",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_CACHE_HOME",
    "XDG_RUNTIME_DIR",
    "NONO_CONFIG",
    "NONO_PACKAGES",
};

static void strv_clear(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	*s = (struct strv){0};
}

static bool strv_has(const struct strv *s, const char *str)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], str) == 0)
			return true;
	return false;
}

/* Append a copy of str unless already present. */
static int strv_add(struct strv *s, const char *str)
{
	char **v;

	if (strv_has(s, str))
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

/* Hand over the vector as a NULL-terminated array (never NULL itself). */
static char **strv_steal(struct strv *s)
{
	char **v = s->v ? s->v : calloc(1, sizeof(*v));

	*s = (struct strv){0};
	return v;
}

static int fail(struct ws *w, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->err, w->errlen, fmt, ap);
	va_end(ap);
	return rc;
}

static int warn(struct ws *w, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return strv_add(&w->warnings, msg);
}

static bool is_under(const char *child, const char *parent)
{
	size_t n = strlen(parent);

	if (strcmp(parent, "/") == 0)
		return child[0] == '/' && child[1] != '\0';
	return strncmp(child, parent, n) == 0 && child[n] == '/';
}

static bool at_or_under(const char *child, const char *parent)
{
	return strcmp(child, parent) == 0 || is_under(child, parent);
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
static int read_json(struct ws *w, const char *file, const char *display, cJSON **out)
{
	const char *end = NULL;
	FILE *f = fopen(file, "re");
	char *text;
	size_t n;
	int line = 1;

	if (!f)
		return fail(w, -errno, "profile '%s': cannot open '%s': %s", display, file,
			    strerror(errno));
	text = malloc(PROFILE_MAX_SIZE + 1);
	if (!text) {
		fclose(f);
		return fail(w, -ENOMEM, "out of memory");
	}
	n = fread(text, 1, PROFILE_MAX_SIZE + 1, f);
	fclose(f);
	if (n > PROFILE_MAX_SIZE) {
		free(text);
		return fail(w, -EFBIG, "profile '%s': larger than %d bytes", display,
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
			return fail(w, -EINVAL, "profile '%s': line %d: invalid JSON", display,
				    line);
		cJSON_Delete(*out);
		*out = NULL;
		return fail(w, -EINVAL, "profile '%s': not a JSON object", display);
	}
	free(text);
	return 0;
}

/* Normalise an absolute path lexically: no "//", "." or "..", no trailing '/'. */
static void normalize(char *path)
{
	char tmp[PATH_MAX];
	const char *p = path;
	size_t t = 0;

	while (*p) {
		const char *s;
		size_t n;

		while (*p == '/')
			p++;
		s = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - s);
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (t > 0 && tmp[--t] != '/')
				;
			continue;
		}
		tmp[t++] = '/';
		memcpy(tmp + t, s, n);
		t += n;
	}
	if (t == 0)
		tmp[t++] = '/';
	tmp[t] = '\0';
	memcpy(path, tmp, t + 1);
}

/* Expand a leading ~ and $VAR / ${VAR}, then normalise. The result must be absolute. */
static int expand(const struct ws *w, const char *in, char *out, size_t len)
{
	size_t o = 0;

	if (in[0] == '~' && (in[1] == '/' || in[1] == '\0')) {
		o = (size_t)snprintf(out, len, "%s", w->vars[0]);
		in++;
	}
	while (*in && o < len) {
		bool brace = in[0] == '$' && in[1] == '{';
		size_t i, n = 0;

		if (in[0] != '$') {
			out[o++] = *in++;
			continue;
		}
		for (i = 0; i < ARRAY_SIZE(var_names); i++) {
			const char *v = in + 1 + brace;
			char next;

			n = strlen(var_names[i]);
			if (strncmp(v, var_names[i], n) != 0)
				continue;
			next = v[n];
			if (brace ? next == '}'
				  : !(next == '_' || (next >= 'A' && next <= 'Z') ||
				      (next >= '0' && next <= '9')))
				break;
		}
		if (i == ARRAY_SIZE(var_names))
			return -EINVAL;
		o += (size_t)snprintf(out + o, len - o, "%s", w->vars[i]);
		in += 1 + n + 2 * brace;
	}
	if (o >= len)
		return -ENAMETOOLONG;
	out[o] = '\0';
	if (out[0] != '/')
		return -EDOM;
	normalize(out);
	return 0;
}

/* Lowercase, strip a trailing dot, check the labels. "*.suffix" is allowed. */
static int host_norm(const char *in, char *out, size_t len)
{
	size_t n = strlen(in), label = 0;
	const char *p = in;

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
	return 0;
}

/* A profile file being applied: display names it in errors, name in origins. */
struct src {
	const char *display;
	const char *name;
};

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
	return fail(w, -EINVAL, "profile '%s': '%s' must be an array of strings", src->display,
		    key);
}

static const cJSON *group_get(const struct ws *w, const char *name)
{
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(w->groups, "groups");

	return cJSON_GetObjectItemCaseSensitive(g, name);
}

static bool group_required(const cJSON *g)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(g, "required"));
}

static int add_groups(struct ws *w, const struct src *src, const cJSON *v, const char *key,
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
			return fail(w, -EINVAL, "profile '%s': '%s': unknown group '%s'",
				    src->display, key, e->valuestring);
		if (exclude && group_required(g))
			return fail(
			    w, -EPERM,
			    "profile '%s': '%s': group '%s' is required and cannot be excluded",
			    src->display, key, e->valuestring);
		rc = strv_add(exclude ? &w->exclude : &w->include, e->valuestring);
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
		return fail(w, -EINVAL, "profile '%s': '%s' must be an array of paths",
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
					return fail(w, -EINVAL,
						    "profile '%s': unknown key '%s[%d].%s'",
						    src->display, key, i, f->string);
			}
			if (path && when && !when_holds(when))
				path = ""; /* another platform's entry */
		}
		i++;
		if (!path)
			return fail(w, -EINVAL,
				    "profile '%s': '%s[%d]' must be a path or {path, when}",
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
		return fail(w, -EINVAL, "%s: '%s' must be an array of host names", who, key);
	cJSON_ArrayForEach(e, v)
	{
		const cJSON *d =
		    cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "domain") : e;
		char host[256];

		if (!cJSON_IsString(d))
			return fail(w, -EINVAL,
				    "%s: '%s': entries are host names or {domain, endpoints}", who,
				    key);
		if (host_norm(d->valuestring, host, sizeof(host)) < 0)
			return fail(w, -EINVAL, "%s: '%s': invalid host name '%s'", who, key,
				    d->valuestring);
		if (cJSON_IsObject(e) && cJSON_GetObjectItemCaseSensitive(e, "endpoints"))
			rc = warn(w,
				  "%s: '%s': endpoint rules for '%s' are not enforced by "
				  "nono-supervise (the whole host is allowed)",
				  who, key, host);
		if (rc < 0 || (rc = strv_add(&w->domains, host)) < 0)
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
			return fail(w, -EINVAL, "profile '%s': '%s': invalid variable name '%s'",
				    src->display, key, e->valuestring);
		rc = strv_add(to, e->valuestring);
	}
	return rc;
}

static int set_env(struct ws *w, const struct src *src, const cJSON *v, const char *key)
{
	const cJSON *e;

	if (!cJSON_IsObject(v))
		return fail(w, -EINVAL, "profile '%s': '%s' must be an object of strings",
			    src->display, key);
	cJSON_ArrayForEach(e, v)
	{
		size_t n = strlen(e->string), len;
		char *kv;
		int rc;

		if (!cJSON_IsString(e) || !env_name_ok(e->string, false))
			return fail(w, -EINVAL,
				    "profile '%s': '%s.%s' must be a string with a valid name",
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
		rc = strv_add(&w->env_set, kv);
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
			return fail(w, -EINVAL, "profile '%s': '%s' must be an object",
				    src->display, key);
		return apply(w, src, v, k->sub, key);
	case A_META:
		if (!s)
			return fail(w, -EINVAL, "profile '%s': '%s' must be a string", src->display,
				    key);
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
		return fail(w, -EINVAL, "profile '%s': '%s' must be none, read, write or readwrite",
			    src->display, key);
	case A_INCLUDE:
	case A_EXCLUDE:
		return add_groups(w, src, v, key, k->act == A_EXCLUDE);
	case A_FS:
		return add_fs(w, src, v, key, (enum fs_kind)k->arg);
	case A_UNIX:
		w->unix_sockets = true;
		return warn(w,
			    "profile '%s': '%s' allows pathname unix sockets: before Landlock ABI "
			    "9 a connect() to any socket path is not mediated",
			    src->display, key);
	case A_BLOCK:
		if (!cJSON_IsBool(v))
			return fail(w, -EINVAL, "profile '%s': '%s' must be true or false",
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
			return fail(w, -EINVAL, "profile '%s': '%s': unknown network profile '%s'",
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
			strv_clear(&w->creds); /* credentials: [] drops inherited routes */
		cJSON_ArrayForEach(np, v)
		{
			const cJSON *r = cJSON_GetObjectItemCaseSensitive(w->routes, "routes");

			if (w->routes && !cJSON_GetObjectItemCaseSensitive(r, np->valuestring))
				return fail(w, -EINVAL,
					    "profile '%s': '%s': unknown credential route '%s'",
					    src->display, key, np->valuestring);
			if ((rc = strv_add(&w->creds, np->valuestring)) < 0)
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
		return warn(w, "profile '%s': '%s' is not enforced by nono-supervise", src->display,
			    key);
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
			return fail(w, -EINVAL, "profile '%s': unknown key '%s'", src->display,
				    key);
		if (k->legacy_for) {
			rc = warn(w, "profile '%s': '%s' is a legacy key, use '%s'", src->display,
				  key, k->legacy_for);
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
static int load(struct ws *w, const char *ref, const char *base_dir)
{
	char file[PATH_MAX], canon[PATH_MAX], dir[PATH_MAX];
	const cJSON *ext, *e;
	struct src src;
	cJSON *root = NULL;
	int rc;

	if (strlen(ref) > NAME_MAX)
		return fail(w, -ENAMETOOLONG, "profile '%.64s...': name too long", ref);
	if (is_name(ref)) {
		snprintf(file, sizeof(file), "%s/nono/profiles/%s.json", w->vars[4], ref);
		if (access(file, F_OK) != 0)
			snprintf(file, sizeof(file), "%s/%s.json", w->ctx->data_dir, ref);
		if (access(file, F_OK) != 0)
			return fail(w, -ENOENT,
				    "profile '%s' not found (looked in %s/nono/profiles and %s)",
				    ref, w->vars[4], w->ctx->data_dir);
	} else if (ref[0] != '/' && base_dir) {
		snprintf(file, sizeof(file), "%s/%s", base_dir, ref);
	} else {
		snprintf(file, sizeof(file), "%s", ref);
	}
	if (!realpath(file, canon))
		return fail(w, -errno, "profile '%s': cannot open '%s': %s", ref, file,
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
		return fail(w, -ELOOP, "profile '%s': extends chain deeper than %d", file,
			    PROFILE_MAX_DEPTH);
	if ((rc = read_json(w, file, file, &root)) < 0)
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
		rc = load(w, ext->valuestring, dir);
	} else {
		cJSON_ArrayForEach(e, ext) if ((rc = load(w, e->valuestring, dir)) < 0) goto out;
	}
	if (rc >= 0)
		rc = apply(w, &src, root, top_keys, "");
out:
	free(w->stack[--w->depth]);
	cJSON_Delete(root);
	return rc;
}

/*
 * Resolve a grant: symlinks resolved with realpath, except below /proc and /dev, kept literal
 * (realpath would turn /proc/self into the supervisor's pid, /dev/stdin into its tty).
 */
static int canon_grant(const char *path, char *out, bool *is_file)
{
	struct stat st;

	if (strncmp(path, "/proc/", 6) == 0 || strncmp(path, "/dev/", 5) == 0) {
		if (stat(path, &st) < 0)
			return -errno;
		snprintf(out, PATH_MAX, "%s", path);
	} else if (!realpath(path, out) || stat(out, &st) < 0) {
		return -errno;
	}
	*is_file = !S_ISDIR(st.st_mode);
	return 0;
}

/* A deny need not exist: resolve its longest existing prefix, keep the rest. */
static void canon_deny(const char *path, char *out)
{
	char pre[PATH_MAX], res[PATH_MAX];
	size_t n = strlen(path);

	snprintf(pre, sizeof(pre), "%s", path);
	while (n > 0 && n < sizeof(pre)) {
		pre[n] = '\0';
		if (realpath(pre, res)) {
			snprintf(out, PATH_MAX, "%s%s", strcmp(res, "/") ? res : "", path + n);
			return;
		}
		while (n > 0 && pre[--n] != '/')
			;
	}
	snprintf(out, PATH_MAX, "%s", path);
}

static int add_grant(struct ws *w, const char *path, unsigned access, bool is_file,
		     const char *origin)
{
	struct policy_path *p;

	for (size_t i = 0; i < w->n_paths; i++) {
		if (strcmp(w->paths[i].path, path) == 0) {
			w->paths[i].access |= access; /* merged: the first origin stays */
			return 0;
		}
	}
	p = realloc(w->paths, (w->n_paths + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	w->paths = p;
	p[w->n_paths] = (struct policy_path){
	    .path = strdup(path),
	    .access = access,
	    .is_file = is_file,
	    .origin = strdup(origin),
	};
	if (!p[w->n_paths].path || !p[w->n_paths].origin)
		return -ENOMEM;
	w->n_paths++;
	return 0;
}

static int add_deny(struct ws *w, const char *path, const char *origin)
{
	struct policy_deny *d;
	struct deny *x;
	char canon[PATH_MAX];

	for (size_t i = 0; i < w->n_denies; i++)
		if (strcmp(w->denies[i].path, path) == 0)
			return 0;
	d = realloc(w->denies, (w->n_denies + 1) * sizeof(*d));
	if (d)
		w->denies = d;
	x = realloc(w->dx, (w->n_denies + 1) * sizeof(*x));
	if (x)
		w->dx = x;
	if (!d || !x)
		return -ENOMEM;
	canon_deny(path, canon);
	d[w->n_denies] = (struct policy_deny){.path = strdup(path), .origin = strdup(origin)};
	x[w->n_denies] = (struct deny){.canon = strdup(canon)};
	w->n_denies++;
	if (!d[w->n_denies - 1].path || !d[w->n_denies - 1].origin || !x[w->n_denies - 1].canon)
		return -ENOMEM;
	return 0;
}

static const char *const access_words[] = {"deny", "read", "write", "readwrite"};

static int compile_groups(struct ws *w)
{
	const cJSON *g;

	cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(w->groups, "groups"))
	{
		const char *acc =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g, "access"));
		const cJSON *paths = cJSON_GetObjectItemCaseSensitive(g, "paths"), *e;
		char origin[128], path[PATH_MAX], canon[PATH_MAX];
		unsigned access = 0, missing = 0, total = 0;
		int rc;

		if (!group_required(g) &&
		    (!strv_has(&w->include, g->string) || strv_has(&w->exclude, g->string)))
			continue;
		for (unsigned i = 0; acc && i < ARRAY_SIZE(access_words); i++)
			if (strcmp(acc, access_words[i]) == 0)
				access = i | 4;
		if (!access || !cJSON_IsArray(paths))
			return fail(w, -EINVAL,
				    "groups.json: group '%s' needs an access and a paths array",
				    g->string);
		access &= 3;
		snprintf(origin, sizeof(origin), "group %s", g->string);
		cJSON_ArrayForEach(e, paths)
		{
			bool is_file;

			if (!cJSON_IsString(e) ||
			    (rc = expand(w, e->valuestring, path, sizeof(path))) < 0)
				return fail(w, -EINVAL, "groups.json: group '%s': bad path",
					    g->string);
			total++;
			if (!access) {
				rc = add_deny(w, path, origin);
			} else if (canon_grant(path, canon, &is_file) < 0) {
				missing++;
				continue;
			} else {
				rc = add_grant(w, canon, access, is_file, origin);
			}
			if (rc < 0)
				return rc;
		}
		if (missing &&
		    (rc = warn(w, "group '%s': %u of %u paths do not exist here, skipped",
			       g->string, missing, total)) < 0)
			return rc;
	}
	return 0;
}

static bool under_home(const struct ws *w, const char *path)
{
	return at_or_under(path, w->vars[0]) || at_or_under(path, w->vars[1]);
}

/*
 * One path the profile or the service names. A missing one is an error, except a profile's
 * read-only grants of system paths (outside $HOME and the workdir): those vary between
 * distributions (the Node.js guide's /etc/ssl/cert.pem is not on Debian) and are skipped with a
 * warning.
 */
static int named_path(struct ws *w, const char *raw, enum fs_kind kind, const char *origin,
		      const char *who, bool lenient)
{
	static const unsigned kind_access[] = {
	    [FS_ALLOW] = POLICY_READ | POLICY_WRITE,
	    [FS_READ] = POLICY_READ,
	    [FS_WRITE] = POLICY_WRITE,
	    [FS_ALLOW_FILE] = POLICY_READ | POLICY_WRITE,
	    [FS_READ_FILE] = POLICY_READ,
	    [FS_WRITE_FILE] = POLICY_WRITE,
	};
	char path[PATH_MAX], canon[PATH_MAX];
	bool is_file;
	int rc = expand(w, raw, path, sizeof(path));

	if (rc == -EINVAL)
		return fail(w, rc,
			    "%s: '%s' (%s): unknown variable (known: ~ $HOME $WORKDIR $TMPDIR $UID "
			    "$XDG_*_HOME $XDG_RUNTIME_DIR)",
			    who, raw, origin);
	if (rc < 0)
		return fail(w, -EINVAL, "%s: '%s' (%s): not an absolute path", who, raw, origin);
	if (kind == FS_DENY)
		return add_deny(w, path, origin);
	if (kind == FS_BYPASS)
		return 0; /* used by lift_denies */
	rc = canon_grant(path, canon, &is_file);
	if ((rc == -ENOENT || rc == -ENOTDIR) && lenient && kind_access[kind] == POLICY_READ &&
	    !under_home(w, path))
		return warn(w, "%s: '%s' (%s) does not exist here, skipped", who, path, origin);
	if (rc < 0)
		return fail(w, rc, "%s: path '%s' (%s): %s", who, path, origin, strerror(-rc));
	return add_grant(w, canon, kind_access[kind], is_file, origin);
}

static int compile_named(struct ws *w, const char *who)
{
	static const struct {
		const char *key;
		enum fs_kind kind;
	} svc[] = {{"read", FS_READ}, {"write", FS_ALLOW}};
	char origin[256];
	int rc;

	if (w->workdir) {
		bool is_file;
		char canon[PATH_MAX];

		if ((rc = canon_grant(w->vars[1], canon, &is_file)) < 0)
			return fail(w, rc, "%s: workdir '%s': %s", who, w->vars[1], strerror(-rc));
		if ((rc = add_grant(w, canon, w->workdir, is_file, "workdir")) < 0)
			return rc;
	}
	for (size_t i = 0; i < w->n_fs; i++)
		if ((rc = named_path(w, w->fs[i].path, w->fs[i].kind, w->fs[i].origin, who, true)) <
		    0)
			return rc;
	for (size_t k = 0; k < ARRAY_SIZE(svc); k++) {
		char **v = k ? w->ctx->write : w->ctx->read;

		snprintf(origin, sizeof(origin), "service %s (%s =)",
			 w->ctx->service ? w->ctx->service : "?", svc[k].key);
		for (size_t i = 0; v && v[i]; i++)
			if ((rc = named_path(w, v[i], svc[k].kind, origin, who, false)) < 0)
				return rc;
	}
	return 0;
}

static void remove_grant(struct ws *w, size_t i)
{
	free(w->paths[i].path);
	free(w->paths[i].origin);
	memmove(&w->paths[i], &w->paths[i + 1], (w->n_paths - i - 1) * sizeof(*w->paths));
	w->n_paths--;
}

static bool granted(const struct ws *w, const char *path)
{
	for (size_t i = 0; i < w->n_paths; i++)
		if (at_or_under(path, w->paths[i].path))
			return true;
	return false;
}

/*
 * Effective set: bypass_protection lifts a deny at or below it when the path is also granted;
 * grants at or below a remaining deny are dropped; a deny strictly below a granted directory
 * cannot be enforced by Landlock (it only adds rights), so the policy is refused.
 */
static int settle(struct ws *w, const char *who)
{
	int rc;

	for (size_t b = 0; b < w->n_fs; b++) {
		char path[PATH_MAX], canon[PATH_MAX];
		bool used = false;

		if (w->fs[b].kind != FS_BYPASS || expand(w, w->fs[b].path, path, sizeof(path)) < 0)
			continue;
		canon_deny(path, canon);
		for (size_t d = 0; d < w->n_denies; d++) {
			if (!at_or_under(w->dx[d].canon, canon) || !granted(w, w->dx[d].canon))
				continue;
			used = w->dx[d].lifted = true;
			rc = warn(w, "deny '%s' (%s) lifted by %s", w->denies[d].path,
				  w->denies[d].origin, w->fs[b].origin);
			if (rc < 0)
				return rc;
		}
		if (!used &&
		    (rc = warn(w, "'%s' (%s) lifts no deny: nothing denied there is also granted",
			       path, w->fs[b].origin)) < 0)
			return rc;
	}
	for (size_t d = 0; d < w->n_denies; d++) {
		if (w->dx[d].lifted)
			continue;
		for (size_t i = 0; i < w->n_paths;) {
			const struct policy_path *g = &w->paths[i];

			if (!at_or_under(g->path, w->dx[d].canon)) {
				i++;
				continue;
			}
			if (strncmp(g->origin, "group ", 6) != 0 &&
			    (rc = warn(w,
				       "'%s' (%s) is not granted: denied by %s (hint: "
				       "filesystem.bypass_protection)",
				       g->path, g->origin, w->denies[d].origin)) < 0)
				return rc;
			remove_grant(w, i);
		}
		for (size_t i = 0; i < w->n_paths; i++) {
			const struct policy_path *g = &w->paths[i];

			if (g->is_file || !(is_under(w->dx[d].canon, g->path) ||
					    is_under(w->denies[d].path, g->path)))
				continue;
			return fail(
			    w, -EPERM,
			    "%s: deny path '%s' (%s) lies inside the granted directory '%s' (%s); "
			    "Landlock cannot enforce a deny inside a grant (hint: grant narrower "
			    "directories, or list the path in filesystem.bypass_protection)",
			    who, w->denies[d].path, w->denies[d].origin, g->path, g->origin);
		}
	}
	/* lifted denies leave the policy */
	{
		size_t o = 0;

		for (size_t d = 0; d < w->n_denies; d++) {
			if (!w->dx[d].lifted) {
				w->denies[o] = w->denies[d];
				w->dx[o++] = w->dx[d];
				continue;
			}
			free(w->denies[d].path);
			free(w->denies[d].origin);
			free(w->dx[d].canon);
		}
		w->n_denies = o;
	}
	return 0;
}

static int compile_network(struct ws *w, const char *who, struct strv *hosts)
{
	const cJSON *prof = NULL, *g, *h,
		    *groups = cJSON_GetObjectItemCaseSensitive(w->netdata, "groups");
	char host[256];
	int rc;

	if (w->net_profile)
		prof = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(w->netdata, "profiles"), w->net_profile);
	cJSON_ArrayForEach(g, prof)
	{
		const cJSON *list =
		    cJSON_GetObjectItemCaseSensitive(groups, cJSON_GetStringValue(g));

		if (!cJSON_IsArray(list))
			return fail(w, -EINVAL,
				    "network-profiles.json: profile '%s': unknown host group '%s'",
				    w->net_profile, cJSON_GetStringValue(g) ? g->valuestring : "?");
		cJSON_ArrayForEach(h, list)
		{
			if (!cJSON_IsString(h) || host_norm(h->valuestring, host, sizeof(host)) < 0)
				return fail(w, -EINVAL,
					    "network-profiles.json: group '%s': invalid host name",
					    g->valuestring);
			if ((rc = strv_add(hosts, host)) < 0)
				return rc;
		}
	}
	for (size_t i = 0; i < w->domains.n; i++)
		if ((rc = strv_add(hosts, w->domains.v[i])) < 0)
			return rc;
	for (size_t i = 0; w->ctx->allow_domain && w->ctx->allow_domain[i]; i++) {
		if (host_norm(w->ctx->allow_domain[i], host, sizeof(host)) < 0)
			return fail(w, -EINVAL, "%s: allow_domain: invalid host name '%s'", who,
				    w->ctx->allow_domain[i]);
		if ((rc = strv_add(hosts, host)) < 0)
			return rc;
	}
	if (w->block && hosts->n) {
		rc = warn(w, "network.block is set: %zu allowed host(s) ignored", hosts->n);
		strv_clear(hosts);
		free(w->net_profile);
		w->net_profile = NULL;
		return rc;
	}
	return 0;
}

static void ws_free(struct ws *w)
{
	struct strv *v[] = {&w->include,   &w->exclude,	 &w->domains, &w->creds,
			    &w->env_allow, &w->env_deny, &w->env_set, &w->warnings};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		strv_clear(v[i]);
	for (size_t i = 0; i < w->n_fs; i++) {
		free(w->fs[i].path);
		free(w->fs[i].origin);
	}
	for (size_t i = 0; i < w->n_paths; i++) {
		free(w->paths[i].path);
		free(w->paths[i].origin);
	}
	for (size_t i = 0; i < w->n_denies; i++) {
		free(w->denies[i].path);
		free(w->denies[i].origin);
		free(w->dx[i].canon);
	}
	free(w->fs);
	free(w->paths);
	free(w->denies);
	free(w->dx);
	free(w->net_profile);
	cJSON_Delete(w->groups);
	cJSON_Delete(w->netdata);
	cJSON_Delete(w->routes);
	free(w);
}

static int load_data(struct ws *w, const char *name, cJSON **out, bool optional)
{
	char file[PATH_MAX];

	snprintf(file, sizeof(file), "%s/%s", w->ctx->data_dir, name);
	if (optional && access(file, F_OK) != 0)
		return 0;
	return read_json(w, file, file, out);
}

/* Values of var_names[], in that order; unset XDG directories get their usual defaults. */
static int set_vars(struct ws *w)
{
	static const char *const home_rel[] = {
	    [4] = "/.config",
	    [5] = "/.local/share",
	    [6] = "/.local/state",
	    [7] = "/.cache",
	};
	const struct profile_ctx *c = w->ctx;
	const char *given[] = {c->home,
			       c->workdir,
			       c->tmpdir,
			       NULL,
			       c->xdg_config_home,
			       c->xdg_data_home,
			       c->xdg_state_home,
			       c->xdg_cache_home,
			       c->xdg_runtime_dir};

	for (size_t i = 0; i < ARRAY_SIZE(given); i++) {
		if (given[i] && strlen(given[i]) >= PATH_MAX - 32)
			return -ENAMETOOLONG; /* room for the XDG suffixes */
		if (given[i])
			snprintf(w->vars[i], PATH_MAX, "%s", given[i]);
		else if (i == 2)
			snprintf(w->vars[i], PATH_MAX, "/tmp");
		else if (i == 3 || i == 8)
			snprintf(w->vars[i], PATH_MAX, "%s%u", i == 8 ? "/run/user/" : "",
				 (unsigned)c->uid);
		else
			snprintf(w->vars[i], PATH_MAX, "%s%s", c->home, home_rel[i]);
		if (i == 3)
			continue;
		if (w->vars[i][0] != '/')
			return -EINVAL;
		normalize(w->vars[i]);
	}
	snprintf(w->vars[9], PATH_MAX, "%s/nono", w->vars[4]);
	snprintf(w->vars[10], PATH_MAX, "%s/nono/packages", w->vars[5]);
	return 0;
}

int profile_compile(const char *name_or_path, const struct profile_ctx *ctx, struct policy *out,
		    char *err, size_t errlen)
{
	struct ws *w = calloc(1, sizeof(*w));
	struct strv hosts = {0};
	cJSON *def = NULL;
	char who[256], canon[PATH_MAX];
	int rc;

	*out = (struct policy){0};
	if (errlen)
		err[0] = '\0';
	if (!w)
		return -ENOMEM;
	*w = (struct ws){.ctx = ctx, .err = err, .errlen = errlen};
	if (ctx->service)
		snprintf(who, sizeof(who), "service '%s'", ctx->service);
	else
		snprintf(who, sizeof(who), "profile '%s'", name_or_path);
	if (!ctx->data_dir || !ctx->home || !ctx->workdir || set_vars(w) < 0) {
		rc = fail(w, -EINVAL, "%s: home, workdir and data directory must be absolute paths",
			  who);
		goto out;
	}
	if ((rc = load_data(w, "groups.json", &w->groups, false)) < 0 ||
	    (rc = load_data(w, "network-profiles.json", &w->netdata, false)) < 0 ||
	    (rc = load_data(w, "routes.json", &w->routes, true)) < 0 ||
	    (rc = load_data(w, "default.json", &def, false)) < 0)
		goto out;
	/* nono's effective set starts from the default profile's groups, whatever is extended */
	rc = add_groups(w, &(struct src){.display = "default.json"},
			cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(def, "groups"), "include"),
			"groups.include", false);
	if (rc < 0 || (rc = load(w, name_or_path, NULL)) < 0 || (rc = compile_groups(w)) < 0 ||
	    (rc = compile_named(w, who)) < 0 || (rc = settle(w, who)) < 0 ||
	    (rc = compile_network(w, who, &hosts)) < 0)
		goto out;
	*out = (struct policy){
	    .profile = strdup(name_or_path),
	    .paths = w->paths,
	    .n_paths = w->n_paths,
	    .denies = w->denies,
	    .n_denies = w->n_denies,
	    .workdir = strdup(realpath(w->vars[1], canon) ? canon : w->vars[1]),
	    .net = w->block ? POLICY_NET_BLOCKED : POLICY_NET_PROXY,
	    .network_profile = w->net_profile,
	    .allow_hosts = strv_steal(&hosts),
	    .credentials = strv_steal(&w->creds),
	    .allow_unix_sockets = w->unix_sockets,
	    .env_allow = w->env_allow_set ? strv_steal(&w->env_allow) : NULL,
	    .env_deny = strv_steal(&w->env_deny),
	    .env_set = strv_steal(&w->env_set),
	    .warnings = strv_steal(&w->warnings),
	};
	for (size_t i = 0; i < w->n_denies; i++)
		free(w->dx[i].canon);
	w->paths = NULL;
	w->denies = NULL;
	w->n_paths = w->n_denies = 0;
	w->net_profile = NULL;
	if (!out->profile || !out->workdir || !out->allow_hosts || !out->credentials ||
	    !out->env_deny || !out->env_set || !out->warnings ||
	    (w->env_allow_set && !out->env_allow)) {
		policy_free(out);
		rc = fail(w, -ENOMEM, "%s: out of memory", who);
	}
out:
	if (rc < 0 && errlen && !err[0])
		fail(w, rc, "%s: %s", who, strerror(-rc));
	strv_clear(&hosts);
	cJSON_Delete(def);
	ws_free(w);
	return rc;
}
