#pragma once

#include <cstdint>
#include <string>
#include <string_view>

// The stored forms of consumer secrets (shared/model/auth_codec.hpp parses them), made here so
// operators (gaetwaed hash-secret) and tests produce exactly what the engine verifies.
namespace gaetwae::engine::policy {

inline constexpr std::uint32_t kDefaultPbkdf2Iterations = 100'000;

// "sha256:<hex>". Fine for API keys because they are long random strings: nothing to guess.
std::string hashApiKey(std::string_view key);
// "pbkdf2-sha256$<iterations>$<16-byte random salt hex>$<hash hex>"; empty on failure.
std::string hashPassword(std::string_view password, std::uint32_t iterations = kDefaultPbkdf2Iterations);
// A new API key: "gk_" and 32 random bytes in base64url (256 bits); empty on failure.
std::string generateApiKey();

} // namespace gaetwae::engine::policy
