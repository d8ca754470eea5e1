/* orphan: a process left behind when the sandbox's pid 1 exits, trying to
 * outlive the sandbox the way a daemon outlives its session: double fork,
 * setsid, SIGHUP and SIGTERM ignored, busy on the CPU. Every one must be
 * killed when pid 1 exits (the test counts host processes before and after).
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	for (int i = 0; i < 3; i++) {
		if (fork() == 0) {
			setsid();
			signal(SIGHUP, SIG_IGN);
			signal(SIGTERM, SIG_IGN);
			if (fork() != 0)
				_exit(0); /* the grandchild is re-parented */
			for (volatile unsigned long n = 0;; n++)
				if (n % 100000000 == 0)
					getpid();
		}
	}
	sleep(1); /* let them start */
	printf("INIT EXITING\n");
	return 0;
}
