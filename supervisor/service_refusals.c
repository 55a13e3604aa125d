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

/* The run's policy names its deny groups: compiled once, at its first refusal. */
static const struct policy *run_policy(struct service *s)
{
	char why[256];

	if (!s->refused_policy) {
		s->refused_policy = calloc(1, sizeof(*s->refused_policy));
		if (s->refused_policy && sandbox_compile(&s->cfg, s->sv->config_dir,
							 s->refused_policy, why, sizeof(why)) < 0)
			policy_free(s->refused_policy); /* zeroed: no deny is named */
	}
	return s->refused_policy;
}

void service_refused(struct service *s, const struct denial *d)
{
	uint32_t h = denials_hash(d);
	char line[PATH_MAX + 256];

	s->refused++;
	/* nonoctl run's last lines say it as `nono-supervise run` does: with run's flags */
	if (s->transient && !s->shown)
		s->shown = calloc(1, sizeof(*s->shown));
	if (s->shown)
		denials_tally_add(s->shown, d, run_policy(s), DENIALS_FLAGS);
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
	denials_describe(d, run_policy(s), DENIALS_KEYS, line, sizeof(line));
	service__event(s, "landlock refused: %s", line);
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
}
