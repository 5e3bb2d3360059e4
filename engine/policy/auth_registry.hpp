#pragma once

#include "engine/policy/authenticator.hpp"
#include "shared/model/config.hpp"
#include "shared/model/diagnostics.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace gaetwae::engine::policy {

// Compiles the routes' `auth` for each config. JWT key files are shared by every route and
// snapshot that names them and survive reloads: a source still in the new config is re-read only
// when its file changed (a reload and SIGHUP look at every file; between them the request path
// looks once a second), and a file that turns bad keeps its previous keys. A source new to the
// config must load, or the config is refused with the field named. Key files are owned by the
// snapshots (weak references here). Thread-safe.
class AuthRegistry {
public:
    // By route index of `config`; nullptr for a route without auth.
    std::vector<std::shared_ptr<const RouteAuth>> bind(const model::GatewayConfig& config,
                                                       model::Diagnostics& diagnostics);

private:
    std::shared_ptr<KeyFile> obtain(const model::JwtKeySource& source, const std::string& pointer,
                                    model::Diagnostics& diagnostics);

    std::mutex m_mutex;
    std::map<std::string, std::weak_ptr<KeyFile>> m_files; // by kind, path, algorithm and kid
    std::shared_ptr<CredentialCache> m_cache = std::make_shared<CredentialCache>();
};

} // namespace gaetwae::engine::policy
