/* log: the supervisor's own log (stderr in the foreground, a file otherwise). */
#ifndef NONO_LOG_H
#define NONO_LOG_H

/* fd to write to; -1 keeps stderr. */
void log_set_fd(int fd);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
