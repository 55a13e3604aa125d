/* netns: the private network namespace of a service and its proxy listener (exec helper side). */
#ifndef NONO_NETNS_H
#define NONO_NETNS_H

#include <stdbool.h>
#include <stddef.h>

/* The port of the proxy listener on 127.0.0.1 in every service's netns (each reuses it). */
#define NETNS_PROXY_PORT 8383
#define NETNS_BACKLOG	 128

/* netns_create() made a user namespace too: we hold capabilities only inside it. */
#define NETNS_USERNS 1

/* The byte that carries the listener; any other byte on the exec socket is error text. */
#define NETNS_FD_MARK 'L'

/* netns_recv_fd() results (besides a negative errno). */
#define NETNS_RECV_EOF	0	/* peer closed: the helper exec'd (or died without a word) */
#define NETNS_RECV_TEXT 1	/* *nread bytes of error text in buf */
#define NETNS_RECV_FD	2	/* *fd is the listener; buf holds any text that came before it */

/*
 * Move the calling process into a new network namespace and bring its `lo` up.
 * As root: unshare(CLONE_NEWNET). Otherwise (or if that is refused) a user namespace
 * mapping only the current uid/gid comes with it. Returns 0, NETNS_USERNS, or a negative
 * errno (-EPERM: no way to make one here).
 */
int netns_create(char *err, size_t errlen);

/*
 * Can a private network namespace be made here? A child tries netns_create(), as the exec
 * helper would (a fork: call it once, at start).
 */
bool netns_available(void);

/* A CLOEXEC TCP listener on 127.0.0.1:port (SO_REUSEADDR, backlog NETNS_BACKLOG). */
int netns_listen(int port, int *fd, char *err, size_t errlen);

/*
 * Send fd with SCM_RIGHTS on the unix stream socket sock, attached to the one byte
 * NETNS_FD_MARK. Always consumes fd (closes our copy, sent or not). 0 or a negative errno.
 */
int netns_send_fd(int sock, int fd);

/*
 * One recvmsg() on the exec socket. Text and the listener can share one read (the kernel
 * ends a read right after the byte that carries descriptors, so the mark is then the
 * last byte, and it is stripped). buf is NUL-terminated (buflen >= 2) and *nread does
 * not count the NUL. The received fd is close-on-exec; its O_NONBLOCK is the caller's.
 * Returns NETNS_RECV_*, -EAGAIN on a non-blocking socket with nothing to read, -EPROTO
 * when descriptors arrive without the mark, more than one, or truncated (all closed).
 */
int netns_recv_fd(int sock, int *fd, char *buf, size_t buflen, size_t *nread);

/*
 * Read the exec helper's report until the listener (NETNS_RECV_FD, *fd set), EOF
 * (NETNS_RECV_EOF), -EAGAIN or an error; its words are appended to msg[*len..size), which
 * stays NUL-terminated (what does not fit is dropped).
 */
int netns_read_report(int sock, int *fd, char *msg, size_t size, size_t *len);

#endif
