#pragma once

// What the Store backends share around their SQL: errors in the words a
// caller acts on, filtered and paged listings, the parent check of lists.
// Each backend runs the queries itself; nothing here knows which one runs.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/clock.hpp"
#include "core/page.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace ferry {

template <class... Parts>
std::string cat(const Parts&... parts) {
  std::string out;
  (out.append(parts), ...);
  return out;
}

inline Error not_found(std::string_view what) { return make_error(ErrorCode::not_found, cat(what, " not found")); }

// Replaces the database's wording ("UNIQUE constraint failed: endpoints.id")
// for the refusals a caller acts on; a foreign key failure on insert means
// the parent is missing.
inline Error explain(Error error, std::string_view what, std::string_view parent) {
  if (error.code == ErrorCode::conflict) error.message = cat(what, " already exists");
  if (error.code == ErrorCode::not_found) error.message = cat(parent, " not found");
  return error;
}

template <class T>
Result<T> require(Result<std::optional<T>> row, std::string_view what) {
  if (!row) return row.error();
  if (!*row) return not_found(what);
  return std::move(**row);
}

// Errors cross the Store interface as values. The databases' C APIs never
// throw, but an allocation, a mutex or a malformed result can; those become
// `internal` errors, named after the store.
template <class R, class Body>
R guarded(std::string_view store, Body&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    return make_error(ErrorCode::internal, cat(store, ": ", e.what()));
  } catch (...) {
    return make_error(ErrorCode::internal, cat(store, ": unknown exception"));
  }
}

// now - window without overflow, for windows like "forever" (INT64_MAX).
inline UnixMillis saturating_sub(UnixMillis a, UnixMillis b) {
  UnixMillis out = 0;
  if (!__builtin_sub_overflow(a, b, &out)) return out;
  return b > 0 ? std::numeric_limits<UnixMillis>::min() : std::numeric_limits<UnixMillis>::max();
}

inline PublishOutcome duplicate_of(Message earlier) {
  PublishOutcome outcome;
  outcome.message = std::move(earlier);
  outcome.duplicate = true;
  return outcome;
}

// --- listings

inline constexpr int kMaxPageLimit = 1000;

inline int clamp_limit(int limit) { return std::clamp(limit, 1, kMaxPageLimit); }

// A SELECT whose WHERE terms depend on the caller's filters. Each term is a
// column and an operator; its value becomes the next parameter, written as
// `Mark` and its number (?3 on SQLite, $3 on PostgreSQL). Each distinct text
// is prepared once per connection like any fixed statement.
template <char Mark>
class BasicFilteredQuery {
 public:
  using Value = std::variant<std::string_view, std::int64_t>;

  explicit BasicFilteredQuery(std::string select_from) : sql_(std::move(select_from)) {}

  BasicFilteredQuery& where(std::string_view column_and_operator, Value value) {
    sql_ += has_where_ ? " AND " : " WHERE ";
    has_where_ = true;
    sql_ += cat(column_and_operator, " ", next_parameter());
    values_.push_back(value);
    return *this;
  }

  // A term without a value, such as a fixed condition on a column (its text
  // must be trusted).
  BasicFilteredQuery& where_sql(std::string_view condition) {
    sql_ += has_where_ ? " AND " : " WHERE ";
    has_where_ = true;
    sql_ += condition;
    return *this;
  }

  // Written between the WHERE terms and the ORDER BY of page().
  BasicFilteredQuery& group_by(std::string_view clause) {
    group_by_ = clause;
    return *this;
  }

  // Keyset pagination: rows older than the cursor, newest first, one more
  // than asked for so that page_of() learns whether another page follows.
  BasicFilteredQuery& page(std::string_view id_column, const PageRequest& page) {
    if (!page.cursor.empty()) where(cat(id_column, " <"), page.cursor);
    sql_ += group_by_;
    sql_ += cat(" ORDER BY ", id_column, " DESC LIMIT ", next_parameter());
    values_.push_back(std::int64_t{clamp_limit(page.limit)} + 1);
    return *this;
  }

  const std::string& sql() const { return sql_; }

  // Adds the values, in order, as the statement's parameters.
  template <class Params>
  void bind(Params&& params) const {
    for (const auto& value : values_) {
      if (const auto* text = std::get_if<std::string_view>(&value)) {
        params.text(*text);
      } else {
        params.integer(std::get<std::int64_t>(value));
      }
    }
  }

 private:
  std::string next_parameter() const { return Mark + std::to_string(values_.size() + 1); }

  std::string sql_;
  std::vector<Value> values_;
  bool has_where_ = false;
  std::string group_by_;
};

// The filters the listings offer, the same on every backend; the tables'
// aliases (m, d) are those of the backends' SELECT lists.

// How a message listing finds its rows. Filters on deliveries that few
// messages pass (an endpoint, open or failed deliveries) walk an index of
// deliveries by (workspace_id, [endpoint_id,] message_id), newest message
// first, joining each message: a page costs about its length however many
// messages the workspace holds. Every other listing walks the messages
// themselves by id; "has a succeeded delivery" is true of most messages, so
// checking each one as it comes stops soon.
enum class MessageWalk { messages, deliveries };

inline MessageWalk message_walk(const MessageQuery& query) {
  if (query.endpoint_id) return MessageWalk::deliveries;
  if (query.status && *query.status != MessageDeliveryStatus::succeeded) return MessageWalk::deliveries;
  return MessageWalk::messages;
}

// `select` reads from the rows message_walk(query) names: messages m alone,
// or deliveries d joined to their messages m with one row per message
// (GROUP BY on SQLite, DISTINCT ON on PostgreSQL; the backend sets it up).
// Returns the column the listing pages by. The state terms match the
// predicates of the partial indexes deliveries_open_message and
// deliveries_failed_message word for word, as SQLite needs to use them.
template <char Mark>
std::string_view filter_messages(BasicFilteredQuery<Mark>& select, std::string_view workspace_id,
                                 const MessageQuery& query) {
  std::string_view id_column = "m.id";
  if (message_walk(query) == MessageWalk::deliveries) {
    id_column = "d.message_id";
    select.where("d.workspace_id =", workspace_id);
    if (query.endpoint_id) select.where("d.endpoint_id =", *query.endpoint_id);
    if (query.status) {
      switch (*query.status) {
        case MessageDeliveryStatus::pending: select.where_sql("d.state IN ('pending', 'retrying')"); break;
        case MessageDeliveryStatus::failed: select.where_sql("d.state = 'failed'"); break;
        case MessageDeliveryStatus::succeeded: select.where_sql("d.state = 'succeeded'"); break;
      }
    }
  } else {
    select.where("m.workspace_id =", workspace_id);
    if (query.status == MessageDeliveryStatus::succeeded) {  // the only status walked this way
      select.where_sql(
          "EXISTS (SELECT 1 FROM deliveries ds WHERE ds.workspace_id = m.workspace_id AND ds.message_id = m.id "
          "AND ds.state = 'succeeded')");
    }
  }
  if (query.type) select.where("m.type =", *query.type);
  if (query.since_ms) select.where("m.created_at >=", *query.since_ms);
  if (query.until_ms) select.where("m.created_at <", *query.until_ms);
  return id_column;
}

template <char Mark>
BasicFilteredQuery<Mark>& filter_endpoint_deliveries(BasicFilteredQuery<Mark>& select, std::string_view workspace_id,
                                                     std::string_view endpoint_id, const DeliveryQuery& query) {
  select.where("d.workspace_id =", workspace_id).where("d.endpoint_id =", endpoint_id);
  if (query.state) select.where("d.state =", delivery_state_name(*query.state));
  return select;
}

// The rows of a query paged by BasicFilteredQuery::page as a page: the extra
// row only tells that another page follows.
template <class T>
Result<Page<T>> page_of(Result<std::vector<T>> rows, const PageRequest& request) {
  if (!rows) return rows.error();
  Page<T> page;
  if (rows->size() > static_cast<std::size_t>(clamp_limit(request.limit))) {
    rows->pop_back();
    page.next_cursor = rows->back().id;
  }
  page.items = std::move(*rows);
  return page;
}

// --- parents of listed rows

// The row whose children a list shows. An empty list is an answer only when
// the parent is visible; otherwise the list is not_found, like a get.
struct Parent {
  std::string_view exists_sql;  // in the backend's dialect, taking workspace_id and then id
  std::string_view workspace_id;
  std::optional<std::string_view> id;  // absent when the parent is the workspace itself
  std::string_view what;

  template <class Params>
  void bind(Params&& params) const {
    params.text(workspace_id);
    if (id) params.text(*id);
  }
};

template <class T>
bool has_no_items(const std::vector<T>& list) {
  return list.empty();
}
template <class T>
bool has_no_items(const Page<T>& page) {
  return page.items.empty();
}

// Checking the parent only when the list is empty costs nothing on the
// common path. Without a read transaction the two statements may see
// different commits; either answer is one the caller could have seen.
// `exists()` runs parent.exists_sql and tells whether it found a row.
template <class List, class Exists>
Result<List> check_parent(Result<List> list, const Parent& parent, Exists exists) {
  if (!list || !has_no_items(*list)) return list;
  Result<bool> found = exists();
  if (!found) return found.error();
  if (!*found) return not_found(parent.what);
  return list;
}

// Where a recovery has got to: the greatest (created_at, id) of the
// deliveries it has taken. Batches walk on from there, so a delivery that
// fails again behind it while the recovery runs is not taken twice.
struct RecoverCursor {
  std::int64_t created_at = std::numeric_limits<std::int64_t>::min();
  std::string id;

  // RETURNING gives no order: each row taken may move the cursor on.
  void take(std::int64_t row_created_at, std::string row_id) {
    if (std::pair(row_created_at, std::string_view(row_id)) > std::pair(created_at, std::string_view(id))) {
      created_at = row_created_at;
      id = std::move(row_id);
    }
  }
};

// Runs a recovery batch by batch, one transaction each: run_batch(after,
// limit, reached) makes at most `limit` deliveries past `after` due, sets
// `reached` to where it got (starting from `after`: its transaction may run
// again) and answers how many it took. Stops at a batch short of its limit,
// or at request.max_deliveries with `more` set.
template <class RunBatch>
Result<RecoverOutcome> recover_in_batches(const RecoverRequest& request,
                                          const std::function<void(std::int64_t)>& batch_done, RunBatch run_batch) {
  RecoverOutcome outcome;
  RecoverCursor after;
  for (;;) {
    const std::int64_t left = request.max_deliveries > 0 ? request.max_deliveries - outcome.recovered
                                                         : std::numeric_limits<std::int64_t>::max();
    const std::int64_t batch_limit = std::clamp<std::int64_t>(request.batch_limit, 1, std::max<std::int64_t>(left, 1));
    RecoverCursor reached = after;  // moved on only once the batch is committed
    Result<std::int64_t> batch = run_batch(after, batch_limit, reached);
    if (!batch) return batch.error();
    after = std::move(reached);
    outcome.recovered += *batch;
    if (*batch > 0 && batch_done) batch_done(*batch);
    if (*batch < batch_limit) return outcome;
    if (request.max_deliveries > 0 && outcome.recovered >= request.max_deliveries) {
      outcome.more = true;
      return outcome;
    }
  }
}

}  // namespace ferry
