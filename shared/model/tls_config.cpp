#include "shared/model/tls_config.hpp"

#include "shared/model/http_token.hpp"

namespace gaetwae::model {

namespace {

template <class Enum, std::size_t N>
std::string_view nameIn(Enum value, const std::array<std::pair<std::string_view, Enum>, N>& names) {
    for (const auto& [name, v] : names) {
        if (v == value) {
            return name;
        }
    }
    return {};
}

} // namespace

std::string_view toString(TlsVersion version) {
    return nameIn(version, kTlsVersionNames);
}

std::string_view toString(ClientAuth auth) {
    return nameIn(auth, kClientAuthNames);
}

void decodeListenerTls(ObjectReader& r, ListenerTlsConfig& tls) {
    r.readList("certificates", tls.certificates, [&](const nlohmann::json& item, const std::string& pointer) {
        TlsCertificateConfig certificate;
        ObjectReader c(item, pointer, r.diagnostics());
        if (c.valid()) {
            c.readString("cert", certificate.cert, true);
            c.readString("key", certificate.key, true);
        }
        c.finish();
        return certificate;
    });
    r.readBool("reject_unknown_sni", tls.rejectUnknownSni);
    r.readEnum<TlsVersion>("min_version", tls.minVersion, kTlsVersionNames);
    r.readString("ciphers", tls.ciphers);
    r.readStringList("alpn", tls.alpn);
    r.readString("client_ca", tls.clientCa);
    r.readEnum<ClientAuth>("client_auth", tls.clientAuth, kClientAuthNames);
    r.readString("client_subject_header", tls.clientSubjectHeader);
    if (tls.certificates.empty()) {
        r.diagnostics().error(r.pointerOf("certificates"), "a TLS listener needs at least one certificate");
    }
}

nlohmann::json encodeListenerTls(const ListenerTlsConfig& tls) {
    nlohmann::json certificates = nlohmann::json::array();
    for (const auto& certificate : tls.certificates) {
        certificates.push_back({{"cert", certificate.cert}, {"key", certificate.key}});
    }
    nlohmann::json out = {{"certificates", certificates},
                          {"reject_unknown_sni", tls.rejectUnknownSni},
                          {"min_version", toString(tls.minVersion)},
                          {"alpn", tls.alpn},
                          {"client_auth", toString(tls.clientAuth)},
                          {"client_subject_header", tls.clientSubjectHeader}};
    if (!tls.ciphers.empty()) {
        out["ciphers"] = tls.ciphers;
    }
    if (!tls.clientCa.empty()) {
        out["client_ca"] = tls.clientCa;
    }
    return out;
}

void decodePoolTls(ObjectReader& r, PoolTlsConfig& tls) {
    // A tls block switches TLS on unless it says otherwise.
    tls.enabled = true;
    r.readBool("enabled", tls.enabled);
    r.readBool("verify", tls.verify);
    r.readString("ca_file", tls.caFile);
    r.readString("server_name", tls.serverName);
    r.readString("cert", tls.cert);
    r.readString("key", tls.key);
}

nlohmann::json encodePoolTls(const PoolTlsConfig& tls) {
    nlohmann::json out = {{"enabled", tls.enabled}, {"verify", tls.verify}};
    if (!tls.caFile.empty()) {
        out["ca_file"] = tls.caFile;
    }
    if (!tls.serverName.empty()) {
        out["server_name"] = tls.serverName;
    }
    if (!tls.cert.empty()) {
        out["cert"] = tls.cert;
        out["key"] = tls.key;
    }
    return out;
}

void validateListenerTls(const ListenerTlsConfig& tls, const std::string& pointer, Diagnostics& d) {
    for (std::size_t i = 0; i < tls.alpn.size(); ++i) {
        if (tls.alpn[i] != "http/1.1") {
            d.error(childPointer(childPointer(pointer, "alpn"), i),
                    "unsupported protocol '" + tls.alpn[i] + "': the gateway speaks http/1.1");
        }
    }
    if (tls.clientAuth != ClientAuth::None && tls.clientCa.empty()) {
        d.error(childPointer(pointer, "client_ca"),
                "client_auth " + std::string(toString(tls.clientAuth)) + " needs client_ca (the CA client certificates chain to)");
    }
    if (!tls.clientSubjectHeader.empty() && !isToken(tls.clientSubjectHeader)) {
        d.error(childPointer(pointer, "client_subject_header"),
                "'" + tls.clientSubjectHeader + "' is not a valid header name");
    }
}

void validatePoolTls(const PoolTlsConfig& tls, const std::string& pointer, Diagnostics& d) {
    if (tls.cert.empty() != tls.key.empty()) {
        d.error(childPointer(pointer, tls.cert.empty() ? "cert" : "key"),
                "a client certificate needs both cert and key");
    }
    if (!tls.verify && !tls.caFile.empty()) {
        d.error(childPointer(pointer, "ca_file"), "ca_file has no effect with verify: false");
    }
}

} // namespace gaetwae::model
