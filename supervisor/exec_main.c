/* nono-exec: the exec helper as a binary of its own, spawned for every service start. */
#include "exec.h"

/*
 * Not a mode of nono-supervise: that binary links libuv and libcrypto, whose loading cost
 * every spawn about 0.6 ms; this one links only what sets up a sandbox.
 */
int main(void)
{
	exec_helper_main();
}
