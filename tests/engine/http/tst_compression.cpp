// Response compression through real sockets: gzip and br bodies decode (zlib, BrotliDecoder) to
// exactly the backend's bytes for Content-Length, chunked and multi-MiB responses; Accept-Encoding
// q-values choose; encoded, small, unlisted, HEAD, 304, 206 and no-transform responses pass
// untouched; a streamed response's first piece reaches the client before the backend finishes.
#include "tests/support/fake_backend.hpp"
#include "tests/support/test_client.hpp"
#include "tests/support/test_gateway.hpp"

#include <brotli/decode.h>
#include <fmt/format.h>
#include <zlib.h>

#include <QtTest>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>

using namespace gaetwae::test;

namespace {

// Compressible text of exactly `bytes` bytes, different on every line.
std::string textOf(std::size_t bytes) {
    std::string text;
    text.reserve(bytes + 64);
    for (std::size_t line = 0; text.size() < bytes; ++line) {
        text += fmt::format("{{\"line\": {}, \"text\": \"the quick brown fox jumps over the lazy dog\"}}\n",
                            line);
    }
    text.resize(bytes);
    return text;
}

const std::string kText = textOf(20'000);
const std::string kBig = textOf(3 * 1024 * 1024 + 17);
constexpr std::uint64_t kRandomBytes = 2 * 1024 * 1024 + 5;

// Incremental decoder for a gzip or br stream, fed as the pieces arrive.
class StreamDecoder {
public:
    explicit StreamDecoder(std::string coding)
        : m_coding(std::move(coding)) {
        if (m_coding == "gzip") {
            m_ok = inflateInit2(&m_zlib, 15 + 16) == Z_OK;
        } else {
            m_brotli = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
            m_ok = m_brotli != nullptr;
        }
    }
    ~StreamDecoder() {
        if (m_coding == "gzip") {
            inflateEnd(&m_zlib);
        } else if (m_brotli != nullptr) {
            BrotliDecoderDestroyInstance(m_brotli);
        }
    }
    StreamDecoder(const StreamDecoder&) = delete;
    StreamDecoder& operator=(const StreamDecoder&) = delete;

    void feed(std::string_view input) {
        std::array<char, 64 * 1024> out{};
        if (m_coding == "gzip") {
            m_zlib.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
            m_zlib.avail_in = static_cast<uInt>(input.size());
            while (m_ok && !m_finished) {
                m_zlib.next_out = reinterpret_cast<Bytef*>(out.data());
                m_zlib.avail_out = static_cast<uInt>(out.size());
                const int rc = inflate(&m_zlib, Z_SYNC_FLUSH);
                decoded.append(out.data(), out.size() - m_zlib.avail_out);
                m_finished = rc == Z_STREAM_END;
                m_ok = rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR;
                if (m_zlib.avail_in == 0 && m_zlib.avail_out != 0) {
                    break;
                }
            }
            return;
        }
        std::size_t availableIn = input.size();
        const auto* nextIn = reinterpret_cast<const std::uint8_t*>(input.data());
        while (m_ok && !m_finished) {
            std::size_t availableOut = out.size();
            auto* nextOut = reinterpret_cast<std::uint8_t*>(out.data());
            const auto rc = BrotliDecoderDecompressStream(m_brotli, &availableIn, &nextIn, &availableOut,
                                                          &nextOut, nullptr);
            decoded.append(out.data(), out.size() - availableOut);
            m_finished = rc == BROTLI_DECODER_RESULT_SUCCESS;
            m_ok = rc != BROTLI_DECODER_RESULT_ERROR;
            if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) {
                break;
            }
        }
    }
    // The whole stream arrived, ended properly, and decoded without error.
    bool complete() const { return m_ok && m_finished; }

    std::string decoded;

private:
    std::string m_coding;
    z_stream m_zlib{};
    BrotliDecoderState* m_brotli = nullptr;
    bool m_ok = false;
    bool m_finished = false;
};

std::optional<std::string> decode(const std::string& coding, std::string_view body) {
    StreamDecoder decoder(coding);
    decoder.feed(body);
    if (!decoder.complete()) {
        return std::nullopt;
    }
    return decoder.decoded;
}

Reply textReply(const std::string& body, std::vector<std::pair<std::string, std::string>> headers = {}) {
    Reply reply;
    reply.body = body;
    reply.headers = std::move(headers);
    bool typed = false;
    for (const auto& [name, value] : reply.headers) {
        typed = typed || name == "Content-Type";
    }
    if (!typed) {
        reply.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    }
    return reply;
}

Reply backendReply(const ReceivedRequest& request) {
    const std::string path = request.target.substr(0, request.target.find('?'));
    if (path.ends_with("/text-cl")) {
        return textReply(kText);
    }
    if (path.ends_with("/text-chunked")) {
        auto reply = textReply(kText);
        reply.framing = Reply::Framing::Chunked;
        return reply;
    }
    if (path.ends_with("/big-cl")) {
        return textReply(kBig, {{"Content-Type", "application/json"}});
    }
    if (path.ends_with("/big-chunked")) {
        auto reply = textReply(kBig, {{"Content-Type", "Application/JSON; charset=utf-8"}});
        reply.framing = Reply::Framing::Chunked;
        return reply;
    }
    if (path.ends_with("/random")) {
        Reply reply = textReply({}, {{"Content-Type", "application/json"}});
        reply.generatedBytes = kRandomBytes;
        reply.framing = Reply::Framing::Chunked;
        return reply;
    }
    if (path.ends_with("/encoded")) {
        return textReply(kText, {{"Content-Encoding", "gzip"}, {"Content-Type", "text/plain"}});
    }
    if (path.ends_with("/small")) {
        return textReply("tiny body");
    }
    if (path.ends_with("/image")) {
        return textReply(kText, {{"Content-Type", "image/png"}});
    }
    if (path.ends_with("/untyped")) {
        return textReply(kText, {{"Content-Type", ""}});
    }
    if (path.ends_with("/no-transform")) {
        return textReply(kText, {{"Cache-Control", "public, No-Transform"}});
    }
    if (path.ends_with("/not-modified")) {
        auto reply = textReply({}, {{"ETag", "\"v1\""}});
        reply.status = 304;
        return reply;
    }
    if (path.ends_with("/partial")) {
        auto reply = textReply(kText.substr(0, 5000), {{"Content-Range", "bytes 0-4999/20000"}});
        reply.status = 206;
        return reply;
    }
    if (path.ends_with("/etag")) {
        return textReply(kText, {{"ETag", "\"v1\""}, {"Accept-Ranges", "bytes"}, {"Vary", "Cookie"}});
    }
    return textReply(kText);
}

std::string yamlWith(const FakeBackend& backend, const std::string& apiCompression,
                     const std::string& global = "") {
    return "listeners: [{address: \"127.0.0.1:0\"}]\naccess_log: {enabled: false}\n" + global +
           "routes:\n"
           "  - name: api\n    match: {path_prefix: /api}\n    pool: p\n" +
           apiCompression + "  - name: plain\n    match: {path_prefix: /plain}\n    pool: p\n" +
           fmt::format("pools:\n  - name: p\n    instances:\n      - {{id: a, address: \"{}\"}}\n",
                       backend.address());
}

const std::string kApiCompression = "    compression: {algorithms: [br, gzip], min_size: 1KiB, types: "
                                    "[text/*, application/json], level: 5}\n";

// A backend that sends an event stream in two parts: the first at once, the second only after
// release(). A client that decodes the first part before calling release() proves the gateway
// relayed (and flushed) it while the backend was still busy.
class TwoPartBackend {
public:
    TwoPartBackend() {
        m_listener = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof address;
        if (::bind(m_listener, reinterpret_cast<sockaddr*>(&address), size) == 0 &&
            ::listen(m_listener, 4) == 0 &&
            ::getsockname(m_listener, reinterpret_cast<sockaddr*>(&address), &size) == 0) {
            m_port = ntohs(address.sin_port);
        }
        m_thread = std::thread([this] { serve(); });
    }
    ~TwoPartBackend() {
        {
            std::lock_guard lock(m_mutex);
            m_stopping = true;
        }
        m_changed.notify_all();
        m_thread.join();
        ::close(m_listener);
    }
    TwoPartBackend(const TwoPartBackend&) = delete;
    TwoPartBackend& operator=(const TwoPartBackend&) = delete;

    std::string address() const { return "127.0.0.1:" + std::to_string(m_port); }
    void release() {
        {
            std::lock_guard lock(m_mutex);
            m_released = true;
        }
        m_changed.notify_all();
    }
    bool finished() const { return m_finished.load(); }

private:
    bool stopping() {
        std::lock_guard lock(m_mutex);
        return m_stopping;
    }
    // Waits for `fd` to become readable, checking for stop every 50 ms, for at most 20 s.
    bool readable(int fd) {
        for (int i = 0; i < 400 && !stopping(); ++i) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 50) > 0) {
                return true;
            }
        }
        return false;
    }
    void serve() {
        if (!readable(m_listener)) {
            return;
        }
        const int fd = ::accept(m_listener, nullptr, nullptr);
        std::string request;
        char buffer[4096];
        while (request.find("\r\n\r\n") == std::string::npos && readable(fd)) {
            const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
            if (n <= 0) {
                break;
            }
            request.append(buffer, static_cast<std::size_t>(n));
        }
        const std::string first = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                  "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  "b\r\ndata: one\n\n\r\n";
        ::send(fd, first.data(), first.size(), MSG_NOSIGNAL);
        std::unique_lock lock(m_mutex);
        m_changed.wait_for(lock, std::chrono::seconds(20), [this] { return m_released || m_stopping; });
        if (m_released) {
            const std::string rest = "b\r\ndata: two\n\n\r\n0\r\n\r\n";
            ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
            m_finished = true;
        }
        lock.unlock();
        ::close(fd);
    }

    int m_listener = -1;
    std::uint16_t m_port = 0;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    bool m_released = false;
    bool m_stopping = false;
    std::atomic<bool> m_finished{false};
    std::thread m_thread;
};

} // namespace

class TestCompression : public QObject {
    Q_OBJECT

private slots:
    void bodiesDecodeToTheBackendBytes_data() {
        QTest::addColumn<QString>("acceptEncoding");
        QTest::addColumn<QString>("target");
        QTest::addColumn<QString>("coding");
        QTest::newRow("gzip, content-length") << "gzip"
                                              << "/api/text-cl"
                                              << "gzip";
        QTest::newRow("gzip, chunked") << "gzip"
                                       << "/api/text-chunked"
                                       << "gzip";
        QTest::newRow("br, content-length") << "br"
                                            << "/api/text-cl"
                                            << "br";
        QTest::newRow("br, chunked") << "br"
                                     << "/api/text-chunked"
                                     << "br";
        QTest::newRow("gzip, 3 MiB") << "gzip"
                                     << "/api/big-cl"
                                     << "gzip";
        QTest::newRow("br, 3 MiB chunked, type with parameters") << "gzip, deflate, br"
                                                                 << "/api/big-chunked"
                                                                 << "br";
    }
    void bodiesDecodeToTheBackendBytes() {
        QFETCH(QString, acceptEncoding);
        QFETCH(QString, target);
        QFETCH(QString, coding);
        FakeBackend backend("b", backendReply);
        TestGateway gateway(yamlWith(backend, kApiCompression));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        const std::string expected = target.contains("big") ? kBig : kText;
        for (int round = 0; round < 2; ++round) { // the connection stays usable after a compressed response
            const auto response = client.request("GET", target.toStdString(),
                                                 {{"Accept-Encoding", acceptEncoding.toStdString()}});
            QVERIFY2(response, client.error().c_str());
            QCOMPARE(response->status, 200);
            QCOMPARE(response->header("Content-Encoding"), coding.toStdString());
            QVERIFY(response->header("Vary").find("Accept-Encoding") != std::string::npos);
            QCOMPARE(response->headerCount("Content-Length"), std::size_t(0));
            QVERIFY(response->chunked);
            QVERIFY(response->keepAlive);
            QVERIFY(response->body.size() < expected.size() / 3); // compressed, not just wrapped
            const auto decoded = decode(coding.toStdString(), response->body);
            QVERIFY(decoded);
            QCOMPARE(decoded->size(), expected.size());
            QVERIFY(*decoded == expected);
        }
        QCOMPARE(backend.connectionsAccepted(), std::uint64_t(1)); // the upstream connection was reused too
    }

    void incompressibleMultiMiBBodiesSurvive() {
        FakeBackend backend("b", backendReply);
        TestGateway gateway(yamlWith(backend, kApiCompression));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        for (const std::string coding : {"gzip", "br"}) {
            TestClient client(gateway.port());
            StreamDecoder decoder(coding);
            std::uint64_t received = 0;
            const auto response = client.request("GET", "/api/random", {{"Accept-Encoding", coding}});
            QVERIFY2(response, client.error().c_str());
            QCOMPARE(response->header("Content-Encoding"), coding);
            received = response->bodyBytes;
            QVERIFY(received <= 4 * 1024 * 1024); // within the client's body cap: the whole stream is here
            decoder.feed(response->body);
            QVERIFY(decoder.complete());
            QCOMPARE(std::uint64_t(decoder.decoded.size()), kRandomBytes);
            QCOMPARE(fnv1a(kFnvOffset, decoder.decoded), generatedBodyHash(kRandomBytes));
        }
    }

    void qValuesChooseTheCoding_data() {
        QTest::addColumn<QString>("acceptEncoding"); // "(none)": no Accept-Encoding field
        QTest::addColumn<QString>("coding");         // "": identity
        QTest::newRow("gzip only") << "gzip"
                                   << "gzip";
        QTest::newRow("br only") << "br"
                                 << "br";
        QTest::newRow("both: configured order") << "gzip, br"
                                                << "br";
        QTest::newRow("br lower q") << "br;q=0.5, gzip"
                                    << "gzip";
        QTest::newRow("gzip lower q") << "gzip;q=0.2, br;q=0.9"
                                      << "br";
        QTest::newRow("br refused") << "br;q=0, gzip;q=0.1"
                                    << "gzip";
        QTest::newRow("both refused") << "br;q=0, gzip;q=0"
                                      << "";
        QTest::newRow("star") << "*"
                              << "br";
        QTest::newRow("star below gzip") << "*;q=0.1, gzip;q=0.5"
                                         << "gzip";
        QTest::newRow("star refused, gzip named") << "*;q=0, gzip"
                                                  << "gzip";
        QTest::newRow("star but br refused") << "br;q=0, *"
                                             << "gzip";
        QTest::newRow("identity only") << "identity"
                                       << "";
        QTest::newRow("unknown coding") << "zstd, deflate"
                                        << "";
        QTest::newRow("case and spaces") << " GZIP ; Q=1 "
                                         << "gzip";
        QTest::newRow("x-gzip") << "x-gzip"
                                << "gzip";
        QTest::newRow("malformed q ignored") << "br;q=2, gzip"
                                             << "gzip";
        QTest::newRow("empty") << ""
                               << "";
        QTest::newRow("no field") << "(none)"
                                  << "";
    }
    void qValuesChooseTheCoding() {
        QFETCH(QString, acceptEncoding);
        QFETCH(QString, coding);
        FakeBackend backend("b", backendReply);
        TestGateway gateway(yamlWith(backend, kApiCompression));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        std::vector<std::pair<std::string, std::string>> headers;
        if (acceptEncoding != "(none)") {
            headers.emplace_back("Accept-Encoding", acceptEncoding.toStdString());
        }
        const auto response = client.request("GET", "/api/text-cl", headers);
        QVERIFY2(response, client.error().c_str());
        QCOMPARE(response->status, 200);
        QCOMPARE(response->header("Content-Encoding"), coding.toStdString());
        QVERIFY(response->header("Vary").find("Accept-Encoding") != std::string::npos); // either way
        if (coding.isEmpty()) {
            QCOMPARE(response->body, kText);
            QCOMPARE(response->header("Content-Length"), std::to_string(kText.size()));
        } else {
            const auto decoded = decode(coding.toStdString(), response->body);
            QVERIFY(decoded && *decoded == kText);
        }
    }

    void ineligibleResponsesPassUntouched_data() {
        QTest::addColumn<QString>("method");
        QTest::addColumn<QString>("target");
        QTest::addColumn<int>("status");
        QTest::addColumn<QString>("coding"); // what the client must see (the backend's own)
        QTest::newRow("already encoded") << "GET"
                                         << "/api/encoded" << 200 << "gzip";
        QTest::newRow("below min_size") << "GET"
                                        << "/api/small" << 200 << "";
        QTest::newRow("type not listed") << "GET"
                                         << "/api/image" << 200 << "";
        QTest::newRow("no type") << "GET"
                                 << "/api/untyped" << 200 << "";
        QTest::newRow("no-transform") << "GET"
                                      << "/api/no-transform" << 200 << "";
        QTest::newRow("HEAD") << "HEAD"
                              << "/api/text-cl" << 200 << "";
        QTest::newRow("304") << "GET"
                             << "/api/not-modified" << 304 << "";
        QTest::newRow("206") << "GET"
                             << "/api/partial" << 206 << "";
        QTest::newRow("route without compression") << "GET"
                                                   << "/plain/text-cl" << 200 << "";
    }
    void ineligibleResponsesPassUntouched() {
        QFETCH(QString, method);
        QFETCH(QString, target);
        QFETCH(int, status);
        QFETCH(QString, coding);
        FakeBackend backend("b", backendReply);
        TestGateway gateway(yamlWith(backend, kApiCompression));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        const auto response = client.request(method.toStdString(), target.toStdString(),
                                             {{"Accept-Encoding", "br, gzip"}, {"Range", "bytes=0-4999"}});
        QVERIFY2(response, client.error().c_str());
        QCOMPARE(response->status, status);
        QCOMPARE(response->header("Content-Encoding"), coding.toStdString());
        QVERIFY(!response->chunked);
        QCOMPARE(response->headerCount("Vary"), std::size_t(0));
        // The backend's bytes, unchanged, with the backend's length.
        const auto original = backendReply(backend.received().at(0));
        const std::string body = method == "HEAD" ? std::string() : original.body;
        QCOMPARE(response->body.size(), body.size());
        QVERIFY(response->body == body);
        if (status != 304) {
            QCOMPARE(response->header("Content-Length"), std::to_string(original.body.size()));
        }
        QCOMPARE(response->header("ETag"), status == 304 ? std::string("\"v1\"") : std::string());
    }

    void strongEtagsAreWeakenedAndRangesDropped() {
        FakeBackend backend("b", backendReply);
        TestGateway gateway(yamlWith(backend, kApiCompression));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        const auto compressed = client.request("GET", "/api/etag", {{"Accept-Encoding", "gzip"}});
        QVERIFY2(compressed, client.error().c_str());
        QCOMPARE(compressed->header("Content-Encoding"), std::string("gzip"));
        QCOMPARE(compressed->header("ETag"), std::string("W/\"v1\""));
        QCOMPARE(compressed->headerCount("ETag"), std::size_t(1));
        QCOMPARE(compressed->headerCount("Accept-Ranges"), std::size_t(0));
        QCOMPARE(compressed->headerCount("Vary"), std::size_t(2)); // the backend's and ours
        const auto identity = client.request("GET", "/api/etag", {{"Accept-Encoding", "identity"}});
        QVERIFY2(identity, client.error().c_str());
        QCOMPARE(identity->header("ETag"), std::string("\"v1\"")); // the backend's bytes keep their validator
        QCOMPARE(identity->header("Accept-Ranges"), std::string("bytes"));
    }

    void aStreamedResponseIsRelayedPieceByPiece_data() {
        QTest::addColumn<QString>("coding");
        QTest::newRow("gzip") << "gzip";
        QTest::newRow("br") << "br";
    }
    void aStreamedResponseIsRelayedPieceByPiece() {
        QFETCH(QString, coding);
        TwoPartBackend backend;
        TestGateway gateway("listeners: [{address: \"127.0.0.1:0\"}]\naccess_log: {enabled: false}\n"
                            "routes:\n  - name: events\n    match: {path_prefix: /}\n    pool: p\n"
                            "    compression: {min_size: 0, types: [text/event-stream]}\n"
                            "pools:\n  - name: p\n    instances:\n      - {id: a, address: \"" +
                            backend.address() + "\"}\n");
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port(), 10s);
        QVERIFY(client.sendRaw("GET /events HTTP/1.1\r\nHost: h\r\nAccept-Encoding: " + coding.toStdString() +
                               "\r\n\r\n"));
        StreamDecoder decoder(coding.toStdString());
        bool firstBeforeEnd = false;
        const auto response = client.readResponse(false, [&](std::string_view piece) {
            decoder.feed(piece);
            if (!backend.finished() && decoder.decoded == "data: one\n\n") {
                firstBeforeEnd = true;
                backend.release(); // only now may the backend finish
            }
        });
        QVERIFY2(response, client.error().c_str());
        QVERIFY(firstBeforeEnd);
        QCOMPARE(response->header("Content-Encoding"), coding.toStdString());
        QVERIFY(decoder.complete());
        QCOMPARE(decoder.decoded, std::string("data: one\n\ndata: two\n\n"));
    }

    void theDocumentDefaultAppliesUnlessARouteOptsOut() {
        FakeBackend backend("b", backendReply);
        TestGateway gateway(yamlWith(backend, "    compression: {enabled: false}\n",
                                     "compression: {algorithms: [gzip], types: [text/plain]}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        const auto inherited = client.request("GET", "/plain/text-cl", {{"Accept-Encoding", "br, gzip"}});
        QVERIFY2(inherited, client.error().c_str());
        QCOMPARE(inherited->header("Content-Encoding"), std::string("gzip"));
        const auto optedOut = client.request("GET", "/api/text-cl", {{"Accept-Encoding", "br, gzip"}});
        QVERIFY2(optedOut, client.error().c_str());
        QCOMPARE(optedOut->header("Content-Encoding"), std::string());
        QCOMPARE(optedOut->body, kText);

        // A reload changes it live.
        QCOMPARE(gateway.apply(yamlWith(backend, kApiCompression)), std::string());
        const auto reloaded = client.request("GET", "/api/text-cl", {{"Accept-Encoding", "br, gzip"}});
        QVERIFY2(reloaded, client.error().c_str());
        QCOMPARE(reloaded->header("Content-Encoding"), std::string("br"));
        const auto plain = client.request("GET", "/plain/text-cl", {{"Accept-Encoding", "br, gzip"}});
        QVERIFY2(plain, client.error().c_str());
        QCOMPARE(plain->header("Content-Encoding"), std::string());
    }

    void http10ClientsGetABodyDelimitedByClose() {
        FakeBackend backend("b", backendReply);
        TestGateway gateway(yamlWith(backend, kApiCompression));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        QVERIFY(client.sendRaw("GET /api/text-cl HTTP/1.0\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n"));
        const auto response = client.readResponse();
        QVERIFY2(response, client.error().c_str());
        QCOMPARE(response->header("Content-Encoding"), std::string("gzip"));
        QVERIFY(!response->chunked);
        QCOMPARE(response->headerCount("Content-Length"), std::size_t(0));
        const auto decoded = decode("gzip", response->body);
        QVERIFY(decoded && *decoded == kText);
        QVERIFY(client.waitForClose(5s));
    }

    void metricsCountCompressedResponsesAndBytes() {
        FakeBackend backend("b", backendReply);
        TestGateway gateway(yamlWith(backend, kApiCompression));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        std::uint64_t encodedBytes = 0;
        for (const std::string coding : {"gzip", "br", "gzip"}) {
            const auto response = client.request("GET", "/api/text-cl", {{"Accept-Encoding", coding}});
            QVERIFY2(response, client.error().c_str());
            QCOMPARE(response->header("Content-Encoding"), coding);
            encodedBytes += response->bodyBytes;
        }
        const auto identity = client.request("GET", "/api/text-cl"); // not compressed: not counted
        QVERIFY2(identity, client.error().c_str());
        QCOMPARE(identity->header("Content-Encoding"), std::string());

        // /metrics is rendered from the once-a-second totals: scrape until the last one is in.
        const std::string gzipLine = "proxy_compressed_responses_total{route=\"api\",algorithm=\"gzip\"} 2\n";
        std::string text;
        const auto scrape = [&] {
            TestClient admin(gateway.adminPort());
            const auto metrics = admin.request("GET", "/metrics", {{"Authorization", "Bearer " + gateway.adminToken()}});
            text = metrics && metrics->status == 200 ? metrics->body : admin.error();
            return text.find(gzipLine) != std::string::npos;
        };
        QTRY_VERIFY_WITH_TIMEOUT(scrape(), 10000);
        QVERIFY2(text.find(gzipLine) != std::string::npos, text.c_str());
        QVERIFY(text.find("proxy_compressed_responses_total{route=\"api\",algorithm=\"br\"} 1\n") != std::string::npos);
        QVERIFY(text.find(fmt::format("proxy_compression_input_bytes_total{{route=\"api\"}} {}\n", 3 * kText.size())) !=
                std::string::npos);
        QVERIFY(text.find(fmt::format("proxy_compression_output_bytes_total{{route=\"api\"}} {}\n", encodedBytes)) !=
                std::string::npos);
        QVERIFY(text.find("proxy_compressed_responses_total{route=\"plain\"") == std::string::npos);
    }
};

QTEST_GUILESS_MAIN(TestCompression)
#include "tst_compression.moc"
