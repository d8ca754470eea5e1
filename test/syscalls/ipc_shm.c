//go:build ignore

/*
 * ipc_shm.c - shared memory between a parent and its children, System V
 * (shmget, shmat, shmdt, shmctl IPC_STAT/IPC_RMID) and POSIX (shm_open on
 * /dev/shm with mmap), plus a few process-wide queries: sched_getscheduler,
 * sched_getparam, sched_get_priority_min/max, getcpu, getrusage and times.
 *
 * Follows shmget(2) (IPC_PRIVATE, IPC_CREAT, IPC_EXCL; ERRORS: EEXIST,
 * ENOENT, EINVAL), shmop(2) (shmat/shmdt, SHM_RDONLY; "After a fork(2), the
 * child inherits the attached shared memory segments"), shmctl(2)
 * (IPC_STAT: shm_segsz, shm_nattch, shm_cpid, shm_lpid, shm_perm.mode;
 * IPC_RMID: the segment is destroyed after the last detach; ERRORS: EINVAL,
 * EIDRM), shm_open(3) and shm_overview(7) (objects live in /dev/shm;
 * shm_unlink; O_EXCL), mmap(2) (MAP_SHARED), sched_getscheduler(2) and
 * sched_getparam(2) (SCHED_OTHER with priority 0; ERRORS: ESRCH, EINVAL),
 * sched_get_priority_max(2), getcpu(2), getrusage(2) (RUSAGE_SELF,
 * RUSAGE_CHILDREN, RUSAGE_THREAD; EINVAL) and times(2).
 *
 * Also: shmctl(2) IPC_SET (owner and permission bits; EPERM for others),
 * IPC_INFO, SHM_INFO and SHM_STAT (an index in, the id out), permission
 * checks against the mode (EACCES), shmop(2)'s SHM_RND and SHM_REMAP
 * (EINVAL over an existing mapping without it) and shmdt's EINVAL for an
 * address that is not an attach address, the id staying usable after
 * IPC_RMID until the last detach while the key is released at once
 * (shm_perm.__key becomes IPC_PRIVATE), execve(2) detaching ("Attached
 * System V shared memory segments are detached"), sched_setscheduler(2)
 * (SCHED_BATCH, SCHED_RESET_ON_FORK; EINVAL, EFAULT, ESRCH) and
 * sched_rr_get_interval(2).
 *
 * System V segments are created IPC_PRIVATE or with a key derived from the
 * pid, and always removed with IPC_RMID before the case ends.
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/procutil.h"

#include <sched.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/times.h>

static int shm_id = -1;
static void remove_segment(void) {
  if (shm_id >= 0) shmctl(shm_id, IPC_RMID, NULL);
  shm_id = -1;
}

/* new_segment: a fresh IPC_PRIVATE segment, removed at exit if still there */
static int new_segment(size_t size) {
  int id = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
  if (id < 0) FAILF("shmget: %s", strerror(errno));
  shm_id = id;
  atexit(remove_segment);
  return id;
}

static char shm_name[64];
static void unlink_shm(void) {
  if (shm_name[0]) shm_unlink(shm_name);
}
static const char *new_shm_name(void) {
  snprintf(shm_name, sizeof shm_name, "/sbxtest-%d", (int)getpid());
  shm_unlink(shm_name);
  atexit(unlink_shm);
  return shm_name;
}

TEST(sysv_shm_shared_with_child) {
  int id = new_segment(65536);
  volatile char *m = shmat(id, NULL, 0);
  CHECK(m != (void *)-1);
  /* fresh segments are zero-filled */
  for (int i = 0; i < 65536; i += 512) CHECK_EQ(m[i], 0);
  int go[2], back[2];
  xpipe(go);
  xpipe(back);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    /* the attachment was inherited */
    m[100] = 'c';
    m[65535] = 'e';
    put1(back[1], 'w');
    CHILD_CHECK(get1(go[0]) == 'p');
    CHILD_CHECK(m[200] == 'p');
    _exit(0);
  }
  close(back[1]); /* so a child that dies early gives EOF, not a hang */
  CHECK_EQ(get1(back[0]), 'w');
  CHECK_EQ(m[100], 'c');
  CHECK_EQ(m[65535], 'e');
  m[200] = 'p';
  put1(go[1], 'p');
  expect_exit(pid, 0);
  CHECK_OK(shmdt((void *)m));
  remove_segment();
}

TEST(sysv_shm_attached_separately_by_child) {
  int id = new_segment(4096);
  pid_t pid = xfork();
  if (pid == 0) {
    char *c = shmat(id, NULL, 0);
    CHILD_CHECK(c != (void *)-1);
    strcpy(c, "written by the child");
    CHILD_CHECK(shmdt(c) == 0);
    _exit(0);
  }
  expect_exit(pid, 0);
  char *m = shmat(id, NULL, SHM_RDONLY);
  CHECK(m != (void *)-1);
  CHECK(strcmp(m, "written by the child") == 0);
  CHECK_OK(shmdt(m));
  remove_segment();
}

TEST(sysv_shmctl_ipc_stat) {
  int id = new_segment(10000);
  struct shmid_ds ds;
  memset(&ds, 0, sizeof ds);
  CHECK_OK(shmctl(id, IPC_STAT, &ds));
  CHECK_EQ(ds.shm_segsz, 10000);
  CHECK_EQ(ds.shm_nattch, 0);
  CHECK_EQ(ds.shm_cpid, getpid());
  CHECK_EQ(ds.shm_perm.mode & 0777, 0600);
  CHECK_EQ(ds.shm_perm.uid, getuid());
  CHECK_EQ(ds.shm_perm.cuid, getuid());
  void *a = shmat(id, NULL, 0);
  void *b = shmat(id, NULL, 0);
  CHECK(a != (void *)-1 && b != (void *)-1 && a != b);
  CHECK_OK(shmctl(id, IPC_STAT, &ds));
  CHECK_EQ(ds.shm_nattch, 2);
  CHECK_EQ(ds.shm_lpid, getpid());
  CHECK(ds.shm_atime > 0);
  /* two attachments of one segment see the same bytes */
  ((char *)a)[7] = 'x';
  CHECK_EQ(((char *)b)[7], 'x');
  CHECK_OK(shmdt(a));
  CHECK_OK(shmctl(id, IPC_STAT, &ds));
  CHECK_EQ(ds.shm_nattch, 1);
  CHECK_OK(shmdt(b));
  CHECK_OK(shmctl(id, IPC_STAT, &ds));
  CHECK_EQ(ds.shm_nattch, 0);
  CHECK(ds.shm_dtime > 0);
  remove_segment();
}

TEST(sysv_fork_increments_nattch) {
  int id = new_segment(4096);
  void *m = shmat(id, NULL, 0);
  CHECK(m != (void *)-1);
  int gate[2], ready[2];
  xpipe(gate);
  xpipe(ready);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(gate[1]);
    put1(ready[1], 'r');
    get1(gate[0]);
    _exit(0);
  }
  close(ready[1]);
  CHECK_EQ(get1(ready[0]), 'r');
  struct shmid_ds ds;
  CHECK_OK(shmctl(id, IPC_STAT, &ds));
  CHECK_EQ(ds.shm_nattch, 2);
  close(gate[1]);
  expect_exit(pid, 0);
  /* the child's exit detached its copy */
  CHECK_OK(shmctl(id, IPC_STAT, &ds));
  CHECK_EQ(ds.shm_nattch, 1);
  CHECK_OK(shmdt(m));
  remove_segment();
}

TEST(sysv_rmid_while_attached) {
  int id = new_segment(4096);
  char *m = shmat(id, NULL, 0);
  CHECK(m != (void *)-1);
  strcpy(m, "still here");
  CHECK_OK(shmctl(id, IPC_RMID, NULL));
  /* the memory stays usable until the last detach */
  CHECK(strcmp(m, "still here") == 0);
  struct shmid_ds ds;
  CHECK_OK(shmctl(id, IPC_STAT, &ds));
  CHECK(ds.shm_perm.mode & SHM_DEST);
  CHECK_OK(shmdt(m));
  /* now it is gone */
  CHECK_ERRNO(shmctl(id, IPC_STAT, &ds), EINVAL);
  shm_id = -1;
}

TEST(sysv_shmat_readonly_write_faults) {
  int id = new_segment(4096);
  pid_t pid = xfork();
  if (pid == 0) {
    no_core();
    signal(SIGSEGV, SIG_DFL);
    volatile char *r = shmat(id, NULL, SHM_RDONLY);
    CHILD_CHECK(r != (void *)-1);
    CHILD_CHECK(r[0] == 0);
    r[0] = 1;
    _exit(0);
  }
  expect_killed(pid, SIGSEGV);
  remove_segment();
}

TEST(sysv_shmget_key_excl_and_missing) {
  key_t key = (key_t)(0x5b000000 | (getpid() & 0xffffff));
  int id = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
  CHECK(id >= 0);
  shm_id = id;
  atexit(remove_segment);
  /* the same key again */
  CHECK_ERRNO(shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
  CHECK_EQ(shmget(key, 4096, 0600), id);
  CHECK_EQ(shmget(key, 0, 0), id);
  /* asking for more than the segment has */
  CHECK_ERRNO(shmget(key, 8192, 0600), EINVAL);
  remove_segment();
  CHECK_ERRNO(shmget(key, 4096, 0600), ENOENT);
}

TEST(sysv_errors) {
  CHECK_ERRNO(shmget(IPC_PRIVATE, 0, IPC_CREAT | 0600), EINVAL);
  struct shmid_ds ds;
  CHECK_ERRNO(shmctl(-1, IPC_STAT, &ds), EINVAL);
  CHECK_ERRNO(shmat(-1, NULL, 0), EINVAL);
  int x;
  CHECK_ERRNO(shmdt(&x), EINVAL);
  int id = new_segment(4096);
  /* an address that is not page aligned without SHM_RND */
  CHECK_ERRNO(shmat(id, (void *)0x10001, 0), EINVAL);
  remove_segment();
}

TEST(posix_shm_open_mmap_shared_with_child) {
  const char *name = new_shm_name();
  int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
  CHECK(fd >= 0);
  CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  CHECK_OK(ftruncate(fd, 8192));
  volatile char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(m != MAP_FAILED);
  pid_t pid = xfork();
  if (pid == 0) {
    /* the child opens the object by name on its own */
    int cfd = shm_open(name, O_RDWR, 0);
    CHILD_CHECK(cfd >= 0);
    char *c = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
    CHILD_CHECK(c != MAP_FAILED);
    strcpy(c + 4096, "posix shm");
    m[0] = 'm'; /* and through the inherited mapping */
    _exit(0);
  }
  expect_exit(pid, 0);
  CHECK(strcmp((char *)m + 4096, "posix shm") == 0);
  CHECK_EQ(m[0], 'm');
  /* it is a file: the data is visible through read too */
  char buf[16] = {0};
  CHECK_EQ(pread(fd, buf, 9, 4096), 9);
  CHECK(strcmp(buf, "posix shm") == 0);
  CHECK_OK(shm_unlink(name));
  shm_name[0] = 0;
  munmap((void *)m, 8192);
  close(fd);
}

TEST(posix_shm_lives_in_dev_shm) {
  char name[64];
  snprintf(name, sizeof name, "%s", new_shm_name());
  umask(022);
  int fd = shm_open(name, O_CREAT | O_RDWR, 0640);
  CHECK(fd >= 0);
  CHECK_OK(ftruncate(fd, 12345));
  char path[96];
  snprintf(path, sizeof path, "/dev/shm%s", name);
  struct stat st;
  CHECK_OK(stat(path, &st));
  CHECK(S_ISREG(st.st_mode));
  CHECK_EQ(st.st_size, 12345);
  CHECK_EQ(st.st_mode & 0777, 0640);
  CHECK_ERRNO(shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600), EEXIST);
  CHECK_OK(shm_unlink(name));
  shm_name[0] = 0;
  CHECK_ERRNO(stat(path, &st), ENOENT);
  CHECK_ERRNO(shm_open(name, O_RDWR, 0), ENOENT);
  CHECK_ERRNO(shm_unlink(name), ENOENT);
  /* the open descriptor keeps the object alive */
  CHECK_OK(fstat(fd, &st));
  CHECK_EQ(st.st_size, 12345);
  close(fd);
}

TEST(sched_other_scheduler_and_param) {
  CHECK_EQ(sched_getscheduler(0), SCHED_OTHER);
  CHECK_EQ(sched_getscheduler(getpid()), SCHED_OTHER);
  struct sched_param sp = {.sched_priority = 99};
  CHECK_OK(sched_getparam(0, &sp));
  CHECK_EQ(sp.sched_priority, 0);
  CHECK_EQ(sched_get_priority_min(SCHED_OTHER), 0);
  CHECK_EQ(sched_get_priority_max(SCHED_OTHER), 0);
  CHECK(sched_get_priority_max(SCHED_FIFO) >= sched_get_priority_min(SCHED_FIFO) + 31);
  CHECK_ERRNO(sched_get_priority_max(12345), EINVAL);
  /* a child inherits the policy (asked while it still runs: it waits
   * for the parent to close the pipe) */
  int gate[2];
  CHECK_OK(pipe(gate));
  pid_t pid = xfork();
  if (pid == 0) {
    close(gate[1]);
    CHILD_CHECK(sched_getscheduler(0) == SCHED_OTHER);
    char c;
    CHILD_CHECK(read(gate[0], &c, 1) == 0);
    _exit(0);
  }
  close(gate[0]);
  CHECK_EQ(sched_getscheduler(pid), SCHED_OTHER);
  close(gate[1]);
  expect_exit(pid, 0);
}

TEST(sched_query_errors) {
  pid_t dead = dead_pid();
  struct sched_param sp;
  CHECK_ERRNO(sched_getscheduler(dead), ESRCH);
  CHECK_ERRNO(sched_getparam(dead, &sp), ESRCH);
  CHECK_ERRNO(sched_getscheduler(-1), EINVAL);
  CHECK_ERRNO(syscall(SYS_sched_getparam, 0, NULL), EINVAL);
}

TEST(getcpu_below_number_of_cpus) {
  unsigned cpu = 99999, node = 99999;
  CHECK_EQ(syscall(SYS_getcpu, &cpu, &node, NULL), 0);
  CHECK(cpu < (unsigned)get_nprocs_conf());
  CHECK(node < 1024);
  /* either pointer may be NULL */
  CHECK_EQ(syscall(SYS_getcpu, &cpu, NULL, NULL), 0);
  CHECK(cpu < (unsigned)get_nprocs_conf());
  CHECK_EQ(syscall(SYS_getcpu, NULL, NULL, NULL), 0);
}

static int timeval_ok(struct timeval tv) { return tv.tv_sec >= 0 && tv.tv_usec >= 0 && tv.tv_usec < 1000000; }

TEST(getrusage_self_thread_children_sane) {
  /* touch 4 MiB so the peak resident size is clearly nonzero */
  char *mem = malloc(4 << 20);
  CHECK(mem != NULL);
  memset(mem, 1, 4 << 20);
  struct rusage ru;
  memset(&ru, 0xff, sizeof ru);
  CHECK_OK(getrusage(RUSAGE_SELF, &ru));
  CHECK(timeval_ok(ru.ru_utime) && timeval_ok(ru.ru_stime));
  /* in kilobytes */
  CHECK(ru.ru_maxrss >= 2048);
  free(mem);
  CHECK(ru.ru_minflt >= 0 && ru.ru_majflt >= 0);
  CHECK(ru.ru_nvcsw >= 0 && ru.ru_nivcsw >= 0);
  memset(&ru, 0xff, sizeof ru);
  CHECK_OK(getrusage(RUSAGE_THREAD, &ru));
  CHECK(timeval_ok(ru.ru_utime) && timeval_ok(ru.ru_stime));
  memset(&ru, 0xff, sizeof ru);
  CHECK_OK(getrusage(RUSAGE_CHILDREN, &ru));
  CHECK(timeval_ok(ru.ru_utime) && timeval_ok(ru.ru_stime));
  CHECK(ru.ru_maxrss >= 0);
  CHECK_ERRNO(getrusage(12345, &ru), EINVAL);
}

static long long cpu_us(struct rusage *ru) {
  return (ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000000LL + ru->ru_utime.tv_usec + ru->ru_stime.tv_usec;
}

/* a child that burns 20 ms of CPU time and exits */
static pid_t cpu_child(void) {
  pid_t pid = xfork();
  if (pid == 0) {
    struct timespec ts;
    do clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); while (ts.tv_sec == 0 && ts.tv_nsec < 20000000);
    _exit(0);
  }
  return pid;
}

TEST(getrusage_children_counts_waited_child) {
  struct rusage before, after;
  CHECK_OK(getrusage(RUSAGE_CHILDREN, &before));
  pid_t pid = cpu_child();
  expect_exit(pid, 0);
  CHECK_OK(getrusage(RUSAGE_CHILDREN, &after));
  CHECK(timeval_ok(after.ru_utime) && timeval_ok(after.ru_stime));
  /* the child's 20 ms are in now (allowing for accounting granularity) */
  CHECK(cpu_us(&after) - cpu_us(&before) >= 10000);
  CHECK(cpu_us(&after) - cpu_us(&before) < 10000000);
}

TEST(times_sane_and_counts_children) {
  struct tms t0, t1;
  memset(&t0, 0xff, sizeof t0);
  clock_t r0 = times(&t0);
  CHECK(r0 != (clock_t)-1);
  CHECK(t0.tms_utime >= 0 && t0.tms_stime >= 0);
  CHECK(t0.tms_cutime >= 0 && t0.tms_cstime >= 0);
  long hz = sysconf(_SC_CLK_TCK);
  CHECK(hz > 0);
  pid_t pid = cpu_child();
  expect_exit(pid, 0);
  clock_t r1 = times(&t1);
  CHECK(r1 != (clock_t)-1);
  /* elapsed real time moves forward */
  CHECK(r1 >= r0);
  /* 20 ms of child CPU: at least a tick's worth shows up */
  CHECK((t1.tms_cutime + t1.tms_cstime) - (t0.tms_cutime + t0.tms_cstime) >= 1);
  CHECK(t1.tms_utime >= t0.tms_utime && t1.tms_stime >= t0.tms_stime);
  /* NULL is allowed on Linux */
  CHECK(times(NULL) != (clock_t)-1);
}

TEST(sysv_ipc_set_changes_owner_and_mode) {
  int id = new_segment(4096);
  struct shmid_ds ds;
  CHECK_OK(shmctl(id, IPC_STAT, &ds));
  ds.shm_perm.mode = 0640 | SHM_DEST; /* only the permission bits are taken */
  ds.shm_perm.uid = 4321;
  ds.shm_perm.gid = 8765;
  CHECK_OK(shmctl(id, IPC_SET, &ds));
  memset(&ds, 0, sizeof ds);
  CHECK_OK(shmctl(id, IPC_STAT, &ds));
  CHECK_EQ(ds.shm_perm.mode, 0640);
  CHECK_EQ(ds.shm_perm.uid, 4321);
  CHECK_EQ(ds.shm_perm.gid, 8765);
  /* the creator stays */
  CHECK_EQ(ds.shm_perm.cuid, getuid());
  CHECK_EQ(ds.shm_perm.cgid, getgid());
  CHECK(ds.shm_ctime > 0);
  CHECK_ERRNO(shmctl(id, IPC_SET, (struct shmid_ds *)8), EFAULT);
  CHECK_ERRNO(shmctl(id, IPC_STAT, (struct shmid_ds *)8), EFAULT);
  remove_segment();
}

/* Runs as root natively (as the harness does): a child that drops to an
 * unprivileged uid is "other" for the segment's permission bits. */
TEST(sysv_permissions_for_other_users) {
  key_t key = (key_t)(0x5c000000 | (getpid() & 0xffffff));
  int id = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
  CHECK(id >= 0);
  shm_id = id;
  atexit(remove_segment);
  int go[2], back[2];
  xpipe(go);
  xpipe(back);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    CHILD_CHECK(setgid(65534) == 0 && setuid(65534) == 0);
    struct shmid_ds ds;
    CHILD_CHECK(shmget(key, 0, 0) == id); /* asking for no access is allowed */
    CHILD_CHECK(shmget(key, 0, 0400) == -1 && errno == EACCES);
    CHILD_CHECK(shmat(id, NULL, SHM_RDONLY) == (void *)-1 && errno == EACCES);
    CHILD_CHECK(shmctl(id, IPC_STAT, &ds) == -1 && errno == EACCES);
    memset(&ds, 0, sizeof ds);
    CHILD_CHECK(shmctl(id, IPC_SET, &ds) == -1 && errno == EPERM);
    CHILD_CHECK(shmctl(id, IPC_RMID, NULL) == -1 && errno == EPERM);
    put1(back[1], '1');
    CHILD_CHECK(get1(go[0]) == 'g');
    /* now 0604: reading is allowed, writing is not */
    CHILD_CHECK(shmget(key, 0, 0400) == id);
    CHILD_CHECK(shmctl(id, IPC_STAT, &ds) == 0);
    void *r = shmat(id, NULL, SHM_RDONLY);
    CHILD_CHECK(r != (void *)-1);
    CHILD_CHECK(strcmp(r, "owner") == 0);
    CHILD_CHECK(shmat(id, NULL, 0) == (void *)-1 && errno == EACCES);
    CHILD_CHECK(shmdt(r) == 0);
    _exit(0);
  }
  close(back[1]);
  CHECK_EQ(get1(back[0]), '1');
  char *m = shmat(id, NULL, 0);
  CHECK(m != (void *)-1);
  strcpy(m, "owner");
  struct shmid_ds ds;
  CHECK_OK(shmctl(id, IPC_STAT, &ds));
  ds.shm_perm.mode = 0604;
  CHECK_OK(shmctl(id, IPC_SET, &ds));
  put1(go[1], 'g');
  expect_exit(pid, 0);
  CHECK_OK(shmdt(m));
  remove_segment();
}

TEST(sysv_shmat_addresses_rnd_and_remap) {
  int id = new_segment(8192);
  /* find a free, aligned place */
  char *hole = mmap(NULL, 4 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(hole != MAP_FAILED);
  CHECK_OK(munmap(hole, 4 * 4096));
  char *a = shmat(id, hole + 123, SHM_RND);
  CHECK_EQ((long)a, (long)hole);
  strcpy(a + 4096, "second page");
  /* the range is taken: EINVAL without SHM_REMAP */
  CHECK_ERRNO((long)shmat(id, hole + 4096, 0), EINVAL);
  char *b = shmat(id, hole + 4096, SHM_REMAP);
  CHECK_EQ((long)b, (long)(hole + 4096));
  /* b's first page is the segment's first page */
  CHECK_EQ(b[0], 0);
  strcpy(b, "first page");
  CHECK(strcmp(a, "first page") == 0);
  CHECK_ERRNO((long)shmat(id, NULL, SHM_REMAP), EINVAL);
  struct shmid_ds ds;
  CHECK_OK(shmctl(id, IPC_STAT, &ds));
  CHECK_EQ(ds.shm_nattch, 2);
  CHECK_OK(shmdt(b));
  /* what is left of a: its first page */
  CHECK(strcmp(a, "first page") == 0);
  CHECK_OK(shmdt(a));
  CHECK_OK(shmctl(id, IPC_STAT, &ds));
  CHECK_EQ(ds.shm_nattch, 0);
  remove_segment();
}

TEST(sysv_shmdt_needs_the_attach_address) {
  int id = new_segment(3 * 4096);
  char *m = shmat(id, NULL, 0);
  CHECK(m != (void *)-1);
  CHECK_ERRNO(shmdt(m + 4096), EINVAL);
  CHECK_ERRNO(shmdt(m + 1), EINVAL);
  /* an ordinary mapping is not an attachment */
  void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(p != MAP_FAILED);
  CHECK_ERRNO(shmdt(p), EINVAL);
  munmap(p, 4096);
  m[2 * 4096] = 'z';
  CHECK_OK(shmdt(m));
  CHECK_ERRNO(shmdt(m), EINVAL);
  remove_segment();
}

TEST(sysv_attach_after_rmid_and_key_released) {
  key_t key = (key_t)(0x5d000000 | (getpid() & 0xffffff));
  int id = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
  CHECK(id >= 0);
  shm_id = id;
  atexit(remove_segment);
  char *m = shmat(id, NULL, 0);
  CHECK(m != (void *)-1);
  strcpy(m, "kept");
  CHECK_OK(shmctl(id, IPC_RMID, NULL));
  /* the key is free at once */
  CHECK_ERRNO(shmget(key, 4096, 0600), ENOENT);
  struct shmid_ds ds;
  CHECK_OK(shmctl(id, IPC_STAT, &ds));
  CHECK_EQ(ds.shm_perm.__key, IPC_PRIVATE);
  /* the id still attaches until the segment is gone */
  char *n = shmat(id, NULL, SHM_RDONLY);
  CHECK(n != (void *)-1);
  CHECK(strcmp(n, "kept") == 0);
  CHECK_OK(shmctl(id, IPC_STAT, &ds));
  CHECK_EQ(ds.shm_nattch, 2);
  CHECK_OK(shmdt(m));
  CHECK_OK(shmdt(n));
  CHECK_ERRNO((long)shmat(id, NULL, 0), EINVAL);
  shm_id = -1;
}

TEST(sysv_execve_detaches) {
  int id = new_segment(4096);
  void *m = shmat(id, NULL, 0);
  CHECK(m != (void *)-1);
  int gate[2], execd[2];
  CHECK_OK(pipe(gate));
  xpipe(execd); /* close-on-exec: EOF once the child has exec'd */
  pid_t pid = xfork();
  if (pid == 0) {
    close(gate[1]);
    close(execd[0]);
    dup2(gate[0], 0);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    execl("/bin/cat", "cat", (char *)NULL);
    _exit(127);
  }
  close(gate[0]);
  close(execd[1]);
  struct shmid_ds ds;
  char c;
  CHECK_EQ(read(execd[0], &c, 1), 0);
  CHECK_OK(shmctl(id, IPC_STAT, &ds));
  CHECK_EQ(ds.shm_nattch, 1);
  close(gate[1]);
  expect_exit(pid, 0);
  CHECK_OK(shmdt(m));
  remove_segment();
}

TEST(sysv_ipc_info_shm_info_shm_stat) {
  int id = new_segment(3 * 4096);
  char *m = shmat(id, NULL, 0);
  CHECK(m != (void *)-1);
  m[0] = 1; /* one resident page at least */
  struct shminfo si;
  int maxidx = shmctl(0, IPC_INFO, (struct shmid_ds *)&si);
  CHECK(maxidx >= 0);
  CHECK_EQ(si.shmmin, 1);
  CHECK(si.shmmni >= 1);
  CHECK(si.shmmax >= 3 * 4096);
  struct shm_info info;
  CHECK_EQ(shmctl(0, SHM_INFO, (struct shmid_ds *)&info), maxidx);
  CHECK(info.used_ids >= 1);
  CHECK(info.shm_tot >= 3);
  CHECK(info.shm_rss >= 1);
  /* SHM_STAT takes an index and answers with the id */
  int found = 0;
  for (int i = 0; i <= maxidx && !found; i++) {
    struct shmid_ds ds;
    int r = shmctl(i, SHM_STAT, &ds);
    if (r == id) {
      found = 1;
      CHECK_EQ(ds.shm_segsz, 3 * 4096);
      CHECK_EQ(ds.shm_nattch, 1);
    }
  }
  CHECK(found);
  CHECK_ERRNO(shmctl(0, 12345, (struct shmid_ds *)&si), EINVAL);
  CHECK_OK(shmdt(m));
  remove_segment();
}

TEST(sysv_size_rounds_to_pages_in_mapping) {
  int id = new_segment(100);
  struct shmid_ds ds;
  CHECK_OK(shmctl(id, IPC_STAT, &ds));
  CHECK_EQ(ds.shm_segsz, 100);
  volatile char *m = shmat(id, NULL, 0);
  CHECK(m != (void *)-1);
  /* the whole page is usable */
  m[4095] = 'x';
  CHECK_EQ(m[4095], 'x');
  CHECK_OK(shmdt((void *)m));
  remove_segment();
}

TEST(sched_setscheduler_batch_and_reset_on_fork) {
  struct sched_param sp = {.sched_priority = 0};
  CHECK_OK(sched_setscheduler(0, SCHED_BATCH, &sp));
  CHECK_EQ(sched_getscheduler(0), SCHED_BATCH);
  pid_t pid = xfork();
  if (pid == 0) {
    CHILD_CHECK(sched_getscheduler(0) == SCHED_BATCH);
    _exit(0);
  }
  expect_exit(pid, 0);
  CHECK_OK(sched_setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &sp));
  CHECK_EQ(sched_getscheduler(0), SCHED_OTHER | SCHED_RESET_ON_FORK);
  pid = xfork();
  if (pid == 0) {
    CHILD_CHECK(sched_getscheduler(0) == SCHED_OTHER);
    _exit(0);
  }
  expect_exit(pid, 0);
  CHECK_OK(sched_setscheduler(0, SCHED_OTHER, &sp));
  CHECK_EQ(sched_getscheduler(0), SCHED_OTHER);
  /* priorities outside the policy's range, bad policies, bad pointers */
  sp.sched_priority = 5;
  CHECK_ERRNO(sched_setscheduler(0, SCHED_BATCH, &sp), EINVAL);
  CHECK_ERRNO(sched_setparam(0, &sp), EINVAL);
  sp.sched_priority = 0;
  CHECK_OK(sched_setparam(0, &sp));
  CHECK_ERRNO(sched_setscheduler(0, 12345, &sp), EINVAL);
  CHECK_ERRNO(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL), EINVAL);
  CHECK_ERRNO(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, (void *)8), EFAULT);
  CHECK_ERRNO(sched_setscheduler(dead_pid(), SCHED_OTHER, &sp), ESRCH);
  CHECK_ERRNO(sched_get_priority_min(-1), EINVAL);
  struct timespec ts;
  CHECK_OK(sched_rr_get_interval(0, &ts));
  CHECK(ts.tv_sec >= 0 && ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
}

TEST(getrusage_and_times_bad_pointers) {
  CHECK_ERRNO(syscall(SYS_getrusage, RUSAGE_SELF, (void *)8), EFAULT);
  CHECK_ERRNO(syscall(SYS_times, (void *)8), EFAULT);
  CHECK_ERRNO(syscall(SYS_getcpu, (void *)8, NULL, NULL), EFAULT);
}
