#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/result.hpp"
#include "store/sqlite_connection.hpp"

namespace ferry {

// Moves the WAL's pages into the database file on a thread of its own.
//
// SQLite's automatic checkpoint runs inside the COMMIT that pushes the WAL
// past 1,000 pages, on the writer: that commit (a publish, say) then waits
// for thousands of pages to be copied and the file flushed. Attached to the
// writer, this takes that job over: the writer's commit only notes the
// WAL's size, and this thread runs a PASSIVE checkpoint on a connection of
// its own, which never blocks the writer nor the readers.
class SqliteCheckpointer {
 public:
  // Opens its connection to `path` and starts the thread; from then on
  // `writer` no longer checkpoints by itself. Detach before closing `writer`.
  static Result<std::unique_ptr<SqliteCheckpointer>> attach(const std::string& path, SqliteConnection& writer);
  ~SqliteCheckpointer();
  SqliteCheckpointer(const SqliteCheckpointer&) = delete;
  SqliteCheckpointer& operator=(const SqliteCheckpointer&) = delete;

  // Gives the writer its own automatic checkpoint back and stops the thread.
  void detach();

  // WAL pages past which a checkpoint is started (SQLite's own default).
  static constexpr int kPagesBeforeCheckpoint = 1000;

 private:
  SqliteCheckpointer(std::unique_ptr<SqliteConnection> connection, SqliteConnection& writer);
  static int on_commit(void* self, sqlite3* db, const char* database, int wal_pages);
  void run();

  std::unique_ptr<SqliteConnection> connection_;
  SqliteConnection* writer_;  // null once detached
  std::mutex mutex_;
  std::condition_variable wake_;
  bool requested_ = false;  // guarded by mutex_
  bool stopping_ = false;   // guarded by mutex_
  std::thread thread_;
};

}  // namespace ferry
