/* sandbox: a service's sandbox from both sides: compiled by the supervisor, applied by the helper. */
#ifndef NONO_SANDBOX_H
#define NONO_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "util.h"
#include "policy.h"

/* Where the built-in profiles live: $NONO_PROFILES_DIR, the source tree next to a build
 * directory, or the installed data directory. */
int sandbox_data_dir(char *out, size_t len);

/*
 * Compile a service's policy (its profile, groups, services.ini additions) for the user it
 * runs as. "sandbox = off" gives a policy with sandbox_off set. Pure but for reading the
 * profile files and the passwd entry. Returns 0 or a negative errno with the reason in err.
 */
int sandbox_compile(const struct service_config *sc, const char *config_dir, struct policy *out,
		    char *err, size_t errlen);

/*
 * Check every sandboxed service of a loaded configuration: its policy compiles, as root it
 * names an unprivileged user, and no key file of it lies in a grant. Its profile's
 * network.credentials join its credentials (optional ones: from their [credential:NAME]
 * section, else the keyring). Errors are "file:line: service 'x': ..." lines.
 */
int sandbox_check_config(struct config *cfg, char *err, size_t errlen);

/*
 * The compiled policy of a service as text (for `nonoctl explain` and `--explain`): each
 * path with its rights and origin, the denies, the network, the Landlock ABI in use and
 * anything degraded. netns: what the current run got (-1 unknown: not running).
 */
int sandbox_explain(const struct service_config *sc, const char *config_dir, int netns,
		    struct buf *out, char *err, size_t errlen);

/*
 * The profile's network.credentials join the service's credentials, each from its section
 * among sections (the configuration's [credential:NAME]), else the keyring account NAME (as
 * nono does); optional: left out, and said, when the key is missing. 0 or a negative errno.
 */
int sandbox_profile_credentials(struct service_config *sc, const struct policy *p,
				const struct credential_config *sections, size_t n_sections,
				char *why, size_t len);

/*
 * Refuse key files the sandbox could read: a file: (or systemd:) credential whose file lies
 * in a grant would hand the agent the key the proxy hides. 0, or -EACCES with err naming
 * the credential, the file and the grant.
 */
int sandbox_check_keys(const struct service_config *sc, const struct policy *p, char *err,
		       size_t errlen);

/* What the helper reports back about the sandbox it built (for status). */
struct sandbox_report {
	bool netns;		/* a private network namespace (else port-only, weaker) */
	int landlock_abi;
	char degraded[256];
};

/*
 * In the exec helper, after the cgroup and before execve, in this order: no core dumps,
 * a private network namespace whose proxy listener goes to the supervisor over exec_fd,
 * the switch to user (no capability left), no_new_privs, Landlock, seccomp last.
 * Returns 0 or a negative errno with the failed step in err; the caller must not exec then.
 */
int sandbox_apply(const struct policy *p, const char *user, int exec_fd,
		  struct sandbox_report *rep, char *err, size_t errlen);

#endif
