// Package cgroup bounds a sandbox's CPU time with the host's cgroups (sbx
// run --cpus): cgroup v2 when its cpu controller can be given to a child of
// the caller's cgroup, else the v1 cpu controller. It creates one directory
// below the caller's own cgroup, moves only the thread that starts the
// sandbox (whose children inherit the group) and removes the directory at
// the end; it touches nothing else.
package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Period is the CFS period the quota is given in (100 ms, as runc uses).
const Period = 100000

// Root is where the cgroup file systems are mounted; tests point it
// elsewhere with $SBX_CGROUP_ROOT.
func Root() string {
	if r := os.Getenv("SBX_CGROUP_ROOT"); r != "" {
		return r
	}
	return "/sys/fs/cgroup"
}

// CPU is a cgroup made for one sandbox, with its CPU bound.
type CPU struct {
	// Dir is the cgroup's directory.
	Dir string
	// V2 says it is a cgroup v2 group (enter it with clone3's
	// CLONE_INTO_CGROUP, FD); else v1 (Enter moves a thread).
	V2 bool
	// FD is an O_PATH FD of a v2 group's directory, -1 for v1.
	FD int
	// parent is the directory a v1 thread goes back to (Leave).
	parent string
}

// ErrUnavailable wraps the reason no CPU controller could be used.
var ErrUnavailable = errors.New("no usable cgroup cpu controller")

// NewCPU makes a cgroup named name below the caller's, bounded to cpus CPUs
// (a quota of cpus*Period microseconds per period).
func NewCPU(cpus float64, name string) (*CPU, error) {
	if !(cpus > 0) || cpus > 1e6 {
		return nil, fmt.Errorf("--cpus %v: want a number of CPUs above 0", cpus)
	}
	quota := int64(cpus * Period)
	if quota < 1000 {
		quota = 1000 // the kernel's minimum quota (1 ms)
	}
	own, err := ownCgroups()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	root := Root()
	var reasons []string
	if path, ok := own[""]; ok {
		c, err := newV2(filepath.Join(root, path), name, quota)
		if err == nil {
			return c, nil
		}
		reasons = append(reasons, "cgroup v2: "+err.Error())
	}
	v1 := "cgroup v1: no cpu hierarchy mounted at " + filepath.Join(root, "cpu")
	if path, ok := own["cpu"]; ok {
		for _, dirName := range []string{"cpu", "cpu,cpuacct", "cpuacct,cpu"} {
			mnt := filepath.Join(root, dirName)
			if _, err := os.Stat(filepath.Join(mnt, "cpu.cfs_quota_us")); err != nil {
				continue
			}
			c, err := newV1(filepath.Join(mnt, path), name, quota)
			if err == nil {
				return c, nil
			}
			v1 = "cgroup v1: " + err.Error()
			break
		}
	}
	reasons = append(reasons, v1)
	return nil, fmt.Errorf("%w: %s", ErrUnavailable, strings.Join(reasons, "; "))
}

// ownCgroups reads /proc/self/cgroup: the v2 path under key "", and each
// v1 controller's path under its name.
func ownCgroups() (map[string]string, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	own := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			own[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			own[c] = parts[2]
		}
	}
	return own, sc.Err()
}

func newV2(parent, name string, quota int64) (*CPU, error) {
	ctrl, err := os.ReadFile(filepath.Join(parent, "cgroup.controllers"))
	if err != nil {
		return nil, err
	}
	if !hasWord(string(ctrl), "cpu") {
		return nil, fmt.Errorf("the cpu controller is not available in %s", parent)
	}
	sub, _ := os.ReadFile(filepath.Join(parent, "cgroup.subtree_control"))
	if !hasWord(string(sub), "cpu") {
		if err := os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+cpu"), 0); err != nil {
			return nil, fmt.Errorf("enabling cpu for the children of %s: %w", parent, err)
		}
	}
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "cpu.max"), []byte(fmt.Sprintf("%d %d", quota, Period)), 0); err != nil {
		os.Remove(dir)
		return nil, err
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		os.Remove(dir)
		return nil, err
	}
	return &CPU{Dir: dir, V2: true, FD: fd}, nil
}

func newV1(parent, name string, quota int64) (*CPU, error) {
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0755); err != nil {
		return nil, err
	}
	for _, w := range [][2]string{{"cpu.cfs_period_us", strconv.Itoa(Period)}, {"cpu.cfs_quota_us", strconv.FormatInt(quota, 10)}} {
		if err := os.WriteFile(filepath.Join(dir, w[0]), []byte(w[1]), 0); err != nil {
			os.Remove(dir)
			return nil, fmt.Errorf("%s: %w", w[0], err)
		}
	}
	return &CPU{Dir: dir, FD: -1, parent: parent}, nil
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// Enter moves the calling OS thread into a v1 group (the caller has locked
// its goroutine to it); processes it then forks start in the group. For v2
// it does nothing (the fork itself names the group).
func (c *CPU) Enter() error {
	if c.V2 {
		return nil
	}
	return os.WriteFile(filepath.Join(c.Dir, "tasks"), []byte(strconv.Itoa(unix.Gettid())), 0)
}

// Leave moves the calling thread back to the group it came from (v1).
func (c *CPU) Leave() error {
	if c.V2 {
		return nil
	}
	return os.WriteFile(filepath.Join(c.parent, "tasks"), []byte(strconv.Itoa(unix.Gettid())), 0)
}

// Remove deletes the group, waiting up to a second for exiting processes
// to leave it.
func (c *CPU) Remove() error {
	if c.FD >= 0 {
		unix.Close(c.FD)
		c.FD = -1
	}
	var err error
	for i := 0; i < 100; i++ {
		if err = os.Remove(c.Dir); err == nil || !errors.Is(err, unix.EBUSY) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return err
}
