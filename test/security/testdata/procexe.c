/* procexe: CVE-2019-5736 (runc): a container process opens /proc/self/exe
 * (or the runtime's binary seen through /proc/<pid>/exe), reopens it for
 * writing through /proc/self/fd/N once it is not busy, and overwrites the
 * host's runtime binary. Here: every route to writing our own executable
 * and the sbx binary, by each path given in argv (its host path, which the
 * sandbox sees in the host's / read-only underneath, so a write must stay
 * in the sandbox; and a bind mount of the dir holding the running copy).
 * Prints "WROTE what" for a write that succeeded (the test then checks the
 * host files' hashes) and "DENIED what errno" otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char payload[] = "#!/bin/sh\necho pwned by CVE-2019-5736\n";

static void attempt(const char *what, const char *path, int flags)
{
	int fd = open(path, flags);
	if (fd < 0) {
		printf("DENIED %s errno=%d\n", what, errno);
		return;
	}
	if (write(fd, payload, sizeof payload - 1) < 0)
		printf("DENIED %s (write) errno=%d\n", what, errno);
	else
		printf("WROTE %s\n", what);
	close(fd);
}

static void via_fd(const char *what, const char *path, int flags)
{
	char p[64];
	int o = open(path, O_PATH);
	if (o < 0) {
		printf("DENIED %s (O_PATH) errno=%d\n", what, errno);
		return;
	}
	snprintf(p, sizeof p, "/proc/self/fd/%d", o);
	attempt(what, p, flags);
	close(o);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	attempt("open /proc/self/exe O_WRONLY", "/proc/self/exe", O_WRONLY);
	attempt("open /proc/self/exe O_RDWR", "/proc/self/exe", O_RDWR);
	via_fd("/proc/self/fd of /proc/self/exe O_WRONLY", "/proc/self/exe", O_WRONLY);
	attempt("open own path O_WRONLY", argv[0], O_WRONLY);

	/* The runc sequence: a child holds an O_PATH descriptor to the
	 * parent's executable and waits for the parent to be gone, then
	 * opens it for writing through /proc/self/fd. */
	int o = open("/proc/self/exe", O_PATH);
	pid_t c = fork();
	if (c == 0) {
		char p[64];
		usleep(200000);
		snprintf(p, sizeof p, "/proc/self/fd/%d", o);
		attempt("O_PATH /proc/self/exe held by a child, O_WRONLY|O_TRUNC", p, O_WRONLY | O_TRUNC);
		_exit(0);
	}
	/* The sbx binary. */
	for (int i = 1; i < argc; i++) {
		char what[4200];
		snprintf(what, sizeof what, "sbx binary %s O_WRONLY|O_TRUNC", argv[i]);
		attempt(what, argv[i], O_WRONLY | O_TRUNC);
		snprintf(what, sizeof what, "sbx binary %s via /proc/self/fd O_WRONLY", argv[i]);
		via_fd(what, argv[i], O_WRONLY);
	}
	int st;
	waitpid(c, &st, 0);
	return 0;
}
