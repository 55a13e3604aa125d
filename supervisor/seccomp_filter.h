/* seccomp_filter: the syscall deny-list every sandboxed service runs under (REFERENCE.md §4.2). */

#ifndef NONO_SECCOMP_FILTER_H
#define NONO_SECCOMP_FILTER_H

#include <stddef.h>

struct policy;

/*
 * Install the deny-list on the calling thread, last before execve: default allow; other
 * architectures killed, x32 ENOSYS; dangerous socket families, protocols and types,
 * namespace, mount, tracing, keyring, module and tty-injection calls refused with the
 * errno a program falls back on. AF_UNIX socket() is refused unless
 * p->allow_unix_sockets (socketpair(AF_UNIX) always works). Sets no_new_privs.
 * Returns 0 or a negative errno with the reason in err.
 */
int seccomp_apply(const struct policy *p, char *err, size_t errlen);

#endif
