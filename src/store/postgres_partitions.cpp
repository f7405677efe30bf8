#include "store/postgres_partitions.hpp"

#include <chrono>
#include <cstdio>
#include <vector>

#include "store/postgres_connection.hpp"

namespace ferry {

namespace {

// Serialises partition changes between processes (see PgPartitions).
constexpr std::int64_t kPartitionLock = 0x6665727279'02;  // "ferry", 2

std::string bound(std::int64_t day) {
  std::int64_t ms = 0;
  if (__builtin_mul_overflow(day, kPgDayMs, &ms)) return day < 0 ? "MINVALUE" : "MAXVALUE";
  return std::to_string(ms);
}

// A new partition is built as a table of its own and then attached, so
// that the parent is only locked SHARE UPDATE EXCLUSIVE, which publishes and
// readers pass through (CREATE TABLE ... PARTITION OF would lock it
// exclusively). Run under the advisory lock, so no other process creates it
// meanwhile.
std::string create_statement(std::string_view table, std::int64_t day) {
  const std::string name = pg_partition_name(table, day);
  return "DO $ferry$ BEGIN IF to_regclass('" + name + "') IS NULL THEN CREATE TABLE " + name + " (LIKE " +
         std::string(table) + " INCLUDING ALL); ALTER TABLE " + std::string(table) + " ATTACH PARTITION " + name +
         " FOR VALUES FROM (" + bound(day) + ") TO (" + bound(day + 1) + "); END IF; END $ferry$;\n";
}

// Waiting for the parent's lock is bounded so that a long schema change
// never holds the caller up for long; the caller retries later.
std::string lock_statements() {
  return "SELECT pg_advisory_xact_lock(" + std::to_string(kPartitionLock) + ");\nSET LOCAL lock_timeout = '5s';\n";
}

}  // namespace

std::int64_t pg_day_of(UnixMillis ms) {
  std::int64_t day = ms / kPgDayMs;
  if (ms % kPgDayMs < 0) --day;
  return day;
}

std::string pg_partition_name(std::string_view table, std::int64_t day) {
  using namespace std::chrono;
  if (day >= -354'000 && day <= 2'932'896) {  // roughly the years 1000..9999
    const year_month_day date{sys_days{days{day}}};
    const int y = static_cast<int>(date.year());
    if (y >= 1000 && y <= 9999) {
      char digits[16];
      std::snprintf(digits, sizeof digits, "%04d%02u%02u", y, static_cast<unsigned>(date.month()),
                    static_cast<unsigned>(date.day()));
      return std::string(table) + "_p" + digits;
    }
  }
  std::string name(table);
  name += "_d";
  if (day < 0) name += 'm';
  name += std::to_string(day < 0 ? -day : day);
  return name;
}

std::optional<std::int64_t> pg_partition_day(std::string_view table, std::string_view name) {
  if (!name.starts_with(table) || name.size() != table.size() + 10 || name.substr(table.size(), 2) != "_p") {
    return std::nullopt;
  }
  const std::string_view digits = name.substr(table.size() + 2);
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  using namespace std::chrono;
  const int y = std::stoi(std::string(digits.substr(0, 4)));
  const unsigned m = static_cast<unsigned>(std::stoi(std::string(digits.substr(4, 2))));
  const unsigned d = static_cast<unsigned>(std::stoi(std::string(digits.substr(6, 2))));
  const year_month_day date{year{y}, month{m}, day{d}};
  if (!date.ok()) return std::nullopt;
  return sys_days{date}.time_since_epoch().count();
}

Status PgPartitions::ensure(PgConnection& connection, std::string_view table, const std::set<std::int64_t>& days) {
  std::vector<std::int64_t> missing;
  {
    std::lock_guard lock(mutex_);
    auto known = known_.find(table);
    for (std::int64_t day : days) {
      if (known == known_.end() || !known->second.contains(day)) missing.push_back(day);
    }
  }
  if (missing.empty()) return {};
  std::string sql = "BEGIN;\n" + lock_statements();
  for (std::int64_t day : missing) sql += create_statement(table, day);
  sql += "COMMIT;";
  if (auto created = connection.script(sql); !created) return created;
  std::lock_guard lock(mutex_);
  auto& known = known_[std::string(table)];
  known.insert(missing.begin(), missing.end());
  return {};
}

void PgPartitions::forget(std::string_view table) {
  std::lock_guard lock(mutex_);
  if (auto known = known_.find(table); known != known_.end()) known_.erase(known);
}

Result<std::int64_t> PgPartitions::drop_before(PgConnection& connection, std::string_view table, UnixMillis cutoff_ms) {
  PgParams params;
  params.text(table);
  auto listed = connection.query(
      "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
      "WHERE i.inhparent = $1::regclass ORDER BY 1",
      params);
  if (!listed) return listed.error();
  std::vector<std::pair<std::string, std::int64_t>> expired;
  for (int row = 0; row < listed->rows(); ++row) {
    std::string name = listed->text(row, 0);
    const auto day = pg_partition_day(table, name);
    if (!day) continue;  // not one of ours: left alone
    std::int64_t end = 0;
    if (__builtin_mul_overflow(*day + 1, kPgDayMs, &end) || end > cutoff_ms) continue;
    expired.emplace_back(std::move(name), *day);
  }
  if (expired.empty()) return std::int64_t{0};
  // DETACH ... CONCURRENTLY takes the parent only SHARE UPDATE EXCLUSIVE and
  // waits for the queries that may still see the partition, so publishes and
  // readers go on meanwhile; the DROP then locks only the detached table. It
  // cannot run in a transaction, so the advisory lock is a session one here.
  // A detach cut short (the connection lost) leaves the partition "detach
  // pending"; the next run finalizes it.
  PgParams lock_key;
  lock_key.integer(kPartitionLock);
  if (auto locked = connection.exec("SELECT pg_advisory_lock($1)", lock_key); !locked) return locked.error();
  Status outcome;
  for (const auto& [name, day] : expired) {
    PgParams pending_params;
    pending_params.text(name);
    auto pending = connection.query(
        "SELECT i.inhdetachpending FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE c.relname = $1",
        pending_params);
    if (!pending) {
      outcome = pending.error();
      break;
    }
    if (pending->rows() > 0) {
      const std::string how = pending->boolean(0, 0) ? " FINALIZE" : " CONCURRENTLY";
      if (auto detached = connection.script("ALTER TABLE " + std::string(table) + " DETACH PARTITION " + name + how);
          !detached) {
        outcome = detached;
        break;
      }
    }
    if (auto dropped = connection.script("DROP TABLE IF EXISTS " + name); !dropped) {
      outcome = dropped;
      break;
    }
  }
  if (!connection.lost()) {
    if (auto unlocked = connection.exec("SELECT pg_advisory_unlock($1)", lock_key); !unlocked && outcome) {
      outcome = unlocked;
    }
  }
  if (!outcome) return outcome.error();
  std::lock_guard lock(mutex_);
  if (auto known = known_.find(table); known != known_.end()) {
    for (const auto& [name, day] : expired) known->second.erase(day);
  }
  return static_cast<std::int64_t>(expired.size());
}

}  // namespace ferry
