/* logfile: one service's log file, written off the loop, with size rotation. */
#ifndef NONO_LOGFILE_H
#define NONO_LOGFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "util.h"

#define LOGFILE_PENDING_MAX (4u << 20)	/* past this, the reader pauses the pipes */

struct logfile;
typedef void (*logfile_cb)(struct logfile *lf);

/*
 * The loop appends to `pending` (logfile_buf) and calls logfile_kick; one worker job at a
 * time writes it out (uv_queue_work), so a slow or full disk never blocks the loop. Bytes
 * that cannot be written (ENOSPC, EIO, a vanished directory) are dropped and counted;
 * every later flush retries, so writing resumes by itself.
 */
struct logfile {
	uv_loop_t *loop;
	char *path;
	uint64_t max_size;	/* 0 = never rotate */
	unsigned backups;
	struct buf pending;	/* loop side */
	uint64_t lost;		/* bytes dropped, loop side */
	int last_error;		/* negative errno of the last failed write, 0 after a success */
	logfile_cb drained;	/* called on the loop when a flush finished (may be NULL) */
	logfile_cb closed;
	void *data;
	/* worker side while busy */
	uv_work_t work;
	bool busy, closing;
	int fd;
	uint64_t size;
	struct buf inflight;
	uint64_t job_written;
	uint64_t job_lost;
	int job_error;
};

int logfile_init(struct logfile *lf, uv_loop_t *loop, const char *path, uint64_t max_size,
		 unsigned backups);
void logfile_configure(struct logfile *lf, uint64_t max_size, unsigned backups);
static inline struct buf *logfile_buf(struct logfile *lf)
{
	return &lf->pending;
}
/* Start writing what is pending, unless a write is already under way. */
void logfile_kick(struct logfile *lf);
bool logfile_full(const struct logfile *lf);
/* Flush everything, close the file, then call cb (once). */
void logfile_close(struct logfile *lf, logfile_cb cb);

/* Worker-side step, exported for tests: write data to the open file, rotating as needed. */
int logfile_write_rotating(struct logfile *lf, const char *data, size_t n);

#endif
