/* fsescape: tries every path the sandbox might leak a host file through and
 * reports what it could open, for the test to compare with host secrets.
 * Usage: fsescape HOST_SECRET REL_FROM_BIND HOST_PID
 *   HOST_SECRET    absolute host path of a file outside every bind mount
 *   REL_FROM_BIND  the same file, relative to the host dir bound at /bind
 *   HOST_PID       a host pid (the test's own)
 * Prints "OPENED path len=N fnv=X" for each file it could read, "LEAKEDFD n"
 * for an inherited descriptor, "CWD dir"; the test decides.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint32_t fnv(const char *b, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)b[i]) * 16777619u;
	return h;
}

static void report(const char *what, int fd)
{
	static char buf[1 << 16];
	if (fd < 0) {
		printf("DENIED %s errno=%d\n", what, errno);
		return;
	}
	ssize_t n = read(fd, buf, sizeof buf);
	if (n < 0)
		printf("UNREADABLE %s errno=%d\n", what, errno);
	else
		printf("OPENED %s len=%zd fnv=%08x\n", what, n, fnv(buf, n));
	close(fd);
}

static void try(const char *path) { report(path, open(path, O_RDONLY)); }

static void tryf(const char *fmt, const char *a, const char *b)
{
	char p[4096];
	snprintf(p, sizeof p, fmt, a, b);
	try(p);
}

static const char *up = "../../../../../../../../../../../..";

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: fsescape HOST_SECRET REL_FROM_BIND HOST_PID\n");
		return 2;
	}
	const char *secret = argv[1], *rel = argv[2], *hostpid = argv[3];
	char p[4096];
	setvbuf(stdout, NULL, _IONBF, 0);

	/* CVE-2024-21626 (runc "Leaky Vessels"): a host FD or working
	 * directory leaked into the container; openat() or fchdir() through
	 * it, or /proc/self/fd/N, /proc/self/cwd, reach the host. */
	for (int fd = 3; fd <= 100; fd++) {
		if (fcntl(fd, F_GETFD) >= 0) {
			printf("LEAKEDFD %d\n", fd);
			report("openat(leaked fd, basename of secret)", openat(fd, strrchr(secret, '/') + 1, O_RDONLY));
			snprintf(p, sizeof p, "%s/%s", up, secret);
			report("openat(leaked fd, ../..secret)", openat(fd, p, O_RDONLY));
		}
	}
	if (getcwd(p, sizeof p))
		printf("CWD %s\n", p);
	else
		printf("CWD unreachable errno=%d\n", errno);
	try("token");
	try("/proc/self/cwd/token");
	tryf("/proc/self/cwd/%s/%s", up, secret);
	for (int fd = 3; fd <= 100; fd++) {
		snprintf(p, sizeof p, "/proc/self/fd/%d/token", fd);
		try(p);
	}

	/* Directory traversal out of a bind mount with "..": the host path
	 * of the secret relative to the bound dir, and plenty of "..". */
	tryf("/bind/%s%s", rel, "");
	tryf("/bind/%s%s", up, secret);
	int bind = open("/bind", O_RDONLY | O_DIRECTORY);
	report("openat(/bind, rel)", openat(bind, rel, O_RDONLY));
	snprintf(p, sizeof p, "%s%s", up, secret);
	report("openat(/bind, ../..secret)", openat(bind, p, O_RDONLY));

	/* Symlinks planted in the bind dir by the host side, resolved by
	 * the sandbox: absolute (to the host secret and /etc/shadow),
	 * relative (climbing out of the bind dir), and to a directory. */
	try("/bind/abs_secret");
	try("/bind/abs_shadow");
	try("/bind/rel_secret");
	try("/bind/dir_link/token");
	report("openat(/bind, abs_secret)", openat(bind, "abs_secret", O_RDONLY));
	/* Symlinks made inside the sandbox, in the bind dir (so on the host). */
	symlink(secret, "/bind/in_abs");
	symlink("/etc/shadow", "/bind/in_shadow");
	try("/bind/in_abs");
	try("/bind/in_shadow");

	/* A control: the sandbox's own root is readable, so a leak would
	 * have been seen. */
	try("/etc/marker");
	try("/proc/self/root/etc/marker");

	/* The secret and the host's /etc/shadow by their host paths: the
	 * sandbox's root is its own. */
	try(secret);
	try("/etc/shadow");

	/* /proc magic links: /proc/self/root and /proc/1/root (runc-style
	 * escapes through a process's root), then a host pid's. */
	tryf("/proc/self/root%s%s", secret, "");
	tryf("/proc/self/root/%s%s", up, secret);
	tryf("/proc/1/root%s%s", secret, "");
	tryf("/proc/1/root/%s%s", up, secret);
	try("/proc/self/root/etc/shadow");
	try("/proc/1/root/etc/shadow");
	tryf("/proc/%s/root%s", hostpid, secret);
	tryf("/proc/%s/cwd/%s", hostpid, "token");
	tryf("/proc/%s/root/etc/shadow%s", hostpid, "");
	tryf("/proc/%s/environ%s", hostpid, "");
	tryf("/proc/%s/mem%s", hostpid, "");

	/* Every /proc/<pid>/fd link of every process the sandbox can see. */
	DIR *proc = opendir("/proc");
	struct dirent *e;
	while (proc && (e = readdir(proc))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		char fds[300];
		snprintf(fds, sizeof fds, "/proc/%s/fd", e->d_name);
		DIR *d = opendir(fds);
		struct dirent *f;
		while (d && (f = readdir(d))) {
			if (f->d_name[0] == '.')
				continue;
			char link[600], target[4096];
			snprintf(link, sizeof link, "%s/%s", fds, f->d_name);
			ssize_t n = readlink(link, target, sizeof target - 1);
			target[n < 0 ? 0 : n] = 0;
			printf("FDLINK %s -> %s\n", link, target);
			int fd = open(link, O_RDONLY | O_NONBLOCK);
			if (fd >= 0 && strncmp(target, "/bind", 5) && strncmp(target, "/proc", 5) && target[0] == '/') {
				report(link, fd);
				continue;
			}
			if (fd >= 0)
				close(fd);
		}
		if (d)
			closedir(d);
	}
	return 0;
}
