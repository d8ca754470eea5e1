//go:build ignore

/*
 * pipe.c - the cost of a round trip between two processes over pipes.
 *
 * Forks a child connected to the parent by two pipes, one each way. The
 * parent writes one byte to the child, which writes one byte back; this
 * round trip is done once untimed (so the child is running), then
 * ROUND_TRIPS times (argv[1], default 1000) timed with
 * clock_gettime(CLOCK_MONOTONIC). The mean cost of one round trip is printed
 * as "<us> us/round trip" on standard output. The child exits when it reads
 * end of file, and the parent checks that it exited with status 0. The bench
 * program builds it with gcc -O2 -static and runs it natively and under sbx.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* xread reads one byte from fd, retrying on EINTR. It returns 1, 0 at end of
 * file, or -1 on error. */
static int xread(int fd, char *c) {
	for (;;) {
		ssize_t n = read(fd, c, 1);
		if (n >= 0 || errno != EINTR) {
			return (int)n;
		}
	}
}

/* xwrite writes one byte to fd, retrying on EINTR. It returns 1 or -1. */
static int xwrite(int fd, char c) {
	for (;;) {
		ssize_t n = write(fd, &c, 1);
		if (n >= 0 || errno != EINTR) {
			return (int)n;
		}
	}
}

/* roundTrip sends one byte on out and reads one back from in; it returns 0,
 * or -1 after printing why it failed. */
static int roundTrip(int out, int in) {
	char c = 'p';
	if (xwrite(out, c) != 1) {
		perror("write to child");
		return -1;
	}
	int n = xread(in, &c);
	if (n != 1) {
		if (n == 0) {
			fprintf(stderr, "read from child: unexpected end of file\n");
		} else {
			perror("read from child");
		}
		return -1;
	}
	return 0;
}

int main(int argc, char **argv) {
	long roundTrips = 1000;
	if (argc > 1) {
		char *end;
		roundTrips = strtol(argv[1], &end, 10);
		if (*argv[1] == '\0' || *end != '\0' || roundTrips <= 0) {
			fprintf(stderr, "usage: %s [ROUND_TRIPS > 0]\n", argv[0]);
			return 2;
		}
	}

	int toChild[2], toParent[2];
	if (pipe(toChild) != 0 || pipe(toParent) != 0) {
		perror("pipe");
		return 1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		close(toChild[1]);
		close(toParent[0]);
		char c;
		int n;
		while ((n = xread(toChild[0], &c)) == 1) {
			if (xwrite(toParent[1], c) != 1) {
				perror("child: write");
				_exit(1);
			}
		}
		if (n < 0) {
			perror("child: read");
			_exit(1);
		}
		_exit(0);
	}
	close(toChild[0]);
	close(toParent[1]);

	if (roundTrip(toChild[1], toParent[0]) != 0) {
		return 1;
	}
	struct timespec start, end;
	if (clock_gettime(CLOCK_MONOTONIC, &start) != 0) {
		perror("clock_gettime");
		return 1;
	}
	for (long i = 0; i < roundTrips; i++) {
		if (roundTrip(toChild[1], toParent[0]) != 0) {
			return 1;
		}
	}
	if (clock_gettime(CLOCK_MONOTONIC, &end) != 0) {
		perror("clock_gettime");
		return 1;
	}

	close(toChild[1]); /* the child reads end of file and exits */
	int status;
	if (waitpid(pid, &status, 0) != pid) {
		perror("waitpid");
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "child ended with status %#x\n", status);
		return 1;
	}

	double us = (double)(end.tv_sec - start.tv_sec) * 1e6 +
		    (double)(end.tv_nsec - start.tv_nsec) / 1e3;
	printf("%.3f us/round trip\n", us / (double)roundTrips);
	return 0;
}
