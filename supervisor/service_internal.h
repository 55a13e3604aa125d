/* service_internal: what service.c (a service's runs) and service_output.c (their stdout and
 * stderr into the log) share. */
#ifndef NONO_SERVICE_INTERNAL_H
#define NONO_SERVICE_INTERNAL_H

#include <stdbool.h>

#include "service.h"

/* An output pipe still being read (its data is cleared at EOF). */
static inline bool service__stream_open(const uv_pipe_t *p)
{
	return p->data != NULL;
}

/* Read the run's output pipes into the log. */
void service__watch_output(struct service *s, int out_fd, int err_fd);
/* Stop or resume reading them (while the log catches up, or for good at the end). */
void service__pause_output(struct service *s, bool pause);
/* Write unterminated lines as they are. */
void service__flush_output(struct service *s);
/* The log's writer caught up: reading may resume. */
void service__log_drained(struct logfile *lf);

/* A line in the service's own log, tagged nono (service.c). */
void service__event(struct service *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A stream reached EOF: the run may be over (service.c). */
void service__maybe_finish(struct service *s);

#endif
