#include "store/sqlite_checkpointer.hpp"

#include <sqlite3.h>

namespace ferry {

Result<std::unique_ptr<SqliteCheckpointer>> SqliteCheckpointer::attach(const std::string& path,
                                                                       SqliteConnection& writer) {
  auto connection = SqliteConnection::open(path, SqliteConnection::Role::checkpointer);
  if (!connection) return connection.error();
  return std::unique_ptr<SqliteCheckpointer>(new SqliteCheckpointer(std::move(*connection), writer));
}

SqliteCheckpointer::SqliteCheckpointer(std::unique_ptr<SqliteConnection> connection, SqliteConnection& writer)
    : connection_(std::move(connection)), writer_(&writer) {
  thread_ = std::thread([this] { run(); });
  // Replaces the writer's automatic checkpoint (sqlite3_wal_hook and
  // sqlite3_wal_autocheckpoint share one slot).
  sqlite3_wal_hook(writer_->handle(), &SqliteCheckpointer::on_commit, this);
}

SqliteCheckpointer::~SqliteCheckpointer() { detach(); }

void SqliteCheckpointer::detach() {
  if (writer_ != nullptr) {
    sqlite3_wal_autocheckpoint(writer_->handle(), kPagesBeforeCheckpoint);
    writer_ = nullptr;
  }
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

// Runs on the writer's thread, right after each commit, with the writer's
// mutex held: it only signals.
int SqliteCheckpointer::on_commit(void* self, sqlite3* /*db*/, const char* /*database*/, int wal_pages) {
  auto* checkpointer = static_cast<SqliteCheckpointer*>(self);
  if (wal_pages >= kPagesBeforeCheckpoint) {
    {
      std::lock_guard lock(checkpointer->mutex_);
      checkpointer->requested_ = true;
    }
    checkpointer->wake_.notify_one();
  }
  return SQLITE_OK;
}

void SqliteCheckpointer::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return requested_ || stopping_; });
    if (stopping_) return;
    requested_ = false;
    lock.unlock();
    // PASSIVE copies what no reader still needs and never waits; SQLITE_BUSY
    // (another checkpoint running) is not an error worth more than the next try.
    sqlite3_wal_checkpoint_v2(connection_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lock.lock();
  }
}

}  // namespace ferry
