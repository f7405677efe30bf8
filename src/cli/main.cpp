#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>
#include <map>

#include "cli/catalog_command.hpp"
#include "cli/client_commands.hpp"
#include "cli/receiver_commands.hpp"
#include "cli/serve_command.hpp"
#include "cli/serve_settings.hpp"
#include "cli/store_command.hpp"

namespace {

std::string env_name(const std::string& setting) {
  std::string name = "FERRY_";
  for (char c : setting)
    name.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return name;
}

// --config FILE (or FERRY_CONFIG) is read before the other flags, so that
// flags and environment variables can override what the file says.
std::string find_config_path(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) return argv[i + 1];
    if (arg.rfind("--config=", 0) == 0) return arg.substr(9);
  }
  if (const char* path = std::getenv("FERRY_CONFIG")) return path;
  return {};
}

// The flags every command that talks to a running server takes.
void add_access_options(CLI::App* command, ferry::ServerAccess& access) {
  command->add_option("--url", access.url, "Ferry's address")->envname("FERRY_URL")->capture_default_str();
  command->add_option("--token", access.token, "API token: the admin token or a workspace key")->envname("FERRY_TOKEN");
  command
      ->add_option("--data-dir", access.data_dir,
                   "without --token, use the admin token a local server kept in DATA_DIR/admin-token")
      ->capture_default_str();
}

// The flags of the commands that check signatures as a receiver would.
void add_signature_options(CLI::App* command, ferry::SignatureCheck& check) {
  command->add_option("--secret,-s", check.secrets, "the endpoint's secret (whsec_…); repeat during a rotation")
      ->envname("FERRY_WEBHOOK_SECRET")
      ->required();
  command->add_option("--profile,-p", check.profile, "wire profile the endpoint uses")->capture_default_str();
  command->add_option("--profile-file", check.profile_files, "custom wire profile file (repeatable)");
  command->add_option("--tolerance", check.tolerance, "how far the signed time may be from now")->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Ferry: a self-hosted webhook delivery server"};
  app.require_subcommand(1);
  app.set_version_flag("--version", ferry::kFerryVersion);

  auto* serve = app.add_subcommand("serve", "run the server (SQLite in --data-dir by default)");
  std::map<std::string, std::string> texts;
  std::string config_path = find_config_path(argc, argv);
  if (!config_path.empty()) {
    auto from_file = ferry::read_settings_file(config_path);
    if (!from_file) {
      std::cerr << "ferry: " << from_file.error().message << '\n';
      return 2;
    }
    texts = std::move(*from_file);
  }
  serve->add_option("--config", config_path, "TOML file of settings (keys as the flags, with '_' for '-')")
      ->envname("FERRY_CONFIG");
  std::map<std::string, std::string> given;
  for (const auto& spec : ferry::serve_setting_specs()) {
    auto* option = serve->add_option("--" + spec.name, given[spec.name], spec.help)->envname(env_name(spec.name));
    const auto it = texts.find(spec.name);
    option->default_str(it != texts.end() ? it->second : spec.default_value);
    // Lists of files may be given by repeating the flag.
    if (spec.name == "catalog" || spec.name == "profile-file") {
      option->multi_option_policy(CLI::MultiOptionPolicy::Join)->delimiter(',');
    }
  }

  auto* store = app.add_subcommand("store", "work on a Ferry store");
  store->require_subcommand(1);
  ferry::StoreCopySettings copy_settings;
  auto* copy = store->add_subcommand(
      "copy", "copy a store to another backend with the same ids (e.g. SQLite data dir to PostgreSQL)");
  copy->add_option("--from", copy_settings.from, "data directory or postgresql:// URL to copy from")->required();
  copy->add_option("--to", copy_settings.to, "postgresql:// URL or data directory to copy into")->required();
  copy->add_flag("--merge", copy_settings.merge, "copy into a store that already holds data; existing ids are kept");

  auto* catalog = app.add_subcommand("catalog", "read catalogs of event types (docs/catalogs.md)");
  catalog->require_subcommand(1);
  ferry::CatalogCommandSettings catalog_settings;
  auto add_catalog_options = [&catalog_settings](CLI::App* command) {
    command->add_option("--catalog", catalog_settings.catalogs,
                        "catalog file or directory of them (repeatable; default: catalogs)");
    command->add_option("--profile-file", catalog_settings.profile_files,
                        "custom wire profile file the catalogs may name (repeatable)");
    command->add_flag("--json", catalog_settings.json, "print JSON");
  };
  auto* catalog_list = catalog->add_subcommand("list", "list the event types of the catalogs");
  add_catalog_options(catalog_list);
  auto* catalog_show = catalog->add_subcommand("show", "print one event type: schema, examples, flags, decision");
  catalog_show->add_option("type", catalog_settings.type, "event type name")->required();
  add_catalog_options(catalog_show);
  auto* catalog_validate =
      catalog->add_subcommand("validate", "check a catalog file and every example against its schema");
  catalog_validate->add_option("file", catalog_settings.file, "catalog file")->required();
  catalog_validate->add_option("--profile-file", catalog_settings.profile_files,
                               "custom wire profile file the catalog may name (repeatable)");

  ferry::SendSettings send_settings;
  auto* send = app.add_subcommand("send", "publish an event (data from an argument, --file or standard input)");
  add_access_options(send, send_settings.access);
  send->add_option("--workspace,-w", send_settings.workspace, "workspace id")->required();
  send->add_option("--type,-t", send_settings.type, "event type, e.g. order.completed")->required();
  send->add_option("data", send_settings.data, "the payload as JSON; - (or nothing, when piped) reads standard input");
  send->add_option("--file,-f", send_settings.data_file, "read the payload from this file");
  send->add_option("--id", send_settings.id, "message id (repeating one within 24 h publishes nothing new)");
  send->add_option("--idempotency-key", send_settings.idempotency_key, "Idempotency-Key header");
  send->add_flag("--test", send_settings.test, "mark the message as a test event");
  send->add_flag("--json", send_settings.json, "print the API's answer as JSON");

  ferry::ReplaySettings replay_settings;
  auto* replay =
      app.add_subcommand("replay", "resend the failed deliveries of an endpoint or a workspace since a time");
  add_access_options(replay, replay_settings.access);
  replay->add_option("--workspace,-w", replay_settings.workspace, "workspace id")->required();
  replay->add_option("--endpoint,-e", replay_settings.endpoint, "endpoint id (default: every endpoint)");
  replay
      ->add_option("--since", replay_settings.since,
                   "deliveries created from: RFC 3339 time, epoch ms, or a duration back from now (2h, 1d)")
      ->required();
  replay->add_option("--until", replay_settings.until, "deliveries created before (default: now)");
  replay->add_flag("--dry-run", replay_settings.dry_run, "list what would be resent, resend nothing");

  ferry::VerifySettings verify_settings;
  auto* verify = app.add_subcommand("verify", "check a saved request's signature against a secret");
  add_signature_options(verify, verify_settings.check);
  verify->add_option("--request,-r", verify_settings.request_file,
                     "raw HTTP request: request line, headers, empty line, body");
  verify->add_option("--headers", verify_settings.headers_file, "file of \"Name: value\" lines (with --body)");
  verify->add_option("--body", verify_settings.body_file, "file holding the body's exact bytes (with --headers)");
  verify->add_flag("--ignore-age", verify_settings.ignore_age,
                   "check the signature only, not how old the signed time is (requests saved long ago)");

  ferry::ListenSettings listen_settings;
  auto* listen = app.add_subcommand(
      "listen", "run a local receiver that verifies each request, prints it and can forward it to your app");
  add_signature_options(listen, listen_settings.check);
  listen->add_option("--listen,-l", listen_settings.listen, "HOST:PORT to receive on (port 0: any free one)")
      ->capture_default_str();
  listen->add_option("--forward-to,-f", listen_settings.forward_to,
                     "pass verified requests on to this URL and answer with its response");
  listen->add_flag("--json", listen_settings.json, "print one JSON object per request");

  CLI11_PARSE(app, argc, argv);

  if (verify->parsed()) return ferry::run_verify(verify_settings);
  if (listen->parsed()) return ferry::run_listen(listen_settings);

  if (send->parsed()) return ferry::run_send(send_settings);
  if (replay->parsed()) return ferry::run_replay(replay_settings);

  if (copy->parsed()) return ferry::run_store_copy(copy_settings);
  if (catalog_list->parsed()) return ferry::run_catalog_list(catalog_settings);
  if (catalog_show->parsed()) return ferry::run_catalog_show(catalog_settings);
  if (catalog_validate->parsed()) return ferry::run_catalog_validate(catalog_settings);

  if (serve->parsed()) {
    for (const auto& spec : ferry::serve_setting_specs()) {
      if (serve->get_option("--" + spec.name)->count() > 0) texts[spec.name] = given[spec.name];
    }
    auto settings = ferry::parse_serve_settings(texts);
    if (!settings) {
      std::cerr << "ferry serve: " << settings.error().message << '\n';
      return 2;
    }
    return ferry::run_serve(*settings);
  }
  return 0;
}
