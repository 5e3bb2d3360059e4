#pragma once

#include "shared/model/header_template.hpp"
#include "shared/model/transform_config.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace gaetwae::engine::policy {

// The values a header template may refer to, for one request (views into the session's state).
struct TransformVariables {
    std::string_view clientIp;
    std::string_view requestId;
    std::string_view route;
    std::string_view pool;
    std::string_view instance; // empty until an instance is chosen
    std::string_view host;     // as the client sent it (Host or the absolute-form authority)
    std::string_view method;
    std::string_view path; // as the client sent it, before rewrites, without the query
    std::string_view scheme = "http";

    std::string_view value(model::HeaderVariable variable) const;
};

// One direction's set/add/remove (and, for responses, hide_headers) of a route, precompiled:
// names to drop and lines whose templates are already split into literal and variable segments.
class HeaderEdits {
public:
    HeaderEdits() = default;
    // The config was validated: every template parses.
    HeaderEdits(const model::HeaderEditConfig& config, const std::vector<std::string>& hidden);

    bool empty() const { return m_dropped.empty() && m_lines.empty(); }
    // A field of this name from the original message is not passed on (removed, hidden or set).
    bool drops(std::string_view name) const;
    // Appends the set and add lines ("Name: value\r\n") with the variables filled in.
    void append(std::string& out, const TransformVariables& variables) const;

private:
    struct Line {
        std::string prefix; // "Name: "
        std::vector<model::TemplateSegment> value;
    };
    std::vector<std::string> m_dropped;
    std::vector<Line> m_lines;
};

// The edits a head writer applies to one message (header_rules.hpp): the route's rules with this
// request's variables, plus the fields the gateway replaces on this response.
struct HeaderEditPass {
    const HeaderEdits* rules = nullptr;
    const TransformVariables* variables = nullptr;
    bool replaceCors = false; // a CORS route: the gateway writes every Access-Control-* field
    bool replaceEncoding =
        false; // compressing: ETag comes back weak, ranges no longer apply, our Content-Encoding

    bool drops(std::string_view name) const;
    void append(std::string& out) const;
};

} // namespace gaetwae::engine::policy
