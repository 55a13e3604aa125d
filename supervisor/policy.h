/* policy: a service's compiled sandbox policy (pure data: what profile.c builds, sandbox.c applies). */
#ifndef NONO_POLICY_H
#define NONO_POLICY_H

#include <stdbool.h>
#include <stddef.h>

/* Access a grant gives. READ includes execute (binaries, shared libraries, scripts). */
enum {
	POLICY_READ = 1 << 0,
	POLICY_WRITE = 1 << 1,
};

struct policy_path {
	char *path;		/* absolute, canonical (symlinks resolved) */
	unsigned access;	/* POLICY_READ | POLICY_WRITE */
	bool is_file;		/* a file grant (read_file, ...): file rights only */
	char *origin;		/* where it came from: "group node_runtime", "profile node-agent",
				 * "workdir", "service planner (read =)" */
};

struct policy_deny {
	char *path;		/* absolute, as written after variable expansion */
	char *origin;
};

enum policy_net {
	POLICY_NET_PROXY,	/* private netns: only the proxy listener is reachable (default) */
	POLICY_NET_BLOCKED,	/* private netns, no proxy either (network.block) */
};

struct policy {
	char *profile;			/* the profile's name (or path) */
	bool sandbox_off;		/* services.ini "sandbox = off": nothing below applies */
	bool allow_degraded;		/* services.ini "allow_degraded = true" */
	struct policy_path *paths;
	size_t n_paths;
	struct policy_deny *denies;
	size_t n_denies;
	char *workdir;			/* the service's cwd (the profile's $WORKDIR) */
	enum policy_net net;
	char *network_profile;		/* NULL if none */
	char **allow_hosts;		/* NULL-terminated: exact names or "*.suffix", lowercase */
	char **credentials;		/* NULL-terminated route names the service may use */
	bool allow_unix_sockets;	/* pathname AF_UNIX socket() allowed (default: no) */
	/* environment rules: allow_vars NULL = a fixed safe base (PATH, HOME, LANG, TZ, ...) */
	char **env_allow;
	char **env_deny;
	char **env_set;			/* "KEY=VALUE" */
	char **warnings;		/* NULL-terminated messages shown by explain and logged */
};

struct buf;
struct cJSON;

/* Free what p owns and zero it; NULL is a no-op. */
void policy_free(struct policy *p);

/* The policy as JSON (sent to the exec helper); policy_from_json reads it back exactly. */
int policy_to_json(const struct policy *p, struct cJSON **out);
int policy_from_json(const struct cJSON *j, struct policy *out, char *err, size_t errlen);

/*
 * The grant that lets the sandbox read path (absolute; resolved here, as grants are), or
 * NULL. A key file the proxy hides must not be one the sandbox can read.
 */
const struct policy_path *policy_grant_reading(const struct policy *p, const char *path);

/* The deny that covers path (equal or below it, per component), or NULL. */
const struct policy_deny *policy_deny_covering(const struct policy *p, const char *path);

/* Human text for "nonoctl explain": grants with rights and origin, denies, network, warnings.
 * The caller adds the Landlock ABI lines; with landlock_abi > 0, rights that ABI cannot restrict
 * are noted (0 = unknown: no notes). */
int policy_explain(const struct policy *p, int landlock_abi, struct buf *out);

#endif
