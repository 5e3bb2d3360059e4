#pragma once

#include "engine/core/engine.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace gaetwae::test {

// An in-process Engine started from YAML text (one worker by default, so a keep-alive
// connection's requests are served in a deterministic order). Listen on port 0; port() tells.
class TestGateway {
public:
    explicit TestGateway(const std::string& yaml, unsigned workers = 1);
    TestGateway(const std::string& yaml, engine::core::Engine::Options options);
    ~TestGateway();

    bool ok() const { return m_error.empty(); }
    const std::string& error() const { return m_error; }
    std::uint16_t port(std::size_t listener = 0) const { return m_engine.listenerPort(listener); }
    engine::core::Engine& engine() { return m_engine; }

    // Loads and applies new YAML; returns the error text ("" on success).
    std::string apply(const std::string& yaml);

private:
    engine::core::Engine m_engine;
    std::string m_error;
};

} // namespace gaetwae::test
