#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "api/http_types.hpp"

namespace ferry {

// One file of a folder compiled into the binary (cmake/embed_dir.cmake).
struct EmbeddedFile {
  std::string_view path;          // relative to the folder, '/'-separated
  std::string_view content_type;  // from the extension
  std::string_view bytes;
};

// Every file of ui/ (the browser dashboard, docs/dashboard.md), sorted by path.
std::span<const EmbeddedFile> ui_files();

// The file of ui/ at `path` (relative, as in the table), or null.
const EmbeddedFile* find_ui_file(std::string_view path);

// The answer to a request for /ui or /ui/…: the page or asset with its
// content type, `Cache-Control: no-cache` and the security headers, or a 404
// or 405 JSON error. Nullopt for any other path (not the dashboard's).
std::optional<HttpResponse> serve_ui(const HttpRequest& request);

}  // namespace ferry
