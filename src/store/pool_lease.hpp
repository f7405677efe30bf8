#pragma once

#include <memory>
#include <utility>

namespace ferry {

// A connection lent by `Pool` to one thread. It goes back to the pool when
// the lease ends, so every early return gives it back; the pool decides then
// whether to keep it. `Pool` befriends the lease, keeping give_back() private.
template <class Pool, class Connection>
class PoolLease {
 public:
  PoolLease(Pool* pool, std::unique_ptr<Connection> connection) : pool_(pool), connection_(std::move(connection)) {}
  PoolLease(PoolLease&& other) noexcept = default;
  PoolLease& operator=(PoolLease&&) = delete;
  PoolLease(const PoolLease&) = delete;
  PoolLease& operator=(const PoolLease&) = delete;
  ~PoolLease() {
    if (connection_ != nullptr) pool_->give_back(std::move(connection_));
  }

  Connection& connection() { return *connection_; }

 private:
  Pool* pool_;
  std::unique_ptr<Connection> connection_;  // null once moved from
};

}  // namespace ferry
