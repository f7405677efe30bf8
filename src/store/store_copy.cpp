#include "store/store_copy.hpp"

#include <utility>
#include <vector>

namespace ferry {

namespace {

constexpr int kPageSize = 500;

// Copies every item of a paged listing; `list(page)` fetches one page.
template <class T, class List, class Insert>
Status for_each_page(List&& list, Insert&& insert) {
  PageRequest page;
  page.limit = kPageSize;
  while (true) {
    Result<Page<T>> listed = list(page);
    if (!listed) return listed.error();
    for (const auto& item : listed->items) {
      if (auto inserted = insert(item); !inserted) return inserted;
    }
    if (!listed->next_cursor) return {};
    page.cursor = *listed->next_cursor;
  }
}

// A row that exists already is fine when merging: it was copied before.
template <class T>
Status tolerate_existing(const Result<T>& result) {
  if (!result && result.error().code != ErrorCode::conflict) return result.error();
  return {};
}

Status copy_messages(Store& from, Store& to, const std::string& workspace_id, const CopyOptions& options,
                     CopyCounts& counts) {
  std::vector<MessageRecord> batch;
  auto flush = [&]() -> Status {
    if (batch.empty()) return {};
    if (auto imported = to.import_messages(batch); !imported) return imported;
    for (const auto& record : batch) {
      ++counts.messages;
      counts.deliveries += static_cast<std::int64_t>(record.deliveries.size());
      counts.attempts += static_cast<std::int64_t>(record.attempts.size());
    }
    batch.clear();
    if (options.on_progress) options.on_progress(counts);
    return {};
  };
  auto status = for_each_page<Message>(
      [&](const PageRequest& page) {
        MessageQuery query;
        query.page = page;
        return from.list_messages(workspace_id, query);
      },
      [&](const Message& message) -> Status {
        MessageRecord record;
        record.message = message;
        auto deliveries = from.list_deliveries_for_message(workspace_id, message.id);
        if (!deliveries) return deliveries.error();
        record.deliveries = std::move(*deliveries);
        auto attempts = from.list_attempts_for_message(workspace_id, message.id);
        if (!attempts) return attempts.error();
        record.attempts = std::move(*attempts);
        batch.push_back(std::move(record));
        if (static_cast<int>(batch.size()) >= options.messages_per_transaction) return flush();
        return {};
      });
  if (!status) return status;
  return flush();
}

}  // namespace

Result<CopyCounts> copy_store(Store& from, Store& to, const CopyOptions& options) {
  if (!options.merge) {
    auto empty = to.is_empty();
    if (!empty) return empty.error();
    if (!*empty) {
      return make_error(ErrorCode::conflict, "the target store already holds data; copy with merge to add to it");
    }
  }
  CopyCounts counts;

  auto catalogs = from.list_catalogs();
  if (!catalogs) return catalogs.error();
  for (const auto& catalog : *catalogs) {
    if (auto upserted = to.upsert_catalog(catalog); !upserted) return upserted.error();
    ++counts.catalogs;
  }
  auto types = from.list_event_types();
  if (!types) return types.error();
  for (const auto& type : *types) {
    if (auto upserted = to.upsert_event_type(type); !upserted) return upserted.error();
    ++counts.event_types;
  }

  std::vector<std::string> workspace_ids;
  auto workspaces = for_each_page<Workspace>([&](const PageRequest& page) { return from.list_workspaces(page); },
                                             [&](const Workspace& workspace) -> Status {
                                               workspace_ids.push_back(workspace.id);
                                               ++counts.workspaces;
                                               return tolerate_existing(to.create_workspace(workspace));
                                             });
  if (!workspaces) return workspaces.error();

  for (const auto& workspace_id : workspace_ids) {
    auto keys = from.list_api_keys(workspace_id);
    if (!keys) return keys.error();
    for (const auto& key : *keys) {
      if (auto copied = tolerate_existing(to.create_api_key(key)); !copied) return copied.error();
      ++counts.api_keys;
    }
    auto endpoints =
        for_each_page<Endpoint>([&](const PageRequest& page) { return from.list_endpoints(workspace_id, page); },
                                [&](const Endpoint& endpoint) -> Status {
                                  ++counts.endpoints;
                                  return tolerate_existing(to.create_endpoint(endpoint));
                                });
    if (!endpoints) return endpoints.error();
    if (auto copied = copy_messages(from, to, workspace_id, options, counts); !copied) return copied.error();
  }
  return counts;
}

}  // namespace ferry
