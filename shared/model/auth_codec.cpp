#include "shared/model/auth_codec.hpp"

#include "shared/model/config_validation.hpp"
#include "shared/model/http_token.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <set>

namespace gaetwae::model {

namespace {

constexpr std::string_view kApiKeyPrefix = "sha256:";
constexpr std::string_view kPasswordPrefix = "pbkdf2-sha256$";
constexpr std::size_t kMinSaltBytes = 8;
constexpr std::size_t kMaxHeaderValueBytes = 1024;

int hexDigit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// identity_headers, claims and consumer headers: mappings of strings to strings, in the
// document's key order.
void readStringMap(ObjectReader& r, std::string_view key, std::vector<std::pair<std::string, std::string>>& out) {
    r.readStringMap(key, out, "a mapping of names to strings");
}

// "issuer: a" or "issuer: [a, b]".
void readOneOrMany(ObjectReader& r, std::string_view key, std::vector<std::string>& out) {
    const nlohmann::json* value = r.member(key);
    if (value != nullptr && value->is_string()) {
        out = {value->get<std::string>()};
    } else if (value != nullptr) {
        r.readStringList(key, out);
    }
}

nlohmann::json stringMap(const std::vector<std::pair<std::string, std::string>>& items) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [name, value] : items) {
        out[name] = value;
    }
    return out;
}

JwtKeySource decodeKeySource(const nlohmann::json& value, const std::string& pointer,
                             Diagnostics& diagnostics, UnknownKeys unknownKeys) {
    JwtKeySource key;
    ObjectReader r(value, pointer, diagnostics, unknownKeys);
    if (!r.valid()) {
        return key;
    }
    r.readString("kid", key.kid);
    r.readEnum<JwtAlgorithm>("alg", key.alg, kJwtAlgorithmNames);
    r.readString("pem_file", key.pemFile);
    r.readString("secret_file", key.secretFile);
    r.readString("jwks_file", key.jwksFile);
    if (!key.secretFile.empty()) {
        if (r.has("alg") && key.alg != JwtAlgorithm::HS256) {
            diagnostics.error(r.pointerOf("alg"), "a secret_file key is HS256");
        }
        key.alg = JwtAlgorithm::HS256;
    }
    r.finish();
    return key;
}

nlohmann::json encodeKeySource(const JwtKeySource& key) {
    nlohmann::json out = nlohmann::json::object();
    if (!key.kid.empty()) {
        out["kid"] = key.kid;
    }
    if (!key.pemFile.empty()) {
        out["pem_file"] = key.pemFile;
        out["alg"] = toString(key.alg);
    }
    if (!key.secretFile.empty()) {
        out["secret_file"] = key.secretFile;
    }
    if (!key.jwksFile.empty()) {
        out["jwks_file"] = key.jwksFile;
    }
    return out;
}

bool isHeaderValue(std::string_view value) {
    if (value.size() > kMaxHeaderValueBytes) {
        return false;
    }
    for (const char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f) {
            return false;
        }
    }
    return true;
}

bool isQueryName(std::string_view name) {
    return !name.empty() && name.find_first_of("&=#? ") == std::string_view::npos;
}

// Headers the gateway itself manages or that frame the message: identity headers must not replace them.
bool isReservedHeader(std::string_view name) {
    static constexpr std::array<std::string_view, 9> kReserved{
        "host", "content-length", "transfer-encoding", "connection",   "upgrade",
        "te",   "trailer",        "keep-alive",        "authorization"};
    std::string lower;
    for (const char c : name) {
        lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    return std::find(kReserved.begin(), kReserved.end(), lower) != kReserved.end();
}

void validateHeaderMap(const std::vector<std::pair<std::string, std::string>>& items,
                       const std::string& pointer, Diagnostics& d) {
    for (const auto& [name, value] : items) {
        if (!isToken(name)) {
            d.error(childPointer(pointer, name), "'" + name + "' is not a valid header name", true);
        } else if (isReservedHeader(name)) {
            d.error(childPointer(pointer, name), "'" + name + "' is managed by the gateway and cannot be set",
                    true);
        }
        if (!isHeaderValue(value)) {
            d.error(childPointer(pointer, name),
                    "header values are at most 1024 bytes without control characters");
        }
    }
}

void validateRouteAuth(const RouteAuthConfig& auth, const std::string& pointer, Diagnostics& d) {
    if (!auth.apiKey && !auth.jwt && !auth.basic) {
        d.error(pointer, "auth needs at least one method: api_key, jwt or basic");
    }
    if (auth.apiKey) {
        const auto& key = *auth.apiKey;
        if (key.header.empty() && key.query.empty()) {
            d.error(pointer + "/api_key", "set a header, a query parameter or both to read API keys from");
        }
        if (!key.header.empty() && !isToken(key.header)) {
            d.error(pointer + "/api_key/header", "'" + key.header + "' is not a valid header name");
        }
        if (!key.query.empty() && !isQueryName(key.query)) {
            d.error(pointer + "/api_key/query", "'" + key.query + "' is not a query parameter name");
        }
    }
    if (auth.jwt) {
        const auto& jwt = *auth.jwt;
        const auto jwtPointer = pointer + "/jwt";
        if (jwt.keys.empty()) {
            d.error(jwtPointer + "/keys",
                    "at least one key source is required (pem_file, secret_file or jwks_file)");
        } else if (jwt.keys.size() > kMaxJwtKeySources) {
            d.error(jwtPointer + "/keys",
                    "at most " + std::to_string(kMaxJwtKeySources) + " key sources per route");
        }
        for (std::size_t k = 0; k < jwt.keys.size(); ++k) {
            const auto& key = jwt.keys[k];
            const auto keyPointer = childPointer(jwtPointer + "/keys", k);
            const int files =
                int(!key.pemFile.empty()) + int(!key.secretFile.empty()) + int(!key.jwksFile.empty());
            if (files != 1) {
                d.error(keyPointer, "set exactly one of pem_file, secret_file, jwks_file");
            }
            if (!key.pemFile.empty() && key.alg == JwtAlgorithm::HS256) {
                d.error(keyPointer + "/alg",
                        "a PEM public key verifies RS256 or ES256; HS256 needs a secret_file");
            }
        }
        if (!jwt.cookie.empty() && !isToken(jwt.cookie)) {
            d.error(jwtPointer + "/cookie", "'" + jwt.cookie + "' is not a cookie name");
        }
        if (!jwt.query.empty() && !isQueryName(jwt.query)) {
            d.error(jwtPointer + "/query", "'" + jwt.query + "' is not a query parameter name");
        }
        if (jwt.consumerClaim.empty()) {
            d.error(jwtPointer + "/consumer_claim", "must name a claim, e.g. sub");
        }
    }
    if (auth.basic && !isHeaderValue(auth.basic->realm)) {
        d.error(pointer + "/basic/realm", "the realm must be printable text");
    }
    if (auth.basic && auth.basic->realm.find('"') != std::string::npos) {
        d.error(pointer + "/basic/realm", "the realm must not contain '\"'");
    }
    for (std::size_t i = 0; i < auth.allow.size(); ++i) {
        if (auth.allow[i].empty()) {
            d.error(childPointer(pointer + "/allow", i), "must name a consumer");
        }
    }
    if (!auth.claims.empty() && !auth.jwt) {
        d.error(pointer + "/claims", "claims are checked on JWTs: configure jwt too");
    }
    std::set<std::string> names;
    for (const auto& [name, source] : auth.identityHeaders) {
        const auto at = childPointer(pointer + "/identity_headers", name);
        if (!isToken(name)) {
            d.error(at, "'" + name + "' is not a valid header name", true);
        } else if (isReservedHeader(name)) {
            d.error(at, "'" + name + "' is managed by the gateway and cannot be set", true);
        }
        const auto parsed = parseIdentitySource(source);
        if (parsed.kind == IdentitySource::Kind::Claim && parsed.claim.empty()) {
            d.error(at, "expected consumer, method or a claim name");
        }
    }
}

} // namespace

std::string_view toString(JwtAlgorithm algorithm) {
    for (const auto& [name, value] : kJwtAlgorithmNames) {
        if (value == algorithm) {
            return name;
        }
    }
    return "RS256";
}

std::string toHex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes) {
        const auto u = static_cast<unsigned char>(c);
        out += kDigits[u >> 4];
        out += kDigits[u & 15];
    }
    return out;
}

std::optional<std::string> fromHex(std::string_view hex) {
    if (hex.size() % 2 != 0) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int hi = hexDigit(hex[i]);
        const int lo = hexDigit(hex[i + 1]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        out += static_cast<char>(hi * 16 + lo);
    }
    return out;
}

std::optional<std::string> parseApiKeyHash(std::string_view text) {
    if (!text.starts_with(kApiKeyPrefix)) {
        return std::nullopt;
    }
    auto bytes = fromHex(text.substr(kApiKeyPrefix.size()));
    if (!bytes || bytes->size() != kHashBytes) {
        return std::nullopt;
    }
    return bytes;
}

std::optional<PasswordHash> parsePasswordHash(std::string_view text) {
    if (!text.starts_with(kPasswordPrefix)) {
        return std::nullopt;
    }
    text.remove_prefix(kPasswordPrefix.size());
    const auto first = text.find('$');
    const auto second = first == std::string_view::npos ? first : text.find('$', first + 1);
    if (second == std::string_view::npos) {
        return std::nullopt;
    }
    PasswordHash out;
    const std::string_view iterations = text.substr(0, first);
    const auto [end, ec] =
        std::from_chars(iterations.data(), iterations.data() + iterations.size(), out.iterations);
    if (ec != std::errc{} || end != iterations.data() + iterations.size() ||
        out.iterations < kMinPbkdf2Iterations || out.iterations > kMaxPbkdf2Iterations) {
        return std::nullopt;
    }
    auto salt = fromHex(text.substr(first + 1, second - first - 1));
    auto hash = fromHex(text.substr(second + 1));
    if (!salt || salt->size() < kMinSaltBytes || !hash || hash->size() != kHashBytes) {
        return std::nullopt;
    }
    out.salt = std::move(*salt);
    out.hash = std::move(*hash);
    return out;
}

IdentitySource parseIdentitySource(std::string_view text) {
    if (text == "consumer") {
        return {IdentitySource::Kind::Consumer, {}};
    }
    if (text == "method") {
        return {IdentitySource::Kind::Method, {}};
    }
    if (text.starts_with("claim:")) {
        text.remove_prefix(6);
    }
    return {IdentitySource::Kind::Claim, std::string(text)};
}

void decodeRouteAuth(ObjectReader& r, RouteAuthConfig& auth, UnknownKeys unknownKeys) {
    r.readObject("api_key", [&](ObjectReader& k) {
        ApiKeyAuthConfig key;
        k.readString("header", key.header);
        k.readString("query", key.query);
        auth.apiKey = key;
    });
    r.readObject("jwt", [&](ObjectReader& j) {
        JwtAuthConfig jwt;
        j.readList("keys", jwt.keys, [&](const nlohmann::json& item, const std::string& pointer) {
            return decodeKeySource(item, pointer, j.diagnostics(), unknownKeys);
        });
        readOneOrMany(j, "issuer", jwt.issuers);
        readOneOrMany(j, "audience", jwt.audiences);
        j.readDuration("clock_skew", jwt.clockSkew, 0ms, 1h);
        j.readStringList("required_claims", jwt.requiredClaims);
        j.readString("cookie", jwt.cookie);
        j.readString("query", jwt.query);
        j.readString("consumer_claim", jwt.consumerClaim);
        auth.jwt = std::move(jwt);
    });
    r.readObject("basic", [&](ObjectReader& b) {
        BasicAuthConfig basic;
        b.readString("realm", basic.realm);
        auth.basic = basic;
    });
    r.readStringList("allow", auth.allow);
    readStringMap(r, "claims", auth.claims);
    readStringMap(r, "identity_headers", auth.identityHeaders);
    r.readBool("strip_credentials", auth.stripCredentials);
}

nlohmann::json encodeRouteAuth(const RouteAuthConfig& auth) {
    nlohmann::json out = nlohmann::json::object();
    if (auth.apiKey) {
        out["api_key"] = {{"header", auth.apiKey->header}, {"query", auth.apiKey->query}};
    }
    if (auth.jwt) {
        const auto& jwt = *auth.jwt;
        nlohmann::json keys = nlohmann::json::array();
        for (const auto& key : jwt.keys) {
            keys.push_back(encodeKeySource(key));
        }
        nlohmann::json j = nlohmann::json::object();
        j["keys"] = keys;
        if (!jwt.issuers.empty()) {
            j["issuer"] = jwt.issuers;
        }
        if (!jwt.audiences.empty()) {
            j["audience"] = jwt.audiences;
        }
        j["clock_skew"] = formatDuration(jwt.clockSkew);
        if (!jwt.requiredClaims.empty()) {
            j["required_claims"] = jwt.requiredClaims;
        }
        if (!jwt.cookie.empty()) {
            j["cookie"] = jwt.cookie;
        }
        if (!jwt.query.empty()) {
            j["query"] = jwt.query;
        }
        j["consumer_claim"] = jwt.consumerClaim;
        out["jwt"] = j;
    }
    if (auth.basic) {
        out["basic"] = {{"realm", auth.basic->realm}};
    }
    if (!auth.allow.empty()) {
        out["allow"] = auth.allow;
    }
    if (!auth.claims.empty()) {
        out["claims"] = stringMap(auth.claims);
    }
    if (!auth.identityHeaders.empty()) {
        out["identity_headers"] = stringMap(auth.identityHeaders);
    }
    out["strip_credentials"] = auth.stripCredentials;
    return out;
}

ConsumerConfig decodeConsumer(const nlohmann::json& value, const std::string& pointer,
                              Diagnostics& diagnostics, UnknownKeys unknownKeys) {
    ConsumerConfig consumer;
    ObjectReader r(value, pointer, diagnostics, unknownKeys);
    if (!r.valid()) {
        return consumer;
    }
    r.readString("name", consumer.name, true);
    r.readStringList("api_keys", consumer.apiKeys);
    r.readObject("basic_auth", [&](ObjectReader& b) {
        BasicCredential credential;
        b.readString("username", credential.username, true);
        b.readString("password", credential.password, true);
        consumer.basicAuth = credential;
    });
    readStringMap(r, "headers", consumer.headers);
    r.finish();
    return consumer;
}

nlohmann::json encodeConsumer(const ConsumerConfig& consumer) {
    nlohmann::json out = nlohmann::json::object();
    out["name"] = consumer.name;
    if (!consumer.apiKeys.empty()) {
        out["api_keys"] = consumer.apiKeys;
    }
    if (consumer.basicAuth) {
        out["basic_auth"] = {{"username", consumer.basicAuth->username},
                             {"password", consumer.basicAuth->password}};
    }
    if (!consumer.headers.empty()) {
        out["headers"] = stringMap(consumer.headers);
    }
    return out;
}

void validateAuth(const GatewayConfig& config, Diagnostics& d) {
    std::set<std::string> names;
    std::map<std::string, std::string> keys; // digest -> consumer
    std::set<std::string> usernames;
    for (std::size_t c = 0; c < config.consumers.size(); ++c) {
        const auto& consumer = config.consumers[c];
        const auto pointer = childPointer("/consumers", c);
        if (!isValidName(consumer.name)) {
            d.error(pointer + "/name",
                    "consumer name '" + consumer.name + "' must be 1-64 characters of A-Z a-z 0-9 . _ -");
        } else if (!names.insert(consumer.name).second) {
            d.error(pointer + "/name", "duplicate consumer name '" + consumer.name + "'");
        }
        for (std::size_t k = 0; k < consumer.apiKeys.size(); ++k) {
            const auto at = childPointer(pointer + "/api_keys", k);
            const auto digest = parseApiKeyHash(consumer.apiKeys[k]);
            if (!digest) {
                d.error(at, "expected sha256:<64 hex digits> (gaetwaed hash-secret --api-key prints one); "
                            "keys are never stored in clear");
            } else if (const auto [it, inserted] = keys.emplace(*digest, consumer.name); !inserted) {
                d.error(at, "this API key also belongs to consumer '" + it->second + "'");
            }
        }
        if (consumer.basicAuth) {
            const auto& credential = *consumer.basicAuth;
            if (credential.username.empty() || credential.username.find(':') != std::string::npos ||
                !isHeaderValue(credential.username)) {
                d.error(pointer + "/basic_auth/username", "a username is printable text without ':'");
            } else if (!usernames.insert(credential.username).second) {
                d.error(pointer + "/basic_auth/username",
                        "username '" + credential.username + "' is used twice");
            }
            if (!parsePasswordHash(credential.password)) {
                d.error(pointer + "/basic_auth/password",
                        "expected pbkdf2-sha256$<iterations>$<salt hex>$<hash hex> with " +
                            std::to_string(kMinPbkdf2Iterations) +
                            " or more iterations (gaetwaed hash-secret --password prints one)");
            }
        }
        validateHeaderMap(consumer.headers, pointer + "/headers", d);
    }
    for (std::size_t r = 0; r < config.routes.size(); ++r) {
        if (config.routes[r].auth) {
            validateRouteAuth(*config.routes[r].auth, childPointer(childPointer("/routes", r), "auth"), d);
        }
    }
}

} // namespace gaetwae::model
