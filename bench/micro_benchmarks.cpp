// Micro-benchmarks of Ferry's hot paths (Google Benchmark): signing, request
// rendering, filter matching, publish parsing and payload validation.
// bench/README.md says how to run them; BENCHMARKS.md holds a run's figures.

#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "catalog/catalog_file.hpp"
#include "catalog/catalog_registry.hpp"
#include "catalog/payload_schema.hpp"
#include "core/clock.hpp"
#include "core/endpoint.hpp"
#include "core/message.hpp"
#include "core/signature.hpp"
#include "core/subscription_index.hpp"
#include "core/wire_profile.hpp"
#include "core/workspace.hpp"
#include "ingest/message_preparation.hpp"
#include "ingest/publish_parser.hpp"
#include "store/sqlite_store.hpp"

#ifndef FERRY_CATALOG_DIR
#error "FERRY_CATALOG_DIR must name the catalogs/ directory (bench/CMakeLists.txt sets it)"
#endif

namespace {

using namespace ferry;

constexpr std::size_t kSmall = 1024;
constexpr std::size_t kLarge = 16 * 1024;
constexpr long long kTimestampSeconds = 1763892000;
constexpr UnixMillis kNowMs = 1763892000123;
constexpr std::string_view kMessageId = "msg_01KAQ3ZJ8W6T4M2R9XHVB5N7CE";

[[noreturn]] void fail(const std::string& what) {
  std::cerr << "ferry_micro_bench: " << what << '\n';
  std::exit(1);
}

// Set when a benchmark stopped on an error, so that the exit status (and the
// ctest smoke test) says so.
bool g_benchmark_failed = false;

void skip(benchmark::State& state, const std::string& why) {
  g_benchmark_failed = true;
  state.SkipWithError(why.c_str());
}

// A JSON object shaped like an order event (customer, totals, line items)
// of exactly `size` bytes: line items while they fit, then a "note" string
// padded to the size.
std::string make_payload(std::size_t size) {
  const std::string head =
      R"({"order":{"id":"order_xyz123","status":"paid","createdAt":"2025-11-23T10:00:00.123Z"},)"
      R"("customer":{"id":"cus_9s8d7f6g","email":"customer@example.com","firstName":"Jane","lastName":"Doe",)"
      R"("address":{"line1":"1 Market St","city":"San Francisco","zip":"94105","country":"US"}},)"
      R"("currency":"usd","amount":64.99,"amountBeforeTax":60.0,"metadata":{"customField":"value"},"items":[)";
  constexpr std::string_view kNoteOpen = R"(],"note":")";
  constexpr std::string_view kClose = R"("})";
  std::string items;
  for (int i = 0;; ++i) {
    std::string item = R"({"sku":"sku_)" + std::to_string(100000 + i) + R"(","name":"Digital product number )" +
                       std::to_string(i) + R"(","quantity":)" + std::to_string(1 + i % 3) + R"(,"unitAmount":)" +
                       std::to_string(10 + i % 90) + R"(.99,"tags":["ebook","bundle"],"discounted":false})";
    const std::size_t grown = items.size() + (items.empty() ? 0 : 1) + item.size();
    if (head.size() + grown + kNoteOpen.size() + kClose.size() > size) break;
    if (!items.empty()) items += ',';
    items += item;
  }
  std::string out = head + items + std::string(kNoteOpen);
  if (out.size() + kClose.size() > size) fail("a payload of " + std::to_string(size) + " bytes is too small");
  out.append(size - out.size() - kClose.size(), 'n');
  out += kClose;
  return out;
}

const std::string& payload(std::size_t size) {
  static const std::string small = make_payload(kSmall);
  static const std::string large = make_payload(kLarge);
  return size == kSmall ? small : large;
}

const std::string& secret(int index) {
  static const std::string first = generate_secret();
  static const std::string second = generate_secret();
  return index == 0 ? first : second;
}

std::string key_of(const std::string& whsec) {
  auto key = secret_key(whsec);
  if (!key) fail("secret_key: " + key.error().message);
  return *key;
}

// ---- Signing ---------------------------------------------------------------

void BM_StandardWebhooksSignature(benchmark::State& state) {
  const std::string& body = payload(static_cast<std::size_t>(state.range(0)));
  const std::string key = key_of(secret(0));
  for (auto _ : state) {
    std::string signature = standard_webhooks_signature(key, kMessageId, kTimestampSeconds, body);
    benchmark::DoNotOptimize(signature);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_StandardWebhooksSignature)->Arg(kSmall)->Arg(kLarge);

void BM_HmacSha256Hex(benchmark::State& state) {
  const std::string& body = payload(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    std::string signature = hmac_sha256_hex(secret(0), body);
    benchmark::DoNotOptimize(signature);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_HmacSha256Hex)->Arg(kSmall)->Arg(kLarge);

// Args: body size, number of secrets (one, or two during a rotation).
void BM_StripeSignatureHeader(benchmark::State& state) {
  const std::string& body = payload(static_cast<std::size_t>(state.range(0)));
  std::vector<std::string> keys{secret(0)};
  if (state.range(1) == 2) keys.push_back(secret(1));
  for (auto _ : state) {
    std::string header = stripe_signature_header(keys, kTimestampSeconds, body);
    benchmark::DoNotOptimize(header);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_StripeSignatureHeader)->ArgsProduct({{kSmall, kLarge}, {1, 2}});

// A receiver's check: the header carries the signatures of two secrets and
// the key is the second one's, so the first entry fails and the second matches.
void BM_VerifyStandardWebhooks(benchmark::State& state) {
  const std::string& body = payload(static_cast<std::size_t>(state.range(0)));
  const std::vector<std::string> keys{key_of(secret(0)), key_of(secret(1))};
  const std::string header = standard_webhooks_signature_header(keys, kMessageId, kTimestampSeconds, body);
  for (auto _ : state) {
    bool valid = verify_standard_webhooks(keys[1], kMessageId, kTimestampSeconds, body, header);
    benchmark::DoNotOptimize(valid);
    if (!valid) skip(state, "the signature did not verify");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_VerifyStandardWebhooks)->Arg(kSmall)->Arg(kLarge);

// ---- Request rendering (envelope, headers, signature) ------------------------

// Renders the whole request for one endpoint with one secret and one custom header.
void render_request(benchmark::State& state, std::string_view profile_name) {
  const WireProfile* profile = find_builtin_profile(profile_name);
  if (profile == nullptr) fail("no built-in profile " + std::string(profile_name));
  Message message;
  message.id = std::string(kMessageId);
  message.workspace_id = "ws_bench";
  message.type = "order.completed";
  message.payload = payload(static_cast<std::size_t>(state.range(0)));
  message.created_at_ms = kNowMs;
  Endpoint endpoint;
  endpoint.id = "ep_01KAQ40B3C5D6E7F8G9H0JKMNP";
  endpoint.workspace_id = message.workspace_id;
  endpoint.url = "https://hooks.example.com/ferry";
  endpoint.secrets = {secret(0)};
  endpoint.headers = {{"x-tenant", "acme"}};
  const WireContext context{message, endpoint, "dlv_01KAQ40K2M3N4P5Q6R7S8T9V0W", kNowMs, "Ferry/0.1.0"};
  for (auto _ : state) {
    auto request = render_wire_request(*profile, context);
    if (!request) {
      skip(state, request.error().message);
      break;
    }
    benchmark::DoNotOptimize(request);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * message.payload.size()));
}

BENCHMARK_CAPTURE(render_request, standard_webhooks, std::string_view("standard-webhooks"))->Arg(kSmall)->Arg(kLarge);
BENCHMARK_CAPTURE(render_request, penguinmails_nested, std::string_view("penguinmails"))->Arg(kSmall)->Arg(kLarge);
BENCHMARK_CAPTURE(render_request, pocketsflow_flat, std::string_view("pocketsflow"))->Arg(kSmall)->Arg(kLarge);

// ---- Filter matching -------------------------------------------------------

// 50 groups of 20 event types: "group7.event13".
std::string event_type_name(int group, int event) {
  return "group" + std::to_string(group) + ".event" + std::to_string(event);
}

// `count` enabled endpoints whose filters mix the three kinds: one in 50 takes
// "*", one in 5 a "groupN.*" wildcard, the rest one to three exact names.
std::vector<Endpoint> make_endpoints(int count) {
  std::vector<Endpoint> endpoints;
  endpoints.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    Endpoint endpoint;
    endpoint.id = "ep_" + std::to_string(1000000 + i);
    endpoint.workspace_id = "ws_bench";
    endpoint.url = "https://hooks.example.com/" + std::to_string(i);
    if (i % 50 == 0) {
      endpoint.filter_types = {"*"};
    } else if (i % 5 == 1) {
      endpoint.filter_types = {"group" + std::to_string(i % 50) + ".*"};
    } else {
      for (int k = 0; k <= i % 3; ++k)
        endpoint.filter_types.push_back(event_type_name((i + k) % 50, (i / 50 + k) % 20));
    }
    endpoints.push_back(std::move(endpoint));
  }
  return endpoints;
}

Workspace bench_workspace() {
  Workspace workspace;
  workspace.id = "ws_bench";
  workspace.name = "bench";
  return workspace;
}

// Looks up every type in turn, so the lookups hit exact, wildcard and
// catch-all subscribers in their usual proportions. Counter "matched": the
// endpoints a lookup returned, on average.
void BM_EndpointsFor(benchmark::State& state) {
  const std::vector<Endpoint> endpoints = make_endpoints(static_cast<int>(state.range(0)));
  const WorkspaceSubscriptions subscriptions(bench_workspace(), endpoints);
  std::vector<std::string> types;
  for (int group = 0; group < 50; ++group) {
    for (int event = 0; event < 20; ++event) types.push_back(event_type_name(group, event));
  }
  std::size_t next = 0;
  std::size_t matched = 0;
  for (auto _ : state) {
    std::vector<std::string> ids = subscriptions.endpoints_for(types[next]);
    matched += ids.size();
    benchmark::DoNotOptimize(ids);
    next = next + 1 == types.size() ? 0 : next + 1;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["matched"] = benchmark::Counter(static_cast<double>(matched), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_EndpointsFor)->Arg(10)->Arg(1000)->Arg(10000);

void BM_BuildWorkspaceSubscriptions(benchmark::State& state) {
  const std::vector<Endpoint> endpoints = make_endpoints(static_cast<int>(state.range(0)));
  const Workspace workspace = bench_workspace();
  for (auto _ : state) {
    WorkspaceSubscriptions subscriptions(workspace, endpoints);
    benchmark::DoNotOptimize(subscriptions);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * endpoints.size()));
}
BENCHMARK(BM_BuildWorkspaceSubscriptions)->Arg(10000);

// ---- Publish parsing -------------------------------------------------------

std::string publish_body(const std::string& data, int index) {
  return R"({"type":"order.completed","id":"order_)" + std::to_string(index) + R"(","data":)" + data + "}";
}

void BM_ParsePublishBody(benchmark::State& state) {
  const std::string body = publish_body(payload(static_cast<std::size_t>(state.range(0))), 1);
  for (auto _ : state) {
    auto parsed = parse_publish_body(body);
    if (!parsed) {
      skip(state, parsed.error().message);
      break;
    }
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_ParsePublishBody)->Arg(kSmall)->Arg(kLarge);

// A batch of `range(0)` messages of 1 KB each; items are messages.
void BM_ParseBatchBody(benchmark::State& state) {
  std::string body = R"({"messages":[)";
  for (int i = 0; i < state.range(0); ++i) {
    if (i > 0) body += ',';
    body += publish_body(payload(kSmall), i);
  }
  body += "]}";
  for (auto _ : state) {
    auto parsed = parse_batch_body(body);
    if (!parsed) {
      skip(state, parsed.error().message);
      break;
    }
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ParseBatchBody)->Arg(100);

// ---- Schema validation and message preparation -----------------------------

constexpr std::string_view kCatalogName = "pocketsflow";
constexpr std::string_view kTypeName = "order.completed";

// catalogs/pocketsflow.json, read and loaded once (by main, before any
// benchmark runs): its order.completed type, and a snapshot of the catalog as
// CatalogRegistry serves it, with compiled schemas.
struct CatalogFixture {
  EventType type;
  std::shared_ptr<const CatalogSnapshot> snapshot;
};

CatalogFixture& catalog_fixture() {
  static CatalogFixture fixture;
  return fixture;
}

void load_catalog_fixture() {
  const std::filesystem::path path = std::filesystem::path(FERRY_CATALOG_DIR) / (std::string(kCatalogName) + ".json");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  auto file =
      parse_catalog_file(text.str(), [](std::string_view name) { return find_builtin_profile(name) != nullptr; });
  if (!file) fail(path.string() + ": " + file.error().message);
  CatalogFixture& fixture = catalog_fixture();
  bool found = false;
  for (const auto& type : file->event_types) {
    if (type.name == kTypeName) {
      fixture.type = type;
      found = true;
    }
  }
  if (!found || fixture.type.schema_json.empty() || fixture.type.examples_json.empty()) {
    fail(path.string() + ": no " + std::string(kTypeName) + " type with a schema and an example");
  }

  // The registry reads catalogs from a store: a throwaway SQLite one.
  std::string pattern = (std::filesystem::temp_directory_path() / "ferry-micro-bench-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) fail("cannot create a temporary directory");
  const std::filesystem::path dir = pattern;
  {
    auto store = SqliteStore::open((dir / "ferry.db").string());
    if (!store) fail("SqliteStore::open: " + store.error().message);
    SystemClock clock;
    CatalogRegistry registry(**store, clock);
    if (auto loaded = registry.load(*file); !loaded) fail("CatalogRegistry::load: " + loaded.error().message);
    fixture.snapshot = registry.snapshot();
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  const RegisteredType* registered = fixture.snapshot->type(kCatalogName, kTypeName);
  if (registered == nullptr || registered->schema == nullptr)
    fail("the snapshot has no compiled schema for order.completed");
}

// The check alone: the payload is parsed once, outside the loop.
void BM_PayloadSchemaCheck(benchmark::State& state) {
  const CatalogFixture& fixture = catalog_fixture();
  auto schema = PayloadSchema::compile_text(fixture.type.schema_json);
  if (!schema) fail("compile_text: " + schema.error().message);
  const nlohmann::json example = nlohmann::json::parse(fixture.type.examples_json.front());
  for (auto _ : state) {
    Status checked = (*schema)->check(example);
    if (!checked) {
      skip(state, checked.error().message);
      break;
    }
    benchmark::DoNotOptimize(checked);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * fixture.type.examples_json.front().size()));
}
BENCHMARK(BM_PayloadSchemaCheck);

// What a publish to a workspace of the pocketsflow catalog with validation on
// does before it is stored: type lookup, payload parse, schema check, flags.
// Each iteration copies the parsed message in (prepare_message takes it by
// value), a cost the publish path does not pay.
void BM_PrepareMessage(benchmark::State& state) {
  const CatalogFixture& fixture = catalog_fixture();
  Workspace workspace = bench_workspace();
  workspace.catalog = std::string(kCatalogName);
  workspace.validate_payloads = true;
  ParsedMessage message;
  message.type = std::string(kTypeName);
  message.data = fixture.type.examples_json.front();
  for (auto _ : state) {
    auto prepared = prepare_message(*fixture.snapshot, workspace, message);
    if (!prepared) {
      skip(state, prepared.error().message);
      break;
    }
    benchmark::DoNotOptimize(prepared);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * message.data.size()));
}
BENCHMARK(BM_PrepareMessage);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  for (std::size_t size : {kSmall, kLarge}) {
    if (payload(size).size() != size || !nlohmann::json::accept(payload(size))) {
      fail("the " + std::to_string(size) + "-byte payload is not " + std::to_string(size) + " bytes of JSON");
    }
  }
  load_catalog_fixture();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return g_benchmark_failed ? 1 : 0;
}
