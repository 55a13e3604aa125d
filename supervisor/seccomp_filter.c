/* seccomp: the deny-list, built with libseccomp behind a raw arch/x32/personality prefix. */
#include "seccomp_filter.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "policy.h"
#include "util.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef SECCOMP_SET_MODE_FILTER
#define SECCOMP_SET_MODE_FILTER 1
#endif
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#define X32_SYSCALL_BIT 0x40000000U
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "seccomp.c: add this architecture's AUDIT_ARCH and check for compat ABIs"
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG0_LO offsetof(struct seccomp_data, args[0])
#else
#define ARG0_LO (offsetof(struct seccomp_data, args[0]) + 4)
#endif

#define RET_ERRNO(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))

/*
 * Runs before libseccomp's program. libseccomp sends both foreign architectures and x32
 * (x86-64's arch value with bit 30 in nr) to one bad-arch action; we want i386 killed but
 * x32 answered ENOSYS. personality() takes an unsigned int, so only the low word counts:
 * libseccomp cannot compare one argument twice, a raw 32-bit load can.
 */
static const struct sock_filter prefix[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#ifdef X32_SYSCALL_BIT
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, RET_ERRNO(ENOSYS)),
#endif
	/* personality(): only PER_LINUX (0) and the query 0xffffffff */
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_personality, 0, 4),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LO),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffffU, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, RET_ERRNO(EPERM)),
};

/*
 * Whole syscalls refused. nr: the unified number (all architectures, since 424) for calls
 * an older libseccomp may not know by name; -1 for older calls it always knows.
 */
static const struct deny {
	const char *name;
	int nr;
	int err;
} denies[] = {
	/* io_uring ops bypass seccomp; libuv falls back to threads */
	{ "io_uring_setup", 425, EPERM },
	{ "io_uring_enter", 426, EPERM },
	{ "io_uring_register", 427, EPERM },
	/* clone3's flags live in memory seccomp cannot read; glibc falls back to clone */
	{ "clone3", 435, ENOSYS },
	/* namespace and mount topology */
	{ "unshare", -1, EPERM },
	{ "setns", -1, EPERM },
	{ "mount", -1, EPERM },
	{ "umount2", -1, EPERM },
	{ "pivot_root", -1, EPERM },
	{ "chroot", -1, EPERM },
	/* the new mount API: ENOSYS so callers fall back to mount(2), which is EPERM */
	{ "open_tree", 428, ENOSYS },
	{ "move_mount", 429, ENOSYS },
	{ "fsopen", 430, ENOSYS },
	{ "fsconfig", 431, ENOSYS },
	{ "fsmount", 432, ENOSYS },
	{ "fspick", 433, ENOSYS },
	{ "mount_setattr", 442, ENOSYS },
	{ "open_tree_attr", 467, ENOSYS },
	/* other processes' memory and fds */
	{ "ptrace", -1, EPERM },
	{ "process_vm_readv", -1, EPERM },
	{ "process_vm_writev", -1, EPERM },
	{ "pidfd_getfd", 438, EPERM },
	{ "kcmp", -1, EPERM },
	/* exploit primitives; the kernel keyring is shared */
	{ "bpf", -1, EPERM },
	{ "perf_event_open", -1, EPERM },
	{ "userfaultfd", -1, EPERM },
	{ "keyctl", -1, EPERM },
	{ "add_key", -1, EPERM },
	{ "request_key", -1, EPERM },
	/* privileged, legacy, or a path-check bypass */
	{ "kexec_load", -1, EPERM },
	{ "kexec_file_load", -1, EPERM },
	{ "init_module", -1, EPERM },
	{ "finit_module", -1, EPERM },
	{ "delete_module", -1, EPERM },
	{ "reboot", -1, EPERM },
	{ "swapon", -1, EPERM },
	{ "swapoff", -1, EPERM },
	{ "acct", -1, EPERM },
	{ "syslog", -1, EPERM },
	{ "quotactl", -1, EPERM },
	{ "quotactl_fd", 443, EPERM },
	{ "modify_ldt", -1, EPERM },
	{ "open_by_handle_at", -1, EPERM },
	{ "name_to_handle_at", -1, EPERM },
};

static const unsigned long clone_new[] = {
	CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
	CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
};

/* SCMP_A0() and friends leave datum_b out, which clang's -Wextra reports. */
static struct scmp_arg_cmp arg(unsigned n, enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
	return (struct scmp_arg_cmp){ .arg = n, .op = op, .datum_a = a, .datum_b = b };
}

static int rule(scmp_filter_ctx ctx, const char *what, int err, int nr, unsigned n,
		const struct scmp_arg_cmp *cmp, char *msg, size_t msglen)
{
	int r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO((unsigned)err), nr, n, cmp);

	if (r < 0)
		snprintf(msg, msglen, "seccomp rule for %s: %s", what, strerror(-r));
	return r;
}

static int add_denies(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	for (size_t i = 0; i < ARRAY_SIZE(denies); i++) {
		const struct deny *d = &denies[i];
		int nr = seccomp_syscall_resolve_name(d->name);
		int r;

		if (nr == __NR_SCMP_ERROR)
			nr = d->nr;
		if (nr == __NR_SCMP_ERROR) {
			snprintf(err, errlen, "libseccomp does not know syscall '%s'", d->name);
			return -ENOSYS;
		}
		r = rule(ctx, d->name, d->err, nr, 0, NULL, err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Bound by the kernel's int arguments: compare the low 32 bits where the upper ones are ignored. */
#define LOW32 0xffffffffULL

static int add_sockets(scmp_filter_ctx ctx, bool allow_unix, char *err, size_t errlen)
{
	const int sock = SCMP_SYS(socket), pair = SCMP_SYS(socketpair);
	struct scmp_arg_cmp c[2];
	int r;

	/*
	 * Families other than UNIX, INET, INET6 (packet, netlink, vsock, SMC, ...): a quiet
	 * EAFNOSUPPORT. Compared on all 64 bits, so junk in the upper half is refused too.
	 */
	for (int f = 0; f < AF_INET6; f++) {
		if (f == AF_UNIX || f == AF_INET)
			continue;
		c[0] = arg(0, SCMP_CMP_EQ, (scmp_datum_t)f, 0);
		r = rule(ctx, "socket (family)", EAFNOSUPPORT, sock, 1, c, err, errlen);
		if (r < 0)
			return r;
	}
	c[0] = arg(0, SCMP_CMP_GT, AF_INET6, 0);
	r = rule(ctx, "socket (family)", EAFNOSUPPORT, sock, 1, c, err, errlen);
	if (r < 0)
		return r;
	/* MPTCP and SCTP escape Landlock's TCP rules */
	c[0] = arg(2, SCMP_CMP_MASKED_EQ, LOW32, IPPROTO_MPTCP);
	r = rule(ctx, "socket (MPTCP)", EPROTONOSUPPORT, sock, 1, c, err, errlen);
	if (r < 0)
		return r;
	c[0] = arg(2, SCMP_CMP_MASKED_EQ, LOW32, IPPROTO_SCTP);
	r = rule(ctx, "socket (SCTP)", EPROTONOSUPPORT, sock, 1, c, err, errlen);
	if (r < 0)
		return r;
	/* raw IP is unmediated; AF_UNIX turns SOCK_RAW into SOCK_DGRAM */
	c[1] = arg(1, SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW);
	c[0] = arg(0, SCMP_CMP_EQ, AF_INET, 0);
	r = rule(ctx, "socket (raw)", EPERM, sock, 2, c, err, errlen);
	if (r < 0)
		return r;
	c[0] = arg(0, SCMP_CMP_EQ, AF_INET6, 0);
	r = rule(ctx, "socket (raw)", EPERM, sock, 2, c, err, errlen);
	if (r < 0)
		return r;
	/* pathname AF_UNIX connect is unmediated before Landlock ABI 9 (D-Bus, docker.sock) */
	if (!allow_unix) {
		c[0] = arg(0, SCMP_CMP_EQ, AF_UNIX, 0);
		r = rule(ctx, "socket (AF_UNIX)", EPERM, sock, 1, c, err, errlen);
		if (r < 0)
			return r;
	}
	/* connected pairs reach no one else; libuv and child_process need UNIX ones */
	c[0] = arg(0, SCMP_CMP_NE, AF_UNIX, 0);
	return rule(ctx, "socketpair", EAFNOSUPPORT, pair, 1, c, err, errlen);
}

static int add_args(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	struct scmp_arg_cmp c[1];
	int r;

	/* tty injection; ioctl's cmd is an unsigned int (CVE-2019-10063) */
	c[0] = arg(1, SCMP_CMP_MASKED_EQ, LOW32, TIOCSTI);
	r = rule(ctx, "ioctl (TIOCSTI)", EPERM, SCMP_SYS(ioctl), 1, c, err, errlen);
	if (r < 0)
		return r;
	c[0] = arg(1, SCMP_CMP_MASKED_EQ, LOW32, TIOCLINUX);
	r = rule(ctx, "ioctl (TIOCLINUX)", EPERM, SCMP_SYS(ioctl), 1, c, err, errlen);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(clone_new); i++) {
		c[0] = arg(0, SCMP_CMP_MASKED_EQ, clone_new[i], clone_new[i]);
		r = rule(ctx, "clone (CLONE_NEW*)", EPERM, SCMP_SYS(clone), 1, c, err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

/* libseccomp's program, exported through a memfd, behind our prefix. */
static int assemble(scmp_filter_ctx ctx, struct sock_fprog *prog, char *err, size_t errlen)
{
	struct sock_filter *insns = NULL;
	size_t n, np = ARRAY_SIZE(prefix);
	struct stat st;
	ssize_t got;
	int fd, r;

	fd = memfd_create("nono-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "seccomp: memfd_create: %s", strerror(-r));
		return r;
	}
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0) {
		snprintf(err, errlen, "seccomp: exporting the filter: %s", strerror(-r));
		goto out_close;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "seccomp: exporting the filter: %s", strerror(-r));
		goto out_close;
	}
	n = (size_t)st.st_size / sizeof(*insns);
	if (n == 0 || n + np > BPF_MAXINSNS || (size_t)st.st_size % sizeof(*insns)) {
		r = -E2BIG;
		snprintf(err, errlen, "seccomp: filter of %zu instructions (limit %d)", n + np,
			 BPF_MAXINSNS);
		goto out_close;
	}
	insns = calloc(n + np, sizeof(*insns));
	if (!insns) {
		r = -ENOMEM;
		snprintf(err, errlen, "seccomp: out of memory");
		goto out_close;
	}
	memcpy(insns, prefix, sizeof(prefix));
	got = pread(fd, insns + np, n * sizeof(*insns), 0);
	if (got != (ssize_t)(n * sizeof(*insns))) {
		r = got < 0 ? -errno : -EIO;
		snprintf(err, errlen, "seccomp: reading the filter back: %s", strerror(-r));
		free(insns);
		goto out_close;
	}
	prog->filter = insns;
	prog->len = (unsigned short)(n + np);
	r = 0;
out_close:
	close(fd);
	return r;
}

int seccomp_apply(const struct policy *p, char *err, size_t errlen)
{
	struct sock_fprog prog = { 0 };
	scmp_filter_ctx ctx;
	int r;

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		snprintf(err, errlen, "seccomp: cannot initialise libseccomp");
		return -ENOMEM;
	}
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r < 0) {
		snprintf(err, errlen, "seccomp: bad-arch action: %s", strerror(-r));
		goto out_release;
	}
	r = add_denies(ctx, err, errlen);
	if (r == 0)
		r = add_sockets(ctx, p->allow_unix_sockets, err, errlen);
	if (r == 0)
		r = add_args(ctx, err, errlen);
	if (r == 0)
		r = assemble(ctx, &prog, err, errlen);
	if (r < 0)
		goto out_release;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
		r = -errno;
		snprintf(err, errlen, "seccomp: loading the filter: %s", strerror(-r));
	}
	free(prog.filter);
out_release:
	seccomp_release(ctx);
	return r;
}
