//go:build ignore

/*
 * fs_exec.c - execve and execveat failures, seen from the calling process,
 * on files in a scratch directory under /tmp. No case is meant to succeed:
 * without fork a successful exec would replace the test, so only errors are
 * checked.
 *
 * Follows execve(2) (ERRORS: ENOENT for a missing file, an empty path or a
 * missing script interpreter; EACCES for a file that is not regular, such as
 * a directory, for a file without execute permission (a privileged caller
 * also needs an execute bit, see access(2)) and for a script interpreter that
 * is not a regular file; ENOEXEC for a file in no recognized format; ENOTDIR;
 * ELOOP; ENAMETOOLONG; ETXTBSY for a file open for writing; "Interpreter
 * scripts"), open(2) (ETXTBSY for the running executable, /proc/self/exe) and
 * execveat(2) (AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW; ERRORS: EINVAL for bad
 * flags, ELOOP, EBADF, ENOTDIR).
 *
 * The calls are made raw through syscall(2): glibc's execve is a plain
 * wrapper, but the exec*p functions would retry ENOEXEC with /bin/sh.
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/fsutil.h"

static char *const envp[] = {NULL};

static long xexecve(const char *path) {
  char *const argv[] = {(char *)path, NULL};
  return syscall(SYS_execve, path, argv, envp);
}

static long xexecveat(int dfd, const char *path, int flags) {
  char *const argv[] = {(char *)"prog", NULL};
  return syscall(SYS_execveat, dfd, path, argv, envp, flags);
}

#define GARBAGE "this is not an executable format\n\001\002\003\004"

TEST(execve_missing_file_enoent) {
  scratch();
  CHECK_ERRNO(xexecve(P("missing")), ENOENT);
  CHECK_ERRNO(xexecve(P("missing/dir/prog")), ENOENT);
}

TEST(execve_empty_path_enoent) {
  scratch();
  CHECK_ERRNO(xexecve(""), ENOENT);
}

TEST(execve_directory_eacces) {
  CHECK_OK(mkdir(P("d"), 0755));
  CHECK_ERRNO(xexecve(P("d")), EACCES);
  CHECK_ERRNO(xexecve(scratch()), EACCES);
  CHECK_ERRNO(xexecve("/"), EACCES);
}

TEST(execve_non_executable_file_eacces) {
  put_file(P("noexec"), "#!/bin/sh\nexit 0\n", 0644);
  CHECK_ERRNO(xexecve(P("noexec")), EACCES);
  put_file(P("none"), GARBAGE, 0);
  CHECK_ERRNO(xexecve(P("none")), EACCES);
}

TEST(execve_special_file_eacces) {
  CHECK_OK(mkfifo(P("fifo"), 0755));
  CHECK_ERRNO(xexecve(P("fifo")), EACCES);
}

TEST(execve_garbage_executable_enoexec) {
  put_file(P("garbage"), GARBAGE, 0755);
  CHECK_ERRNO(xexecve(P("garbage")), ENOEXEC);
  /* an empty file is in no format either */
  put_file(P("empty"), "", 0755);
  CHECK_ERRNO(xexecve(P("empty")), ENOEXEC);
  /* nor is a truncated ELF header */
  put_file(P("elf"), "\177ELF\002\001\001", 0755);
  CHECK_ERRNO(xexecve(P("elf")), ENOEXEC);
}

TEST(execve_through_file_enotdir) {
  put_file(P("f"), GARBAGE, 0755);
  CHECK_ERRNO(xexecve(P("f/prog")), ENOTDIR);
  CHECK_ERRNO(xexecve(P("f/")), ENOTDIR);
}

TEST(execve_symlink_loop_eloop) {
  CHECK_OK(symlink("b", P("a")));
  CHECK_OK(symlink("a", P("b")));
  CHECK_ERRNO(xexecve(P("a")), ELOOP);
  /* a dangling symlink is a missing file */
  CHECK_OK(symlink("nowhere", P("dangling")));
  CHECK_ERRNO(xexecve(P("dangling")), ENOENT);
}

TEST(execve_name_too_long) {
  char name[301];
  memset(name, 'e', 300);
  name[300] = 0;
  CHECK_ERRNO(xexecve(P(name)), ENAMETOOLONG);
  static char path[5001];
  for (int i = 0; i < 5000; i++) path[i] = (i % 2) ? 'p' : '/';
  path[5000] = 0;
  CHECK_ERRNO(xexecve(path), ENAMETOOLONG);
}

TEST(execve_script_missing_interpreter_enoent) {
  char script[600];
  snprintf(script, sizeof script, "#!%s\n", P("no-such-interpreter"));
  put_file(P("script"), script, 0755);
  CHECK_ERRNO(xexecve(P("script")), ENOENT);
}

TEST(execve_script_interpreter_is_directory_eacces) {
  CHECK_OK(mkdir(P("interp"), 0755));
  char script[600];
  snprintf(script, sizeof script, "#!%s -x\n", P("interp"));
  put_file(P("script"), script, 0755);
  CHECK_ERRNO(xexecve(P("script")), EACCES);
}

TEST(execve_script_interpreter_not_executable) {
  put_file(P("interp"), GARBAGE, 0755);
  put_file(P("interp2"), "#!/bin/sh\n", 0644);
  char script[600];
  /* the interpreter itself is in no known format */
  snprintf(script, sizeof script, "#!%s\n", P("interp"));
  put_file(P("s1"), script, 0755);
  CHECK_ERRNO(xexecve(P("s1")), ENOEXEC);
  /* the interpreter has no execute permission */
  snprintf(script, sizeof script, "#!%s\n", P("interp2"));
  put_file(P("s2"), script, 0755);
  CHECK_ERRNO(xexecve(P("s2")), EACCES);
}

TEST(execveat_errors) {
  put_file(P("garbage"), GARBAGE, 0755);
  CHECK_OK(symlink("garbage", P("l")));
  int dfd = must_open(scratch(), O_RDONLY | O_DIRECTORY, 0);
  CHECK_ERRNO(xexecveat(dfd, "garbage", 0), ENOEXEC);
  CHECK_ERRNO(xexecveat(dfd, "missing", 0), ENOENT);
  CHECK_ERRNO(xexecveat(dfd, "garbage", 0x1), EINVAL);
  CHECK_ERRNO(xexecveat(dfd, "l", AT_SYMLINK_NOFOLLOW), ELOOP);
  CHECK_ERRNO(xexecveat(-1, "garbage", 0), EBADF);
  int fd = must_open(P("garbage"), O_RDONLY, 0);
  CHECK_ERRNO(xexecveat(fd, "x", 0), ENOTDIR);
  /* AT_EMPTY_PATH executes the file dirfd refers to */
  CHECK_ERRNO(xexecveat(fd, "", AT_EMPTY_PATH), ENOEXEC);
  close(fd);
  close(dfd);
}

TEST(execve_file_open_for_writing_etxtbsy) {
  put_file(P("busy"), GARBAGE, 0755);
  int w = must_open(P("busy"), O_WRONLY, 0);
  CHECK_ERRNO(xexecve(P("busy")), ETXTBSY);
  close(w);
  /* with the writer gone the file is just in no known format */
  CHECK_ERRNO(xexecve(P("busy")), ENOEXEC);
}

TEST(open_running_executable_for_writing_etxtbsy) {
  scratch();
  /* open(2) ETXTBSY: the image being executed cannot be opened for writing.
   * O_WRONLY without O_TRUNC, so the binary is left as it is either way. */
  CHECK_ERRNO(syscall(SYS_open, "/proc/self/exe", O_WRONLY | O_CLOEXEC), ETXTBSY);
  long fd = syscall(SYS_open, "/proc/self/exe", O_RDONLY | O_CLOEXEC);
  CHECK(fd >= 0);
  close(fd);
}
