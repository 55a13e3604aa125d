/* config_internal: what config.c (the ini parser) and config_value.c (the value parsers) share.
 * Not installed, not for other modules. */
#ifndef NONO_CONFIG_INTERNAL_H
#define NONO_CONFIG_INTERNAL_H

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

#endif
