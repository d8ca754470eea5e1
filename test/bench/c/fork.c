//go:build ignore

/*
 * fork.c - the cost of creating a process and reaping it.
 *
 * Runs ITERATIONS times (argv[1], default 200): fork(); the child calls
 * _exit(0) at once; the parent waits for it with waitpid(). The loop alone is
 * timed with clock_gettime(CLOCK_MONOTONIC), and the mean cost of one
 * fork+exit+wait is printed as "<us> us/iter" on standard output. The bench
 * program builds it with gcc -O2 -static and runs it natively and under sbx.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
	long iterations = 200;
	if (argc > 1) {
		char *end;
		iterations = strtol(argv[1], &end, 10);
		if (*argv[1] == '\0' || *end != '\0' || iterations <= 0) {
			fprintf(stderr, "usage: %s [ITERATIONS > 0]\n", argv[0]);
			return 2;
		}
	}
	/* Nothing buffered may be flushed twice by a child. */
	fflush(NULL);

	struct timespec start, end;
	if (clock_gettime(CLOCK_MONOTONIC, &start) != 0) {
		perror("clock_gettime");
		return 1;
	}
	for (long i = 0; i < iterations; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			_exit(0);
		}
		int status;
		if (waitpid(pid, &status, 0) != pid) {
			perror("waitpid");
			return 1;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "child %d ended with status %#x\n", (int)pid,
				status);
			return 1;
		}
	}
	if (clock_gettime(CLOCK_MONOTONIC, &end) != 0) {
		perror("clock_gettime");
		return 1;
	}

	double us = (double)(end.tv_sec - start.tv_sec) * 1e6 +
		    (double)(end.tv_nsec - start.tv_nsec) / 1e3;
	printf("%.3f us/iter\n", us / (double)iterations);
	return 0;
}
