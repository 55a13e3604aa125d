/* run_args: nono's `run` flags and the service definition they make. */
#include "run_args.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "env.h"
#include "util.h"

const char run_usage[] =
    "usage: run [FLAGS] -- COMMAND [ARGS...]\n"
    "  -a, --allow PATH          read and write a directory (repeatable)\n"
    "  -r, --read PATH           read a directory\n"
    "  -w, --write PATH          write a directory\n"
    "      --allow-file PATH     read and write one file (also --read-file, --write-file)\n"
    "      --allow-cwd           read and write the current directory\n"
    "  -p, --profile NAME|PATH   the profile to start from (default: default)\n"
    "      --network-profile NAME  hosts the proxy lets through (minimal, developer, ...)\n"
    "      --allow-domain HOST   one more host (HOST, *.SUFFIX, HOST:PORT; repeatable)\n"
    "      --block-net           no network at all, not even the proxy\n"
    "      --proxy-credential NAME  a phantom token for that route (alias --credential)\n"
    "      --credential-source NAME=SOURCE  keyring:ACCOUNT (default), file:PATH, env:VAR\n"
    "      --credential-upstream NAME=URL   another upstream for that route (https, or http\n"
    "                            to loopback), as services.ini's upstream =\n"
    "      --credential-ca NAME=PATH        the PEM CA that upstream's certificate needs\n"
    "  -e, --env KEY[=VALUE]     set a variable for the command (KEY alone: ours);\n"
    "                            it gets only a safe base (PATH, LANG, TZ, TERM...) else\n"
    "      --dry-run             print the compiled policy and exit\n"
    "  -u, --user NAME           as root: the unprivileged account to run as\n"
    "  -v, --verbose             say what is set up\n";

enum opt {
	O_ALLOW, O_READ, O_WRITE, O_ALLOW_FILE, O_READ_FILE, O_WRITE_FILE, O_ALLOW_CWD,
	O_PROFILE, O_NETPROFILE, O_DOMAIN, O_BLOCK, O_CRED, O_CRED_SOURCE, O_NAME, O_DETACH,
	O_DRY_RUN, O_VERBOSE, O_HELP, O_USER, O_CRED_UPSTREAM, O_CRED_CA, O_ENV,
};

static const struct {
	const char *name;
	char shrt;
	enum opt opt;
	bool value;
	bool ctl; /* nonoctl run only */
} opts[] = {
    {"allow", 'a', O_ALLOW, true, false},
    {"read", 'r', O_READ, true, false},
    {"write", 'w', O_WRITE, true, false},
    {"allow-file", 0, O_ALLOW_FILE, true, false},
    {"read-file", 0, O_READ_FILE, true, false},
    {"write-file", 0, O_WRITE_FILE, true, false},
    {"allow-cwd", 0, O_ALLOW_CWD, false, false},
    {"profile", 'p', O_PROFILE, true, false},
    {"network-profile", 0, O_NETPROFILE, true, false},
    {"allow-domain", 0, O_DOMAIN, true, false},
    {"block-net", 0, O_BLOCK, false, false},
    {"proxy-credential", 0, O_CRED, true, false},
    {"credential", 0, O_CRED, true, false},
    {"credential-source", 0, O_CRED_SOURCE, true, false},
    {"credential-upstream", 0, O_CRED_UPSTREAM, true, false},
    {"credential-ca", 0, O_CRED_CA, true, false},
    {"name", 0, O_NAME, true, true},
    {"detach", 0, O_DETACH, false, true},
    {"dry-run", 0, O_DRY_RUN, false, false},
    {"verbose", 'v', O_VERBOSE, false, false},
    {"user", 'u', O_USER, true, false},
    {"env", 'e', O_ENV, true, false},
    {"help", 'h', O_HELP, false, false},
};

static char *absolute(const char *cwd, const char *path)
{
	char buf[PATH_MAX];

	if (path[0] == '/')
		return strdup(path);
	if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", cwd, path) >= sizeof(buf))
		return NULL;
	return strdup(buf);
}

/* --env KEY=VALUE, or KEY: our value (none: not set). KEY is a shell variable name. */
static int env_flag(struct run_opts *o, const char *v)
{
	size_t klen = strcspn(v, "=");
	char *e;

	if (!klen || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") <
			 klen ||
	    (v[0] >= '0' && v[0] <= '9'))
		return -EINVAL;
	if (v[klen])
		return config_strv_add(&o->env, strdup(v));
	e = env_entry(v, NULL);
	return e ? config_strv_add(&o->env, e) : 0; /* not set here: nothing to pass */
}

/* "NAME=PATH" with PATH made absolute (left as it is without '='; checked later). */
static char *named_path(const char *cwd, const char *v)
{
	const char *eq = strchr(v, '=');
	char buf[PATH_MAX + 128];

	if (!eq || eq[1] == '/' || !eq[1])
		return strdup(v);
	if ((size_t)snprintf(buf, sizeof(buf), "%.*s=%s/%s", (int)(eq - v), v, cwd, eq + 1) >=
	    sizeof(buf))
		return NULL;
	return strdup(buf);
}

static int set_value(struct run_opts *o, enum opt opt, const char *v, const char *cwd)
{
	char ***lists[] = {[O_ALLOW] = &o->allow,	    [O_READ] = &o->read,
			   [O_WRITE] = &o->write,	    [O_ALLOW_FILE] = &o->allow_file,
			   [O_READ_FILE] = &o->read_file, [O_WRITE_FILE] = &o->write_file};

	switch (opt) {
	case O_ALLOW:
	case O_READ:
	case O_WRITE:
	case O_ALLOW_FILE:
	case O_READ_FILE:
	case O_WRITE_FILE:
		return config_strv_add(lists[opt], absolute(cwd, v));
	case O_PROFILE:
		free(o->profile);
		o->profile = strchr(v, '/') || (strlen(v) > 5 && !strcmp(v + strlen(v) - 5, ".json"))
				 ? absolute(cwd, v)
				 : strdup(v);
		return o->profile ? 0 : -ENOMEM;
	case O_NETPROFILE:
		free(o->network_profile);
		o->network_profile = strdup(v);
		return o->network_profile ? 0 : -ENOMEM;
	case O_DOMAIN:
		return config_strv_add(&o->allow_domain, strdup(v));
	case O_CRED:
		return config_strv_add(&o->credentials, strdup(v));
	case O_CRED_SOURCE:
		return config_strv_add(&o->credential_sources, strdup(v));
	case O_ENV:
		return env_flag(o, v);
	case O_CRED_UPSTREAM:
		return config_strv_add(&o->credential_upstreams, strdup(v));
	case O_CRED_CA:
		return config_strv_add(&o->credential_cas, named_path(cwd, v));
	case O_NAME:
		free(o->name);
		o->name = strdup(v);
		return o->name ? 0 : -ENOMEM;
	case O_USER:
		free(o->user);
		o->user = strdup(v);
		return o->user ? 0 : -ENOMEM;
	default:
		return -EINVAL;
	}
}

static void set_flag(struct run_opts *o, enum opt opt)
{
	if (opt == O_ALLOW_CWD)
		o->allow_cwd = true;
	else if (opt == O_BLOCK)
		o->block_net = true;
	else if (opt == O_DETACH)
		o->detach = true;
	else if (opt == O_DRY_RUN)
		o->dry_run = true;
	else if (opt == O_VERBOSE)
		o->verbose++;
}

int run_args_parse(int argc, char *const *argv, const char *cwd, bool ctl, struct run_opts *o,
		   char *err, size_t errlen)
{
	int i;

	*o = (struct run_opts){0};
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *v = NULL, *eq;
		size_t k, nlen;

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || !a[1])
			break; /* the command */
		eq = a[1] == '-' ? strchr(a, '=') : NULL;
		nlen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		for (k = 0; k < ARRAY_SIZE(opts); k++) {
			if (opts[k].ctl && !ctl)
				continue;
			if (a[1] == '-' ? strlen(opts[k].name) == nlen && !strncmp(a + 2, opts[k].name, nlen)
					: !a[2] && a[1] == opts[k].shrt)
				break;
		}
		if (k == ARRAY_SIZE(opts)) {
			snprintf(err, errlen, "unknown flag '%.64s'\n%s", a, run_usage);
			return -EINVAL;
		}
		if (opts[k].opt == O_HELP) {
			snprintf(err, errlen, "%s", run_usage);
			return 1;
		}
		if (!opts[k].value) {
			if (eq) {
				snprintf(err, errlen, "--%s takes no value", opts[k].name);
				return -EINVAL;
			}
			set_flag(o, opts[k].opt);
			continue;
		}
		v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
		if (!v || !*v) {
			snprintf(err, errlen, "--%s needs a value", opts[k].name);
			return -EINVAL;
		}
		if (set_value(o, opts[k].opt, v, cwd) < 0) {
			snprintf(err, errlen, "--%s '%.64s': %s", opts[k].name, v,
				 opts[k].opt == O_ENV ? "expected KEY=VALUE or KEY"
						      : "out of memory or path too long");
			return -EINVAL;
		}
	}
	if (i >= argc) {
		snprintf(err, errlen, "no command given\n%s", run_usage);
		return -EINVAL;
	}
	for (; i < argc; i++)
		if (config_strv_add(&o->argv, strdup(argv[i])) < 0)
			return snprintf(err, errlen, "out of memory"), -ENOMEM;
	return 0;
}

void run_opts_free(struct run_opts *o)
{
	char **lists[] = {o->allow,	    o->read,	    o->write,
			  o->allow_file,    o->read_file,   o->write_file,
			  o->allow_domain,  o->credentials, o->credential_sources,
			  o->credential_upstreams, o->credential_cas, o->env, o->argv};

	for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
		config_strv_free(lists[i]);
	free(o->profile);
	free(o->network_profile);
	free(o->name);
	free(o->user);
	*o = (struct run_opts){0};
}

static bool add_list(cJSON *obj, const char *key, char **v)
{
	cJSON *a;

	if (!v)
		return true;
	a = cJSON_AddArrayToObject(obj, key);
	for (size_t i = 0; a && v[i]; i++)
		if (!cJSON_AddItemToArray(a, cJSON_CreateString(v[i])))
			return false;
	return a != NULL;
}

static bool get_list(const cJSON *obj, const char *key, char ***out)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, key), *e;

	if (!a)
		return true;
	if (!cJSON_IsArray(a))
		return false;
	cJSON_ArrayForEach(e, a)
	{
		if (!cJSON_IsString(e) || config_strv_add(out, strdup(e->valuestring)) < 0)
			return false;
	}
	return true;
}

/* The profile overlay: what the flags grant, as nono's own profile keys. */
static char *overlay_json(const struct run_opts *o)
{
	cJSON *root = cJSON_CreateObject(), *fs, *net;
	char *text = NULL;
	bool ok = root;

	if (ok && o->allow_cwd)
		ok = cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "workdir"), "access",
					     "readwrite");
	fs = ok ? cJSON_AddObjectToObject(root, "filesystem") : NULL;
	ok = fs && add_list(fs, "allow", o->allow) && add_list(fs, "read", o->read) &&
	     add_list(fs, "write", o->write) && add_list(fs, "allow_file", o->allow_file) &&
	     add_list(fs, "read_file", o->read_file) && add_list(fs, "write_file", o->write_file);
	net = ok ? cJSON_AddObjectToObject(root, "network") : NULL;
	ok = net && add_list(net, "allow_domain", o->allow_domain);
	if (ok && o->network_profile)
		ok = cJSON_AddStringToObject(net, "network_profile", o->network_profile);
	if (ok && o->block_net)
		ok = cJSON_AddBoolToObject(net, "block", true);
	if (ok)
		text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}

static const struct {
	const char *key;
	size_t off;
} json_lists[] = {
    {"allow", offsetof(struct run_opts, allow)},
    {"read", offsetof(struct run_opts, read)},
    {"write", offsetof(struct run_opts, write)},
    {"allow_file", offsetof(struct run_opts, allow_file)},
    {"read_file", offsetof(struct run_opts, read_file)},
    {"write_file", offsetof(struct run_opts, write_file)},
    {"allow_domain", offsetof(struct run_opts, allow_domain)},
    {"credentials", offsetof(struct run_opts, credentials)},
    {"credential_sources", offsetof(struct run_opts, credential_sources)},
    {"credential_upstreams", offsetof(struct run_opts, credential_upstreams)},
    {"credential_cas", offsetof(struct run_opts, credential_cas)},
    {"env", offsetof(struct run_opts, env)},
    {"argv", offsetof(struct run_opts, argv)},
};

char *run_opts_to_json(const struct run_opts *o)
{
	cJSON *root = cJSON_CreateObject();
	char *text = NULL;
	bool ok = root;

	for (size_t i = 0; ok && i < ARRAY_SIZE(json_lists); i++)
		ok = add_list(root, json_lists[i].key,
			      *(char **const *)((const char *)o + json_lists[i].off));
	if (ok && o->profile)
		ok = cJSON_AddStringToObject(root, "profile", o->profile);
	if (ok && o->network_profile)
		ok = cJSON_AddStringToObject(root, "network_profile", o->network_profile);
	if (ok && o->name)
		ok = cJSON_AddStringToObject(root, "name", o->name);
	if (ok && o->user)
		ok = cJSON_AddStringToObject(root, "user", o->user);
	ok = ok && cJSON_AddBoolToObject(root, "allow_cwd", o->allow_cwd) &&
	     cJSON_AddBoolToObject(root, "block_net", o->block_net) &&
	     cJSON_AddBoolToObject(root, "detach", o->detach);
	if (ok)
		text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}

static bool get_str(const cJSON *root, const char *key, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);

	if (!v)
		return true;
	if (!cJSON_IsString(v))
		return false;
	*out = strdup(v->valuestring);
	return *out != NULL;
}

int run_opts_from_json(const char *json, struct run_opts *o, char *err, size_t errlen)
{
	cJSON *root = cJSON_Parse(json);
	bool ok = cJSON_IsObject(root);

	*o = (struct run_opts){0};
	for (size_t i = 0; ok && i < ARRAY_SIZE(json_lists); i++)
		ok = get_list(root, json_lists[i].key, (char ***)((char *)o + json_lists[i].off));
	ok = ok && get_str(root, "profile", &o->profile) &&
	     get_str(root, "network_profile", &o->network_profile) && get_str(root, "name", &o->name) &&
	     get_str(root, "user", &o->user);
	if (ok) {
		o->allow_cwd = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "allow_cwd"));
		o->block_net = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "block_net"));
		o->detach = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "detach"));
	}
	cJSON_Delete(root);
	if (!ok || !o->argv || !o->argv[0]) {
		run_opts_free(o);
		snprintf(err, errlen, "bad run request: 'argv' (the command) and string fields expected");
		return -EINVAL;
	}
	return 0;
}

/* The value of the last "NAME=VALUE" entry for name, or NULL. */
static const char *named(char **list, const char *name)
{
	size_t len = strlen(name);
	const char *v = NULL;

	for (size_t i = 0; list && list[i]; i++)
		if (!strncmp(list[i], name, len) && list[i][len] == '=')
			v = list[i] + len + 1;
	return v;
}

/* --credential-source NAME=SOURCE for name (else keyring:NAME), -upstream and -ca. */
static int credential_def(const struct run_opts *o, const char *name, const char *cwd,
			  struct credential_config *cd, char *err, size_t errlen)
{
	const char *src = named(o->credential_sources, name),
		   *up = named(o->credential_upstreams, name), *ca = named(o->credential_cas, name);
	char spec[PATH_MAX + 16], why[256];

	if (!src)
		snprintf(spec, sizeof(spec), "keyring:%s", name);
	else if (!strncmp(src, "file:", 5) && src[5] && src[5] != '/')
		snprintf(spec, sizeof(spec), "file:%s/%s", cwd, src + 5);
	else
		snprintf(spec, sizeof(spec), "%s", src);
	*cd = (struct credential_config){.name = strdup(name),
					 .source = strdup(spec),
					 .upstream = up ? strdup(up) : NULL,
					 .ca = ca ? strdup(ca) : NULL};
	if (!cd->name || !cd->source || (up && !cd->upstream) || (ca && !cd->ca))
		return snprintf(err, errlen, "out of memory"), -ENOMEM;
	if (creds_parse_source(spec, &cd->src, why, sizeof(why)) < 0)
		return snprintf(err, errlen, "--credential-source %s: %s", name, why), -EINVAL;
	return 0;
}

static const struct {
	const char *flag, *what;
	size_t off;
} named_lists[] = {
    {"credential-source", "SOURCE", offsetof(struct run_opts, credential_sources)},
    {"credential-upstream", "URL", offsetof(struct run_opts, credential_upstreams)},
    {"credential-ca", "PATH", offsetof(struct run_opts, credential_cas)},
};

int run_service_config(const struct run_opts *o, const char *cwd, struct service_config *sc,
		       char *err, size_t errlen)
{
	size_t n = 0;
	int r = -ENOMEM;

	config_service_init(sc);
	sc->restart = RESTART_NEVER;
	sc->start_ms = 0;
	sc->autostart = false;
	sc->name = strdup(o->name ? o->name : "run");
	sc->cwd = strdup(cwd);
	sc->profile = o->profile ? strdup(o->profile) : NULL;
	sc->user = o->user ? strdup(o->user) : NULL;
	sc->profile_overlay = overlay_json(o);
	for (size_t i = 0; o->argv && o->argv[i]; i++)
		if (config_strv_add(&sc->argv, strdup(o->argv[i])) < 0)
			goto fail;
	for (size_t i = 0; o->env && o->env[i]; i++)
		if (config_strv_add(&sc->env, strdup(o->env[i])) < 0)
			goto fail;
	if (!sc->name || !sc->cwd || !sc->profile_overlay || (o->profile && !sc->profile) ||
	    (o->user && !sc->user) ||
	    !sc->argv)
		goto fail;
	for (size_t k = 0; k < ARRAY_SIZE(named_lists); k++) {
		char **v = *(char **const *)((const char *)o + named_lists[k].off);

		for (size_t i = 0; v && v[i]; i++) {
			const char *eq = strchr(v[i], '=');

			if (!eq || eq == v[i] || !eq[1]) {
				snprintf(err, errlen, "--%s '%.64s': expected NAME=%s",
					 named_lists[k].flag, v[i], named_lists[k].what);
				r = -EINVAL;
				goto out;
			}
		}
	}
	while (o->credentials && o->credentials[n])
		n++;
	if (n) {
		sc->credential_defs = calloc(n, sizeof(*sc->credential_defs));
		if (!sc->credential_defs)
			goto fail;
		for (size_t i = 0; i < n; i++) {
			if (config_strv_add(&sc->credentials, strdup(o->credentials[i])) < 0)
				goto fail;
			r = credential_def(o, o->credentials[i], cwd, &sc->credential_defs[i], err,
					   errlen);
			if (r < 0)
				goto out;
		}
	}
	return 0;
fail:
	snprintf(err, errlen, "out of memory");
out:
	config_service_release(sc);
	return r;
}
