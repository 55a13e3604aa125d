/* spawn: start a process born into its cgroup (clone3), watched and reaped through a pidfd. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/*
 * Why not uv_spawn: moving a process into a cgroup after it started (a write to
 * cgroup.procs) waits for an RCU grace period, 10-20 ms per spawn; clone3 with
 * CLONE_INTO_CGROUP places the child at birth for free, and its pidfd lets us watch,
 * signal and reap exactly that child. No SIGCHLD handler and no waitpid(-1) anywhere.
 */

static int devnull = -1;

/* Make sure no source fd sits in 0-3, where the child's dup2s would clobber it. */
static int lift(int fd)
{
	return fd >= 0 && fd < 4 ? fcntl(fd, F_DUPFD_CLOEXEC, 4) : fd;
}

_Noreturn static void child(const struct spawn_req *req, const int *fds)
{
	for (int i = 0; i < 4; i++)
		if (dup2(fds[i], i) < 0)	/* dup2 clears close-on-exec on i */
			_exit(127);
	execve(req->path, req->argv, req->envp);
	_exit(127);
}

int spawn_start(const struct spawn_req *req, pid_t *pid, int *pidfd)
{
	struct clone_args args = {
		.flags = CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)pidfd,
		.exit_signal = SIGCHLD,
	};
	sigset_t all, old;
	int fds[4], lifted[4] = { -1, -1, -1, -1 };
	long r;

	if (devnull < 0)
		devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 4; i++) {
		fds[i] = req->stdio[i] < 0 ? devnull : req->stdio[i];
		if (fds[i] < 4) {
			lifted[i] = lift(fds[i]);
			fds[i] = lifted[i];
		}
		if (fds[i] < 0)
			return -EBADF;
	}
	if (req->cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)req->cgroup_fd;
	}
	/* Blocked in the child until the exec'd program unblocks: no handler of ours runs there. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = syscall(SYS_clone3, &args, sizeof(args));
	if (r == 0)
		child(req, fds);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (int i = 0; i < 4; i++)
		if (lifted[i] >= 0)
			close(lifted[i]);
	if (r < 0) {
		int err = errno;

		if (req->cgroup_fd >= 0 && (err == ENOSYS || err == EINVAL || err == E2BIG))
			return -EOPNOTSUPP;
		return -err;
	}
	*pid = (pid_t)r;
	return 0;
}

int spawn_reap(int pidfd, int *code, int *sig)
{
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	if (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG | __WALL) < 0)
		return -errno;
	if (info.si_pid == 0)
		return 0;
	*code = info.si_code == CLD_EXITED ? info.si_status : -1;
	*sig = info.si_code == CLD_EXITED ? 0 : info.si_status;
	return 1;
}

int spawn_signal(int pidfd, int sig)
{
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}
