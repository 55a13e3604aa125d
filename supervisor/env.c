/* env: a service's environment, built from layers; never the supervisor's wholesale. */
#include "env.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* What every service inherits from the supervisor; nothing else of its environment. */
static const char *const inherited_env[] = { "PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ" };

char *env_entry(const char *key, const char *value)
{
	size_t len;
	char *e;

	if (!value)
		value = getenv(key);
	if (!value)
		return NULL;
	len = strlen(key) + strlen(value) + 2;
	e = malloc(len);
	if (e)
		snprintf(e, len, "%s=%s", key, value);
	return e;
}

char **env_base(void)
{
	char **env = calloc(ARRAY_SIZE(inherited_env) + 1, sizeof(*env));
	size_t n = 0;

	if (!env)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(inherited_env); i++) {
		const char *k = inherited_env[i];

		env[n] = env_entry(k, strcmp(k, "PATH") == 0 && !getenv(k)
					  ? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
					  : NULL);
		if (env[n])
			n++;
	}
	return env;
}

/* Whether the variable of entry "NAME=value" is named in list. */
static bool env_listed(char *const *list, const char *entry)
{
	size_t klen = strcspn(entry, "=");

	for (; list && *list; list++)
		if (strlen(*list) == klen && strncmp(*list, entry, klen) == 0)
			return true;
	return false;
}

/*
 * The service's environment, never the supervisor's wholesale: the safe base (PATH, LANG,
 * TZ...) as the profile's allow_vars / deny_vars filter it, then the profile's set_vars,
 * then the service's env= lines, then the session's phantom token and proxy variables; a
 * later entry replaces an earlier one of the same name.
 */
char **env_build(char **base, const struct policy *p, char **own, char **session)
{
	char **layers[] = { base, p ? p->env_set : NULL, own, session };
	size_t total = 0, n = 0;
	char **env;

	for (size_t l = 0; l < ARRAY_SIZE(layers); l++)
		for (char **e = layers[l]; e && *e; e++)
			total++;
	env = calloc(total + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t l = 0; l < ARRAY_SIZE(layers); l++) {
		for (char **e = layers[l]; e && *e; e++) {
			size_t klen = strcspn(*e, "="), j;

			if (l == 0 && p && ((p->env_allow && !env_listed(p->env_allow, *e)) ||
					    env_listed(p->env_deny, *e)))
				continue;
			for (j = 0; j < n; j++)
				if (strncmp(env[j], *e, klen + 1) == 0)
					break;
			env[j] = *e;
			if (j == n)
				n++;
		}
	}
	return env;
}

