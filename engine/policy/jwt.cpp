#include "engine/policy/jwt.hpp"

#include <algorithm>
#include <chrono>

namespace gaetwae::engine::policy {

namespace {

// A JSON object from base64url text; discarded (not an exception) on any error.
nlohmann::json decodeObject(std::string_view part) {
    const auto text = base64Decode(part, true);
    if (!text) {
        return nlohmann::json(nlohmann::json::value_t::discarded);
    }
    auto value = nlohmann::json::parse(*text, nullptr, false);
    if (!value.is_object()) {
        return nlohmann::json(nlohmann::json::value_t::discarded);
    }
    return value;
}

std::optional<model::JwtAlgorithm> algorithmOf(const nlohmann::json& header) {
    const auto it = header.find("alg");
    if (it == header.end() || !it->is_string()) {
        return std::nullopt;
    }
    const auto& name = it->get_ref<const std::string&>();
    for (const auto& [text, alg] : model::kJwtAlgorithmNames) {
        if (text == name) {
            return alg;
        }
    }
    return std::nullopt; // "none", HS384, PS256 ...
}

bool verifyWith(const JwtKey& key, std::string_view signingInput, std::string_view signature) {
    if (key.alg == model::JwtAlgorithm::HS256) {
        return !key.secret.empty() && constantTimeEquals(hmacSha256(key.secret, signingInput), signature);
    }
    return verifySignature(key.publicKey.get(), key.alg, signingInput, signature);
}

// A NumericDate claim (RFC 7519 2): seconds, possibly fractional; nullopt when absent or not a number.
std::optional<double> numericDate(const nlohmann::json& claims, const char* name) {
    const auto it = claims.find(name);
    if (it == claims.end() || !it->is_number()) {
        return std::nullopt;
    }
    return it->get<double>();
}

bool oneOf(const std::vector<std::string>& allowed, const nlohmann::json& value) {
    if (value.is_string()) {
        return std::find(allowed.begin(), allowed.end(), value.get_ref<const std::string&>()) !=
               allowed.end();
    }
    if (value.is_array()) {
        return std::any_of(value.begin(), value.end(),
                           [&](const nlohmann::json& item) { return oneOf(allowed, item); });
    }
    return false;
}

} // namespace

std::string_view describe(JwtError error) {
    switch (error) {
    case JwtError::None:
        return "";
    case JwtError::Malformed:
        return "the token is malformed";
    case JwtError::Algorithm:
        return "the token's algorithm is not accepted";
    case JwtError::NoKey:
        return "no key is configured for the token";
    case JwtError::Signature:
        return "the token's signature is invalid";
    case JwtError::Expired:
        return "the token has expired";
    case JwtError::NotYetValid:
        return "the token is not valid yet";
    case JwtError::Issuer:
        return "the token's issuer is not accepted";
    case JwtError::Audience:
        return "the token's audience is not accepted";
    case JwtError::MissingClaim:
        return "the token lacks a required claim";
    }
    return "the token is invalid";
}

JwtError verifyJwt(std::string_view token, std::span<const JwtKeySet* const> keySets,
                   const model::JwtAuthConfig& rules, std::int64_t nowUnixSeconds, nlohmann::json& claims) {
    if (token.size() > kMaxTokenBytes) {
        return JwtError::Malformed;
    }
    const auto firstDot = token.find('.');
    const auto secondDot = firstDot == std::string_view::npos ? firstDot : token.find('.', firstDot + 1);
    if (secondDot == std::string_view::npos || token.find('.', secondDot + 1) != std::string_view::npos) {
        return JwtError::Malformed;
    }
    const nlohmann::json header = decodeObject(token.substr(0, firstDot));
    if (header.is_discarded()) {
        return JwtError::Malformed;
    }
    const auto alg = algorithmOf(header);
    if (!alg) {
        return JwtError::Algorithm;
    }
    if (header.contains("crit")) {
        return JwtError::Algorithm; // extensions we do not understand must be refused (RFC 7515 4.1.11)
    }
    const auto signature = base64Decode(token.substr(secondDot + 1), true);
    if (!signature) {
        return JwtError::Malformed;
    }
    std::string_view kid;
    if (const auto it = header.find("kid"); it != header.end() && it->is_string()) {
        kid = it->get_ref<const std::string&>();
    }

    // Signature first: nothing in an unverified payload is looked at.
    const std::string_view signingInput = token.substr(0, secondDot);
    bool candidate = false;
    bool verified = false;
    for (const JwtKeySet* keys : keySets) {
        for (const JwtKey& key : *keys) {
            if (key.alg != *alg || (!kid.empty() && !key.kid.empty() && key.kid != kid)) {
                continue;
            }
            candidate = true;
            if (verifyWith(key, signingInput, *signature)) {
                verified = true;
                break;
            }
        }
        if (verified) {
            break;
        }
    }
    if (!candidate) {
        return JwtError::NoKey;
    }
    if (!verified) {
        return JwtError::Signature;
    }

    claims = decodeObject(token.substr(firstDot + 1, secondDot - firstDot - 1));
    if (claims.is_discarded()) {
        return JwtError::Malformed;
    }
    const auto skew =
        static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(rules.clockSkew).count());
    const auto now = static_cast<double>(nowUnixSeconds);
    if (claims.contains("exp")) {
        const auto exp = numericDate(claims, "exp");
        if (!exp || now >= *exp + skew) {
            return JwtError::Expired;
        }
    }
    if (claims.contains("nbf")) {
        const auto nbf = numericDate(claims, "nbf");
        if (!nbf || now + skew < *nbf) {
            return JwtError::NotYetValid;
        }
    }
    if (!rules.issuers.empty()) {
        const auto it = claims.find("iss");
        if (it == claims.end() || !it->is_string() || !oneOf(rules.issuers, *it)) {
            return JwtError::Issuer;
        }
    }
    if (!rules.audiences.empty()) {
        const auto it = claims.find("aud");
        if (it == claims.end() || !oneOf(rules.audiences, *it)) {
            return JwtError::Audience;
        }
    }
    for (const auto& name : rules.requiredClaims) {
        if (!claims.contains(name)) {
            return JwtError::MissingClaim;
        }
    }
    return JwtError::None;
}

} // namespace gaetwae::engine::policy
