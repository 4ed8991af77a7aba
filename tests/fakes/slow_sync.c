/* An LD_PRELOAD shim that makes fdatasync slow, to show that a request waits for it.
 *
 * For a file under the directory named by OCEANUS_SLOW_SYNC_DIR, fdatasync sleeps
 * OCEANUS_SLOW_SYNC_MS (default 300) milliseconds before calling the real one, and appends
 * a line to OCEANUS_SLOW_SYNC_LOG (if set), so a test can tell the shim was in effect. Every
 * other file syncs as usual. Built by tests/integration/test_limits.py with
 * `cc -shared -fPIC -o slow_sync.so slow_sync.c -ldl`.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int under_slow_dir(int fd) {
  const char* dir = getenv("OCEANUS_SLOW_SYNC_DIR");
  if (dir == NULL || dir[0] == '\0') return 0;
  char link[64], path[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return 0;
  path[n] = '\0';
  const size_t len = strlen(dir);
  return strncmp(path, dir, len) == 0 && (path[len] == '/' || path[len] == '\0');
}

int fdatasync(int fd) {
  static int (*real)(int) = NULL;
  if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  if (under_slow_dir(fd)) {
    const char* ms_text = getenv("OCEANUS_SLOW_SYNC_MS");
    const long ms = ms_text != NULL ? atol(ms_text) : 300;
    struct timespec delay = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&delay, &delay) != 0 && errno == EINTR) {
    }
    const char* log = getenv("OCEANUS_SLOW_SYNC_LOG");
    if (log != NULL) {
      const int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (out >= 0) {
        (void)!write(out, "sync\n", 5);
        close(out);
      }
    }
  }
  return real(fd);
}
