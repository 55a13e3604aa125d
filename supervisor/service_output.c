/* service_output: a run's stdout and stderr, read from its pipes into the service's log (lines
 * time-stamped and tagged by logbuf), paused while the log's writer catches up. */
#include "service_internal.h"

#include "logbuf.h"
#include "logfile.h"
#include "supervisor.h"
#include "util.h"

#define PARTIAL_FLUSH_MS 100	/* an unterminated line waits this long for its end */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	/* One loop, one thread: read_cb consumes the bytes before the next read. */
	static char shared[64 * 1024];

	*buf = uv_buf_init(shared, sizeof(shared));
}

void service__flush_output(struct service *s)
{
	const char *stamp = stamp_now();

	logbuf_flush(&s->lb_out, stamp, logfile_buf(&s->log));
	logbuf_flush(&s->lb_err, stamp, logfile_buf(&s->log));
	logfile_kick(&s->log);
}

static void flush_timer_cb(uv_timer_t *t)
{
	service__flush_output(t->data);
}

static void read_cb(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
	struct service *s = stream->data;
	struct logbuf *lb = stream == (uv_stream_t *)&s->out ? &s->lb_out : &s->lb_err;

	if (n > 0) {
		if (logbuf_feed(lb, stamp_now(), buf->base, (size_t)n, logfile_buf(&s->log)) < 0)
			s->log.lost += (uint64_t)n;
		logfile_kick(&s->log);
		if (logbuf_pending(lb) && !uv_is_active((uv_handle_t *)&s->flush_timer))
			uv_timer_start(&s->flush_timer, flush_timer_cb, PARTIAL_FLUSH_MS, 0);
		if (logfile_full(&s->log))
			service__pause_output(s, true);
		return;
	}
	if (n == 0)
		return;
	/* EOF or error: this stream is done. */
	uv_read_stop(stream);
	stream->data = NULL;
	service__maybe_finish(s);
}

void service__pause_output(struct service *s, bool pause)
{
	uv_pipe_t *pipes[] = { &s->out, &s->err };

	if (s->paused == pause)
		return;
	s->paused = pause;
	for (size_t i = 0; i < ARRAY_SIZE(pipes); i++) {
		if (!service__stream_open(pipes[i]))
			continue;
		if (pause)
			uv_read_stop((uv_stream_t *)pipes[i]);
		else
			uv_read_start((uv_stream_t *)pipes[i], alloc_cb, read_cb);
	}
}

void service__log_drained(struct logfile *lf)
{
	struct service *s = lf->data;

	if (s->paused && lf->pending.len < LOGFILE_PENDING_MAX / 2)
		service__pause_output(s, false);
}

/* Open the read ends of the output pipes as libuv streams and start reading. */
void service__watch_output(struct service *s, int out_fd, int err_fd)
{
	uv_pipe_init(s->sv->loop, &s->out, 0);
	uv_pipe_init(s->sv->loop, &s->err, 0);
	uv_pipe_open(&s->out, out_fd);
	uv_pipe_open(&s->err, err_fd);
	s->out.data = s->err.data = s;
	s->paused = false;
	uv_read_start((uv_stream_t *)&s->out, alloc_cb, read_cb);
	uv_read_start((uv_stream_t *)&s->err, alloc_cb, read_cb);
}

