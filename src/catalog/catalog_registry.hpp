#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog_file.hpp"
#include "catalog/payload_schema.hpp"
#include "core/clock.hpp"
#include "core/event_type.hpp"
#include "store/store.hpp"

namespace ferry {

// An event type with its schema compiled (null when it has none).
struct RegisteredType {
  EventType type;
  std::shared_ptr<const PayloadSchema> schema;
};

// Every catalog and event type at one moment, with compiled schemas.
// Immutable: publishes read one snapshot without locks while a reload
// builds the next.
class CatalogSnapshot {
 public:
  // The catalog's settings; nullptr when no catalog has that name. "" is
  // the catalog of types registered on their own, which always exists.
  const CatalogSettings* catalog(std::string_view name) const;
  const RegisteredType* type(std::string_view catalog, std::string_view name) const;
  std::vector<const CatalogSettings*> catalogs() const;
  // The types of one catalog (every catalog when `catalog` is nullptr), by name.
  std::vector<const RegisteredType*> types(const std::string* catalog = nullptr) const;

 private:
  friend class CatalogRegistry;
  std::map<std::string, CatalogSettings, std::less<>> catalogs_;
  std::map<std::pair<std::string, std::string>, RegisteredType, std::less<>> types_;
};

// What loading a catalog did.
struct CatalogLoadReport {
  std::string catalog;
  int types_loaded = 0;
  int types_archived = 0;  // types of the catalog the new version no longer lists
};

// The catalogs Ferry serves. The store holds them (so every node and every
// restart sees the same); this keeps a compiled snapshot in memory and
// rebuilds it when they change, here or (reload()) on another node.
class CatalogRegistry {
 public:
  CatalogRegistry(Store& store, const Clock& clock);

  std::shared_ptr<const CatalogSnapshot> snapshot() const;

  // Rebuilds the snapshot from the store.
  Status reload();

  // Stores the catalog's settings and types, archives its types the file no
  // longer lists, and reloads.
  Result<CatalogLoadReport> load(const CatalogFile& file);

  // Registers or replaces one type (API), after compiling its schema and
  // checking its examples; then reloads.
  Result<EventType> upsert_type(EventType type);

 private:
  Store& store_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::shared_ptr<const CatalogSnapshot> snapshot_;  // guarded by mutex_
  std::mutex reload_mutex_;                          // one reload at a time, so an older one never lands last
};

}  // namespace ferry
