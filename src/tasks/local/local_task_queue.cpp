// The SQLite task queue (see local_task_queue.h).
#include "tasks/local/local_task_queue.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <vector>

namespace oceanus::tasks {

namespace {

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

std::int64_t Ms(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

Status Error(sqlite3* db, const std::string& what) {
  const int code = sqlite3_extended_errcode(db);
  std::string msg = "tasks db: " + what + ": " + sqlite3_errmsg(db);
  const int primary = code & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_IOERR ||
      primary == SQLITE_FULL)
    return Status::Unavailable(std::move(msg));
  return Status::Internal(std::move(msg));
}

Result<Stmt> Prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) return Error(db, sql);
  return Stmt(raw);
}

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "?";
    sqlite3_free(err);
    Status s = Error(db, sql);
    return s.retryable() ? s : Status::Internal("tasks db: " + msg);
  }
  return Status::Ok();
}

void BindText(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

std::string ColumnText(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : "";
}

Result<std::unique_ptr<sqlite3, void (*)(sqlite3*)>> OpenDb(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<sqlite3, void (*)(sqlite3*)> db(raw, [](sqlite3* d) { sqlite3_close_v2(d); });
  if (rc != SQLITE_OK)
    return Status::IoError(path + ": cannot open the tasks database: " +
                           (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  sqlite3_busy_timeout(raw, 5000);
  return db;
}

// A transaction that rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {}
  ~Transaction() {
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Status Begin() {
    Status s = Exec(db_, "BEGIN IMMEDIATE");
    open_ = s.ok();
    return s;
  }
  Status Commit() {
    Status s = Exec(db_, "COMMIT");
    if (s.ok()) open_ = false;
    return s;
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

bool ProcessAlive(long pid) {
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

}  // namespace

Result<std::unique_ptr<LocalTaskQueue>> LocalTaskQueue::Open(const LocalTaskQueueConfig& config) {
  std::unique_ptr<LocalTaskQueue> q(new LocalTaskQueue());
  q->config_ = config;
  char host[256] = "localhost";
  ::gethostname(host, sizeof host - 1);
  q->host_ = host;
  q->owner_ = q->host_ + ":" + std::to_string(::getpid());
  for (Db* db : {&q->producer_, &q->consumer_}) {
    auto opened = OpenDb(config.path);
    if (!opened.ok()) return opened.status();
    db->reset(opened->release());
  }
  if (Status s = Exec(q->producer_.get(),
                      "PRAGMA journal_mode=WAL;"
                      "PRAGMA synchronous=FULL;"
                      "CREATE TABLE IF NOT EXISTS tasks ("
                      "  id TEXT PRIMARY KEY,"
                      "  action TEXT NOT NULL,"
                      "  body TEXT NOT NULL,"           // EncodeTask of the latest state
                      "  state TEXT NOT NULL,"          // queued | running | done | dead
                      "  not_before INTEGER NOT NULL,"  // unix ms
                      "  attempts INTEGER NOT NULL DEFAULT 0,"
                      "  last_error TEXT NOT NULL DEFAULT '',"
                      "  owner TEXT,"           // host:pid while running
                      "  lease_until INTEGER,"  // unix ms while running
                      "  created INTEGER NOT NULL,"
                      "  updated INTEGER NOT NULL);"
                      "CREATE INDEX IF NOT EXISTS tasks_by_state ON tasks(state, not_before);");
      !s.ok())
    return Status::IoError(config.path + ": " + s.message());
  for (Db* db : {&q->producer_, &q->consumer_})
    if (Status s = Exec(db->get(), "PRAGMA synchronous=FULL"); !s.ok()) return s;
  return q;
}

LocalTaskQueue::~LocalTaskQueue() = default;

Status LocalTaskQueue::Enqueue(const Task& task) {
  {
    std::lock_guard lock(producer_mu_);
    auto stmt = Prepare(producer_.get(),
                        "INSERT OR IGNORE INTO tasks(id, action, body, state, not_before, "
                        "attempts, last_error, created, updated) "
                        "VALUES(?, ?, ?, 'queued', ?, ?, ?, ?, ?)");
    if (!stmt.ok()) return stmt.status();
    sqlite3_stmt* s = stmt->get();
    const std::int64_t now = NowMs();
    BindText(s, 1, task.id);
    BindText(s, 2, task.action);
    BindText(s, 3, EncodeTask(task));
    sqlite3_bind_int64(s, 4, Ms(task.not_before));
    sqlite3_bind_int64(s, 5, task.attempts);
    BindText(s, 6, task.last_error);
    sqlite3_bind_int64(s, 7, now);
    sqlite3_bind_int64(s, 8, now);
    if (sqlite3_step(s) != SQLITE_DONE) return Error(producer_.get(), "enqueue " + task.id);
  }
  {
    std::lock_guard lock(wake_mu_);
    ++enqueued_;
  }
  wake_.notify_all();
  return Status::Ok();
}

Status LocalTaskQueue::Recover(std::int64_t now_ms) {
  auto stmt =
      Prepare(consumer_.get(), "SELECT id, owner, lease_until FROM tasks WHERE state = 'running'");
  if (!stmt.ok()) return stmt.status();
  std::vector<std::string> orphans;
  while (sqlite3_step(stmt->get()) == SQLITE_ROW) {
    const std::string owner = ColumnText(stmt->get(), 1);
    const std::int64_t lease = sqlite3_column_int64(stmt->get(), 2);
    bool gone = lease < now_ms;
    const std::size_t colon = owner.rfind(':');
    if (!gone && colon != std::string::npos && owner.substr(0, colon) == host_ && owner != owner_)
      gone = !ProcessAlive(std::atol(owner.c_str() + colon + 1));
    if (gone) orphans.push_back(ColumnText(stmt->get(), 0));
  }
  stmt->reset();
  for (const auto& id : orphans) {
    auto update = Prepare(consumer_.get(),
                          "UPDATE tasks SET state = 'queued', owner = NULL, lease_until = NULL, "
                          "updated = ? WHERE id = ? AND state = 'running'");
    if (!update.ok()) return update.status();
    sqlite3_bind_int64(update->get(), 1, now_ms);
    BindText(update->get(), 2, id);
    if (sqlite3_step(update->get()) != SQLITE_DONE) return Error(consumer_.get(), "recover " + id);
  }
  return Status::Ok();
}

Result<std::vector<Task>> LocalTaskQueue::TakeDue(std::size_t max, std::int64_t now_ms,
                                                  std::int64_t* next_due_ms) {
  std::vector<Task> out;
  Transaction tx(consumer_.get());
  if (Status s = tx.Begin(); !s.ok()) return s;
  auto select = Prepare(consumer_.get(),
                        "SELECT rowid, body, attempts, last_error, not_before FROM tasks "
                        "WHERE state = 'queued' ORDER BY not_before LIMIT ?");
  if (!select.ok()) return select.status();
  sqlite3_bind_int64(select->get(), 1, static_cast<std::int64_t>(max));
  *next_due_ms = -1;
  while (sqlite3_step(select->get()) == SQLITE_ROW) {
    const std::int64_t not_before = sqlite3_column_int64(select->get(), 4);
    if (not_before > now_ms) {
      *next_due_ms = not_before;
      break;
    }
    auto task = DecodeTask(ColumnText(select->get(), 1));
    if (!task.ok()) continue;  // cannot happen: we wrote it; skipped rather than crash
    task->handle = static_cast<std::uint64_t>(sqlite3_column_int64(select->get(), 0));
    task->attempts = static_cast<unsigned>(sqlite3_column_int64(select->get(), 2));
    task->last_error = ColumnText(select->get(), 3);
    out.push_back(std::move(task).value());
  }
  select->reset();
  for (const auto& t : out) {
    auto update = Prepare(consumer_.get(),
                          "UPDATE tasks SET state = 'running', owner = ?, lease_until = ?, "
                          "updated = ? WHERE rowid = ?");
    if (!update.ok()) return update.status();
    BindText(update->get(), 1, owner_);
    sqlite3_bind_int64(update->get(), 2, now_ms + config_.lease.count());
    sqlite3_bind_int64(update->get(), 3, now_ms);
    sqlite3_bind_int64(update->get(), 4, static_cast<std::int64_t>(t.handle));
    if (sqlite3_step(update->get()) != SQLITE_DONE) return Error(consumer_.get(), "take " + t.id);
  }
  if (Status s = tx.Commit(); !s.ok()) return s;
  return out;
}

Result<std::vector<Task>> LocalTaskQueue::Take(std::size_t max, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    std::uint64_t seen;
    {
      std::lock_guard lock(wake_mu_);
      seen = enqueued_;
    }
    const std::int64_t now = NowMs();
    if (now >= next_recover_ms_) {
      if (Status s = Recover(now); !s.ok()) return s;
      next_recover_ms_ = now + 1000;
    }
    if (now >= next_cleanup_ms_) {
      auto del = Prepare(consumer_.get(), "DELETE FROM tasks WHERE state = 'done' AND updated < ?");
      if (del.ok()) {
        sqlite3_bind_int64(del->get(), 1, now - 7LL * 24 * 3600 * 1000);
        sqlite3_step(del->get());
      }
      next_cleanup_ms_ = now + 3600 * 1000;
    }
    std::int64_t next_due = -1;
    auto taken = TakeDue(max, now, &next_due);
    if (!taken.ok() || !taken->empty()) return taken;
    const auto now_steady = std::chrono::steady_clock::now();
    if (now_steady >= deadline) return taken;
    // Sleep until something is enqueued here, the next task is due, or (for tasks that
    // other processes enqueue, and for recovery) a short poll interval has passed.
    auto until = std::min(deadline, now_steady + std::chrono::milliseconds(250));
    if (next_due >= 0)
      until = std::min(until, now_steady + std::chrono::milliseconds(next_due - now));
    std::unique_lock lock(wake_mu_);
    wake_.wait_until(lock, until, [&] { return enqueued_ != seen; });
  }
}

Status LocalTaskQueue::Settle(const Task& task, const char* state, std::int64_t not_before_ms) {
  auto stmt = Prepare(consumer_.get(),
                      "UPDATE tasks SET state = ?, body = ?, attempts = ?, last_error = ?, "
                      "not_before = ?, owner = NULL, lease_until = NULL, updated = ? "
                      "WHERE rowid = ? AND owner = ?");
  if (!stmt.ok()) return stmt.status();
  sqlite3_stmt* s = stmt->get();
  sqlite3_bind_text(s, 1, state, -1, SQLITE_STATIC);
  BindText(s, 2, EncodeTask(task));
  sqlite3_bind_int64(s, 3, task.attempts);
  BindText(s, 4, task.last_error);
  sqlite3_bind_int64(s, 5, not_before_ms);
  sqlite3_bind_int64(s, 6, NowMs());
  sqlite3_bind_int64(s, 7, static_cast<std::int64_t>(task.handle));
  BindText(s, 8, owner_);
  if (sqlite3_step(s) != SQLITE_DONE)
    return Error(consumer_.get(), std::string(state) + " " + task.id);
  if (sqlite3_changes(consumer_.get()) == 0)
    return Status::NotFound("task " + task.id +
                            " is no longer held by this worker (lease expired?)");
  return Status::Ok();
}

Status LocalTaskQueue::Done(const Task& task) { return Settle(task, "done", Ms(task.not_before)); }
Status LocalTaskQueue::Retry(const Task& task) {
  Status s = Settle(task, "queued", Ms(task.not_before));
  if (s.ok()) {
    std::lock_guard lock(wake_mu_);
    ++enqueued_;
  }
  return s;
}
Status LocalTaskQueue::Bury(const Task& task) { return Settle(task, "dead", Ms(task.not_before)); }

Result<TaskQueueCounts> LocalTaskQueue::Counts() {
  std::lock_guard lock(producer_mu_);
  auto stmt = Prepare(producer_.get(), "SELECT state, count(*) FROM tasks GROUP BY state");
  if (!stmt.ok()) return stmt.status();
  TaskQueueCounts c;
  while (sqlite3_step(stmt->get()) == SQLITE_ROW) {
    const std::string state = ColumnText(stmt->get(), 0);
    const auto n = static_cast<std::size_t>(sqlite3_column_int64(stmt->get(), 1));
    if (state == "queued") c.queued = n;
    if (state == "running") c.running = n;
    if (state == "dead") c.dead = n;
  }
  return c;
}

Result<std::vector<Task>> LocalTaskQueue::SelectDead(std::size_t max,
                                                     const DeadTaskFilter& filter) {
  auto stmt = Prepare(producer_.get(),
                      "SELECT rowid, body, attempts, last_error FROM tasks WHERE state = 'dead' "
                      "AND (?1 IS NULL OR action = ?1) AND (?2 IS NULL OR id = ?2) "
                      "ORDER BY updated DESC LIMIT ?3");
  if (!stmt.ok()) return stmt.status();
  sqlite3_stmt* s = stmt->get();
  if (filter.action) BindText(s, 1, *filter.action);
  if (filter.id) BindText(s, 2, *filter.id);
  sqlite3_bind_int64(s, 3, static_cast<std::int64_t>(std::min<std::size_t>(max, INT64_MAX)));
  std::vector<Task> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    auto t = DecodeTask(ColumnText(s, 1));
    if (!t.ok()) continue;  // cannot happen: we wrote it
    t->handle = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
    t->attempts = static_cast<unsigned>(sqlite3_column_int64(s, 2));
    t->last_error = ColumnText(s, 3);
    out.push_back(std::move(t).value());
  }
  if (rc != SQLITE_DONE) return Error(producer_.get(), "read the dead tasks");
  return out;
}

Result<std::vector<Task>> LocalTaskQueue::DeadTasks(std::size_t max, const DeadTaskFilter& filter) {
  std::lock_guard lock(producer_mu_);
  return SelectDead(max, filter);
}

// Select and update in one IMMEDIATE transaction: no other connection (a worker burying, a
// second retry-tasks) writes between them, and `state = 'dead'` in the update makes a row
// that is no longer dead count for nothing.
Result<std::size_t> LocalTaskQueue::ReviveDead(const DeadTaskFilter& filter) {
  std::size_t revived = 0;
  {
    std::lock_guard lock(producer_mu_);
    Transaction tx(producer_.get());
    if (Status s = tx.Begin(); !s.ok()) return s;
    auto dead = SelectDead(SIZE_MAX, filter);
    if (!dead.ok()) return dead.status();
    auto update = Prepare(producer_.get(),
                          "UPDATE tasks SET state = 'queued', body = ?, attempts = 0, "
                          "not_before = ?, owner = NULL, lease_until = NULL, updated = ? "
                          "WHERE rowid = ? AND state = 'dead'");
    if (!update.ok()) return update.status();
    sqlite3_stmt* s = update->get();
    const std::int64_t now = NowMs();
    for (Task& task : *dead) {
      task.attempts = 0;
      task.not_before = Clock::time_point(std::chrono::milliseconds(now));
      BindText(s, 1, EncodeTask(task));
      sqlite3_bind_int64(s, 2, now);
      sqlite3_bind_int64(s, 3, now);
      sqlite3_bind_int64(s, 4, static_cast<std::int64_t>(task.handle));
      if (sqlite3_step(s) != SQLITE_DONE) return Error(producer_.get(), "revive " + task.id);
      revived += static_cast<std::size_t>(sqlite3_changes(producer_.get()));
      sqlite3_reset(s);
    }
    if (Status s = tx.Commit(); !s.ok()) return s;
  }
  if (revived > 0) {
    {
      std::lock_guard lock(wake_mu_);
      ++enqueued_;
    }
    wake_.notify_all();
  }
  return revived;
}

}  // namespace oceanus::tasks
