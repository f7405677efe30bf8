#include "delivery/endpoint_url.hpp"

#include <curl/curl.h>

#include <memory>
#include <string>

namespace ferry {

namespace {

struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct CurlStringDeleter {
  void operator()(char* text) const { curl_free(text); }
};

std::string url_part(CURLU* url, CURLUPart part) {
  char* raw = nullptr;
  if (curl_url_get(url, part, &raw, 0) != CURLUE_OK || raw == nullptr) return {};
  std::unique_ptr<char, CurlStringDeleter> owned(raw);
  return std::string(raw);
}

Error invalid(std::string message) { return make_error(ErrorCode::unprocessable, "\"url\": " + std::move(message)); }

}  // namespace

Status validate_endpoint_url(std::string_view text, const TargetPolicy& policy) {
  if (text.empty()) return invalid("must not be empty");
  if (text.size() > kMaxEndpointUrlLength) return invalid("longer than 2048 characters");
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return invalid("must not contain spaces or control characters");
  }
  // curl forgives "http:///host" (an empty authority); a registered URL must not need forgiving.
  if (const auto scheme_end = text.find("://");
      scheme_end == std::string_view::npos || scheme_end + 3 >= text.size() || text[scheme_end + 3] == '/') {
    return invalid("must be an absolute http(s) URL with a host");
  }
  std::unique_ptr<CURLU, UrlDeleter> url(curl_url());
  if (!url) return make_error(ErrorCode::internal, "out of memory");
  const std::string copy(text);
  if (curl_url_set(url.get(), CURLUPART_URL, copy.c_str(), 0) != CURLUE_OK) return invalid("is not a valid URL");
  const std::string scheme = url_part(url.get(), CURLUPART_SCHEME);
  if (scheme != "http" && scheme != "https") return invalid("scheme must be http or https");
  std::string host = url_part(url.get(), CURLUPART_HOST);
  if (host.empty()) return invalid("must have a host");
  if (!url_part(url.get(), CURLUPART_USER).empty()) return invalid("must not carry credentials");
  if (auto reason = policy.refusal_reason_for_literal_host(host)) {
    return invalid("target refused: " + *reason + " (see --allow-targets)");
  }
  return {};
}

}  // namespace ferry
