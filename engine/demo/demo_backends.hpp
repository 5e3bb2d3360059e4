#pragma once

#include "engine/net/asio.hpp"
#include "shared/model/config.hpp"

#include <memory>
#include <string>
#include <vector>

namespace gaetwae::engine::demo {

// Small built-in HTTP backends for `gaetwaed --demo`, so the demo config works out of the box.
// Each answers with its own instance id (JSON body and X-Instance header) so balancing is
// visible, and offers a few test paths: /delay/<ms>, /status/<code>, /bytes/<n>, /echo.
class DemoBackends {
public:
    explicit DemoBackends(asio::io_context& io);
    ~DemoBackends();
    DemoBackends(const DemoBackends&) = delete;
    DemoBackends& operator=(const DemoBackends&) = delete;

    // Starts a backend for every loopback instance of `config` not served yet. Returns a line per
    // backend started ("demo-1 on 127.0.0.1:9101"); addresses already in use are skipped with a
    // warning. Thread-safe.
    std::vector<std::string> start(const model::GatewayConfig& config);
    void stop();

private:
    struct Backend;
    asio::io_context& m_io;
    std::vector<std::shared_ptr<Backend>> m_backends;
};

} // namespace gaetwae::engine::demo
