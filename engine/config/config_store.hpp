#pragma once

#include "engine/config/yaml_document.hpp"
#include "shared/model/config.hpp"
#include "shared/model/diagnostics.hpp"
#include "shared/protocol/admin_messages.hpp"
#include "shared/protocol/jsonrpc.hpp"

#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace gaetwae::engine::config {

// Every change to the running configuration goes through here, one at a time: admin API changes
// and transactions (checked against the expected version, validated with every error reported,
// applied, then written back to the YAML file) and SIGHUP reloads. Each applied change leaves an
// audit record. The engine stays the source of truth for the live config and its version.
class ConfigStore {
public:
    struct Hooks {
        std::function<model::GatewayConfig()> config;
        std::function<std::uint64_t()> version;
        std::function<model::Diagnostics(const model::GatewayConfig&)> apply; // empty: applied
    };

    ConfigStore(std::optional<std::filesystem::path> file, Hooks hooks, std::size_t keepHistory = 1000);

    bool persistent() const { return m_file.has_value(); }
    std::string path() const { return m_file ? m_file->string() : std::string(); }

    // An atomic change: all operations apply, or none. Errors: conflict (stale expectedVersion,
    // data.currentVersion), validation (data.errors), internal (the file could not be written; the
    // running config is then rolled back).
    std::variant<protocol::ChangeResult, protocol::RpcError> change(const protocol::ChangeRequest& request,
                                                                     const std::string& client);
    // A dry run: every error and the diff the change would make.
    protocol::ValidateResult validate(const std::vector<protocol::ConfigOperation>& operations) const;
    // SIGHUP: reads the file again. Returns the problems (with file positions); none means applied.
    std::vector<ConfigError> reload(const std::string& client);
    // Applies the running configuration again so TLS certificate, key and CA files are read
    // anew (admin tls.reload); on an error the running contexts stay. Leaves an audit record.
    std::variant<protocol::ChangeResult, protocol::RpcError> reloadTls(const std::string& client);
    // Records a change applied by other means (the initial load, tests).
    void record(std::uint64_t version, const std::string& client, const std::string& summary, nlohmann::json diff);

    std::vector<protocol::AuditRecord> history(std::size_t limit) const;

private:
    bool persist(const model::GatewayConfig& config, std::string& error);

    std::optional<std::filesystem::path> m_file;
    Hooks m_hooks;
    std::size_t m_keep;
    mutable std::mutex m_changeMutex; // one change at a time
    mutable std::mutex m_historyMutex;
    std::deque<protocol::AuditRecord> m_history;
};

} // namespace gaetwae::engine::config
