/* Calls abort(3): the program must die of SIGABRT. */
#include <stdlib.h>

int main(void) { abort(); }
