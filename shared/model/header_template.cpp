#include "shared/model/header_template.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace gaetwae::model {

namespace {

constexpr std::array<std::pair<std::string_view, HeaderVariable>, 9> kVariables{{
    {"client_ip", HeaderVariable::ClientIp},
    {"request_id", HeaderVariable::RequestId},
    {"route", HeaderVariable::Route},
    {"pool", HeaderVariable::Pool},
    {"instance", HeaderVariable::Instance},
    {"host", HeaderVariable::Host},
    {"method", HeaderVariable::Method},
    {"path", HeaderVariable::Path},
    {"scheme", HeaderVariable::Scheme},
}};

bool fail(std::string* error, std::string message) {
    if (error != nullptr) {
        *error = std::move(message);
    }
    return false;
}

} // namespace

std::optional<std::vector<TemplateSegment>> parseHeaderTemplate(std::string_view text, std::string* error) {
    std::vector<TemplateSegment> segments;
    std::string literal;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        const auto byte = static_cast<unsigned char>(c);
        if ((byte < 0x20 && c != '\t') || byte == 0x7f) {
            fail(error, "header values cannot contain control characters (CR, LF, NUL ...)");
            return std::nullopt;
        }
        if (c != '$' || i + 1 >= text.size() || text[i + 1] != '{') {
            literal.push_back(c);
            continue;
        }
        const auto close = text.find('}', i + 2);
        if (close == std::string_view::npos) {
            fail(error, "unterminated '${' in '" + std::string(text) + "'");
            return std::nullopt;
        }
        const std::string_view name = text.substr(i + 2, close - i - 2);
        std::optional<HeaderVariable> variable;
        for (const auto& [known, value] : kVariables) {
            if (known == name) {
                variable = value;
            }
        }
        if (!variable) {
            std::string names;
            for (const auto& [known, value] : kVariables) {
                names += names.empty() ? "" : ", ";
                names += known;
            }
            fail(error, "unknown variable '${" + std::string(name) + "}', expected one of: " + names);
            return std::nullopt;
        }
        if (!literal.empty()) {
            segments.push_back({std::move(literal), std::nullopt});
            literal.clear();
        }
        segments.push_back({{}, variable});
        i = close;
    }
    if (!literal.empty() || segments.empty()) {
        segments.push_back({std::move(literal), std::nullopt});
    }
    return segments;
}

bool sameFieldName(std::string_view a, std::string_view b) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

bool isGatewayOwnedHeader(std::string_view name, std::string_view requestIdHeader) {
    static constexpr std::array<std::string_view, 13> kOwned{
        "Content-Length",
        "Transfer-Encoding",
        "Connection",
        "Keep-Alive",
        "Proxy-Connection",
        "TE",
        "Trailer",
        "Upgrade",
        "Host",
        "Via",
        "X-Forwarded-For",
        "X-Forwarded-Proto",
        "X-Forwarded-Host",
    };
    for (const auto owned : kOwned) {
        if (sameFieldName(owned, name)) {
            return true;
        }
    }
    return sameFieldName(name, requestIdHeader);
}

} // namespace gaetwae::model
