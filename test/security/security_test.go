package security

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// requireBlocked checks a testdata program's verdict: it ran to the end
// (status 0), reported at least one blocked attempt and no escape.
func requireBlocked(t *testing.T, r result) {
	t.Helper()
	require.Equal(t, 0, r.status, "stderr: %s", r.stderr)
	require.NotEmpty(t, lines(r.stdout, "BLOCKED"))
	require.Empty(t, lines(r.stdout, "ESCAPED"))
}

// Privileged system calls made with raw syscall instructions (rawsys.c):
// each must get sbx's own refusal, and the host must show no trace of it.
func TestPrivilegedSyscalls(t *testing.T) {
	forEachPlatform(t, func(t *testing.T, platform string) {
		for _, attack := range []string{"umount", "process_vm", "kexec", "init_module", "reboot", "bpf", "unshare", "int80"} {
			t.Run(attack, func(t *testing.T) {
				requireBlocked(t, sandbox(t, platform, opts{}, "rawsys", attack, strconv.Itoa(os.Getpid())))
			})
		}
		t.Run("mount", func(t *testing.T) {
			// The target exists on the host (not in the sandbox, whose
			// /tmp is its own): the host's mount table must not change.
			target := t.TempDir()
			before, err := os.ReadFile("/proc/self/mountinfo")
			require.NoError(t, err)
			requireBlocked(t, sandbox(t, platform, opts{}, "rawsys", "mount", target))
			after, err := os.ReadFile("/proc/self/mountinfo")
			require.NoError(t, err)
			if strings.Contains(string(after), target) {
				exec.Command("umount", "-l", target).Run()
				t.Fatalf("a tmpfs was mounted on the host at %s", target)
			}
			require.Equal(t, strings.Count(string(before), "\n"), strings.Count(string(after), "\n"), "the host's mount table changed")
		})
		t.Run("ptrace", func(t *testing.T) {
			// A host process to attach to: it must stay untraced.
			victim := exec.Command("sleep", "60")
			require.NoError(t, victim.Start())
			defer func() { victim.Process.Kill(); victim.Wait() }()
			pid := strconv.Itoa(victim.Process.Pid)
			requireBlocked(t, sandbox(t, platform, opts{}, "rawsys", "ptrace", pid))
			st, err := os.ReadFile("/proc/" + pid + "/status")
			require.NoError(t, err)
			require.Contains(t, string(st), "TracerPid:\t0\n", "the host process got a tracer")
			require.NotContains(t, string(st), "State:\tt", "the host process is stopped")
		})
	})
}

// Sockets (rawsys.c): the sandbox has no network. Raw packet and IP
// sockets, TCP, UDP, IPv6 and netlink are all refused, and a host TCP
// listener on the loopback sees no connection.
func TestNoNetwork(t *testing.T) {
	forEachPlatform(t, func(t *testing.T, platform string) {
		for _, attack := range []string{"raw_packet", "raw_inet", "inet_udp", "inet6", "netlink"} {
			t.Run(attack, func(t *testing.T) {
				requireBlocked(t, sandbox(t, platform, opts{}, "rawsys", attack))
			})
		}
		t.Run("inet_tcp", func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer ln.Close()
			port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
			r := sandbox(t, platform, opts{}, "rawsys", "inet_tcp", port)
			require.Contains(t, r.stdout, "errno=97", "want EAFNOSUPPORT")
			requireBlocked(t, r)
			ln.(*net.TCPListener).SetDeadline(time.Now().Add(200 * time.Millisecond))
			if c, err := ln.Accept(); err == nil {
				c.Close()
				t.Fatal("the host listener got a connection from the sandbox")
			}
		})
	})
}

func fnv32(b []byte) string {
	h := fnv.New32a()
	h.Write(b)
	return fmt.Sprintf("fnv=%08x", h.Sum32())
}

// Host files outside every bind mount (fsescape.c): through ".." from a bind
// mount, symlinks planted in the bind dir by the host (absolute to a host
// secret and to /etc/shadow, relative out of the dir, to a directory),
// /proc/self/root, /proc/1/root, /proc/<pid>/fd and cwd links, a host pid's
// /proc entries, and FDs 3..100. sbx is also started the way CVE-2024-21626
// (runc "Leaky Vessels") needs: host FDs to the secret's directory and to the
// secret inherited as FDs 3 and 4, and the secret's directory as its host
// working directory. The sandbox's root is a directory of its own holding
// etc/marker, so its /etc is not the host's.
func TestHostFilesUnreachable(t *testing.T) {
	forEachPlatform(t, func(t *testing.T, platform string) {
		root := t.TempDir()
		for _, d := range []string{"etc", "dev", "proc", "sys", "tmp"} {
			require.NoError(t, os.Mkdir(filepath.Join(root, d), 0o755))
		}
		marker := []byte("the sandbox's own /etc\n")
		require.NoError(t, os.WriteFile(filepath.Join(root, "etc", "marker"), marker, 0o644))

		secretDir := filepath.Join(t.TempDir(), "secret")
		require.NoError(t, os.Mkdir(secretDir, 0o700))
		token := make([]byte, 16)
		rand.Read(token)
		secretData := []byte("host secret " + hex.EncodeToString(token) + "\n")
		secret := filepath.Join(secretDir, "token")
		require.NoError(t, os.WriteFile(secret, secretData, 0o600))

		bind := t.TempDir()
		rel, err := filepath.Rel(bind, secret)
		require.NoError(t, err)
		require.NoError(t, os.Symlink(secret, filepath.Join(bind, "abs_secret")))
		require.NoError(t, os.Symlink("/etc/shadow", filepath.Join(bind, "abs_shadow")))
		require.NoError(t, os.Symlink(rel, filepath.Join(bind, "rel_secret")))
		require.NoError(t, os.Symlink(secretDir, filepath.Join(bind, "dir_link")))

		dirFD, err := os.Open(secretDir)
		require.NoError(t, err)
		defer dirFD.Close()
		fileFD, err := os.Open(secret)
		require.NoError(t, err)
		defer fileFD.Close()

		r := sandbox(t, platform, opts{
			flags: []string{"--rootfs=" + root, "-v", bind + ":/bind"},
			extra: []*os.File{dirFD, fileFD},
			dir:   secretDir,
		}, "fsescape", secret, rel, strconv.Itoa(os.Getpid()))
		require.Equal(t, 0, r.status, "stderr: %s", r.stderr)

		// The control: the sandbox's own files read back, so a leak
		// would show.
		require.Contains(t, r.stdout, "OPENED /proc/self/root/etc/marker len="+strconv.Itoa(len(marker))+" "+fnv32(marker))
		require.Empty(t, lines(r.stdout, "LEAKEDFD"), "host FDs leaked into the sandbox")
		require.Contains(t, r.stdout, "CWD /\n", "the sandbox's working directory is not its own /")

		forbidden := map[string]string{fnv32(secretData): "the host secret"}
		if shadow, err := os.ReadFile("/etc/shadow"); err == nil {
			forbidden[fnv32(shadow)] = "the host's /etc/shadow"
		}
		for _, l := range lines(r.stdout, "OPENED") {
			for h, what := range forbidden {
				if strings.HasSuffix(l, h) {
					t.Errorf("the sandbox read %s: %s", what, l)
				}
			}
		}
		// The symlinks the sandbox made in the bind dir are plain
		// symlinks on the host: nothing but them appeared.
		ents, err := os.ReadDir(bind)
		require.NoError(t, err)
		for _, e := range ents {
			require.Contains(t, []string{"abs_secret", "abs_shadow", "rel_secret", "dir_link", "in_abs", "in_shadow"}, e.Name())
		}
		got, err := os.ReadFile(secret)
		require.NoError(t, err)
		require.Equal(t, secretData, got)
	})
}

// CVE-2019-5736 (procexe.c): overwriting the program's own executable
// through /proc/self/exe and /proc/self/fd, and the sbx binary, both by its
// host path (visible read-only underneath the sandbox's /) and through a
// read-write bind mount of the directory holding the running copy. Every
// host file keeps its hash.
func TestOverwriteRuntimeBinary(t *testing.T) {
	forEachPlatform(t, func(t *testing.T, platform string) {
		// The program runs from a read-write bind mount, so a write to
		// its executable would reach the host.
		rw := t.TempDir()
		prog := filepath.Join(rw, "procexe")
		require.NoError(t, copyFile(filepath.Join(binDir, "procexe"), prog, 0o755))
		progHash := fileHash(t, prog)
		origHash := fileHash(t, sbxOrig)
		copyHash := fileHash(t, sbxCopy)

		r := runHost(t, opts{}, sbxCopy, "run", "--platform="+platform, "-v", rw+":/rw", "-v", filepath.Dir(sbxCopy)+":/sbxdir",
			"/rw/procexe", sbxOrig, "/sbxdir/sbx")
		requireNoLeftovers(t)
		require.Equal(t, 0, r.status, "stderr: %s", r.stderr)
		require.NotEmpty(t, lines(r.stdout, "DENIED open /proc/self/exe O_WRONLY errno=26"), "want ETXTBSY")
		require.Empty(t, lines(r.stdout, "WROTE /proc/self"))
		require.Empty(t, lines(r.stdout, "WROTE open own path"))
		require.Empty(t, lines(r.stdout, "WROTE sbx binary /sbxdir"), "the running sbx binary was written through the bind mount")

		require.Equal(t, progHash, fileHash(t, prog), "the program's executable changed on the host")
		require.Equal(t, origHash, fileHash(t, sbxOrig), "the sbx binary changed on the host")
		require.Equal(t, copyHash, fileHash(t, sbxCopy), "the running sbx binary changed on the host")
	})
}

// Kernel tunables (procsys.c): core_pattern, uevent_helper, release_agent
// (CVE-2022-0492), sysrq-trigger and others. Every write fails, and the
// host's values are unchanged.
func TestProcSysWrites(t *testing.T) {
	watched := []string{
		"/proc/sys/kernel/core_pattern", "/proc/sys/kernel/hostname", "/proc/sys/kernel/modprobe",
		"/proc/sys/vm/overcommit_memory", "/proc/sys/net/ipv4/ip_forward", "/sys/kernel/uevent_helper",
		"/sys/kernel/mm/transparent_hugepage/enabled",
	}
	snapshot := func() map[string]string {
		m := map[string]string{}
		for _, p := range watched {
			b, err := os.ReadFile(p)
			if err != nil {
				m[p] = "unreadable: " + err.Error()
			} else {
				m[p] = string(b)
			}
		}
		return m
	}
	forEachPlatform(t, func(t *testing.T, platform string) {
		before := snapshot()
		r := sandbox(t, platform, opts{}, "procsys")
		require.Equal(t, 0, r.status, "stderr: %s", r.stderr)
		require.Empty(t, lines(r.stdout, "WROTE"))
		require.Len(t, lines(r.stdout, "DENIED"), 11)
		require.Equal(t, before, snapshot(), "a host tunable changed")
	})
}

// Device nodes in a read-write bind mount (devnode.c): creating block and
// character devices fails, and nodes the host planted there (a char 1:5 and
// a block 7:0) cannot be opened, so no host device is served to the
// sandbox. Only the host's own nodes are left in the directory.
func TestDeviceNodes(t *testing.T) {
	forEachPlatform(t, func(t *testing.T, platform string) {
		dir := t.TempDir()
		for name, args := range map[string][]string{"host_zero": {"c", "1", "5"}, "host_loop": {"b", "7", "0"}} {
			out, err := exec.Command("mknod", append([]string{filepath.Join(dir, name)}, args...)...).CombinedOutput()
			require.NoError(t, err, "mknod: %s", out)
		}
		r := sandbox(t, platform, opts{flags: []string{"-v", dir + ":/bind"}}, "devnode")
		require.Equal(t, 0, r.status, "stderr: %s", r.stderr)
		require.Empty(t, lines(r.stdout, "MADE"))
		require.Empty(t, lines(r.stdout, "OPENED"))
		require.Len(t, lines(r.stdout, "DENIED"), 9)
		ents, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Len(t, ents, 2, "device nodes appeared on the host")
	})
}

// snapshotDir describes a host directory tree: names, modes, sizes, times
// and contents.
func snapshotDir(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v %d %v", p, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			fmt.Fprintf(&b, " %x", fileHash(t, p))
		}
		b.WriteString("\n")
		return nil
	}))
	return b.String()
}

// Writes to a read-only bind mount (robind.c), by every call that modifies
// a file or directory: all fail, and the host directory is unchanged.
func TestReadOnlyBind(t *testing.T) {
	forEachPlatform(t, func(t *testing.T, platform string) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "file"), []byte("read-only data\n"), 0o644))
		require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
		before := snapshotDir(t, dir)
		r := sandbox(t, platform, opts{flags: []string{"-v", dir + ":/ro:ro"}}, "robind")
		require.Equal(t, 0, r.status, "stderr: %s", r.stderr)
		require.Empty(t, lines(r.stdout, "MODIFIED"))
		require.Len(t, lines(r.stdout, "DENIED"), 22)
		require.Equal(t, before, snapshotDir(t, dir), "the read-only bind dir changed on the host")
	})
}

// A memory bomb under --memory=256M (bombs.c): small chunks, and one huge
// mapping touched page by page. The program gets ENOMEM or is killed with
// SIGKILL once the sandbox's 256 MiB are used, sbx exits promptly, and sbx
// itself never grew past the limit by much.
func TestMemoryBomb(t *testing.T) {
	forEachPlatform(t, func(t *testing.T, platform string) {
		for _, mode := range []string{"memory", "mmap"} {
			t.Run(mode, func(t *testing.T) {
				r := sandbox(t, platform, opts{flags: []string{"--memory=256M"}}, "bombs", mode)
				if r.status == 0 {
					require.NotEmpty(t, lines(r.stdout, "REFUSED"))
				} else {
					require.Equal(t, 128+9, r.status, "want an OOM kill (SIGKILL); stderr: %s", r.stderr)
				}
				for _, l := range lines(r.stdout, "TOUCHED") {
					var mb int
					fmt.Sscanf(l, "TOUCHED %d MiB", &mb)
					require.LessOrEqual(t, mb, 256, "the program used more than --memory")
				}
				require.Less(t, r.elapsed, 45*time.Second)
				require.Less(t, r.maxRSS, int64(512<<20), "sbx grew past the memory limit")
			})
		}
	})
}

// A thread bomb and a fork bomb (bombs.c) under --pids-limit=64: creation
// fails with EAGAIN at the limit, and everything is gone when sbx exits.
func TestThreadAndForkBombs(t *testing.T) {
	forEachPlatform(t, func(t *testing.T, platform string) {
		t.Run("threads", func(t *testing.T) {
			r := sandbox(t, platform, opts{flags: []string{"--pids-limit=64"}}, "bombs", "threads")
			require.Equal(t, 0, r.status, "stderr: %s", r.stderr)
			l := lines(r.stdout, "REFUSED after ")
			require.Len(t, l, 1)
			var n, errno int
			fmt.Sscanf(l[0], "REFUSED after %d threads errno=%d", &n, &errno)
			require.Equal(t, 11, errno, "want EAGAIN")
			require.Less(t, n, 64)
		})
		t.Run("fork", func(t *testing.T) {
			r := sandbox(t, platform, opts{flags: []string{"--pids-limit=64", "--timeout=40s"}}, "bombs", "fork")
			require.Equal(t, 0, r.status, "stderr: %s", r.stderr)
			require.Contains(t, r.stdout, "REFUSED fork errno=11")
		})
	})
}

// Processes that try to outlive the sandbox (orphan.c): double-forked,
// setsid, SIGHUP and SIGTERM ignored, spinning. When pid 1 exits they are
// killed: sbx exits at once and no host process of the sandbox is left.
func TestOrphansDieWithInit(t *testing.T) {
	forEachPlatform(t, func(t *testing.T, platform string) {
		r := sandbox(t, platform, opts{limit: 20 * time.Second}, "orphan")
		require.Equal(t, 0, r.status, "stderr: %s", r.stderr)
		require.Contains(t, r.stdout, "INIT EXITING")
		require.Less(t, r.elapsed, 10*time.Second)
	})
}

// --timeout kills the whole sandbox, a process tree that would run for a
// minute: sbx exits 124 and says so, promptly, leaving nothing behind.
func TestTimeoutKillsSandbox(t *testing.T) {
	forEachPlatform(t, func(t *testing.T, platform string) {
		r := runHost(t, opts{limit: 20 * time.Second}, sbxCopy, "run", "--platform="+platform, "--timeout=2s",
			"/bin/busybox", "sh", "-c", "/bin/busybox sleep 60 & /bin/busybox sleep 60; wait")
		requireNoLeftovers(t)
		require.Equal(t, 124, r.status)
		require.Contains(t, r.stderr, "timed out after 2s")
		require.Less(t, r.elapsed, 8*time.Second)
	})
}

// CVE-2024-21626, host side: descriptors sbx inherits (here a host
// directory and a file in it, as FDs 3 and 4) must not reach any process
// sbx starts, the gofer included: a host directory FD in the gofer would be
// a way out of its root. The sandbox runs a sleep while the test looks at
// the FDs of every host process of the sandbox.
func TestInheritedFDsNotPassedOn(t *testing.T) {
	forEachPlatform(t, func(t *testing.T, platform string) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o600))
		d, err := os.Open(dir)
		require.NoError(t, err)
		defer d.Close()
		f, err := os.Open(filepath.Join(dir, "file"))
		require.NoError(t, err)
		defer f.Close()
		cmd := exec.Command(sbxCopy, "run", "--platform="+platform, "/bin/busybox", "sleep", "2")
		cmd.ExtraFiles = []*os.File{d, f}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		defer cmd.Wait()
		seen := 0
		for deadline := time.Now().Add(1500 * time.Millisecond); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			for _, pid := range hostLeftovers() {
				if pid == cmd.Process.Pid {
					continue
				}
				seen++
				fdDir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
				ents, _ := os.ReadDir(fdDir)
				for _, e := range ents {
					target, _ := os.Readlink(filepath.Join(fdDir, e.Name()))
					if !strings.HasPrefix(target, dir) {
						continue
					}
					// A child between its fork and its exec still holds
					// every FD of sbx (the close-on-exec ones go at the
					// exec): only an FD that stays counts.
					time.Sleep(200 * time.Millisecond)
					if again, _ := os.Readlink(filepath.Join(fdDir, e.Name())); again == target {
						cmdline, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
						t.Errorf("host process %d (%q) of the sandbox holds inherited FD %s -> %s", pid, cmdline, e.Name(), target)
					}
				}
			}
		}
		require.NotZero(t, seen, "no gofer or stub process seen while the sandbox ran")
		require.NoError(t, cmd.Wait(), "stderr: %s", stderr.String())
		requireNoLeftovers(t)
	})
}
