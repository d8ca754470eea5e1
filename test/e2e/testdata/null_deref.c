/* Prints the answer to an unimplemented syscall number, then writes through
 * a NULL pointer: the program must die of SIGSEGV. */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
  long r = syscall(400); /* no Linux syscall has this number */
  printf("syscall(400) = %ld errno=%d\n", r, errno);
  fflush(stdout);
  *(volatile int *)0 = 1;
  return 0;
}
