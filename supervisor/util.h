/* util: small shared helpers (growable byte buffer, time stamps, formatting). */
#ifndef NONO_UTIL_H
#define NONO_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

/* Make room for n more bytes; returns a pointer to the free space or NULL (ENOMEM). */
char *buf_reserve(struct buf *b, size_t n);
int buf_append(struct buf *b, const void *data, size_t n);
/* Append printf output (no NUL counted): 0 or -ENOMEM. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);		/* len = 0, keeps memory */
void buf_free(struct buf *b);
/* Drop the first n bytes (n <= len), keeping the rest in place. */
void buf_consume(struct buf *b, size_t n);
/* Wipe every byte it ever held (a key, a token), then free. */
void buf_wipe_free(struct buf *b);
/* Swap the contents of two buffers. */
void buf_swap(struct buf *a, struct buf *b);

#define STAMP_LEN 24	/* "2026-12-04T19:39:26.123Z" */

/* Format a UTC ISO-8601 millisecond time stamp into out (STAMP_LEN + 1 bytes). */
void stamp_format(char *out, const struct timespec *ts);
/* The current wall-clock stamp, cached per second so a burst of lines costs little. */
const char *stamp_now(void);

/* Replace bytes that are not valid UTF-8 (and control characters but \n, \t) by '?'. */
void utf8_sanitize(char *s, size_t len);

/* "4s", "1m30s", "500ms": a compact human duration. */
void format_duration(char *out, size_t len, uint64_t ms);

#endif
