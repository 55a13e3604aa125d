/* spawn: start a process born into its cgroup (clone3), watched and reaped through a pidfd. */
#ifndef NONO_SPAWN_H
#define NONO_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

struct spawn_req {
	const char *path;
	char *const *argv;
	char *const *envp;
	int stdio[4];		/* the child's fds 0-3 (-1 for fd 0: /dev/null) */
	int cgroup_fd;		/* a cgroup v2 directory to be born in, or -1 */
};

/*
 * Start the process. The child only rearranges its fds and execs, with every signal
 * blocked (the exec'd program resets the mask). Returns 0 with *pid and a pidfd, or a
 * negative errno; -EOPNOTSUPP when the kernel cannot clone into the cgroup (the caller
 * may retry with cgroup_fd -1 and move the child itself).
 */
int spawn_start(const struct spawn_req *req, pid_t *pid, int *pidfd);

/* Reap the process if it has exited: 1 with *code (or -1) and *sig, 0 if still running. */
int spawn_reap(int pidfd, int *code, int *sig);

/* Signal the process through its pidfd (no pid-reuse race). */
int spawn_signal(int pidfd, int sig);

#endif
