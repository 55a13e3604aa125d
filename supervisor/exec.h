/* exec: the exec helper, the hidden mode of nono-supervise that sets a service up and execs it. */
#ifndef NONO_EXEC_H
#define NONO_EXEC_H

#include <sys/types.h>

struct policy;

/*
 * uv_spawn has no hook between fork and exec, so every service is spawned as
 * "nono-supervise __exec" with a socket on EXEC_FD. The supervisor writes the plan (JSON)
 * and shuts down its writing side; the helper applies it and execs the service. A failure
 * before execve writes one line to EXEC_FD and exits EXEC_FAILED; the socket is close-on-
 * exec, so a successful exec leaves it silent.
 */
#define EXEC_MODE "__exec"
#define EXEC_FD 3
#define EXEC_FAILED 121
#define EXEC_PLAN_MAX (256 * 1024)

struct exec_plan {
	const char *name;
	char *const *argv;
	char *const *env;	/* the whole environment of the service */
	const char *cwd;
	const char *user;	/* NULL: stay who we are */
	const char *cgroup;	/* NULL: no cgroup */
	pid_t ppid;		/* the supervisor, to close the PDEATHSIG race */
	const struct policy *policy;	/* the sandbox; NULL or sandbox_off: none */
};

/* Serialise a plan; *out is malloc'd. */
int exec_plan_encode(const struct exec_plan *plan, char **out);

/* main() of the helper mode; never returns. */
_Noreturn void exec_helper_main(void);

#endif
