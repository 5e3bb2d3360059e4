#pragma once

#include "engine/net/asio.hpp"
#include "shared/model/diagnostics.hpp"
#include "shared/model/tls_config.hpp"

#include <boost/asio/ssl/context.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace gaetwae::engine::net {

// Why a client's TLS handshake failed (proxy_tls_handshake_failures_total{reason}).
enum class TlsFailure : std::uint8_t {
    Timeout,           // not completed within timeouts.client_header
    Protocol,          // no common version or cipher (TLS 1.1 and older land here)
    ClientCertificate, // mTLS: missing or unverifiable client certificate
    UnknownServerName, // SNI names no certificate and reject_unknown_sni is on
    Closed,            // the client went away mid-handshake
    Other,             // not TLS at all, bad records ...
};
inline constexpr std::array<std::string_view, 6> kTlsFailureNames{
    "timeout", "protocol", "client_certificate", "unknown_server_name", "closed", "other"};

// Handshake failures of one listener since start; kept across reloads (a counter never resets).
struct TlsFailureCounters {
    std::array<std::atomic<std::uint64_t>, kTlsFailureNames.size()> counts{};
    void add(TlsFailure failure) { counts[static_cast<std::size_t>(failure)].fetch_add(1, std::memory_order_relaxed); }
};

// The server side of one TLS listener: one OpenSSL context per certificate, chosen by SNI during
// the handshake. Immutable once built; a reload builds a new one, while connections already
// established keep theirs (each session holds a shared_ptr).
class TlsServerContext {
public:
    // Loads the certificates, keys and client CA named in `config`. On any problem returns nullptr
    // and reports it under `pointer` (the listener's tls object) naming the file.
    static std::shared_ptr<TlsServerContext> create(const model::ListenerTlsConfig& config, const std::string& pointer,
                                                    std::shared_ptr<TlsFailureCounters> failures,
                                                    model::Diagnostics& diagnostics);
    ~TlsServerContext();
    TlsServerContext(const TlsServerContext&) = delete;
    TlsServerContext& operator=(const TlsServerContext&) = delete;

    // The context new connections start with (the first certificate's); SNI may switch it.
    asio::ssl::context& context() { return *m_entries.front().context; }
    // Header carrying the verified client certificate's subject upstream; empty: none.
    std::string_view subjectHeader() const { return m_subjectHeader; }
    bool verifiesClients() const { return m_verifiesClients; }
    TlsFailureCounters& failures() { return *m_failures; }

    // Why a handshake ended with `ec` (`timedOut`: the session's deadline cancelled it).
    static TlsFailure classify(const error_code& ec, bool timedOut);
    // The subject (RFC 2253) of the client certificate that verified, or empty.
    static std::string verifiedPeerSubject(SSL* ssl);

private:
    TlsServerContext() = default;
    static int onServerName(SSL* ssl, int* alert, void* arg);

    struct Entry {
        std::unique_ptr<asio::ssl::context> context;
        std::vector<std::string> names; // lower case; "*.example.com" for wildcards
    };
    std::vector<Entry> m_entries;
    bool m_rejectUnknownSni = false;
    bool m_verifiesClients = false;
    std::string m_subjectHeader;
    std::shared_ptr<TlsFailureCounters> m_failures;
};

// The client side of a pool's TLS: trust store, optional client certificate, and one resumable
// session per instance endpoint. Shared by every worker (the session map locks; it is touched
// only when a connection is opened).
class TlsClientContext {
public:
    static std::shared_ptr<TlsClientContext> create(const model::PoolTlsConfig& config, const std::string& pointer,
                                                    model::Diagnostics& diagnostics);
    ~TlsClientContext();
    TlsClientContext(const TlsClientContext&) = delete;
    TlsClientContext& operator=(const TlsClientContext&) = delete;

    asio::ssl::context& context() { return *m_context; }
    // Before the handshake of a new connection to `endpoint`: `name` as SNI (unless it is an IP
    // address) and as the name to verify, and a session to resume. `endpoint` must outlive `ssl`.
    void prepare(SSL* ssl, const std::string& name, const tcp::endpoint& endpoint);
    // After a failed handshake: a sentence for the 502 body, e.g. "certificate verify failed:
    // self-signed certificate in certificate chain".
    static std::string describeFailure(SSL* ssl, const error_code& ec);

    const model::PoolTlsConfig& config() const { return m_config; }

private:
    TlsClientContext() = default;
    static int onNewSession(SSL* ssl, SSL_SESSION* session);

    model::PoolTlsConfig m_config;
    std::unique_ptr<asio::ssl::context> m_context;
    std::mutex m_mutex;
    std::map<tcp::endpoint, SSL_SESSION*> m_sessions;
};

// Keeps pool TLS contexts across snapshots while their settings and files are unchanged, so a
// route or instance change does not throw away pooled TLS connections and sessions. Not
// thread-safe: used while a snapshot is built, under the engine's lock.
class TlsClientCache {
public:
    std::shared_ptr<TlsClientContext> obtain(const std::string& pool, const model::PoolTlsConfig& config,
                                             const std::string& pointer, model::Diagnostics& diagnostics);

private:
    struct Cached {
        model::PoolTlsConfig config;
        std::string stamp; // modification times and sizes of the files
        std::shared_ptr<TlsClientContext> context;
    };
    std::map<std::string, Cached> m_cache;
};

} // namespace gaetwae::engine::net
