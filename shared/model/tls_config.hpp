#pragma once

#include "shared/model/diagnostics.hpp"
#include "shared/model/json_reader.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// TLS settings of listeners (termination, SNI, mTLS) and of pools (TLS to the instances). Plain
// values decoded and encoded here, so the YAML file, the admin API and the console agree; the
// engine turns them into OpenSSL contexts (engine/net/tls_context.hpp), which is where files
// are read and a missing or mismatched certificate is reported.
namespace gaetwae::model {

enum class TlsVersion { Tls12, Tls13 };
inline constexpr std::array<std::pair<std::string_view, TlsVersion>, 2> kTlsVersionNames{{
    {"1.2", TlsVersion::Tls12},
    {"1.3", TlsVersion::Tls13},
}};

enum class ClientAuth { None, Optional, Required };
inline constexpr std::array<std::pair<std::string_view, ClientAuth>, 3> kClientAuthNames{{
    {"none", ClientAuth::None},
    {"optional", ClientAuth::Optional},
    {"required", ClientAuth::Required},
}};

// TLS 1.2 cipher suites when `ciphers` is empty: forward secrecy and AEAD only (TLS 1.3 suites
// are OpenSSL's defaults, all of which are safe).
inline constexpr std::string_view kDefaultTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

struct TlsCertificateConfig {
    std::string cert; // PEM file: the leaf first, then its chain
    std::string key;  // PEM private key file matching `cert`

    bool operator==(const TlsCertificateConfig&) const = default;
};

// listeners[].tls. No certificates: the listener speaks plain HTTP.
struct ListenerTlsConfig {
    // SNI picks the certificate whose names (SAN DNS entries, else the CN; "*.example.com"
    // covers one label) match; the first serves clients without SNI or with an unknown name.
    std::vector<TlsCertificateConfig> certificates;
    bool rejectUnknownSni = false; // refuse the handshake for a name no certificate matches
    TlsVersion minVersion = TlsVersion::Tls12;
    std::string ciphers;           // TLS 1.2 cipher list (OpenSSL syntax); empty: kDefaultTls12Ciphers
    std::vector<std::string> alpn{"http/1.1"};
    std::string clientCa;          // PEM CA bundle client certificates must chain to
    ClientAuth clientAuth = ClientAuth::None;
    // The verified client certificate's subject (RFC 2253) goes upstream in this header; copies
    // sent by the client are removed. Empty: not passed on.
    std::string clientSubjectHeader = "X-Client-Cert-Subject";

    bool enabled() const { return !certificates.empty(); }
    bool operator==(const ListenerTlsConfig&) const = default;
};

// pools[].tls: TLS from the gateway to the pool's instances.
struct PoolTlsConfig {
    bool enabled = false;
    bool verify = true;      // check the instance's certificate chain and name
    std::string caFile;      // PEM CA bundle; empty: the system trust store
    std::string serverName;  // SNI and the name verified; empty: each instance's host
    std::string cert;        // client certificate for mTLS to the instances (with `key`)
    std::string key;

    bool operator==(const PoolTlsConfig&) const = default;
};

void decodeListenerTls(ObjectReader& r, ListenerTlsConfig& tls);
nlohmann::json encodeListenerTls(const ListenerTlsConfig& tls);
void decodePoolTls(ObjectReader& r, PoolTlsConfig& tls);
nlohmann::json encodePoolTls(const PoolTlsConfig& tls);

// Rules that need no file access; `pointer` is the tls object's JSON pointer.
void validateListenerTls(const ListenerTlsConfig& tls, const std::string& pointer, Diagnostics& d);
void validatePoolTls(const PoolTlsConfig& tls, const std::string& pointer, Diagnostics& d);

std::string_view toString(TlsVersion version);
std::string_view toString(ClientAuth auth);

} // namespace gaetwae::model
