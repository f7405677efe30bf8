#include "cli/serve_command.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>

#include "api/api_handler.hpp"
#include "api/http_server.hpp"
#include "catalog/catalog_registry.hpp"
#include "cli/definition_files.hpp"
#include "cli/stop_signals.hpp"
#include "core/ids.hpp"
#include "core/portal_token.hpp"
#include "core/subscription_index.hpp"
#include "delivery/curl_transport.hpp"
#include "delivery/scheduler.hpp"
#include "ingest/ingestor.hpp"
#include "ingest/subscription_sync.hpp"
#include "store/open_store.hpp"
#include "store/store_upkeep.hpp"

namespace ferry {

namespace {

void configure_logging(const ServeSettings& settings) {
  auto logger = spdlog::stderr_color_mt("ferry");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(settings.log_level));
  if (settings.log_format == "json") {
    spdlog::set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","thread":%t,"message":"%v"})",
                        spdlog::pattern_time_type::utc);
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  }
}

struct AdminToken {
  std::string token;
  // Where it came from, as printed at start: the token itself only when
  // just generated (the operator has no other way to learn it), else where
  // it is kept, so that restarts do not write it into every log collector.
  std::string shown;
};

// The admin token: the configured one, else the one kept in the data
// directory, else a new one written there (readable by the owner only).
Result<AdminToken> resolve_admin_token(const ServeSettings& settings) {
  if (!settings.admin_token.empty()) return AdminToken{settings.admin_token, "as given (--admin-token)"};
  const auto path = std::filesystem::path(settings.data_dir) / "admin-token";
  if (std::ifstream in(path); in) {
    std::string token;
    std::getline(in, token);
    if (!token.empty()) return AdminToken{token, "in " + path.string()};
  }
  unsigned char random[24];
  random_bytes(random, sizeof random);
  const std::string token = "fa_" + to_hex(std::string_view(reinterpret_cast<char*>(random), sizeof random));
  const mode_t previous = ::umask(077);
  std::ofstream out(path, std::ios::trunc);
  out << token << '\n';
  out.close();
  ::umask(previous);
  if (!out) return make_error(ErrorCode::unavailable, "cannot write " + path.string());
  return AdminToken{token, token + " (generated; kept in " + path.string() + ")"};
}

int fail(const std::string& message) {
  std::cerr << "ferry serve: " << message << '\n';
  return 1;
}

Status load_catalog_files(const ServeSettings& settings, const WireProfiles& profiles, CatalogRegistry& catalogs) {
  for (const auto& path : settings.catalog_files) {
    auto file = read_catalog_file(path, profiles);
    if (!file) return file.error();
    auto loaded = catalogs.load(*file);
    if (!loaded) return make_error(loaded.error().code, path + ": " + loaded.error().message);
    spdlog::info("catalog {} loaded from {}: {} event types{}", loaded->catalog, path, loaded->types_loaded,
                 loaded->types_archived > 0 ? ", " + std::to_string(loaded->types_archived) + " archived" : "");
  }
  return {};
}

}  // namespace

int run_serve(const ServeSettings& settings) {
  configure_logging(settings);

  const StopSignals stop_signals;  // before any thread starts

  std::error_code ec;
  std::filesystem::create_directories(settings.data_dir, ec);
  if (ec) return fail("cannot create data directory " + settings.data_dir + ": " + ec.message());
  auto admin_token = resolve_admin_token(settings);
  if (!admin_token) return fail(admin_token.error().message);
  auto targets = TargetPolicy::parse(settings.allow_targets);
  if (!targets) return fail("--allow-targets: " + targets.error().message);

  auto store = open_store(StoreLocation{settings.database, settings.data_dir, settings.database_pool});
  if (!store) return fail("cannot open the store: " + store.error().message);
  Store& the_store = **store;

  SystemClock clock;
  Metrics metrics;
  WireProfiles profiles;
  if (auto loaded = load_profile_files(settings.profile_files, profiles); !loaded) {
    return fail(loaded.error().message);
  }
  CatalogRegistry catalogs(the_store, clock);
  if (auto loaded = load_catalog_files(settings, profiles, catalogs); !loaded) return fail(loaded.error().message);
  SubscriptionIndex subscriptions;
  SubscriptionSync subscription_sync(the_store, subscriptions, [&catalogs] { return catalogs.reload(); });

  const std::string user_agent = std::string("Ferry/") + kFerryVersion;
  CurlTransportConfig transport_config;
  transport_config.policy = *targets;
  transport_config.user_agent = user_agent;
  transport_config.verify_tls = settings.verify_tls;
  transport_config.ca_file = settings.tls_ca_file;
  CurlTransport transport(transport_config);

  SchedulerConfig scheduler_config;
  scheduler_config.retry = settings.retry;
  scheduler_config.endpoint_concurrency = settings.endpoint_concurrency;
  scheduler_config.max_in_flight = settings.max_in_flight;
  scheduler_config.connect_timeout = settings.connect_timeout;
  scheduler_config.request_timeout = settings.request_timeout;
  scheduler_config.max_response_body = settings.max_response_body_bytes;
  scheduler_config.user_agent = user_agent;
  scheduler_config.lease = settings.lease_timeout;
  // An endpoint's own profile, else its workspace's, else Standard Webhooks.
  scheduler_config.profile_for = [&profiles, &subscriptions](const Endpoint& endpoint) -> const WireProfile& {
    std::string name = endpoint.profile;
    if (name.empty()) {
      if (auto workspace = subscriptions.workspace(endpoint.workspace_id)) name = workspace->workspace().profile;
    }
    const WireProfile* profile = name.empty() ? nullptr : profiles.find(name);
    return profile != nullptr ? *profile : *profiles.find(kStandardWebhooksProfile);
  };
  Scheduler scheduler(the_store, transport, clock, metrics, scheduler_config,
                      [&](const std::string& workspace_id) { subscription_sync.workspace_changed(workspace_id); });

  // Changes made by other nodes sharing the database. The store outlives
  // everything below, so its watcher is switched off before they go.
  struct WatchGate {
    std::mutex mutex;
    bool open = true;
    // Once closed, no watcher call is running or will run.
    void close() {
      std::lock_guard lock(mutex);
      open = false;
    }
  } watch_gate;
  the_store.watch([&](const StoreChange& change) {
    std::lock_guard lock(watch_gate.mutex);
    if (!watch_gate.open) return;
    switch (change.kind) {
      case StoreChange::Kind::deliveries_due: scheduler.wake(); break;
      case StoreChange::Kind::endpoints_changed:
        subscription_sync.workspace_changed(change.workspace_id);
        scheduler.endpoints_changed(change.workspace_id, "");
        break;
      case StoreChange::Kind::catalogs_changed: subscription_sync.catalogs_changed(); break;
      case StoreChange::Kind::everything_changed:
        subscription_sync.everything_changed();
        scheduler.wake();
        break;
    }
  });
  // After watch(): an endpoint or catalog changed elsewhere from here on is heard of.
  if (auto loaded = reload_all_subscriptions(the_store, subscriptions); !loaded) {
    watch_gate.close();
    return fail("cannot read endpoints: " + loaded.error().message);
  }
  if (auto loaded = catalogs.reload(); !loaded) {
    watch_gate.close();
    return fail("cannot read catalogs: " + loaded.error().message);
  }

  StoreUpkeepConfig upkeep_config;
  upkeep_config.retention = std::chrono::hours(24) * settings.retention_days;
  StoreUpkeep upkeep(the_store, clock, upkeep_config);

  Ingestor ingestor(the_store, subscriptions, clock, IngestConfig{},
                    [&scheduler](std::vector<NewDelivery> created) { scheduler.deliver_new(std::move(created)); });
  ApiServices services{the_store,
                       ingestor,
                       subscriptions,
                       catalogs,
                       profiles,
                       metrics,
                       clock,
                       *targets,
                       [&scheduler] { scheduler.wake(); },
                       [&scheduler](const std::string& workspace_id, const std::string& endpoint_id) {
                         scheduler.endpoints_changed(workspace_id, endpoint_id);
                       },
                       admin_token->token,
                       portal_signing_key(admin_token->token),
                       kFerryVersion};
  ApiHandler api(services, settings.api_workers,
                 ApiRateLimiter::Limits{static_cast<double>(settings.api_rate_limit),
                                        static_cast<double>(settings.admin_rate_limit)});

  HttpServer::Config http_config;
  http_config.host = settings.listen_host;
  http_config.port = settings.listen_port;
  http_config.threads = settings.http_threads;
  http_config.max_body_bytes = settings.max_body_bytes;
  http_config.max_header_bytes = settings.max_header_bytes;
  http_config.read_timeout = std::chrono::duration_cast<std::chrono::seconds>(settings.read_timeout);
  http_config.idle_timeout = std::chrono::duration_cast<std::chrono::seconds>(settings.idle_timeout);
  http_config.server_header = user_agent;
  if (http_config.read_timeout.count() < 1) http_config.read_timeout = std::chrono::seconds(1);
  if (http_config.idle_timeout.count() < 1) http_config.idle_timeout = std::chrono::seconds(1);

  subscription_sync.start();
  upkeep.start();
  scheduler.start();
  auto server = HttpServer::start(http_config, api);
  if (!server) {
    watch_gate.close();
    scheduler.stop(std::chrono::milliseconds(0));
    upkeep.stop();
    subscription_sync.stop();
    transport.shutdown(std::chrono::milliseconds(0));
    return fail("cannot listen on " + settings.listen_host + ":" + std::to_string(settings.listen_port) + ": " +
                server.error().message);
  }
  std::cout << "Ferry " << kFerryVersion << " listening on http://" << (*server)->address() << '\n'
            << "admin token: " << admin_token->shown << '\n'
            << "data directory: " << settings.data_dir << std::endl;
  spdlog::info("listening on {}", (*server)->address());

  const int received = stop_signals.wait();
  spdlog::info("received {}, shutting down", received == SIGTERM ? "SIGTERM" : "SIGINT");

  // Order matters: requests in flight finish (their publishes commit) before
  // ingest stops; attempts in flight finish and are recorded before the
  // transport goes away.
  (*server)->shutdown(settings.shutdown_grace);
  api.stop();
  ingestor.stop();
  watch_gate.close();
  scheduler.stop(settings.shutdown_grace);
  upkeep.stop();
  subscription_sync.stop();
  transport.shutdown(std::chrono::milliseconds(500));
  spdlog::info("stopped");
  spdlog::shutdown();
  return 0;
}

}  // namespace ferry
