#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Header value templates of routes' request_headers / response_headers: literal text with
// ${variable} references, parsed once at config time into segments the engine fills per request.
namespace gaetwae::model {

enum class HeaderVariable { ClientIp, RequestId, Route, Pool, Instance, Host, Method, Path, Scheme };

struct TemplateSegment {
    std::string literal; // used when `variable` is empty
    std::optional<HeaderVariable> variable;

    bool operator==(const TemplateSegment&) const = default;
};

// "id=${request_id}; via ${route}" -> {"id="}, {RequestId}, {"; via "}, {Route}. A '$' not
// followed by '{' is literal. nullopt on an unknown or unterminated reference or a character
// that cannot be in a header value (CR, LF, NUL, other controls but tab); `error` says which.
std::optional<std::vector<TemplateSegment>> parseHeaderTemplate(std::string_view text,
                                                                std::string* error = nullptr);

// Header field names compare ASCII case-insensitively.
bool sameFieldName(std::string_view a, std::string_view b);

// The names the gateway writes itself (framing, hop-by-hop, Host, Via, X-Forwarded-*): a route
// cannot set, add or remove them. `requestIdHeader` is the configured request id field.
bool isGatewayOwnedHeader(std::string_view name, std::string_view requestIdHeader);

} // namespace gaetwae::model
