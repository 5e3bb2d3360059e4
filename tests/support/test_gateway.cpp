#include "tests/support/test_gateway.hpp"

#include "engine/admin/token.hpp"
#include "engine/config/config_loader.hpp"

#include <fstream>

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
    : TestGateway(yaml, engine::core::Engine::Options{workers, nullptr, 0, std::nullopt}) {}

namespace {

engine::core::Engine::Options withFile(engine::core::Engine::Options options, const QTemporaryDir& dir, bool persist) {
    if (persist) {
        options.configFile = dir.filePath(QStringLiteral("gaetwae.yaml")).toStdString();
    }
    return quiet(options);
}

} // namespace

TestGateway::TestGateway(const std::string& yaml, engine::core::Engine::Options options, bool persist)
    : m_engine(withFile(options, m_dir, persist)) {
    if (persist) {
        std::ofstream(configPath()) << yaml;
    }
    auto loaded = engine::config::loadConfigText(yaml, "test.yaml");
    if (!loaded.ok()) {
        m_error = loaded.errorText();
        return;
    }
    isolateAdmin(loaded.loaded->config);
    const auto diagnostics = m_engine.start(loaded.loaded->config);
    for (const auto& error : engine::config::locateDiagnostics(diagnostics, loaded.loaded->locations, "test.yaml")) {
        m_error += error.toString() + "\n";
    }
}

TestGateway::~TestGateway() {
    m_engine.shutdown(std::chrono::milliseconds(2000));
}

void TestGateway::isolateAdmin(model::GatewayConfig& config) const {
    const model::AdminConfig defaults;
    if (config.admin.address == defaults.address) {
        config.admin.address = "127.0.0.1:0";
    }
    if (config.admin.tokenFile.empty()) {
        config.admin.tokenFile = m_dir.filePath(QStringLiteral("admin.token")).toStdString();
    }
}

std::string TestGateway::adminToken() const {
    std::string error;
    const auto& admin = m_engine.config().admin;
    return engine::admin::readToken(admin.tokenFile, error).value_or(std::string());
}

std::string TestGateway::configPath() const {
    return m_dir.filePath(QStringLiteral("gaetwae.yaml")).toStdString();
}

std::string TestGateway::apply(const std::string& yaml) {
    auto loaded = engine::config::loadConfigText(yaml, "test.yaml");
    if (!loaded.ok()) {
        return loaded.errorText();
    }
    isolateAdmin(loaded.loaded->config);
    std::string error;
    const auto diagnostics = m_engine.apply(loaded.loaded->config);
    for (const auto& e : engine::config::locateDiagnostics(diagnostics, loaded.loaded->locations, "test.yaml")) {
        error += e.toString() + "\n";
    }
    return error;
}

} // namespace gaetwae::test
