#include "engine/policy/header_transform.hpp"

#include "engine/http/header_block.hpp"

namespace gaetwae::engine::policy {

using http::equalsIgnoreCase;

std::string_view TransformVariables::value(model::HeaderVariable variable) const {
    switch (variable) {
    case model::HeaderVariable::ClientIp:
        return clientIp;
    case model::HeaderVariable::RequestId:
        return requestId;
    case model::HeaderVariable::Route:
        return route;
    case model::HeaderVariable::Pool:
        return pool;
    case model::HeaderVariable::Instance:
        return instance;
    case model::HeaderVariable::Host:
        return host;
    case model::HeaderVariable::Method:
        return method;
    case model::HeaderVariable::Path:
        return path;
    case model::HeaderVariable::Scheme:
        return scheme;
    }
    return {};
}

HeaderEdits::HeaderEdits(const model::HeaderEditConfig& config, const std::vector<std::string>& hidden) {
    for (const auto& name : config.remove) {
        m_dropped.push_back(name);
    }
    for (const auto& name : hidden) {
        m_dropped.push_back(name);
    }
    for (const auto& [name, value] : config.set) {
        m_dropped.push_back(name);
        m_lines.push_back(Line{
            name + ": ", model::parseHeaderTemplate(value).value_or(std::vector<model::TemplateSegment>{})});
    }
    for (const auto& [name, value] : config.add) {
        m_lines.push_back(Line{
            name + ": ", model::parseHeaderTemplate(value).value_or(std::vector<model::TemplateSegment>{})});
    }
}

bool HeaderEdits::drops(std::string_view name) const {
    for (const auto& dropped : m_dropped) {
        if (equalsIgnoreCase(dropped, name)) {
            return true;
        }
    }
    return false;
}

void HeaderEdits::append(std::string& out, const TransformVariables& variables) const {
    for (const auto& line : m_lines) {
        out.append(line.prefix);
        for (const auto& segment : line.value) {
            out.append(segment.variable ? variables.value(*segment.variable)
                                        : std::string_view(segment.literal));
        }
        out.append("\r\n");
    }
}

bool HeaderEditPass::drops(std::string_view name) const {
    if (rules != nullptr && rules->drops(name)) {
        return true;
    }
    if (replaceCors && name.size() > 15 && equalsIgnoreCase(name.substr(0, 15), "Access-Control-")) {
        return true;
    }
    return replaceEncoding && (equalsIgnoreCase(name, "ETag") || equalsIgnoreCase(name, "Accept-Ranges") ||
                               equalsIgnoreCase(name, "Content-Encoding"));
}

void HeaderEditPass::append(std::string& out) const {
    if (rules != nullptr && variables != nullptr) {
        rules->append(out, *variables);
    }
}

} // namespace gaetwae::engine::policy
