/*
 * run_args: nono's `run` flags (`nono-supervise run`, `nonoctl run`), and the service
 * definition they make: the chosen profile plus the flags as a profile overlay.
 */
#ifndef NONO_RUN_ARGS_H
#define NONO_RUN_ARGS_H

#include <stdbool.h>

#include "config.h"

/* Exit codes of a command that never started (else: its own, or 128 + its signal). */
#define RUN_EXIT_USAGE 2    /* bad flags */
#define RUN_EXIT_SANDBOX 125 /* the sandbox, a credential or the proxy failed before the start */
#define RUN_EXIT_NOEXEC 126 /* found, not executable */
#define RUN_EXIT_NOTFOUND 127

struct run_opts {
	char *profile;	       /* -p NAME|PATH (a path made absolute); NULL: default */
	char **allow, **read, **write;		     /* -a, -r, -w: directories, absolute */
	char **allow_file, **read_file, **write_file; /* single files, absolute */
	bool allow_cwd;
	char *network_profile;
	char **allow_domain;
	bool block_net;
	char **credentials;	   /* --proxy-credential NAME */
	char **credential_sources; /* --credential-source NAME=SOURCE */
	char **credential_upstreams; /* --credential-upstream NAME=URL */
	char **credential_cas;	   /* --credential-ca NAME=PATH (absolute) */
	char *name;		   /* --name (nonoctl run) */
	char *user;		   /* -u NAME: as root, the account to run as */
	bool detach;		   /* --detach (nonoctl run) */
	bool dry_run;
	int verbose;
	char **env;		   /* --env: "KEY=VALUE" */
	char **argv;		   /* the command */
};

/*
 * Parse flags then the command (after "--", or from the first word that is no flag). cwd
 * makes relative paths absolute. ctl: also --name and --detach. 0, 1 for --help (usage in
 * err), or -EINVAL with the problem in err.
 */
int run_args_parse(int argc, char *const *argv, const char *cwd, bool ctl, struct run_opts *o,
		   char *err, size_t errlen);
void run_opts_free(struct run_opts *o);

/* The flags as JSON, to send to a supervisor; run_opts_from_json reads it back. */
char *run_opts_to_json(const struct run_opts *o);
int run_opts_from_json(const char *json, struct run_opts *o, char *err, size_t errlen);

/*
 * The service definition: name (o->name or "run"), the command, cwd, the profile, the
 * flags as profile_overlay, restart never, start_secs 0, and a [credential:NAME] for each
 * --proxy-credential (its --credential-source, else keyring:NAME). 0 or -EINVAL with err.
 */
int run_service_config(const struct run_opts *o, const char *cwd, struct service_config *sc,
		       char *err, size_t errlen);

/* The usage text. */
extern const char run_usage[];

#endif
