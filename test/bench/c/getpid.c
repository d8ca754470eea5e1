//go:build ignore

/*
 * getpid.c - the cost of one trivial system call.
 *
 * Calls syscall(SYS_getpid) ITERATIONS times (argv[1], default 1000000),
 * timing the loop alone with clock_gettime(CLOCK_MONOTONIC), and prints the
 * mean cost as "<ns> ns/call" on standard output. The bench program builds it
 * with gcc -O2 -static and runs it natively and under sbx.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
	long iterations = 1000000;
	if (argc > 1) {
		char *end;
		iterations = strtol(argv[1], &end, 10);
		if (*argv[1] == '\0' || *end != '\0' || iterations <= 0) {
			fprintf(stderr, "usage: %s [ITERATIONS > 0]\n", argv[0]);
			return 2;
		}
	}

	struct timespec start, end;
	if (clock_gettime(CLOCK_MONOTONIC, &start) != 0) {
		perror("clock_gettime");
		return 1;
	}
	long pid = 0;
	for (long i = 0; i < iterations; i++) {
		/* syscall() is opaque to the compiler, so no call is elided. */
		pid |= syscall(SYS_getpid);
	}
	if (clock_gettime(CLOCK_MONOTONIC, &end) != 0) {
		perror("clock_gettime");
		return 1;
	}
	if (pid <= 0) {
		fprintf(stderr, "getpid returned %ld\n", pid);
		return 1;
	}

	double ns = (double)(end.tv_sec - start.tv_sec) * 1e9 +
		    (double)(end.tv_nsec - start.tv_nsec);
	printf("%.3f ns/call\n", ns / (double)iterations);
	return 0;
}
