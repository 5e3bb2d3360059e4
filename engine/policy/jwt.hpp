#pragma once

#include "engine/policy/auth_crypto.hpp"
#include "shared/model/auth_config.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// JWS compact tokens (RFC 7519 JWT, RFC 7515 JWS) as bearer credentials: HS256, RS256 and ES256.
// Pure: no I/O, time passed in.
namespace gaetwae::engine::policy {

inline constexpr std::size_t kMaxTokenBytes = 16 * 1024;

// One verification key. It verifies exactly one algorithm: a token naming another algorithm is
// never tried with it (an RSA public key used as an HMAC secret is the classic confusion).
struct JwtKey {
    std::string kid;
    model::JwtAlgorithm alg = model::JwtAlgorithm::RS256;
    PublicKey publicKey; // RS256, ES256
    std::string secret;  // HS256
};
using JwtKeySet = std::vector<JwtKey>;

enum class JwtError {
    None,
    Malformed,   // not three base64url parts, or header/payload not JSON objects
    Algorithm,   // "none" or an algorithm this gateway does not verify
    NoKey,       // no configured key for the token's kid and algorithm
    Signature,   // no candidate key verifies the signature
    Expired,     // exp (plus skew) has passed
    NotYetValid, // nbf (minus skew) is in the future
    Issuer,
    Audience,
    MissingClaim, // a required claim is absent
};

// A client-safe reason for the WWW-Authenticate error_description and the JSON body.
std::string_view describe(JwtError error);

// Verifies `token` against the keys of every set and checks the registered claims; on success
// `claims` holds the payload. Candidate keys are those whose algorithm equals the token's "alg"
// and whose kid equals the token's "kid" (either side without a kid matches any).
JwtError verifyJwt(std::string_view token, std::span<const JwtKeySet* const> keySets,
                   const model::JwtAuthConfig& rules, std::int64_t nowUnixSeconds, nlohmann::json& claims);

} // namespace gaetwae::engine::policy
