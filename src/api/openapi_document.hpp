#pragma once

#include <string_view>

namespace ferry {

// The OpenAPI 3.1 description of the whole HTTP API: src/api/openapi.json,
// compiled into the binary at build time (cmake/embed_file.cmake) and served
// as is at GET /api/openapi.json. Every route the server registers must be in
// it and every operation in it must be a route (tests/unit/openapi_test.cpp).
std::string_view openapi_json();

}  // namespace ferry
