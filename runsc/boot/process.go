package boot

import (
	"os"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// process is a child process started with syscall.ForkExec rather than
// os/exec: the first start in a process through os/exec forks and reaps a
// throwaway child to learn whether pidfds work (0.7 ms here, measured by
// hand), on the path of every sbx start, and opens /dev/null once per
// missing standard stream.
type process struct {
	pid int

	mu sync.RWMutex // guards reaped
	// reaped is set once the process is reaped, after which its pid may
	// name another process and must not be signalled.
	reaped bool
}

// startProcess starts the program path with argv and env. files become the
// child's FDs 0, 1, 2, 3, ...; a nil one among the first three is /dev/null,
// above them it is closed.
func startProcess(path string, argv, env []string, files []*os.File, sys *syscall.SysProcAttr) (*process, error) {
	fds := make([]uintptr, len(files))
	var null *os.File
	for i, f := range files {
		switch {
		case f != nil:
			fds[i] = f.Fd()
		case i < 3:
			if null == nil {
				var err error
				if null, err = os.OpenFile(os.DevNull, os.O_RDWR, 0); err != nil {
					return nil, err
				}
				defer null.Close()
			}
			fds[i] = null.Fd()
		default:
			fds[i] = ^uintptr(0) // closed in the child
		}
	}
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{Env: env, Files: fds, Sys: sys})
	runtime.KeepAlive(files)
	if err != nil {
		return nil, &os.PathError{Op: "fork/exec", Path: path, Err: err}
	}
	return &process{pid: pid}, nil
}

// signal sends s to the process unless it has been reaped.
func (p *process) signal(s syscall.Signal) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.reaped {
		return os.ErrProcessDone
	}
	return syscall.Kill(p.pid, s)
}

// wait waits for the process to exit and reaps it. It is called once.
func (p *process) wait() (syscall.WaitStatus, error) {
	// Wait for the exit without reaping, so that no signal can reach a
	// new process with the same pid: signal holds the lock while it
	// sends.
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, p.pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		break
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reaped = true
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(p.pid, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		return ws, err
	}
}

// shellStatus is the status a shell reports for a process that ended with
// ws: its exit code, or 128 plus the signal that killed it.
func shellStatus(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
