/* logbuf: turn a child's raw output into time-stamped log lines (pure, no I/O). */
#ifndef NONO_LOGBUF_H
#define NONO_LOGBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define LOG_LINE_MAX (16 * 1024)	/* longer lines are split, never lost */

/* One output stream of one process: the bytes of a line not yet terminated. */
struct logbuf {
	const char *tag;	/* "out", "err" */
	char *partial;		/* LOG_LINE_MAX bytes, allocated on first use */
	size_t len;
};

/*
 * Append the complete lines of data to out, each as "STAMP TAG text\n"; keep the rest
 * as a partial line. Bytes pass unchanged. Returns 0 or -ENOMEM.
 */
int logbuf_feed(struct logbuf *lb, const char *stamp, const char *data, size_t n, struct buf *out);
/* Write out a pending partial line (after an idle time, or at exit). */
int logbuf_flush(struct logbuf *lb, const char *stamp, struct buf *out);
bool logbuf_pending(const struct logbuf *lb);
void logbuf_free(struct logbuf *lb);

/* Append one supervisor event line "STAMP nono message\n". */
int logbuf_event(struct buf *out, const char *stamp, const char *msg);

#endif
