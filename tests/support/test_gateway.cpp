#include "tests/support/test_gateway.hpp"

#include "engine/config/config_loader.hpp"

#include <spdlog/spdlog.h>

namespace gaetwae::test {

namespace {

// Engine logs (start, drain, stop per test) would drown the test output; warnings still show.
engine::core::Engine::Options quiet(engine::core::Engine::Options options) {
    spdlog::set_level(spdlog::level::warn);
    return options;
}

} // namespace

TestGateway::TestGateway(const std::string& yaml, unsigned workers)
    : TestGateway(yaml, engine::core::Engine::Options{workers, nullptr, 0}) {}

TestGateway::TestGateway(const std::string& yaml, engine::core::Engine::Options options)
    : m_engine(quiet(options)) {
    const auto loaded = engine::config::loadConfigText(yaml, "test.yaml");
    if (!loaded.ok()) {
        m_error = loaded.errorText();
        return;
    }
    const auto diagnostics = m_engine.start(loaded.loaded->config);
    for (const auto& error : engine::config::locateDiagnostics(diagnostics, loaded.loaded->locations, "test.yaml")) {
        m_error += error.toString() + "\n";
    }
}

TestGateway::~TestGateway() {
    m_engine.shutdown(std::chrono::milliseconds(2000));
}

std::string TestGateway::apply(const std::string& yaml) {
    const auto loaded = engine::config::loadConfigText(yaml, "test.yaml");
    if (!loaded.ok()) {
        return loaded.errorText();
    }
    std::string error;
    const auto diagnostics = m_engine.apply(loaded.loaded->config);
    for (const auto& e : engine::config::locateDiagnostics(diagnostics, loaded.loaded->locations, "test.yaml")) {
        error += e.toString() + "\n";
    }
    return error;
}

} // namespace gaetwae::test
