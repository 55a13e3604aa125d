/* profile_internal: what profile_load.c (reading and merging profiles) and profile.c (compiling
 * the merged profile into a struct policy) share. Not installed, not for other modules. */
#ifndef NONO_PROFILE_INTERNAL_H
#define NONO_PROFILE_INTERNAL_H

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "profile.h"

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

struct deny; /* profile.c */

/* One compilation: the merged profile, the data files, then the policy being built. */
struct ws {
	const struct profile_ctx *ctx;
	char *err;
	size_t errlen;
	cJSON *groups, *netdata, *routes; /* data files; routes may be NULL */
	char vars[11][PATH_MAX];	  /* $HOME, $WORKDIR, ...: var_names[] in profile.c */
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

/* A profile file being applied: display names it in errors, name in origins. */
struct src {
	const char *display;
	const char *name;
};

void profile__strv_clear(struct strv *s);
bool profile__strv_has(const struct strv *s, const char *str);
/* Append a copy of str unless already present. */
int profile__strv_add(struct strv *s, const char *str);

/* Put a message in w->err; returns rc. */
int profile__fail(struct ws *w, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Add a message to w->warnings; 0 or -ENOMEM. */
int profile__warn(struct ws *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Read and parse a JSON(C) object file; display names it in messages. */
int profile__read_json(struct ws *w, const char *file, const char *display, cJSON **out);
/* Lowercase, strip a trailing dot, check the labels. "*.suffix" is allowed. */
int profile__host_norm(const char *in, char *out, size_t len);

/* Whether a groups.json group is marked "required" (cannot be excluded). */
bool profile__group_required(const cJSON *g);
/* Add the group names in v (key names it in messages) to w->include, or w->exclude. */
int profile__add_groups(struct ws *w, const struct src *src, const cJSON *v, const char *key,
			bool exclude);
/* Load REF (a name or a path, relative to base_dir) and what it extends, merging into w. */
int profile__load(struct ws *w, const char *ref, const char *base_dir);
int profile__load_text(struct ws *w, const char *text, const char *display);

#endif
