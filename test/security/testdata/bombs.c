/* bombs: resource exhaustion from inside the sandbox, which must hit the
 * sandbox's limits (--memory, --pids-limit) and never the host's.
 *   bombs memory   touch 1 MiB chunks of fresh memory until refused; the
 *                  host's OOM killer must never be the one to act
 *   bombs mmap     one huge mapping, then touching it page by page
 *   bombs threads  create threads until refused (thread bomb)
 *   bombs fork     fork until refused, every child forking too (fork bomb)
 * Prints progress lines; exits 0 after a refusal (ENOMEM / EAGAIN).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

int main(int argc, char **argv)
{
	const char *a = argc > 1 ? argv[1] : "";
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(a, "memory")) {
		for (long mb = 1;; mb++) {
			char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED) {
				printf("REFUSED after %ld MiB errno=%d\n", mb - 1, errno);
				return 0;
			}
			memset(p, 0xa5, 1 << 20);
			if (mb % 64 == 0)
				printf("TOUCHED %ld MiB\n", mb);
		}
	}
	if (!strcmp(a, "mmap")) {
		size_t n = (size_t)64 << 30;
		char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED) {
			printf("REFUSED 64 GiB mapping errno=%d\n", errno);
			return 0;
		}
		for (size_t off = 0; off < n; off += 4096) {
			p[off] = 1;
			if (off % (64 << 20) == 0)
				printf("TOUCHED %zu MiB\n", off >> 20);
		}
		printf("TOUCHED all 64 GiB\n");
		return 1;
	}
	if (!strcmp(a, "threads")) {
		for (int n = 0;; n++) {
			pthread_t t;
			pthread_attr_t at;
			pthread_attr_init(&at);
			pthread_attr_setstacksize(&at, 64 << 10);
			int e = pthread_create(&t, &at, sleeper, NULL);
			if (e) {
				printf("REFUSED after %d threads errno=%d\n", n, e);
				return 0;
			}
		}
	}
	if (!strcmp(a, "fork")) {
		/* Every process forks until refused, then waits: a tree bounded
		 * only by the limit. The first refusal seen by pid 1 ends it. */
		pid_t top = getpid();
		for (int n = 0;; n++) {
			pid_t c = fork();
			if (c < 0) {
				if (getpid() == top) {
					printf("REFUSED fork errno=%d\n", errno);
					return 0;
				}
				pause();
			}
			if (c == 0)
				continue;
		}
	}
	fprintf(stderr, "bombs: unknown mode %s\n", a);
	return 2;
}
