/* raw.h: system calls made with the syscall instruction itself, not through
 * libc, so no wrapper can filter or rewrite them: each attack reaches
 * whatever handles the instruction (in sbx, the sentry). */
#ifndef RAW_H
#define RAW_H

static inline long raw6(long n, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret; /* -errno on failure */
}

#define raw(n, a, b, c) raw6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)

#endif
