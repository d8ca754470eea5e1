/* Forks 200 children that sleep, counting successes and EAGAIN failures,
 * then reaps them. */
#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  int ok = 0, eagain = 0;
  for (int i = 0; i < 200; i++) {
    pid_t p = fork();
    if (p == 0) {
      sleep(1);
      _exit(0);
    }
    if (p < 0 && errno == EAGAIN) eagain++;
    if (p > 0) ok++;
  }
  printf("forked=%d eagain=%d\n", ok, eagain);
  while (wait(0) > 0) {
  }
  return 0;
}
