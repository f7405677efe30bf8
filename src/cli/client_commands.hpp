#pragma once

#include <optional>
#include <string>

#include "cli/api_client.hpp"

namespace ferry {

// `ferry send`: publishes one event through the API.
struct SendSettings {
  ServerAccess access;
  std::string workspace;
  std::string type;
  std::string data;       // the payload as JSON text; "-" reads stdin
  std::string data_file;  // or a file holding it
  std::string id;
  std::string idempotency_key;
  bool test = false;
  bool json = false;  // print the API's answer as JSON
};

// `ferry replay`: resends the failed deliveries of an endpoint, or of every
// endpoint of a workspace, created in [since, until).
struct ReplaySettings {
  ServerAccess access;
  std::string workspace;
  std::string endpoint;  // empty: every endpoint of the workspace
  std::string since;     // RFC 3339, epoch ms, or a duration back from now ("2h")
  std::string until;
  bool dry_run = false;
};

// Each returns the process exit code: 0 done, 1 the server refused or could
// not be reached, 2 bad input.
int run_send(const SendSettings& settings);
int run_replay(const ReplaySettings& settings);

}  // namespace ferry
