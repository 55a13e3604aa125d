/* state: the pure per-service state machine (state apart from want; one transition function). */
#include "state.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[ST__COUNT] = {
	[ST_STOPPED] = "STOPPED",   [ST_STARTING] = "STARTING", [ST_RUNNING] = "RUNNING",
	[ST_BACKOFF] = "BACKOFF",   [ST_STOPPING] = "STOPPING", [ST_EXITED] = "EXITED",
	[ST_FAILED] = "FAILED",
};

static const char *const event_names[EV__COUNT] = {
	[EV_START] = "start",		  [EV_STOP] = "stop",
	[EV_RESTART] = "restart",	  [EV_STARTED] = "started",
	[EV_EXIT] = "exit",		  [EV_SPAWN_FAILED] = "spawn-failed",
	[EV_BACKOFF_DONE] = "backoff-done", [EV_STOP_TIMEOUT] = "stop-timeout",
};

const char *state_name(enum svc_state st)
{
	return st < ST__COUNT ? state_names[st] : "?";
}

const char *state_event_name(enum svc_event ev)
{
	return ev < EV__COUNT ? event_names[ev] : "?";
}

bool state_has_process(enum svc_state st)
{
	return st == ST_STARTING || st == ST_RUNNING || st == ST_STOPPING;
}

int state_init(struct state_machine *sm, unsigned start_limit_n)
{
	*sm = (struct state_machine){ .state = ST_STOPPED, .want = WANT_DOWN };
	sm->fail_times = calloc(start_limit_n ? start_limit_n : 1, sizeof(*sm->fail_times));
	if (!sm->fail_times)
		return -ENOMEM;
	sm->fail_cap = start_limit_n ? start_limit_n : 1;
	return 0;
}

void state_free(struct state_machine *sm)
{
	free(sm->fail_times);
	sm->fail_times = NULL;
}

static void forget_failures(struct state_machine *sm)
{
	sm->failures = 0;
	sm->fail_len = 0;
	sm->fail_head = 0;
}

int state_set_limit(struct state_machine *sm, unsigned start_limit_n)
{
	unsigned cap = start_limit_n ? start_limit_n : 1;
	uint64_t *p = realloc(sm->fail_times, cap * sizeof(*p));

	if (!p)
		return -ENOMEM;
	sm->fail_times = p;
	sm->fail_cap = cap;
	forget_failures(sm);
	return 0;
}

/* Record a failed run at now; true when start_limit_n of them fall inside the window. */
static bool crash_loop(struct state_machine *sm, const struct service_config *cfg, uint64_t now)
{
	unsigned oldest;

	sm->fail_times[sm->fail_head] = now;
	sm->fail_head = (sm->fail_head + 1) % sm->fail_cap;
	if (sm->fail_len < sm->fail_cap)
		sm->fail_len++;
	if (cfg->start_limit_n > sm->fail_cap || sm->fail_len < cfg->start_limit_n)
		return false;
	oldest = (sm->fail_head + sm->fail_cap - cfg->start_limit_n) % sm->fail_cap;
	return now - sm->fail_times[oldest] <= cfg->start_limit_window_ms;
}

static bool exit_success(const struct service_config *cfg, const struct state_input *in)
{
	if (in->exit_code < 0)
		return false;
	for (int i = 0; i < cfg->n_success_codes; i++)
		if (cfg->success_codes[i] == in->exit_code)
			return true;
	return false;
}

static uint64_t backoff_delay(const struct service_config *cfg, unsigned failures)
{
	uint64_t d = cfg->restart_delay_ms;

	for (unsigned i = 1; i < failures && d < cfg->restart_delay_max_ms; i++)
		d *= 2;
	return d < cfg->restart_delay_max_ms ? d : cfg->restart_delay_max_ms;
}

static enum svc_action spawn(struct state_machine *sm)
{
	sm->state = ST_STARTING;
	sm->reason[0] = '\0';
	return ACT_SPAWN;
}

/* The process is gone while we wanted it up: restart, give up, or call it done. */
static enum svc_action on_unexpected_exit(struct state_machine *sm,
					  const struct service_config *cfg,
					  const struct state_input *in, uint64_t now)
{
	bool ok = exit_success(cfg, in);
	bool restart = cfg->restart == RESTART_ALWAYS || (cfg->restart == RESTART_ON_FAILURE && !ok);

	if (!restart) {
		sm->state = ST_EXITED;
		sm->want = WANT_DOWN;
		return ACT_NONE;
	}
	if (now - sm->started_at >= cfg->reset_after_ms)
		forget_failures(sm);
	sm->failures++;
	if (crash_loop(sm, cfg, now)) {
		char window[32];

		format_duration(window, sizeof(window), cfg->start_limit_window_ms);
		snprintf(sm->reason, sizeof(sm->reason), "crash loop: %u failed starts in %s",
			 cfg->start_limit_n, window);
		sm->state = ST_FAILED;
		sm->want = WANT_DOWN;
		return ACT_NONE;
	}
	sm->state = ST_BACKOFF;
	sm->delay_ms = backoff_delay(cfg, sm->failures);
	sm->restart_at = now + sm->delay_ms;
	return ACT_WAIT;
}

enum svc_action state_next(struct state_machine *sm, const struct service_config *cfg,
			   enum svc_event ev, const struct state_input *in, uint64_t now)
{
	enum svc_state st = sm->state;

	switch (ev) {
	case EV_START:
	case EV_RESTART:
		if (st == ST_STARTING || st == ST_RUNNING) {
			if (ev == EV_START)
				return ACT_NONE;
			sm->want = WANT_UP;
			sm->state = ST_STOPPING;
			return ACT_SIGNAL;
		}
		sm->want = WANT_UP;
		if (st == ST_STOPPING)
			return ACT_NONE;	/* comes back up on EV_EXIT */
		forget_failures(sm);
		return spawn(sm);

	case EV_STOP:
		sm->want = WANT_DOWN;
		if (st == ST_STARTING || st == ST_RUNNING) {
			sm->state = ST_STOPPING;
			return ACT_SIGNAL;
		}
		if (st != ST_STOPPING) {
			sm->state = ST_STOPPED;
			sm->reason[0] = '\0';
		}
		return ACT_NONE;

	case EV_STARTED:
		if (st == ST_STARTING)
			sm->state = ST_RUNNING;
		return ACT_NONE;

	case EV_EXIT:
		if (!state_has_process(st))
			return ACT_NONE;
		sm->has_exit = true;
		sm->exit_code = in->exit_code;
		sm->exit_signal = in->exit_signal;
		if (sm->want == WANT_DOWN) {
			sm->state = ST_STOPPED;
			return ACT_NONE;
		}
		if (st == ST_STOPPING)
			return spawn(sm);	/* a restart */
		return on_unexpected_exit(sm, cfg, in, now);

	case EV_SPAWN_FAILED:
		if (!state_has_process(st))
			return ACT_NONE;
		if (sm->want == WANT_DOWN) {
			sm->state = ST_STOPPED;
			return ACT_NONE;
		}
		snprintf(sm->reason, sizeof(sm->reason), "%s",
			 in && in->reason ? in->reason : "spawn failed");
		sm->state = ST_FAILED;
		sm->want = WANT_DOWN;
		return ACT_NONE;

	case EV_BACKOFF_DONE:
		if (st != ST_BACKOFF)
			return ACT_NONE;
		sm->restarts++;
		return spawn(sm);

	case EV_STOP_TIMEOUT:
		return st == ST_STOPPING ? ACT_KILL : ACT_NONE;

	case EV__COUNT:
		break;
	}
	return ACT_NONE;
}

enum svc_action state_spawned(struct state_machine *sm, const struct service_config *cfg,
			      uint64_t now)
{
	sm->started_at = now;
	/* start_secs = 0: RUNNING once the service's own program runs (EV_STARTED on exec). */
	return sm->state == ST_STARTING && cfg->start_ms > 0 ? ACT_START_TIMER : ACT_NONE;
}
