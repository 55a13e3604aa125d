/* env: a service's environment, built from layers; never the supervisor's wholesale. */
#ifndef NONO_ENV_H
#define NONO_ENV_H

#include "policy.h"

/* "KEY=value" (malloc'd), value NULL: ours; NULL if we have none (or no memory). */
char *env_entry(const char *key, const char *value);

/* PATH (a default if unset), LANG, LC_ALL, LC_CTYPE and TZ as we have them. Free with strv. */
char **env_base(void);

/*
 * base as the profile's allow_vars / deny_vars filter it, then the profile's set_vars, then
 * own (env= lines), then session (phantom tokens, proxy variables); a later entry replaces an
 * earlier one of the same name. The array is new (free() it); its strings are the layers'.
 */
char **env_build(char **base, const struct policy *p, char **own, char **session);

#endif
