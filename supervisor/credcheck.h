/* credcheck: `nonoctl credentials`: each [credential:NAME] of the running configuration, its
 * route, the services that use it and whether its key loads now (never the key itself). */
#ifndef NONO_CREDCHECK_H
#define NONO_CREDCHECK_H

#include <cjson/cJSON.h>

#define CREDCHECK_REASON_MAX 1024	/* bytes of one credential's "why not loaded" */

struct supervisor;
struct credcheck;

/*
 * Check every credential of sv's running configuration, each in a libuv worker: the key is
 * loaded as a service would load it (file, env, systemd, or the nono-keyring helper), wiped
 * at once, and only its state and the loader's message (which never holds a key byte) are
 * kept; its route is resolved against routes.json. done(arg, list) then runs on the loop
 * and takes over list: [{"name","source","route","upstream","services","state","reason"}..].
 * With no credential configured done runs before this returns. 0, with *out set while the
 * check is under way (NULL once done ran), or -ENOMEM with nothing started.
 */
int credcheck_start(struct supervisor *sv, void (*done)(void *arg, cJSON *list), void *arg,
		    struct credcheck **out);

/* The asker is gone: done will not be called; the check frees itself once its workers return. */
void credcheck_cancel(struct credcheck *cc);

#endif
