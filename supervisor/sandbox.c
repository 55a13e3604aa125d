/* sandbox: a service's sandbox from both sides: compiled by the supervisor, applied by the helper. */
#include "sandbox.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "landlock.h"
#include "netns.h"
#include "privs.h"
#include "profile.h"
#include "seccomp_filter.h"

int sandbox_data_dir(char *out, size_t len)
{
	const char *env = getenv("NONO_PROFILES_DIR");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return 0;
	}
	/* A binary still in its build directory uses the profiles of its source tree. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		if (strncmp(exe, NONO_BUILD_ROOT "/", strlen(NONO_BUILD_ROOT) + 1) == 0) {
			snprintf(out, len, "%s", NONO_SOURCE_ROOT "/profiles");
			return 0;
		}
	}
	snprintf(out, len, "%s", NONO_DATADIR "/profiles");
	return 0;
}

int sandbox_compile(const struct service_config *sc, const char *config_dir, struct policy *out,
		    char *err, size_t errlen)
{
	char data_dir[PATH_MAX];
	struct profile_ctx ctx = {
		.data_dir = data_dir,
		.workdir = sc->cwd ? sc->cwd : config_dir,
		.service = sc->name,
		.read = sc->read,
		.write = sc->write,
		.allow_domain = sc->allow_domain,
		.overlay = sc->profile_overlay,
	};
	struct passwd *pw;
	int r;

	*out = (struct policy){ 0 };
	if (!sc->sandbox) {
		out->sandbox_off = true;
		return 0;
	}
	/* The profile's $HOME and $UID are those of the user the service runs as. */
	pw = sc->user && geteuid() == 0 ? getpwnam(sc->user) : getpwuid(geteuid());
	if (!pw) {
		snprintf(err, errlen, "unknown user '%s'", sc->user ? sc->user : "?");
		return -ENOENT;
	}
	ctx.home = pw->pw_dir;
	ctx.uid = pw->pw_uid;
	sandbox_data_dir(data_dir, sizeof(data_dir));
	r = profile_compile(sc->profile ? sc->profile : "default", &ctx, out, err, errlen);
	if (r < 0)
		return r;
	out->allow_degraded = sc->allow_degraded;
	return 0;
}

static char *dir_name(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');

	snprintf(out, len, "%.*s", slash && slash != path ? (int)(slash - path) : 1, path);
	return out;
}

int sandbox_profile_credentials(struct service_config *sc, const struct policy *p,
				const struct credential_config *sections, size_t n_sections,
				char *why, size_t len)
{
	for (size_t i = 0; p->credentials && p->credentials[i]; i++) {
		const char *name = p->credentials[i];
		const struct credential_config *sec = NULL;
		struct credential_config *defs, cd = {0};
		char spec[CONFIG_NAME_MAX + 16];
		size_t n = 0;
		bool have = false;

		while (sc->credentials && sc->credentials[n])
			have = have || strcmp(sc->credentials[n++], name) == 0;
		if (have)
			continue;
		for (size_t k = 0; k < n_sections && !sec; k++)
			if (strcmp(sections[k].name, name) == 0)
				sec = &sections[k];
		if (sec) {
			if (config_credential_copy(&cd, sec) < 0)
				return snprintf(why, len, "out of memory"), -ENOMEM;
		} else {
			snprintf(spec, sizeof(spec), "keyring:%s", name);
			cd.name = strdup(name);
			cd.source = strdup(spec);
			if (!cd.name || !cd.source ||
			    creds_parse_source(spec, &cd.src, why, len) < 0) {
				config_credential_release(&cd);
				return snprintf(why, len, "credential '%s': bad name", name), -EINVAL;
			}
		}
		defs = realloc(sc->credential_defs, (n + 1) * sizeof(*defs));
		if (!defs || config_strv_add(&sc->credentials, strdup(name)) < 0) {
			if (defs)
				sc->credential_defs = defs;
			config_credential_release(&cd);
			return snprintf(why, len, "out of memory"), -ENOMEM;
		}
		cd.optional = true;
		defs[n] = cd;
		sc->credential_defs = defs;
	}
	return 0;
}

int sandbox_check_config(struct config *cfg, char *err, size_t errlen)
{
	char dir[PATH_MAX], why[1024];
	size_t used = 0;
	int r = 0;

	err[0] = '\0';
	dir_name(cfg->path, dir, sizeof(dir));
	for (size_t i = 0; i < cfg->n_services; i++) {
		struct service_config *sc = &cfg->services[i];
		struct policy p;

		if (!sc->sandbox)
			continue;
		if (geteuid() == 0 && (!sc->user || strcmp(sc->user, "root") == 0)) {
			snprintf(why, sizeof(why), "as root, a sandboxed service needs user = NAME "
				 "(an unprivileged account), or sandbox = off");
		} else if (sandbox_compile(sc, dir, &p, why, sizeof(why)) == 0) {
			int rc = sandbox_profile_credentials(sc, &p, cfg->credentials,
							     cfg->n_credentials, why, sizeof(why));

			if (rc == 0)
				rc = sandbox_check_keys(sc, &p, why, sizeof(why));
			policy_free(&p);
			if (rc == 0)
				continue;
		}
		r = -EINVAL;
		if (used < errlen)
			used += (size_t)snprintf(err + used, errlen - used, "%s:%d: service '%s': %s\n",
						 cfg->path, sc->line, sc->name, why);
	}
	return r;
}

int sandbox_explain(const struct service_config *sc, const char *config_dir, int netns,
		    struct buf *out, char *err, size_t errlen)
{
	struct landlock_report rep = { 0 };
	int abi = landlock_abi();
	struct policy p;
	char line[512], why[512] = "";
	int r;

	r = sandbox_compile(sc, config_dir, &p, err, errlen);
	if (r < 0)
		return r;
	snprintf(line, sizeof(line), "service: %s\nuser: %s\n", sc->name,
		 sc->user && geteuid() == 0 ? sc->user : "(the supervisor's)");
	r = buf_append(out, line, strlen(line));
	if (r == 0 && !p.sandbox_off) {
		bool ok = landlock_check(abi, netns != 0, p.allow_degraded, &rep, why,
					 sizeof(why)) == 0;

		if (abi)
			snprintf(line, sizeof(line), "landlock: ABI %d\n", abi);
		else
			snprintf(line, sizeof(line), "landlock: NONE (%s)\n", landlock_abi_reason());
		snprintf(line + strlen(line), sizeof(line) - strlen(line),
			 "network namespace: %s\nproxy listener: 127.0.0.1:%d\n",
			 netns < 0 ? "private, lo only (when running)" :
			 netns ? "private, lo only" : "NONE: port-only confinement (weaker)",
			 NETNS_PROXY_PORT);
		if (!ok)
			snprintf(line + strlen(line), sizeof(line) - strlen(line),
				 "WILL NOT START: %s\n", why);
		if (rep.degraded[0])
			snprintf(line + strlen(line), sizeof(line) - strlen(line), "DEGRADED: %s\n",
				 rep.degraded);
		r = buf_append(out, line, strlen(line));
	}
	/* The service's own credentials = (or run's --proxy-credential) join the profile's. */
	for (size_t i = 0; r == 0 && sc->credentials && sc->credentials[i]; i++) {
		bool have = false;

		for (size_t k = 0; p.credentials && p.credentials[k]; k++)
			have = have || strcmp(p.credentials[k], sc->credentials[i]) == 0;
		if (!have)
			r = config_strv_add(&p.credentials, strdup(sc->credentials[i]));
	}
	if (r == 0)
		r = policy_explain(&p, abi, out);
	policy_free(&p);
	return r < 0 ? -ENOMEM : 0;
}

int sandbox_check_keys(const struct service_config *sc, const struct policy *p, char *err,
		       size_t errlen)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char path[PATH_MAX];

	for (size_t i = 0; sc->credentials && sc->credentials[i]; i++) {
		const struct credential_config *cd = &sc->credential_defs[i];
		const struct policy_path *g;

		if (cd->src.kind == CRED_FILE)
			snprintf(path, sizeof(path), "%s", cd->src.ref);
		else if (cd->src.kind == CRED_SYSTEMD && dir)
			snprintf(path, sizeof(path), "%s/%s", dir, cd->src.ref);
		else
			continue;
		g = p->sandbox_off ? NULL : policy_grant_reading(p, path);
		if (g) {
			snprintf(err, errlen,
				 "credential '%s': its key file '%s' is readable in the sandbox "
				 "(grant %s from %s); keep key files outside what the sandbox may read",
				 cd->name, path, g->path, g->origin ? g->origin : "the profile");
			return -EACCES;
		}
	}
	return 0;
}

int sandbox_apply(const struct policy *p, const char *user, int exec_fd,
		  struct sandbox_report *rep, char *err, size_t errlen)
{
	struct landlock_report ll = { 0 };
	char why[512];
	int r, fd;

	*rep = (struct sandbox_report){ 0 };
	privs_no_core_dumps();

	/* A private network namespace with only lo, and the proxy listener in it. */
	r = netns_create(why, sizeof(why));
	/* SysV IPC and POSIX message queues are no file and no socket: a namespace of their own. */
	if (r >= 0 && unshare(CLONE_NEWIPC) < 0) {
		r = -errno;
		return snprintf(err, errlen, "IPC namespace: %s", strerror(-r)), r;
	}
	if (r >= 0) {
		rep->netns = true;
		r = netns_listen(NETNS_PROXY_PORT, &fd, why, sizeof(why));
		if (r < 0)
			return snprintf(err, errlen, "proxy listener: %s", why), r;
		r = netns_send_fd(exec_fd, fd);
		if (r < 0)
			return snprintf(err, errlen, "sending the proxy listener: %s", strerror(-r)), r;
	}
	/*
	 * No namespace (not root, no user namespaces): Landlock's port rule plus seccomp
	 * confine the network, weaker (any host on the proxy port); status says so.
	 */

	r = privs_drop(user, why, sizeof(why));
	if (r < 0)
		return snprintf(err, errlen, "%s", why), r;
	r = privs_no_new_privs();
	if (r < 0)
		return snprintf(err, errlen, "no_new_privs: %s", strerror(-r)), r;
	r = landlock_apply(p, p->net == POLICY_NET_BLOCKED ? 0 : NETNS_PROXY_PORT, rep->netns,
			   p->allow_degraded, &ll, why, sizeof(why));
	if (r < 0)
		return snprintf(err, errlen, "landlock: %s", why), r;
	rep->landlock_abi = ll.abi;
	snprintf(rep->degraded, sizeof(rep->degraded), "%s", ll.degraded);
	/* Last: the filter also denies what the steps above needed (unshare, setns...). */
	r = seccomp_apply(p, why, sizeof(why));
	if (r < 0)
		return snprintf(err, errlen, "seccomp: %s", why), r;
	return 0;
}
