/* service: one supervised service at run time: its process, pipes, timers, log and cgroup. */
#ifndef NONO_SERVICE_H
#define NONO_SERVICE_H

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "credstore.h"
#include "logbuf.h"
#include "logfile.h"
#include "policy.h"
#include "proxy.h"
#include "state.h"

struct supervisor;
struct denial;

/* Distinct Landlock refusals a run writes to its log; later ones are only counted. */
#define SERVICE_REFUSALS_LOGGED 64

struct service {
	struct supervisor *sv;
	struct service *next;
	struct service_config cfg;	/* owned */
	char *sandbox_error;		/* the policy does not compile: why (never started) */
	struct service_config *next_cfg;	/* from a reload, applied at the next spawn */
	struct state_machine sm;
	uint64_t spawns;		/* start attempts so far (start/restart wait on it) */
	bool removing;			/* dropped by a reload: freed once stopped */
	bool transient;			/* nonoctl run: not from the configuration (transient.c) */
	int stdio[3];			/* nonoctl run: the client's 0-2 for the next spawn instead of
					   /dev/null and the log pipes (-1: none); closed once given */
	bool freeing;

	/* the current run */
	uv_poll_t exit_watch;		/* the pidfd turns readable when the process exits */
	int pidfd;
	uv_pipe_t out, err;
	int status_fd;			/* exec helper's socket, -1 when none */
	uv_poll_t status_watch;		/* its listener fd, failure text, EOF at exec */
	char helper_msg[512];		/* why the helper failed, if it did */
	size_t helper_msg_len;
	bool run_open;			/* the run's handles are open (until finish) */
	struct proxy_listener proxy;	/* the session's listener in its netns */
	bool proxy_open;
	bool netns;			/* this run got a private network namespace */
	/* credentials: loaded in a worker before the first run that needs them */
	struct credstore creds;
	bool creds_ready, creds_loading;
	bool creds_stale;		/* read the keys again before the next session */
	uv_work_t creds_work;
	char creds_err[512];
	struct proxy_session *session;	/* this run's phantom token and keys (NULL: none) */
	pid_t pid;
	pid_t last_pid;			/* of the latest spawn, kept after it ended */
	bool exited;			/* exit_cb ran; waiting for the pipes and the cgroup */
	struct state_input exit;
	int handles;			/* run handles not yet closed (watches, pipes, proxy) */
	bool draining;
	uint64_t drain_until;
	uv_timer_t drain_timer;

	uv_timer_t timer;		/* start_secs, restart delay, stop_timeout */
	uv_timer_t flush_timer;		/* partial lines, and drain polling */
	struct logbuf lb_out, lb_err;
	struct logfile log;
	bool paused;			/* pipes paused while the log catches up */
	/* Landlock's refusals in this run, from kernel audit (service_refusals.c) */
	unsigned long refused;		/* how many */
	unsigned refused_logged;	/* distinct ones seen (written to the log up to the limit) */
	uint32_t refused_seen[SERVICE_REFUSALS_LOGGED];	/* their hashes */
	struct policy *refused_policy;	/* compiled at the first: names deny groups */
	struct denials_tally *shown;	/* transient: for nonoctl run's last lines (run's flags) */
	char cgroup[PATH_MAX];		/* empty: process-group kills */
	int cgroup_fd;			/* the cgroup's directory, to be born in */
	int closing;			/* handles in uv_close */
};

struct service *service_new(struct supervisor *sv, struct service_config *cfg, char *err,
			    size_t errlen);
/* Operator verbs and reload; feed the state machine. */
void service_event(struct service *s, enum svc_event ev);
/* Take a changed definition: restarts the service if it runs. Takes ownership of cfg. */
void service_replace_config(struct service *s, struct service_config *cfg);
/* A reload: the next session reads the keys again (a running one keeps its own). */
void service_reread_credentials(struct service *s);
/* Send sig to the service's process group, as a terminal's ^C would; -ESRCH: no process. */
int service_signal(struct service *s, int sig);
/* Stop (if needed), then free once everything is closed. */
void service_remove(struct service *s);
/* Release a service that has no process any more (asynchronous). */
void service_free(struct service *s);
bool service_settled_down(const struct service *s);	/* no process, nothing pending */
cJSON *service_status_json(const struct service *s);
/* Landlock refused the current run something: a line in its log (once each), and counted. */
void service_refused(struct service *s, const struct denial *d);
/* The run ended or a new one starts: its refusals are its own. */
void service_refusals_reset(struct service *s);
const char *service_kill_mode(const struct service *s);

#endif
