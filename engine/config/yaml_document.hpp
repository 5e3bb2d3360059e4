#pragma once

#include "shared/model/diagnostics.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gaetwae::engine::config {

// 1-based line and column in a source file; 0 means unknown.
struct SourceLocation {
    int line = 0;
    int column = 0;
};

// Where each JSON pointer of a converted YAML document came from, for values and for keys.
class LocationMap {
public:
    void addValue(const std::string& pointer, SourceLocation location);
    void addKey(const std::string& pointer, SourceLocation location);

    // The value's location (or the key's for key diagnostics); for a pointer that does not exist
    // (a missing field) the nearest existing ancestor, so "missing field" points at its mapping.
    SourceLocation locate(const model::Diagnostic& diagnostic) const;

private:
    std::unordered_map<std::string, SourceLocation> m_values;
    std::unordered_map<std::string, SourceLocation> m_keys;
};

// A config problem as users see it: "demo.yaml:12:7: pools[0].instances[1].address: ...".
struct ConfigError {
    std::string file;
    SourceLocation location;
    std::string field; // display path, empty for syntax errors
    std::string message;

    std::string toString() const;
};

struct YamlDocument {
    nlohmann::json root;
    LocationMap locations;
};

// Converts YAML text to JSON, recording where every key and value came from. Plain scalars are
// typed by the YAML 1.2 core schema (true/false, integers, floats, null; "yes"/"no" stay strings);
// quoted scalars are always strings. Duplicate keys are errors, not silent overrides.
struct YamlParseResult {
    std::optional<YamlDocument> document;
    std::vector<ConfigError> errors;
};
YamlParseResult parseYaml(std::string_view text, const std::string& sourceName);

// Maps decoder/validator diagnostics to file positions.
std::vector<ConfigError> locateDiagnostics(const model::Diagnostics& diagnostics, const LocationMap& locations,
                                           const std::string& sourceName);

} // namespace gaetwae::engine::config
