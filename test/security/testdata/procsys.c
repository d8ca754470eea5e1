/* procsys: writes to kernel tunables through /proc/sys and /sys, the
 * routes of the classic privileged-container escapes: core_pattern (a
 * pipe to a program the host kernel runs as root), uevent_helper, the
 * cgroup v1 release_agent (CVE-2022-0492), sysrq-trigger, and plain
 * tunables. Prints "WROTE path" for a write that went through, "DENIED
 * path errno" otherwise; the test checks the host values too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *paths[] = {
	"/proc/sys/kernel/core_pattern",
	"/proc/sys/kernel/hostname",
	"/proc/sys/kernel/modprobe",
	"/proc/sys/vm/overcommit_memory",
	"/proc/sys/net/ipv4/ip_forward",
	"/proc/sysrq-trigger",
	"/sys/kernel/uevent_helper",
	"/sys/fs/cgroup/release_agent",
	"/sys/fs/cgroup/cgroup.procs",
	"/sys/kernel/mm/transparent_hugepage/enabled",
	"/sys/devices/system/cpu/cpu0/online",
	NULL,
};

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	for (const char **p = paths; *p; p++) {
		const char *v = strstr(*p, "core_pattern") ? "|/tmp/pwn %p" : strstr(*p, "sysrq") ? "h" : "1";
		int fd = open(*p, O_WRONLY);
		if (fd < 0) {
			printf("DENIED %s errno=%d\n", *p, errno);
			continue;
		}
		if (write(fd, v, strlen(v)) < 0)
			printf("DENIED %s (write) errno=%d\n", *p, errno);
		else
			printf("WROTE %s\n", *p);
		close(fd);
	}
	return 0;
}
