/* Prints its arguments, one environment variable and a few auxv facts, so a
 * sandboxed run can be compared with a native one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
  const char *v = getenv("SBX_E2E");
  printf("SBX_E2E=%s\n", v ? v : "(unset)");
  printf("pagesz=%lu\n", getauxval(AT_PAGESZ));
  printf("secure=%lu\n", getauxval(AT_SECURE));
  printf("execfn_ok=%d\n", strcmp((const char *)getauxval(AT_EXECFN), argv[0]) == 0);
  unsigned char *r = (unsigned char *)getauxval(AT_RANDOM);
  int nonzero = 0;
  for (int i = 0; i < 16; i++) nonzero |= r[i];
  printf("random_ok=%d\n", nonzero != 0);
  return 0;
}
