/* nonoctl.h: what nonoctl's files share: reply helpers, the status and credentials tables
 * (nonoctl_print.c), and reading log files (nonoctl_logs.c). */
#ifndef NONO_NONOCTL_H
#define NONO_NONOCTL_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#define EXIT_NOT_RUNNING 3	/* status: a service shown is not running; credentials: a key
				   is not loaded */

static inline void bad_reply(void)
{
	fprintf(stderr, "nonoctl: bad reply from daemon\n");
}

static inline const char *json_str(const cJSON *obj, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(obj, key));
}

static inline double json_num(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItem(obj, key);

	return cJSON_IsNumber(item) && item->valuedouble > 0 ? item->valuedouble : 0;
}

/* A connection to the daemon's control socket, or -1 with a message printed. */
int nonoctl_connect(void);
/* `nonoctl run ARGS`: the exit status (the command's, 128+N, 125 when it could not start). */
int nonoctl_run(int argc, char **argv);

/* Print a status reply's "services" as a table (or as JSON): 0, EXIT_NOT_RUNNING, or 1 for a
 * bad reply. */
int nonoctl_print_status(const cJSON *services, bool json);
/* The same for a credentials reply's "credentials": EXIT_NOT_RUNNING when a key is not loaded. */
int nonoctl_print_credentials(const cJSON *creds, bool json);

/* Print the last LINES lines of the log at PATH, then with FOLLOW keep printing what is added
 * (across rotation) until SIGINT/SIGTERM or stdout's reader leaves. 0, or 1 with a message. */
int nonoctl_tail(const char *path, long lines, bool follow);
/* SERVICE's records from the audit log at PATH, as the JSON lines they are. 0 or -errno. */
int nonoctl_print_audit(const char *path, const char *service);

#endif
