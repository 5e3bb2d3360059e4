#include "engine/policy/auth_registry.hpp"

namespace gaetwae::engine::policy {

namespace {

std::string identityOf(const model::JwtKeySource& source) {
    const char* kind = !source.jwksFile.empty() ? "jwks" : (!source.secretFile.empty() ? "secret" : "pem");
    return std::string(kind) + '\n' + keySourcePath(source) + '\n' +
           std::string(model::toString(source.alg)) + '\n' + source.kid;
}

std::string_view fieldOf(const model::JwtKeySource& source) {
    if (!source.jwksFile.empty()) {
        return "jwks_file";
    }
    return source.secretFile.empty() ? "pem_file" : "secret_file";
}

} // namespace

std::shared_ptr<KeyFile> AuthRegistry::obtain(const model::JwtKeySource& source, const std::string& pointer,
                                              model::Diagnostics& diagnostics) {
    const std::string identity = identityOf(source);
    if (auto existing = m_files[identity].lock()) {
        existing->refresh();
        return existing;
    }
    std::string error;
    const FileStamp stamp = stampOf(keySourcePath(source));
    auto keys = loadKeySource(source, error);
    if (!keys) {
        diagnostics.error(model::childPointer(pointer, fieldOf(source)), error);
        return nullptr;
    }
    auto file = std::make_shared<KeyFile>(source, std::move(*keys), stamp);
    m_files[identity] = file;
    return file;
}

std::vector<std::shared_ptr<const RouteAuth>> AuthRegistry::bind(const model::GatewayConfig& config,
                                                                 model::Diagnostics& diagnostics) {
    std::lock_guard lock(m_mutex);
    std::vector<std::shared_ptr<const RouteAuth>> out(config.routes.size());
    std::shared_ptr<const ConsumerDirectory> consumers;
    for (std::size_t r = 0; r < config.routes.size(); ++r) {
        const auto& route = config.routes[r];
        if (!route.auth) {
            continue;
        }
        if (!consumers) {
            consumers = ConsumerDirectory::build(config.consumers);
        }
        std::vector<std::shared_ptr<KeyFile>> files;
        if (route.auth->jwt) {
            const auto& keys = route.auth->jwt->keys;
            for (std::size_t k = 0; k < keys.size(); ++k) {
                const auto pointer = model::childPointer(
                    model::childPointer(model::childPointer("/routes", r), "auth") + "/jwt/keys", k);
                if (auto file = obtain(keys[k], pointer, diagnostics)) {
                    files.push_back(std::move(file));
                }
            }
        }
        out[r] = std::make_shared<const RouteAuth>(*route.auth, consumers, std::move(files), m_cache);
    }
    for (auto it = m_files.begin(); it != m_files.end();) {
        it = it->second.expired() ? m_files.erase(it) : std::next(it);
    }
    return out;
}

} // namespace gaetwae::engine::policy
