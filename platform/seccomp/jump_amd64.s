#include "textflag.h"

// func stubJump(addr uintptr)
//
// Jumps to the stub code page in a freshly cloned child. It never returns: the
// stub unmaps everything but its own page, including this code.
TEXT ·stubJump(SB),NOSPLIT|NOFRAME,$0-8
	MOVQ addr+0(FP), AX
	JMP AX
