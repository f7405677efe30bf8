#include "store/postgres_listener.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <utility>

namespace ferry {

namespace {

constexpr int kFirstBackoffMs = 100;
constexpr int kLongestBackoffMs = 5000;
// How often the loop looks at the stop flag even without a wake-up.
constexpr int kPollMs = 1000;

StoreChange everything_changed() {
  StoreChange change;
  change.kind = StoreChange::Kind::everything_changed;
  return change;
}

}  // namespace

std::string pg_deliveries_due_payload(std::string_view node_id) { return std::string(node_id) + "|due"; }

std::string pg_catalogs_changed_payload(std::string_view node_id) { return std::string(node_id) + "|catalogs"; }

std::string pg_endpoints_changed_payload(std::string_view node_id, std::string_view workspace_id) {
  return std::string(node_id) + "|endpoints|" + std::string(workspace_id);
}

std::optional<StoreChange> parse_pg_change(std::string_view payload, std::string_view own_node_id) {
  const auto bar = payload.find('|');
  if (bar == std::string_view::npos) return everything_changed();
  if (payload.substr(0, bar) == own_node_id) return std::nullopt;
  const std::string_view rest = payload.substr(bar + 1);
  StoreChange change;
  if (rest == "due") {
    change.kind = StoreChange::Kind::deliveries_due;
    return change;
  }
  if (rest == "catalogs") {
    change.kind = StoreChange::Kind::catalogs_changed;
    return change;
  }
  constexpr std::string_view kEndpoints = "endpoints|";
  if (rest.starts_with(kEndpoints)) {
    change.kind = StoreChange::Kind::endpoints_changed;
    change.workspace_id = std::string(rest.substr(kEndpoints.size()));
    return change;
  }
  return everything_changed();
}

PgListener::PgListener(PgConnectOptions options, std::string node_id, StoreWatcher watcher)
    : options_(std::move(options)), node_id_(std::move(node_id)), watcher_(std::move(watcher)) {
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;  // then poll() times out instead
  PGconn* listening = connect_and_listen();
  thread_ = std::thread([this, listening] { run(listening); });
}

PgListener::~PgListener() {
  stopping_ = true;
  if (wake_[1] >= 0) {
    const char byte = 1;
    [[maybe_unused]] auto written = ::write(wake_[1], &byte, 1);
  }
  thread_.join();
  for (int fd : wake_) {
    if (fd >= 0) ::close(fd);
  }
}

void PgListener::deliver(const StoreChange& change) {
  try {
    watcher_(change);
  } catch (...) {
    // The watcher must not throw; one that does loses this change only.
  }
}

bool PgListener::pause(int ms) {
  if (stopping_) return true;
  pollfd wake{wake_[0], POLLIN, 0};
  ::poll(&wake, wake_[0] >= 0 ? 1 : 0, ms);
  return stopping_;
}

PGconn* PgListener::connect_and_listen() const {
  auto conn = pg_connect_raw(options_);
  if (!conn) return nullptr;
  PGresult* listening = PQexec(*conn, ("LISTEN " + std::string(kPgChangesChannel)).c_str());
  const bool ok = listening != nullptr && PQresultStatus(listening) == PGRES_COMMAND_OK;
  PQclear(listening);
  if (!ok) {
    PQfinish(*conn);
    return nullptr;
  }
  return *conn;
}

void PgListener::run(PGconn* listening) {
  int backoff_ms = kFirstBackoffMs;
  // Notifications may have been lost since the last connection, or, when
  // the constructor could not LISTEN, since the caller's initial load.
  bool missed = listening == nullptr;
  while (!stopping_) {
    PGconn* conn = listening != nullptr ? std::exchange(listening, nullptr) : connect_and_listen();
    if (conn != nullptr) {
      if (missed) deliver(everything_changed());
      backoff_ms = kFirstBackoffMs;
      const bool stop = listen(conn);
      PQfinish(conn);
      if (stop) return;
      missed = true;
      continue;  // lost: reconnect at once, then back off if that fails
    }
    missed = true;
    if (pause(backoff_ms)) return;
    backoff_ms = std::min(backoff_ms * 2, kLongestBackoffMs);
  }
}

bool PgListener::listen(PGconn* conn) {
  for (;;) {
    std::array<pollfd, 2> fds{pollfd{PQsocket(conn), POLLIN, 0}, pollfd{wake_[0], POLLIN, 0}};
    const int ready = ::poll(fds.data(), wake_[0] >= 0 ? 2 : 1, kPollMs);
    if (stopping_) return true;
    if (ready < 0 && errno != EINTR) return false;
    if (ready > 0 && fds[0].revents != 0) {
      if (PQconsumeInput(conn) == 0) return false;  // the connection is gone
      while (PGnotify* notify = PQnotifies(conn)) {
        auto change = parse_pg_change(notify->extra != nullptr ? notify->extra : "", node_id_);
        PQfreemem(notify);
        if (change) deliver(*change);
      }
    }
    if (PQstatus(conn) != CONNECTION_OK) return false;
  }
}

}  // namespace ferry
