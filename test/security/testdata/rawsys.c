/* rawsys: privileged and network system calls a container escape reaches
 * for, made with raw syscall instructions (raw.h). Each must fail inside the
 * sandbox with an errno of sbx's own, never one the host kernel would give
 * (which would mean the call reached it). Usage: rawsys ATTACK [ARG].
 * Prints "BLOCKED attack errno=N" and exits 0, or "ESCAPED ..." and exits 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include "raw.h"

static int verdict(const char *what, long ret, const int *allowed)
{
	if (ret >= 0) {
		printf("ESCAPED %s: returned %ld\n", what, ret);
		return 1;
	}
	for (; *allowed; allowed++)
		if (-ret == *allowed) {
			printf("BLOCKED %s errno=%ld (%s)\n", what, -ret, strerror(-ret));
			return 0;
		}
	printf("ESCAPED %s: errno %ld (%s) is not sbx's answer: the host kernel saw the call?\n",
	       what, -ret, strerror(-ret));
	return 1;
}

/* A socket attempt also tries to reach the host: connect to a listener the
 * test opened on 127.0.0.1:port (the test checks nothing arrived). */
static int sock(const char *what, int family, int type, int proto, int port)
{
	static const int ok[] = {EAFNOSUPPORT, EPROTONOSUPPORT, ESOCKTNOSUPPORT, EPERM, EACCES, ENOSYS, EINVAL, 0};
	long fd = raw(SYS_socket, family, type, proto);
	if (fd < 0)
		return verdict(what, fd, ok);
	if (family == AF_INET && port > 0) {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		long r = raw(SYS_connect, fd, &sa, sizeof sa);
		printf("ESCAPED %s: socket %ld created, connect to host port %d: %ld\n", what, fd, port, r);
		return 1;
	}
	printf("ESCAPED %s: socket %ld created\n", what, fd);
	return 1;
}

int main(int argc, char **argv)
{
	const char *a = argc > 1 ? argv[1] : "";
	const char *arg = argc > 2 ? argv[2] : "";
	setvbuf(stdout, NULL, _IONBF, 0);

	if (!strcmp(a, "mount")) {
		/* Mounting over a host path (the classic privileged-container
		 * escape: mount the host's disk or a tmpfs over a host dir). */
		static const int ok[] = {ENOSYS, EPERM, 0};
		return verdict("mount tmpfs", raw6(SYS_mount, (long)"none", (long)arg, (long)"tmpfs", 0, (long)"", 0), ok);
	}
	if (!strcmp(a, "umount")) {
		/* Unmounting the sandbox's own /proc to reach what is below. */
		static const int ok[] = {ENOSYS, EPERM, 0};
		return verdict("umount2 /proc", raw(SYS_umount2, "/proc", 2 /* MNT_DETACH */, 0), ok);
	}
	if (!strcmp(a, "ptrace")) {
		/* PTRACE_ATTACH to a host process (the pid is the host's), to
		 * inject code into it: the attack ptrace-based sandboxes fear. */
		static const int ok[] = {ESRCH, EPERM, ENOSYS, 0};
		int r = verdict("ptrace attach host pid", raw(SYS_ptrace, 16 /* PTRACE_ATTACH */, atoi(arg), 0), ok);
		static const int ok2[] = {ESRCH, EPERM, ENOSYS, EINVAL, 0};
		r |= verdict("ptrace seize host pid", raw6(SYS_ptrace, 0x4206 /* PTRACE_SEIZE */, atoi(arg), 0, 0, 0, 0), ok2);
		return r;
	}
	if (!strcmp(a, "process_vm")) {
		/* process_vm_readv of a host pid: reading another process's
		 * memory without ptrace. */
		static const int ok[] = {ESRCH, EPERM, ENOSYS, 0};
		char buf[16];
		struct { void *b; size_t n; } local = {buf, sizeof buf}, remote = {(void *)0x400000, sizeof buf};
		return verdict("process_vm_readv host pid",
			       raw6(SYS_process_vm_readv, atoi(arg), (long)&local, 1, (long)&remote, 1, 0), ok);
	}
	if (!strcmp(a, "kexec")) {
		/* kexec_load: replacing the running host kernel. Zero segments
		 * would unload a loaded image on the host, harmlessly. */
		static const int ok[] = {ENOSYS, EPERM, 0};
		return verdict("kexec_load", raw6(SYS_kexec_load, 0, 0, 0, 0, 0, 0), ok);
	}
	if (!strcmp(a, "init_module")) {
		/* init_module: loading a kernel module into the host (the
		 * rootkit route out of a CAP_SYS_MODULE container). The image is
		 * garbage, so a host kernel would say ENOEXEC or EINVAL. */
		static const int ok[] = {ENOSYS, EPERM, 0};
		static char image[64] = "\177ELF not a module";
		int r = verdict("init_module", raw(SYS_init_module, image, sizeof image, ""), ok);
		r |= verdict("finit_module", raw(SYS_finit_module, 0, "", 0), ok);
		return r;
	}
	if (!strcmp(a, "reboot")) {
		/* reboot(2) from a container: CAD_OFF is the harmless command
		 * (host root would get 0 back). */
		static const int ok[] = {ENOSYS, EPERM, 0};
		return verdict("reboot CAD_OFF", raw6(SYS_reboot, 0xfee1dead, 672274793, 0 /* CAD_OFF */, 0, 0, 0), ok);
	}
	if (!strcmp(a, "bpf")) {
		/* bpf(2): the verifier is a large kernel attack surface. */
		static const int ok[] = {ENOSYS, EPERM, 0};
		char attr[128] = {0};
		return verdict("bpf BPF_MAP_CREATE", raw(SYS_bpf, 0, attr, sizeof attr), ok);
	}
	if (!strcmp(a, "unshare")) {
		/* A new user namespace: the first step of many kernel exploits
		 * from unprivileged code. */
		static const int ok[] = {ENOSYS, EPERM, EINVAL, 0};
		return verdict("unshare CLONE_NEWUSER|CLONE_NEWNS", raw(SYS_unshare, 0x10000000 | 0x00020000, 0, 0), ok);
	}
	if (!strcmp(a, "int80")) {
		/* The 32-bit system call gate (int 0x80), which a filter written
		 * for x86-64 numbers can miss: i386 getpid (20) answered by the
		 * host kernel would return the stub's host pid. Run in a child,
		 * which may be killed for it. */
		pid_t c = fork();
		if (c == 0) {
			long ret;
			__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
			printf("int 0x80 getpid returned %ld (getpid: %d)\n", ret, getpid());
			_exit(ret > 0 && ret != getpid() ? 1 : 0);
		}
		int st;
		if (c < 0 || waitpid(c, &st, 0) != c) {
			printf("ESCAPED? fork/wait failed\n");
			return 1;
		}
		if (WIFEXITED(st) && WEXITSTATUS(st) == 1) {
			printf("ESCAPED int 0x80 reached the host kernel\n");
			return 1;
		}
		printf("BLOCKED int 0x80 (child %s %d)\n", WIFSIGNALED(st) ? "killed by signal" : "exited", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		return 0;
	}
	if (!strcmp(a, "raw_packet"))
		/* AF_PACKET raw socket: sniff or inject host frames. */
		return sock("socket AF_PACKET SOCK_RAW", AF_PACKET, SOCK_RAW, htons(ETH_P_ALL), 0);
	if (!strcmp(a, "raw_inet"))
		/* AF_INET SOCK_RAW: forge IP packets on the host network. */
		return sock("socket AF_INET SOCK_RAW", AF_INET, SOCK_RAW, IPPROTO_ICMP, 0);
	if (!strcmp(a, "inet_tcp"))
		/* The sandbox has no network: a TCP socket to a host service. */
		return sock("socket AF_INET SOCK_STREAM", AF_INET, SOCK_STREAM, 0, atoi(arg));
	if (!strcmp(a, "inet_udp"))
		return sock("socket AF_INET SOCK_DGRAM", AF_INET, SOCK_DGRAM, 0, 0);
	if (!strcmp(a, "inet6"))
		return sock("socket AF_INET6 SOCK_STREAM", AF_INET6, SOCK_STREAM, 0, 0);
	if (!strcmp(a, "netlink"))
		/* Netlink: reconfiguring host interfaces and routes. */
		return sock("socket AF_NETLINK NETLINK_ROUTE", AF_NETLINK, SOCK_RAW, 0, 0);
	fprintf(stderr, "rawsys: unknown attack %s\n", a);
	return 2;
}
