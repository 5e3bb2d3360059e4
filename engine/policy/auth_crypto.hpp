#pragma once

#include "shared/model/auth_config.hpp"

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

// The cryptography behind gateway authentication, over OpenSSL 3 EVP. No exceptions: failures
// are empty results or false.
namespace gaetwae::engine::policy {

using PublicKey = std::shared_ptr<EVP_PKEY>;

std::string sha256(std::string_view data);
std::string hmacSha256(std::string_view key, std::string_view data);
// PBKDF2-HMAC-SHA256 with a 32-byte output; empty on failure.
std::string pbkdf2Sha256(std::string_view password, std::string_view salt, std::uint32_t iterations);
// Equal length and equal bytes, in time independent of where they differ.
bool constantTimeEquals(std::string_view a, std::string_view b);
// `count` bytes from the OpenSSL CSPRNG; empty on failure.
std::string randomBytes(std::size_t count);

// Base64 (RFC 4648 section 4, `url` false) or base64url (section 5), padding optional;
// nullopt on any other character.
std::optional<std::string> base64Decode(std::string_view text, bool url);
std::string base64UrlEncode(std::string_view bytes);

// A public key from PEM text (SubjectPublicKeyInfo, or an X.509 certificate); nullptr on error.
PublicKey publicKeyFromPem(std::string_view pem, std::string& error);
// RSA from its modulus and exponent, EC P-256 from its coordinates (big-endian bytes, as JWKs
// carry them); nullptr on error.
PublicKey rsaPublicKey(std::string_view modulus, std::string_view exponent, std::string& error);
PublicKey ecP256PublicKey(std::string_view x, std::string_view y, std::string& error);
// True when the key's type fits the algorithm: RSA for RS256, EC on P-256 for ES256.
bool keyFitsAlgorithm(EVP_PKEY* key, model::JwtAlgorithm alg);

// Verifies an RS256 (PKCS #1 v1.5, SHA-256) or ES256 (raw 64-byte r||s, as JWS carries it)
// signature over `data`.
bool verifySignature(EVP_PKEY* key, model::JwtAlgorithm alg, std::string_view data,
                     std::string_view signature);

} // namespace gaetwae::engine::policy
