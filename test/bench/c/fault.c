//go:build ignore

/*
 * fault.c - the cost of a first touch of anonymous memory.
 *
 * Maps PAGES pages (argv[1], default 16384: 64 MiB) of anonymous private
 * memory, writes one byte to each page in order, timing the loop alone with
 * clock_gettime(CLOCK_MONOTONIC), and prints the mean cost per page as
 * "<ns> ns/page". Each write is the first touch of its page, so the cost
 * is the page fault (or, in a kernel that populates ahead, its share of
 * one).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

int main(int argc, char **argv) {
	long pages = 16384;
	if (argc > 1) {
		char *end;
		pages = strtol(argv[1], &end, 10);
		if (*argv[1] == '\0' || *end != '\0' || pages <= 0) {
			fprintf(stderr, "usage: %s [PAGES > 0]\n", argv[0]);
			return 2;
		}
	}
	volatile char *p = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	struct timespec start, end;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (long i = 0; i < pages; i++)
		p[i * 4096] = 1;
	clock_gettime(CLOCK_MONOTONIC, &end);
	for (long i = 0; i < pages; i++)
		if (p[i * 4096] != 1) {
			fprintf(stderr, "page %ld lost its byte\n", i);
			return 1;
		}
	double ns = (double)(end.tv_sec - start.tv_sec) * 1e9 + (double)(end.tv_nsec - start.tv_nsec);
	printf("%.3f ns/page\n", ns / (double)pages);
	return 0;
}
