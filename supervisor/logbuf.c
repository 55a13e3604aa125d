/* logbuf: turn a child's raw output into time-stamped log lines (pure, no I/O). */
#include "logbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* "STAMP TAG " + text + "\n" */
static int emit(struct buf *out, const char *stamp, const char *tag, const char *a, size_t alen,
		const char *b, size_t blen)
{
	size_t tlen = strlen(tag);
	char *p = buf_reserve(out, STAMP_LEN + tlen + 3 + alen + blen);

	if (!p)
		return -ENOMEM;
	memcpy(p, stamp, STAMP_LEN);
	p += STAMP_LEN;
	*p++ = ' ';
	memcpy(p, tag, tlen);
	p += tlen;
	*p++ = ' ';
	if (alen)
		memcpy(p, a, alen);
	p += alen;
	if (blen)
		memcpy(p, b, blen);
	p += blen;
	*p++ = '\n';
	out->len = (size_t)(p - out->data);
	return 0;
}

static int keep_partial(struct logbuf *lb, const char *data, size_t n)
{
	if (!lb->partial) {
		lb->partial = malloc(LOG_LINE_MAX);
		if (!lb->partial)
			return -ENOMEM;
	}
	memcpy(lb->partial + lb->len, data, n);
	lb->len += n;
	return 0;
}

int logbuf_feed(struct logbuf *lb, const char *stamp, const char *data, size_t n, struct buf *out)
{
	while (n) {
		const char *nl = memchr(data, '\n', n);
		size_t line = nl ? (size_t)(nl - data) : n;
		size_t room = LOG_LINE_MAX - lb->len;
		int r;

		if (line > room) {
			/* Overlong: emit what fills the line limit, go on with the rest. */
			r = emit(out, stamp, lb->tag, lb->partial, lb->len, data, room);
			if (r < 0)
				return r;
			lb->len = 0;
			data += room;
			n -= room;
			continue;
		}
		if (!nl)
			return keep_partial(lb, data, n);
		r = emit(out, stamp, lb->tag, lb->partial, lb->len, data, line);
		if (r < 0)
			return r;
		lb->len = 0;
		data += line + 1;
		n -= line + 1;
	}
	return 0;
}

int logbuf_flush(struct logbuf *lb, const char *stamp, struct buf *out)
{
	int r;

	if (!lb->len)
		return 0;
	r = emit(out, stamp, lb->tag, lb->partial, lb->len, NULL, 0);
	lb->len = 0;
	return r;
}

bool logbuf_pending(const struct logbuf *lb)
{
	return lb->len > 0;
}

void logbuf_free(struct logbuf *lb)
{
	free(lb->partial);
	lb->partial = NULL;
	lb->len = 0;
}

int logbuf_event(struct buf *out, const char *stamp, const char *msg)
{
	return emit(out, stamp, "nono", msg, strlen(msg), NULL, 0);
}
