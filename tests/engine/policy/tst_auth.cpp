// Authentication at the gateway, end to end through real sockets: JWT vectors for HS256, RS256
// and ES256 (keys generated here with OpenSSL, tokens built and signed by this file's own
// helpers, not the engine's code), JWKS kid selection and live key rotation, API keys in headers
// and queries, basic auth, identity headers, credential stripping, allow lists, consumer rate
// limits, config errors, and the hash-secret command.
#include "engine/config/config_loader.hpp"
#include "engine/policy/authenticator.hpp"
#include "engine/policy/jwt_keys.hpp"
#include "shared/model/config_codec.hpp"
#include "tests/support/fake_backend.hpp"
#include "tests/support/test_client.hpp"
#include "tests/support/test_gateway.hpp"
#include "tests/support/ws_admin_client.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

using namespace gaetwae::test;

namespace {

// ---------------------------------------------------------------- the test's own JOSE helpers

std::string base64Url(std::string_view bytes) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        const auto n = (std::uint32_t(std::uint8_t(bytes[i])) << 16) |
                       (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8) | std::uint8_t(bytes[i + 2]);
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += kAlphabet[(n >> 6) & 63];
        out += kAlphabet[n & 63];
    }
    if (bytes.size() - i == 1) {
        const auto n = std::uint32_t(std::uint8_t(bytes[i])) << 16;
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
    } else if (bytes.size() - i == 2) {
        const auto n =
            (std::uint32_t(std::uint8_t(bytes[i])) << 16) | (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8);
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += kAlphabet[(n >> 6) & 63];
    }
    return out;
}

std::string base64(std::string_view bytes) {
    std::string url = base64Url(bytes);
    for (char& c : url) {
        c = c == '-' ? '+' : (c == '_' ? '/' : c);
    }
    while (url.size() % 4 != 0) {
        url += '=';
    }
    return url;
}

std::string hex(std::string_view bytes) {
    std::string out;
    for (const char c : bytes) {
        out += fmt::format("{:02x}", std::uint8_t(c));
    }
    return out;
}

std::string sha256Hex(std::string_view data) {
    unsigned char digest[32];
    unsigned int size = 0;
    EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
    return hex(std::string_view(reinterpret_cast<const char*>(digest), size));
}

std::string pbkdf2Hash(std::string_view password, std::string_view salt, int iterations) {
    unsigned char out[32];
    PKCS5_PBKDF2_HMAC(password.data(), int(password.size()),
                      reinterpret_cast<const unsigned char*>(salt.data()), int(salt.size()), iterations,
                      EVP_sha256(), 32, out);
    return fmt::format("pbkdf2-sha256${}${}${}", iterations, hex(salt),
                       hex(std::string_view(reinterpret_cast<const char*>(out), 32)));
}

using Key = std::shared_ptr<EVP_PKEY>;

Key generate(bool rsa) {
    EVP_PKEY* key = rsa ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})
                        : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    return Key(key, EVP_PKEY_free);
}

std::string publicPem(const Key& key) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, key.get());
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    std::string pem(data, std::size_t(size));
    BIO_free(bio);
    return pem;
}

std::string bignumParam(const Key& key, const char* name, int pad) {
    BIGNUM* bn = nullptr;
    EVP_PKEY_get_bn_param(key.get(), name, &bn);
    std::string out(std::size_t(pad > 0 ? pad : BN_num_bytes(bn)), '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), int(out.size()));
    BN_free(bn);
    return out;
}

nlohmann::json jwkOf(const Key& key, const std::string& kid, bool rsa) {
    nlohmann::json jwk;
    jwk["kid"] = kid;
    jwk["use"] = "sig";
    if (rsa) {
        jwk["kty"] = "RSA";
        jwk["n"] = base64Url(bignumParam(key, OSSL_PKEY_PARAM_RSA_N, 0));
        jwk["e"] = base64Url(bignumParam(key, OSSL_PKEY_PARAM_RSA_E, 0));
    } else {
        jwk["kty"] = "EC";
        jwk["crv"] = "P-256";
        jwk["x"] = base64Url(bignumParam(key, OSSL_PKEY_PARAM_EC_PUB_X, 32));
        jwk["y"] = base64Url(bignumParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32));
    }
    return jwk;
}

std::string jwks(const std::vector<nlohmann::json>& keys) {
    nlohmann::json doc;
    doc["keys"] = keys;
    return doc.dump();
}

std::string hmac(std::string_view secret, std::string_view input) {
    unsigned char out[32];
    unsigned int size = 0;
    HMAC(EVP_sha256(), secret.data(), int(secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), out, &size);
    return std::string(reinterpret_cast<const char*>(out), size);
}

// RS256 as PKCS #1 v1.5; ES256 converted from OpenSSL's DER to JWS's raw r||s.
std::string signWith(const Key& key, std::string_view input, bool rsa) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t size = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.get());
    EVP_DigestSign(ctx, nullptr, &size, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    std::string signature(size, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &size,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    signature.resize(size);
    EVP_MD_CTX_free(ctx);
    if (rsa) {
        return signature;
    }
    const auto* p = reinterpret_cast<const unsigned char*>(signature.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, long(signature.size()));
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(sig, &r, &s);
    std::string raw(64, '\0');
    BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(sig);
    return raw;
}

struct Signer {
    std::string alg; // what the header says
    std::function<std::string(std::string_view)> sign;
};

std::string token(const Signer& signer, const nlohmann::json& claims, const std::string& kid = "") {
    nlohmann::json header;
    header["alg"] = signer.alg;
    header["typ"] = "JWT";
    if (!kid.empty()) {
        header["kid"] = kid;
    }
    const std::string input = base64Url(header.dump()) + "." + base64Url(claims.dump());
    return input + "." + base64Url(signer.sign(input));
}

std::int64_t nowUnix() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

nlohmann::json claimsFor(const std::string& sub, std::int64_t expIn = 600) {
    nlohmann::json claims;
    claims["sub"] = sub;
    claims["iss"] = "https://issuer.test";
    claims["aud"] = "api";
    claims["exp"] = nowUnix() + expIn;
    claims["iat"] = nowUnix();
    return claims;
}

void writeFile(const std::string& path, const std::string& text) {
    // Replaced in one step (write aside, rename), as an operator's deploy tool would.
    const std::string aside = path + ".new";
    std::ofstream(aside, std::ios::binary | std::ios::trunc) << text;
    std::filesystem::rename(aside, path);
}

using Headers = std::vector<std::pair<std::string, std::string>>;

std::optional<Response> call(std::uint16_t port, const std::string& target, const Headers& headers = {}) {
    TestClient client(port);
    return client.request("GET", target, headers);
}

// The status of the response, or -1 when none arrived.
int statusOf(std::uint16_t port, const std::string& target, const Headers& headers = {}) {
    const auto response = call(port, target, headers);
    return response ? response->status : -1;
}

Headers bearer(const std::string& jwt) {
    return {{"Authorization", "Bearer " + jwt}};
}

} // namespace

class TestAuth : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    Key m_rsa;
    Key m_ec;
    Key m_otherRsa;
    Key m_otherEc;
    std::string m_secret;
    std::string m_aliceKey = "ak_alice_6f1c2d9e8b7a4c3f5e0d1b2a9c8e7f6d";
    std::string m_bobKey = "ak_bob_0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d";
    Signer m_hs;
    Signer m_rs;
    Signer m_es;

    std::string path(const std::string& name) const {
        return m_dir.filePath(QString::fromStdString(name)).toStdString();
    }

    std::string yaml(const FakeBackend& backend, const std::string& extraRoutes = "") const {
        std::string y = "listeners: [{address: \"127.0.0.1:0\"}]\naccess_log: {enabled: false}\n";
        y += fmt::format("consumers:\n"
                         "  - name: alice\n"
                         "    api_keys: [\"sha256:{}\"]\n"
                         "    basic_auth: {{username: alice, password: \"{}\"}}\n"
                         "    headers: {{X-Tenant: acme}}\n"
                         "  - name: bob\n"
                         "    api_keys: [\"sha256:{}\"]\n",
                         sha256Hex(m_aliceKey), pbkdf2Hash("correct horse", "saltsaltsalt", 1000),
                         sha256Hex(m_bobKey));
        y += fmt::format(
            "routes:\n"
            "  - name: jwt\n"
            "    match: {{path_prefix: /jwt}}\n"
            "    pool: p\n"
            "    auth:\n"
            "      jwt:\n"
            "        keys:\n"
            "          - {{secret_file: \"{}\"}}\n"
            "          - {{pem_file: \"{}\", alg: RS256}}\n"
            "          - {{pem_file: \"{}\", alg: ES256}}\n"
            "        issuer: https://issuer.test\n"
            "        audience: [api, other]\n"
            "        clock_skew: 60s\n"
            "        required_claims: [sub]\n"
            "      identity_headers: {{X-User-ID: sub, X-Consumer: consumer, X-Auth-Method: method}}\n"
            "  - name: jwks\n"
            "    match: {{path_prefix: /jwks}}\n"
            "    pool: p\n"
            "    auth:\n"
            "      jwt: {{keys: [{{jwks_file: \"{}\"}}]}}\n"
            "      identity_headers: {{X-User-ID: sub}}\n"
            "  - name: claims\n"
            "    match: {{path_prefix: /claims}}\n"
            "    pool: p\n"
            "    auth:\n"
            "      jwt: {{keys: [{{secret_file: \"{}\"}}]}}\n"
            "      claims: {{role: admin}}\n"
            "  - name: carried\n"
            "    match: {{path_prefix: /carried}}\n"
            "    pool: p\n"
            "    auth:\n"
            "      jwt: {{keys: [{{secret_file: \"{}\"}}], cookie: session, query: access_token}}\n"
            "      strip_credentials: true\n",
            path("hs.secret"), path("rsa.pem"), path("ec.pem"), path("keys.jwks"), path("hs.secret"),
            path("hs.secret"));
        y += "  - name: keys\n"
             "    match: {path_prefix: /keys}\n"
             "    pool: p\n"
             "    auth:\n"
             "      api_key: {header: X-API-Key, query: api_key}\n"
             "      identity_headers: {X-Consumer: consumer}\n"
             "  - name: strip\n"
             "    match: {path_prefix: /strip}\n"
             "    pool: p\n"
             "    auth:\n"
             "      api_key: {header: X-API-Key, query: api_key}\n"
             "      basic: {realm: shop}\n"
             "      strip_credentials: true\n"
             "  - name: basic\n"
             "    match: {path_prefix: /basic}\n"
             "    pool: p\n"
             "    auth:\n"
             "      basic: {realm: shop}\n"
             "      identity_headers: {X-Consumer: consumer}\n"
             "  - name: bobonly\n"
             "    match: {path_prefix: /bobonly}\n"
             "    pool: p\n"
             "    auth: {api_key: {}, allow: [bob]}\n"
             "  - name: limited\n"
             "    match: {path_prefix: /limited}\n"
             "    pool: p\n"
             "    auth: {api_key: {}}\n"
             "    rate_limit: [{key: consumer, rate: 2/m}]\n"
             "  - name: open\n"
             "    match: {path_prefix: /open}\n"
             "    pool: p\n"
             "    rate_limit: [{key: consumer, rate: 1/m}]\n";
        y += extraRoutes;
        y += fmt::format("pools:\n  - name: p\n    instances:\n      - {{id: a, address: \"{}\"}}\n",
                         backend.address());
        return y;
    }

    // A 401 the gateway answered itself, with its JSON body and a challenge naming `scheme`.
    static bool isUnauthorized(const std::optional<Response>& r, std::string_view scheme, bool invalidToken) {
        if (!r || r->status != 401 || !r->json().is_object() ||
            r->json().value("error", "") != "unauthorized" ||
            r->header("Content-Type") != "application/json") {
            return false;
        }
        bool found = false;
        for (const auto& [name, value] : r->headers) {
            if (QByteArray::fromStdString(name).toLower() == "www-authenticate" &&
                value.starts_with(scheme)) {
                found = !invalidToken || value.find("error=\"invalid_token\"") != std::string::npos;
            }
        }
        return found;
    }

private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        m_rsa = generate(true);
        m_ec = generate(false);
        m_otherRsa = generate(true);
        m_otherEc = generate(false);
        QVERIFY(m_rsa && m_ec && m_otherRsa && m_otherEc);
        unsigned char random[32];
        QVERIFY(RAND_bytes(random, sizeof random) == 1);
        m_secret = hex(std::string_view(reinterpret_cast<const char*>(random), sizeof random));
        writeFile(path("hs.secret"), m_secret + "\n");
        writeFile(path("rsa.pem"), publicPem(m_rsa));
        writeFile(path("ec.pem"), publicPem(m_ec));
        writeFile(path("keys.jwks"),
                  jwks({jwkOf(m_rsa, "r1", true), jwkOf(m_ec, "e1", false), jwkOf(m_otherRsa, "r2", true)}));
        m_hs = {"HS256", [this](std::string_view input) { return hmac(m_secret, input); }};
        m_rs = {"RS256", [this](std::string_view input) { return signWith(m_rsa, input, true); }};
        m_es = {"ES256", [this](std::string_view input) { return signWith(m_ec, input, false); }};
    }

    // ---------------------------------------------------------------- JWT
    void validTokensOfEachAlgorithmPassWithIdentityHeaders() {
        FakeBackend backend("b");
        TestGateway gateway(yaml(backend));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        for (const Signer* signer : {&m_hs, &m_rs, &m_es}) {
            const auto response =
                call(gateway.port(), "/jwt/me", bearer(token(*signer, claimsFor("user-" + signer->alg))));
            QVERIFY(response);
            QCOMPARE(response->status, 200);
            const auto received = backend.received().back();
            QCOMPARE(received.header("X-User-ID"), "user-" + signer->alg);
            QCOMPARE(received.header("X-Consumer"), "user-" + signer->alg);
            QCOMPARE(received.header("X-Auth-Method"), std::string("jwt"));
            // Without strip_credentials the backend sees the token too.
            QVERIFY(received.header("Authorization").starts_with("Bearer "));
        }
        QCOMPARE(backend.requestsReceived(), std::uint64_t(3));
    }

    void badTokensAre401AndNeverReachTheBackend_data() {
        QTest::addColumn<QString>("vector");
        for (const char* name :
             {"expired", "expired beyond skew", "not yet valid", "wrong RSA key", "wrong EC key", "alg none",
              "HS256 keyed with the RSA public key", "tampered payload", "tampered signature", "wrong issuer",
              "wrong audience", "missing token", "not a JWT", "unknown alg",
              "ES256 signature on an RS256 header", "missing required claim", "exp not a number",
              "unknown critical header"}) {
            QTest::newRow(name) << QString(name);
        }
    }

    void badTokensAre401AndNeverReachTheBackend() {
        QFETCH(QString, vector);
        FakeBackend backend("b");
        TestGateway gateway(yaml(backend));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        const std::string v = vector.toStdString();
        std::string jwt;
        if (v == "expired") {
            jwt = token(m_rs, claimsFor("u", -3600));
        } else if (v == "expired beyond skew") {
            jwt = token(m_es, claimsFor("u", -61));
        } else if (v == "not yet valid") {
            auto claims = claimsFor("u");
            claims["nbf"] = nowUnix() + 120;
            jwt = token(m_hs, claims);
        } else if (v == "wrong RSA key") {
            jwt = token({"RS256", [this](std::string_view in) { return signWith(m_otherRsa, in, true); }},
                        claimsFor("u"));
        } else if (v == "wrong EC key") {
            jwt = token({"ES256", [this](std::string_view in) { return signWith(m_otherEc, in, false); }},
                        claimsFor("u"));
        } else if (v == "alg none") {
            jwt = token({"none", [](std::string_view) { return std::string(); }}, claimsFor("u"));
        } else if (v == "HS256 keyed with the RSA public key") {
            const std::string pem = publicPem(m_rsa);
            jwt = token({"HS256", [&](std::string_view in) { return hmac(pem, in); }}, claimsFor("u"));
        } else if (v == "tampered payload") {
            const std::string good = token(m_rs, claimsFor("alice"));
            const auto first = good.find('.');
            const auto second = good.find('.', first + 1);
            jwt = good.substr(0, first + 1) + base64Url(claimsFor("admin").dump()) + good.substr(second);
        } else if (v == "tampered signature") {
            jwt = token(m_es, claimsFor("u"));
            jwt[jwt.size() - 5] = jwt[jwt.size() - 5] == 'A' ? 'B' : 'A';
        } else if (v == "wrong issuer") {
            auto claims = claimsFor("u");
            claims["iss"] = "https://evil.test";
            jwt = token(m_hs, claims);
        } else if (v == "wrong audience") {
            auto claims = claimsFor("u");
            claims["aud"] = nlohmann::json::array({"billing", "admin"});
            jwt = token(m_rs, claims);
        } else if (v == "not a JWT") {
            jwt = "abc.def";
        } else if (v == "unknown alg") {
            jwt =
                token({"HS512", [this](std::string_view in) { return hmac(m_secret, in); }}, claimsFor("u"));
        } else if (v == "missing required claim") {
            auto claims = claimsFor("u");
            claims.erase("sub");
            jwt = token(m_rs, claims);
        } else if (v == "exp not a number") {
            auto claims = claimsFor("u");
            claims["exp"] = "tomorrow";
            jwt = token(m_hs, claims);
        } else if (v == "unknown critical header") {
            nlohmann::json header;
            header["alg"] = "HS256";
            header["crit"] = nlohmann::json::array({"b64"});
            header["b64"] = false;
            const std::string input = base64Url(header.dump()) + "." + base64Url(claimsFor("u").dump());
            jwt = input + "." + base64Url(hmac(m_secret, input));
        } else if (v == "ES256 signature on an RS256 header") {
            jwt = token({"RS256", [this](std::string_view in) { return signWith(m_ec, in, false); }},
                        claimsFor("u"));
        }
        const auto response = call(gateway.port(), "/jwt/x", jwt.empty() ? Headers{} : bearer(jwt));
        QVERIFY2(isUnauthorized(response, "Bearer realm=", !jwt.empty()),
                 response ? (std::to_string(response->status) + " " + response->body).c_str()
                          : "no response");
        // The forged HMAC must fail on a route whose only keys are asymmetric too.
        if (v == "HS256 keyed with the RSA public key") {
            QVERIFY(isUnauthorized(call(gateway.port(), "/jwks/x", bearer(jwt)), "Bearer realm=", true));
        }
        // The same request with a valid token passes, so the refusal was about the token.
        QCOMPARE(statusOf(gateway.port(), "/jwt/x", bearer(token(m_rs, claimsFor("u")))), 200);
        QCOMPARE(backend.requestsReceived(), std::uint64_t(1));
    }

    void clockSkewIsHonoured() {
        FakeBackend backend("b");
        TestGateway gateway(yaml(backend));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        // Expired 20 s ago and valid from 20 s on: both inside the 60 s skew.
        auto claims = claimsFor("u", -20);
        QCOMPARE(statusOf(gateway.port(), "/jwt/x", bearer(token(m_hs, claims))), 200);
        claims = claimsFor("u");
        claims["nbf"] = nowUnix() + 20;
        QCOMPARE(statusOf(gateway.port(), "/jwt/x", bearer(token(m_rs, claims))), 200);
        claims["nbf"] = nowUnix() + 600;
        QCOMPARE(statusOf(gateway.port(), "/jwt/x", bearer(token(m_rs, claims))), 401);
        QCOMPARE(backend.requestsReceived(), std::uint64_t(2));
    }

    void jwksKeysAreSelectedByKid() {
        FakeBackend backend("b");
        TestGateway gateway(yaml(backend));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        const Signer other{"RS256", [this](std::string_view in) { return signWith(m_otherRsa, in, true); }};
        QCOMPARE(statusOf(gateway.port(), "/jwks/x", bearer(token(m_rs, claimsFor("r1"), "r1"))), 200);
        QCOMPARE(statusOf(gateway.port(), "/jwks/x", bearer(token(other, claimsFor("r2"), "r2"))), 200);
        QCOMPARE(backend.received().back().header("X-User-ID"), std::string("r2"));
        QCOMPARE(statusOf(gateway.port(), "/jwks/x", bearer(token(m_es, claimsFor("e1"), "e1"))), 200);
        // A key under another kid does not verify, nor does an unknown kid.
        QCOMPARE(statusOf(gateway.port(), "/jwks/x", bearer(token(m_rs, claimsFor("r1"), "r2"))), 401);
        QCOMPARE(statusOf(gateway.port(), "/jwks/x", bearer(token(m_rs, claimsFor("r1"), "nope"))), 401);
        // The JWKS route has no HMAC key at all.
        QCOMPARE(statusOf(gateway.port(), "/jwks/x", bearer(token(m_hs, claimsFor("h")))), 401);
        QCOMPARE(backend.requestsReceived(), std::uint64_t(3));
    }

    void aReplacedJwksFileIsPickedUpAndABrokenOneKeepsTheKeys() {
        FakeBackend backend("b");
        const std::string file = path("rotating.jwks");
        writeFile(file, jwks({jwkOf(m_rsa, "old", true)}));
        const std::string route =
            fmt::format("  - name: rotating\n    match: {{path_prefix: /rot}}\n    pool: p\n"
                        "    auth: {{jwt: {{keys: [{{jwks_file: \"{}\"}}]}}}}\n",
                        file);
        TestGateway gateway(yaml(backend, route));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        const Signer next{"RS256", [this](std::string_view in) { return signWith(m_otherRsa, in, true); }};
        const std::string oldToken = token(m_rs, claimsFor("u"), "old");
        const std::string newToken = token(next, claimsFor("u"), "new");
        QCOMPARE(statusOf(gateway.port(), "/rot", bearer(oldToken)), 200);
        QCOMPARE(statusOf(gateway.port(), "/rot", bearer(newToken)), 401);

        // Rotation while running, without a reload: the request path notices the new file.
        writeFile(file, jwks({jwkOf(m_otherRsa, "new", true)}));
        QTRY_VERIFY_WITH_TIMEOUT(statusOf(gateway.port(), "/rot", bearer(newToken)) == 200, 10000);
        QCOMPARE(statusOf(gateway.port(), "/rot", bearer(oldToken)), 401);

        // A broken file keeps the keys in use; a config reload looks at it at once.
        writeFile(file, "{\"keys\": [{\"kty\": \"RSA\", \"n\": \"%%%\"");
        QCOMPARE(gateway.apply(yaml(backend, route)), std::string());
        QCOMPARE(statusOf(gateway.port(), "/rot", bearer(newToken)), 200);
        QCOMPARE(statusOf(gateway.port(), "/rot", bearer(oldToken)), 401);
        // Fixed again: the fixed file is used.
        writeFile(file, jwks({jwkOf(m_rsa, "old", true)}));
        QCOMPARE(gateway.apply(yaml(backend, route)), std::string());
        QCOMPARE(statusOf(gateway.port(), "/rot", bearer(oldToken)), 200);
        QCOMPARE(statusOf(gateway.port(), "/rot", bearer(newToken)), 401);
    }

    void tokensAlsoComeFromACookieOrTheQuery() {
        FakeBackend backend("b");
        TestGateway gateway(yaml(backend));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        const std::string jwt = token(m_hs, claimsFor("c"));
        QCOMPARE(
            statusOf(gateway.port(), "/carried", {{"Cookie", "theme=dark; session=" + jwt + "; lang=en"}}),
            200);
        QCOMPARE(statusOf(gateway.port(), "/carried?a=1&access_token=" + jwt), 200);
        QCOMPARE(backend.received().back().target, std::string("/carried?a=1")); // stripped
        QCOMPARE(statusOf(gateway.port(), "/carried", {{"Cookie", "session=" + jwt + "x"}}), 401);
        QCOMPARE(backend.requestsReceived(), std::uint64_t(2));
    }

    void anAdminRouteChangeAddsAuthAndABadKeyFileIsRefused() {
        FakeBackend backend("b");
        TestGateway gateway(yaml(backend, "  - name: late\n    match: {path_prefix: /late}\n    pool: p\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        QCOMPARE(statusOf(gateway.port(), "/late"), 200);
        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), gateway.adminToken()), admin.error().c_str());
        auto putRoute = [&](const nlohmann::json& route) {
            nlohmann::json params;
            params["expectedVersion"] = gateway.engine().configVersion();
            params["route"] = route;
            return admin.call("route.put", params);
        };
        nlohmann::json route;
        route["name"] = "late";
        route["match"]["path_prefix"] = "/late";
        route["pool"] = "p";
        route["auth"]["api_key"] = nlohmann::json::object();
        auto changed = putRoute(route);
        QVERIFY2(changed && changed->result, admin.error().c_str());
        QCOMPARE(statusOf(gateway.port(), "/late"), 401);
        QCOMPARE(statusOf(gateway.port(), "/late", {{"X-API-Key", m_bobKey}}), 200);

        // A key file that cannot be loaded refuses the change, naming the field; nothing changes.
        nlohmann::json absent;
        absent["pem_file"] = path("absent.pem");
        route["auth"]["jwt"]["keys"] = nlohmann::json::array();
        route["auth"]["jwt"]["keys"].push_back(absent);
        changed = putRoute(route);
        QVERIFY(changed && changed->error);
        QVERIFY2(changed->error->data.dump().find("auth/jwt/keys/0/pem_file") != std::string::npos,
                 changed->error->data.dump().c_str());
        QCOMPARE(statusOf(gateway.port(), "/late", {{"X-API-Key", m_bobKey}}), 200);
        QVERIFY(!gateway.engine().config().routes.back().auth->jwt);

        // Reads return the route's auth and the consumers with their hashes only.
        const auto config = admin.result("config.get")["config"];
        QCOMPARE(config["routes"].back()["auth"]["api_key"]["header"].get<std::string>(),
                 std::string("X-API-Key"));
        QCOMPARE(config["consumers"][1]["api_keys"][0].get<std::string>(), "sha256:" + sha256Hex(m_bobKey));
        QVERIFY(config.dump().find(m_bobKey) == std::string::npos);
    }

    void claimsThatDoNotMatchAre403() {
        FakeBackend backend("b");
        TestGateway gateway(yaml(backend));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        auto claims = claimsFor("u");
        claims["role"] = "user";
        const auto refused = call(gateway.port(), "/claims", bearer(token(m_hs, claims)));
        QVERIFY(refused);
        QCOMPARE(refused->status, 403);
        QCOMPARE(refused->json().value("error", ""), std::string("forbidden"));
        claims["role"] = nlohmann::json::array({"user", "admin"});
        QCOMPARE(statusOf(gateway.port(), "/claims", bearer(token(m_hs, claims))), 200);
        QCOMPARE(backend.requestsReceived(), std::uint64_t(1));
    }

    // ---------------------------------------------------------------- API keys and basic auth
    void apiKeysFromHeaderOrQueryIdentifyTheConsumer() {
        FakeBackend backend("b");
        TestGateway gateway(yaml(backend));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        QCOMPARE(statusOf(gateway.port(), "/keys/a", {{"X-API-Key", m_aliceKey}}), 200);
        QCOMPARE(backend.received().back().header("X-Consumer"), std::string("alice"));
        QCOMPARE(backend.received().back().header("X-Tenant"), std::string("acme")); // alice's own header
        QCOMPARE(statusOf(gateway.port(), "/keys/b?x=1&api_key=" + m_bobKey), 200);
        QCOMPARE(backend.received().back().header("X-Consumer"), std::string("bob"));
        QCOMPARE(backend.received().back().headerCount("X-Tenant"), std::size_t(0));
        // Not stripped on this route: the backend sees what the client sent.
        QCOMPARE(backend.received().back().target, "/keys/b?x=1&api_key=" + m_bobKey);

        QVERIFY(
            isUnauthorized(call(gateway.port(), "/keys/a", {{"X-API-Key", m_aliceKey + "x"}}), "Key", false));
        QVERIFY(
            isUnauthorized(call(gateway.port(), "/keys/a?api_key=" + sha256Hex(m_aliceKey)), "Key", false));
        const auto missing = call(gateway.port(), "/keys/a");
        QVERIFY(isUnauthorized(missing, "Key", false));
        QCOMPARE(missing->json().value("message", ""), std::string("credentials are required"));
        QCOMPARE(backend.requestsReceived(), std::uint64_t(2));
    }

    void basicAuthChecksThePasswordHash() {
        FakeBackend backend("b");
        TestGateway gateway(yaml(backend));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        const Headers good{{"Authorization", "Basic " + base64("alice:correct horse")}};
        for (int i = 0; i < 3; ++i) { // later ones are served from the verified-credentials cache
            QCOMPARE(statusOf(gateway.port(), "/basic", good), 200);
            QCOMPARE(backend.received().back().header("X-Consumer"), std::string("alice"));
        }
        const auto wrong =
            call(gateway.port(), "/basic", {{"Authorization", "Basic " + base64("alice:battery")}});
        QVERIFY(isUnauthorized(wrong, "Basic realm=\"shop\"", false));
        QVERIFY(isUnauthorized(
            call(gateway.port(), "/basic", {{"Authorization", "Basic " + base64("mallory:x")}}), "Basic",
            false));
        QVERIFY(
            isUnauthorized(call(gateway.port(), "/basic", {{"Authorization", "Basic !!!"}}), "Basic", false));
        QVERIFY(isUnauthorized(call(gateway.port(), "/basic"), "Basic", false));
        QCOMPARE(backend.requestsReceived(), std::uint64_t(3));
    }

    void stripCredentialsRemovesThemUpstream() {
        FakeBackend backend("b");
        TestGateway gateway(yaml(backend));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        QCOMPARE(statusOf(gateway.port(), "/strip/a?x=1&api_key=" + m_aliceKey + "&y=2"), 200);
        QCOMPARE(backend.received().back().target, std::string("/strip/a?x=1&y=2"));
        QCOMPARE(statusOf(gateway.port(), "/strip/a", {{"x-api-key", m_aliceKey}, {"X-Other", "kept"}}), 200);
        QCOMPARE(backend.received().back().headerCount("X-API-Key"), std::size_t(0));
        QCOMPARE(backend.received().back().header("X-Other"), std::string("kept"));
        QCOMPARE(statusOf(gateway.port(), "/strip/a",
                          {{"Authorization", "Basic " + base64("alice:correct horse")}}),
                 200);
        QCOMPARE(backend.received().back().headerCount("Authorization"), std::size_t(0));
    }

    void spoofedIdentityHeadersAreReplaced() {
        FakeBackend backend("b");
        TestGateway gateway(yaml(backend));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        const Headers spoofed{
            {"X-User-ID", "root"}, {"x-consumer", "admin"}, {"X-Auth-Method", "magic"}, {"X-Tenant", "evil"}};
        Headers headers = bearer(token(m_hs, claimsFor("carol\r\nX-Injected: 1")));
        headers.insert(headers.end(), spoofed.begin(), spoofed.end());
        QCOMPARE(statusOf(gateway.port(), "/jwt/x", headers), 200);
        const auto received = backend.received().back();
        QCOMPARE(received.headerCount("X-User-ID"), std::size_t(1));
        QCOMPARE(received.header("X-User-ID"),
                 std::string("carolX-Injected: 1")); // CR/LF dropped: one header
        QCOMPARE(received.headerCount("X-Injected"), std::size_t(0));
        QCOMPARE(received.headerCount("X-Consumer"), std::size_t(1));
        QCOMPARE(received.header("X-Auth-Method"), std::string("jwt"));
        QCOMPARE(received.headerCount("X-Tenant"), std::size_t(0)); // a consumer header, not carol's
        // An API key consumer's own header replaces a spoofed copy.
        QCOMPARE(statusOf(gateway.port(), "/keys", {{"X-API-Key", m_aliceKey}, {"X-Tenant", "evil"}}), 200);
        QCOMPARE(backend.received().back().headerCount("X-Tenant"), std::size_t(1));
        QCOMPARE(backend.received().back().header("X-Tenant"), std::string("acme"));
    }

    void allowListRefusesOtherConsumersWith403() {
        FakeBackend backend("b");
        TestGateway gateway(yaml(backend));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        const auto refused = call(gateway.port(), "/bobonly", {{"X-API-Key", m_aliceKey}});
        QVERIFY(refused);
        QCOMPARE(refused->status, 403);
        QCOMPARE(refused->json().value("error", ""), std::string("forbidden"));
        QCOMPARE(refused->headerCount("WWW-Authenticate"), std::size_t(0));
        QCOMPARE(statusOf(gateway.port(), "/bobonly", {{"X-API-Key", m_bobKey}}), 200);
        QCOMPARE(backend.requestsReceived(), std::uint64_t(1));
    }

    void rateLimitsKeyedByConsumer() {
        FakeBackend backend("b");
        TestGateway gateway(yaml(backend));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        // Two consumers behind one address get a bucket each.
        for (int i = 0; i < 2; ++i) {
            QCOMPARE(statusOf(gateway.port(), "/limited", {{"X-API-Key", m_aliceKey}}), 200);
        }
        const auto limited = call(gateway.port(), "/limited", {{"X-API-Key", m_aliceKey}});
        QVERIFY(limited);
        QCOMPARE(limited->status, 429);
        QCOMPARE(statusOf(gateway.port(), "/limited", {{"X-API-Key", m_bobKey}}), 200);
        // Refused credentials are answered before the limit and take no token.
        QCOMPARE(statusOf(gateway.port(), "/limited", {{"X-API-Key", "guess"}}), 401);
        QCOMPARE(statusOf(gateway.port(), "/limited", {{"X-API-Key", m_bobKey}}), 200);
        QCOMPARE(statusOf(gateway.port(), "/limited", {{"X-API-Key", m_bobKey}}), 429);
        // Without auth on the route there is no consumer: the client address is the key.
        QCOMPARE(statusOf(gateway.port(), "/open"), 200);
        QCOMPARE(statusOf(gateway.port(), "/open", {{"X-API-Key", m_bobKey}}), 429);
    }

    void reloadsAddAndRemoveAuthLive() {
        FakeBackend backend("b");
        const std::string open = "  - name: late\n    match: {path_prefix: /late}\n    pool: p\n";
        TestGateway gateway(yaml(backend, open));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        QCOMPARE(statusOf(gateway.port(), "/late"), 200);
        QCOMPARE(gateway.apply(yaml(backend, open + "    auth: {api_key: {}}\n")), std::string());
        QCOMPARE(statusOf(gateway.port(), "/late"), 401);
        QCOMPARE(statusOf(gateway.port(), "/late", {{"X-API-Key", m_bobKey}}), 200);
        QCOMPARE(gateway.apply(yaml(backend, open)), std::string());
        QCOMPARE(statusOf(gateway.port(), "/late"), 200);
    }

    // ---------------------------------------------------------------- config
    void badAuthConfigIsNamedWithFileAndLine() {
        FakeBackend backend("b");
        const std::string text =
            "listeners: [{address: \"127.0.0.1:0\"}]\n"
            "consumers:\n"
            "  - name: alice\n"
            "    api_keys: [\"" +
            m_aliceKey +
            "\"]\n"                                                                     // line 4
            "    basic_auth: {username: alice, password: \"pbkdf2-sha256$10$00$00\"}\n" // line 5
            "routes:\n"
            "  - name: r\n"
            "    match: {path_prefix: /}\n"
            "    pool: p\n"
            "    auth:\n"
            "      jwt: {keys: [{pem_file: /x.pem, alg: HS256}]}\n" // line 11
            "      identity_headers: {Host: sub}\n"                 // line 12
            "      tokens: true\n"                                  // line 13
            "pools:\n  - name: p\n    instances: [{id: a, address: \"" +
            backend.address() + "\"}]\n";
        const auto result = gaetwae::engine::config::loadConfigText(text, "gw.yaml");
        QVERIFY(!result.ok());
        const std::string errors = result.errorText();
        auto has = [&](const std::string& fragment) { return errors.find(fragment) != std::string::npos; };
        QVERIFY2(has("gw.yaml:13:") && has("unknown field 'tokens'"), errors.c_str());

        const auto fixedKeys = text.substr(0, text.find("      tokens")) + text.substr(text.find("pools:"));
        const auto second = gaetwae::engine::config::loadConfigText(fixedKeys, "gw.yaml");
        const std::string more = second.errorText();
        auto has2 = [&](const std::string& fragment) { return more.find(fragment) != std::string::npos; };
        QVERIFY2(has2("gw.yaml:4:") && has2("consumers[0].api_keys[0]") && has2("sha256:"), more.c_str());
        QVERIFY2(has2("gw.yaml:5:") && has2("consumers[0].basic_auth.password"), more.c_str());
        QVERIFY2(has2("gw.yaml:11:") && has2("routes[0].auth.jwt.keys[0].alg"), more.c_str());
        QVERIFY2(has2("gw.yaml:12:") && has2("'Host' is managed by the gateway"), more.c_str());

        // A key file that cannot be read is named by the engine when it builds the snapshot.
        const std::string missing = path("missing.pem");
        TestGateway gateway(fmt::format("listeners: [{{address: \"127.0.0.1:0\"}}]\n"
                                        "routes:\n"
                                        "  - name: r\n"
                                        "    match: {{path_prefix: /}}\n"
                                        "    pool: p\n"
                                        "    auth:\n"
                                        "      jwt:\n"
                                        "        keys:\n"
                                        "          - {{pem_file: \"{}\", alg: RS256}}\n" // line 9
                                        "pools:\n  - name: p\n    instances: [{{id: a, address: \"{}\"}}]\n",
                                        missing, backend.address()));
        QVERIFY(!gateway.ok());
        QVERIFY2(gateway.error().find("test.yaml:9:") != std::string::npos &&
                     gateway.error().find("routes[0].auth.jwt.keys[0].pem_file") != std::string::npos &&
                     gateway.error().find("cannot read") != std::string::npos,
                 gateway.error().c_str());
    }

    void authConfigRoundTripsThroughTheAdminJson() {
        // The admin API and the console carry routes and consumers as this JSON.
        FakeBackend backend("b");
        const auto loaded = gaetwae::engine::config::loadConfigText(yaml(backend), "test.yaml");
        QVERIFY2(loaded.ok(), loaded.errorText().c_str());
        const auto& config = loaded.loaded->config;
        gaetwae::model::Diagnostics diagnostics;
        const auto decoded =
            gaetwae::model::decodeGatewayConfig(gaetwae::model::encodeGatewayConfig(config), diagnostics);
        QVERIFY(diagnostics.empty());
        QVERIFY(decoded == config);
        QCOMPARE(decoded.consumers.size(), std::size_t(2));
        QVERIFY(decoded.routes.front().auth && decoded.routes.front().auth->jwt);
        QCOMPARE(decoded.routes.front().auth->jwt->audiences, (std::vector<std::string>{"api", "other"}));
    }

    void theExampleConfigsJwtBlockIsValid() {
        // example.yaml shows jwt commented out ("#| ") because --check reads its key files.
        std::ifstream in(std::string(GAETWAE_SOURCE_DIR) + "/resources/config/example.yaml");
        std::stringstream text;
        text << in.rdbuf();
        std::string yaml = text.str();
        std::size_t uncommented = 0;
        for (auto at = yaml.find("#| "); at != std::string::npos; at = yaml.find("#| ", at)) {
            yaml.erase(at, 3);
            ++uncommented;
        }
        QVERIFY(uncommented > 10);
        const auto result = gaetwae::engine::config::loadConfigText(yaml, "example.yaml");
        QVERIFY2(result.ok(), result.errorText().c_str());
        const auto& auth = result.loaded->config.routes.front().auth;
        QVERIFY(auth && auth->jwt && auth->apiKey && auth->basic);
        QCOMPARE(auth->jwt->keys.size(), std::size_t(3));
        QCOMPARE(auth->jwt->requiredClaims.size(), std::size_t(2));
        QCOMPARE(result.loaded->config.consumers.size(), std::size_t(1));
    }

    void verifiedCredentialsCacheIsBounded() {
        gaetwae::engine::policy::CredentialCache cache;
        const auto capacity = gaetwae::engine::policy::CredentialCache::kCapacity;
        for (std::size_t i = 0; i < capacity; ++i) {
            cache.insert("k" + std::to_string(i));
        }
        QVERIFY(cache.contains("k0") && cache.contains("k" + std::to_string(capacity - 1)));
        cache.insert("one more"); // full: starts over rather than grow
        QVERIFY(cache.contains("one more"));
        QVERIFY(!cache.contains("k0"));
    }

    void jwksDocumentsKeepOnlyUsableSigningKeys() {
        std::string error;
        auto encryption = jwkOf(m_rsa, "enc", true);
        encryption["use"] = "enc";
        nlohmann::json symmetric;
        symmetric["kty"] = "oct";
        symmetric["k"] = base64Url(m_secret);
        auto mislabelled = jwkOf(m_ec, "ps", false);
        mislabelled["alg"] = "ES384";
        const auto keys = gaetwae::engine::policy::parseJwks(
            jwks({encryption, symmetric, mislabelled, jwkOf(m_ec, "e1", false)}), error);
        QVERIFY2(keys, error.c_str());
        QCOMPARE(keys->size(), std::size_t(1));
        QCOMPARE(keys->front().kid, std::string("e1"));
        QVERIFY(keys->front().alg == gaetwae::model::JwtAlgorithm::ES256);
        QVERIFY(!gaetwae::engine::policy::parseJwks(jwks({encryption, symmetric}), error));
        QVERIFY(!gaetwae::engine::policy::parseJwks("[]", error));
        auto broken = jwkOf(m_ec, "bad", false);
        broken["x"] = base64Url("short");
        QVERIFY(!gaetwae::engine::policy::parseJwks(jwks({broken}), error));
        QVERIFY2(error.find("bad") != std::string::npos, error.c_str());
    }

    // ---------------------------------------------------------------- operators' tool
    void hashSecretPrintsWhatTheConfigNeeds() {
        auto run = [](const QStringList& args, const QByteArray& input) {
            QProcess process;
            process.start(QString::fromUtf8(GAETWAED_BINARY),
                          QStringList{QStringLiteral("hash-secret")} + args);
            process.write(input);
            process.closeWriteChannel();
            const bool finished = process.waitForFinished(30000);
            return std::make_pair(finished && process.exitCode() == 0,
                                  process.readAllStandardOutput().trimmed().toStdString());
        };
        const auto [apiOk, apiHash] = run({QStringLiteral("--api-key")}, "my-key\n");
        QVERIFY(apiOk);
        QCOMPARE(apiHash, "sha256:" + sha256Hex("my-key"));

        const auto [pwOk, pwHash] =
            run({QStringLiteral("--password"), QStringLiteral("--iterations"), QStringLiteral("2000")},
                "s3cret\n");
        QVERIFY(pwOk);
        const auto parts = QString::fromStdString(pwHash).split(QLatin1Char('$'));
        QCOMPARE(parts.size(), qsizetype(4));
        QCOMPARE(parts[0], QStringLiteral("pbkdf2-sha256"));
        QCOMPARE(parts[1], QStringLiteral("2000"));
        const auto salt = QByteArray::fromHex(parts[2].toLatin1()).toStdString();
        QVERIFY(salt.size() >= 8);
        QCOMPARE(pwHash, pbkdf2Hash("s3cret", salt, 2000));

        const auto [newOk, lines] = run({QStringLiteral("--new-api-key")}, {});
        QVERIFY(newOk);
        const auto pair = QString::fromStdString(lines).split(QLatin1Char('\n'));
        QCOMPARE(pair.size(), qsizetype(2));
        QVERIFY(pair[0].size() >= 40);
        QCOMPARE(pair[1].toStdString(), "sha256:" + sha256Hex(pair[0].toStdString()));
        QVERIFY(!run({QStringLiteral("--bogus")}, {}).first);
    }
};

QTEST_GUILESS_MAIN(TestAuth)
#include "tst_auth.moc"
