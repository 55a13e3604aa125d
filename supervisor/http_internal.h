/* http_internal: the character classes http.c (heads) and http_body.c (chunked bodies) share. */
#ifndef NONO_HTTP_INTERNAL_H
#define NONO_HTTP_INTERNAL_H

#include <stdbool.h>
#include <string.h>

/* tchar from RFC 9110 5.6.2 */
static inline bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static inline bool is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* field-vchar, SP, HTAB (obs-text allowed) */
static inline bool is_field_char(unsigned char c)
{
	return is_ows(c) || (c > 0x20 && c != 0x7f);
}

static inline unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

#endif
