#pragma once

#include <string_view>

#include "core/result.hpp"
#include "delivery/target_policy.hpp"

namespace ferry {

inline constexpr std::size_t kMaxEndpointUrlLength = 2048;

// Checks an endpoint URL when it is registered: http or https, a host, no
// credentials, and no IP literal the target policy refuses. Names are judged
// again on every connect, on the address actually used.
Status validate_endpoint_url(std::string_view url, const TargetPolicy& policy);

}  // namespace ferry
