/* privs: give up identity and capabilities before the service runs (exec helper side). */
#ifndef NONO_PRIVS_H
#define NONO_PRIVS_H

#include <stddef.h>

/*
 * As root: become `user` (no supplementary groups), empty the bounding and ambient sets
 * and check with capget() that effective, permitted and inheritable are all zero.
 * Refuses (-EPERM) a NULL user or one that is uid 0: the service would run as root.
 * Not root: `user`, if given, must be who we are; whatever capabilities we hold (say in a
 * user namespace from netns_create()) are dropped and the result checked the same way.
 * Fails closed: any step that does not verify is an error. 0 or a negative errno.
 */
int privs_drop(const char *user, char *err, size_t errlen);

/* PR_SET_NO_NEW_PRIVS: no exec can gain privileges (setuid, file caps). 0 or -errno. */
int privs_no_new_privs(void);

/*
 * RLIMIT_CORE 0, hard and soft. Not PR_SET_DUMPABLE 0: that would make the service's
 * own /proc/self files root-owned and unreadable to it.
 */
void privs_no_core_dumps(void);

#endif
