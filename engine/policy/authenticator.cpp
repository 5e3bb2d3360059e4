#include "engine/policy/authenticator.hpp"

#include "engine/balancing/hashing.hpp"
#include "engine/policy/auth_crypto.hpp"

#include <algorithm>
#include <array>

namespace gaetwae::engine::policy {

namespace {

constexpr std::size_t kMaxIdentityValueBytes = 256;
constexpr std::size_t kMaxKeyFiles = model::kMaxJwtKeySources;
constexpr std::string_view kBearerRealm = "gaetwae";

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) {
                   return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
               };
               return lower(x) == lower(y);
           });
}

// "Bearer abc" -> "abc" for `scheme` "Bearer" (case-insensitive scheme, RFC 9110 11.1).
std::optional<std::string_view> credentialsOf(std::string_view authorization, std::string_view scheme) {
    if (authorization.size() <= scheme.size() || authorization[scheme.size()] != ' ' ||
        !equalsIgnoreCase(authorization.substr(0, scheme.size()), scheme)) {
        return std::nullopt;
    }
    authorization.remove_prefix(scheme.size());
    while (!authorization.empty() && authorization.front() == ' ') {
        authorization.remove_prefix(1);
    }
    return authorization;
}

// A claim as header text: strings as they are, numbers and booleans in JSON, lists of those
// joined by ", "; objects and nulls give nothing. Control characters are dropped (no CR/LF can
// reach the upstream head) and the result is capped.
void appendClaimText(const nlohmann::json& value, std::string& out) {
    if (value.is_string()) {
        out += value.get_ref<const std::string&>();
    } else if (value.is_number() || value.is_boolean()) {
        out += value.dump();
    } else if (value.is_array()) {
        bool first = true;
        for (const auto& item : value) {
            if (item.is_string() || item.is_number() || item.is_boolean()) {
                out += first ? "" : ", ";
                appendClaimText(item, out);
                first = false;
            }
        }
    }
}

std::string sanitized(std::string_view text) {
    std::string out;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u != 0x7f) {
            out += c;
        }
        if (out.size() >= kMaxIdentityValueBytes) {
            break;
        }
    }
    return out;
}

bool claimMatches(const nlohmann::json& claims, const std::string& name, const std::string& expected) {
    const auto it = claims.find(name);
    if (it == claims.end()) {
        return false;
    }
    if (it->is_string()) {
        return it->get_ref<const std::string&>() == expected;
    }
    if (it->is_array()) {
        return std::any_of(it->begin(), it->end(), [&](const nlohmann::json& item) {
            return item.is_string() && item.get_ref<const std::string&>() == expected;
        });
    }
    std::string text;
    appendClaimText(*it, text);
    return !text.empty() && text == expected;
}

void appendLine(std::string& out, std::string_view name, std::string_view value) {
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
}

} // namespace

bool CredentialCache::contains(const std::string& key) const {
    std::lock_guard lock(m_mutex);
    return m_entries.contains(key);
}

void CredentialCache::insert(std::string key) {
    std::lock_guard lock(m_mutex);
    if (m_entries.size() >= kCapacity) {
        m_entries.clear(); // rare (1024 distinct live credentials); the next requests pay PBKDF2 again
    }
    m_entries.insert(std::move(key));
}

std::shared_ptr<const ConsumerDirectory>
ConsumerDirectory::build(const std::vector<model::ConsumerConfig>& consumers) {
    auto directory = std::make_shared<ConsumerDirectory>();
    for (std::size_t i = 0; i < consumers.size(); ++i) {
        const auto& config = consumers[i];
        Consumer consumer;
        consumer.name = config.name;
        for (const auto& [name, value] : config.headers) {
            appendLine(consumer.headerLines, name, value);
            consumer.headerNames.push_back(name);
        }
        for (const auto& key : config.apiKeys) {
            if (const auto digest = model::parseApiKeyHash(key)) {
                directory->byKeyDigest.emplace(*digest, i);
            }
        }
        if (config.basicAuth) {
            consumer.password = model::parsePasswordHash(config.basicAuth->password);
            consumer.passwordText = config.basicAuth->password;
            directory->byUsername.emplace(config.basicAuth->username, i);
        }
        directory->byName.emplace(config.name, i);
        directory->consumers.push_back(std::move(consumer));
    }
    return directory;
}

std::string_view toString(AuthMethod method) {
    switch (method) {
    case AuthMethod::ApiKey:
        return "api_key";
    case AuthMethod::Jwt:
        return "jwt";
    case AuthMethod::Basic:
        return "basic";
    case AuthMethod::None:
        break;
    }
    return "none";
}

RouteAuth::RouteAuth(model::RouteAuthConfig config, std::shared_ptr<const ConsumerDirectory> consumers,
                     std::vector<std::shared_ptr<KeyFile>> keyFiles, std::shared_ptr<CredentialCache> cache)
    : m_config(std::move(config))
    , m_consumers(std::move(consumers))
    , m_keyFiles(std::move(keyFiles))
    , m_cache(std::move(cache)) {
    for (const auto& [name, source] : m_config.identityHeaders) {
        m_identity.emplace_back(name, model::parseIdentitySource(source));
        m_removedHeaders.push_back(name);
    }
    for (const auto& consumer : m_consumers->consumers) {
        m_removedHeaders.insert(m_removedHeaders.end(), consumer.headerNames.begin(),
                                consumer.headerNames.end());
    }
    if (m_config.stripCredentials) {
        if (m_config.jwt || m_config.basic) {
            m_removedHeaders.emplace_back("Authorization");
        }
        if (m_config.apiKey && !m_config.apiKey->header.empty()) {
            m_removedHeaders.push_back(m_config.apiKey->header);
        }
        if (m_config.apiKey && !m_config.apiKey->query.empty()) {
            m_strippedQuery.push_back(m_config.apiKey->query);
        }
        if (m_config.jwt && !m_config.jwt->query.empty()) {
            m_strippedQuery.push_back(m_config.jwt->query);
        }
    }
}

bool RouteAuth::removesHeader(std::string_view name) const {
    return std::any_of(m_removedHeaders.begin(), m_removedHeaders.end(),
                       [&](const std::string& removed) { return equalsIgnoreCase(removed, name); });
}

AuthStatus RouteAuth::authenticate(const AuthRequest& request, AuthContext& context) const {
    context.method = AuthMethod::None;
    context.consumer.clear();
    context.claims = nullptr;
    context.detail = {};
    context.challenge.clear();
    context.upstreamLines.clear();

    bool presented = false;
    std::string_view tokenProblem; // set when a bearer token was presented and refused
    const bool passed = (m_config.apiKey && tryApiKey(request, context, presented)) ||
                        (m_config.jwt && tryJwt(request, context, presented, tokenProblem)) ||
                        (m_config.basic && tryBasic(request, context, presented));
    if (!passed) {
        if (!presented) {
            context.detail = "credentials are required";
        }
        if (m_config.apiKey) {
            context.challenge += "WWW-Authenticate: Key realm=\"gaetwae\"\r\n";
        }
        if (m_config.jwt) {
            context.challenge += "WWW-Authenticate: Bearer realm=\"";
            context.challenge += kBearerRealm;
            context.challenge += '"';
            if (!tokenProblem.empty()) {
                context.challenge += ", error=\"invalid_token\", error_description=\"";
                context.challenge += tokenProblem;
                context.challenge += '"';
            }
            context.challenge += "\r\n";
        }
        if (m_config.basic) {
            context.challenge +=
                "WWW-Authenticate: Basic realm=\"" + m_config.basic->realm + "\", charset=\"UTF-8\"\r\n";
        }
        return AuthStatus::Unauthorized;
    }

    if (!m_config.allow.empty() &&
        std::find(m_config.allow.begin(), m_config.allow.end(), context.consumer) == m_config.allow.end()) {
        context.detail = "this consumer may not use this route";
        return AuthStatus::Forbidden;
    }
    for (const auto& [name, expected] : m_config.claims) {
        if (context.method != AuthMethod::Jwt || !claimMatches(context.claims, name, expected)) {
            context.detail = "the credentials lack a claim this route requires";
            return AuthStatus::Forbidden;
        }
    }
    writeIdentity(context);
    return AuthStatus::Passed;
}

bool RouteAuth::tryApiKey(const AuthRequest& request, AuthContext& context, bool& presented) const {
    const auto& config = *m_config.apiKey;
    std::string_view key;
    if (!config.header.empty()) {
        key = request.headers.header(config.header).value_or(std::string_view());
    }
    if (key.empty() && !config.query.empty()) {
        key = balancing::findQueryParameter(request.query, config.query).value_or(std::string_view());
    }
    if (key.empty()) {
        return false;
    }
    presented = true;
    const std::string digest = sha256(key);
    const auto it = m_consumers->byKeyDigest.find(digest);
    if (it == m_consumers->byKeyDigest.end() || !constantTimeEquals(it->first, digest)) {
        context.detail = "the API key is not valid";
        return false;
    }
    context.method = AuthMethod::ApiKey;
    context.consumer = m_consumers->consumers[it->second].name;
    return true;
}

bool RouteAuth::tryJwt(const AuthRequest& request, AuthContext& context, bool& presented,
                       std::string_view& problem) const {
    const auto& config = *m_config.jwt;
    std::string_view token;
    if (const auto authorization = request.headers.header("Authorization")) {
        token = credentialsOf(*authorization, "Bearer").value_or(std::string_view());
    }
    if (token.empty() && !config.cookie.empty()) {
        if (const auto cookies = request.headers.header("Cookie")) {
            token = balancing::findCookie(*cookies, config.cookie).value_or(std::string_view());
        }
    }
    if (token.empty() && !config.query.empty()) {
        token = balancing::findQueryParameter(request.query, config.query).value_or(std::string_view());
    }
    if (token.empty()) {
        return false;
    }
    presented = true;
    // Hold the current key sets for the duration of the check (a reload may swap them meanwhile).
    std::array<std::shared_ptr<const JwtKeySet>, kMaxKeyFiles> held;
    std::array<const JwtKeySet*, kMaxKeyFiles> sets{};
    std::size_t count = 0;
    for (const auto& file : m_keyFiles) {
        if (count == kMaxKeyFiles) {
            break;
        }
        file->poll(request.monotonicNs);
        held[count] = file->keys();
        sets[count] = held[count].get();
        ++count;
    }
    const JwtError error = verifyJwt(token, std::span<const JwtKeySet* const>(sets.data(), count), config,
                                     request.nowUnixSeconds, context.claims);
    if (error != JwtError::None) {
        context.claims = nullptr;
        context.detail = describe(error);
        problem = context.detail;
        return false;
    }
    context.method = AuthMethod::Jwt;
    std::string consumer;
    if (const auto it = context.claims.find(config.consumerClaim); it != context.claims.end()) {
        appendClaimText(*it, consumer);
    }
    context.consumer = sanitized(consumer);
    return true;
}

bool RouteAuth::tryBasic(const AuthRequest& request, AuthContext& context, bool& presented) const {
    const auto authorization = request.headers.header("Authorization");
    const auto encoded = authorization ? credentialsOf(*authorization, "Basic") : std::nullopt;
    if (!encoded) {
        return false;
    }
    presented = true;
    context.detail = "the username or password is not valid";
    const auto decoded = base64Decode(*encoded, false);
    const auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) {
        return false;
    }
    const std::string_view username = std::string_view(*decoded).substr(0, colon);
    const std::string_view password = std::string_view(*decoded).substr(colon + 1);
    const auto it = m_consumers->byUsername.find(std::string(username));
    if (it == m_consumers->byUsername.end()) {
        return false;
    }
    const auto& consumer = m_consumers->consumers[it->second];
    if (!consumer.password) {
        return false;
    }
    std::string cacheKey =
        sha256(std::string(username) + '\0' + std::string(password) + '\0' + consumer.passwordText);
    if (!m_cache->contains(cacheKey)) {
        const auto& stored = *consumer.password;
        if (!constantTimeEquals(pbkdf2Sha256(password, stored.salt, stored.iterations), stored.hash)) {
            return false;
        }
        m_cache->insert(std::move(cacheKey));
    }
    context.detail = {};
    context.method = AuthMethod::Basic;
    context.consumer = consumer.name;
    return true;
}

void RouteAuth::writeIdentity(AuthContext& context) const {
    for (const auto& [header, source] : m_identity) {
        std::string value;
        switch (source.kind) {
        case model::IdentitySource::Kind::Consumer:
            value = context.consumer;
            break;
        case model::IdentitySource::Kind::Method:
            value = toString(context.method);
            break;
        case model::IdentitySource::Kind::Claim:
            if (context.method == AuthMethod::Jwt) {
                if (const auto it = context.claims.find(source.claim); it != context.claims.end()) {
                    appendClaimText(*it, value);
                }
            }
            break;
        }
        value = sanitized(value);
        if (!value.empty()) {
            appendLine(context.upstreamLines, header, value);
        }
    }
    if (const auto it = m_consumers->byName.find(context.consumer); it != m_consumers->byName.end()) {
        context.upstreamLines += m_consumers->consumers[it->second].headerLines;
    }
}

void removeQueryParameters(std::string_view query, const std::vector<std::string>& names, std::string& out) {
    out.clear();
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        const std::string_view name = pair.substr(0, pair.find('='));
        if (std::find(names.begin(), names.end(), name) == names.end()) {
            out += out.empty() ? "" : "&";
            out.append(pair);
        }
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    }
}

} // namespace gaetwae::engine::policy
