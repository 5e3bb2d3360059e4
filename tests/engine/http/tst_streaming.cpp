// Bodies stream through the real gaetwaed process in both directions without being buffered:
// a gigabyte up and a gigabyte down pass intact while the engine's peak memory stays small.
#include "tests/support/engine_process.hpp"
#include "tests/support/fake_backend.hpp"
#include "tests/support/test_client.hpp"

#include <fmt/format.h>

#include <QtTest>

using namespace gaetwae::test;

namespace {

constexpr std::uint64_t kGiB = 1024ULL * 1024 * 1024;
constexpr std::uint64_t kChunkedBytes = 256ULL * 1024 * 1024;
#ifdef GAETWAE_SANITIZERS
// AddressSanitizer's shadow memory and quarantine add a constant ~100 MiB; buffering would still
// show as gigabytes.
constexpr std::uint64_t kMaxEngineRss = 256ULL * 1024 * 1024;
#else
constexpr std::uint64_t kMaxEngineRss = 64ULL * 1024 * 1024;
#endif

Reply streamingHandler(const ReceivedRequest& request) {
    Reply reply;
    if (request.target == "/download") {
        reply.generatedBytes = kGiB;
    } else if (request.target == "/download-chunked") {
        reply.generatedBytes = kChunkedBytes;
        reply.framing = Reply::Framing::Chunked;
    } else {
        reply.body = fmt::format("{}:{}", request.bodyBytes, request.bodyHash);
    }
    return reply;
}

} // namespace

class TestStreaming : public QObject {
    Q_OBJECT

private:
    FakeBackend m_backend{"stream", streamingHandler};
    EngineProcess m_engine;

private slots:
    void initTestCase() {
        const std::string yaml = fmt::format(R"(workers: 2
listeners: [{{address: "127.0.0.1:0"}}]
limits: {{max_body_bytes: 0}}
access_log: {{enabled: false}}
routes: [{{name: all, match: {{path_prefix: /}}, pool: p}}]
pools: [{{name: p, instances: [{{id: stream, address: "{}"}}]}}]
)",
                                             m_backend.address());
        QVERIFY2(m_engine.start(yaml), qPrintable(m_engine.output()));
    }

    void uploadsAGigabyteWithContentLength() {
        TestClient client(m_engine.port(), 120s);
        QVERIFY(client.sendRaw(fmt::format("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n", kGiB)));
        std::uint64_t hash = 0;
        QVERIFY2(client.sendGenerated(kGiB, hash, false), client.error().c_str());
        const auto response = client.readResponse();
        QVERIFY2(response, client.error().c_str());
        QCOMPARE(response->body, fmt::format("{}:{}", kGiB, hash));
    }

    void uploadsChunked() {
        TestClient client(m_engine.port(), 120s);
        QVERIFY(client.sendRaw("POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"));
        std::uint64_t hash = 0;
        QVERIFY2(client.sendGenerated(kChunkedBytes, hash, true), client.error().c_str());
        const auto response = client.readResponse();
        QVERIFY2(response, client.error().c_str());
        QCOMPARE(response->body, fmt::format("{}:{}", kChunkedBytes, hash));
    }

    void downloadsAGigabyteWithContentLength() {
        TestClient client(m_engine.port(), 120s);
        const auto response = client.get("/download");
        QVERIFY2(response, client.error().c_str());
        QCOMPARE(response->header("Content-Length"), std::to_string(kGiB));
        QCOMPARE(response->bodyBytes, kGiB);
        QCOMPARE(response->bodyHash, generatedBodyHash(kGiB));
    }

    void downloadsChunked() {
        TestClient client(m_engine.port(), 120s);
        const auto response = client.get("/download-chunked");
        QVERIFY2(response, client.error().c_str());
        QVERIFY(response->chunked);
        QCOMPARE(response->bodyBytes, kChunkedBytes);
        QCOMPARE(response->bodyHash, generatedBodyHash(kChunkedBytes));
    }

    void memoryStayedFlat() {
        const auto peak = m_engine.peakRssBytes();
        QVERIFY(peak > 0);
        qInfo("gaetwaed peak RSS after %llu MiB through it: %.1f MiB",
              static_cast<unsigned long long>((2 * kGiB + 2 * kChunkedBytes) >> 20), double(peak) / (1 << 20));
        QVERIFY2(peak < kMaxEngineRss, qPrintable(QString("peak RSS %1 bytes").arg(peak)));
    }
};

QTEST_GUILESS_MAIN(TestStreaming)
#include "tst_streaming.moc"
