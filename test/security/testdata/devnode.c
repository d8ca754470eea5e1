/* devnode: raw device access through a bind mount, the classic way out of
 * a container that may mknod: create a block or character device node in a
 * host directory bound read-write (/bind), or open one planted there by the
 * host (/bind/host_zero: 1:5, /bind/host_loop: 7:0), so that the host
 * kernel serves the device. Prints "OPENED what" for a device that opened,
 * "MADE what" for a node that was created, "DENIED what errno" otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void node(const char *path, mode_t mode, int maj, int min)
{
	if (mknod(path, mode | 0666, makedev(maj, min)) == 0)
		printf("MADE %s\n", path);
	else
		printf("DENIED mknod %s errno=%d\n", path, errno);
}

static void opendev(const char *path)
{
	int fd = open(path, O_RDWR);
	if (fd < 0)
		fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("DENIED open %s errno=%d\n", path, errno);
		return;
	}
	struct stat st;
	fstat(fd, &st);
	printf("OPENED %s mode=%o\n", path, st.st_mode);
	close(fd);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	node("/bind/mem", S_IFCHR, 1, 1);    /* /dev/mem */
	node("/bind/kmsg", S_IFCHR, 1, 11);  /* /dev/kmsg */
	node("/bind/loop0", S_IFBLK, 7, 0);  /* a loop device */
	node("/bind/sda", S_IFBLK, 8, 0);    /* the first SCSI disk */
	node("/bind/vda", S_IFBLK, 253, 0);  /* the first virtio disk */
	opendev("/bind/mem");
	opendev("/bind/sda");
	opendev("/bind/host_zero");
	opendev("/bind/host_loop");
	return 0;
}
