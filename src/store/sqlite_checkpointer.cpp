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
// mutex held: it signals, or finishes what the thread left.
int SqliteCheckpointer::on_commit(void* self, sqlite3* db, const char* /*database*/, int wal_pages) {
  auto* checkpointer = static_cast<SqliteCheckpointer*>(self);
  if (wal_pages < kPagesBeforeCheckpoint) return SQLITE_OK;
  const int behind = wal_pages - checkpointer->copied_up_to_.load(std::memory_order_relaxed);
  if (behind <= kPagesTheWriterFinishes || wal_pages >= kPagesTheWriterTakesOver) {
    // Copied to the end, the WAL starts over at the next write. Busy (the
    // thread is copying): the next commit tries again.
    if (sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr) == SQLITE_OK) {
      checkpointer->copied_up_to_.store(0, std::memory_order_relaxed);
    }
    return SQLITE_OK;
  }
  {
    std::lock_guard lock(checkpointer->mutex_);
    checkpointer->requested_ = true;
  }
  checkpointer->wake_.notify_one();
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
    int copied_frames = 0;
    if (sqlite3_wal_checkpoint_v2(connection_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, &copied_frames) ==
        SQLITE_OK) {
      copied_up_to_.store(copied_frames, std::memory_order_relaxed);
    }
    lock.lock();
  }
}

}  // namespace ferry
