#pragma once

// What the store tests share: a temporary directory per test and assertions
// on Result values that print the error's message or code name.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

#include "core/result.hpp"
#include "core/workspace.hpp"

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    const auto& checked_ = (expr);                          \
    ASSERT_TRUE(checked_.ok()) << checked_.error().message; \
  } while (0)

// Compares codes by name so a failure prints "conflict", not "4".
#define EXPECT_ERROR(expr, expected)                                                                             \
  do {                                                                                                           \
    const auto& checked_ = (expr);                                                                               \
    ASSERT_FALSE(checked_.ok()) << "expected " << error_code_name(expected);                                     \
    EXPECT_STREQ(error_code_name(checked_.error().code), error_code_name(expected)) << checked_.error().message; \
  } while (0)

namespace ferry {

// A workspace with default settings.
inline Workspace test_workspace(std::string id, std::string name, UnixMillis at_ms) {
  Workspace workspace;
  workspace.id = std::move(id);
  workspace.name = std::move(name);
  workspace.created_at_ms = workspace.updated_at_ms = at_ms;
  return workspace;
}

// A directory of its own, removed with everything in it afterwards.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "ferry-test") {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace ferry
