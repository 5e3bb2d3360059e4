#include "engine/http/upgrade.hpp"

#include <algorithm>

namespace gaetwae::engine::http {

namespace {

// "websocket/13" -> "websocket" (RFC 9110 7.8: protocol-name ["/" protocol-version]).
std::string_view protocolName(std::string_view protocol) {
    return protocol.substr(0, protocol.find('/'));
}

} // namespace

void filterUpgradeOffer(const RequestHead& request, std::span<const std::string> allowed, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < request.headers.size(); ++i) {
        const auto field = request.headers[i];
        if (field.id != bhttp::field::upgrade) {
            continue;
        }
        forEachToken(field.value, [&](std::string_view protocol) {
            const std::string_view name = protocolName(protocol);
            // h2c would make the instance answer in HTTP/2 on a connection we parse as HTTP/1.1.
            if (equalsIgnoreCase(name, "h2c") ||
                std::none_of(allowed.begin(), allowed.end(),
                             [name](const std::string& a) { return equalsIgnoreCase(a, name); })) {
                return;
            }
            if (!out.empty()) {
                out.append(", ");
            }
            out.append(protocol);
        });
    }
}

bool upgradeAccepted(const ResponseHead& response, std::string_view forwarded) {
    const auto answered = response.headers.get(bhttp::field::upgrade);
    if (!answered) {
        return false;
    }
    bool accepted = false;
    forEachToken(*answered, [&](std::string_view chosen) {
        forEachToken(forwarded, [&](std::string_view offered) {
            accepted = accepted || equalsIgnoreCase(protocolName(chosen), protocolName(offered));
        });
    });
    return accepted;
}

} // namespace gaetwae::engine::http
