// The pure parts of route transformations, without sockets: header templates, Accept-Encoding
// negotiation, the compression decision, CORS origin matching and preflight answers, and the
// body encoders (every flushed prefix decodes, the finished stream decodes to the input).
#include "engine/http/body_encoder.hpp"
#include "engine/http/header_block.hpp"
#include "engine/policy/compression.hpp"
#include "engine/policy/cors.hpp"
#include "engine/policy/header_transform.hpp"
#include "shared/model/header_template.hpp"

#include <brotli/decode.h>
#include <zlib.h>

#include <QtTest>

using namespace gaetwae;
using namespace gaetwae::engine;
using model::CompressionAlgorithm;

namespace {

http::HeaderBlock headersOf(const std::vector<std::pair<std::string, std::string>>& fields) {
    http::HeaderBlock block;
    for (const auto& [name, value] : fields) {
        block.add(boost::beast::http::string_to_field(name), name, value);
    }
    return block;
}

std::string gunzip(std::string_view data) {
    z_stream stream{};
    inflateInit2(&stream, 15 + 16);
    std::string out(1 << 20, '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream.avail_in = static_cast<uInt>(data.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    inflate(&stream, Z_SYNC_FLUSH);
    out.resize(out.size() - stream.avail_out);
    inflateEnd(&stream);
    return out;
}

std::string unbrotli(std::string_view data) {
    BrotliDecoderState* state = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
    std::string out(1 << 20, '\0');
    std::size_t availableIn = data.size();
    const auto* nextIn = reinterpret_cast<const std::uint8_t*>(data.data());
    std::size_t availableOut = out.size();
    auto* nextOut = reinterpret_cast<std::uint8_t*>(out.data());
    BrotliDecoderDecompressStream(state, &availableIn, &nextIn, &availableOut, &nextOut, nullptr);
    out.resize(out.size() - availableOut);
    BrotliDecoderDestroyInstance(state);
    return out;
}

} // namespace

class TestTransformPolicies : public QObject {
    Q_OBJECT

private slots:
    void templatesSplitIntoSegments() {
        const auto segments = model::parseHeaderTemplate("id=${request_id}; $5 ${route}");
        QVERIFY(segments);
        QCOMPARE(segments->size(), std::size_t(4));
        QCOMPARE((*segments)[0].literal, std::string("id="));
        QVERIFY((*segments)[1].variable == model::HeaderVariable::RequestId);
        QCOMPARE((*segments)[2].literal, std::string("; $5 "));
        QVERIFY((*segments)[3].variable == model::HeaderVariable::Route);
        QCOMPARE(model::parseHeaderTemplate("")->size(), std::size_t(1)); // an empty value is a value

        std::string error;
        QVERIFY(!model::parseHeaderTemplate("${user}", &error));
        QVERIFY2(error.find("unknown variable '${user}'") != std::string::npos, error.c_str());
        QVERIFY(!model::parseHeaderTemplate("a${route", &error));
        QVERIFY(!model::parseHeaderTemplate("a\nb", &error));
        QVERIFY(model::parseHeaderTemplate("tab\tok"));
        QVERIFY(model::isGatewayOwnedHeader("content-length", "X-Request-ID"));
        QVERIFY(model::isGatewayOwnedHeader("x-request-id", "X-Request-ID"));
        QVERIFY(!model::isGatewayOwnedHeader("X-Client", "X-Request-ID"));

        model::HeaderEditConfig config;
        config.set = {{"X-Who", "${client_ip}@${instance}"}};
        config.add = {{"X-Path", "${method} ${path}"}};
        config.remove = {"X-Secret"};
        const policy::HeaderEdits edits(config, {"Server"});
        QVERIFY(edits.drops("x-who") && edits.drops("X-SECRET") && edits.drops("server"));
        QVERIFY(!edits.drops("X-Path"));
        policy::TransformVariables variables;
        variables.clientIp = "10.0.0.1";
        variables.instance = "a";
        variables.method = "GET";
        variables.path = "/x";
        std::string out;
        edits.append(out, variables);
        QCOMPARE(out, std::string("X-Who: 10.0.0.1@a\r\nX-Path: GET /x\r\n"));
    }

    void acceptEncodingIsNegotiated_data() {
        QTest::addColumn<QStringList>("fields");
        QTest::addColumn<QString>("chosen"); // "" none
        QTest::newRow("none") << QStringList{} << "";
        QTest::newRow("two fields form one list") << QStringList{"gzip;q=0.5", "br;q=0.6"} << "br";
        QTest::newRow("explicit beats star") << QStringList{"*;q=1, br;q=0.1"} << "gzip";
        QTest::newRow("three decimals") << QStringList{"br;q=0.001, gzip;q=0.002"} << "gzip";
        QTest::newRow("too many decimals ignored") << QStringList{"br;q=0.0001, gzip;q=0"} << "";
        QTest::newRow("q above 1 ignored") << QStringList{"br;q=1.5, gzip;q=0.5"} << "gzip";
        QTest::newRow("other parameters") << QStringList{"br;level=3;q=0.3, gzip;q=0.2"} << "br";
        QTest::newRow("tie keeps preference") << QStringList{"gzip;q=0.5, br;q=0.5"} << "br";
    }
    void acceptEncodingIsNegotiated() {
        QFETCH(QStringList, fields);
        QFETCH(QString, chosen);
        std::vector<std::pair<std::string, std::string>> headers;
        for (const auto& field : fields) {
            headers.emplace_back("Accept-Encoding", field.toStdString());
        }
        const auto block = headersOf(headers);
        const auto result =
            policy::negotiateEncoding(block, {CompressionAlgorithm::Brotli, CompressionAlgorithm::Gzip});
        const QString name = !result ? "" : *result == CompressionAlgorithm::Brotli ? "br" : "gzip";
        QCOMPARE(name, chosen);
    }

    void compressionDecisionFollowsTheRules() {
        model::CompressionConfig config;
        config.minSize = 100;
        config.types = {"text/*", "application/json"};
        const policy::CompressionPolicy policy(config);
        const auto request = headersOf({{"Accept-Encoding", "gzip"}});
        const auto json = headersOf({{"Content-Type", "application/json"}});
        auto decide = [&](int status, const http::HeaderBlock& response, bool bodiless,
                          std::optional<std::uint64_t> length) {
            return policy.decide(request, status, response, bodiless, length);
        };
        QVERIFY(decide(200, json, false, 1000).algorithm == CompressionAlgorithm::Gzip);
        QVERIFY(decide(200, json, false, std::nullopt).algorithm); // unknown length: compress
        QVERIFY(!decide(200, json, false, 99).varies);
        QVERIFY(!decide(200, json, true, 1000).varies);
        QVERIFY(!decide(206, json, false, 1000).varies);
        QVERIFY(decide(404, json, false, 1000).algorithm); // error pages compress too
        QVERIFY(!decide(200, headersOf({{"Content-Type", "text"}}), false, 1000).varies);
        QVERIFY(!decide(200, headersOf({{"Content-Type", "textual/plain"}}), false, 1000).varies);
        QVERIFY(
            decide(200, headersOf({{"Content-Type", "TEXT/HTML; charset=utf-8"}}), false, 1000).algorithm);
        QVERIFY(decide(200, headersOf({{"Content-Type", "text/html"}, {"Content-Encoding", "identity"}}),
                       false, 1000)
                    .algorithm);
        QVERIFY(
            !decide(200, headersOf({{"Content-Type", "text/html"}, {"Content-Encoding", "br"}}), false, 1000)
                 .varies);
        QVERIFY(!decide(200,
                        headersOf({{"Content-Type", "text/html"},
                                   {"Cache-Control", "max-age=5"},
                                   {"Cache-Control", "no-transform"}}),
                        false, 1000)
                     .varies);
        const auto refused =
            policy.decide(headersOf({{"Accept-Encoding", "identity"}}), 200, json, false, 1000);
        QVERIFY(refused.varies && !refused.algorithm);
    }

    void corsOriginsMatchLikeBrowsersExpect_data() {
        QTest::addColumn<QString>("origin");
        QTest::addColumn<bool>("allowed");
        QTest::newRow("exact") << "https://app.example.com" << true;
        QTest::newRow("exact, other case") << "https://APP.example.com" << true;
        QTest::newRow("other scheme") << "http://app.example.com" << false;
        QTest::newRow("other port") << "https://app.example.com:8443" << false;
        QTest::newRow("wildcard subdomain") << "https://a.example.org" << true;
        QTest::newRow("wildcard, two labels") << "https://a.b.example.org" << true;
        QTest::newRow("wildcard, bare domain") << "https://example.org" << false;
        QTest::newRow("wildcard, look-alike") << "https://badexample.org" << false;
        QTest::newRow("wildcard, empty label") << "https://.example.org" << false;
        QTest::newRow("wildcard, user info") << "https://x@a.example.org" << false;
        QTest::newRow("null") << "null" << false;
        QTest::newRow("empty") << "" << false;
    }
    void corsOriginsMatchLikeBrowsersExpect() {
        QFETCH(QString, origin);
        QFETCH(bool, allowed);
        model::CorsConfig config;
        config.allowOrigins = {"https://app.example.com", "https://*.example.org"};
        const policy::CorsPolicy cors(config);
        QCOMPARE(cors.allows(origin.toStdString()), allowed);
    }

    void corsAnswersFollowTheFetchStandard() {
        model::CorsConfig config;
        config.allowOrigins = {"*"};
        config.allowHeaders = {"*"};
        config.exposeHeaders = {"X-Total"};
        const policy::CorsPolicy any(config);
        QVERIFY(any.allows("null") && any.allows("https://x.y"));
        std::string lines;
        QCOMPARE(any.preflight(headersOf({{"Origin", "https://x.y"},
                                          {"Access-Control-Request-Method", "PATCH"},
                                          {"Access-Control-Request-Headers", "x-one, x-two"}}),
                               lines),
                 std::string_view("the requested method is not allowed for cross-origin requests"));
        QVERIFY(lines.empty());
        QVERIFY(any.preflight(headersOf({{"Origin", "https://x.y"},
                                         {"Access-Control-Request-Method", "POST"},
                                         {"Access-Control-Request-Headers", "x-one, x-two"}}),
                              lines)
                    .empty());
        QVERIFY(lines.find("Access-Control-Allow-Origin: *\r\n") != std::string::npos);
        QVERIFY(lines.find("Access-Control-Allow-Headers: x-one, x-two\r\n") != std::string::npos);
        QVERIFY(lines.find("Access-Control-Allow-Credentials") == std::string::npos);
        lines.clear();
        any.appendResponseLines(std::nullopt, lines);
        QVERIFY(lines.empty()); // no Origin, and "*" does not depend on it
        any.appendResponseLines(std::string_view("https://x.y"), lines);
        QCOMPARE(lines,
                 std::string("Access-Control-Allow-Origin: *\r\nAccess-Control-Expose-Headers: X-Total\r\n"));
        QVERIFY(policy::CorsPolicy::isPreflight(
            headersOf({{"Origin", "https://x.y"}, {"Access-Control-Request-Method", "GET"}})));
        QVERIFY(!policy::CorsPolicy::isPreflight(headersOf({{"Origin", "https://x.y"}})));
    }

    void encodersStreamAndFinish_data() {
        QTest::addColumn<int>("algorithm");
        QTest::newRow("gzip") << static_cast<int>(CompressionAlgorithm::Gzip);
        QTest::newRow("br") << static_cast<int>(CompressionAlgorithm::Brotli);
    }
    void encodersStreamAndFinish() {
        QFETCH(int, algorithm);
        const auto coding = static_cast<CompressionAlgorithm>(algorithm);
        auto decode = [&](const std::string& data) {
            return coding == CompressionAlgorithm::Gzip ? gunzip(data) : unbrotli(data);
        };
        for (int level = 1; level <= 9; level += 4) {
            auto encoder = http::BodyEncoder::create(coding, level);
            QVERIFY(encoder);
            std::string stream;
            std::string input;
            for (int piece = 0; piece < 20; ++piece) {
                const std::string text =
                    "event " + std::to_string(piece) + ": " + std::string(piece * 300, 'x') + "\n";
                input += text;
                QVERIFY(encoder->write(text, stream));
                QVERIFY(encoder->flush(stream));
                QCOMPARE(decode(stream), input); // everything so far is decodable after a flush
            }
            QVERIFY(encoder->finish(stream));
            QCOMPARE(decode(stream), input);
            QVERIFY(stream.size() < input.size() / 4);
        }
    }
};

QTEST_GUILESS_MAIN(TestTransformPolicies)
#include "tst_transform_policies.moc"
