/*
 * sandbox bench service: write()s "up\n" to stdout at once, then waits forever (no exit, so
 * nothing restarts it). Static-free and tiny so that its own startup adds little to either side.
 */
#include <unistd.h>

int main(void)
{
	if (write(1, "up\n", 3) != 3)
		return 1;
	for (;;)
		pause();
}
