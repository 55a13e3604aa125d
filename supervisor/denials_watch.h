/*
 * denials_watch: Landlock's refusals on a loop, each handed to its owner (run's command, a
 * service). A domain's first record names the pid that made it (the exec helper: the
 * service's pid); owner_of maps it to an owner, or NULL for a domain that is not ours. That
 * record comes right after the domain's first refusal, so the last few refusals of unknown
 * domains wait for it.
 */
#ifndef NONO_DENIALS_WATCH_H
#define NONO_DENIALS_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "denials.h"

#define DENIALS_PENDING	   8	/* refusals of a domain not known yet, kept for its record */
#define DENIALS_MARK_WAIT_MS 1000 /* how long the audit stream may take to bring a mark back */

struct denials_domain {
	uint64_t domain;
	void *owner;
};

/* Called once the audit stream caught up with a denials_watch_mark (false: it timed out). */
typedef void (*denials_caught_up_fn)(void *arg, bool caught_up);

struct denials_waiter {
	denials_caught_up_fn cb;
	void *arg;
};

struct denials_watch {
	uv_poll_t poll;
	uv_timer_t mark_timer;	/* the oldest waiter's deadline */
	int fd;
	void *(*owner_of)(struct denials_watch *w, pid_t pid);
	void (*refused)(struct denials_watch *w, void *owner, const struct denial *d);
	void *data;
	struct denials_domain *domains;
	size_t n_domains;
	struct denial *pending; /* DENIALS_PENDING of them, a ring */
	unsigned n_pending;
	uint64_t foreign[DENIALS_PENDING]; /* domains seen to be no owner's: a ring */
	unsigned n_foreign;
	struct denials_waiter *waiters; /* in the order of their marks */
	size_t n_waiters;
	unsigned long lost;	/* records the kernel dropped (ENOBUFS) */
};

/*
 * Start reading fd (from denials_open; the watch owns it from now on). Neither handle keeps
 * the loop alive by itself. 0 or a negative errno (fd closed).
 */
int denials_watch_start(struct denials_watch *w, uv_loop_t *loop, int fd);

/*
 * Call cb once every refusal made before now has been handed out: a mark goes into the audit
 * stream, and records queue in order. Waits DENIALS_MARK_WAIT_MS at most (then cb(arg, false)).
 * 0, or a negative errno and cb is not called.
 */
int denials_watch_mark(struct denials_watch *w, denials_caught_up_fn cb, void *arg);

/* The owner is going away: forget its domains and its waiters (their cb is not called). */
void denials_watch_forget(struct denials_watch *w, void *owner);

/* Stop (waiters are dropped); close_cb (may be NULL) runs for each of the two handles. */
void denials_watch_close(struct denials_watch *w, uv_close_cb close_cb);

#endif
