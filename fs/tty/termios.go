package tty

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// Termios is the kernel's struct termios (asm-generic/termbits.h): the
// layout of TCGETS and TCSETS, 36 bytes on x86-64.
type Termios struct {
	Iflag, Oflag, Cflag, Lflag uint32
	Line                       uint8
	Cc                         [19]uint8
}

// termiosSize and termios2Size are the sizes of struct termios and struct
// termios2 (which adds the input and output speeds).
const (
	termiosSize  = 36
	termios2Size = 44
)

// Indexes of the control characters in Cc.
const (
	vINTR    = unix.VINTR
	vQUIT    = unix.VQUIT
	vERASE   = unix.VERASE
	vKILL    = unix.VKILL
	vEOF     = unix.VEOF
	vTIME    = unix.VTIME
	vMIN     = unix.VMIN
	vSTART   = unix.VSTART
	vSTOP    = unix.VSTOP
	vSUSP    = unix.VSUSP
	vEOL     = unix.VEOL
	vREPRINT = unix.VREPRINT
	vWERASE  = unix.VWERASE
	vLNEXT   = unix.VLNEXT
	vEOL2    = unix.VEOL2
)

// defaultTermios is what a new pseudo-terminal starts with, as Linux's
// tty_std_termios for a pty replica: canonical mode with echo and signals,
// CR to NL on input, NL to CR-NL on output, 38400 baud, 8 bits.
func defaultTermios() Termios {
	t := Termios{
		Iflag: unix.ICRNL | unix.IXON,
		Oflag: unix.OPOST | unix.ONLCR,
		Cflag: unix.B38400 | unix.CS8 | unix.CREAD,
		Lflag: unix.ISIG | unix.ICANON | unix.ECHO | unix.ECHOE | unix.ECHOK |
			unix.ECHOCTL | unix.ECHOKE | unix.IEXTEN,
	}
	// ^C ^\ DEL ^U ^D, TIME 0, MIN 1, SWTC 0, ^Q ^S ^Z, EOL 0, ^R ^O ^W ^V, EOL2 0.
	copy(t.Cc[:], []byte{3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0})
	return t
}

// marshal encodes t in the kernel layout; with speeds it is a termios2.
func (t *Termios) marshal(speeds bool) []byte {
	n := termiosSize
	if speeds {
		n = termios2Size
	}
	b := make([]byte, n)
	binary.LittleEndian.PutUint32(b[0:], t.Iflag)
	binary.LittleEndian.PutUint32(b[4:], t.Oflag)
	binary.LittleEndian.PutUint32(b[8:], t.Cflag)
	binary.LittleEndian.PutUint32(b[12:], t.Lflag)
	b[16] = t.Line
	copy(b[17:36], t.Cc[:])
	if speeds {
		binary.LittleEndian.PutUint32(b[36:], 38400)
		binary.LittleEndian.PutUint32(b[40:], 38400)
	}
	return b
}

// unmarshal decodes the kernel layout (the speeds of a termios2 are not
// kept: a pseudo-terminal has no line speed).
func (t *Termios) unmarshal(b []byte) {
	t.Iflag = binary.LittleEndian.Uint32(b[0:])
	t.Oflag = binary.LittleEndian.Uint32(b[4:])
	t.Cflag = binary.LittleEndian.Uint32(b[8:])
	t.Lflag = binary.LittleEndian.Uint32(b[12:])
	t.Line = b[16]
	copy(t.Cc[:], b[17:36])
}

func (t *Termios) iflag(f uint32) bool { return t.Iflag&f != 0 }
func (t *Termios) oflag(f uint32) bool { return t.Oflag&f != 0 }
func (t *Termios) lflag(f uint32) bool { return t.Lflag&f != 0 }

// isCC reports whether c is the control character at index i (a disabled
// character, _POSIX_VDISABLE = 0, matches nothing).
func (t *Termios) isCC(c byte, i int) bool { return t.Cc[i] != 0 && t.Cc[i] == c }

// Winsize is struct winsize (TIOCGWINSZ).
type Winsize struct {
	Row, Col, Xpixel, Ypixel uint16
}

func (w Winsize) marshal() []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint16(b[0:], w.Row)
	binary.LittleEndian.PutUint16(b[2:], w.Col)
	binary.LittleEndian.PutUint16(b[4:], w.Xpixel)
	binary.LittleEndian.PutUint16(b[6:], w.Ypixel)
	return b
}

func (w *Winsize) unmarshal(b []byte) {
	w.Row = binary.LittleEndian.Uint16(b[0:])
	w.Col = binary.LittleEndian.Uint16(b[2:])
	w.Xpixel = binary.LittleEndian.Uint16(b[4:])
	w.Ypixel = binary.LittleEndian.Uint16(b[6:])
}
