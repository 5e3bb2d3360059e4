#pragma once

#include "engine/http/message_parser.hpp"

#include <span>
#include <string>
#include <string_view>

namespace gaetwae::engine::http {

// The Upgrade value to forward for a request that asks to switch protocols (Connection lists
// "upgrade" and an Upgrade field is present, RFC 9110 7.8): the offered protocols the route
// allows (`allowed`: names without version, any case), in the client's order, h2c never. Written
// to `out`; empty when nothing is left, and the request is then served as plain HTTP/1.1.
void filterUpgradeOffer(const RequestHead& request, std::span<const std::string> allowed, std::string& out);

// True when a 101 answer switches to one of the protocols in `forwarded` (the value sent with
// the request): a backend switching to something the client did not ask for is broken.
bool upgradeAccepted(const ResponseHead& response, std::string_view forwarded);

} // namespace gaetwae::engine::http
