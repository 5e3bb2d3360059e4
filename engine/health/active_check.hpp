#pragma once

#include "engine/net/asio.hpp"
#include "engine/net/tls_context.hpp"
#include "shared/model/pool_config.hpp"

#include <string>

namespace gaetwae::engine::health {

// One active health check against `endpoint`: a TCP connect, or an HTTP request whose status
// must be expected (and whose body must contain a string, when configured), all within the
// check's timeout. Each check uses a fresh connection, so it also proves new connections work.
// `detail` says what failed. Runs on the caller's (control) executor. With `tls` (a pool with
// tls), HTTP checks speak TLS like requests do, sending and verifying `tlsName`.
Task<bool> runActiveCheck(tcp::endpoint endpoint, const model::HealthCheckConfig& check, std::string host,
                          std::string& detail, std::shared_ptr<net::TlsClientContext> tls = nullptr,
                          std::string tlsName = {});

} // namespace gaetwae::engine::health
