/* denials_watch: Landlock's refusals read on a loop and handed to their owners; marks. */
#include "denials_watch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WATCH_BATCH 256 /* records read per loop turn: the loop's other work goes on */

static void forgotten(void *arg, bool caught_up)
{
	(void)arg;
	(void)caught_up;
}

static void **owner_slot(struct denials_watch *w, uint64_t domain)
{
	for (size_t i = 0; i < w->n_domains; i++)
		if (w->domains[i].domain == domain)
			return &w->domains[i].owner;
	return NULL;
}

/* A domain's first record: whose is it? Then its refusals that came just before. */
static void adopt(struct denials_watch *w, const struct denial *d)
{
	void *owner = w->owner_of(w, d->pid), *grown;

	if (!owner) {
		w->foreign[w->n_foreign++ % DENIALS_PENDING] = d->domain;
		return;
	}
	grown = realloc(w->domains, (w->n_domains + 1) * sizeof(*w->domains));
	if (!grown)
		return;
	w->domains = grown;
	w->domains[w->n_domains].domain = d->domain;
	w->domains[w->n_domains++].owner = owner;
	for (unsigned i = w->n_pending > DENIALS_PENDING ? w->n_pending - DENIALS_PENDING : 0;
	     i < w->n_pending; i++) {
		struct denial *p = &w->pending[i % DENIALS_PENDING];

		if (p->domain == d->domain) {
			w->refused(w, owner, p);
			p->domain = 0;
		}
	}
}

/* Another sandbox's refusals (a flood, perhaps) are not copied aside for nothing. */
static bool foreign(const struct denials_watch *w, uint64_t domain)
{
	for (unsigned i = 0; i < DENIALS_PENDING; i++)
		if (w->foreign[i] == domain)
			return true;
	return false;
}

static void drop_domain(struct denials_watch *w, uint64_t domain)
{
	for (size_t i = 0; i < w->n_domains; i++)
		if (w->domains[i].domain == domain) {
			w->domains[i] = w->domains[--w->n_domains];
			return;
		}
}

/* The oldest waiter's mark came back (or will not): it is called, the next one timed. */
static void caught_up(struct denials_watch *w, bool in_time)
{
	struct denials_waiter first;

	if (!w->n_waiters)
		return;
	first = w->waiters[0];
	memmove(w->waiters, w->waiters + 1, --w->n_waiters * sizeof(*w->waiters));
	if (w->n_waiters)
		uv_timer_again(&w->mark_timer);
	else
		uv_timer_stop(&w->mark_timer);
	first.cb(first.arg, in_time);
}

static void mark_timeout(uv_timer_t *t)
{
	struct denials_watch *w = t->data;

	/* A mark this late, or with audit off, will not come: nobody waits longer. */
	while (w->n_waiters)
		caught_up(w, false);
}

static void watch_cb(uv_poll_t *h, int status, int events)
{
	struct denials_watch *w = h->data;
	struct denial d;
	void **owner;
	unsigned budget = WATCH_BATCH;
	int rc;

	(void)status;
	(void)events;
	/* A sandbox can make records as fast as it can fail a syscall: take a batch a turn. */
	while (budget-- && (rc = denials_read(w->fd, &d)) != -EAGAIN) {
		if (rc == -ENOBUFS) {
			w->lost++;
		} else if (rc == DENIALS_MARK || rc == DENIALS_MARK_REFUSED) {
			caught_up(w, rc == DENIALS_MARK); /* which may close the watch */
			return;
		} else if (rc == DENIALS_AUDIT_OFF) {
			mark_timeout(&w->mark_timer); /* no mark will come */
			return;
		} else if (rc == DENIALS_RECORD && d.type == DENIALS_DOMAIN) {
			if (d.allocated && !owner_slot(w, d.domain))
				adopt(w, &d);
			else if (!d.allocated)
				drop_domain(w, d.domain);
		} else if (rc == DENIALS_RECORD) {
			owner = owner_slot(w, d.domain);
			if (owner)
				w->refused(w, *owner, &d);
			else if (!foreign(w, d.domain)) /* its first record is next, maybe ours */
				w->pending[w->n_pending++ % DENIALS_PENDING] = d;
		} else if (rc < 0) {
			uv_poll_stop(h); /* the socket failed: what was read stands */
			mark_timeout(&w->mark_timer);
			return;
		}
	}
}

int denials_watch_start(struct denials_watch *w, uv_loop_t *loop, int fd)
{
	int rc;

	w->fd = fd;
	w->pending = calloc(DENIALS_PENDING, sizeof(*w->pending));
	if (!w->pending)
		return close(fd), -ENOMEM;
	rc = uv_poll_init(loop, &w->poll, fd);
	if (rc < 0) {
		free(w->pending);
		close(fd);
		return rc;
	}
	uv_timer_init(loop, &w->mark_timer);
	w->poll.data = w->mark_timer.data = w;
	uv_unref((uv_handle_t *)&w->poll);
	uv_unref((uv_handle_t *)&w->mark_timer);
	return uv_poll_start(&w->poll, UV_READABLE, watch_cb);
}

int denials_watch_mark(struct denials_watch *w, denials_caught_up_fn cb, void *arg)
{
	struct denials_waiter *grown;
	int rc;

	grown = realloc(w->waiters, (w->n_waiters + 1) * sizeof(*w->waiters));
	if (!grown)
		return -ENOMEM;
	w->waiters = grown;
	rc = denials_mark(w->fd);
	if (rc < 0)
		return rc;
	w->waiters[w->n_waiters++] = (struct denials_waiter){cb, arg};
	if (w->n_waiters == 1)
		uv_timer_start(&w->mark_timer, mark_timeout, DENIALS_MARK_WAIT_MS,
			       DENIALS_MARK_WAIT_MS);
	return 0;
}

void denials_watch_forget(struct denials_watch *w, void *owner)
{
	for (size_t i = 0; i < w->n_domains;)
		if (w->domains[i].owner == owner)
			w->domains[i] = w->domains[--w->n_domains];
		else
			i++;
	/* Its marks stay in the stream: their places are kept, their calls dropped. */
	for (size_t i = 0; i < w->n_waiters; i++)
		if (w->waiters[i].arg == owner)
			w->waiters[i].cb = forgotten;
}

void denials_watch_close(struct denials_watch *w, uv_close_cb close_cb)
{
	uv_close((uv_handle_t *)&w->poll, close_cb);
	uv_close((uv_handle_t *)&w->mark_timer, close_cb);
	close(w->fd);
	free(w->domains);
	free(w->pending);
	free(w->waiters);
	w->domains = NULL;
	w->pending = NULL;
	w->waiters = NULL;
	w->n_domains = w->n_waiters = 0;
}
