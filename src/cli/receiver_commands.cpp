#include "cli/receiver_commands.hpp"

#include <curl/curl.h>
#include <ferry/verify.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "api/http_server.hpp"
#include "cli/api_client.hpp"
#include "cli/definition_files.hpp"
#include "cli/serve_settings.hpp"
#include "cli/stop_signals.hpp"
#include "core/duration.hpp"
#include "core/time_format.hpp"
#include "core/wire_profile.hpp"

namespace ferry {

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr long kForwardTimeoutMs = 30'000;
constexpr std::size_t kMaxBodyBytes = 16 * 1024 * 1024;
constexpr auto kShutdownGrace = std::chrono::seconds(2);
// A tolerance no saved request exceeds: --ignore-age checks the signature only.
constexpr auto kAnyAge = std::chrono::hours(24 * 365 * 100);

int bad_input(const char* command, const std::string& message) {
  std::cerr << "ferry " << command << ": " << message << '\n';
  return 2;
}

// The library's profile for a Ferry wire profile, built-in or from a file, so
// custom profiles verify exactly as they are sent.
Result<verify::Profile> verification_profile(const SignatureCheck& check) {
  WireProfiles profiles;
  if (auto loaded = load_profile_files(check.profile_files, profiles); !loaded) return loaded.error();
  const WireProfile* profile = profiles.find(check.profile);
  if (profile == nullptr) {
    std::string known;
    for (const auto* each : profiles.all()) known += (known.empty() ? "" : ", ") + each->name;
    return make_error(ErrorCode::bad_request,
                      "no wire profile is named \"" + check.profile + "\" (known: " + known + ")");
  }
  switch (profile->scheme) {
    case SignatureScheme::standard_webhooks: return verify::Profile::standard_webhooks();
    case SignatureScheme::hmac_sha256_hex: return verify::Profile::hmac_sha256_hex(profile->signature_header);
    case SignatureScheme::stripe: return verify::Profile::stripe(profile->signature_header);
  }
  return make_error(ErrorCode::internal, "unknown signature scheme");
}

Result<verify::Verifier> make_verifier(const SignatureCheck& check, bool ignore_age) {
  if (check.secrets.empty()) return make_error(ErrorCode::bad_request, "no --secret given");
  auto profile = verification_profile(check);
  if (!profile) return profile.error();
  verify::Options options;
  if (ignore_age) {
    options.tolerance = kAnyAge;
  } else {
    auto tolerance = parse_duration(check.tolerance);
    if (!tolerance || tolerance->count() < 1000) {
      return make_error(ErrorCode::bad_request, "--tolerance must be a duration of at least 1s, such as 5m");
    }
    options.tolerance = std::chrono::duration_cast<std::chrono::seconds>(*tolerance);
  }
  verify::Verifier verifier(std::move(*profile), check.secrets, options);
  if (!verifier.setup()) {
    return make_error(ErrorCode::bad_request,
                      std::string(verify::status_name(verifier.setup().status)) + ": " + verifier.setup().detail);
  }
  return verifier;
}

std::string describe(const verify::Result& result) {
  std::string text(verify::status_name(result.status));
  if (!result.detail.empty()) text += " (" + result.detail + ")";
  return text;
}

// "Name: value" lines up to the first empty one; a first line that is a
// request line ("POST /path HTTP/1.1") is skipped. Line ends may be CRLF or LF.
struct SavedRequest {
  Headers headers;
  std::string body;
};

Result<SavedRequest> parse_saved_request(std::string_view text, bool headers_only) {
  SavedRequest saved;
  bool first = true;
  while (true) {
    const auto end = text.find('\n');
    if (end == std::string_view::npos && !headers_only) {
      return make_error(ErrorCode::bad_request, "no empty line ends the headers");
    }
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      if (headers_only && end != std::string_view::npos && !text.empty()) continue;
      break;
    }
    const auto colon = line.find(':');
    if (first && colon == std::string_view::npos && line.find(" HTTP/") != std::string_view::npos) {
      first = false;
      continue;
    }
    first = false;
    if (colon == std::string_view::npos || colon == 0) {
      return make_error(ErrorCode::bad_request, "not a header line: \"" + std::string(line.substr(0, 80)) + "\"");
    }
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    saved.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    if (end == std::string_view::npos) break;
  }
  if (!headers_only) saved.body = std::string(text);
  return saved;
}

// --- forwarding

struct Forwarded {
  long status = 0;  // 0: no answer
  std::string body;
  std::string content_type;
  std::string error;
  double milliseconds = 0;
};

Forwarded forward(CURL* curl, const std::string& url, const HttpRequest& request) {
  Forwarded result;
  curl_easy_reset(curl);
  curl_slist* list = nullptr;
  for (const auto& [name, value] : request.headers) {
    // Hop-by-hop and framing headers belong to this connection, not the next.
    if (name == "host" || name == "content-length" || name == "connection" || name == "transfer-encoding" ||
        name == "expect" || name == "keep-alive") {
      continue;
    }
    list = curl_slist_append(list, (name + ": " + value).c_str());
  }
  list = curl_slist_append(list, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, kForwardTimeoutMs);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_to_string);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  const auto started = std::chrono::steady_clock::now();
  const CURLcode rc = curl_easy_perform(curl);
  result.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  curl_slist_free_all(list);
  if (rc != CURLE_OK) {
    result.error = curl_easy_strerror(rc);
    return result;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  const char* type = nullptr;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
  if (type != nullptr) result.content_type = type;
  return result;
}

HttpResponse json_answer(int status, const nlohmann::json& body) {
  HttpResponse response;
  response.status = status;
  response.body = body.dump();
  return response;
}

// Verifies, prints and (optionally) forwards each request, one at a time on
// its own thread: the server's io threads must not wait on the forward, and
// one at a time keeps the printed events in arrival order.
class ListenHandler final : public HttpHandler {
 public:
  ListenHandler(verify::Verifier verifier, const ListenSettings& settings)
      : verifier_(std::move(verifier)), settings_(settings), curl_(curl_easy_init()) {
    worker_ = std::thread([this] { run(); });
  }
  ~ListenHandler() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    worker_.join();
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
  }
  ListenHandler(const ListenHandler&) = delete;
  ListenHandler& operator=(const ListenHandler&) = delete;

  void handle(HttpRequest request, HttpRespond respond) override {
    {
      std::lock_guard lock(mutex_);
      queue_.emplace_back(std::move(request), std::move(respond));
    }
    wake_.notify_one();
  }

 private:
  void run() {
    while (true) {
      std::pair<HttpRequest, HttpRespond> job;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job.second(take(job.first));
    }
  }

  HttpResponse take(const HttpRequest& request) {
    const verify::Result verified = verifier_.verify(request.headers, request.body);
    const auto received_at = format_rfc3339(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    auto body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    const bool json_body = !body.is_discarded();
    std::optional<Forwarded> forwarded;
    if (verified && !settings_.forward_to.empty()) forwarded = forward(curl_, settings_.forward_to, request);
    print(request, verified, received_at, json_body ? &body : nullptr, forwarded);

    if (!verified) {
      return json_answer(401, {{"error", {{"code", "unauthorized"}, {"message", "signature: " + describe(verified)}}}});
    }
    if (!forwarded) return json_answer(200, {{"verified", true}});
    if (forwarded->status == 0) {
      return json_answer(502,
                         {{"error",
                           {{"code", "bad_gateway"},
                            {"message", "forwarding to " + settings_.forward_to + " failed: " + forwarded->error}}}});
    }
    // The local application's answer is the answer: Ferry records (and
    // retries on) what the code under development said.
    HttpResponse response;
    response.status = static_cast<int>(forwarded->status);
    response.body = forwarded->body;
    response.content_type = forwarded->content_type.empty() ? "text/plain" : forwarded->content_type;
    return response;
  }

  void print(const HttpRequest& request, const verify::Result& verified, const std::string& received_at,
             const nlohmann::json* body, const std::optional<Forwarded>& forwarded) {
    const auto field = [&](std::initializer_list<const char*> names) -> std::string {
      if (body == nullptr || !body->is_object()) return {};
      for (const char* name : names) {
        if (auto it = body->find(name); it != body->end() && it->is_string()) return it->get<std::string>();
      }
      return {};
    };
    std::string type = field({"type", "event"});
    std::string id = std::string(request.header("webhook-id").value_or(""));
    if (id.empty()) id = field({"id", "webhookId"});
    if (settings_.json) {
      nlohmann::json line = {{"received_at", received_at},
                             {"verified", verified.ok()},
                             {"status", std::string(verify::status_name(verified.status))},
                             {"method", request.method},
                             {"path", request.path},
                             {"type", type},
                             {"id", id}};
      if (!verified.ok()) line["detail"] = verified.detail;
      nlohmann::json headers = nlohmann::json::object();
      for (const auto& [name, value] : request.headers) headers[name] = value;
      line["headers"] = std::move(headers);
      line["body"] = body != nullptr ? *body : nlohmann::json(request.body);
      if (forwarded) {
        line["forwarded"] = forwarded->status != 0
                                ? nlohmann::json{{"status", forwarded->status}, {"ms", forwarded->milliseconds}}
                                : nlohmann::json{{"error", forwarded->error}};
      }
      std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
      return;
    }
    std::cout << received_at << "  " << request.method << ' ' << request.path << "  " << (type.empty() ? "-" : type)
              << "  " << (id.empty() ? "-" : id) << "  "
              << (verified ? std::string("verified") : "REJECTED " + describe(verified)) << '\n';
    if (body != nullptr) {
      std::cout << body->dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    } else if (!request.body.empty()) {
      std::cout << request.body << '\n';
    }
    if (forwarded) {
      if (forwarded->status != 0) {
        std::cout << "-> " << settings_.forward_to << "  " << forwarded->status << " in " << forwarded->milliseconds
                  << " ms\n";
      } else {
        std::cout << "-> " << settings_.forward_to << "  failed: " << forwarded->error << '\n';
      }
    }
    std::cout << std::flush;
  }

  verify::Verifier verifier_;
  const ListenSettings& settings_;
  CURL* curl_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<HttpRequest, HttpRespond>> queue_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace

int run_verify(const VerifySettings& settings) {
  auto verifier = make_verifier(settings.check, settings.ignore_age);
  if (!verifier) return bad_input("verify", verifier.error().message);
  SavedRequest saved;
  if (!settings.request_file.empty()) {
    if (!settings.headers_file.empty() || !settings.body_file.empty()) {
      return bad_input("verify", "give --request, or --headers and --body, not both");
    }
    auto text = read_text_file(settings.request_file);
    if (!text) return bad_input("verify", text.error().message);
    auto parsed = parse_saved_request(*text, false);
    if (!parsed) return bad_input("verify", settings.request_file + ": " + parsed.error().message);
    saved = std::move(*parsed);
  } else if (!settings.headers_file.empty() && !settings.body_file.empty()) {
    auto headers = read_text_file(settings.headers_file);
    if (!headers) return bad_input("verify", headers.error().message);
    auto parsed = parse_saved_request(*headers, true);
    if (!parsed) return bad_input("verify", settings.headers_file + ": " + parsed.error().message);
    auto body = read_text_file(settings.body_file);
    if (!body) return bad_input("verify", body.error().message);
    saved.headers = std::move(parsed->headers);
    saved.body = std::move(*body);
  } else {
    return bad_input("verify", "give the saved request with --request FILE, or --headers FILE and --body FILE");
  }
  const verify::Result result = verifier->verify(saved.headers, saved.body);
  if (!result) {
    std::cout << "not verified: " << describe(result) << '\n';
    return 1;
  }
  std::cout << "verified (" << settings.check.profile << (settings.ignore_age ? ", age not checked" : "") << ")\n";
  return 0;
}

int run_listen(const ListenSettings& settings) {
  auto verifier = make_verifier(settings.check, false);
  if (!verifier) return bad_input("listen", verifier.error().message);
  if (!settings.forward_to.empty() && settings.forward_to.rfind("http://", 0) != 0 &&
      settings.forward_to.rfind("https://", 0) != 0) {
    return bad_input("listen", "--forward-to must be an http:// or https:// URL");
  }
  auto address = parse_listen_address("listen", settings.listen);
  if (!address) return bad_input("listen", address.error().message);
  HttpServer::Config config;
  config.host = std::move(address->host);
  config.port = address->port;
  config.max_body_bytes = kMaxBodyBytes;
  config.server_header = "ferry-listen";
  curl_global_init(CURL_GLOBAL_DEFAULT);

  const StopSignals stop_signals;  // before the handler's and the server's threads start
  ListenHandler handler(std::move(*verifier), settings);
  auto server = HttpServer::start(config, handler);
  if (!server) {
    std::cerr << "ferry listen: " << server.error().message << '\n';
    return 1;
  }
  std::cerr << "ferry listen: listening on http://" << (*server)->address() << " (verifying as "
            << settings.check.profile
            << (settings.forward_to.empty() ? std::string() : "; forwarding to " + settings.forward_to) << ")"
            << std::endl;
  stop_signals.wait();
  (*server)->shutdown(kShutdownGrace);
  return 0;
}

}  // namespace ferry
