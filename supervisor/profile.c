/* profile: compile a merged nono profile (groups, paths, denies, network, environment) into a
 * struct policy.
 */
#include "profile.h"
#include "profile_internal.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct deny {
	char *canon; /* symlinks of the existing prefix resolved, for comparisons */
	bool lifted;
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

/* Hand over the vector as a NULL-terminated array (never NULL itself). */
static char **strv_steal(struct strv *s)
{
	char **v = s->v ? s->v : calloc(1, sizeof(*v));

	*s = (struct strv){0};
	return v;
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

		if (!profile__group_required(g) && (!profile__strv_has(&w->include, g->string) ||
						    profile__strv_has(&w->exclude, g->string)))
			continue;
		for (unsigned i = 0; acc && i < ARRAY_SIZE(access_words); i++)
			if (strcmp(acc, access_words[i]) == 0)
				access = i | 4;
		if (!access || !cJSON_IsArray(paths))
			return profile__fail(
			    w, -EINVAL, "groups.json: group '%s' needs an access and a paths array",
			    g->string);
		access &= 3;
		snprintf(origin, sizeof(origin), "group %s", g->string);
		cJSON_ArrayForEach(e, paths)
		{
			bool is_file;

			if (!cJSON_IsString(e) ||
			    (rc = expand(w, e->valuestring, path, sizeof(path))) < 0)
				return profile__fail(
				    w, -EINVAL, "groups.json: group '%s': bad path", g->string);
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
		    (rc = profile__warn(w, "group '%s': %u of %u paths do not exist here, skipped",
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
		return profile__fail(
		    w, rc,
		    "%s: '%s' (%s): unknown variable (known: ~ $HOME $WORKDIR $TMPDIR $UID "
		    "$XDG_*_HOME $XDG_RUNTIME_DIR)",
		    who, raw, origin);
	if (rc < 0)
		return profile__fail(w, -EINVAL, "%s: '%s' (%s): not an absolute path", who, raw,
				     origin);
	if (kind == FS_DENY)
		return add_deny(w, path, origin);
	if (kind == FS_BYPASS)
		return 0; /* used by lift_denies */
	rc = canon_grant(path, canon, &is_file);
	if ((rc == -ENOENT || rc == -ENOTDIR) && lenient && kind_access[kind] == POLICY_READ &&
	    !under_home(w, path))
		return profile__warn(w, "%s: '%s' (%s) does not exist here, skipped", who, path,
				     origin);
	if (rc < 0)
		return profile__fail(w, rc, "%s: path '%s' (%s): %s", who, path, origin,
				     strerror(-rc));
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
			return profile__fail(w, rc, "%s: workdir '%s': %s", who, w->vars[1],
					     strerror(-rc));
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
			rc = profile__warn(w, "deny '%s' (%s) lifted by %s", w->denies[d].path,
					   w->denies[d].origin, w->fs[b].origin);
			if (rc < 0)
				return rc;
		}
		if (!used &&
		    (rc = profile__warn(
			 w, "'%s' (%s) lifts no deny: nothing denied there is also granted", path,
			 w->fs[b].origin)) < 0)
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
			    (rc = profile__warn(w,
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
			return profile__fail(
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
			return profile__fail(
			    w, -EINVAL,
			    "network-profiles.json: profile '%s': unknown host group '%s'",
			    w->net_profile, cJSON_GetStringValue(g) ? g->valuestring : "?");
		cJSON_ArrayForEach(h, list)
		{
			if (!cJSON_IsString(h) ||
			    profile__host_norm(h->valuestring, host, sizeof(host)) < 0)
				return profile__fail(
				    w, -EINVAL,
				    "network-profiles.json: group '%s': invalid host name",
				    g->valuestring);
			if ((rc = profile__strv_add(hosts, host)) < 0)
				return rc;
		}
	}
	for (size_t i = 0; i < w->domains.n; i++)
		if ((rc = profile__strv_add(hosts, w->domains.v[i])) < 0)
			return rc;
	for (size_t i = 0; w->ctx->allow_domain && w->ctx->allow_domain[i]; i++) {
		if (profile__host_norm(w->ctx->allow_domain[i], host, sizeof(host)) < 0)
			return profile__fail(w, -EINVAL, "%s: allow_domain: invalid host name '%s'",
					     who, w->ctx->allow_domain[i]);
		if ((rc = profile__strv_add(hosts, host)) < 0)
			return rc;
	}
	if (w->block && hosts->n) {
		rc =
		    profile__warn(w, "network.block is set: %zu allowed host(s) ignored", hosts->n);
		profile__strv_clear(hosts);
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
		profile__strv_clear(v[i]);
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
	return profile__read_json(w, file, file, out);
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
		rc = profile__fail(
		    w, -EINVAL, "%s: home, workdir and data directory must be absolute paths", who);
		goto out;
	}
	if ((rc = load_data(w, "groups.json", &w->groups, false)) < 0 ||
	    (rc = load_data(w, "network-profiles.json", &w->netdata, false)) < 0 ||
	    (rc = load_data(w, "routes.json", &w->routes, true)) < 0 ||
	    (rc = load_data(w, "default.json", &def, false)) < 0)
		goto out;
	/* nono's effective set starts from the default profile's groups, whatever is extended */
	rc = profile__add_groups(w, &(struct src){.display = "default.json"},
				 cJSON_GetObjectItemCaseSensitive(
				     cJSON_GetObjectItemCaseSensitive(def, "groups"), "include"),
				 "groups.include", false);
	if (rc < 0 || (rc = profile__load(w, name_or_path, NULL)) < 0 ||
	    (ctx->overlay && (rc = profile__load_text(w, ctx->overlay, "command line")) < 0) ||
	    (rc = compile_groups(w)) < 0 || (rc = compile_named(w, who)) < 0 ||
	    (rc = settle(w, who)) < 0 || (rc = compile_network(w, who, &hosts)) < 0)
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
		rc = profile__fail(w, -ENOMEM, "%s: out of memory", who);
	}
out:
	if (rc < 0 && errlen && !err[0])
		profile__fail(w, rc, "%s: %s", who, strerror(-rc));
	profile__strv_clear(&hosts);
	cJSON_Delete(def);
	ws_free(w);
	return rc;
}
