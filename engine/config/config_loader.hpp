#pragma once

#include "engine/config/yaml_document.hpp"
#include "shared/model/config.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gaetwae::engine::config {

struct LoadedConfig {
    model::GatewayConfig config;
    LocationMap locations; // to place errors found later (address resolution, bind failures)
    std::string sourceName;
};

struct ConfigLoadResult {
    std::optional<LoadedConfig> loaded;
    std::vector<ConfigError> errors; // every problem, in file order

    bool ok() const { return loaded.has_value(); }
    std::string errorText() const; // one line per error
};

// Reads, parses, decodes and validates a YAML config file. Never throws.
ConfigLoadResult loadConfigFile(const std::filesystem::path& path);
ConfigLoadResult loadConfigText(std::string_view text, const std::string& sourceName);

} // namespace gaetwae::engine::config
