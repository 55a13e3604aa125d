/* http: pure, incremental HTTP/1.1 head parsing, body framing and head rewriting (no I/O). */
#ifndef NONO_HTTP_H
#define NONO_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

#define HTTP_HEAD_MAX	    (64 * 1024)		/* whole head, start line to blank line: 431 */
#define HTTP_HEADERS_MAX    100			/* header fields per head: 431 */
#define HTTP_LINE_MAX	    (8 * 1024)		/* request or status line: 414 */
#define HTTP_METHOD_MAX	    32			/* method token bytes */
#define HTTP_CHUNK_LINE_MAX 4096		/* chunk-size line with extensions, or trailer line */
#define HTTP_TRAILER_MAX    (8 * 1024)		/* trailer section of a chunked body: 431 */
#define HTTP_BODY_MAX	    (16ULL * 1024 * 1024)	/* default body cap: 413 */

/*
 * Parse errors: distinct negative codes below -1000, so they never collide with a
 * negative errno. http_error_status() gives the status to answer a client with (a
 * proxy answers 502 when an upstream response fails to parse), http_error_reason() a
 * short phrase that quotes nothing from the message.
 */
enum http_error {
	HTTP_E_METHOD = -1001,		/* 400 */
	HTTP_E_TARGET = -1002,		/* 400 */
	HTTP_E_VERSION = -1003,		/* 400 */
	HTTP_E_VERSION_UNSUPPORTED = -1004, /* 505 */
	HTTP_E_LINE_TOO_LONG = -1005,	/* 414 */
	HTTP_E_HEAD_TOO_LARGE = -1006,	/* 431 */
	HTTP_E_TOO_MANY_HEADERS = -1007, /* 431 */
	HTTP_E_NUL = -1008,		/* 400 */
	HTTP_E_BARE_CR = -1009,		/* 400 */
	HTTP_E_BARE_LF = -1010,		/* 400 */
	HTTP_E_OBS_FOLD = -1011,	/* 400 */
	HTTP_E_HEADER_NAME = -1012,	/* 400 */
	HTTP_E_HEADER_SPACE = -1013,	/* 400 */
	HTTP_E_HEADER_VALUE = -1014,	/* 400 */
	HTTP_E_HOST = -1015,		/* 400 */
	HTTP_E_CONTENT_LENGTH = -1016,	/* 400 */
	HTTP_E_CL_CONFLICT = -1017,	/* 400 */
	HTTP_E_CL_AND_TE = -1018,	/* 400 */
	HTTP_E_TE_BAD = -1019,		/* 400 */
	HTTP_E_TE_UNSUPPORTED = -1020,	/* 501 */
	HTTP_E_TE_HTTP10 = -1021,	/* 400 */
	HTTP_E_STATUS = -1022,		/* 502: bad status line in a response */
	HTTP_E_CHUNK_SIZE = -1023,	/* 400 */
	HTTP_E_CHUNK_LINE_TOO_LONG = -1024, /* 400 */
	HTTP_E_CHUNK_DATA = -1025,	/* 400 */
	HTTP_E_TRAILER = -1026,		/* 400 */
	HTTP_E_TRAILER_TOO_LARGE = -1027, /* 431 */
	HTTP_E_BODY_TOO_LARGE = -1028,	/* 413 */
	HTTP_E_BODY_TRUNCATED = -1029,	/* 400 */
};
#define HTTP_E_LAST HTTP_E_BODY_TRUNCATED

/* The status to answer with (500 for a negative errno), and a short reason. */
int http_error_status(int err);
const char *http_error_reason(int err);

/* A piece of the head: an offset into the caller's buffer, so the buffer may move. */
struct http_slice {
	uint32_t off;
	uint32_t len;
};

struct http_header {
	struct http_slice name;
	struct http_slice value;	/* without surrounding whitespace */
};

enum http_form {
	HTTP_FORM_ORIGIN,		/* /a/b?q */
	HTTP_FORM_ABSOLUTE,		/* http://host:port/path */
	HTTP_FORM_AUTHORITY,		/* host:port, CONNECT only */
	HTTP_FORM_ASTERISK,		/* *, OPTIONS only */
};

enum http_framing {
	HTTP_BODY_NONE,
	HTTP_BODY_LENGTH,		/* Content-Length */
	HTTP_BODY_CHUNKED,
	HTTP_BODY_CLOSE,		/* until the connection closes (responses only) */
};

#define HTTP_F_RESPONSE 1u		/* parse a status line, not a request line */
#define HTTP_F_HEAD	2u		/* a response to HEAD: never a body */

struct http_head {
	const char *base;		/* the buffer last given to http_head_parse() */
	unsigned flags;
	int error;			/* sticky */
	uint32_t pos;			/* start of the line being read */
	uint32_t scan;			/* bytes already looked at */
	uint32_t head_len;		/* set once the head is complete */
	bool in_headers;

	/* request */
	struct http_slice method;
	struct http_slice target;
	enum http_form form;
	bool https;			/* absolute-form with https: */
	struct http_slice host;		/* absolute- and authority-form; no [ ] around IPv6 */
	uint16_t port;
	struct http_slice path;		/* origin-form part, with query; may be empty */
	/* response */
	int status;
	struct http_slice reason;

	int version;			/* 10 or 11 */
	unsigned nheaders;
	struct http_header headers[HTTP_HEADERS_MAX];

	enum http_framing framing;
	uint64_t content_length;
	bool keep_alive;
};

/* Start (or restart, for the next message on a connection) a parse. */
void http_head_init(struct http_head *h, unsigned flags);

/*
 * Parse the head in buf[0..len), which holds every byte of this message received so
 * far, from its first; call again with the longer buffer as more arrives (it may have
 * moved). Only new bytes are looked at, so feeding a byte at a time costs the same
 * as feeding all at once, and gives the same result. Returns 0 when more is needed,
 * the head's length (the body starts there) once complete, or an HTTP_E_* code.
 * Slices stay valid while buf stays where it was last passed.
 */
int http_head_parse(struct http_head *h, const char *buf, size_t len);

static inline const char *http_ptr(const struct http_head *h, struct http_slice s)
{
	return h->base + s.off;
}

/* The first value of header name (any case), or NULL; *len gets its length. */
const char *http_header_get(const struct http_head *h, const char *name, size_t *len);
/* Index of the next header called name at or after from, or -1. */
int http_header_next(const struct http_head *h, const char *name, unsigned from);
/* Is the request method exactly m (methods are case-sensitive)? */
bool http_method_is(const struct http_head *h, const char *m);
/* The request path without query, for audit: "/" for http://host, "" for CONNECT. */
const char *http_target_path_noquery(const struct http_head *h, size_t *len);
/* May the connection carry another message after this one (Connection, HTTP/1.0)? */
bool http_keep_alive(const struct http_head *h);
/* Is the response a Server-Sent Events stream (Content-Type: text/event-stream)? */
bool http_is_event_stream(const struct http_head *h);

struct http_field {
	const char *name;
	const char *value;
};

/* How to forward a head. Every pointer may be NULL. */
struct http_rewrite {
	const char *target;		/* request-target to send; NULL keeps it (absolute-form
					   becomes origin-form) */
	const char *host;		/* Host to send first, replacing the client's */
	const char *const *remove;	/* header names to drop, any case */
	size_t nremove;
	const struct http_field *add;	/* appended after the kept headers */
	size_t nadd;
	bool reframe;			/* drop Content-Length and Transfer-Encoding too */
};

/*
 * Append to out the head to forward: start line as HTTP/1.1, then the headers minus
 * hop-by-hop ones (Connection, Keep-Alive, Proxy-*, TE, Trailer, Upgrade and any
 * named in Connection) and rw->remove, then rw->add, then the blank line. out is
 * grown once up front, so a secret in rw->add is never left behind by a realloc; the
 * caller wipes out after use. 0, -EINVAL (a CR, LF or NUL in rw, or a bad name) or
 * -ENOMEM; out is unchanged on error.
 */
int http_head_rewrite(const struct http_head *h, const struct http_rewrite *rw, struct buf *out);

/*
 * Body framing after a head. Pass-through mode tracks where the message ends while
 * the caller relays the bytes as they are; decode mode also strips the chunked framing.
 */
struct http_body {
	enum http_framing framing;
	int state;
	int error;			/* sticky */
	bool decode;
	uint64_t max;
	uint64_t remaining;		/* Content-Length, or data left in this chunk */
	uint64_t seen;			/* bytes consumed, framing included */
	uint32_t line;			/* bytes of the current chunk-size or trailer line */
	uint32_t trailer;		/* bytes of the trailer section */
};

/*
 * Set up framing for the body that follows head h. max caps the body (0: HTTP_BODY_MAX;
 * for chunked bodies it counts framing bytes too). HTTP_E_BODY_TOO_LARGE at once when
 * Content-Length exceeds it.
 */
int http_body_init(struct http_body *b, const struct http_head *h, uint64_t max, bool decode);

/*
 * Consume in[0..len) up to the end of the message: returns the bytes consumed (what
 * follows belongs to the next message) or an HTTP_E_* code. In decode mode the body's
 * data goes to out (which may be in itself: data never moves forward) and *outlen
 * gets its length; in pass-through mode out is ignored, *outlen gets 0, either may be NULL.
 */
ssize_t http_body_feed(struct http_body *b, const char *in, size_t len, char *out, size_t *outlen);

/* Has the whole body been consumed? */
bool http_body_done(const struct http_body *b);
/* The peer closed: 0 if that ends the body properly, else HTTP_E_BODY_TRUNCATED. */
int http_body_eof(const struct http_body *b);

#endif
