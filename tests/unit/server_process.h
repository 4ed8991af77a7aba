// The process handling shared by the test fixtures that run a real server (RabbitMQ,
// PostgreSQL, ClickHouse) as a plain process rather than as a system service: a free loopback
// port, the server's system user, starting a program as that user with its output in a log
// file, waiting for it and stopping it, and the tail of a log for a failure message.
//
// Every server is started with a parent-death signal, set after the uid change (which clears
// it), so a test that crashes or times out leaves no server behind; it also runs in its own
// process group, so a ^C at the terminal reaches it only through that signal. A server is
// stopped by its PID alone (never by name), so tests running in parallel, and any server of
// the system, are left alone.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace oceanus::testing {

// A TCP port on 127.0.0.1 that nothing listens on right now (bound to 0, read back, closed).
inline std::uint16_t FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

// Whether something accepts TCP connections on 127.0.0.1:port.
inline bool LoopbackPortOpen(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool open = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return open;
}

// The system user a server runs as (rabbitmq, postgres, clickhouse).
struct SystemUser {
  uid_t uid = 0;
  gid_t gid = 0;
};

// The user `name` from the password database; nullopt if there is none.
inline std::optional<SystemUser> FindSystemUser(const char* name) {
  passwd* pw = ::getpwnam(name);
  if (pw == nullptr) return std::nullopt;
  return SystemUser{pw->pw_uid, pw->pw_gid};
}

// Gives `dir` and everything below it (links themselves, not their targets) to `user`.
inline void ChownTree(const std::filesystem::path& dir, const SystemUser& user) {
  (void)!::chown(dir.c_str(), user.uid, user.gid);
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    (void)!::lchown(e.path().c_str(), user.uid, user.gid);
}

// Forks and execs `argv` (argv[0] a full path) as `user` with exactly `env`, in `cwd`, stdin
// from /dev/null and stdout and stderr appended to `log` (made and given to `user`). The child
// gets `death_signal` when the test process dies. The child's PID, or -1 if fork failed; a
// child that cannot change user or directory exits with 126, one that cannot exec with 127.
inline pid_t RunAsUser(const SystemUser& user, const std::vector<std::string>& argv,
                       const std::vector<std::string>& env, const std::filesystem::path& cwd,
                       const std::filesystem::path& log, int death_signal) {
  // Everything the child needs is made before fork: it may only make system calls.
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const std::string dir = cwd.string();
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) (void)!::fchown(fd, user.uid, user.gid);
  const pid_t parent = ::getpid();
  const uid_t uid = user.uid;
  const gid_t gid = user.gid;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(null_fd, 0);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::setpgid(0, 0);  // not in the test's process group: ^C reaches it via the death signal
    if (::setgroups(1, &gid) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) ::_exit(126);
    ::prctl(PR_SET_PDEATHSIG, death_signal);  // after the uid change, which would clear it
    if (::getppid() != parent) ::_exit(0);    // the test died before the signal was set
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  if (fd >= 0) ::close(fd);
  if (null_fd >= 0) ::close(null_fd);
  return pid;
}

// Whether the child `pid` has exited (it is reaped if so); does not wait.
inline bool ProcessExited(pid_t pid) {
  int status;
  return ::waitpid(pid, &status, WNOHANG) == pid;
}

// Waits up to `limit` for the child `pid` to exit (reaping it). True once it has exited or
// is no child of ours; false if it still runs.
inline bool WaitExit(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || r < 0) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// How a wait for a started server ended.
enum class Readiness { kReady, kExited, kTimedOut };

// Polls, every `every`, whether the child `pid` has exited (it is reaped then) and, while it
// runs, `ready()` (the server answers), until one of them holds or `deadline` has passed.
template <class Ready>
Readiness WaitReady(pid_t pid, std::chrono::steady_clock::time_point deadline,
                    std::chrono::milliseconds every, Ready ready) {
  for (;;) {
    if (ProcessExited(pid)) return Readiness::kExited;
    if (ready()) return Readiness::kReady;
    if (std::chrono::steady_clock::now() > deadline) return Readiness::kTimedOut;
    std::this_thread::sleep_for(every);
  }
}

// Sends `first_signal` to the child `pid` and waits up to `limit` for it to exit; if it still
// runs, SIGKILLs it and `also_kill` (processes it left, found before) and waits up to 5 s more.
inline void StopByPid(pid_t pid, int first_signal, std::chrono::milliseconds limit,
                      const std::vector<pid_t>& also_kill = {}) {
  ::kill(pid, first_signal);
  if (!WaitExit(pid, limit)) {
    ::kill(pid, SIGKILL);
    for (pid_t p : also_kill) ::kill(p, SIGKILL);
    WaitExit(pid, std::chrono::seconds(5));
  }
}

// The whole content of `path` as it is (empty if it cannot be read).
inline std::string FileText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The last 3,000 characters of `text`: enough of a server's log to see why it failed.
inline std::string Tail(const std::string& text) {
  constexpr std::size_t kMax = 3000;
  return text.size() > kMax ? text.substr(text.size() - kMax) : text;
}

// The last 3,000 characters of the file `path`.
inline std::string TailOf(const std::filesystem::path& path) { return Tail(FileText(path)); }

}  // namespace oceanus::testing
