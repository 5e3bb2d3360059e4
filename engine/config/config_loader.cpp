#include "engine/config/config_loader.hpp"

#include "shared/model/config_codec.hpp"

#include <fstream>
#include <sstream>

namespace gaetwae::engine::config {

std::string ConfigLoadResult::errorText() const {
    std::string out;
    for (const auto& error : errors) {
        out += error.toString();
        out += '\n';
    }
    return out;
}

ConfigLoadResult loadConfigText(std::string_view text, const std::string& sourceName) {
    ConfigLoadResult result;
    auto parsed = parseYaml(text, sourceName);
    if (!parsed.document) {
        result.errors = std::move(parsed.errors);
        return result;
    }
    model::Diagnostics diagnostics;
    auto config = model::decodeGatewayConfig(parsed.document->root, diagnostics);
    if (!diagnostics.empty()) {
        result.errors = locateDiagnostics(diagnostics, parsed.document->locations, sourceName);
        return result;
    }
    result.loaded = LoadedConfig{std::move(config), std::move(parsed.document->locations), sourceName};
    return result;
}

ConfigLoadResult loadConfigFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        ConfigLoadResult result;
        std::error_code ec;
        const bool exists = std::filesystem::exists(path, ec);
        result.errors.push_back({path.string(), {}, "", exists ? "cannot read the file" : "no such file"});
        return result;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return loadConfigText(text.str(), path.string());
}

} // namespace gaetwae::engine::config
