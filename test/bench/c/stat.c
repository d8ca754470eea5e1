//go:build ignore

/*
 * stat.c - the cost of walking a directory tree and stat()ing each file.
 *
 * Walks the tree under DIR (argv[1]) with opendir/readdir, recursing into
 * directories and calling stat() on every other entry by its path, timing
 * the whole walk with clock_gettime(CLOCK_MONOTONIC). Prints
 * "<ms> ms <files> files" on standard output. If EXPECTED (argv[2]) is given,
 * it fails unless exactly that many regular files were found. The bench
 * program builds it with gcc -O2 -static and runs it natively and under sbx
 * on a tree it made in a host directory bound into the sandbox.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* walk adds the regular files under dir to *files; it returns 0, or -1 after
 * printing why it failed. */
static int walk(const char *dir, long *files) {
	DIR *d = opendir(dir);
	if (d == NULL) {
		perror(dir);
		return -1;
	}
	struct dirent *de;
	char path[4096];
	int ret = 0;
	while (ret == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
			continue;
		}
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >=
		    sizeof path) {
			fprintf(stderr, "%s/%s: path too long\n", dir, de->d_name);
			ret = -1;
			break;
		}
		if (de->d_type == DT_DIR) {
			ret = walk(path, files);
			continue;
		}
		struct stat st;
		if (stat(path, &st) != 0) {
			perror(path);
			ret = -1;
			break;
		}
		if (S_ISDIR(st.st_mode)) { /* d_type was DT_UNKNOWN */
			ret = walk(path, files);
		} else if (S_ISREG(st.st_mode)) {
			(*files)++;
		}
	}
	closedir(d);
	return ret;
}

int main(int argc, char **argv) {
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: %s DIR [EXPECTED-FILES]\n", argv[0]);
		return 2;
	}

	struct timespec start, end;
	if (clock_gettime(CLOCK_MONOTONIC, &start) != 0) {
		perror("clock_gettime");
		return 1;
	}
	long files = 0;
	if (walk(argv[1], &files) != 0) {
		return 1;
	}
	if (clock_gettime(CLOCK_MONOTONIC, &end) != 0) {
		perror("clock_gettime");
		return 1;
	}
	if (argc == 3 && files != atol(argv[2])) {
		fprintf(stderr, "found %ld files under %s, expected %s\n", files,
			argv[1], argv[2]);
		return 1;
	}

	double ms = (double)(end.tv_sec - start.tv_sec) * 1e3 +
		    (double)(end.tv_nsec - start.tv_nsec) / 1e6;
	printf("%.3f ms %ld files\n", ms, files);
	return 0;
}
