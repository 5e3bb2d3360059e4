#pragma once

#include "shared/model/config.hpp"
#include "shared/model/diagnostics.hpp"
#include "shared/model/json_reader.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// JSON <-> the auth parts of the config (routes[].auth, consumers), their validation, and the text
// forms of stored secrets. Standard C++ only: the engine does the cryptography.
namespace gaetwae::model {

inline constexpr std::uint32_t kMinPbkdf2Iterations = 1'000;
inline constexpr std::uint32_t kMaxPbkdf2Iterations = 10'000'000;
inline constexpr std::size_t kHashBytes = 32;        // SHA-256
inline constexpr std::size_t kMaxJwtKeySources = 16; // per route (a JWKS file counts once)

// "sha256:<64 hex digits>" -> the 32 digest bytes; nullopt when malformed.
std::optional<std::string> parseApiKeyHash(std::string_view text);

struct PasswordHash {
    std::uint32_t iterations = 0;
    std::string salt; // raw bytes, at least 8
    std::string hash; // raw bytes, kHashBytes
};
// "pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>"; nullopt when malformed.
std::optional<PasswordHash> parsePasswordHash(std::string_view text);

std::string toHex(std::string_view bytes);
std::optional<std::string> fromHex(std::string_view hex);

// An identity header's source: "consumer", "method" or a claim ("sub", "claim:sub").
struct IdentitySource {
    enum class Kind { Consumer, Method, Claim };
    Kind kind = Kind::Consumer;
    std::string claim;
};
IdentitySource parseIdentitySource(std::string_view text);

void decodeRouteAuth(ObjectReader& reader, RouteAuthConfig& auth, UnknownKeys unknownKeys);
nlohmann::json encodeRouteAuth(const RouteAuthConfig& auth);
ConsumerConfig decodeConsumer(const nlohmann::json& value, const std::string& pointer,
                              Diagnostics& diagnostics, UnknownKeys unknownKeys);
nlohmann::json encodeConsumer(const ConsumerConfig& consumer);

// Consumers (unique names, API keys and usernames, well-formed hashes) and every route's auth
// (at least one method, usable header names, JWT key sources, identity header sources).
void validateAuth(const GatewayConfig& config, Diagnostics& diagnostics);

} // namespace gaetwae::model
