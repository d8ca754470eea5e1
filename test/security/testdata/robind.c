/* robind: writes to a read-only bind mount (-v HOST:/ro:ro), by every
 * route that modifies a directory or file: the host dir must not change.
 * Prints "MODIFIED what" for a call that succeeded, "DENIED what errno".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/mman.h>
#include <sys/xattr.h>
#include <unistd.h>

static void check(const char *what, long r)
{
	if (r < 0)
		printf("DENIED %s errno=%d\n", what, errno);
	else
		printf("MODIFIED %s\n", what);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	check("open O_CREAT new file", open("/ro/new", O_WRONLY | O_CREAT, 0644));
	check("open O_WRONLY existing", open("/ro/file", O_WRONLY));
	check("open O_RDWR existing", open("/ro/file", O_RDWR));
	check("open O_TRUNC existing", open("/ro/file", O_RDONLY | O_TRUNC));
	check("truncate", truncate("/ro/file", 0));
	check("unlink", unlink("/ro/file"));
	check("rename", rename("/ro/file", "/ro/renamed"));
	check("rename out", rename("/ro/file", "/tmp/stolen"));
	check("mkdir", mkdir("/ro/dir", 0755));
	check("rmdir", rmdir("/ro/sub"));
	check("chmod", chmod("/ro/file", 0777));
	check("chown", chown("/ro/file", 1, 1));
	check("utimes", utimes("/ro/file", NULL));
	check("symlink", symlink("/etc/passwd", "/ro/link"));
	check("link", link("/ro/file", "/ro/hard"));
	check("mknod fifo", mknod("/ro/fifo", S_IFIFO | 0644, 0));
	check("setxattr", setxattr("/ro/file", "user.x", "1", 1, 0));
	int fd = open("/ro/file", O_RDONLY);
	check("fchmod on read-only fd", fchmod(fd, 0777));
	check("ftruncate on read-only fd", ftruncate(fd, 0));
	check("fallocate on read-only fd", fallocate(fd, 0, 0, 4096));
	/* A shared writable mapping of a read-only file. */
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check("mmap MAP_SHARED PROT_WRITE", m == MAP_FAILED ? -1 : 0);
	/* Reopening the read-only fd for writing through /proc. */
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	check("reopen via /proc/self/fd O_WRONLY", open(p, O_WRONLY));
	return 0;
}
