/* policy: free, serialise (JSON for the exec helper) and explain a compiled sandbox policy. */
#include "policy.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	free(p->profile);
	for (size_t i = 0; i < p->n_paths; i++) {
		free(p->paths[i].path);
		free(p->paths[i].origin);
	}
	free(p->paths);
	for (size_t i = 0; i < p->n_denies; i++) {
		free(p->denies[i].path);
		free(p->denies[i].origin);
	}
	free(p->denies);
	free(p->workdir);
	free(p->network_profile);
	strv_free(p->allow_hosts);
	strv_free(p->credentials);
	strv_free(p->env_allow);
	strv_free(p->env_deny);
	strv_free(p->env_set);
	strv_free(p->warnings);
	*p = (struct policy){0};
}

static const char *const rights[] = {"", "r", "w", "rw"};

static cJSON *str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *strv_json(char **v)
{
	cJSON *a;

	if (!v)
		return cJSON_CreateNull();
	a = cJSON_CreateArray();
	for (size_t i = 0; a && v[i]; i++) {
		cJSON *s = cJSON_CreateString(v[i]);

		if (!s) {
			cJSON_Delete(a);
			return NULL;
		}
		cJSON_AddItemToArray(a, s);
	}
	return a;
}

/* Add v under k; false (and v freed) on allocation failure. */
static bool put(cJSON *obj, const char *k, cJSON *v)
{
	if (!obj || !v) {
		cJSON_Delete(v);
		return false;
	}
	cJSON_AddItemToObject(obj, k, v);
	return true;
}

int policy_to_json(const struct policy *p, cJSON **out)
{
	cJSON *j = cJSON_CreateObject(), *paths = cJSON_CreateArray(),
	      *denies = cJSON_CreateArray();
	bool ok = put(j, "paths", paths) && put(j, "denies", denies);

	if (!ok && j)
		paths = denies = NULL; /* owned by j or freed by put */
	for (size_t i = 0; ok && i < p->n_paths; i++) {
		const struct policy_path *pp = &p->paths[i];
		cJSON *e = cJSON_CreateObject();

		ok = put(e, "path", str_or_null(pp->path)) &&
		     put(e, "access", cJSON_CreateString(rights[pp->access & 3])) &&
		     put(e, "file", cJSON_CreateBool(pp->is_file)) &&
		     put(e, "origin", str_or_null(pp->origin));
		if (e)
			cJSON_AddItemToArray(paths, e);
		ok = ok && e;
	}
	for (size_t i = 0; ok && i < p->n_denies; i++) {
		cJSON *e = cJSON_CreateObject();

		ok = put(e, "path", str_or_null(p->denies[i].path)) &&
		     put(e, "origin", str_or_null(p->denies[i].origin));
		if (e)
			cJSON_AddItemToArray(denies, e);
		ok = ok && e;
	}
	ok =
	    ok && put(j, "profile", str_or_null(p->profile)) &&
	    put(j, "sandbox_off", cJSON_CreateBool(p->sandbox_off)) &&
	    put(j, "allow_degraded", cJSON_CreateBool(p->allow_degraded)) &&
	    put(j, "workdir", str_or_null(p->workdir)) &&
	    put(j, "net", cJSON_CreateString(p->net == POLICY_NET_BLOCKED ? "blocked" : "proxy")) &&
	    put(j, "network_profile", str_or_null(p->network_profile)) &&
	    put(j, "allow_hosts", strv_json(p->allow_hosts)) &&
	    put(j, "credentials", strv_json(p->credentials)) &&
	    put(j, "allow_unix_sockets", cJSON_CreateBool(p->allow_unix_sockets)) &&
	    put(j, "env_allow", strv_json(p->env_allow)) &&
	    put(j, "env_deny", strv_json(p->env_deny)) &&
	    put(j, "env_set", strv_json(p->env_set)) && put(j, "warnings", strv_json(p->warnings));
	if (!ok) {
		cJSON_Delete(j);
		if (!j) {
			cJSON_Delete(paths);
			cJSON_Delete(denies);
		}
		*out = NULL;
		return -ENOMEM;
	}
	*out = j;
	return 0;
}

struct reader {
	char *err;
	size_t errlen;
};

static int bad(struct reader *r, const char *key, const char *what)
{
	snprintf(r->err, r->errlen, "policy: '%s' must be %s", key, what);
	return -EINVAL;
}

static int get_str(struct reader *r, const cJSON *j, const char *key, bool nullable, char **dst)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	if (nullable && cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return bad(r, key, nullable ? "a string or null" : "a string");
	*dst = strdup(v->valuestring);
	return *dst ? 0 : -ENOMEM;
}

static int get_bool(struct reader *r, const cJSON *j, const char *key, bool *dst)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	if (!cJSON_IsBool(v))
		return bad(r, key, "true or false");
	*dst = cJSON_IsTrue(v);
	return 0;
}

static int get_strv(struct reader *r, const cJSON *j, const char *key, char ***dst)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key), *e;
	size_t n = 0;

	if (cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsArray(v))
		return bad(r, key, "an array of strings or null");
	*dst = calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(**dst));
	if (!*dst)
		return -ENOMEM;
	cJSON_ArrayForEach(e, v)
	{
		if (!cJSON_IsString(e))
			return bad(r, key, "an array of strings or null");
		if (!((*dst)[n++] = strdup(e->valuestring)))
			return -ENOMEM;
	}
	return 0;
}

static int get_abs(struct reader *r, const cJSON *j, const char *key, char **dst)
{
	int rc = get_str(r, j, key, false, dst);

	if (rc == 0 && (*dst)[0] != '/')
		return bad(r, key, "an absolute path");
	return rc;
}

static const char *const policy_keys[] = {
    "profile",
    "sandbox_off",
    "allow_degraded",
    "paths",
    "denies",
    "workdir",
    "net",
    "network_profile",
    "allow_hosts",
    "credentials",
    "allow_unix_sockets",
    "env_allow",
    "env_deny",
    "env_set",
    "warnings",
};

int policy_from_json(const cJSON *j, struct policy *out, char *err, size_t errlen)
{
	struct reader r = {err, errlen};
	const cJSON *paths = cJSON_GetObjectItemCaseSensitive(j, "paths");
	const cJSON *denies = cJSON_GetObjectItemCaseSensitive(j, "denies"), *e;
	const char *net = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "net"));
	int rc = 0;

	*out = (struct policy){0};
	if (!cJSON_IsObject(j)) {
		snprintf(err, errlen, "policy: not a JSON object");
		return -EINVAL;
	}
	cJSON_ArrayForEach(e, j)
	{
		size_t i = 0;

		while (i < ARRAY_SIZE(policy_keys) && strcmp(e->string, policy_keys[i]) != 0)
			i++;
		if (i == ARRAY_SIZE(policy_keys)) {
			snprintf(err, errlen, "policy: unknown key '%s'", e->string);
			return -EINVAL;
		}
	}
	if (!cJSON_IsArray(paths) || !cJSON_IsArray(denies))
		return bad(&r, "paths", "an array (and so must 'denies')");
	if (!net || (strcmp(net, "proxy") != 0 && strcmp(net, "blocked") != 0))
		return bad(&r, "net", "\"proxy\" or \"blocked\"");
	out->net = strcmp(net, "blocked") == 0 ? POLICY_NET_BLOCKED : POLICY_NET_PROXY;
	out->paths = calloc((size_t)cJSON_GetArraySize(paths) + 1, sizeof(*out->paths));
	out->denies = calloc((size_t)cJSON_GetArraySize(denies) + 1, sizeof(*out->denies));
	if (!out->paths || !out->denies) {
		rc = -ENOMEM;
		goto fail;
	}
	cJSON_ArrayForEach(e, paths)
	{
		struct policy_path *pp = &out->paths[out->n_paths++];
		const char *acc =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "access"));
		unsigned a = 1;

		while (acc && a < ARRAY_SIZE(rights) && strcmp(acc, rights[a]) != 0)
			a++;
		if (!acc || a == ARRAY_SIZE(rights)) {
			rc = bad(&r, "paths[].access", "\"r\", \"w\" or \"rw\"");
			goto fail;
		}
		pp->access = a;
		if ((rc = get_abs(&r, e, "path", &pp->path)) < 0 ||
		    (rc = get_bool(&r, e, "file", &pp->is_file)) < 0 ||
		    (rc = get_str(&r, e, "origin", true, &pp->origin)) < 0)
			goto fail;
	}
	cJSON_ArrayForEach(e, denies)
	{
		struct policy_deny *d = &out->denies[out->n_denies++];

		if ((rc = get_abs(&r, e, "path", &d->path)) < 0 ||
		    (rc = get_str(&r, e, "origin", true, &d->origin)) < 0)
			goto fail;
	}
	if ((rc = get_str(&r, j, "profile", true, &out->profile)) < 0 ||
	    (rc = get_bool(&r, j, "sandbox_off", &out->sandbox_off)) < 0 ||
	    (rc = get_bool(&r, j, "allow_degraded", &out->allow_degraded)) < 0 ||
	    (rc = get_str(&r, j, "workdir", true, &out->workdir)) < 0 ||
	    (rc = get_str(&r, j, "network_profile", true, &out->network_profile)) < 0 ||
	    (rc = get_strv(&r, j, "allow_hosts", &out->allow_hosts)) < 0 ||
	    (rc = get_strv(&r, j, "credentials", &out->credentials)) < 0 ||
	    (rc = get_bool(&r, j, "allow_unix_sockets", &out->allow_unix_sockets)) < 0 ||
	    (rc = get_strv(&r, j, "env_allow", &out->env_allow)) < 0 ||
	    (rc = get_strv(&r, j, "env_deny", &out->env_deny)) < 0 ||
	    (rc = get_strv(&r, j, "env_set", &out->env_set)) < 0 ||
	    (rc = get_strv(&r, j, "warnings", &out->warnings)) < 0)
		goto fail;
	return 0;
fail:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "policy: out of memory");
	policy_free(out);
	return rc;
}

static int list_line(struct buf *b, const char *title, char **v)
{
	int rc = buf_printf(b, "%s", title);

	for (size_t i = 0; rc == 0 && v && v[i]; i++)
		rc = buf_printf(b, "%s%s", i ? ", " : " ", v[i]);
	return rc ? rc : buf_printf(b, "%s\n", v && v[0] ? "" : " (none)");
}

int policy_explain(const struct policy *p, int landlock_abi, struct buf *out)
{
	size_t n_hosts = 0;
	int rc;

	rc = buf_printf(out, "profile: %s\n", p->profile ? p->profile : "(none)");
	if (rc == 0 && p->sandbox_off)
		return buf_printf(
		    out,
		    "sandbox: OFF (sandbox = off in services.ini): the service runs UNCONFINED\n");
	if (rc == 0 && p->allow_degraded)
		rc = buf_printf(out, "degraded: allowed (allow_degraded = true): missing kernel "
				  "features are not fatal\n");
	if (rc == 0)
		rc = buf_printf(out, "workdir: %s\nfilesystem (%zu grants; everything else denied):\n",
			     p->workdir ? p->workdir : "(none)", p->n_paths);
	for (size_t i = 0; rc == 0 && i < p->n_paths; i++) {
		const struct policy_path *pp = &p->paths[i];

		rc = buf_printf(out, "  %-3s %-4s %-44s %s%s\n", rights[pp->access & 3],
			     pp->is_file ? "file" : "dir", pp->path, pp->origin ? pp->origin : "",
			     landlock_abi > 0 && landlock_abi < 3 && !(pp->access & POLICY_WRITE)
				 ? " (truncate not restricted below Landlock ABI 3)"
				 : "");
	}
	if (rc == 0)
		rc = buf_printf(out, "denied (%zu):\n", p->n_denies);
	for (size_t i = 0; rc == 0 && i < p->n_denies; i++)
		rc = buf_printf(out, "  %-53s %s\n", p->denies[i].path,
			     p->denies[i].origin ? p->denies[i].origin : "");
	while (p->allow_hosts && p->allow_hosts[n_hosts])
		n_hosts++;
	if (rc == 0 && p->net == POLICY_NET_BLOCKED)
		rc = buf_printf(out, "network: blocked (private network namespace, no proxy)\n");
	else if (rc == 0)
		rc = buf_printf(out,
			     "network: proxy only (private network namespace)%s%s%s\n"
			     "  allowed hosts (%zu)%s\n",
			     p->network_profile ? ", network profile '" : "",
			     p->network_profile ? p->network_profile : "",
			     p->network_profile ? "'" : "", n_hosts,
			     n_hosts ? ":" : ": none (credential routes only)");
	for (size_t i = 0; rc == 0 && p->net != POLICY_NET_BLOCKED && i < n_hosts; i++)
		rc = buf_printf(out, "    %s\n", p->allow_hosts[i]);
	if (rc == 0)
		rc = list_line(out, "  credentials:", p->credentials);
	if (rc == 0)
		rc =
		    buf_printf(out, "unix sockets: %s\n",
			    p->allow_unix_sockets ? "pathname sockets ALLOWED (profile grants them)"
						  : "pathname sockets denied");
	if (rc == 0 && !p->env_allow)
		rc = buf_printf(out, "environment: a safe base (PATH, HOME, LANG, TZ, ...)\n");
	else if (rc == 0)
		rc = list_line(out, "environment: only", p->env_allow);
	if (rc == 0 && p->env_deny && p->env_deny[0])
		rc = list_line(out, "  denied:", p->env_deny);
	if (rc == 0 && p->env_set && p->env_set[0])
		rc = list_line(out, "  set:", p->env_set);
	for (size_t i = 0; rc == 0 && p->warnings && p->warnings[i]; i++)
		rc = buf_printf(out, "%s%s\n", i ? "  " : "warnings:\n  ", p->warnings[i]);
	return rc;
}

const struct policy_deny *policy_deny_covering(const struct policy *p, const char *path)
{
	for (size_t i = 0; i < p->n_denies; i++) {
		const char *d = p->denies[i].path;
		size_t n = strlen(d);

		while (n > 1 && d[n - 1] == '/')
			n--;
		if (strncmp(path, d, n) == 0 && (path[n] == '\0' || path[n] == '/'))
			return &p->denies[i];
	}
	return NULL;
}

const struct policy_path *policy_grant_reading(const struct policy *p, const char *path)
{
	char canon[PATH_MAX];
	const char *c = realpath(path, canon) ? canon : path;

	for (size_t i = 0; i < p->n_paths; i++) {
		const struct policy_path *g = &p->paths[i];
		size_t n = strlen(g->path);

		if (!(g->access & POLICY_READ))
			continue;
		if (strcmp(c, g->path) == 0 ||
		    (!g->is_file && strncmp(c, g->path, n) == 0 &&
		     (c[n] == '/' || (n == 1 && g->path[0] == '/'))))
			return g;
	}
	return NULL;
}
