#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace gaetwae::engine::config {

// JSON (an encoded GatewayConfig) -> YAML text that loadConfigText() reads back to the same
// value: strings that YAML would read as something else ("1", "true", "null", "", "yes: no")
// are quoted, everything else stays plain and readable. Comments are not preserved.
std::string toYaml(const nlohmann::json& document, const std::string& header = {});

// Replaces `path` atomically: writes a temporary file beside it, fsyncs it and renames it over
// the original (keeping the original's permissions), so a crash leaves the old or the new file,
// never half of one. Returns false and sets `error` on failure.
bool writeFileAtomically(const std::filesystem::path& path, const std::string& content, std::string& error);

} // namespace gaetwae::engine::config
