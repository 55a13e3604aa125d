/* The service state machine: every state x event cell, backoff, crash loop, reset. */
#include <criterion/criterion.h>
#include <signal.h>

#include "state.h"

static struct service_config policy(void)
{
	return (struct service_config){
		.name = "svc",
		.restart = RESTART_ON_FAILURE,
		.success_codes = { 0 },
		.n_success_codes = 1,
		.start_ms = 1000,
		.restart_delay_ms = 1000,
		.restart_delay_max_ms = 8000,
		.reset_after_ms = 30000,
		.start_limit_n = 5,
		.start_limit_window_ms = 60000,
		.stop_signal = SIGTERM,
		.stop_timeout_ms = 10000,
	};
}

static const struct state_input crash = { .exit_code = 1 };

struct cell {
	enum svc_state from;
	enum svc_want want;
	enum svc_event ev;
	enum svc_state to;
	enum svc_action act;
};

/* The whole table: 7 states x 8 events, each state with the want it normally has. */
static const struct cell cells[] = {
	{ ST_STOPPED, WANT_DOWN, EV_START, ST_STARTING, ACT_SPAWN },
	{ ST_STOPPED, WANT_DOWN, EV_STOP, ST_STOPPED, ACT_NONE },
	{ ST_STOPPED, WANT_DOWN, EV_RESTART, ST_STARTING, ACT_SPAWN },
	{ ST_STOPPED, WANT_DOWN, EV_STARTED, ST_STOPPED, ACT_NONE },
	{ ST_STOPPED, WANT_DOWN, EV_EXIT, ST_STOPPED, ACT_NONE },
	{ ST_STOPPED, WANT_DOWN, EV_SPAWN_FAILED, ST_STOPPED, ACT_NONE },
	{ ST_STOPPED, WANT_DOWN, EV_BACKOFF_DONE, ST_STOPPED, ACT_NONE },
	{ ST_STOPPED, WANT_DOWN, EV_STOP_TIMEOUT, ST_STOPPED, ACT_NONE },

	{ ST_STARTING, WANT_UP, EV_START, ST_STARTING, ACT_NONE },
	{ ST_STARTING, WANT_UP, EV_STOP, ST_STOPPING, ACT_SIGNAL },
	{ ST_STARTING, WANT_UP, EV_RESTART, ST_STOPPING, ACT_SIGNAL },
	{ ST_STARTING, WANT_UP, EV_STARTED, ST_RUNNING, ACT_NONE },
	{ ST_STARTING, WANT_UP, EV_EXIT, ST_BACKOFF, ACT_WAIT },
	{ ST_STARTING, WANT_UP, EV_SPAWN_FAILED, ST_FAILED, ACT_NONE },
	{ ST_STARTING, WANT_UP, EV_BACKOFF_DONE, ST_STARTING, ACT_NONE },
	{ ST_STARTING, WANT_UP, EV_STOP_TIMEOUT, ST_STARTING, ACT_NONE },

	{ ST_RUNNING, WANT_UP, EV_START, ST_RUNNING, ACT_NONE },
	{ ST_RUNNING, WANT_UP, EV_STOP, ST_STOPPING, ACT_SIGNAL },
	{ ST_RUNNING, WANT_UP, EV_RESTART, ST_STOPPING, ACT_SIGNAL },
	{ ST_RUNNING, WANT_UP, EV_STARTED, ST_RUNNING, ACT_NONE },
	{ ST_RUNNING, WANT_UP, EV_EXIT, ST_BACKOFF, ACT_WAIT },
	{ ST_RUNNING, WANT_UP, EV_SPAWN_FAILED, ST_FAILED, ACT_NONE },
	{ ST_RUNNING, WANT_UP, EV_BACKOFF_DONE, ST_RUNNING, ACT_NONE },
	{ ST_RUNNING, WANT_UP, EV_STOP_TIMEOUT, ST_RUNNING, ACT_NONE },

	{ ST_BACKOFF, WANT_UP, EV_START, ST_STARTING, ACT_SPAWN },
	{ ST_BACKOFF, WANT_UP, EV_STOP, ST_STOPPED, ACT_NONE },
	{ ST_BACKOFF, WANT_UP, EV_RESTART, ST_STARTING, ACT_SPAWN },
	{ ST_BACKOFF, WANT_UP, EV_STARTED, ST_BACKOFF, ACT_NONE },
	{ ST_BACKOFF, WANT_UP, EV_EXIT, ST_BACKOFF, ACT_NONE },
	{ ST_BACKOFF, WANT_UP, EV_SPAWN_FAILED, ST_BACKOFF, ACT_NONE },
	{ ST_BACKOFF, WANT_UP, EV_BACKOFF_DONE, ST_STARTING, ACT_SPAWN },
	{ ST_BACKOFF, WANT_UP, EV_STOP_TIMEOUT, ST_BACKOFF, ACT_NONE },

	{ ST_STOPPING, WANT_DOWN, EV_START, ST_STOPPING, ACT_NONE },
	{ ST_STOPPING, WANT_DOWN, EV_STOP, ST_STOPPING, ACT_NONE },
	{ ST_STOPPING, WANT_DOWN, EV_RESTART, ST_STOPPING, ACT_NONE },
	{ ST_STOPPING, WANT_DOWN, EV_STARTED, ST_STOPPING, ACT_NONE },
	{ ST_STOPPING, WANT_DOWN, EV_EXIT, ST_STOPPED, ACT_NONE },
	{ ST_STOPPING, WANT_DOWN, EV_SPAWN_FAILED, ST_STOPPED, ACT_NONE },
	{ ST_STOPPING, WANT_DOWN, EV_BACKOFF_DONE, ST_STOPPING, ACT_NONE },
	{ ST_STOPPING, WANT_DOWN, EV_STOP_TIMEOUT, ST_STOPPING, ACT_KILL },

	{ ST_EXITED, WANT_DOWN, EV_START, ST_STARTING, ACT_SPAWN },
	{ ST_EXITED, WANT_DOWN, EV_STOP, ST_STOPPED, ACT_NONE },
	{ ST_EXITED, WANT_DOWN, EV_RESTART, ST_STARTING, ACT_SPAWN },
	{ ST_EXITED, WANT_DOWN, EV_STARTED, ST_EXITED, ACT_NONE },
	{ ST_EXITED, WANT_DOWN, EV_EXIT, ST_EXITED, ACT_NONE },
	{ ST_EXITED, WANT_DOWN, EV_SPAWN_FAILED, ST_EXITED, ACT_NONE },
	{ ST_EXITED, WANT_DOWN, EV_BACKOFF_DONE, ST_EXITED, ACT_NONE },
	{ ST_EXITED, WANT_DOWN, EV_STOP_TIMEOUT, ST_EXITED, ACT_NONE },

	{ ST_FAILED, WANT_DOWN, EV_START, ST_STARTING, ACT_SPAWN },
	{ ST_FAILED, WANT_DOWN, EV_STOP, ST_STOPPED, ACT_NONE },
	{ ST_FAILED, WANT_DOWN, EV_RESTART, ST_STARTING, ACT_SPAWN },
	{ ST_FAILED, WANT_DOWN, EV_STARTED, ST_FAILED, ACT_NONE },
	{ ST_FAILED, WANT_DOWN, EV_EXIT, ST_FAILED, ACT_NONE },
	{ ST_FAILED, WANT_DOWN, EV_SPAWN_FAILED, ST_FAILED, ACT_NONE },
	{ ST_FAILED, WANT_DOWN, EV_BACKOFF_DONE, ST_FAILED, ACT_NONE },
	{ ST_FAILED, WANT_DOWN, EV_STOP_TIMEOUT, ST_FAILED, ACT_NONE },
};

Test(state, every_cell)
{
	struct service_config cfg = policy();

	cr_assert_eq(sizeof(cells) / sizeof(cells[0]), ST__COUNT * EV__COUNT);
	for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
		const struct cell *c = &cells[i];
		struct state_machine sm;
		struct state_input in = { .exit_code = 1, .reason = "boom" };
		enum svc_action act;

		cr_assert_eq(state_init(&sm, cfg.start_limit_n), 0);
		sm.state = c->from;
		sm.want = c->want;
		sm.started_at = 1000;
		act = state_next(&sm, &cfg, c->ev, &in, 2000);
		cr_expect_eq(sm.state, c->to, "%s + %s: got %s, want %s", state_name(c->from),
			     state_event_name(c->ev), state_name(sm.state), state_name(c->to));
		cr_expect_eq(act, c->act, "%s + %s: action %d, want %d", state_name(c->from),
			     state_event_name(c->ev), act, c->act);
		state_free(&sm);
	}
}

/* Start a machine and bring it to RUNNING at time t. */
static void run(struct state_machine *sm, const struct service_config *cfg, uint64_t t)
{
	cr_assert_eq(sm->state == ST_BACKOFF ? state_next(sm, cfg, EV_BACKOFF_DONE, NULL, t)
					     : state_next(sm, cfg, EV_START, NULL, t),
		     ACT_SPAWN);
	cr_assert_eq(state_spawned(sm, cfg, t), ACT_START_TIMER);
}

Test(state, backoff_doubles_and_caps)
{
	static const uint64_t want[] = { 1000, 2000, 4000, 8000, 8000, 8000 };
	struct service_config cfg = policy();
	struct state_machine sm;
	uint64_t t = 0;

	cfg.start_limit_n = 100;
	cr_assert_eq(state_init(&sm, cfg.start_limit_n), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		run(&sm, &cfg, t);
		t += 500;
		cr_assert_eq(state_next(&sm, &cfg, EV_EXIT, &crash, t), ACT_WAIT);
		cr_assert_eq(sm.state, ST_BACKOFF);
		cr_expect_eq(sm.delay_ms, want[i], "failure %zu: delay %llu, want %llu", i + 1,
			     (unsigned long long)sm.delay_ms, (unsigned long long)want[i]);
		cr_expect_eq(sm.restart_at, t + want[i]);
		t += sm.delay_ms;
	}
	cr_expect_eq(sm.restarts, 5);
	state_free(&sm);
}

Test(state, long_run_resets_backoff)
{
	struct service_config cfg = policy();
	struct state_machine sm;

	cr_assert_eq(state_init(&sm, 5), 0);
	run(&sm, &cfg, 0);
	state_next(&sm, &cfg, EV_EXIT, &crash, 100);
	run(&sm, &cfg, 1100);
	state_next(&sm, &cfg, EV_EXIT, &crash, 1200);
	cr_assert_eq(sm.delay_ms, 2000);
	run(&sm, &cfg, 3200);
	/* up 30 s: the next failure starts over at restart_delay */
	state_next(&sm, &cfg, EV_EXIT, &crash, 3200 + 30000);
	cr_assert_eq(sm.state, ST_BACKOFF);
	cr_expect_eq(sm.delay_ms, 1000);
	state_free(&sm);
}

Test(state, crash_loop_fails_and_start_recovers)
{
	struct service_config cfg = policy();
	struct state_machine sm;
	uint64_t t = 0;

	cfg.restart_delay_ms = 0;
	cr_assert_eq(state_init(&sm, 5), 0);
	for (int i = 0; i < 4; i++) {
		run(&sm, &cfg, t);
		t += 10;
		cr_assert_eq(state_next(&sm, &cfg, EV_EXIT, &crash, t), ACT_WAIT);
	}
	run(&sm, &cfg, t);
	cr_assert_eq(state_next(&sm, &cfg, EV_EXIT, &crash, t + 10), ACT_NONE);
	cr_assert_eq(sm.state, ST_FAILED);
	cr_expect_str_eq(sm.reason, "crash loop: 5 failed starts in 60s");
	cr_expect_eq(sm.want, WANT_DOWN);
	/* a manual start clears it */
	cr_assert_eq(state_next(&sm, &cfg, EV_START, NULL, t + 20), ACT_SPAWN);
	cr_expect_eq(sm.state, ST_STARTING);
	cr_expect_str_eq(sm.reason, "");
	state_free(&sm);
}

Test(state, failures_outside_the_window_do_not_count)
{
	struct service_config cfg = policy();
	struct state_machine sm;
	uint64_t t = 0;

	cfg.restart_delay_ms = 0;
	cfg.start_limit_window_ms = 1000;
	cr_assert_eq(state_init(&sm, 5), 0);
	for (int i = 0; i < 20; i++) {
		run(&sm, &cfg, t);
		t += 300;	/* 5 failures span 1200 ms > 1 s */
		cr_assert_eq(state_next(&sm, &cfg, EV_EXIT, &crash, t), ACT_WAIT, "failure %d", i);
	}
	state_free(&sm);
}

Test(state, policies)
{
	static const struct {
		enum restart_policy policy;
		int code, sig;
		enum svc_state to;
	} rows[] = {
		{ RESTART_ALWAYS, 0, 0, ST_BACKOFF },	 { RESTART_ALWAYS, 3, 0, ST_BACKOFF },
		{ RESTART_ALWAYS, -1, SIGKILL, ST_BACKOFF }, { RESTART_ON_FAILURE, 0, 0, ST_EXITED },
		{ RESTART_ON_FAILURE, 2, 0, ST_EXITED },	 { RESTART_ON_FAILURE, 3, 0, ST_BACKOFF },
		{ RESTART_ON_FAILURE, -1, SIGSEGV, ST_BACKOFF }, { RESTART_NEVER, 0, 0, ST_EXITED },
		{ RESTART_NEVER, 1, 0, ST_EXITED },	 { RESTART_NEVER, -1, SIGKILL, ST_EXITED },
	};
	struct service_config cfg = policy();

	cfg.success_codes[1] = 2;
	cfg.n_success_codes = 2;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct state_machine sm;
		struct state_input in = { .exit_code = rows[i].code, .exit_signal = rows[i].sig };

		cfg.restart = rows[i].policy;
		cr_assert_eq(state_init(&sm, 5), 0);
		run(&sm, &cfg, 0);
		state_next(&sm, &cfg, EV_EXIT, &in, 10);
		cr_expect_eq(sm.state, rows[i].to, "row %zu: %s", i, state_name(sm.state));
		cr_expect(sm.has_exit);
		cr_expect_eq(sm.exit_code, rows[i].code);
		state_free(&sm);
	}
}

Test(state, restart_goes_through_stopping)
{
	struct service_config cfg = policy();
	struct state_machine sm;

	cr_assert_eq(state_init(&sm, 5), 0);
	run(&sm, &cfg, 0);
	state_next(&sm, &cfg, EV_STARTED, NULL, 1000);
	cr_assert_eq(sm.state, ST_RUNNING);
	cr_assert_eq(state_next(&sm, &cfg, EV_RESTART, NULL, 2000), ACT_SIGNAL);
	cr_assert_eq(sm.state, ST_STOPPING);
	cr_assert_eq(state_next(&sm, &cfg, EV_STOP_TIMEOUT, NULL, 12000), ACT_KILL);
	cr_assert_eq(state_next(&sm, &cfg, EV_EXIT, &(struct state_input){ -1, SIGKILL, NULL },
				12001),
		     ACT_SPAWN);
	cr_expect_eq(sm.state, ST_STARTING);
	cr_expect_eq(sm.restarts, 0, "an operator restart is not a crash");
	state_free(&sm);
}

Test(state, zero_start_secs_is_running_at_exec)
{
	struct service_config cfg = policy();
	struct state_machine sm;

	cfg.start_ms = 0;
	cr_assert_eq(state_init(&sm, 5), 0);
	cr_assert_eq(state_next(&sm, &cfg, EV_START, NULL, 0), ACT_SPAWN);
	cr_assert_eq(state_spawned(&sm, &cfg, 0), ACT_NONE);
	cr_expect_eq(sm.state, ST_STARTING, "RUNNING only once the program runs");
	cr_assert_eq(state_next(&sm, &cfg, EV_STARTED, NULL, 1), ACT_NONE);
	cr_expect_eq(sm.state, ST_RUNNING);
	state_free(&sm);
}

Test(state, spawn_failure_reason)
{
	struct service_config cfg = policy();
	struct state_machine sm;
	struct state_input in = { .exit_code = 121, .reason = "command 'nope' not found in PATH" };

	cr_assert_eq(state_init(&sm, 5), 0);
	run(&sm, &cfg, 0);
	cr_assert_eq(state_next(&sm, &cfg, EV_SPAWN_FAILED, &in, 5), ACT_NONE);
	cr_expect_eq(sm.state, ST_FAILED);
	cr_expect_str_eq(sm.reason, "command 'nope' not found in PATH");
	state_free(&sm);
}
