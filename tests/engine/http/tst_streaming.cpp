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
// How much the engine's resident memory may grow from just after start while 2.5 GiB stream
// through it; buffering a body would show as gigabytes. The baseline is measured, not assumed:
// a sanitizer build maps hundreds of MiB of instrumented code before the first request.
#ifdef GAETWAE_SANITIZERS
// AddressSanitizer's quarantine keeps freed blocks (up to 256 MiB) before reusing them.
constexpr std::uint64_t kMaxEngineRssGrowth = 256ULL * 1024 * 1024;
#else
constexpr std::uint64_t kMaxEngineRssGrowth = 64ULL * 1024 * 1024;
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
    std::uint64_t m_startRss = 0;

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
        m_startRss = m_engine.rssBytes();
        QVERIFY(m_startRss > 0);
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
        QVERIFY(peak >= m_startRss);
        qInfo("gaetwaed RSS %.1f MiB after start, peak %.1f MiB after %llu MiB through it", double(m_startRss) / (1 << 20),
              double(peak) / (1 << 20), static_cast<unsigned long long>((2 * kGiB + 2 * kChunkedBytes) >> 20));
        QVERIFY2(peak - m_startRss < kMaxEngineRssGrowth,
                 qPrintable(QString("peak RSS %1 bytes, %2 after start").arg(peak).arg(m_startRss)));
    }
};

QTEST_GUILESS_MAIN(TestStreaming)
#include "tst_streaming.moc"
