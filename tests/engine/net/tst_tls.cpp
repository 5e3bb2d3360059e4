// TLS end to end through real sockets: a test CA and leaf certificates are made here with the
// OpenSSL API (no fixed files), then clients speak TLS to the gateway (SNI, protocol versions,
// mTLS, reloads with established connections) and the gateway speaks TLS to a TLS backend
// (verification against the test CA, 502 for an untrusted one), plus the handshake deadline.
#include "tests/support/engine_process.hpp"
#include "tests/support/fake_backend.hpp"
#include "tests/support/test_client.hpp"
#include "tests/support/test_gateway.hpp"
#include "tests/support/ws_admin_client.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <QTemporaryDir>
#include <QtTest>

#include <arpa/inet.h>
#include <csignal>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

using namespace gaetwae::test;

namespace {

// ---------------------------------------------------------------- certificates

struct Identity {
    std::shared_ptr<EVP_PKEY> key;
    std::shared_ptr<X509> cert;
    std::string certFile;
    std::string keyFile;
};

void addExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
    QVERIFY(extension != nullptr);
    X509_add_ext(cert, extension, -1);
    X509_EXTENSION_free(extension);
}

void writeFile(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}

std::string pemOf(X509* cert) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return pem;
}

std::string pemOf(EVP_PKEY* key) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return pem;
}

// A P-256 key and a certificate for `commonName` with `dnsNames` as SANs, signed by `issuer`
// (self-signed when null), written to <dir>/<file>.crt and .key.
Identity issue(const QTemporaryDir& dir, const std::string& file, const std::string& commonName,
               const std::vector<std::string>& dnsNames, const Identity* issuer, bool isCa) {
    static long serial = 1;
    Identity id;
    id.key.reset(EVP_EC_gen("P-256"), EVP_PKEY_free);
    id.cert.reset(X509_new(), X509_free);
    X509* cert = id.cert.get();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, id.key.get());
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("gaetwae tests"), -1,
                               -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(commonName.c_str()),
                               -1, -1, 0);
    X509_set_issuer_name(cert, issuer != nullptr ? X509_get_subject_name(issuer->cert.get()) : name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer != nullptr ? issuer->cert.get() : cert, cert, nullptr, nullptr, 0);
    if (isCa) {
        addExtension(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE");
        addExtension(cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        addExtension(cert, &ctx, NID_basic_constraints, "CA:FALSE");
        addExtension(cert, &ctx, NID_key_usage, "critical,digitalSignature");
        addExtension(cert, &ctx, NID_ext_key_usage, "serverAuth,clientAuth");
    }
    std::string sans;
    for (const auto& dns : dnsNames) {
        sans += (sans.empty() ? "DNS:" : ",DNS:") + dns;
    }
    if (!sans.empty()) {
        addExtension(cert, &ctx, NID_subject_alt_name, sans);
    }
    X509_sign(cert, issuer != nullptr ? issuer->key.get() : id.key.get(), EVP_sha256());
    id.certFile = dir.filePath(QString::fromStdString(file + ".crt")).toStdString();
    id.keyFile = dir.filePath(QString::fromStdString(file + ".key")).toStdString();
    writeFile(id.certFile, pemOf(cert));
    writeFile(id.keyFile, pemOf(id.key.get()));
    return id;
}

std::string commonNameOf(X509* cert) {
    std::array<char, 256> cn{};
    const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn.data(),
                                            static_cast<int>(cn.size()));
    return n > 0 ? std::string(cn.data(), static_cast<std::size_t>(n)) : std::string();
}

int connectTo(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval timeout{10, 0}; // every blocking call has a deadline
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// ---------------------------------------------------------------- a blocking TLS client

struct ClientOptions {
    std::string sni;             // empty: no SNI
    int minVersion = 0;          // 0: OpenSSL's default
    int maxVersion = 0;
    const Identity* certificate = nullptr; // client certificate for mTLS
};

struct HttpReply {
    int status = 0;
    std::string head;
    std::string body;
};

class TlsClient {
public:
    TlsClient(std::uint16_t port, const ClientOptions& options) {
        m_ctx = SSL_CTX_new(TLS_client_method());
        if (options.maxVersion != 0 && options.maxVersion < TLS1_2_VERSION) {
            // OpenSSL 3 disables TLS 1.0/1.1 at the default security level; the point is to offer them.
            SSL_CTX_set_security_level(m_ctx, 0);
            SSL_CTX_set_cipher_list(m_ctx, "DEFAULT@SECLEVEL=0");
        }
        if (options.minVersion != 0) {
            SSL_CTX_set_min_proto_version(m_ctx, options.minVersion);
        }
        if (options.maxVersion != 0) {
            SSL_CTX_set_max_proto_version(m_ctx, options.maxVersion);
        }
        if (options.certificate != nullptr) {
            SSL_CTX_use_certificate(m_ctx, options.certificate->cert.get());
            SSL_CTX_use_PrivateKey(m_ctx, options.certificate->key.get());
        }
        m_fd = connectTo(port);
        if (m_fd < 0) {
            m_error = "connect failed";
            return;
        }
        m_ssl = SSL_new(m_ctx);
        SSL_set_fd(m_ssl, m_fd);
        if (!options.sni.empty()) {
            SSL_set_tlsext_host_name(m_ssl, options.sni.c_str());
        }
        if (SSL_connect(m_ssl) != 1) {
            m_error = "handshake failed: " + std::string(ERR_reason_error_string(ERR_peek_last_error()) != nullptr
                                                              ? ERR_reason_error_string(ERR_peek_last_error())
                                                              : "?");
            ERR_clear_error();
            return;
        }
        m_connected = true;
    }
    ~TlsClient() {
        if (m_ssl != nullptr) {
            SSL_free(m_ssl);
        }
        if (m_fd >= 0) {
            ::close(m_fd);
        }
        SSL_CTX_free(m_ctx);
    }
    TlsClient(const TlsClient&) = delete;
    TlsClient& operator=(const TlsClient&) = delete;

    bool connected() const { return m_connected; }
    const std::string& error() const { return m_error; }
    std::string version() const { return SSL_get_version(m_ssl); }
    std::string peerCommonName() const {
        X509* peer = SSL_get0_peer_certificate(m_ssl);
        return peer != nullptr ? commonNameOf(peer) : std::string();
    }

    // One keep-alive request; nullopt when the connection fails (e.g. the server refused the
    // client certificate after a TLS 1.3 handshake).
    std::optional<HttpReply> get(const std::string& path, const std::string& extraHeaders = {}) {
        if (!m_connected) {
            return std::nullopt;
        }
        const std::string request = "GET " + path + " HTTP/1.1\r\nHost: gw.test\r\n" + extraHeaders + "\r\n";
        if (SSL_write(m_ssl, request.data(), static_cast<int>(request.size())) <= 0) {
            m_error = "write failed";
            return std::nullopt;
        }
        std::string data;
        std::size_t headEnd = std::string::npos;
        std::size_t total = std::string::npos;
        std::array<char, 16 * 1024> buffer{};
        while (total == std::string::npos || data.size() < total) {
            const int n = SSL_read(m_ssl, buffer.data(), static_cast<int>(buffer.size()));
            if (n <= 0) {
                m_error = "read failed";
                ERR_clear_error();
                return std::nullopt;
            }
            data.append(buffer.data(), static_cast<std::size_t>(n));
            if (headEnd == std::string::npos && (headEnd = data.find("\r\n\r\n")) != std::string::npos) {
                std::size_t length = 0;
                const auto at = data.find("\r\nContent-Length: ");
                if (at != std::string::npos && at < headEnd) {
                    length = std::stoul(data.substr(at + 18));
                }
                total = headEnd + 4 + length;
            }
        }
        HttpReply reply;
        reply.status = std::stoi(data.substr(9, 3));
        reply.head = data.substr(0, headEnd);
        reply.body = data.substr(headEnd + 4);
        return reply;
    }

    // Raw bytes, for a tunnel after a 101.
    bool write(const std::string& data) {
        return m_connected && SSL_write(m_ssl, data.data(), static_cast<int>(data.size())) == static_cast<int>(data.size());
    }
    // Reads until `delimiter` has arrived and returns everything up to and including it; bytes
    // behind it stay for the next read. Empty when the connection ended or stalled first.
    std::string readUntil(const std::string& delimiter) {
        std::size_t at = 0;
        while ((at = m_pending.find(delimiter)) == std::string::npos) {
            if (!fill()) {
                return {};
            }
        }
        std::string out = m_pending.substr(0, at + delimiter.size());
        m_pending.erase(0, at + delimiter.size());
        return out;
    }
    std::string readExactly(std::size_t size) {
        while (m_pending.size() < size) {
            if (!fill()) {
                return {};
            }
        }
        std::string out = m_pending.substr(0, size);
        m_pending.erase(0, size);
        return out;
    }
    // Sends close_notify: this side has finished sending.
    void closeNotify() { SSL_shutdown(m_ssl); }
    // True when the next read finds the connection ended by the peer (a close_notify or the TCP
    // connection closed), false when data arrived or the read deadline (10 s) passed.
    bool readsEnd() {
        std::array<char, 4096> buffer{};
        const int n = SSL_read(m_ssl, buffer.data(), static_cast<int>(buffer.size()));
        if (n > 0) {
            return false;
        }
        const int error = SSL_get_error(m_ssl, n);
        const bool timedOut = error == SSL_ERROR_WANT_READ || (error == SSL_ERROR_SYSCALL && errno == EAGAIN);
        ERR_clear_error();
        return !timedOut;
    }

private:
    bool fill() {
        std::array<char, 16 * 1024> buffer{};
        const int n = SSL_read(m_ssl, buffer.data(), static_cast<int>(buffer.size()));
        if (n <= 0) {
            ERR_clear_error();
            return false;
        }
        m_pending.append(buffer.data(), static_cast<std::size_t>(n));
        return true;
    }

    SSL_CTX* m_ctx = nullptr;
    SSL* m_ssl = nullptr;
    int m_fd = -1;
    bool m_connected = false;
    std::string m_error;
    std::string m_pending; // read but not yet returned by readUntil/readExactly
};

// ---------------------------------------------------------------- a plain upgrade backend

// Accepts one connection on 127.0.0.1 (port 0), answers its request head with a 101 to
// WebSocket and then echoes every byte until the gateway ends its side; then it closes too.
class UpgradeEchoBackend {
public:
    UpgradeEchoBackend() {
        m_listen = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(m_listen, reinterpret_cast<sockaddr*>(&address), sizeof(address));
        ::listen(m_listen, 4);
        socklen_t length = sizeof(address);
        ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&address), &length);
        m_port = ntohs(address.sin_port);
        m_thread = std::thread([this] { serve(); });
    }
    ~UpgradeEchoBackend() {
        ::shutdown(m_listen, SHUT_RDWR); // wakes accept() if nobody came
        m_thread.join();
        ::close(m_listen);
    }
    std::string address() const { return "127.0.0.1:" + std::to_string(m_port); }
    std::uint64_t echoed() const { return m_echoed.load(); }
    bool sawEnd() const { return m_sawEnd.load(); }

private:
    void serve() {
        const int fd = ::accept(m_listen, nullptr, nullptr);
        if (fd < 0) {
            return;
        }
        timeval timeout{10, 0}; // bounded: a gateway that never ends the tunnel fails the test
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
        std::string head;
        std::array<char, 16 * 1024> buffer{};
        while (head.find("\r\n\r\n") == std::string::npos) {
            const auto n = ::recv(fd, buffer.data(), buffer.size(), 0);
            if (n <= 0) {
                ::close(fd);
                return;
            }
            head.append(buffer.data(), static_cast<std::size_t>(n));
        }
        const std::string switching =
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
        ::send(fd, switching.data(), switching.size(), MSG_NOSIGNAL);
        std::string rest = head.substr(head.find("\r\n\r\n") + 4);
        if (!rest.empty()) {
            ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
            m_echoed += rest.size();
        }
        for (;;) {
            const auto n = ::recv(fd, buffer.data(), buffer.size(), 0);
            if (n == 0) {
                m_sawEnd = true;
                break;
            }
            if (n < 0) {
                break;
            }
            ::send(fd, buffer.data(), static_cast<std::size_t>(n), MSG_NOSIGNAL);
            m_echoed += static_cast<std::uint64_t>(n);
        }
        ::close(fd);
    }

    int m_listen = -1;
    std::uint16_t m_port = 0;
    std::thread m_thread;
    std::atomic<std::uint64_t> m_echoed{0};
    std::atomic<bool> m_sawEnd{false};
};

// ---------------------------------------------------------------- a TLS backend

// An HTTPS backend on 127.0.0.1 (port 0): answers every request with 200 and the body
// "sni=<server name the client sent>" (closing after it with `closeAfter`); one thread per
// connection, all stopped by the destructor.
class TlsBackend {
public:
    explicit TlsBackend(const Identity& identity, bool closeAfter = false)
        : m_closeAfter(closeAfter) {
        m_ctx = SSL_CTX_new(TLS_server_method());
        SSL_CTX_use_certificate(m_ctx, identity.cert.get());
        SSL_CTX_use_PrivateKey(m_ctx, identity.key.get());
        m_listen = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(m_listen, reinterpret_cast<sockaddr*>(&address), sizeof(address));
        ::listen(m_listen, 16);
        socklen_t length = sizeof(address);
        ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&address), &length);
        m_port = ntohs(address.sin_port);
        m_acceptor = std::thread([this] { acceptLoop(); });
    }
    ~TlsBackend() {
        ::shutdown(m_listen, SHUT_RDWR); // wakes accept()
        m_acceptor.join();
        {
            std::lock_guard lock(m_mutex);
            for (const int fd : m_connections) {
                ::shutdown(fd, SHUT_RDWR); // wakes SSL_read()
            }
        }
        for (auto& thread : m_threads) {
            thread.join();
        }
        ::close(m_listen);
        SSL_CTX_free(m_ctx);
    }
    std::string address() const { return "127.0.0.1:" + std::to_string(m_port); }
    int handshakes() const { return m_handshakes.load(); }
    int resumed() const { return m_resumed.load(); }

private:
    void acceptLoop() {
        for (;;) {
            const int fd = ::accept(m_listen, nullptr, nullptr);
            if (fd < 0) {
                return; // shut down
            }
            std::lock_guard lock(m_mutex);
            m_connections.push_back(fd);
            m_threads.emplace_back([this, fd] { serve(fd); });
        }
    }
    void serve(int fd) {
        SSL* ssl = SSL_new(m_ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) == 1) {
            ++m_handshakes;
            if (SSL_session_reused(ssl) != 0) {
                ++m_resumed;
            }
            const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
            const std::string body = std::string("sni=") + (sni != nullptr ? sni : "");
            std::string data;
            std::array<char, 4096> buffer{};
            bool open = true;
            while (open) {
                const int n = SSL_read(ssl, buffer.data(), static_cast<int>(buffer.size()));
                if (n <= 0) {
                    break;
                }
                data.append(buffer.data(), static_cast<std::size_t>(n));
                std::size_t end = 0;
                while ((end = data.find("\r\n\r\n")) != std::string::npos) {
                    data.erase(0, end + 4); // GET requests: no body
                    const std::string response = "HTTP/1.1 200 OK\r\nServer: tls-backend\r\nContent-Length: " +
                                                 std::to_string(body.size()) +
                                                 (m_closeAfter ? "\r\nConnection: close" : "") + "\r\n\r\n" + body;
                    SSL_write(ssl, response.data(), static_cast<int>(response.size()));
                    if (m_closeAfter) {
                        SSL_shutdown(ssl);
                        open = false;
                        break;
                    }
                }
            }
        }
        SSL_free(ssl);
        std::lock_guard lock(m_mutex);
        ::close(fd);
        std::erase(m_connections, fd);
    }

    bool m_closeAfter = false;
    SSL_CTX* m_ctx = nullptr;
    int m_listen = -1;
    std::uint16_t m_port = 0;
    std::thread m_acceptor;
    std::mutex m_mutex;
    std::vector<int> m_connections;
    std::vector<std::thread> m_threads;
    std::atomic<int> m_handshakes{0};
    std::atomic<int> m_resumed{0};
};

// ---------------------------------------------------------------- configs

// One TLS listener (`listenerTls`: the YAML lines under tls:, indented 6) routing everything to
// `backendAddress` (`poolTls`: lines under the pool's tls:, indented 6).
std::string yamlOf(const std::string& listenerTls, const std::string& backendAddress, const std::string& poolTls = "",
                   const std::string& timeouts = "") {
    std::string yaml = "listeners:\n  - name: secure\n    address: \"127.0.0.1:0\"\n    tls:\n" + listenerTls +
                       "access_log: {enabled: false}\n" + timeouts +
                       "routes:\n  - name: all\n    match: {path_prefix: /}\n    pool: p\n"
                       "pools:\n  - name: p\n    retry: {attempts: 0}\n";
    if (!poolTls.empty()) {
        yaml += "    tls:\n" + poolTls;
    }
    yaml += "    instances:\n      - {id: a, address: \"" + backendAddress + "\"}\n";
    return yaml;
}

std::string certificateLines(const std::vector<const Identity*>& identities) {
    std::string lines = "      certificates:\n";
    for (const Identity* id : identities) {
        lines += fmt::format("        - {{cert: \"{}\", key: \"{}\"}}\n", id->certFile, id->keyFile);
    }
    return lines;
}

int statusOf(TlsClient& client, const std::string& path) {
    const auto reply = client.get(path);
    return reply ? reply->status : -1;
}

std::uint64_t failureCount(TestGateway& gateway, const std::string& reason) {
    const std::string metrics = gateway.engine().prometheusText();
    const std::string key = "proxy_tls_handshake_failures_total{listener=\"secure\",reason=\"" + reason + "\"} ";
    const auto at = metrics.find(key);
    return at == std::string::npos ? 0 : std::stoull(metrics.substr(at + key.size()));
}

} // namespace

class TestTls : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    Identity m_ca;
    Identity m_gateway;   // gw.test
    Identity m_alpha;     // alpha.test
    Identity m_beta;      // *.beta.test
    Identity m_client;    // client-1, for mTLS
    Identity m_otherCa;   // trusted by nobody
    Identity m_stranger;  // client certificate from the other CA
    Identity m_backend;   // backend.test, from the test CA
    Identity m_rogue;     // backend.test, from the other CA

private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        m_ca = issue(m_dir, "ca", "gaetwae test CA", {}, nullptr, true);
        m_gateway = issue(m_dir, "gateway", "gw.test", {"gw.test"}, &m_ca, false);
        m_alpha = issue(m_dir, "alpha", "alpha", {"alpha.test"}, &m_ca, false);
        m_beta = issue(m_dir, "beta", "beta", {"*.beta.test"}, &m_ca, false);
        m_client = issue(m_dir, "client", "client-1", {}, &m_ca, false);
        m_otherCa = issue(m_dir, "other-ca", "untrusted CA", {}, nullptr, true);
        m_stranger = issue(m_dir, "stranger", "stranger", {}, &m_otherCa, false);
        m_backend = issue(m_dir, "backend", "backend", {"backend.test"}, &m_ca, false);
        m_rogue = issue(m_dir, "rogue", "rogue", {"backend.test"}, &m_otherCa, false);
    }

    void httpsRequestReachesBackend() {
        FakeBackend backend("b1");
        TestGateway gateway(yamlOf(certificateLines({&m_gateway}), backend.address()));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TlsClient client(gateway.port(), {"gw.test"});
        QVERIFY2(client.connected(), client.error().c_str());
        QCOMPARE(client.peerCommonName(), std::string("gw.test"));
        for (int i = 0; i < 2; ++i) { // keep-alive over TLS
            const auto reply = client.get("/hello");
            QVERIFY2(reply, client.error().c_str());
            QCOMPARE(reply->status, 200);
            QCOMPARE(reply->body, std::string("b1"));
        }
        QVERIFY(backend.waitForRequests(2, 5s));
        QCOMPARE(backend.received().front().header("X-Forwarded-Proto"), std::string("https"));
        QCOMPARE(backend.received().front().target, std::string("/hello"));
    }

    void upgradeTunnelsOverTls() {
        // wss: an upgrade through a TLS listener tunnels raw bytes both ways after the 101, and
        // the client's close_notify ends the tunnel at the backend, whose close then ends the
        // client's side (TLS has no half-close the gateway could pass on).
        UpgradeEchoBackend backend;
        TestGateway gateway(yamlOf(certificateLines({&m_gateway}), backend.address()));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TlsClient client(gateway.port(), {"gw.test"});
        QVERIFY2(client.connected(), client.error().c_str());
        QVERIFY(client.write("GET /chat HTTP/1.1\r\nHost: gw.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
        const std::string head = client.readUntil("\r\n\r\n");
        QVERIFY2(head.rfind("HTTP/1.1 101 ", 0) == 0, head.c_str());
        std::string payload(64 * 1024, '\0'); // written whole before reading: well within the loopback buffers
        for (std::size_t i = 0; i < payload.size(); ++i) {
            payload[i] = static_cast<char>('a' + i * 7 % 26);
        }
        QVERIFY(client.write("hello"));
        QCOMPARE(client.readExactly(5), std::string("hello"));
        QVERIFY(client.write(payload));
        QVERIFY(client.readExactly(payload.size()) == payload);
        QCOMPARE(backend.echoed(), std::uint64_t(5 + payload.size()));

        client.closeNotify();
        QTRY_VERIFY_WITH_TIMEOUT(backend.sawEnd(), 10000);
        QVERIFY(client.readsEnd());
    }

    void accessLogShowsTheTlsVersion() {
        QTemporaryDir dir;
        FakeBackend backend("b1");
        const std::string logFile = dir.filePath("access.log").toStdString();
        std::string yaml = yamlOf(certificateLines({&m_gateway}), backend.address());
        yaml.replace(yaml.find("access_log: {enabled: false}"), 28, "access_log: {path: \"" + logFile + "\"}");
        TestGateway gateway(yaml);
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TlsClient client(gateway.port(), {"gw.test", TLS1_3_VERSION, TLS1_3_VERSION});
        QCOMPARE(statusOf(client, "/logged"), 200);
        auto logged = [&] {
            std::ifstream in(logFile);
            const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            return text.find("/logged") != std::string::npos && text.find(" tls=TLSv1.3") != std::string::npos;
        };
        QTRY_VERIFY_WITH_TIMEOUT(logged(), 5000);
    }

    void sniSelectsCertificate_data() {
        QTest::addColumn<QString>("sni");
        QTest::addColumn<QString>("served");
        QTest::newRow("exact name") << "alpha.test" << "alpha";
        QTest::newRow("wildcard") << "api.beta.test" << "beta";
        QTest::newRow("wildcard is one label") << "a.b.beta.test" << "alpha";
        QTest::newRow("case-insensitive") << "ALPHA.test" << "alpha";
        QTest::newRow("no SNI: the first") << "" << "alpha";
        QTest::newRow("unknown: the first") << "other.test" << "alpha";
    }
    void sniSelectsCertificate() {
        QFETCH(QString, sni);
        QFETCH(QString, served);
        FakeBackend backend("b1");
        TestGateway gateway(yamlOf(certificateLines({&m_alpha, &m_beta}), backend.address()));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TlsClient client(gateway.port(), {sni.toStdString()});
        QVERIFY2(client.connected(), client.error().c_str());
        QCOMPARE(client.peerCommonName(), served.toStdString());
        const auto reply = client.get("/");
        QVERIFY2(reply, client.error().c_str());
        QCOMPARE(reply->status, 200);
    }

    void unknownNameRefusedWhenConfigured() {
        FakeBackend backend("b1");
        TestGateway gateway(yamlOf(certificateLines({&m_alpha, &m_beta}) + "      reject_unknown_sni: true\n",
                                   backend.address()));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TlsClient known(gateway.port(), {"x.beta.test"});
        QVERIFY2(known.connected(), known.error().c_str());
        QCOMPARE(known.peerCommonName(), std::string("beta"));
        TlsClient unknown(gateway.port(), {"other.test"});
        QVERIFY(!unknown.connected());
        QTRY_COMPARE_WITH_TIMEOUT(failureCount(gateway, "unknown_server_name"), std::uint64_t(1), 5000);
    }

    void protocolVersions_data() {
        QTest::addColumn<int>("version");
        QTest::addColumn<QString>("minVersion");
        QTest::addColumn<bool>("accepted");
        QTest::newRow("TLS 1.0 refused") << TLS1_VERSION << "1.2" << false;
        QTest::newRow("TLS 1.1 refused") << TLS1_1_VERSION << "1.2" << false;
        QTest::newRow("TLS 1.2") << TLS1_2_VERSION << "1.2" << true;
        QTest::newRow("TLS 1.3") << TLS1_3_VERSION << "1.2" << true;
        QTest::newRow("TLS 1.2 under min_version 1.3") << TLS1_2_VERSION << "1.3" << false;
        QTest::newRow("TLS 1.3 under min_version 1.3") << TLS1_3_VERSION << "1.3" << true;
    }
    void protocolVersions() {
        QFETCH(int, version);
        QFETCH(QString, minVersion);
        QFETCH(bool, accepted);
        FakeBackend backend("b1");
        TestGateway gateway(yamlOf(certificateLines({&m_gateway}) + "      min_version: \"" +
                                       minVersion.toStdString() + "\"\n",
                                   backend.address()));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TlsClient client(gateway.port(), {"gw.test", version, version});
        QCOMPARE(client.connected(), accepted);
        if (accepted) {
            const auto reply = client.get("/");
            QVERIFY2(reply, client.error().c_str());
            QCOMPARE(reply->status, 200);
            QCOMPARE(failureCount(gateway, "protocol"), std::uint64_t(0));
        } else {
            QTRY_COMPARE_WITH_TIMEOUT(failureCount(gateway, "protocol"), std::uint64_t(1), 5000);
            QCOMPARE(backend.requestsReceived(), std::uint64_t(0));
        }
    }

    void reloadServesNewCertificateAndKeepsConnections() {
        QTemporaryDir dir;
        FakeBackend backend("b1");
        Identity first = issue(dir, "served", "first", {"gw.test"}, &m_ca, false);
        const std::string yaml = yamlOf(certificateLines({&first}), backend.address());
        TestGateway gateway(yaml);
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TlsClient before(gateway.port(), {"gw.test"});
        QVERIFY2(before.connected(), before.error().c_str());
        QCOMPARE(before.peerCommonName(), std::string("first"));
        QCOMPARE(statusOf(before, "/"), 200);

        // Reload through a config apply (what SIGHUP does).
        issue(dir, "served", "second", {"gw.test"}, &m_ca, false); // replaces both files
        QCOMPARE(gateway.apply(yaml), std::string());
        TlsClient after(gateway.port(), {"gw.test"});
        QVERIFY2(after.connected(), after.error().c_str());
        QCOMPARE(after.peerCommonName(), std::string("second"));
        QCOMPARE(statusOf(after, "/"), 200);
        const auto old = before.get("/after-reload"); // the connection from before keeps working
        QVERIFY2(old, before.error().c_str());
        QCOMPARE(old->status, 200);

        // Reload through the admin API.
        issue(dir, "served", "third", {"gw.test"}, &m_ca, false);
        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), gateway.adminToken()), admin.error().c_str());
        const auto reloaded = admin.call("tls.reload");
        QVERIFY(reloaded && reloaded->result);
        QCOMPARE((*reloaded->result)["version"].get<std::uint64_t>(), gateway.engine().configVersion());
        TlsClient third(gateway.port(), {"gw.test"});
        QVERIFY2(third.connected(), third.error().c_str());
        QCOMPARE(third.peerCommonName(), std::string("third"));
        QCOMPARE(statusOf(before, "/still"), 200);
        QCOMPARE(statusOf(after, "/still"), 200);
    }

    void sighupReloadsCertificatesOfARunningGaetwaed() {
        QTemporaryDir dir;
        FakeBackend backend("b1");
        Identity served = issue(dir, "served", "first", {"gw.test"}, &m_ca, false);
        const std::string yaml = yamlOf(certificateLines({&served}), backend.address());
        EngineProcess engine;
        QVERIFY2(engine.start(yaml), qPrintable(engine.output()));
        TlsClient before(engine.port(), {"gw.test"});
        QVERIFY2(before.connected(), before.error().c_str());
        QCOMPARE(before.peerCommonName(), std::string("first"));
        QCOMPARE(statusOf(before, "/"), 200);

        issue(dir, "served", "second", {"gw.test"}, &m_ca, false);
        engine.signal(SIGHUP);
        QVERIFY2(engine.waitForOutput(QRegularExpression("configuration version 2 applied"), 20s),
                 qPrintable(engine.output()));
        TlsClient after(engine.port(), {"gw.test"});
        QVERIFY2(after.connected(), after.error().c_str());
        QCOMPARE(after.peerCommonName(), std::string("second"));
        QCOMPARE(statusOf(before, "/after-reload"), 200); // established before the reload

        // A broken key: the reload is refused with the file named, the running certificate stays.
        writeFile(served.keyFile, "garbage\n");
        engine.signal(SIGHUP);
        QVERIFY2(engine.waitForOutput(QRegularExpression("reload refused; configuration version 2 stays active"), 20s),
                 qPrintable(engine.output()));
        QVERIFY2(engine.output().contains(QString::fromStdString(served.keyFile)), qPrintable(engine.output()));
        TlsClient last(engine.port(), {"gw.test"});
        QVERIFY2(last.connected(), last.error().c_str());
        QCOMPARE(last.peerCommonName(), std::string("second"));
        QCOMPARE(statusOf(last, "/"), 200);
    }

    void brokenReplacementKeepsOldCertificate() {
        QTemporaryDir dir;
        FakeBackend backend("b1");
        Identity served = issue(dir, "served", "good", {"gw.test"}, &m_ca, false);
        const std::string yaml = yamlOf(certificateLines({&served}), backend.address());
        TestGateway gateway(yaml);
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        const auto version = gateway.engine().configVersion();

        // Garbage instead of a certificate: refused, naming the file and the field.
        writeFile(served.certFile, "not a certificate\n");
        std::string error = gateway.apply(yaml);
        QVERIFY2(error.find(served.certFile) != std::string::npos, error.c_str());
        QVERIFY2(error.find("certificates[0].cert") != std::string::npos, error.c_str());
        QCOMPARE(gateway.engine().configVersion(), version);
        {
            TlsClient client(gateway.port(), {"gw.test"});
            QVERIFY2(client.connected(), client.error().c_str());
            QCOMPARE(client.peerCommonName(), std::string("good"));
            QCOMPARE(statusOf(client, "/"), 200);
        }

        // A certificate whose key is another one's: refused as a mismatch.
        writeFile(served.certFile, pemOf(m_alpha.cert.get()));
        error = gateway.apply(yaml);
        QVERIFY2(error.find("does not match") != std::string::npos && error.find(served.keyFile) != std::string::npos,
                 error.c_str());

        // The admin call reports it too, and the old certificate stays.
        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), gateway.adminToken()), admin.error().c_str());
        const auto reloaded = admin.call("tls.reload");
        QVERIFY(reloaded && reloaded->error);
        QVERIFY2(reloaded->error->data.dump().find("does not match") != std::string::npos,
                 reloaded->error->data.dump().c_str());
        TlsClient client(gateway.port(), {"gw.test"});
        QVERIFY2(client.connected(), client.error().c_str());
        QCOMPARE(client.peerCommonName(), std::string("good"));

        // Missing files are named as well.
        error = gateway.apply(yamlOf("      certificates: [{cert: /nonexistent/x.crt, key: /nonexistent/x.key}]\n",
                                     backend.address()));
        QVERIFY2(error.find("cannot read /nonexistent/x.crt") != std::string::npos, error.c_str());
    }

    void configErrorsNameTheField() {
        FakeBackend backend("b1");
        TestGateway gateway(yamlOf(certificateLines({&m_gateway}), backend.address()));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        const std::string certs = certificateLines({&m_gateway});
        std::string error = gateway.apply(yamlOf(certs + "      client_auth: required\n", backend.address()));
        QVERIFY2(error.find("client_ca") != std::string::npos, error.c_str());
        error = gateway.apply(yamlOf(certs + "      min_version: \"1.1\"\n", backend.address()));
        QVERIFY2(error.find("min_version") != std::string::npos, error.c_str());
        error = gateway.apply(yamlOf(certs + "      colour: blue\n", backend.address()));
        QVERIFY2(error.find("colour") != std::string::npos, error.c_str());
        error = gateway.apply(yamlOf(certs, backend.address(), "      cert: /x.crt\n"));
        QVERIFY2(error.find("pools[0].tls.key") != std::string::npos, error.c_str());
        error = gateway.apply(yamlOf(certs + "      ciphers: NOT-A-CIPHER\n", backend.address()));
        QVERIFY2(error.find("ciphers") != std::string::npos, error.c_str());
    }

    void mutualTls() {
        FakeBackend backend("b1");
        TestGateway gateway(yamlOf(certificateLines({&m_gateway}) + "      client_auth: required\n" +
                                       "      client_ca: \"" + m_ca.certFile + "\"\n",
                                   backend.address()));
        QVERIFY2(gateway.ok(), gateway.error().c_str());

        // No client certificate: the handshake fails (with TLS 1.3 the client learns it on its
        // first read), nothing reaches the backend.
        {
            TlsClient client(gateway.port(), {"gw.test"});
            QVERIFY(!client.get("/"));
            QTRY_COMPARE_WITH_TIMEOUT(failureCount(gateway, "client_certificate"), std::uint64_t(1), 5000);
        }
        // A certificate from a CA the listener does not trust: refused too.
        {
            TlsClient client(gateway.port(), {"gw.test", 0, 0, &m_stranger});
            QVERIFY(!client.get("/"));
            QTRY_COMPARE_WITH_TIMEOUT(failureCount(gateway, "client_certificate"), std::uint64_t(2), 5000);
        }
        QCOMPARE(backend.requestsReceived(), std::uint64_t(0));

        // A valid certificate: the request passes with the verified subject; a forged header is dropped.
        TlsClient client(gateway.port(), {"gw.test", 0, 0, &m_client});
        QVERIFY2(client.connected(), client.error().c_str());
        const auto reply = client.get("/", "X-Client-Cert-Subject: CN=admin\r\n");
        QVERIFY2(reply, client.error().c_str());
        QCOMPARE(reply->status, 200);
        QVERIFY(backend.waitForRequests(1, 5s));
        const auto received = backend.received().front();
        QCOMPARE(received.headerCount("X-Client-Cert-Subject"), std::size_t(1));
        QCOMPARE(received.header("X-Client-Cert-Subject"), std::string("CN=client-1,O=gaetwae tests"));
    }

    void optionalClientCertificate() {
        FakeBackend backend("b1");
        TestGateway gateway(yamlOf(certificateLines({&m_gateway}) + "      client_auth: optional\n" +
                                       "      client_ca: \"" + m_ca.certFile + "\"\n",
                                   backend.address()));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TlsClient anonymous(gateway.port(), {"gw.test"});
        const auto reply = anonymous.get("/", "X-Client-Cert-Subject: CN=admin\r\n");
        QVERIFY2(reply, anonymous.error().c_str());
        QCOMPARE(reply->status, 200);
        QVERIFY(backend.waitForRequests(1, 5s));
        QCOMPARE(backend.received().front().headerCount("X-Client-Cert-Subject"), std::size_t(0));
    }

    void upstreamTlsVerifiedAgainstTestCa() {
        TlsBackend backend(m_backend);
        const std::string pool = "      ca_file: \"" + m_ca.certFile + "\"\n      server_name: backend.test\n";
        TestGateway gateway(yamlOf(certificateLines({&m_gateway}), backend.address(), pool));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TlsClient client(gateway.port(), {"gw.test"});
        for (int i = 0; i < 2; ++i) {
            const auto reply = client.get("/");
            QVERIFY2(reply, client.error().c_str());
            QCOMPARE(reply->status, 200);
            QCOMPARE(reply->body, std::string("sni=backend.test"));
        }
        QCOMPARE(backend.handshakes(), 1); // the upstream connection was kept alive
        QCOMPARE(backend.resumed(), 0);
    }

    void healthChecksSpeakTls() {
        TlsBackend good(m_backend);
        TlsBackend rogue(m_rogue);
        const std::string pool = "      ca_file: \"" + m_ca.certFile + "\"\n      server_name: backend.test\n";
        std::string yaml = yamlOf(certificateLines({&m_gateway}), good.address(), pool);
        yaml.replace(yaml.find("    instances:\n"), 15,
                     "    health_check: {type: http, path: /, interval: 100ms, unhealthy_interval: 100ms, rise: 1, "
                     "fall: 1, timeout: 2s}\n    instances:\n      - {id: r, address: \"" + rogue.address() + "\"}\n");
        TestGateway gateway(yaml);
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        auto healthOf = [&](const std::string& id) {
            for (const auto& status : gateway.engine().instanceStatuses()) {
                if (status.id == id) {
                    return status.healthy ? 1 : 0;
                }
            }
            return -1;
        };
        // The untrusted instance fails its TLS checks; the verified one passes them.
        QTRY_COMPARE_WITH_TIMEOUT(healthOf("r"), 0, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(good.handshakes() >= 3, 10000);
        QCOMPARE(healthOf("a"), 1);
        TlsClient client(gateway.port(), {"gw.test"});
        QCOMPARE(statusOf(client, "/"), 200);
    }

    void upstreamTlsSessionsResume() {
        TlsBackend backend(m_backend, true); // every response closes: each request connects anew
        const std::string pool = "      ca_file: \"" + m_ca.certFile + "\"\n      server_name: backend.test\n";
        TestGateway gateway(yamlOf(certificateLines({&m_gateway}), backend.address(), pool));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TlsClient client(gateway.port(), {"gw.test"});
        for (int i = 0; i < 3; ++i) {
            QCOMPARE(statusOf(client, "/"), 200);
        }
        QCOMPARE(backend.handshakes(), 3);
        QCOMPARE(backend.resumed(), 2); // the first handshake was full, the others resumed its session
    }

    void upstreamUntrustedCertificateIs502() {
        TlsBackend backend(m_rogue);
        const std::string pool = "      ca_file: \"" + m_ca.certFile + "\"\n      server_name: backend.test\n";
        TestGateway gateway(yamlOf(certificateLines({&m_gateway}), backend.address(), pool));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TlsClient client(gateway.port(), {"gw.test"});
        const auto reply = client.get("/");
        QVERIFY2(reply, client.error().c_str());
        QCOMPARE(reply->status, 502);
        const auto body = nlohmann::json::parse(reply->body);
        QCOMPARE(body["error"].get<std::string>(), std::string("upstream_tls_failed"));
        QVERIFY2(body["message"].get<std::string>().find("certificate verify failed") != std::string::npos,
                 reply->body.c_str());

        // The right CA but the wrong name: also refused.
        TlsBackend good(m_backend);
        const std::string wrongName = "      ca_file: \"" + m_ca.certFile + "\"\n      server_name: other.test\n";
        QCOMPARE(gateway.apply(yamlOf(certificateLines({&m_gateway}), good.address(), wrongName)), std::string());
        const auto mismatch = client.get("/");
        QVERIFY2(mismatch, client.error().c_str());
        QCOMPARE(mismatch->status, 502);

        // verify: false accepts any certificate.
        QCOMPARE(gateway.apply(yamlOf(certificateLines({&m_gateway}), backend.address(), "      verify: false\n")),
                 std::string());
        const auto unverified = client.get("/");
        QVERIFY2(unverified, client.error().c_str());
        QCOMPARE(unverified->status, 200);
    }

    void neverHandshakingClientClosedByHeaderTimeout() {
        FakeBackend backend("b1");
        TestGateway gateway(yamlOf(certificateLines({&m_gateway}), backend.address(), "",
                                   "timeouts: {client_header: 300ms}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        // Silent after connecting.
        TestClient silent(gateway.port());
        QVERIFY(silent.connected());
        QVERIFY(silent.waitForClose(5s));
        // A ClientHello that never completes.
        TestClient partial(gateway.port());
        QVERIFY(partial.sendRaw(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)));
        QVERIFY(partial.waitForClose(5s));
        QTRY_COMPARE_WITH_TIMEOUT(failureCount(gateway, "timeout"), std::uint64_t(2), 5000);
        // Plain HTTP on a TLS port is not answered as HTTP either.
        TestClient plain(gateway.port());
        QVERIFY(plain.sendRaw("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        QVERIFY(plain.waitForClose(5s));
        QCOMPARE(backend.requestsReceived(), std::uint64_t(0));
    }
};

QTEST_GUILESS_MAIN(TestTls)
#include "tst_tls.moc"
