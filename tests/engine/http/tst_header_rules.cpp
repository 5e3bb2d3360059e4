// Request/response parsing and the header rules applied on the way through.
#include "engine/http/header_rules.hpp"
#include "engine/http/message_parser.hpp"
#include "engine/http/proxy_error.hpp"
#include "engine/http/request_id.hpp"

#include <boost/beast/http/error.hpp>

#include <QtTest>

#include <set>

using namespace gaetwae::engine::http;

namespace {

struct Parsed {
    RequestHead head;
    BodySink sink;
    boost::system::error_code ec;
    ParseFailure failure = ParseFailure::None;
};

// Parses a raw request head (eager(false): stops after the header).
std::unique_ptr<Parsed> parseRequest(std::string_view raw, std::uint32_t maxUri = 8192, std::uint32_t maxCount = 100,
                                     std::uint32_t maxBytes = 32768) {
    auto parsed = std::make_unique<Parsed>();
    RequestParser parser(parsed->head, parsed->sink, maxUri, maxCount, maxBytes);
    parser.put(boost::asio::const_buffer(raw.data(), raw.size()), parsed->ec);
    parsed->failure = parser.failure();
    return parsed;
}

std::vector<std::string> lines(const std::string& head) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < head.size()) {
        const auto end = head.find("\r\n", pos);
        if (end == std::string::npos) {
            out.push_back(head.substr(pos));
            break;
        }
        out.push_back(head.substr(pos, end - pos));
        pos = end + 2;
    }
    return out;
}

bool hasLine(const std::string& head, const std::string& line) {
    const auto all = lines(head);
    return std::find(all.begin(), all.end(), line) != all.end();
}

bool hasHeader(const std::string& head, const std::string& name) {
    for (const auto& line : lines(head)) {
        if (line.size() > name.size() && line[name.size()] == ':' &&
            equalsIgnoreCase(std::string_view(line).substr(0, name.size()), name)) {
            return true;
        }
    }
    return false;
}

HeaderPolicy defaultPolicy() {
    return HeaderPolicy::fromConfig(gaetwae::model::HeadersConfig{});
}

} // namespace

class TestHeaderRules : public QObject {
    Q_OBJECT

private slots:
    void stripsHopByHopAndConnectionListedHeaders() {
        const auto p = parseRequest("GET /x HTTP/1.1\r\nHost: a.example\r\nConnection: keep-alive, X-Secret\r\n"
                                    "Keep-Alive: timeout=5\r\nX-Secret: 1\r\nTE: trailers\r\nUpgrade: h2c\r\n"
                                    "Proxy-Connection: close\r\nAccept: */*\r\n\r\n");
        QVERIFY2(!p->ec, p->ec.message().c_str());
        std::string out;
        UpstreamRequestContext context;
        context.target = "/x";
        context.host = "a.example";
        context.clientIp = "10.0.0.1";
        context.requestId = "rid-1";
        writeUpstreamRequestHead(p->head, context, defaultPolicy(), out);
        QVERIFY(out.starts_with("GET /x HTTP/1.1\r\nHost: a.example\r\n"));
        for (const char* name : {"Connection", "Keep-Alive", "X-Secret", "TE", "Upgrade", "Proxy-Connection"}) {
            QVERIFY2(!hasHeader(out, name), name);
        }
        QVERIFY(hasLine(out, "Accept: */*"));
        QVERIFY(out.ends_with("\r\n\r\n"));
    }

    void addsForwardingHeaders() {
        const auto p = parseRequest("POST /x HTTP/1.1\r\nHost: a.example:8080\r\nX-Forwarded-For: 1.1.1.1\r\n"
                                    "X-Forwarded-For: 2.2.2.2\r\nX-Forwarded-Proto: https\r\nVia: 1.0 edge\r\n"
                                    "Content-Length: 4\r\n\r\nbody");
        QVERIFY(!p->ec);
        std::string out;
        UpstreamRequestContext context{"/x", "a.example:8080", "10.0.0.9", "rid-2", "http",
                                       BodyFraming::ContentLength, 4, {}};
        writeUpstreamRequestHead(p->head, context, defaultPolicy(), out);
        QVERIFY(hasLine(out, "X-Forwarded-For: 1.1.1.1, 2.2.2.2, 10.0.0.9"));
        QVERIFY(hasLine(out, "X-Forwarded-Proto: http")); // not trusted by default: replaced
        QVERIFY(hasLine(out, "X-Forwarded-Host: a.example:8080"));
        QVERIFY(hasLine(out, "Via: 1.0 edge, 1.1 gaetwae"));
        QVERIFY(hasLine(out, "X-Request-ID: rid-2"));
        QVERIFY(hasLine(out, "Content-Length: 4"));

        auto trusting = defaultPolicy();
        trusting.trustForwarded = true;
        writeUpstreamRequestHead(p->head, context, trusting, out);
        QVERIFY(hasLine(out, "X-Forwarded-Proto: https"));
    }

    void reframesChunkedBodies() {
        const auto p = parseRequest("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
        QVERIFY(!p->ec);
        std::string out;
        UpstreamRequestContext context{"/x", "h", "1.2.3.4", "r", "http", BodyFraming::Chunked, 0, {}};
        writeUpstreamRequestHead(p->head, context, defaultPolicy(), out);
        QVERIFY(hasLine(out, "Transfer-Encoding: chunked"));
        QVERIFY(!hasHeader(out, "Content-Length"));
    }

    void responseRules() {
        ResponseHead head;
        BodySink sink;
        ResponseParser parser(head, sink, 100, 65536);
        const std::string raw = "HTTP/1.1 200 OK\r\nServer: nginx\r\nX-Powered-By: PHP\r\nConnection: close\r\n"
                                "Transfer-Encoding: chunked\r\nX-Request-ID: upstream-id\r\nX-Kept: yes\r\n\r\n";
        boost::system::error_code ec;
        parser.put(boost::asio::const_buffer(raw.data(), raw.size()), ec);
        QVERIFY(!ec);
        auto policy = defaultPolicy();
        policy.hideServer = true;
        policy.hidePoweredBy = true;
        DownstreamResponseContext context;
        context.requestId = "rid-3";
        context.framing = BodyFraming::ContentLength;
        context.contentLength = 12;
        std::string out;
        writeDownstreamResponseHead(head, context, policy, out);
        QVERIFY(out.starts_with("HTTP/1.1 200 OK\r\n"));
        QVERIFY(!hasHeader(out, "Server"));
        QVERIFY(!hasHeader(out, "X-Powered-By"));
        QVERIFY(!hasHeader(out, "Connection"));
        QVERIFY(!hasHeader(out, "Transfer-Encoding"));
        QVERIFY(hasLine(out, "X-Request-ID: rid-3"));
        QVERIFY(hasLine(out, "Content-Length: 12"));
        QVERIFY(hasLine(out, "X-Kept: yes"));
        QVERIFY(hasLine(out, "Via: 1.1 gaetwae"));

        context.keepAlive = false;
        writeDownstreamResponseHead(head, context, defaultPolicy(), out);
        QVERIFY(hasLine(out, "Connection: close"));
        QVERIFY(hasLine(out, "Server: nginx"));
    }

    void requestParseFailures_data() {
        QTest::addColumn<QString>("raw");
        QTest::addColumn<int>("status");
        QTest::newRow("missing host") << "GET / HTTP/1.1\r\n\r\n" << 400;
        QTest::newRow("duplicate host") << "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" << 400;
        QTest::newRow("te not chunked") << "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n" << 400;
        QTest::newRow("te on http/1.0") << "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" << 400;
        QTest::newRow("te and length") << "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" << 400;
        QTest::newRow("two lengths") << "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n" << 400;
        QTest::newRow("bad expect") << "PUT / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\n\r\n" << 417;
        QTest::newRow("uri too long") << "GET /" + QString(100, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n" << 414;
        QTest::newRow("too many headers") << "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n" << 431;
        QTest::newRow("header too large") << "GET / HTTP/1.1\r\nHost: a\r\nBig: " + QString(400, 'x') + "\r\n\r\n" << 431;
        QTest::newRow("bad version") << "GET / HTTP/2.0\r\nHost: a\r\n\r\n" << 400;
        QTest::newRow("space in name") << "GET / HTTP/1.1\r\nHost: a\r\nBad Name: 1\r\n\r\n" << 400;
    }
    void requestParseFailures() {
        QFETCH(QString, raw);
        QFETCH(int, status);
        const auto p = parseRequest(raw.toStdString(), 64, 3, 256);
        QVERIFY(p->ec && p->ec != boost::beast::http::error::need_more);
        QCOMPARE(describe(classifyRequestParseError(p->failure, p->ec)).status, status);
    }

    void http10WithoutHostIsFine() {
        const auto p = parseRequest("GET / HTTP/1.0\r\n\r\n");
        QVERIFY2(!p->ec, p->ec.message().c_str());
        QCOMPARE(p->head.version, 10);
    }

    void requestIdsAreUniqueAndWellFormed() {
        RequestIdGenerator generator(42);
        std::set<std::string> seen;
        std::array<char, 32> buffer{};
        for (int i = 0; i < 10'000; ++i) {
            const std::string id(generator.next(buffer));
            QCOMPARE(id.size(), size_t(32));
            QVERIFY(isAcceptableRequestId(id));
            QVERIFY(seen.insert(id).second);
        }
        QVERIFY(!isAcceptableRequestId("has space"));
        QVERIFY(!isAcceptableRequestId(std::string(129, 'a')));
        QVERIFY(!isAcceptableRequestId("quote\""));
        QVERIFY(isAcceptableRequestId("abc-123_x.y:z"));
    }

    void errorResponsesAreJson() {
        std::string out;
        writeErrorResponse(ProxyError::NoRoute, "rid-9", {}, defaultPolicy(), false, out);
        QVERIFY(out.starts_with("HTTP/1.1 404 Not Found\r\n"));
        const auto body = nlohmann::json::parse(out.substr(out.find("\r\n\r\n") + 4));
        QCOMPARE(body["error"].get<std::string>(), std::string("no_route"));
        QCOMPARE(body["requestId"].get<std::string>(), std::string("rid-9"));
        QVERIFY(!body["message"].get<std::string>().empty());
        QVERIFY(hasLine(out, "Content-Type: application/json"));
    }
};

QTEST_APPLESS_MAIN(TestHeaderRules)
#include "tst_header_rules.moc"
