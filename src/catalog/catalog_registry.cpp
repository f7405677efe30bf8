#include "catalog/catalog_registry.hpp"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <set>

namespace ferry {

const CatalogSettings* CatalogSnapshot::catalog(std::string_view name) const {
  auto it = catalogs_.find(name);
  return it == catalogs_.end() ? nullptr : &it->second;
}

const RegisteredType* CatalogSnapshot::type(std::string_view catalog, std::string_view name) const {
  auto it = types_.find(std::pair{std::string(catalog), std::string(name)});
  return it == types_.end() ? nullptr : &it->second;
}

std::vector<const CatalogSettings*> CatalogSnapshot::catalogs() const {
  std::vector<const CatalogSettings*> all;
  for (const auto& [name, settings] : catalogs_) all.push_back(&settings);
  return all;
}

std::vector<const RegisteredType*> CatalogSnapshot::types(const std::string* catalog) const {
  std::vector<const RegisteredType*> selected;
  for (const auto& [key, type] : types_) {
    if (catalog == nullptr || key.first == *catalog) selected.push_back(&type);
  }
  return selected;
}

CatalogRegistry::CatalogRegistry(Store& store, const Clock& clock)
    : store_(store), clock_(clock), snapshot_(std::make_shared<CatalogSnapshot>()) {}

std::shared_ptr<const CatalogSnapshot> CatalogRegistry::snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

Status CatalogRegistry::reload() {
  std::lock_guard reloading(reload_mutex_);
  auto documents = store_.list_catalogs();
  if (!documents) return documents.error();
  auto types = store_.list_event_types();
  if (!types) return types.error();
  auto next = std::make_shared<CatalogSnapshot>();
  CatalogSettings standalone;
  standalone.title = "Event types registered on their own";
  next->catalogs_.emplace("", std::move(standalone));
  for (const auto& document : *documents) {
    auto settings = parse_catalog_settings(document.document_json);
    if (!settings) {
      // Written by this code, so unreadable only if damaged by hand: skip
      // it rather than refuse every other catalog.
      spdlog::error("catalog {} cannot be read: {}", document.name, settings.error().message);
      continue;
    }
    next->catalogs_.emplace(document.name, std::move(*settings));
  }
  for (auto& type : *types) {
    RegisteredType registered;
    if (!type.schema_json.empty()) {
      auto compiled = PayloadSchema::compile_text(type.schema_json);
      if (compiled) {
        registered.schema = *compiled;
      } else {
        spdlog::error("the schema of event type {} cannot be used: {}", type.name, compiled.error().message);
      }
    }
    auto key = std::pair{type.catalog, type.name};
    registered.type = std::move(type);
    next->types_.emplace(std::move(key), std::move(registered));
  }
  std::lock_guard lock(mutex_);
  snapshot_ = std::move(next);
  return {};
}

Result<CatalogLoadReport> CatalogRegistry::load(const CatalogFile& file) {
  const UnixMillis now = clock_.now_ms();
  CatalogDocument document{file.settings.name, catalog_settings_to_json(file.settings), now, now};
  if (auto saved = store_.upsert_catalog(document); !saved) return saved.error();
  CatalogLoadReport report;
  report.catalog = file.settings.name;
  std::set<std::string, std::less<>> listed;
  for (EventType type : file.event_types) {
    type.catalog = file.settings.name;
    type.created_at_ms = type.updated_at_ms = now;
    listed.insert(type.name);
    if (auto saved = store_.upsert_event_type(type); !saved) return saved.error();
    ++report.types_loaded;
  }
  auto existing = store_.list_event_types();
  if (!existing) return existing.error();
  for (EventType type : *existing) {
    if (type.catalog != file.settings.name || type.archived || listed.contains(type.name)) continue;
    type.archived = true;
    type.updated_at_ms = now;
    if (auto saved = store_.upsert_event_type(type); !saved) return saved.error();
    ++report.types_archived;
  }
  if (auto reloaded = reload(); !reloaded) return reloaded.error();
  return report;
}

Result<EventType> CatalogRegistry::upsert_type(EventType type) {
  if (!type.schema_json.empty()) {
    auto compiled = PayloadSchema::compile_text(type.schema_json);
    if (!compiled) {
      auto error = compiled.error();
      error.message = "\"schema\": " + error.message;
      return error;
    }
    for (std::size_t i = 0; i < type.examples_json.size(); ++i) {
      auto example = nlohmann::json::parse(type.examples_json[i], nullptr, false);
      if (auto checked = (*compiled)->check(example); !checked) {
        return make_error(ErrorCode::unprocessable, "\"examples[" + std::to_string(i) +
                                                        "]\" does not match the schema: " + checked.error().message);
      }
    }
  }
  if (!type.catalog.empty()) {
    if (auto catalog = store_.get_catalog(type.catalog); !catalog) {
      if (catalog.error().code == ErrorCode::not_found) {
        return make_error(ErrorCode::unprocessable, "no catalog is named \"" + type.catalog + "\"");
      }
      return catalog.error();
    }
  }
  auto saved = store_.upsert_event_type(type);
  if (!saved) return saved;
  if (auto reloaded = reload(); !reloaded) return reloaded.error();
  return saved;
}

}  // namespace ferry
