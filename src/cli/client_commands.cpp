#include "cli/client_commands.hpp"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <vector>

#include "cli/progress.hpp"
#include "core/clock.hpp"
#include "core/duration.hpp"
#include "core/time_format.hpp"

namespace ferry {

namespace {

// Deliveries fetched per page while looking for failed ones.
constexpr int kPageSize = 200;

int report(const char* command, const Error& error) {
  std::cerr << "ferry " << command << ": " << error.message << '\n';
  return error.code == ErrorCode::bad_request ? 2 : 1;
}

Result<std::string> read_all(std::istream& in, const std::string& what) {
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return make_error(ErrorCode::bad_request, "cannot read " + what);
  return text.str();
}

Result<std::string> payload_text(const SendSettings& settings) {
  if (!settings.data.empty() && !settings.data_file.empty()) {
    return make_error(ErrorCode::bad_request, "give the data as an argument or with --file, not both");
  }
  if (!settings.data_file.empty()) {
    std::ifstream in(settings.data_file, std::ios::binary);
    if (!in) return make_error(ErrorCode::bad_request, "cannot open " + settings.data_file);
    return read_all(in, settings.data_file);
  }
  if (settings.data == "-" || (settings.data.empty() && ::isatty(STDIN_FILENO) != 1)) {
    return read_all(std::cin, "standard input");
  }
  if (settings.data.empty()) {
    return make_error(ErrorCode::bad_request, "no data: give it as an argument, with --file, or on standard input");
  }
  return settings.data;
}

// RFC 3339, epoch milliseconds, or a duration back from now.
Result<UnixMillis> time_argument(const std::string& name, const std::string& text) {
  if (auto at = parse_time(text)) return *at;
  if (auto ago = parse_duration(text)) return SystemClock().now_ms() - ago->count();
  return make_error(
      ErrorCode::bad_request,
      "--" + name + " must be an RFC 3339 time, epoch milliseconds or a duration such as 2h, got \"" + text + "\"");
}

struct FailedDelivery {
  std::string id;
  std::string endpoint_id;
};

// Pages through `path` (newest first) and calls `each` on every item until
// `each` returns false or the pages run out.
template <class Each>
Status walk_pages(ApiClient& client, const std::string& path, Each each) {
  std::string cursor;
  const char joiner = path.find('?') == std::string::npos ? '?' : '&';
  while (true) {
    std::string page_path = path + joiner + "limit=" + std::to_string(kPageSize);
    if (!cursor.empty()) page_path += "&cursor=" + escape_path_segment(cursor);
    auto answer = client.call("GET", page_path);
    if (!answer) return answer.error();
    const auto& body = answer->body;
    if (!body.is_object() || !body.contains("data") || !body["data"].is_array()) {
      return make_error(ErrorCode::internal, "GET " + path + " answered no page");
    }
    for (const auto& item : body["data"]) {
      if (!each(item)) return {};
    }
    if (!body.contains("next_cursor") || !body["next_cursor"].is_string()) return {};
    cursor = body["next_cursor"].get<std::string>();
  }
}

Result<std::vector<std::string>> endpoints_of(ApiClient& client, const std::string& workspace) {
  std::vector<std::string> ids;
  auto walked = walk_pages(client, "/api/v1/workspaces/" + workspace + "/endpoints", [&](const nlohmann::json& item) {
    ids.push_back(item.value("id", ""));
    return true;
  });
  if (!walked) return walked.error();
  return ids;
}

}  // namespace

int run_send(const SendSettings& settings) {
  auto text = payload_text(settings);
  if (!text) return report("send", text.error());
  auto data = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (data.is_discarded()) return report("send", make_error(ErrorCode::bad_request, "the data is not valid JSON"));
  nlohmann::json body = {{"type", settings.type}, {"data", std::move(data)}};
  if (!settings.id.empty()) body["id"] = settings.id;
  if (settings.test) body["test"] = true;
  std::vector<std::pair<std::string, std::string>> headers;
  if (!settings.idempotency_key.empty()) headers.emplace_back("Idempotency-Key", settings.idempotency_key);

  auto client = ApiClient::connect(settings.access);
  if (!client) return report("send", client.error());
  auto answer = client->call("POST", "/api/v1/workspaces/" + escape_path_segment(settings.workspace) + "/messages",
                             body, headers);
  if (!answer) return report("send", answer.error());
  if (settings.json) {
    std::cout << answer->body.dump() << '\n';
    return 0;
  }
  const auto& message = answer->body;
  std::cout << (message.value("duplicate", false) ? "already published " : "published ") << message.value("id", "?")
            << " (" << message.value("type", settings.type) << ") to " << message.value("deliveries", 0)
            << " endpoint(s)\n";
  return 0;
}

int run_replay(const ReplaySettings& settings) {
  auto since = time_argument("since", settings.since);
  if (!since) return report("replay", since.error());
  UnixMillis until = SystemClock().now_ms() + 1;
  if (!settings.until.empty()) {
    auto parsed = time_argument("until", settings.until);
    if (!parsed) return report("replay", parsed.error());
    until = *parsed;
  }
  if (until <= *since) return report("replay", make_error(ErrorCode::bad_request, "--until must be after --since"));
  auto client = ApiClient::connect(settings.access);
  if (!client) return report("replay", client.error());
  const std::string workspace = escape_path_segment(settings.workspace);

  std::vector<std::string> endpoints;
  if (!settings.endpoint.empty()) {
    endpoints.push_back(escape_path_segment(settings.endpoint));
  } else {
    auto listed = endpoints_of(*client, workspace);
    if (!listed) return report("replay", listed.error());
    endpoints = std::move(*listed);
  }

  // Gather first, so the bar knows its total and a resend (which makes the
  // delivery pending) cannot shift the pages being read.
  std::vector<FailedDelivery> failed;
  for (const auto& endpoint : endpoints) {
    auto walked =
        walk_pages(*client, "/api/v1/workspaces/" + workspace + "/endpoints/" + endpoint + "/deliveries?state=failed",
                   [&](const nlohmann::json& item) {
                     const auto created = parse_time(item.value("created_at", ""));
                     if (!created) return true;
                     if (*created < *since) return false;  // newest first: the rest is older
                     if (*created < until) failed.push_back({item.value("id", ""), endpoint});
                     return true;
                   });
    if (!walked) return report("replay", walked.error());
  }
  std::cerr << "replay: " << failed.size() << " failed deliveries on " << endpoints.size() << " endpoint(s) since "
            << format_rfc3339(*since) << '\n';
  if (settings.dry_run) {
    for (const auto& delivery : failed) std::cout << delivery.id << ' ' << delivery.endpoint_id << '\n';
    return 0;
  }

  Progress progress(stderr, "replay", failed.size(), Progress::is_terminal(stderr));
  std::size_t refused = 0;
  for (const auto& delivery : failed) {
    auto resent = client->call("POST", "/api/v1/workspaces/" + workspace + "/deliveries/" + delivery.id + "/resend");
    if (!resent) {
      ++refused;
      std::cerr << "\nreplay: " << delivery.id << ": " << resent.error().message << '\n';
      if (resent.error().code == ErrorCode::unavailable && resent.error().message.rfind("cannot reach", 0) == 0) {
        progress.finish();
        return 1;
      }
    }
    progress.advance();
  }
  progress.finish();
  std::cout << "resent " << failed.size() - refused << " of " << failed.size() << " failed deliveries\n";
  return refused == 0 ? 0 : 1;
}

}  // namespace ferry
