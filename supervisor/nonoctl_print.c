/* nonoctl_print: nonoctl's tables: status (one line per service) and credentials (one per key). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "nonoctl.h"

/* ---- status ---- */

static void format_uptime(double secs, char *buf, size_t len)
{
	unsigned long long s = (unsigned long long)secs, d = s / 86400;

	s %= 86400;
	if (d)
		snprintf(buf, len, "%llud %llu:%02llu:%02llu", d, s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, len, "%llu:%02llu:%02llu", s / 3600, s / 60 % 60, s % 60);
}

/* "exited N" or "killed by SIGX"; false if the service has not exited yet. */
static bool format_exit(const cJSON *svc, char *buf, size_t len)
{
	const cJSON *last = cJSON_GetObjectItem(svc, "last_exit");
	const cJSON *code = cJSON_GetObjectItem(last, "code");
	const char *sig = json_str(last, "signal");

	if (!cJSON_IsObject(last))
		return false;
	if (sig)
		snprintf(buf, len, "killed by %s", sig);
	else
		snprintf(buf, len, "exited %d", cJSON_IsNumber(code) ? code->valueint : -1);
	return true;
}

static void format_detail(const cJSON *svc, const char *state, char *buf, size_t len)
{
	unsigned long long restarts = (unsigned long long)json_num(svc, "restarts");
	double next = json_num(svc, "next_restart_s"), lost = json_num(svc, "log_bytes_lost");
	unsigned long long wait = (unsigned long long)next;
	const char *reason = json_str(svc, "reason");
	char pid[32] = "", up[64], ex[64];
	bool exited = format_exit(svc, ex, sizeof(ex));
	int n;

	if (json_num(svc, "pid") > 0)	/* null once the process is gone */
		snprintf(pid, sizeof(pid), "pid %.0f, ", json_num(svc, "pid"));
	if (!strcmp(state, "RUNNING")) {
		format_uptime(json_num(svc, "uptime_s"), up, sizeof(up));
		n = snprintf(buf, len, "%suptime %s, restarts %llu", pid, up, restarts);
	} else if (!strcmp(state, "STARTING") || !strcmp(state, "STOPPING")) {
		n = snprintf(buf, len, "%s%s", pid, state[3] == 'R' ? "starting" : "stopping");
	} else if (!strcmp(state, "BACKOFF")) {
		if (next > (double)wait)
			wait++;	/* round up: never say "in 0s" while still waiting */
		n = snprintf(buf, len, "%s%srestarting in %llus, restarts %llu",
			     exited ? ex : "", exited ? ", " : "", wait, restarts);
	} else if (!strcmp(state, "FAILED")) {
		n = snprintf(buf, len, "%s", reason && *reason ? reason : exited ? ex : "failed");
	} else if (!strcmp(state, "STOPPED")) {
		n = snprintf(buf, len, "stopped%s%s", exited ? ", last " : "", exited ? ex : "");
	} else if (!strcmp(state, "EXITED")) {
		n = snprintf(buf, len, "%s", exited ? ex : "exited");
	} else {
		n = snprintf(buf, len, "%.*s", pid[0] ? (int)strlen(pid) - 2 : 0, pid);
	}
	if (lost > 0 && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, "%slog lost %.0f bytes", n ? ", " : "", lost);
	/* A weaker or absent sandbox is said on every line, loudly. */
	if (n >= 0 && (size_t)n < len && json_str(svc, "sandbox") &&
	    !strcmp(json_str(svc, "sandbox"), "OFF"))
		n += snprintf(buf + n, len - (size_t)n, "%sSANDBOX OFF", n ? ", " : "");
	if (n >= 0 && (size_t)n < len && json_str(svc, "network") &&
	    strcmp(json_str(svc, "network"), "netns") != 0)
		n += snprintf(buf + n, len - (size_t)n, "%snetwork: %s", n ? ", " : "",
			      json_str(svc, "network"));
	if (n >= 0 && (size_t)n < len && json_num(svc, "refused") > 0)
		n += snprintf(buf + n, len - (size_t)n, "%slandlock refused %.0f (in its log)",
			      n ? ", " : "", json_num(svc, "refused"));
	if (n >= 0 && (size_t)n < len && cJSON_IsTrue(cJSON_GetObjectItem(svc, "transient")))
		n += snprintf(buf + n, len - (size_t)n, "%stransient (nonoctl run)", n ? ", " : "");
	/* Without cgroups a stop can miss descendants that left the process group. */
	if (n >= 0 && (size_t)n < len && json_str(svc, "kill_mode") &&
	    strcmp(json_str(svc, "kill_mode"), "cgroup") != 0)
		snprintf(buf + n, len - (size_t)n, "%skill: %s", n ? ", " : "",
			 json_str(svc, "kill_mode"));
}

int nonoctl_print_status(const cJSON *services, bool json)
{
	const cJSON *svc;
	int width = 0, ret = 0;
	char *text;

	cJSON_ArrayForEach(svc, services) {
		const char *name = json_str(svc, "name"), *state = json_str(svc, "state");

		if (!name || !state) {
			services = NULL;
			break;
		}
		if ((int)strlen(name) > width)
			width = (int)strlen(name);
		if (strcmp(state, "RUNNING"))
			ret = EXIT_NOT_RUNNING;
	}
	if (!cJSON_IsArray(services)) {
		bad_reply();
		ret = 1;
	} else if (json) {
		text = cJSON_PrintUnformatted(services);
		printf("%s\n", text ? text : "null");
		free(text);
	} else {
		cJSON_ArrayForEach(svc, services) {
			const char *state = json_str(svc, "state");
			char detail[512];

			format_detail(svc, state, detail, sizeof(detail));
			if (detail[0])
				printf("%-*s   %-9s %s\n", width, json_str(svc, "name"), state, detail);
			else
				printf("%-*s   %s\n", width, json_str(svc, "name"), state);
		}
	}
	return ret;
}

/* ---- credentials ---- */

/* "a,b" (no spaces: one column), or "-" for none; false if the list is not one of names. */
static bool join_services(const cJSON *list, char *buf, size_t len)
{
	const cJSON *e;
	size_t n = 0;

	if (!cJSON_IsArray(list))
		return false;
	buf[0] = '\0';
	cJSON_ArrayForEach(e, list) {
		if (!cJSON_IsString(e))
			return false;
		if (n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "", e->valuestring);
	}
	if (!n)
		snprintf(buf, len, "-");
	return true;
}

int nonoctl_print_credentials(const cJSON *creds, bool json)
{
	const cJSON *cr;
	int w_name = 0, w_source = 0, w_state = 0, w_services = 0, ret = 0;
	char services[1024], *text;

	cJSON_ArrayForEach(cr, creds) {
		const char *name = json_str(cr, "name"), *source = json_str(cr, "source");
		const char *state = json_str(cr, "state");

		if (!name || !source || !state ||
		    !join_services(cJSON_GetObjectItem(cr, "services"), services, sizeof(services))) {
			creds = NULL;
			break;
		}
		w_name = (int)strlen(name) > w_name ? (int)strlen(name) : w_name;
		w_source = (int)strlen(source) > w_source ? (int)strlen(source) : w_source;
		w_state = (int)strlen(state) > w_state ? (int)strlen(state) : w_state;
		w_services = (int)strlen(services) > w_services ? (int)strlen(services) : w_services;
		if (strcmp(state, "loaded"))
			ret = EXIT_NOT_RUNNING;
	}
	if (!cJSON_IsArray(creds)) {
		bad_reply();
		return 1;
	}
	if (json) {
		text = cJSON_PrintUnformatted(creds);
		printf("%s\n", text ? text : "null");
		free(text);
		return ret;
	}
	cJSON_ArrayForEach(cr, creds) {
		const char *reason = json_str(cr, "reason");

		join_services(cJSON_GetObjectItem(cr, "services"), services, sizeof(services));
		printf("%-*s   %-*s   %-*s   ", w_name, json_str(cr, "name"), w_source,
		       json_str(cr, "source"), w_state, json_str(cr, "state"));
		if (reason && *reason)
			printf("%-*s   %s\n", w_services, services, reason);
		else
			printf("%s\n", services);
	}
	return ret;
}
