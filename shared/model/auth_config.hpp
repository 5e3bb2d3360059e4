#pragma once

#include "shared/model/units.hpp"

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Authentication at the gateway: who may call a route (consumers with API keys or basic-auth
// credentials, JWTs signed by configured keys) and what the backend learns about them.
// auth_codec.hpp decodes, encodes and validates these; the engine compiles them per snapshot.
namespace gaetwae::model {

using namespace std::chrono_literals;

enum class JwtAlgorithm { HS256, RS256, ES256 };
inline constexpr std::array<std::pair<std::string_view, JwtAlgorithm>, 3> kJwtAlgorithmNames{{
    {"HS256", JwtAlgorithm::HS256},
    {"RS256", JwtAlgorithm::RS256},
    {"ES256", JwtAlgorithm::ES256},
}};
std::string_view toString(JwtAlgorithm algorithm);

// Where verification keys come from. Exactly one of the three files is set. A PEM file holds one
// public key (RS256 or ES256, `alg` says which); a secret file holds an HS256 shared secret (its
// bytes, a trailing newline dropped); a JWKS file holds RSA and EC P-256 keys selected by `kid`.
// Each key verifies only its own algorithm: an RSA public key never verifies an HS256 token.
struct JwtKeySource {
    std::string kid; // PEM and secret keys: matched against the token's "kid" when both have one
    JwtAlgorithm alg = JwtAlgorithm::RS256; // PEM files only (secret files are HS256)
    std::string pemFile;
    std::string secretFile;
    std::string jwksFile;

    bool operator==(const JwtKeySource&) const = default;
};

struct JwtAuthConfig {
    std::vector<JwtKeySource> keys;
    std::vector<std::string> issuers;        // "iss" must be one of them; empty: not checked
    std::vector<std::string> audiences;      // "aud" (string or list) must name one; empty: not checked
    Duration clockSkew = 60s;                // leeway for exp and nbf
    std::vector<std::string> requiredClaims; // must be present (401 without)
    std::string cookie;                      // also read the token from this cookie
    std::string query;                       // also read the token from this query parameter
    std::string consumerClaim = "sub";       // its value is the request's consumer

    bool operator==(const JwtAuthConfig&) const = default;
};

struct ApiKeyAuthConfig {
    std::string header = "X-API-Key"; // empty: not read from a header
    std::string query;                // empty: not read from the query string

    bool operator==(const ApiKeyAuthConfig&) const = default;
};

struct BasicAuthConfig {
    std::string realm = "gaetwae";

    bool operator==(const BasicAuthConfig&) const = default;
};

// A route's authentication. A request passes when any configured method accepts its credentials
// (tried in the order api_key, jwt, basic; the first one presented decides). Then `allow` and
// `claims` decide whether that identity may use the route (403 otherwise).
struct RouteAuthConfig {
    std::optional<ApiKeyAuthConfig> apiKey;
    std::optional<JwtAuthConfig> jwt;
    std::optional<BasicAuthConfig> basic;
    std::vector<std::string> allow; // consumer names; empty: anyone authenticated
    // Claim name -> required value (a list claim must contain it); JWT identities only.
    std::vector<std::pair<std::string, std::string>> claims;
    // Header name -> "consumer", "method" or a claim name ("claim:<name>" spells it explicitly).
    // Incoming copies of these headers are always removed, so clients cannot spoof them.
    std::vector<std::pair<std::string, std::string>> identityHeaders;
    bool stripCredentials = false; // remove Authorization / the API key header and query parameter

    bool operator==(const RouteAuthConfig&) const = default;
};

struct BasicCredential {
    std::string username;
    std::string password; // "pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>"

    bool operator==(const BasicCredential&) const = default;
};

// Someone who calls the gateway. Secrets are stored only as hashes: API keys as "sha256:<hex>"
// (keys are long random strings, so a fast hash is as good as a slow one), passwords with PBKDF2.
struct ConsumerConfig {
    std::string name;
    std::vector<std::string> apiKeys;
    std::optional<BasicCredential> basicAuth;
    std::vector<std::pair<std::string, std::string>> headers; // added upstream for this consumer

    bool operator==(const ConsumerConfig&) const = default;
};

} // namespace gaetwae::model
