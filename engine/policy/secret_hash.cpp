#include "engine/policy/secret_hash.hpp"

#include "engine/policy/auth_crypto.hpp"
#include "shared/model/auth_codec.hpp"

namespace gaetwae::engine::policy {

std::string hashApiKey(std::string_view key) {
    return "sha256:" + model::toHex(sha256(key));
}

std::string hashPassword(std::string_view password, std::uint32_t iterations) {
    const std::string salt = randomBytes(16);
    const std::string hash = salt.empty() ? std::string() : pbkdf2Sha256(password, salt, iterations);
    if (hash.empty()) {
        return {};
    }
    return "pbkdf2-sha256$" + std::to_string(iterations) + "$" + model::toHex(salt) + "$" +
           model::toHex(hash);
}

std::string generateApiKey() {
    const std::string bytes = randomBytes(32);
    return bytes.empty() ? std::string() : "gk_" + base64UrlEncode(bytes);
}

} // namespace gaetwae::engine::policy
