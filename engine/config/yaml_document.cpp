#include "engine/config/yaml_document.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <regex>

namespace gaetwae::engine::config {

namespace {

SourceLocation toLocation(const YAML::Mark& mark) {
    if (mark.line < 0) {
        return {};
    }
    return SourceLocation{mark.line + 1, mark.column + 1};
}

bool isNullText(const std::string& s) {
    return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

// YAML 1.2 core schema for plain scalars.
nlohmann::json typedScalar(const YAML::Node& node) {
    const std::string& text = node.Scalar();
    const std::string& tag = node.Tag();
    if (tag == "!" || tag == "tag:yaml.org,2002:str") {
        return text; // quoted, or explicitly tagged as a string
    }
    if (isNullText(text)) {
        return nullptr;
    }
    if (text == "true" || text == "True" || text == "TRUE") {
        return true;
    }
    if (text == "false" || text == "False" || text == "FALSE") {
        return false;
    }
    static const std::regex integerPattern("[-+]?[0-9]+");
    static const std::regex floatPattern(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
    if (std::regex_match(text, integerPattern)) {
        const char* begin = text.data() + (text.front() == '+' ? 1 : 0);
        std::int64_t value = 0;
        const auto [ptr, ec] = std::from_chars(begin, text.data() + text.size(), value);
        if (ec == std::errc{} && ptr == text.data() + text.size()) {
            return value;
        }
        return text; // out of range: let the field's reader complain with the original text
    }
    if (std::regex_match(text, floatPattern)) {
        return std::stod(text);
    }
    return text;
}

class Converter {
public:
    Converter(const std::string& sourceName, LocationMap& locations, std::vector<ConfigError>& errors)
        : m_sourceName(sourceName)
        , m_locations(locations)
        , m_errors(errors) {}

    nlohmann::json convert(const YAML::Node& node, const std::string& pointer, SourceLocation fallback) {
        SourceLocation location = toLocation(node.Mark());
        if (location.line == 0) {
            location = fallback;
        }
        m_locations.addValue(pointer, location);
        switch (node.Type()) {
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            return nullptr;
        case YAML::NodeType::Scalar:
            return typedScalar(node);
        case YAML::NodeType::Sequence: {
            nlohmann::json array = nlohmann::json::array();
            std::size_t index = 0;
            for (const auto& child : node) {
                array.push_back(convert(child, model::childPointer(pointer, index++), location));
            }
            return array;
        }
        case YAML::NodeType::Map: {
            nlohmann::json object = nlohmann::json::object();
            for (const auto& pair : node) {
                const SourceLocation keyLocation = toLocation(pair.first.Mark());
                if (!pair.first.IsScalar()) {
                    m_errors.push_back({m_sourceName, keyLocation, model::displayPath(pointer),
                                        "mapping keys must be plain text"});
                    continue;
                }
                const std::string key = pair.first.Scalar();
                const std::string childPointer = model::childPointer(pointer, key);
                if (object.contains(key)) {
                    m_errors.push_back({m_sourceName, keyLocation, model::displayPath(childPointer),
                                        "duplicate key '" + key + "'"});
                    continue;
                }
                m_locations.addKey(childPointer, keyLocation);
                object[key] = convert(pair.second, childPointer, keyLocation);
            }
            return object;
        }
        }
        return nullptr;
    }

private:
    const std::string& m_sourceName;
    LocationMap& m_locations;
    std::vector<ConfigError>& m_errors;
};

} // namespace

void LocationMap::addValue(const std::string& pointer, SourceLocation location) {
    m_values[pointer] = location;
}

void LocationMap::addKey(const std::string& pointer, SourceLocation location) {
    m_keys[pointer] = location;
}

SourceLocation LocationMap::locate(const model::Diagnostic& diagnostic) const {
    if (diagnostic.atKey) {
        if (const auto it = m_keys.find(diagnostic.pointer); it != m_keys.end()) {
            return it->second;
        }
    }
    std::string pointer = diagnostic.pointer;
    for (;;) {
        if (const auto it = m_values.find(pointer); it != m_values.end() && it->second.line != 0) {
            return it->second;
        }
        if (pointer.empty()) {
            return {};
        }
        pointer.erase(pointer.rfind('/'));
    }
}

std::string ConfigError::toString() const {
    std::string out = file;
    if (location.line > 0) {
        out += ":" + std::to_string(location.line) + ":" + std::to_string(location.column);
    }
    out += ": ";
    if (!field.empty()) {
        out += field + ": ";
    }
    out += message;
    return out;
}

YamlParseResult parseYaml(std::string_view text, const std::string& sourceName) {
    YamlParseResult result;
    YAML::Node root;
    try {
        root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
        result.errors.push_back({sourceName, toLocation(e.mark), "", "YAML syntax error: " + e.msg});
        return result;
    }
    if (!root.IsDefined() || root.IsNull()) {
        result.errors.push_back({sourceName, {1, 1}, "", "the configuration is empty"});
        return result;
    }
    YamlDocument document;
    Converter converter(sourceName, document.locations, result.errors);
    document.root = converter.convert(root, "", SourceLocation{1, 1});
    if (result.errors.empty()) {
        result.document = std::move(document);
    }
    return result;
}

std::vector<ConfigError> locateDiagnostics(const model::Diagnostics& diagnostics, const LocationMap& locations,
                                           const std::string& sourceName) {
    std::vector<ConfigError> errors;
    errors.reserve(diagnostics.size());
    for (const auto& d : diagnostics.items()) {
        errors.push_back({sourceName, locations.locate(d), d.pointer.empty() ? "" : model::displayPath(d.pointer),
                          d.message});
    }
    // In file order, as an editor shows them; problems without a position go first.
    std::stable_sort(errors.begin(), errors.end(), [](const ConfigError& a, const ConfigError& b) {
        return std::pair(a.location.line, a.location.column) < std::pair(b.location.line, b.location.column);
    });
    return errors;
}

} // namespace gaetwae::engine::config
