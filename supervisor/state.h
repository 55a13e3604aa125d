/* state: the pure per-service state machine (state apart from want; one transition function). */
#ifndef NONO_STATE_H
#define NONO_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

enum svc_state {
	ST_STOPPED,
	ST_STARTING,
	ST_RUNNING,
	ST_BACKOFF,
	ST_STOPPING,
	ST_EXITED,
	ST_FAILED,
	ST__COUNT,
};

enum svc_want {
	WANT_DOWN,
	WANT_UP,
};

enum svc_event {
	EV_START,		/* operator: start (also clears a crash loop) */
	EV_STOP,		/* operator: stop */
	EV_RESTART,		/* operator: stop if up, then start */
	EV_STARTED,		/* the process stayed up for start_secs */
	EV_EXIT,		/* the process (and everything it started) is gone */
	EV_SPAWN_FAILED,	/* it never ran: missing binary, bad cwd, unknown user... */
	EV_BACKOFF_DONE,	/* the restart delay has passed */
	EV_STOP_TIMEOUT,	/* stop_timeout passed after the stop signal */
	EV__COUNT,
};

enum svc_action {
	ACT_NONE,
	ACT_SPAWN,		/* start a new process */
	ACT_SIGNAL,		/* send stop_signal, arm stop_timeout */
	ACT_KILL,		/* SIGKILL everything the service started */
	ACT_WAIT,		/* arm the restart timer for sm->delay_ms */
	ACT_START_TIMER,	/* arm the start_secs timer (after a spawn) */
};

struct state_machine {
	enum svc_state state;
	enum svc_want want;
	unsigned restarts;		/* automatic restarts, for status */
	unsigned failures;		/* consecutive failed runs, for the backoff */
	uint64_t *fail_times;		/* ring of the last start_limit_n failure times */
	unsigned fail_cap, fail_len, fail_head;
	uint64_t started_at;		/* ms, when the current/last run was spawned */
	uint64_t delay_ms;		/* for ACT_WAIT */
	uint64_t restart_at;		/* ms, when BACKOFF ends */
	bool has_exit;			/* last_exit valid */
	int exit_code;			/* >= 0 exit code, or -1 when killed by exit_signal */
	int exit_signal;
	char reason[256];		/* why FAILED (or EXITED) */
};

/* What EV_EXIT and EV_SPAWN_FAILED carry. */
struct state_input {
	int exit_code;		/* -1 if killed by a signal */
	int exit_signal;
	const char *reason;	/* EV_SPAWN_FAILED */
};

int state_init(struct state_machine *sm, unsigned start_limit_n);
void state_free(struct state_machine *sm);
/* A new start_limit (after a reload): resizes the failure ring and forgets past failures. */
int state_set_limit(struct state_machine *sm, unsigned start_limit_n);

/*
 * Feed one event at time now (ms, monotonic); returns what the caller must do.
 * The caller performs the action; after ACT_SPAWN, EV_STARTED comes from the start_secs
 * timer (ACT_START_TIMER), or, when start_secs is 0, as soon as the service's program runs.
 */
enum svc_action state_next(struct state_machine *sm, const struct service_config *cfg,
			   enum svc_event ev, const struct state_input *in, uint64_t now);

/* After a successful spawn: records the start time, says which timer to arm. */
enum svc_action state_spawned(struct state_machine *sm, const struct service_config *cfg,
			      uint64_t now);

bool state_has_process(enum svc_state st);
const char *state_name(enum svc_state st);
const char *state_event_name(enum svc_event ev);

#endif
