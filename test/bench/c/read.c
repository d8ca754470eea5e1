//go:build ignore

/*
 * read.c - sequential read throughput of one file.
 *
 * Reads FILE (argv[1]) from start to end with read() calls of 1 MiB into one
 * buffer, timing the loop alone with clock_gettime(CLOCK_MONOTONIC), and
 * prints the throughput as "<MB/s> MB/s <bytes> bytes" on standard output,
 * where 1 MB is 10^6 bytes. The bench program builds it with gcc -O2 -static
 * and runs it natively and under sbx on a file it made in a host directory
 * bound into the sandbox.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1 << 20)

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		perror("fstat");
		return 1;
	}
	char *buf = malloc(CHUNK);
	if (buf == NULL) {
		perror("malloc");
		return 1;
	}
	/* Fault the buffer in before timing, so the loop measures read() alone. */
	memset(buf, 1, CHUNK);

	struct timespec start, end;
	if (clock_gettime(CLOCK_MONOTONIC, &start) != 0) {
		perror("clock_gettime");
		return 1;
	}
	long long total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, CHUNK);
		if (n < 0) {
			perror("read");
			return 1;
		}
		if (n == 0) {
			break;
		}
		total += n;
	}
	if (clock_gettime(CLOCK_MONOTONIC, &end) != 0) {
		perror("clock_gettime");
		return 1;
	}
	if (total != (long long)st.st_size || total == 0) {
		fprintf(stderr, "read %lld bytes of a %lld-byte file\n", total,
			(long long)st.st_size);
		return 1;
	}

	double s = (double)(end.tv_sec - start.tv_sec) +
		   (double)(end.tv_nsec - start.tv_nsec) / 1e9;
	if (s <= 0) {
		fprintf(stderr, "the loop took no measurable time\n");
		return 1;
	}
	printf("%.1f MB/s %lld bytes\n", (double)total / 1e6 / s, total);
	return 0;
}
