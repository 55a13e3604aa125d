/* log: the supervisor's own log (stderr in the foreground, a file otherwise). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static int log_fd = STDERR_FILENO;

void log_set_fd(int fd)
{
	log_fd = fd < 0 ? STDERR_FILENO : fd;
}

static void vlog(const char *level, const char *fmt, va_list ap)
{
	char line[2048];
	int n = snprintf(line, sizeof(line), "%s %s ", stamp_now(), level);

	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	n = (int)strlen(line);
	line[n++] = '\n';
	/* Short, rare lines to a local file or terminal: written at once, never queued. */
	if (write(log_fd, line, (size_t)n) < 0)
		return;
}

#define LOG_FN(fn, level)                  \
	void fn(const char *fmt, ...)      \
	{                                  \
		va_list ap;                \
		va_start(ap, fmt);         \
		vlog(level, fmt, ap);      \
		va_end(ap);                \
	}

LOG_FN(log_info, "info")
LOG_FN(log_warn, "warning")
LOG_FN(log_error, "error")
