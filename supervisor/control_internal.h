/* control_internal: what the control socket's transport (control.c) and its verbs
 * (control_cmds.c) share: a client connection, the listener, replies. */
#ifndef NONO_CONTROL_INTERNAL_H
#define NONO_CONTROL_INTERNAL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "util.h"

enum wait_op {
	WAIT_NONE,
	WAIT_START,
	WAIT_STOP,
	WAIT_RESTART,
};

#define CONTROL_FDS_MAX 3	/* descriptors a client may pass (SCM_RIGHTS): a terminal's 0-2 */

struct audit_job;
struct credcheck;
struct transient;

struct client {
	struct control *ctl;
	struct client *next;
	uv_pipe_t pipe;
	struct buf in;
	bool closing;
	bool in_dispatch;	/* process_lines is on the stack: do not re-enter it */
	struct audit_job *audit_job;	/* an "audit verify" under way */
	struct credcheck *credcheck;	/* a "credentials" check under way */
	/* passed descriptors (CLOEXEC, ours until a "run" takes them); -1 after too many */
	int fds[CONTROL_FDS_MAX];
	int n_fds;
	struct transient *run;		/* this connection's "run", until it ends or detaches */
	bool run_detach;
	/* a start/stop/restart waiting for its services to settle */
	enum wait_op op;
	char **names;
	uint64_t *marks;	/* spawns of each service when the request came */
	size_t n_names;
	uint64_t deadline;
};

struct control {
	struct supervisor *sv;
	uv_pipe_t server;
	uv_timer_t timer;
	struct client *clients;
	int n_clients;
	bool closed;
	bool timer_closed;
};

struct control__command {
	const char *name;
	void (*fn)(struct client *c, const cJSON *req);
};

/* Replies: one JSON object per line. The reply is consumed. */
void control__send_json(struct client *c, cJSON *reply);
void control__send_error(struct client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
cJSON *control__ok_reply(void);
/* A deferred request was answered: read and run the client's next requests. */
void control__resume(struct client *c);

/* The verbs (control_cmds.c): the command a request's "cmd" names, or NULL. */
const struct control__command *control__find_command(const char *name);
/* Forget a start/stop/restart the client waits for. */
void control__wait_clear(struct client *c);
/* The client is going away: work under way for it must not answer it. */
void control__detach(struct client *c);

/* "run" and "signal" (control_run.c); the run of a client that goes away. */
void control__cmd_run(struct client *c, const cJSON *req);
void control__cmd_signal(struct client *c, const cJSON *req);
void control__run_detach(struct client *c);

#endif
