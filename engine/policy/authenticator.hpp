#pragma once

#include "engine/balancing/balancer.hpp"
#include "engine/policy/jwt_keys.hpp"
#include "shared/model/auth_codec.hpp"
#include "shared/model/config.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace gaetwae::engine::policy {

// Basic-auth credentials that passed PBKDF2 recently, so a client sending the same header on
// every request pays the slow hash once. Keyed by SHA-256 over username, password and the
// stored hash (a password change in the config misses the cache); holds no clear text. Bounded:
// when full it starts over. Shared by all workers and kept across reloads.
class CredentialCache {
public:
    static constexpr std::size_t kCapacity = 1024;

    bool contains(const std::string& key) const;
    void insert(std::string key);

private:
    mutable std::mutex m_mutex;
    std::unordered_set<std::string> m_entries;
};

// The consumers of one config, indexed for the request path.
struct ConsumerDirectory {
    struct Consumer {
        std::string name;
        std::string headerLines; // its `headers`, as complete lines for the upstream request
        std::vector<std::string> headerNames;
        std::optional<model::PasswordHash> password;
        std::string passwordText; // the stored hash as configured (part of the cache key)
    };
    std::vector<Consumer> consumers;
    // By SHA-256 of the API key. A lookup costs the same whatever the presented key shares with a
    // stored one: an attacker controls the key, not its digest, so timing reveals nothing useful.
    std::unordered_map<std::string, std::size_t> byKeyDigest;
    std::unordered_map<std::string, std::size_t> byUsername;
    std::unordered_map<std::string, std::size_t> byName;

    static std::shared_ptr<const ConsumerDirectory>
    build(const std::vector<model::ConsumerConfig>& consumers);
};

enum class AuthMethod { None, ApiKey, Jwt, Basic };
std::string_view toString(AuthMethod method);

enum class AuthStatus { Passed, Unauthorized, Forbidden };

// Per-session scratch, reused across requests so an authenticated request allocates little.
struct AuthContext {
    AuthMethod method = AuthMethod::None;
    std::string consumer;      // empty when the identity names none
    nlohmann::json claims;     // of a verified JWT
    std::string_view detail;   // client-safe reason of a refusal (static text)
    std::string challenge;     // WWW-Authenticate lines of a 401
    std::string upstreamLines; // identity header lines for the backend
};

struct AuthRequest {
    const balancing::HeaderLookup& headers;
    std::string_view query;      // raw query string, without '?'
    std::int64_t nowUnixSeconds; // for exp and nbf
    std::int64_t monotonicNs;    // paces key file checks
};

// A route's `auth`, compiled. Thread-safe and immutable apart from the key files' own reloads.
class RouteAuth {
public:
    RouteAuth(model::RouteAuthConfig config, std::shared_ptr<const ConsumerDirectory> consumers,
              std::vector<std::shared_ptr<KeyFile>> keyFiles, std::shared_ptr<CredentialCache> cache);

    // Tries every credential the request presents with the route's methods (api_key, jwt, basic;
    // the first that verifies wins), then applies `allow` and `claims`. Fills `context`.
    AuthStatus authenticate(const AuthRequest& request, AuthContext& context) const;

    // Request header fields to drop before forwarding: incoming copies of identity and consumer
    // headers always, credential headers when strip_credentials is set.
    bool removesHeader(std::string_view name) const;
    // Query parameters to drop before forwarding (strip_credentials); may be empty.
    const std::vector<std::string>& strippedQueryParameters() const { return m_strippedQuery; }
    const model::RouteAuthConfig& config() const { return m_config; }

private:
    bool tryApiKey(const AuthRequest& request, AuthContext& context, bool& presented) const;
    bool tryJwt(const AuthRequest& request, AuthContext& context, bool& presented,
                std::string_view& problem) const;
    bool tryBasic(const AuthRequest& request, AuthContext& context, bool& presented) const;
    void writeIdentity(AuthContext& context) const;

    model::RouteAuthConfig m_config;
    std::shared_ptr<const ConsumerDirectory> m_consumers;
    std::vector<std::shared_ptr<KeyFile>> m_keyFiles;
    std::shared_ptr<CredentialCache> m_cache;
    std::vector<std::pair<std::string, model::IdentitySource>> m_identity;
    std::vector<std::string> m_removedHeaders;
    std::vector<std::string> m_strippedQuery;
};

// `query` without the parameters named in `names`, into `out`.
void removeQueryParameters(std::string_view query, const std::vector<std::string>& names, std::string& out);

} // namespace gaetwae::engine::policy
