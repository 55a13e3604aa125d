/* netns: the private network namespace of a service and its proxy listener (exec helper side). */
#include "netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define FDS_MAX 4	/* room to notice (and close) a sender that passes more than one */

static int write_file(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	return (size_t)n == len ? 0 : -EIO;
}

/*
 * Unprivileged path: a user namespace that maps only who we are, so files keep their
 * owners and nothing gains an identity it did not have. The capabilities it grants hold
 * only inside it; privs_drop() clears them.
 */
static int enter_userns(int why, char *err, size_t errlen)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];
	int r;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
		r = -errno;
		snprintf(err, errlen,
			 "cannot create a network namespace (%s as uid %u) nor a user namespace "
			 "(%s); hint: run the supervisor as root with CAP_SYS_ADMIN, or allow "
			 "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, "
			 "kernel.apparmor_restrict_unprivileged_userns=0)",
			 strerror(why), (unsigned)uid, strerror(-r));
		return r == -EINVAL || r == -ENOSPC || r == -EUSERS ? r : -EPERM;
	}
	/* Since Linux 3.19 gid_map cannot be written unprivileged before setgroups is denied. */
	r = write_file("/proc/self/setgroups", "deny");
	if (r < 0 && r != -ENOENT) {
		snprintf(err, errlen, "user namespace: /proc/self/setgroups: %s", strerror(-r));
		return r;
	}
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	r = write_file("/proc/self/uid_map", map);
	if (r < 0) {
		snprintf(err, errlen, "user namespace: /proc/self/uid_map: %s", strerror(-r));
		return r;
	}
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	r = write_file("/proc/self/gid_map", map);
	if (r < 0) {
		snprintf(err, errlen, "user namespace: /proc/self/gid_map: %s", strerror(-r));
		return r;
	}
	return 0;
}

/* A new netns has `lo` down: bind works, connect fails with ENETUNREACH until it is up. */
static int loopback_up(char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };
	int fd, r = 0;

	memcpy(ifr.ifr_name, "lo", sizeof("lo"));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "network namespace: socket: %s", strerror(-r));
		return r;
	}
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		goto fail;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		goto fail;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		goto fail;
	if (!(ifr.ifr_flags & IFF_UP)) {
		errno = EIO;
		goto fail;
	}
	close(fd);
	return 0;

fail:
	r = -errno;
	snprintf(err, errlen, "network namespace: cannot bring 'lo' up: %s", strerror(-r));
	close(fd);
	return r;
}

int netns_create(char *err, size_t errlen)
{
	int userns = 0, r;

	if (unshare(CLONE_NEWNET) < 0) {
		r = -errno;
		if (r != -EPERM) {
			snprintf(err, errlen, "cannot create a network namespace: %s%s", strerror(-r),
				 r == -EINVAL ? "; hint: the kernel lacks CONFIG_NET_NS" : "");
			return r;
		}
		/* Not root, or root without CAP_SYS_ADMIN (a container): try a user namespace. */
		r = enter_userns(-r, err, errlen);
		if (r < 0)
			return r;
		userns = NETNS_USERNS;
	}
	r = loopback_up(err, errlen);
	if (r < 0)
		return r;
	return userns;
}

int netns_listen(int port, int *fd, char *err, size_t errlen)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int one = 1, s, r;

	*fd = -1;
	if (port < 0 || port > 65535) {
		snprintf(err, errlen, "proxy listener: port %d out of range", port);
		return -EINVAL;
	}
	sin.sin_port = htons((uint16_t)port);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		r = -errno;
		snprintf(err, errlen, "proxy listener: socket: %s", strerror(-r));
		return r;
	}
	if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
		r = -errno;
		snprintf(err, errlen, "proxy listener: SO_REUSEADDR: %s", strerror(-r));
		goto close_socket;
	}
	if (bind(s, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		r = -errno;
		snprintf(err, errlen, "proxy listener: cannot bind 127.0.0.1:%d: %s", port,
			 strerror(-r));
		goto close_socket;
	}
	if (listen(s, NETNS_BACKLOG) < 0) {
		r = -errno;
		snprintf(err, errlen, "proxy listener: listen on 127.0.0.1:%d: %s", port,
			 strerror(-r));
		goto close_socket;
	}
	*fd = s;
	return 0;

close_socket:
	close(s);
	return r;
}

int netns_send_fd(int sock, int fd)
{
	char mark = NETNS_FD_MARK;
	struct iovec iov = { .iov_base = &mark, .iov_len = 1 };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c;
	ssize_t n;
	int r = 0;

	memset(&ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		r = -errno;
	else if (n != 1)
		r = -EIO;
	/* The supervisor holds it now; a copy here would keep the netns alive after us. */
	close(fd);
	return r;
}

/* Collect the descriptors of every SCM_RIGHTS message; returns how many (at most max). */
static size_t take_fds(struct msghdr *msg, int *fds, size_t max, size_t *total)
{
	size_t n = 0;

	*total = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			if (n < max)
				memcpy(&fds[n++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			(*total)++;
		}
	}
	return n;
}

int netns_recv_fd(int sock, int *fd, char *buf, size_t buflen, size_t *nread)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(FDS_MAX * sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = buflen - 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	int fds[FDS_MAX];
	size_t nfds, total;
	ssize_t n;

	*fd = -1;
	*nread = 0;
	if (buflen < 2)
		return -EINVAL;
	buf[0] = '\0';
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	nfds = take_fds(&msg, fds, FDS_MAX, &total);
	if (total == 0) {
		buf[n] = '\0';
		*nread = (size_t)n;
		return n == 0 ? NETNS_RECV_EOF : NETNS_RECV_TEXT;
	}
	if (total != 1 || (msg.msg_flags & MSG_CTRUNC) || n == 0 ||
	    buf[n - 1] != NETNS_FD_MARK) {
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		return -EPROTO;
	}
	buf[n - 1] = '\0';
	*nread = (size_t)n - 1;
	*fd = fds[0];
	return NETNS_RECV_FD;
}

bool netns_available(void)
{
	char err[256];
	pid_t pid = fork();
	int st = 0;

	if (pid == 0)
		_exit(netns_create(err, sizeof(err)) < 0);
	if (pid < 0)
		return true; /* then each start finds out for itself */
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int netns_read_report(int sock, int *fd, char *msg, size_t size, size_t *len)
{
	char buf[256];
	size_t n;
	int r;

	do {
		r = netns_recv_fd(sock, fd, buf, sizeof(buf), &n);
		if (r > 0 && n && *len + n < size) {
			memcpy(msg + *len, buf, n);
			*len += n;
			msg[*len] = '\0';
		}
	} while (r == NETNS_RECV_TEXT);
	return r;
}
