/*
 * fsutil.h - scratch-directory helpers shared by the fs_*.c conformance tests.
 *
 * Include it after harness.h. scratch() makes a fresh directory with
 * mkdtemp("/tmp/sbxtest.XXXXXX"), remembers it and registers an atexit handler
 * that removes it again, best effort, however the case ends (FAILF exits
 * through exit(3), so the handler runs on failures too); it also sets the
 * umask to 022 so the modes of created files are known. P("name") joins a
 * name onto the scratch directory. The setup helpers here (put_file, slurp)
 * use libc; the calls a case is about are made by the case itself.
 */
#ifndef SBX_FSUTIL_H
#define SBX_FSUTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static char fsu_dir[64];

/* fsu_before_cleanup: a file may set this to undo what it changed (the
 * process's ids, for instance) before the scratch directory is removed. */
static __attribute__((unused)) void (*fsu_before_cleanup)(void);

/* remove everything below the directory open as dfd, then close dfd */
static __attribute__((unused)) void fsu_empty_dir(int dfd) {
  DIR *d = fdopendir(dfd);
  if (d == NULL) { close(dfd); return; }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (unlinkat(dfd, e->d_name, 0) == 0) continue;
    /* only a real directory (never a symlink's target) is opened up and emptied */
    struct stat st;
    if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) continue;
    fchmodat(dfd, e->d_name, 0700, 0);
    int sub = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub >= 0) fsu_empty_dir(sub);
    unlinkat(dfd, e->d_name, AT_REMOVEDIR);
  }
  closedir(d);
}

static __attribute__((unused)) void fsu_cleanup(void) {
  if (fsu_dir[0] == 0) return;
  if (fsu_before_cleanup) fsu_before_cleanup();
  chmod(fsu_dir, 0700);
  int dfd = open(fsu_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd >= 0) fsu_empty_dir(dfd);
  rmdir(fsu_dir);
  fsu_dir[0] = 0;
}

/* scratch: make this case's scratch directory (once) and return its path */
static __attribute__((unused)) const char *scratch(void) {
  if (fsu_dir[0]) return fsu_dir;
  strcpy(fsu_dir, "/tmp/sbxtest.XXXXXX");
  if (mkdtemp(fsu_dir) == NULL) {
    int e = errno;
    fsu_dir[0] = 0;
    FAILF("mkdtemp: %s", strerror(e));
  }
  atexit(fsu_cleanup);
  umask(022);
  return fsu_dir;
}

/* P: the scratch directory joined with a relative name; eight rotating buffers */
static __attribute__((unused)) const char *P(const char *rel) {
  static char bufs[8][512];
  static int next;
  char *b = bufs[next++ & 7];
  snprintf(b, sizeof bufs[0], "%s/%s", scratch(), rel);
  return b;
}

/* put_file: create (or truncate) path with the given mode and contents */
static __attribute__((unused)) void put_file(const char *path, const char *data, int mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) FAILF("creating %s: %s", path, strerror(errno));
  size_t n = strlen(data);
  if (write(fd, data, n) != (ssize_t)n) FAILF("writing %s: %s", path, strerror(errno));
  close(fd);
  if (chmod(path, mode) != 0) FAILF("chmod %s: %s", path, strerror(errno));
}

/* slurp: read up to cap-1 bytes of path into buf, NUL-terminate, return the count */
static __attribute__((unused)) long slurp(const char *path, char *buf, long cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) FAILF("opening %s: %s", path, strerror(errno));
  long got = 0;
  for (;;) {
    ssize_t r = read(fd, buf + got, cap - 1 - got);
    if (r < 0) FAILF("reading %s: %s", path, strerror(errno));
    if (r == 0 || got + r == cap - 1) { got += r; break; }
    got += r;
  }
  buf[got] = 0;
  close(fd);
  return got;
}

/* must_open: open or fail the case */
static __attribute__((unused)) int must_open(const char *path, int flags, int mode) {
  int fd = open(path, flags | O_CLOEXEC, mode);
  if (fd < 0) FAILF("open %s: %s", path, strerror(errno));
  return fd;
}

/* xstat / xlstat: raw stat and lstat, failing the case on error */
static __attribute__((unused)) void xstat(const char *path, struct stat *st) {
  if (syscall(SYS_stat, path, st) != 0) FAILF("stat %s: %s", path, strerror(errno));
}
static __attribute__((unused)) void xlstat(const char *path, struct stat *st) {
  if (syscall(SYS_lstat, path, st) != 0) FAILF("lstat %s: %s", path, strerror(errno));
}

#endif
