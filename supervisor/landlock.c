/* landlock: probe the Landlock ABI; confine the exec helper to a policy's paths, port, scopes. */
#include "landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "policy.h"
#include "util.h"

/* Landlock has no glibc wrappers; the numbers are the same on every architecture but alpha. */
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#endif
#ifndef __NR_landlock_add_rule
#define __NR_landlock_add_rule 445
#endif
#ifndef __NR_landlock_restrict_self
#define __NR_landlock_restrict_self 446
#endif

#define LL_FS_ABI1 ((1ULL << 13) - 1)	/* EXECUTE .. MAKE_SYM */

#define RIGHTS_READ_FILE	(LL_FS_EXECUTE | LL_FS_READ_FILE)
#define RIGHTS_READ_DIR		(RIGHTS_READ_FILE | LL_FS_READ_DIR)
/* IOCTL_DEV only matters for devices: a writable device grant (/dev/null, a tty) is for use. */
#define RIGHTS_WRITE_FILE	(LL_FS_WRITE_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)
/*
 * A writable tree: create, delete and rename files, directories, symlinks, sockets and
 * fifos, and move them between writable trees (REFER: npm, git). Never MAKE_CHAR or
 * MAKE_BLOCK: device nodes are not a service's business.
 */
#define RIGHTS_WRITE_DIR                                                                           \
	(RIGHTS_WRITE_FILE | LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE | LL_FS_MAKE_DIR |               \
	 LL_FS_MAKE_REG | LL_FS_MAKE_SOCK | LL_FS_MAKE_FIFO | LL_FS_MAKE_SYM | LL_FS_REFER)

#define HINT_DEGRADED "hint: allow_degraded = true accepts a weaker sandbox"

static int abi_cache = -1;
static unsigned errata_cache;
static char abi_why[160];

static long ll_create_ruleset(const struct ll_ruleset_attr *attr, size_t size, unsigned flags)
{
	return syscall(__NR_landlock_create_ruleset, attr, size, flags);
}

static long ll_add_rule(int ruleset, int type, const void *attr)
{
	return syscall(__NR_landlock_add_rule, ruleset, type, attr, 0U);
}

static long ll_restrict_self(int ruleset, unsigned flags)
{
	return syscall(__NR_landlock_restrict_self, ruleset, flags);
}

static void append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

int landlock_abi(void)
{
	long r;

	if (abi_cache >= 0)
		return abi_cache;
	r = ll_create_ruleset(NULL, 0, LL_CREATE_RULESET_VERSION);
	if (r < 0) {
		if (errno == ENOSYS)
			snprintf(abi_why, sizeof(abi_why),
				 "Landlock is not built into this kernel (needs Linux 5.13 with "
				 "CONFIG_SECURITY_LANDLOCK)");
		else if (errno == EOPNOTSUPP)
			snprintf(abi_why, sizeof(abi_why),
				 "Landlock is disabled at boot; hint: add landlock to the lsm= "
				 "kernel parameter");
		else
			snprintf(abi_why, sizeof(abi_why), "probing Landlock: %s",
				 strerror(errno));
		abi_cache = 0;
		return 0;
	}
	abi_cache = (int)r;
	/* Kernels before 6.15 reject the flag: no errata known. */
	r = ll_create_ruleset(NULL, 0, LL_CREATE_RULESET_ERRATA);
	errata_cache = r > 0 ? (unsigned)r : 0;
	return abi_cache;
}

const char *landlock_abi_reason(void)
{
	return abi_why;
}

static uint64_t fs_known(int abi)
{
	uint64_t fs = LL_FS_ABI1 | LL_FS_REFER | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV;

	if (abi < 1)
		return 0;
	if (abi < 2)
		fs &= ~LL_FS_REFER;
	if (abi < 3)
		fs &= ~LL_FS_TRUNCATE;
	if (abi < 5)
		fs &= ~LL_FS_IOCTL_DEV;
	return fs;
}

uint64_t landlock_grant_rights(unsigned access, bool file, int abi)
{
	uint64_t r = 0;

	if (access & POLICY_READ)
		r |= file ? RIGHTS_READ_FILE : RIGHTS_READ_DIR;
	if (access & POLICY_WRITE)
		r |= file ? RIGHTS_WRITE_FILE : RIGHTS_WRITE_DIR;
	return r & fs_known(abi);
}

static const struct feature {
	int abi;
	const char *what;
	const char *kernel;
	bool netns_covers;	/* a private network namespace makes it unnecessary */
} features[] = {
	{ LANDLOCK_ABI_REFER, "cross-directory rename and link", "5.19", false },
	{ LANDLOCK_ABI_TRUNCATE, "truncate control", "6.2", false },
	{ LANDLOCK_ABI_NET, "TCP rules", "6.7", true },
	{ LANDLOCK_ABI_SCOPE, "signal and abstract-socket scoping", "6.12", false },
};

int landlock_check(int abi, bool have_netns, bool allow_degraded, struct landlock_report *rep,
		   char *err, size_t errlen)
{
	char missing[192] = "";

	memset(rep, 0, sizeof(*rep));
	rep->abi = abi > 0 ? abi : 0;
	if (abi < LANDLOCK_ABI_FS) {
		if (!allow_degraded) {
			snprintf(err, errlen, "Landlock is unavailable (needs Linux 5.13); %s",
				 HINT_DEGRADED);
			return -EOPNOTSUPP;
		}
		snprintf(rep->degraded, sizeof(rep->degraded),
			 "no Landlock: filesystem and TCP unconfined");
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(features); i++) {
		const struct feature *f = &features[i];

		if (abi >= f->abi || (f->netns_covers && have_netns))
			continue;
		append(missing, sizeof(missing), "%s%s (needs %d, Linux %s)",
		       missing[0] ? ", " : "", f->what, f->abi, f->kernel);
		append(rep->degraded, sizeof(rep->degraded), "%sno %s",
		       rep->degraded[0] ? ", " : "", f->what);
	}
	if (!missing[0])
		return 0;
	if (!allow_degraded) {
		rep->degraded[0] = '\0';
		snprintf(err, errlen, "Landlock ABI %d lacks %s; %s", abi, missing, HINT_DEGRADED);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int add_path(int ruleset, const struct policy_path *pp, int abi, char *err, size_t errlen)
{
	struct ll_path_beneath_attr pb;
	struct stat st;
	uint64_t rights;
	int fd, r = 0;

	fd = open(pp->path, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open '%s' (%s) for its Landlock rule: %s", pp->path,
			 pp->origin ? pp->origin : "policy", strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot stat '%s': %s", pp->path, strerror(-r));
		goto out_close;
	}
	/* Directory rights on a file are EINVAL: what is not a directory gets file rights. */
	rights = landlock_grant_rights(pp->access, pp->is_file || !S_ISDIR(st.st_mode), abi);
	if (!rights)
		goto out_close;
	pb = (struct ll_path_beneath_attr){ .allowed_access = rights, .parent_fd = fd };
	/*
	 * /dev/stdout and friends may lead to a pipe or a socket: no file system object, no
	 * rule (EBADFD), and none needed: the open fd works without one.
	 */
	if (ll_add_rule(ruleset, LL_RULE_PATH_BENEATH, &pb) < 0 && !(errno == EBADFD &&
	    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))) {
		r = -errno;
		snprintf(err, errlen, "Landlock rule for '%s' (%s): %s", pp->path,
			 pp->origin ? pp->origin : "policy", strerror(-r));
	}
out_close:
	close(fd);
	return r;
}

/*
 * Runtimes size themselves by their cgroup's limits (libuv's uv_get_constrained_memory reads
 * memory.max up the tree; Node.js sizes its heap by it): read rights on those few files of
 * our own cgroup and its ancestors, nothing else of /sys/fs/cgroup. v1 and v2 alike.
 */
static void add_cgroup_file_rules(int ruleset, const char *dir)
{
	static const char *const files[] = {"memory.max", "memory.high", "memory.limit_in_bytes",
					    "memory.soft_limit_in_bytes", "cpu.max",
					    "cpu.cfs_quota_us", "cpu.cfs_period_us"};
	char file[PATH_MAX + 32];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct ll_path_beneath_attr pb = {.allowed_access = LL_FS_READ_FILE};

		snprintf(file, sizeof(file), "%s/%s", dir, files[i]);
		pb.parent_fd = open(file, O_PATH | O_CLOEXEC);
		if (pb.parent_fd < 0)
			continue;
		(void)ll_add_rule(ruleset, LL_RULE_PATH_BENEATH, &pb);
		close(pb.parent_fd);
	}
}

static void add_cgroup_limits(int ruleset)
{
	char line[PATH_MAX], dir[PATH_MAX + 64];
	FILE *f = fopen("/proc/self/cgroup", "re");

	/* "0::/path" (v2) or "4:memory:/path" (v1): the files are in <mount>/path and up. */
	while (f && fgets(line, sizeof(line), f)) {
		char *ctl = strchr(line, ':'), *path = ctl ? strchr(ctl + 1, ':') : NULL;
		size_t root;

		if (!path)
			continue;
		*path++ = '\0';
		path[strcspn(path, "\n")] = '\0';
		ctl++;
		if (ctl[0] && strcmp(ctl, "memory") != 0 && strcmp(ctl, "cpu") != 0 &&
		    strcmp(ctl, "cpu,cpuacct") != 0)
			continue;
		root = (size_t)snprintf(dir, sizeof(dir), "/sys/fs/cgroup%s%s", ctl[0] ? "/" : "",
					ctl);
		snprintf(dir + root, sizeof(dir) - root, "%s", strcmp(path, "/") == 0 ? "" : path);
		for (;;) {
			add_cgroup_file_rules(ruleset, dir);
			if (strlen(dir) <= root)
				break;
			*strrchr(dir, '/') = '\0';
		}
	}
	if (f)
		fclose(f);
}

int landlock_apply(const struct policy *p, int proxy_port, bool have_netns, bool allow_degraded,
		   struct landlock_report *rep, char *err, size_t errlen)
{
	struct landlock_report local;
	struct ll_ruleset_attr attr = { 0 };
	unsigned flags = 0;
	int abi = landlock_abi();
	int ruleset, r = 0;

	if (!rep)
		rep = &local;
	if (proxy_port < 0 || proxy_port > 65535) {
		snprintf(err, errlen, "proxy port %d out of range", proxy_port);
		return -EINVAL;
	}
	if (abi == 0 && !allow_degraded) {
		memset(rep, 0, sizeof(*rep));
		snprintf(err, errlen, "%s; %s", abi_why, HINT_DEGRADED);
		return -EOPNOTSUPP;
	}
	r = landlock_check(abi, have_netns, allow_degraded, rep, err, errlen);
	if (r < 0)
		return r;
	if (abi == 0) {
		snprintf(rep->degraded, sizeof(rep->degraded),
			 "no Landlock (%s): filesystem and TCP unconfined", abi_why);
		return 0;
	}
	rep->errata = errata_cache;

	attr.handled_access_fs = fs_known(abi);
	/*
	 * TCP connect is always handled: only the proxy port. TCP bind is handled only
	 * without a private netns: inside one, a listener (an agent's dev server) reaches
	 * no one, while in the host's namespace it would be reachable from outside. Bind
	 * rules do not stop listen() without bind() (autobind), hence the netns.
	 */
	if (abi >= LANDLOCK_ABI_NET) {
		attr.handled_access_net = LL_NET_CONNECT_TCP;
		if (!have_netns)
			attr.handled_access_net |= LL_NET_BIND_TCP;
	}
	if (abi >= LANDLOCK_ABI_SCOPE)
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
	/* Unknown trailing fields must be zero; older kernels accept the larger struct then. */
	ruleset = (int)ll_create_ruleset(&attr, sizeof(attr), 0);
	if (ruleset < 0) {
		r = -errno;
		snprintf(err, errlen, "creating the Landlock ruleset (ABI %d): %s", abi,
			 strerror(-r));
		return r;
	}
	for (size_t i = 0; i < p->n_paths; i++) {
		r = add_path(ruleset, &p->paths[i], abi, err, errlen);
		if (r < 0)
			goto out_close;
	}
	add_cgroup_limits(ruleset);
	if (abi >= LANDLOCK_ABI_NET && p->net == POLICY_NET_PROXY && proxy_port > 0) {
		struct ll_net_port_attr np = {
			.allowed_access = LL_NET_CONNECT_TCP,
			.port = (uint64_t)proxy_port,
		};

		if (ll_add_rule(ruleset, LL_RULE_NET_PORT, &np) < 0) {
			r = -errno;
			snprintf(err, errlen, "Landlock rule for proxy port %d: %s", proxy_port,
				 strerror(-r));
			goto out_close;
		}
	}
	/* Without no_new_privs, restrict_self is EPERM unless CAP_SYS_ADMIN; set it either way. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		r = -errno;
		snprintf(err, errlen, "setting no_new_privs: %s", strerror(-r));
		goto out_close;
	}
	if (abi >= LANDLOCK_ABI_LOG)
		flags |= LL_RESTRICT_SELF_LOG_NEW_EXEC_ON;
	if (ll_restrict_self(ruleset, flags) < 0) {
		r = -errno;
		snprintf(err, errlen, "enforcing the Landlock ruleset: %s", strerror(-r));
	}
out_close:
	close(ruleset);
	return r;
}
