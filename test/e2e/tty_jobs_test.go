package e2e

import (
	"testing"
	"time"
)

// TestTerminalJobControl: on the sandbox's terminal, ^Z stops bash's
// foreground job, jobs lists it, fg continues it in the foreground and ^C
// then ends it, as with bash on a host terminal.
func TestTerminalJobControl(t *testing.T) {
	p := openHostPTY(t, 24, 80)
	p.start(t, sbxPath(t), "run", "-t", "-e", "PS1=$ ", "-e", "TERM=dumb", "/bin/bash", "--norc", "-i")
	p.waitFor(t, "$ ", 1, 30*time.Second)
	p.typeIn(t, "sleep 100\r")
	time.Sleep(500 * time.Millisecond)
	p.typeIn(t, "\x1a")
	p.waitFor(t, "Stopped", 1, 10*time.Second)
	p.waitFor(t, "$ ", 2, 10*time.Second)
	p.typeIn(t, "jobs\r")
	p.waitFor(t, "Stopped", 2, 10*time.Second)
	p.typeIn(t, "fg\r")
	time.Sleep(500 * time.Millisecond)
	p.typeIn(t, "\x03")
	p.waitFor(t, "$ ", 4, 10*time.Second)
	p.typeIn(t, "echo status=$?\r")
	p.waitFor(t, "status=130", 1, 10*time.Second)
	p.typeIn(t, "exit\r")
}
