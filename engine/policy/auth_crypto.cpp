#include "engine/policy/auth_crypto.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <array>
#include <cstring>

namespace gaetwae::engine::policy {

namespace {

constexpr std::size_t kDigestBytes = 32;
constexpr std::size_t kEs256CoordinateBytes = 32;

template <class T, void (*Free)(T*)> struct Freer {
    void operator()(T* p) const { Free(p); }
};
using BioPtr = std::unique_ptr<BIO, Freer<BIO, BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, Freer<BIGNUM, BN_free>>;
using ParamBuildPtr = std::unique_ptr<OSSL_PARAM_BLD, Freer<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamsPtr = std::unique_ptr<OSSL_PARAM, Freer<OSSL_PARAM, OSSL_PARAM_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Freer<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Freer<EVP_MD_CTX, EVP_MD_CTX_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Freer<ECDSA_SIG, ECDSA_SIG_free>>;
using X509Ptr = std::unique_ptr<X509, Freer<X509, X509_free>>;

const auto* bytes(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

PublicKey adopt(EVP_PKEY* key) {
    return PublicKey(key, EVP_PKEY_free);
}

std::string lastOpensslError() {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) {
        return "unknown OpenSSL error";
    }
    std::array<char, 256> text{};
    ERR_error_string_n(code, text.data(), text.size());
    return text.data();
}

PublicKey fromParams(const char* type, OSSL_PARAM_BLD* build, std::string& error) {
    const ParamsPtr params(OSSL_PARAM_BLD_to_param(build));
    const PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    EVP_PKEY* key = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
        error = lastOpensslError();
        return nullptr;
    }
    return adopt(key);
}

int base64Value(char c, bool url) {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == (url ? '-' : '+')) {
        return 62;
    }
    if (c == (url ? '_' : '/')) {
        return 63;
    }
    return -1;
}

} // namespace

std::string sha256(std::string_view data) {
    std::string out(kDigestBytes, '\0');
    unsigned int size = 0;
    if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &size,
                   EVP_sha256(), nullptr) != 1) {
        return {};
    }
    return out;
}

std::string hmacSha256(std::string_view key, std::string_view data) {
    std::string out(kDigestBytes, '\0');
    unsigned int size = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), bytes(data), data.size(),
             reinterpret_cast<unsigned char*>(out.data()), &size) == nullptr) {
        return {};
    }
    return out;
}

std::string pbkdf2Sha256(std::string_view password, std::string_view salt, std::uint32_t iterations) {
    std::string out(kDigestBytes, '\0');
    if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), bytes(salt),
                          static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                          static_cast<int>(out.size()), reinterpret_cast<unsigned char*>(out.data())) != 1) {
        return {};
    }
    return out;
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string randomBytes(std::size_t count) {
    std::string out(count, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1) {
        return {};
    }
    return out;
}

std::optional<std::string> base64Decode(std::string_view text, bool url) {
    while (!text.empty() && text.back() == '=') {
        text.remove_suffix(1);
    }
    if (text.size() % 4 == 1) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t buffer = 0;
    int bits = 0;
    for (const char c : text) {
        const int value = base64Value(c, url);
        if (value < 0) {
            return std::nullopt;
        }
        buffer = (buffer << 6) | static_cast<std::uint32_t>(value);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> bits) & 0xff);
        }
    }
    return out;
}

std::string base64UrlEncode(std::string_view data) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::uint32_t buffer = 0;
    int bits = 0;
    for (const char c : data) {
        buffer = (buffer << 8) | static_cast<unsigned char>(c);
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += kAlphabet[(buffer >> bits) & 63];
        }
    }
    if (bits > 0) {
        out += kAlphabet[(buffer << (6 - bits)) & 63];
    }
    return out;
}

PublicKey publicKeyFromPem(std::string_view pem, std::string& error) {
    const BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) {
        error = lastOpensslError();
        return nullptr;
    }
    if (pem.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos) {
        const X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        EVP_PKEY* key = certificate ? X509_get_pubkey(certificate.get()) : nullptr;
        if (key == nullptr) {
            error = "no certificate with a public key: " + lastOpensslError();
            return nullptr;
        }
        return adopt(key);
    }
    // A private key file would work too, but it has no business on a gateway that only verifies.
    EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
    if (key == nullptr) {
        error = "no PEM public key (BEGIN PUBLIC KEY): " + lastOpensslError();
        return nullptr;
    }
    return adopt(key);
}

PublicKey rsaPublicKey(std::string_view modulus, std::string_view exponent, std::string& error) {
    const BignumPtr n(BN_bin2bn(bytes(modulus), static_cast<int>(modulus.size()), nullptr));
    const BignumPtr e(BN_bin2bn(bytes(exponent), static_cast<int>(exponent.size()), nullptr));
    const ParamBuildPtr build(OSSL_PARAM_BLD_new());
    if (!n || !e || !build || OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
        error = lastOpensslError();
        return nullptr;
    }
    return fromParams("RSA", build.get(), error);
}

PublicKey ecP256PublicKey(std::string_view x, std::string_view y, std::string& error) {
    if (x.size() != kEs256CoordinateBytes || y.size() != kEs256CoordinateBytes) {
        error = "P-256 coordinates are 32 bytes each";
        return nullptr;
    }
    std::string point = "\x04";
    point.append(x);
    point.append(y);
    static char group[] = "prime256v1";
    const ParamBuildPtr build(OSSL_PARAM_BLD_new());
    if (!build || OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) !=
            1) {
        error = lastOpensslError();
        return nullptr;
    }
    return fromParams("EC", build.get(), error);
}

bool keyFitsAlgorithm(EVP_PKEY* key, model::JwtAlgorithm alg) {
    switch (alg) {
    case model::JwtAlgorithm::RS256:
        return EVP_PKEY_is_a(key, "RSA") == 1;
    case model::JwtAlgorithm::ES256: {
        if (EVP_PKEY_is_a(key, "EC") != 1) {
            return false;
        }
        std::array<char, 64> group{};
        std::size_t length = 0;
        if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(),
                                           &length) != 1) {
            return false;
        }
        return std::string_view(group.data(), length) == "prime256v1";
    }
    case model::JwtAlgorithm::HS256:
        return false;
    }
    return false;
}

bool verifySignature(EVP_PKEY* key, model::JwtAlgorithm alg, std::string_view data,
                     std::string_view signature) {
    if (key == nullptr || !keyFitsAlgorithm(key, alg)) {
        return false;
    }
    std::string der;
    if (alg == model::JwtAlgorithm::ES256) {
        // JWS (RFC 7518 3.4) carries r||s as two 32-byte big-endian numbers; OpenSSL wants DER.
        if (signature.size() != 2 * kEs256CoordinateBytes) {
            return false;
        }
        EcdsaSigPtr sig(ECDSA_SIG_new());
        BIGNUM* r = BN_bin2bn(bytes(signature), kEs256CoordinateBytes, nullptr);
        BIGNUM* s = BN_bin2bn(bytes(signature.substr(kEs256CoordinateBytes)), kEs256CoordinateBytes, nullptr);
        if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
            BN_free(r);
            BN_free(s);
            return false;
        }
        unsigned char* out = nullptr;
        const int size = i2d_ECDSA_SIG(sig.get(), &out);
        if (size <= 0) {
            return false;
        }
        der.assign(reinterpret_cast<const char*>(out), static_cast<std::size_t>(size));
        OPENSSL_free(out);
        signature = der;
    }
    const MdCtxPtr ctx(EVP_MD_CTX_new());
    const bool ok =
        ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
        EVP_DigestVerify(ctx.get(), bytes(signature), signature.size(), bytes(data), data.size()) == 1;
    ERR_clear_error(); // a bad signature leaves errors in the thread's queue
    return ok;
}

} // namespace gaetwae::engine::policy
