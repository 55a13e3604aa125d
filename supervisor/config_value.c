/* config_value: the small value parsers of the config module (durations, sizes, signals, restart
 * policy names, shell-like argv splitting, env names, host names, paths, credential settings) and
 * credential_config copies, usable without an ini file (nonoctl, tests). */
#include "config.h"
#include "config_internal.h"
#include "profile_internal.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- string vectors ---- */

int config__strv_push(struct config__strv *sv, char *s)
{
	size_t cap = sv->cap ? sv->cap * 2 : 8;
	char **v;

	if (sv->n + 1 >= sv->cap) {
		v = realloc(sv->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		sv->v = v;
		sv->cap = cap;
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
	return 0;
}

void config_strv_free(char **v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

/* Append s (owned; NULL = -ENOMEM) to a NULL-terminated vector. */
int config_strv_add(char ***v, char *s)
{
	size_t n = 0;
	char **nv;

	if (!s)
		return -ENOMEM;
	while (*v && (*v)[n])
		n++;
	nv = realloc(*v, (n + 2) * sizeof(*nv));
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	nv[n] = s;
	nv[n + 1] = NULL;
	*v = nv;
	return 0;
}

/* Takes "KEY=VALUE" (owned, freed on failure, NULL = -ENOMEM); a later KEY replaces an earlier one. */
int config__env_set(struct config__strv *sv, char *kv)
{
	size_t klen, i;

	if (!kv)
		return -ENOMEM;
	klen = strcspn(kv, "=") + 1;
	for (i = 0; i < sv->n; i++) {
		if (strncmp(sv->v[i], kv, klen) == 0) {
			free(sv->v[i]);
			sv->v[i] = kv;
			return 0;
		}
	}
	if (config__strv_push(sv, kv) == 0)
		return 0;
	free(kv);
	return -ENOMEM;
}

/* ---- small parsers ---- */

int config__parse_digits(const char *s, uint64_t *n, const char **end)
{
	uint64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*n = v;
	*end = s;
	return 0;
}

static const struct unit {
	const char *name;
	uint64_t mult;
} duration_units[] = {
	{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { NULL, 0 },
}, size_units[] = {
	{ "", 1 }, { "b", 1 },
	{ "k", 1ull << 10 }, { "kb", 1ull << 10 }, { "kib", 1ull << 10 },
	{ "m", 1ull << 20 }, { "mb", 1ull << 20 }, { "mib", 1ull << 20 },
	{ "g", 1ull << 30 }, { "gb", 1ull << 30 }, { "gib", 1ull << 30 }, { NULL, 0 },
};

static int parse_with_unit(const char *s, const struct unit *u, bool icase, uint64_t *out)
{
	const char *end;
	uint64_t n;
	int rc;

	rc = config__parse_digits(s, &n, &end);
	if (rc < 0)
		return rc;
	for (; u->name; u++) {
		if (icase ? strcasecmp(end, u->name) : strcmp(end, u->name))
			continue;
		if (n > UINT64_MAX / u->mult)
			return -ERANGE;
		*out = n * u->mult;
		return 0;
	}
	return -EINVAL;
}

int config_parse_duration(const char *s, uint64_t *ms)
{
	return parse_with_unit(s, duration_units, false, ms);
}

int config_parse_size(const char *s, uint64_t *bytes)
{
	return parse_with_unit(s, size_units, true, bytes);
}

static const struct signame {
	const char *name;
	int sig;
} signames[] = {
	{ "SIGHUP", SIGHUP }, { "SIGINT", SIGINT }, { "SIGQUIT", SIGQUIT }, { "SIGILL", SIGILL },
	{ "SIGTRAP", SIGTRAP }, { "SIGABRT", SIGABRT }, { "SIGBUS", SIGBUS }, { "SIGFPE", SIGFPE },
	{ "SIGKILL", SIGKILL }, { "SIGUSR1", SIGUSR1 }, { "SIGSEGV", SIGSEGV }, { "SIGUSR2", SIGUSR2 },
	{ "SIGPIPE", SIGPIPE }, { "SIGALRM", SIGALRM }, { "SIGTERM", SIGTERM },
#ifdef SIGSTKFLT
	{ "SIGSTKFLT", SIGSTKFLT },
#endif
	{ "SIGCHLD", SIGCHLD }, { "SIGCONT", SIGCONT }, { "SIGSTOP", SIGSTOP }, { "SIGTSTP", SIGTSTP },
	{ "SIGTTIN", SIGTTIN }, { "SIGTTOU", SIGTTOU }, { "SIGURG", SIGURG }, { "SIGXCPU", SIGXCPU },
	{ "SIGXFSZ", SIGXFSZ }, { "SIGVTALRM", SIGVTALRM }, { "SIGPROF", SIGPROF },
	{ "SIGWINCH", SIGWINCH }, { "SIGIO", SIGIO },
#ifdef SIGPWR
	{ "SIGPWR", SIGPWR },
#endif
	{ "SIGSYS", SIGSYS },
	/* aliases: accepted, never printed */
	{ "SIGIOT", SIGABRT }, { "SIGPOLL", SIGIO }, { "SIGCLD", SIGCHLD },
	{ NULL, 0 },
};

int config_parse_signal(const char *s, int *sig)
{
	const struct signame *e;
	const char *end;
	uint64_t n = 0;
	bool num = isdigit((unsigned char)*s);

	if (num && (config__parse_digits(s, &n, &end) < 0 || *end))
		return -EINVAL;
	if (!num && strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (e = signames; e->name; e++) {
		if (num ? (uint64_t)e->sig == n : strcasecmp(s, e->name + 3) == 0) {
			*sig = e->sig;
			return 0;
		}
	}
	return -EINVAL;
}

const char *config_signal_name(int sig)
{
	const struct signame *e;

	for (e = signames; e->name; e++)
		if (e->sig == sig)
			return e->name;
	return "SIG?";
}

const char *config_restart_name(enum restart_policy p)
{
	switch (p) {
	case RESTART_ALWAYS:
		return "always";
	case RESTART_ON_FAILURE:
		return "on-failure";
	case RESTART_NEVER:
		return "never";
	}
	return "?";
}

static int push_word(struct config__strv *sv, const char *word, size_t len)
{
	char *w = strndup(word, len);

	if (w && config__strv_push(sv, w) == 0)
		return 0;
	free(w);
	return -ENOMEM;
}

/*
 * Words split on blanks; 'single quotes' are literal; "double quotes" honour \" \\ \$ \`
 * (a backslash before anything else stays); outside quotes a backslash escapes any character.
 * No expansion of any kind: there is no shell.
 */
int config_split_argv(const char *s, char ***argv, char *err, size_t errlen)
{
	enum { Q_NONE, Q_SINGLE, Q_DOUBLE } q = Q_NONE;
	struct config__strv sv = { 0 };
	const char *why = NULL;
	bool in_word = false;
	size_t wl = 0;
	char *word;
	int rc = -ENOMEM;

	*argv = NULL;
	word = malloc(strlen(s) + 1);
	if (!word)
		return -ENOMEM;
	for (;; s++) {
		if (q == Q_NONE && (!*s || *s == ' ' || *s == '\t' || *s == '\n')) {
			if (in_word && push_word(&sv, word, wl) < 0)
				goto out;
			in_word = false;
			wl = 0;
			if (!*s)
				break;
		} else if (!*s) {
			why = q == Q_SINGLE ? "unterminated single quote" : "unterminated double quote";
			break;
		} else if (q == Q_SINGLE) {
			if (*s == '\'')
				q = Q_NONE;
			else
				word[wl++] = *s;
		} else if (q == Q_DOUBLE) {
			if (*s == '"')
				q = Q_NONE;
			else if (*s == '\\' && s[1] && strchr("\"\\$`", s[1]))
				word[wl++] = *++s;
			else
				word[wl++] = *s;
		} else {
			in_word = true;
			if (*s == '\'')
				q = Q_SINGLE;
			else if (*s == '"')
				q = Q_DOUBLE;
			else if (*s != '\\')
				word[wl++] = *s;
			else if (s[1])
				word[wl++] = *++s;
			else
				why = "trailing backslash";
		}
	}
	if (!why && (!sv.n || !sv.v[0][0]))
		why = "empty command";
	rc = why ? -EINVAL : 0;
	if (why && errlen)
		snprintf(err, errlen, "%s", why);
out:
	free(word);
	if (rc < 0)
		config_strv_free(sv.v);
	else
		*argv = sv.v;
	return rc;
}

/* ---- names, hosts and paths ---- */

/* A host name or "*.suffix", exactly as the profile compiler will take it. */
bool config__host_ok(const char *h)
{
	char norm[256];

	return profile__host_norm(h, norm, sizeof(norm)) == 0;
}

bool config__env_name_ok(const char *s, size_t len)
{
	size_t i;

	if (!len || isdigit((unsigned char)s[0]))
		return false;
	for (i = 0; i < len; i++)
		if (!(isascii((unsigned char)s[i]) && (isalnum((unsigned char)s[i]) || s[i] == '_')))
			return false;
	return true;
}

char *config__path_join(const char *dir, const char *rel)
{
	size_t dl = strlen(dir), rl;
	char *s;

	if (rel[0] == '/')
		return strdup(rel);
	while (rel[0] == '.' && rel[1] == '/')
		rel += 2;
	if (!rel[0] || strcmp(rel, ".") == 0)
		return strdup(dir);
	rl = strlen(rel);
	s = malloc(dl + rl + 2);
	if (!s)
		return NULL;
	memcpy(s, dir, dl);
	if (!dl || dir[dl - 1] != '/')
		s[dl++] = '/';
	memcpy(s + dl, rel, rl + 1);
	return s;
}

char *config__trim(char *s)
{
	size_t len;

	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	return s;
}

/* ---- credential settings ---- */

static bool route_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

bool config__route_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!route_char(*s))
			return false;
	return true;
}

bool config__url_ok(const char *s)
{
	if (strncasecmp(s, "https://", 8) == 0)
		s += 8;
	else if (strncasecmp(s, "http://", 7) == 0)
		s += 7;
	else
		return false;
	if (!*s || *s == '/')
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

bool config__header_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!route_char(*s) && !strchr("!#$%&'*+.^`|~", *s))
			return false;
	return true;
}

bool config__format_ok(const char *s)
{
	const char *hole = strstr(s, "{}");

	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			return false;
	return hole && !strstr(hole + 2, "{}");
}

static bool str_eq(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) == 0 : a == b;
}

void config_credential_release(struct credential_config *c)
{
	free(c->name);
	free(c->source);
	free(c->route);
	free(c->upstream);
	free(c->ca);
	free(c->header);
	free(c->format);
	free(c->env);
}

static int dup_field(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return !src || *dst ? 0 : -ENOMEM;
}

int config_credential_copy(struct credential_config *dst, const struct credential_config *src)
{
	*dst = (struct credential_config){ .src = src->src, .line = src->line,
					   .optional = src->optional };
	if (dup_field(&dst->name, src->name) < 0 || dup_field(&dst->source, src->source) < 0 ||
	    dup_field(&dst->route, src->route) < 0 || dup_field(&dst->upstream, src->upstream) < 0 ||
	    dup_field(&dst->ca, src->ca) < 0 || dup_field(&dst->header, src->header) < 0 ||
	    dup_field(&dst->format, src->format) < 0 || dup_field(&dst->env, src->env) < 0) {
		config_credential_release(dst);
		*dst = (struct credential_config){ 0 };
		return -ENOMEM;
	}
	return 0;
}

bool config_credential_equal(const struct credential_config *a, const struct credential_config *b)
{
	return str_eq(a->name, b->name) && a->src.kind == b->src.kind &&
	       strcmp(a->src.ref, b->src.ref) == 0 && str_eq(a->route, b->route) &&
	       str_eq(a->upstream, b->upstream) && str_eq(a->ca, b->ca) &&
	       str_eq(a->header, b->header) && str_eq(a->format, b->format) &&
	       str_eq(a->env, b->env) && a->optional == b->optional;
}
