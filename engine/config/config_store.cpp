#include "engine/config/config_store.hpp"

#include "engine/config/config_loader.hpp"
#include "engine/config/yaml_writer.hpp"
#include "shared/model/config_codec.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace gaetwae::engine::config {

namespace {

std::int64_t nowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

nlohmann::json errorsJson(const model::Diagnostics& diagnostics) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : diagnostics.items()) {
        out.push_back({{"path", d.pointer}, {"field", model::displayPath(d.pointer)}, {"message", d.message}});
    }
    return out;
}

} // namespace

ConfigStore::ConfigStore(std::optional<std::filesystem::path> file, Hooks hooks, std::size_t keepHistory)
    : m_file(std::move(file))
    , m_hooks(std::move(hooks))
    , m_keep(keepHistory) {}

bool ConfigStore::persist(const model::GatewayConfig& config, std::string& error) {
    if (!m_file) {
        return true;
    }
    const std::string header = "# Written by gaetwaed after a change through the admin API. Every field is listed with\n"
                               "# its value; resources/config/example.yaml explains them. Comments are not kept.\n";
    return writeFileAtomically(*m_file, toYaml(model::encodeGatewayConfig(config), header), error);
}

std::variant<protocol::ChangeResult, protocol::RpcError>
ConfigStore::change(const protocol::ChangeRequest& request, const std::string& client) {
    std::lock_guard lock(m_changeMutex);
    const std::uint64_t current = m_hooks.version();
    if (request.expectedVersion != current) {
        return protocol::RpcError{protocol::rpc::kConflict,
                                  "the configuration changed meanwhile (version " + std::to_string(current) +
                                      ", expected " + std::to_string(request.expectedVersion) + ")",
                                  {{"currentVersion", current}}};
    }
    const model::GatewayConfig before = m_hooks.config();
    model::Diagnostics diagnostics;
    const model::GatewayConfig after = protocol::applyOperations(before, request.operations, diagnostics);
    if (!diagnostics.empty()) {
        return protocol::RpcError{protocol::rpc::kValidationFailed, "the change is invalid",
                                  {{"errors", errorsJson(diagnostics)}}};
    }
    if (after == before) {
        return protocol::ChangeResult{current, nlohmann::json::array()}; // nothing to do
    }
    auto problems = m_hooks.apply(after);
    if (!problems.empty()) {
        return protocol::RpcError{protocol::rpc::kValidationFailed, "the engine cannot apply the change",
                                  {{"errors", errorsJson(problems)}}};
    }
    std::string error;
    if (!persist(after, error)) {
        // Running and saved config must not diverge: undo.
        spdlog::error("admin change not saved ({}); rolling back", error);
        m_hooks.apply(before);
        record(m_hooks.version(), client, "rolled back (could not save: " + error + ")", nlohmann::json::array());
        return protocol::RpcError{protocol::rpc::kInternalError, "the change could not be saved: " + error,
                                  nullptr};
    }
    protocol::ChangeResult result{m_hooks.version(), protocol::configDiff(before, after)};
    std::string summary;
    for (const auto& op : request.operations) {
        summary += (summary.empty() ? "" : "; ") + protocol::describe(op);
    }
    record(result.version, client, summary, result.diff);
    spdlog::info("configuration version {} by {}: {}", result.version, client, summary);
    return result;
}

protocol::ValidateResult ConfigStore::validate(const std::vector<protocol::ConfigOperation>& operations) const {
    const model::GatewayConfig before = m_hooks.config();
    model::Diagnostics diagnostics;
    const model::GatewayConfig after = protocol::applyOperations(before, operations, diagnostics);
    protocol::ValidateResult result;
    result.valid = diagnostics.empty();
    result.errors = diagnostics.items();
    if (result.valid) {
        result.diff = protocol::configDiff(before, after);
    }
    return result;
}

std::vector<ConfigError> ConfigStore::reload(const std::string& client) {
    std::lock_guard lock(m_changeMutex);
    if (!m_file) {
        return {{"", {}, "", "running the built-in demo configuration: there is no file to reload"}};
    }
    auto loaded = loadConfigFile(*m_file);
    if (!loaded.ok()) {
        return loaded.errors;
    }
    const model::GatewayConfig before = m_hooks.config();
    const auto problems = m_hooks.apply(loaded.loaded->config);
    if (!problems.empty()) {
        return locateDiagnostics(problems, loaded.loaded->locations, loaded.loaded->sourceName);
    }
    record(m_hooks.version(), client, "reloaded " + m_file->string(), protocol::configDiff(before, loaded.loaded->config));
    return {};
}

std::variant<protocol::ChangeResult, protocol::RpcError> ConfigStore::reloadTls(const std::string& client) {
    std::lock_guard lock(m_changeMutex);
    const auto problems = m_hooks.apply(m_hooks.config());
    if (!problems.empty()) {
        return protocol::RpcError{protocol::rpc::kValidationFailed,
                                  "the TLS files could not be reloaded; the running certificates stay",
                                  {{"errors", errorsJson(problems)}}};
    }
    record(m_hooks.version(), client, "reloaded TLS certificates", nlohmann::json::array());
    return protocol::ChangeResult{m_hooks.version(), nlohmann::json::array()};
}

void ConfigStore::record(std::uint64_t version, const std::string& client, const std::string& summary,
                         nlohmann::json diff) {
    std::lock_guard lock(m_historyMutex);
    m_history.push_back(protocol::AuditRecord{version, nowMs(), client, summary, std::move(diff)});
    while (m_history.size() > m_keep) {
        m_history.pop_front();
    }
}

std::vector<protocol::AuditRecord> ConfigStore::history(std::size_t limit) const {
    std::lock_guard lock(m_historyMutex);
    const std::size_t n = std::min(limit, m_history.size());
    return {m_history.end() - static_cast<std::ptrdiff_t>(n), m_history.end()};
}

} // namespace gaetwae::engine::config
