#pragma once

#include "engine/core/engine.hpp"

#include <QTemporaryDir>

#include <cstdint>
#include <memory>
#include <string>

namespace gaetwae::test {

// An in-process Engine started from YAML text (one worker by default, so a keep-alive
// connection's requests are served in a deterministic order). Listen on port 0; port() tells.
// The admin API is isolated per gateway: unless the YAML says otherwise it binds 127.0.0.1:0
// and keeps its token in a temporary directory (adminPort() and adminToken() tell).
class TestGateway {
public:
    explicit TestGateway(const std::string& yaml, unsigned workers = 1);
    // With `persist`, the YAML is written to configPath() and admin changes are saved there.
    TestGateway(const std::string& yaml, engine::core::Engine::Options options, bool persist = false);
    ~TestGateway();

    bool ok() const { return m_error.empty(); }
    const std::string& error() const { return m_error; }
    std::uint16_t port(std::size_t listener = 0) const { return m_engine.listenerPort(listener); }
    engine::core::Engine& engine() { return m_engine; }
    std::uint16_t adminPort() const { return m_engine.adminPort(); }
    std::string adminToken() const;
    // Where the YAML given to the constructor is written when `persist` is set.
    std::string configPath() const;

    // Loads and applies new YAML; returns the error text ("" on success).
    std::string apply(const std::string& yaml);

private:
    void isolateAdmin(model::GatewayConfig& config) const;

    QTemporaryDir m_dir;
    engine::core::Engine m_engine;
    std::string m_error;
};

} // namespace gaetwae::test
