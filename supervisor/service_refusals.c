/*
 * service_refusals: what Landlock refused a service's run, as kernel audit reports it
 * (supervisor.c reads it): one line in the service's log per distinct refusal, with the
 * profile key that would allow it or the deny group that protects it; every one counted.
 */
#include "service_internal.h"

#include <stdlib.h>
#include <string.h>

#include "denials.h"
#include "sandbox.h"
#include "supervisor.h"

static uint32_t hash(const char *a, const char *b)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *a; a++)
		h = (h ^ (unsigned char)*a) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (; *b; b++)
		h = (h ^ (unsigned char)*b) * 16777619u;
	return h ? h : 1;
}

/* nonoctl run tells its caller what was refused, as `nono-supervise run` does (run's flags). */
static bool shown_again(struct service *s, uint32_t h)
{
	for (unsigned i = 0; i < s->n_shown; i++)
		if (s->shown[i].hash == h) {
			s->shown[i].count++;
			return true;
		}
	return false;
}

static void show(struct service *s, uint32_t h, const struct denial *d)
{
	struct service_refusal *r;

	if (!s->shown)
		s->shown = calloc(SERVICE_REFUSALS_SHOWN, sizeof(*s->shown));
	if (!s->shown || s->n_shown == SERVICE_REFUSALS_SHOWN)
		return;
	r = &s->shown[s->n_shown++];
	r->hash = h;
	r->count = 1;
	denials_describe(d, s->refused_policy, DENIALS_FLAGS, r->line, sizeof(r->line));
}

void service_refused(struct service *s, const struct denial *d)
{
	uint32_t h = hash(d->blockers, d->object);
	char line[PATH_MAX + 256], why[256];

	s->refused++;
	if (s->transient && shown_again(s, h))
		return;
	for (unsigned i = 0; i < s->refused_logged && i < SERVICE_REFUSALS_LOGGED; i++)
		if (s->refused_seen[i] == h)
			return;
	if (s->refused_logged >= SERVICE_REFUSALS_LOGGED) {
		if (s->refused_logged++ == SERVICE_REFUSALS_LOGGED)
			service__event(s,
				       "landlock: over %d kinds of refusal; more are counted only",
				       SERVICE_REFUSALS_LOGGED);
		return;
	}
	s->refused_seen[s->refused_logged++] = h;
	/* The run's policy names its deny groups; compiled once, at its first refusal. */
	if (!s->refused_policy) {
		s->refused_policy = calloc(1, sizeof(*s->refused_policy));
		if (s->refused_policy && sandbox_compile(&s->cfg, s->sv->config_dir,
							 s->refused_policy, why, sizeof(why)) < 0)
			policy_free(s->refused_policy); /* zeroed: no deny is named */
	}
	denials_describe(d, s->refused_policy, DENIALS_KEYS, line, sizeof(line));
	service__event(s, "landlock refused: %s", line);
	if (s->transient)
		show(s, h, d);
}

void service_refusals_reset(struct service *s)
{
	s->refused = 0;
	s->refused_logged = 0;
	policy_free(s->refused_policy);
	free(s->refused_policy);
	s->refused_policy = NULL;
	free(s->shown);
	s->shown = NULL;
	s->n_shown = 0;
}
