/* profile: load nono profiles (JSON/JSONC, extends, groups) and compile them into a struct policy.
 */
#ifndef NONO_PROFILE_H
#define NONO_PROFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "policy.h"

#define PROFILE_MAX_DEPTH 10	    /* extends chain */
#define PROFILE_MAX_SIZE  (1 << 20) /* bytes of one profile or data file */

/* What a compilation depends on besides the profile files. Only data_dir, home and workdir are
 * required; NULL xdg_* / tmpdir / runtime_dir take the usual defaults (~/.config, /tmp, ...). */
struct profile_ctx {
	const char *data_dir;	     /* groups.json, network-profiles.json, NAME.json, ... */
	const char *home;	     /* the service user's $HOME (user profiles live below) */
	uid_t uid;		     /* $UID */
	const char *workdir;	     /* the service's cwd, absolute: $WORKDIR */
	const char *tmpdir;	     /* $TMPDIR, NULL = /tmp */
	const char *xdg_config_home; /* NULL = ~/.config */
	const char *xdg_data_home;   /* NULL = ~/.local/share */
	const char *xdg_state_home;  /* NULL = ~/.local/state */
	const char *xdg_cache_home;  /* NULL = ~/.cache */
	const char *xdg_runtime_dir; /* NULL = /run/user/$UID */
	const char *service;	     /* service name, for origins and messages; NULL = none */
	/* services.ini additions, NULL-terminated (or NULL): origin "service NAME (read =)" ... */
	char **read;  /* read-only */
	char **write; /* read-write */
	char **allow_domain;
	/* the command line's flags as a profile object, merged last (origin "command line") */
	const char *overlay;
};

/*
 * Compile NAME_OR_PATH (a NAME [A-Za-z0-9_-]+ is looked up in $XDG_CONFIG_HOME/nono/profiles, then
 * ctx->data_dir; anything with '/' or ending in ".json" is a file) into out. Warnings go to
 * out->warnings. Returns 0, or a negative errno with one message in err (out is then empty).
 */
int profile_compile(const char *name_or_path, const struct profile_ctx *ctx, struct policy *out,
		    char *err, size_t errlen);

/* Strip // and block comments and trailing commas from JSONC text in place (strings kept). */
void profile_strip_jsonc(char *s);

#endif
