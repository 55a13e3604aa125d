/* logfile: one service's log file, written off the loop, with size rotation. */
#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int logfile_init(struct logfile *lf, uv_loop_t *loop, const char *path, uint64_t max_size,
		 unsigned backups)
{
	*lf = (struct logfile){ .loop = loop, .fd = -1, .max_size = max_size, .backups = backups };
	lf->path = strdup(path);
	return lf->path ? 0 : -ENOMEM;
}

void logfile_configure(struct logfile *lf, uint64_t max_size, unsigned backups)
{
	/* Read by the worker only between jobs; a job in flight keeps its old values. */
	if (!lf->busy) {
		lf->max_size = max_size;
		lf->backups = backups;
	}
}

bool logfile_full(const struct logfile *lf)
{
	return lf->pending.len >= LOGFILE_PENDING_MAX;
}

static int reopen(struct logfile *lf)
{
	struct stat st;

	if (lf->fd >= 0)
		close(lf->fd);
	lf->fd = open(lf->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (lf->fd < 0)
		return -errno;
	lf->size = fstat(lf->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

/* name.log.(N-1) -> name.log.N, ..., name.log -> name.log.1, then a fresh name.log. */
static int rotate(struct logfile *lf)
{
	char from[PATH_MAX], to[PATH_MAX];

	if (lf->backups == 0) {
		if (ftruncate(lf->fd, 0) < 0)
			return -errno;
		lf->size = 0;
		return 0;
	}
	for (unsigned i = lf->backups; i > 1; i--) {
		snprintf(from, sizeof(from), "%s.%u", lf->path, i - 1);
		snprintf(to, sizeof(to), "%s.%u", lf->path, i);
		if (rename(from, to) < 0 && errno != ENOENT)
			return -errno;
	}
	snprintf(to, sizeof(to), "%s.1", lf->path);
	if (rename(lf->path, to) < 0 && errno != ENOENT)
		return -errno;
	return reopen(lf);
}

static int write_all(struct logfile *lf, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(lf->fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
		lf->size += (uint64_t)w;
		lf->job_written += (uint64_t)w;
	}
	return 0;
}

int logfile_write_rotating(struct logfile *lf, const char *data, size_t n)
{
	int r;

	if (lf->fd < 0) {
		r = reopen(lf);
		if (r < 0)
			return r;
	}
	while (n) {
		size_t chunk = n;

		if (lf->max_size && lf->size + n > lf->max_size) {
			/* Fill the file up to the limit with whole lines, then rotate. */
			size_t room = lf->size < lf->max_size ? (size_t)(lf->max_size - lf->size) : 0;
			const char *nl = room ? memrchr(data, '\n', room < n ? room : n) : NULL;

			if (nl) {
				chunk = (size_t)(nl - data) + 1;
			} else if (lf->size == 0) {
				/* A single line longer than the limit: it gets a file of its own. */
				nl = memchr(data, '\n', n);
				chunk = nl ? (size_t)(nl - data) + 1 : n;
			} else {
				chunk = 0;
			}
		}
		if (chunk) {
			r = write_all(lf, data, chunk);
			if (r < 0)
				return r;
			data += chunk;
			n -= chunk;
		}
		if (n) {
			r = rotate(lf);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static void work_cb(uv_work_t *req)
{
	struct logfile *lf = req->data;
	int r;

	lf->job_written = 0;
	r = logfile_write_rotating(lf, lf->inflight.data, lf->inflight.len);
	lf->job_error = r;
	lf->job_lost = 0;
	if (r < 0) {
		/* Count what did not reach the file; drop the fd so the next job reopens. */
		lf->job_lost = lf->inflight.len - lf->job_written;
		if (lf->fd >= 0)
			close(lf->fd);
		lf->fd = -1;
	}
	if (lf->closing && lf->fd >= 0) {
		close(lf->fd);
		lf->fd = -1;
	}
}

static void start_job(struct logfile *lf);

static void after_work_cb(uv_work_t *req, int status)
{
	struct logfile *lf = req->data;

	lf->busy = false;
	buf_reset(&lf->inflight);
	lf->lost += lf->job_lost;
	lf->last_error = lf->job_error;
	if (lf->pending.len) {
		start_job(lf);
	} else if (lf->closing) {
		if (lf->fd >= 0) {
			close(lf->fd);
			lf->fd = -1;
		}
		buf_free(&lf->pending);
		buf_free(&lf->inflight);
		free(lf->path);
		lf->path = NULL;
		if (lf->closed)
			lf->closed(lf);
		return;
	} else if (lf->inflight.cap > LOGFILE_PENDING_MAX) {
		buf_free(&lf->inflight);	/* give back a burst's memory */
	}
	if (lf->drained)
		lf->drained(lf);
}

static void start_job(struct logfile *lf)
{
	buf_swap(&lf->pending, &lf->inflight);
	lf->busy = true;
	lf->work.data = lf;
	if (uv_queue_work(lf->loop, &lf->work, work_cb, after_work_cb) < 0) {
		lf->busy = false;
		lf->lost += lf->inflight.len;
		buf_reset(&lf->inflight);
	}
}

void logfile_kick(struct logfile *lf)
{
	if (!lf->busy && (lf->pending.len || lf->closing))
		start_job(lf);
}

void logfile_close(struct logfile *lf, logfile_cb cb)
{
	lf->closing = true;
	lf->closed = cb;
	if (!lf->busy)
		start_job(lf);
}
