/* service_status: a service as the control socket shows it: its state, run, log and sandbox. */
#include "service.h"

#include "cgroup.h"
#include "config.h"
#include "supervisor.h"

const char *service_kill_mode(const struct service *s)
{
	return cgroup_available() ? "cgroup" : "process-group";
}

cJSON *service_status_json(const struct service *s)
{
	const struct state_machine *sm = &s->sm;
	uint64_t now = uv_now(s->sv->loop);
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "name", s->cfg.name);
	cJSON_AddStringToObject(o, "state", state_name(sm->state));
	cJSON_AddStringToObject(o, "want", sm->want == WANT_UP ? "up" : "down");
	if (s->pid > 0 && !s->exited)
		cJSON_AddNumberToObject(o, "pid", s->pid);
	else
		cJSON_AddNullToObject(o, "pid");
	if (state_has_process(sm->state))
		cJSON_AddNumberToObject(o, "uptime_s", (double)((now - sm->started_at) / 1000));
	else
		cJSON_AddNullToObject(o, "uptime_s");
	cJSON_AddNumberToObject(o, "restarts", sm->restarts);
	if (sm->has_exit) {
		cJSON *e = cJSON_AddObjectToObject(o, "last_exit");

		if (sm->exit_code >= 0)
			cJSON_AddNumberToObject(e, "code", sm->exit_code);
		else
			cJSON_AddStringToObject(e, "signal", config_signal_name(sm->exit_signal));
	} else {
		cJSON_AddNullToObject(o, "last_exit");
	}
	if (sm->state == ST_BACKOFF)
		cJSON_AddNumberToObject(o, "next_restart_s",
					sm->restart_at > now ? (double)(sm->restart_at - now) / 1000.0 : 0);
	else
		cJSON_AddNullToObject(o, "next_restart_s");
	if (sm->reason[0])
		cJSON_AddStringToObject(o, "reason", sm->reason);
	else
		cJSON_AddNullToObject(o, "reason");
	cJSON_AddStringToObject(o, "log", s->log.path ? s->log.path : "");
	cJSON_AddNumberToObject(o, "log_bytes_lost", (double)s->log.lost);
	cJSON_AddNumberToObject(o, "refused", (double)s->refused);
	cJSON_AddStringToObject(o, "kill_mode", service_kill_mode(s));
	cJSON_AddBoolToObject(o, "transient", s->transient);
	cJSON_AddNumberToObject(o, "spawns", (double)s->spawns);
	cJSON_AddStringToObject(o, "sandbox", s->cfg.sandbox ? "on" : "OFF");
	cJSON_AddStringToObject(o, "profile", s->cfg.sandbox ?
				(s->cfg.profile ? s->cfg.profile : "default") : "");
	if (s->cfg.sandbox && state_has_process(sm->state) && s->pid > 0)
		cJSON_AddStringToObject(o, "network", s->netns ? "netns" : "port-only (weaker)");
	else
		cJSON_AddNullToObject(o, "network");
	return o;
}
