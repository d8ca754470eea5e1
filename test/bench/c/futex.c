//go:build ignore

/*
 * futex.c - the cost of a round trip between two threads over futexes.
 *
 * Starts a second thread; the two take turns through two futex words, ping
 * (main thread to peer) and pong (peer to main thread). A side sets the
 * other's word to 1 and wakes it with FUTEX_WAKE_PRIVATE, then waits with
 * FUTEX_WAIT_PRIVATE until its own word is 1 and sets it back to 0. The
 * round trip is done once untimed (so the peer is running), then
 * ROUND_TRIPS times (argv[1], default 1000) timed with
 * clock_gettime(CLOCK_MONOTONIC). The mean cost of one round trip is printed
 * as "<us> us/round trip" on standard output. The bench program builds it
 * with gcc -O2 -static -pthread and runs it natively and under sbx.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static atomic_int ping, pong;
static long roundTrips = 1000;

/* wake wakes one thread waiting on word, if any. */
static void wake(atomic_int *word) {
	if (syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) < 0) {
		perror("futex wake");
		exit(1);
	}
}

/* await waits until word is 1, then sets it back to 0. */
static void await(atomic_int *word) {
	while (atomic_load(word) == 0) {
		if (syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL,
			    0) < 0 &&
		    errno != EAGAIN && errno != EINTR) {
			perror("futex wait");
			exit(1);
		}
	}
	atomic_store(word, 0);
}

/* post sets word to 1 and wakes its waiter. */
static void post(atomic_int *word) {
	atomic_store(word, 1);
	wake(word);
}

static void *peer(void *arg) {
	(void)arg;
	/* One untimed round trip, then the timed ones. */
	for (long i = 0; i <= roundTrips; i++) {
		await(&ping);
		post(&pong);
	}
	return NULL;
}

int main(int argc, char **argv) {
	if (argc > 1) {
		char *end;
		roundTrips = strtol(argv[1], &end, 10);
		if (*argv[1] == '\0' || *end != '\0' || roundTrips <= 0) {
			fprintf(stderr, "usage: %s [ROUND_TRIPS > 0]\n", argv[0]);
			return 2;
		}
	}

	pthread_t t;
	int err = pthread_create(&t, NULL, peer, NULL);
	if (err != 0) {
		fprintf(stderr, "pthread_create: %s\n", strerror(err));
		return 1;
	}
	post(&ping);
	await(&pong);

	struct timespec start, end;
	if (clock_gettime(CLOCK_MONOTONIC, &start) != 0) {
		perror("clock_gettime");
		return 1;
	}
	for (long i = 0; i < roundTrips; i++) {
		post(&ping);
		await(&pong);
	}
	if (clock_gettime(CLOCK_MONOTONIC, &end) != 0) {
		perror("clock_gettime");
		return 1;
	}
	err = pthread_join(t, NULL);
	if (err != 0) {
		fprintf(stderr, "pthread_join: %s\n", strerror(err));
		return 1;
	}

	double us = (double)(end.tv_sec - start.tv_sec) * 1e6 +
		    (double)(end.tv_nsec - start.tv_nsec) / 1e3;
	printf("%.3f us/round trip\n", us / (double)roundTrips);
	return 0;
}
