/* config_internal: what config.c (the ini parser) and config_value.c (the value parsers) share.
 * Not installed, not for other modules. */
#ifndef NONO_CONFIG_INTERNAL_H
#define NONO_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growing NULL-terminated vector; v is handed out as a config_strv_free()-able char **. */
struct config__strv {
	char **v;
	size_t n, cap;
};

/* Append s (owned by the vector on success, not freed on failure): 0 or -ENOMEM. */
int config__strv_push(struct config__strv *sv, char *s);

/* Leading decimal digits of s into n, *end after them: 0, -EINVAL (no digit) or -ERANGE. */
int config__parse_digits(const char *s, uint64_t *n, const char **end);

/* Syntax only, lengths are the caller's (route names and URLs are resolved by routes.c). */
bool config__route_name_ok(const char *s);	/* [A-Za-z0-9_-]+ */
bool config__url_ok(const char *s);		/* http:// or https:// then visible ASCII, no blanks */
bool config__header_ok(const char *s);		/* an HTTP token: Authorization, x-api-key */
bool config__format_ok(const char *s);		/* printable ASCII with exactly one "{}" */

#endif
