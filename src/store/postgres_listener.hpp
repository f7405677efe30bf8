#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "store/postgres_connection.hpp"
#include "store/store.hpp"

namespace ferry {

// What PostgresStore writes into pg_notify on the ferry_changes channel, in
// the transaction that makes the change, so others hear of it only once it
// is committed. The payload names the sending store instance, so that each
// can tell its own changes apart:
//
//   <node>|due                  deliveries may be due now
//   <node>|endpoints|<ws>       workspace <ws> or its endpoints changed
//   <node>|catalogs             a catalog or an event type changed
std::string pg_deliveries_due_payload(std::string_view node_id);
std::string pg_catalogs_changed_payload(std::string_view node_id);
std::string pg_endpoints_changed_payload(std::string_view node_id, std::string_view workspace_id);

// A payload decoded; nullopt when it came from `own_node_id`. Payloads that
// are not understood read as everything_changed.
std::optional<StoreChange> parse_pg_change(std::string_view payload, std::string_view own_node_id);

// Listens on the ferry_changes channel with a connection of its own and
// hands what other store instances changed to the watcher, on its own
// thread. When the connection is lost it reconnects with backoff and then
// reports everything_changed, since notifications sent meanwhile are gone.
class PgListener {
 public:
  // Tries once to LISTEN before returning, so that a caller that loads its
  // state after this hears of every change committed after that load. When
  // that first try fails, the thread keeps trying and reports
  // everything_changed once it succeeds.
  PgListener(PgConnectOptions options, std::string node_id, StoreWatcher watcher);
  // Stops and joins the thread.
  ~PgListener();
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

 private:
  // A connection that LISTENs, or nullptr.
  PGconn* connect_and_listen() const;
  void run(PGconn* listening);
  // Listens on `conn` until it is lost or stop is asked; true when stopping.
  bool listen(PGconn* conn);
  // Sleeps up to `ms`, or less when stop is asked; true when stopping.
  bool pause(int ms);
  void deliver(const StoreChange& change);

  const PgConnectOptions options_;
  const std::string node_id_;
  const StoreWatcher watcher_;
  std::atomic<bool> stopping_{false};
  int wake_[2] = {-1, -1};  // a pipe: writing to it interrupts poll()
  std::thread thread_;
};

}  // namespace ferry
