#include "engine/net/tls_context.hpp"

#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>

namespace gaetwae::engine::net {

namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

// The reason of OpenSSL's most recent error (the queue is cleared), for messages.
std::string lastOpenSslError() {
    unsigned long code = 0;
    unsigned long last = 0;
    while ((code = ERR_get_error()) != 0) {
        last = code;
    }
    if (last == 0) {
        return "unknown OpenSSL error";
    }
    const char* reason = ERR_reason_error_string(last);
    return reason != nullptr ? reason : "OpenSSL error " + std::to_string(last);
}

// A file OpenSSL is about to read: a clear "cannot read" beats OpenSSL's "system lib".
bool readable(const std::string& file, const std::string& pointer, model::Diagnostics& diagnostics) {
    std::ifstream in(file);
    if (!in) {
        diagnostics.error(pointer, "cannot read " + file + ": " + std::strerror(errno));
        return false;
    }
    return true;
}

bool loadCertificateAndKey(asio::ssl::context& context, const std::string& cert, const std::string& key,
                           const std::string& certPointer, const std::string& keyPointer,
                           model::Diagnostics& diagnostics) {
    if (!readable(cert, certPointer, diagnostics) || !readable(key, keyPointer, diagnostics)) {
        return false;
    }
    SSL_CTX* ctx = context.native_handle();
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
        diagnostics.error(certPointer, "cannot load the certificate " + cert + ": " + lastOpenSslError());
        return false;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
            ERR_clear_error();
            diagnostics.error(keyPointer, "the private key " + key + " does not match the certificate " + cert);
        } else {
            diagnostics.error(keyPointer, "cannot load the private key " + key + ": " + lastOpenSslError());
        }
        return false;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        diagnostics.error(keyPointer, "the private key " + key + " does not match the certificate " + cert);
        ERR_clear_error();
        return false;
    }
    return true;
}

// SAN DNS names of the certificate, else its common name; lower case.
std::vector<std::string> certificateNames(X509* certificate) {
    std::vector<std::string> names;
    auto* alternatives =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
    if (alternatives != nullptr) {
        for (int i = 0; i < sk_GENERAL_NAME_num(alternatives); ++i) {
            const GENERAL_NAME* name = sk_GENERAL_NAME_value(alternatives, i);
            if (name->type == GEN_DNS) {
                const ASN1_STRING* dns = name->d.dNSName;
                names.push_back(lower(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                                       static_cast<std::size_t>(ASN1_STRING_length(dns)))));
            }
        }
        GENERAL_NAMES_free(alternatives);
    }
    if (names.empty()) {
        std::array<char, 256> cn{};
        const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName, cn.data(),
                                                static_cast<int>(cn.size()));
        if (n > 0) {
            names.push_back(lower(std::string_view(cn.data(), static_cast<std::size_t>(n))));
        }
    }
    return names;
}

// "*.example.com" matches exactly one label ("a.example.com", not "a.b.example.com").
bool nameMatches(std::string_view pattern, std::string_view host) {
    if (pattern.starts_with("*.")) {
        const auto dot = host.find('.');
        return dot != std::string_view::npos && dot > 0 && host.substr(dot) == pattern.substr(1);
    }
    return pattern == host;
}

int selectAlpn(SSL*, const unsigned char** out, unsigned char* outLength, const unsigned char* in,
               unsigned int inLength, void*) {
    static constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, outLength, kHttp11, sizeof(kHttp11), in, inLength) ==
        OPENSSL_NPN_NEGOTIATED) {
        *out = selected;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK; // no common protocol: carry on without ALPN rather than fail
}

// Our own ex_data slots: Asio keeps its verify callback in the app_data slots and deletes
// whatever it finds there.
int contextSlot() {
    static const int slot = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return slot;
}
int connectionSlot() {
    static const int slot = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return slot;
}

int minVersionOf(model::TlsVersion version) {
    return version == model::TlsVersion::Tls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

// Modification time and size of each file: a changed stamp means the files were replaced.
std::string fileStamp(std::initializer_list<const std::string*> files) {
    std::string stamp;
    for (const std::string* file : files) {
        if (file->empty()) {
            continue;
        }
        std::error_code ec;
        const auto time = std::filesystem::last_write_time(*file, ec);
        const auto size = std::filesystem::file_size(*file, ec);
        stamp += *file + '@' + std::to_string(time.time_since_epoch().count()) + '#' + std::to_string(size) + ';';
    }
    return stamp;
}

} // namespace

// ---------------------------------------------------------------------------- server

std::shared_ptr<TlsServerContext> TlsServerContext::create(const model::ListenerTlsConfig& config,
                                                           const std::string& pointer,
                                                           std::shared_ptr<TlsFailureCounters> failures,
                                                           model::Diagnostics& diagnostics) {
    std::shared_ptr<TlsServerContext> self(new TlsServerContext());
    self->m_rejectUnknownSni = config.rejectUnknownSni;
    self->m_verifiesClients = config.clientAuth != model::ClientAuth::None;
    self->m_subjectHeader = self->m_verifiesClients ? config.clientSubjectHeader : std::string();
    self->m_failures = std::move(failures);
    const std::string ciphers = config.ciphers.empty() ? std::string(model::kDefaultTls12Ciphers) : config.ciphers;
    bool ok = true;
    for (std::size_t i = 0; i < config.certificates.size(); ++i) {
        const auto& certificate = config.certificates[i];
        const std::string itemPointer = pointer + "/certificates/" + std::to_string(i);
        auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
        SSL_CTX* ctx = context->native_handle();
        SSL_CTX_set_min_proto_version(ctx, minVersionOf(config.minVersion));
        SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
        SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS); // idle keep-alive connections hold no record buffers
        if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) {
            diagnostics.error(pointer + "/ciphers", "no usable cipher in '" + ciphers + "'");
            ERR_clear_error();
            return nullptr;
        }
        // Sessions resume across the SNI contexts and with client certificates.
        static constexpr unsigned char kSessionContext[] = "gaetwae";
        SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
        if (!loadCertificateAndKey(*context, certificate.cert, certificate.key, itemPointer + "/cert",
                                   itemPointer + "/key", diagnostics)) {
            ok = false;
            continue;
        }
        if (self->m_verifiesClients) {
            if (!readable(config.clientCa, pointer + "/client_ca", diagnostics)) {
                return nullptr;
            }
            STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.clientCa.c_str());
            if (SSL_CTX_load_verify_locations(ctx, config.clientCa.c_str(), nullptr) != 1 || names == nullptr) {
                diagnostics.error(pointer + "/client_ca",
                                  "cannot load the client CA " + config.clientCa + ": " + lastOpenSslError());
                return nullptr;
            }
            SSL_CTX_set_client_CA_list(ctx, names);
            SSL_CTX_set_verify(ctx,
                               config.clientAuth == model::ClientAuth::Required
                                   ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                   : SSL_VERIFY_PEER,
                               nullptr);
        }
        if (!config.alpn.empty()) {
            SSL_CTX_set_alpn_select_cb(ctx, selectAlpn, nullptr);
        }
        SSL_CTX_set_tlsext_servername_callback(ctx, onServerName);
        SSL_CTX_set_tlsext_servername_arg(ctx, self.get());
        Entry entry;
        entry.names = certificateNames(SSL_CTX_get0_certificate(ctx));
        entry.context = std::move(context);
        self->m_entries.push_back(std::move(entry));
    }
    if (!ok || self->m_entries.empty()) {
        return nullptr;
    }
    return self;
}

TlsServerContext::~TlsServerContext() = default;

int TlsServerContext::onServerName(SSL* ssl, int* alert, void* arg) {
    const auto* self = static_cast<const TlsServerContext*>(arg);
    const char* requested = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (requested == nullptr) {
        return SSL_TLSEXT_ERR_OK; // no SNI: the default certificate
    }
    const std::string host = lower(requested);
    for (const auto& entry : self->m_entries) {
        for (const auto& name : entry.names) {
            if (nameMatches(name, host)) {
                if (entry.context.get() != self->m_entries.front().context.get()) {
                    SSL_set_SSL_CTX(ssl, entry.context->native_handle());
                }
                return SSL_TLSEXT_ERR_OK;
            }
        }
    }
    if (self->m_rejectUnknownSni) {
        *alert = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    return SSL_TLSEXT_ERR_OK;
}

TlsFailure TlsServerContext::classify(const error_code& ec, bool timedOut) {
    if (timedOut) {
        return TlsFailure::Timeout;
    }
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated || ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted) {
        return TlsFailure::Closed;
    }
    if (ec.category() != asio::error::get_ssl_category()) {
        return TlsFailure::Other;
    }
    switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_CIPHERS_AVAILABLE:
        return TlsFailure::Protocol;
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
        return TlsFailure::ClientCertificate;
    case SSL_R_CALLBACK_FAILED:
    case SSL_R_CLIENTHELLO_TLSEXT:
        return TlsFailure::UnknownServerName;
    default:
        return TlsFailure::Other;
    }
}

std::string TlsServerContext::verifiedPeerSubject(SSL* ssl) {
    X509* peer = SSL_get0_peer_certificate(ssl);
    if (peer == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) {
        return {};
    }
    BIO* bio = BIO_new(BIO_s_mem());
    if (bio == nullptr) {
        return {};
    }
    // RFC 2253 escapes control characters, so the value is safe in a header line.
    X509_NAME_print_ex(bio, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio, &data);
    std::string subject(data, static_cast<std::size_t>(std::max(0L, length)));
    BIO_free(bio);
    return subject;
}

// ---------------------------------------------------------------------------- client

std::shared_ptr<TlsClientContext> TlsClientContext::create(const model::PoolTlsConfig& config,
                                                           const std::string& pointer,
                                                           model::Diagnostics& diagnostics) {
    std::shared_ptr<TlsClientContext> self(new TlsClientContext());
    self->m_config = config;
    self->m_context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    SSL_CTX* ctx = self->m_context->native_handle();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    if (config.verify) {
        ERR_clear_error();
        if (config.caFile.empty()) {
            SSL_CTX_set_default_verify_paths(ctx);
        } else if (!readable(config.caFile, pointer + "/ca_file", diagnostics)) {
            return nullptr;
        } else if (SSL_CTX_load_verify_locations(ctx, config.caFile.c_str(), nullptr) != 1) {
            diagnostics.error(pointer + "/ca_file", "cannot load the CA file " + config.caFile + ": " + lastOpenSslError());
            return nullptr;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    }
    if (!config.cert.empty() &&
        !loadCertificateAndKey(*self->m_context, config.cert, config.key, pointer + "/cert", pointer + "/key",
                               diagnostics)) {
        return nullptr;
    }
    // Resumption: OpenSSL hands every new session (TLS 1.3 tickets arrive after the handshake)
    // to onNewSession, which keeps the latest per endpoint for the next connection.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, onNewSession);
    SSL_CTX_set_ex_data(ctx, contextSlot(), self.get());
    return self;
}

TlsClientContext::~TlsClientContext() {
    for (auto& [endpoint, session] : m_sessions) {
        SSL_SESSION_free(session);
    }
}

void TlsClientContext::prepare(SSL* ssl, const std::string& name, const tcp::endpoint& endpoint) {
    error_code ec;
    const bool isAddress = (asio::ip::make_address(name, ec), !ec);
    if (!isAddress) {
        SSL_set_tlsext_host_name(ssl, name.c_str());
    }
    if (m_config.verify) {
        if (isAddress) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
        } else {
            SSL_set1_host(ssl, name.c_str());
        }
    }
    SSL_set_ex_data(ssl, connectionSlot(), const_cast<tcp::endpoint*>(&endpoint));
    std::lock_guard lock(m_mutex);
    if (const auto it = m_sessions.find(endpoint); it != m_sessions.end()) {
        SSL_set_session(ssl, it->second);
    }
}

int TlsClientContext::onNewSession(SSL* ssl, SSL_SESSION* session) {
    auto* self = static_cast<TlsClientContext*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), contextSlot()));
    const auto* endpoint = static_cast<const tcp::endpoint*>(SSL_get_ex_data(ssl, connectionSlot()));
    if (self == nullptr || endpoint == nullptr) {
        return 0;
    }
    // A copy: OpenSSL marks the connection's own session unresumable when the connection ends
    // without close_notify, which is how pooled upstream connections usually end.
    SSL_SESSION* copy = SSL_SESSION_dup(session);
    if (copy == nullptr) {
        return 0;
    }
    std::lock_guard lock(self->m_mutex);
    SSL_SESSION*& slot = self->m_sessions[*endpoint];
    if (slot != nullptr) {
        SSL_SESSION_free(slot);
    }
    slot = copy;
    return 0; // OpenSSL keeps its reference to `session`
}

std::string TlsClientContext::describeFailure(SSL* ssl, const error_code& ec) {
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
        return std::string("TLS handshake with the upstream failed: certificate verify failed: ") +
               X509_verify_cert_error_string(verify);
    }
    return "TLS handshake with the upstream failed: " + ec.message();
}

std::shared_ptr<TlsClientContext> TlsClientCache::obtain(const std::string& pool, const model::PoolTlsConfig& config,
                                                         const std::string& pointer,
                                                         model::Diagnostics& diagnostics) {
    const std::string stamp = fileStamp({&config.caFile, &config.cert, &config.key});
    const auto it = m_cache.find(pool);
    if (it != m_cache.end() && it->second.config == config && it->second.stamp == stamp) {
        return it->second.context;
    }
    auto context = TlsClientContext::create(config, pointer, diagnostics);
    if (context) {
        m_cache[pool] = Cached{config, stamp, context};
    }
    return context;
}

} // namespace gaetwae::engine::net
