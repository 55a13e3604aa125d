/* http_body: HTTP/1.1 body framing, Content-Length or chunked (decoded or passed through). */
#include "http.h"
#include "http_internal.h"

#include <string.h>

/* Chunk-size line, data and its CRLF, then trailer lines: the order matters (< CS_DATA). */
enum chunk_state {
	CS_SIZE, CS_SIZE_MORE, CS_SIZE_WS, CS_EXT, CS_SIZE_LF,
	CS_DATA, CS_DATA_CR, CS_DATA_LF,
	CS_TRAILER, CS_TR_NAME, CS_TR_VALUE, CS_TR_LF, CS_END_LF, CS_DONE,
};

int http_body_init(struct http_body *b, const struct http_head *h, uint64_t max, bool decode)
{
	*b = (struct http_body){
		.framing = h->framing,
		.decode = decode,
		.max = max ? max : HTTP_BODY_MAX,
		.remaining = h->content_length,
	};
	if (h->framing == HTTP_BODY_LENGTH && h->content_length > b->max)
		b->error = HTTP_E_BODY_TOO_LARGE;
	return b->error;
}

static int hexval(unsigned char c)
{
	static const char digits[] = "0123456789abcdef";
	const char *d = c ? strchr(digits, lower(c)) : NULL;

	return d ? (int)(d - digits) : -1;
}

/* One byte of chunk framing (not data): the next state, or an HTTP_E_* code. */
static int chunk_byte(struct http_body *b, unsigned char c)
{
	int x = hexval(c);

	switch (b->state) {
	case CS_SIZE:
		if (x < 0)
			return HTTP_E_CHUNK_SIZE;
		b->remaining = (uint64_t)x;
		return CS_SIZE_MORE;
	case CS_SIZE_MORE:
		if (x >= 0) {
			if (b->remaining > b->max / 16)
				return HTTP_E_BODY_TOO_LARGE;
			b->remaining = b->remaining * 16 + (uint64_t)x;
			return CS_SIZE_MORE;
		}
		/* fall through */
	case CS_SIZE_WS:
		return is_ows(c) ? CS_SIZE_WS
		       : c == ';' ? CS_EXT
		       : c == '\r' ? CS_SIZE_LF : HTTP_E_CHUNK_SIZE;
	case CS_EXT:
		return c == '\r' ? CS_SIZE_LF : is_field_char(c) ? CS_EXT : HTTP_E_CHUNK_SIZE;
	case CS_SIZE_LF:
		if (c != '\n')
			return HTTP_E_CHUNK_SIZE;
		if (b->remaining > b->max)
			return HTTP_E_BODY_TOO_LARGE;
		return b->remaining ? CS_DATA : CS_TRAILER;
	case CS_DATA_CR:
		return c == '\r' ? CS_DATA_LF : HTTP_E_CHUNK_DATA;
	case CS_DATA_LF:
		return c == '\n' ? CS_SIZE : HTTP_E_CHUNK_DATA;
	case CS_TRAILER:
		return c == '\r' ? CS_END_LF : is_tchar(c) ? CS_TR_NAME : HTTP_E_TRAILER;
	case CS_TR_NAME:
		return c == ':' ? CS_TR_VALUE : is_tchar(c) ? CS_TR_NAME : HTTP_E_TRAILER;
	case CS_TR_VALUE:
		return c == '\r' ? CS_TR_LF : is_field_char(c) ? CS_TR_VALUE : HTTP_E_TRAILER;
	case CS_TR_LF:
		return c == '\n' ? CS_TRAILER : HTTP_E_TRAILER;
	case CS_END_LF:
		return c == '\n' ? CS_DONE : HTTP_E_TRAILER;
	}
	return HTTP_E_CHUNK_SIZE;
}

static ssize_t chunked_feed(struct http_body *b, const char *in, size_t len, char *out,
			    size_t *outlen)
{
	size_t i = 0;

	while (i < len && b->state != CS_DONE) {
		int next;

		if (b->state == CS_DATA) {
			size_t n = len - i;

			if (n > b->remaining)
				n = (size_t)b->remaining;
			if (out)
				memmove(out + *outlen, in + i, n);
			*outlen += n;
			b->remaining -= n;
			i += n;
			if (!b->remaining)
				b->state = CS_DATA_CR;
			continue;
		}
		next = chunk_byte(b, (unsigned char)in[i]);
		if (next < 0)
			return next;
		if (b->state >= CS_TRAILER && ++b->trailer > HTTP_TRAILER_MAX)
			return HTTP_E_TRAILER_TOO_LARGE;
		b->line = next == CS_DATA || next == CS_TRAILER || next == CS_SIZE ? 0 : b->line + 1;
		if (b->line > HTTP_CHUNK_LINE_MAX)
			return b->state < CS_DATA ? HTTP_E_CHUNK_LINE_TOO_LONG
						  : HTTP_E_TRAILER_TOO_LARGE;
		b->state = next;
		i++;
	}
	return (ssize_t)i;
}

ssize_t http_body_feed(struct http_body *b, const char *in, size_t len, char *out, size_t *outlen)
{
	size_t n = len, got = 0;
	ssize_t rc;

	if (outlen)
		*outlen = 0;
	if (!b->decode)
		out = NULL;
	if (b->error)
		return b->error;
	switch (b->framing) {
	case HTTP_BODY_NONE:
		return 0;
	case HTTP_BODY_LENGTH:
		if (n > b->remaining)
			n = (size_t)b->remaining;
		b->remaining -= n;
		break;
	case HTTP_BODY_CLOSE:
		if (n > b->max - b->seen)
			return b->error = HTTP_E_BODY_TOO_LARGE;
		break;
	case HTTP_BODY_CHUNKED:
		if (len > b->max - b->seen)
			len = (size_t)(b->max - b->seen) + 1;	/* fail at the byte past max */
		rc = chunked_feed(b, in, len, out, &got);
		if (rc < 0 || (uint64_t)rc > b->max - b->seen)
			return b->error = rc < 0 ? (int)rc : HTTP_E_BODY_TOO_LARGE;
		b->seen += (uint64_t)rc;
		if (outlen && out)
			*outlen = got;
		return rc;
	}
	if (out)
		memmove(out, in, n);
	if (outlen && out)
		*outlen = n;
	b->seen += n;
	return (ssize_t)n;
}

bool http_body_done(const struct http_body *b)
{
	return !b->error && (b->framing == HTTP_BODY_NONE ||
			     (b->framing == HTTP_BODY_LENGTH && !b->remaining) ||
			     (b->framing == HTTP_BODY_CHUNKED && b->state == CS_DONE));
}

int http_body_eof(const struct http_body *b)
{
	if (b->error)
		return b->error;
	return b->framing == HTTP_BODY_CLOSE || http_body_done(b) ? 0 : HTTP_E_BODY_TRUNCATED;
}
