#include "store/sqlite_checkpointer.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "unit/store_test_support.hpp"

namespace ferry {
namespace {

// Writes `pages` pages' worth of rows in one transaction.
void write_pages(SqliteConnection& db, int pages) {
  ASSERT_TRUE(db.exec("BEGIN IMMEDIATE").ok());
  for (int i = 0; i < pages; ++i) {
    ASSERT_TRUE(db.exec("INSERT INTO filler (data) VALUES (randomblob(3900))").ok());
  }
  ASSERT_TRUE(db.exec("COMMIT").ok());
}

std::uintmax_t size_of(const std::filesystem::path& file) {
  std::error_code error;
  const auto size = std::filesystem::file_size(file, error);
  return error ? 0 : size;
}

// The writer's commits hand the WAL over to the checkpointer's thread, which
// copies it into the database file while the writer goes on.
TEST(SqliteCheckpointer, CopiesTheWalIntoTheDatabaseOffTheWritersCommits) {
  TempDir dir;
  const auto path = dir.path() / "checkpoint.db";
  auto writer = SqliteConnection::open(path.string(), SqliteConnection::Role::writer);
  ASSERT_TRUE(writer.ok()) << writer.error().message;
  ASSERT_TRUE((*writer)->exec("CREATE TABLE filler (data BLOB)").ok());
  auto checkpointer = SqliteCheckpointer::attach(path.string(), **writer);
  ASSERT_TRUE(checkpointer.ok()) << checkpointer.error().message;

  const auto before = size_of(path);
  write_pages(**writer, SqliteCheckpointer::kPagesBeforeCheckpoint + 200);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (size_of(path) < before + 1000 * 4096 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(size_of(path), before + 1000 * 4096) << "the WAL never reached the database file";

  // Detached, the writer checkpoints by itself again (SQLite's default).
  (*checkpointer)->detach();
  const auto detached = size_of(path);
  write_pages(**writer, SqliteCheckpointer::kPagesBeforeCheckpoint + 200);
  EXPECT_GE(size_of(path), detached + 1000 * 4096);
}

// A steady stream of small commits keeps the WAL from being copied back to
// its end by the thread alone; the writer finishes the job, so the WAL
// starts over instead of growing with every commit.
TEST(SqliteCheckpointer, TheWalStartsOverUnderASteadyStreamOfCommits) {
  TempDir dir;
  const auto path = dir.path() / "stream.db";
  auto writer = SqliteConnection::open(path.string(), SqliteConnection::Role::writer);
  ASSERT_TRUE(writer.ok()) << writer.error().message;
  ASSERT_TRUE((*writer)->exec("PRAGMA synchronous=OFF").ok());  // the test is about the WAL, not the disk
  ASSERT_TRUE((*writer)->exec("CREATE TABLE filler (data BLOB)").ok());
  auto checkpointer = SqliteCheckpointer::attach(path.string(), **writer);
  ASSERT_TRUE(checkpointer.ok()) << checkpointer.error().message;

  constexpr int kCommits = 20000;
  std::uintmax_t largest_wal = 0;
  const auto wal = dir.path() / "stream.db-wal";
  for (int i = 0; i < kCommits; ++i) {
    ASSERT_TRUE((*writer)->exec("INSERT INTO filler (data) VALUES (randomblob(3000))").ok());
    if (i % 100 == 0) largest_wal = std::max(largest_wal, size_of(wal));
  }
  // At least a page per commit: without starting over the WAL would hold
  // kCommits pages (250 MB were seen). On a starved machine the checkpointer
  // thread can hold the checkpoint while the writer wants to take over, so
  // the WAL may overshoot the takeover point (34 MB were seen beside two
  // parallel builds on 2 cores); 4 times that point still tells the two apart.
  const std::uintmax_t bound = 4 * (SqliteCheckpointer::kPagesTheWriterTakesOver + 1) * 4096;
  EXPECT_LT(largest_wal, bound) << "the WAL grew with the commits";
  EXPECT_LT(size_of(wal), bound);
}

}  // namespace
}  // namespace ferry
