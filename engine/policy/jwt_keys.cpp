#include "engine/policy/jwt_keys.hpp"

#include <spdlog/spdlog.h>

#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace gaetwae::engine::policy {

namespace {

constexpr std::size_t kMaxKeyFileBytes = 1024 * 1024;

std::optional<std::string> readFile(const std::string& path, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = "cannot read " + path;
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (text.str().size() > kMaxKeyFileBytes) {
        error = path + " is larger than 1 MiB";
        return std::nullopt;
    }
    return text.str();
}

std::optional<std::string> member(const nlohmann::json& jwk, const char* name) {
    const auto it = jwk.find(name);
    if (it == jwk.end() || !it->is_string()) {
        return std::nullopt;
    }
    return base64Decode(it->get_ref<const std::string&>(), true);
}

std::string stringMember(const nlohmann::json& jwk, const char* name) {
    const auto it = jwk.find(name);
    return it != jwk.end() && it->is_string() ? it->get<std::string>() : std::string();
}

} // namespace

std::optional<JwtKeySet> parseJwks(std::string_view text, std::string& error) {
    const auto document = nlohmann::json::parse(text, nullptr, false);
    if (!document.is_object() || !document.contains("keys") || !document["keys"].is_array()) {
        error = "not a JWKS document ({\"keys\": [...]})";
        return std::nullopt;
    }
    JwtKeySet keys;
    for (const auto& jwk : document["keys"]) {
        if (!jwk.is_object()) {
            continue;
        }
        const std::string kty = stringMember(jwk, "kty");
        const std::string use = stringMember(jwk, "use");
        const std::string alg = stringMember(jwk, "alg");
        if (!use.empty() && use != "sig") {
            continue;
        }
        JwtKey key;
        key.kid = stringMember(jwk, "kid");
        std::string keyError;
        if (kty == "RSA" && (alg.empty() || alg == "RS256")) {
            const auto n = member(jwk, "n");
            const auto e = member(jwk, "e");
            if (!n || !e) {
                error = "RSA key '" + key.kid + "' lacks n or e";
                return std::nullopt;
            }
            key.alg = model::JwtAlgorithm::RS256;
            key.publicKey = rsaPublicKey(*n, *e, keyError);
        } else if (kty == "EC" && stringMember(jwk, "crv") == "P-256" && (alg.empty() || alg == "ES256")) {
            const auto x = member(jwk, "x");
            const auto y = member(jwk, "y");
            if (!x || !y) {
                error = "EC key '" + key.kid + "' lacks x or y";
                return std::nullopt;
            }
            key.alg = model::JwtAlgorithm::ES256;
            key.publicKey = ecP256PublicKey(*x, *y, keyError);
        } else {
            continue; // symmetric keys in a JWKS file, other curves and algorithms: not ours
        }
        if (!key.publicKey) {
            error = "key '" + key.kid + "': " + keyError;
            return std::nullopt;
        }
        keys.push_back(std::move(key));
    }
    if (keys.empty()) {
        error = "no RSA or EC P-256 signing key in the JWKS document";
        return std::nullopt;
    }
    return keys;
}

std::optional<JwtKeySet> loadKeySource(const model::JwtKeySource& source, std::string& error) {
    const std::string& path = keySourcePath(source);
    auto text = readFile(path, error);
    if (!text) {
        return std::nullopt;
    }
    if (!source.jwksFile.empty()) {
        auto keys = parseJwks(*text, error);
        if (!keys) {
            error = path + ": " + error;
        }
        return keys;
    }
    JwtKey key;
    key.kid = source.kid;
    key.alg = source.alg;
    if (!source.secretFile.empty()) {
        while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) {
            text->pop_back();
        }
        if (text->size() < 32) {
            error = path + ": an HS256 secret needs at least 32 bytes (RFC 7518 3.2)";
            return std::nullopt;
        }
        key.secret = std::move(*text);
        return JwtKeySet{std::move(key)};
    }
    std::string keyError;
    key.publicKey = publicKeyFromPem(*text, keyError);
    if (!key.publicKey) {
        error = path + ": " + keyError;
        return std::nullopt;
    }
    if (!keyFitsAlgorithm(key.publicKey.get(), key.alg)) {
        error = path + ": the key does not fit " + std::string(model::toString(key.alg)) +
                " (RS256 needs an RSA key, ES256 an EC P-256 key)";
        return std::nullopt;
    }
    return JwtKeySet{std::move(key)};
}

FileStamp stampOf(const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
        return {};
    }
    return FileStamp{static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec,
                     static_cast<std::int64_t>(info.st_size), static_cast<std::uint64_t>(info.st_ino)};
}

const std::string& keySourcePath(const model::JwtKeySource& source) {
    if (!source.jwksFile.empty()) {
        return source.jwksFile;
    }
    return source.secretFile.empty() ? source.pemFile : source.secretFile;
}

KeyFile::KeyFile(model::JwtKeySource source, JwtKeySet keys, FileStamp stamp)
    : m_source(std::move(source))
    , m_keys(std::make_shared<const JwtKeySet>(std::move(keys)))
    , m_stamp(stamp) {}

void KeyFile::refresh() {
    std::lock_guard lock(m_reloadMutex);
    reloadIfChanged();
}

void KeyFile::check(std::int64_t nowNs) {
    std::unique_lock lock(m_reloadMutex, std::try_to_lock);
    if (!lock.owns_lock()) {
        return; // another worker is looking right now
    }
    if (nowNs < m_nextCheckNs.load(std::memory_order_relaxed)) {
        return;
    }
    m_nextCheckNs.store(nowNs + kCheckIntervalNs, std::memory_order_relaxed);
    reloadIfChanged();
}

void KeyFile::reloadIfChanged() {
    const std::string& path = keySourcePath(m_source);
    const FileStamp stamp = stampOf(path);
    if (stamp == m_stamp || stamp == m_failedStamp) {
        return;
    }
    std::string error;
    auto keys = loadKeySource(m_source, error);
    if (!keys) {
        m_failedStamp = stamp;
        spdlog::error("JWT keys: {}; keeping the previous keys", error);
        return;
    }
    m_keys.store(std::make_shared<const JwtKeySet>(std::move(*keys)), std::memory_order_release);
    m_stamp = stamp;
    m_failedStamp = {};
    spdlog::info("JWT keys reloaded from {}", path);
}

} // namespace gaetwae::engine::policy
