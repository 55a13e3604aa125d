/* exec: the exec helper (nono-exec): sets a service up between fork and execve, and its plan. */
#ifndef NONO_EXEC_H
#define NONO_EXEC_H

#include <stdbool.h>
#include <sys/types.h>

struct policy;

/*
 * Nothing can run between our fork and the service's exec, so every service is spawned as
 * the helper nono-exec with a socket on EXEC_FD. The supervisor writes the plan (JSON)
 * and shuts down its writing side; the helper applies it and execs the service. A failure
 * before execve writes one line to EXEC_FD and exits EXEC_FAILED; the socket is close-on-
 * exec, so a successful exec leaves it silent.
 */
#define EXEC_FD 3
#define EXEC_FAILED 121
/* The helper's failure texts `run` tells apart (exit 127, 126): exec_command's. */
#define EXEC_MSG_NOT_FOUND " not found"
#define EXEC_MSG_CANNOT "cannot execute '"
#define EXEC_PLAN_MAX (256 * 1024)

struct exec_plan {
	const char *name;
	char *const *argv;
	char *const *env;	/* the whole environment of the service */
	const char *cwd;
	const char *user;	/* NULL: stay who we are */
	const char *cgroup;	/* NULL: no cgroup */
	pid_t ppid;		/* the supervisor, to close the PDEATHSIG race */
	unsigned long nofile;	/* soft RLIMIT_NOFILE to give the service back (0: as is) */
	bool foreground;	/* `run`: keep the terminal, as the foreground process group */
	const struct policy *policy;	/* the sandbox; NULL or sandbox_off: none */
};

/* The helper binary: next to ours (a build tree, one bin dir), else in libexec. */
int exec_helper_path(char *out, size_t len);

/* Serialise a plan; *out is malloc'd. */
int exec_plan_encode(const struct exec_plan *plan, char **out);

/* main() of the helper mode; never returns. */
_Noreturn void exec_helper_main(void);

#endif
