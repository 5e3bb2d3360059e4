// The admin API against a real engine over real sockets: the JSON-RPC methods and their codec,
// errors for every kind of bad input, tokens, live changes under load with persistence,
// exact stats, the Prometheus endpoint, health and readiness, events and slow clients.
#include "engine/config/config_loader.hpp"
#include "engine/config/yaml_document.hpp"
#include "shared/model/config_codec.hpp"
#include "shared/protocol/admin_messages.hpp"
#include "tests/engine/admin/prometheus_text.hpp"
#include "tests/support/fake_backend.hpp"
#include "tests/support/load.hpp"
#include "tests/support/test_client.hpp"
#include "tests/support/test_gateway.hpp"
#include "tests/support/ws_admin_client.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <QtTest>

#include <algorithm>
#include <arpa/inet.h>
#include <cmath>
#include <fstream>
#include <regex>
#include <future>
#include <set>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace gaetwae;
using namespace gaetwae::test;
namespace rpc = protocol::rpc;

namespace {

std::string gatewayYaml(const std::vector<const FakeBackend*>& backends, const std::string& top = "",
                        const std::string& poolExtra = "") {
    std::string yaml = "listeners: [{address: \"127.0.0.1:0\"}]\naccess_log: {enabled: false}\n" + top +
                       "routes:\n  - name: api\n    match: {path_prefix: /api}\n    pool: p\n    x-owner: team-a\n"
                       "pools:\n  - name: p\n    x-ticket: OPS-12\n" +
                       poolExtra + "    instances:\n";
    for (const auto* backend : backends) {
        yaml += fmt::format("      - {{id: {}, address: \"{}\"}}\n", backend->name(), backend->address());
    }
    return yaml;
}

// Everything the engine logs, kept by a sink installed once before any engine thread exists
// (changing a logger's sinks while other threads log is not safe).
class CaptureSink : public spdlog::sinks::base_sink<std::mutex> {
public:
    std::string text() {
        std::lock_guard lock(mutex_);
        return m_text;
    }

protected:
    void sink_it_(const spdlog::details::log_msg& message) override {
        m_text.append(message.payload.data(), message.payload.size());
        m_text += '\n';
    }
    void flush_() override {}

private:
    std::string m_text;
};

std::shared_ptr<CaptureSink>& captureSink() {
    static auto sink = std::make_shared<CaptureSink>();
    return sink;
}

// What was logged from its construction on, with info messages enabled meanwhile.
class LogCapture {
public:
    LogCapture()
        : m_from(captureSink()->text().size())
        , m_level(spdlog::default_logger()->level()) {
        spdlog::default_logger()->set_level(spdlog::level::info);
    }
    ~LogCapture() { spdlog::default_logger()->set_level(m_level); }
    std::string text() const { return captureSink()->text().substr(m_from); }

private:
    std::size_t m_from;
    spdlog::level::level_enum m_level;
};

std::optional<Response> getWithToken(std::uint16_t port, const std::string& path, const std::string& token) {
    TestClient client(port, 10s);
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token.empty()) {
        headers.emplace_back("Authorization", "Bearer " + token);
    }
    return client.request("GET", path, headers);
}

// A WebSocket client on a bare socket with a tiny receive buffer that can stop reading: what a
// hung or slow console looks like to the engine.
class RawWebSocket {
public:
    RawWebSocket(std::uint16_t port, const std::string& token) {
        m_fd = ::socket(AF_INET, SOCK_STREAM, 0);
        const int small = 4096;
        ::setsockopt(m_fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(m_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
            return;
        }
        const std::string upgrade = "GET /admin HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                                    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                    "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer " +
                                    token + "\r\n\r\n";
        ::send(m_fd, upgrade.data(), upgrade.size(), MSG_NOSIGNAL);
        std::string head;
        char c = 0;
        while (head.find("\r\n\r\n") == std::string::npos && waitReadable(10s) && ::recv(m_fd, &c, 1, 0) == 1) {
            head += c;
        }
        m_upgraded = head.rfind("HTTP/1.1 101", 0) == 0;
    }
    ~RawWebSocket() {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
    }
    bool upgraded() const { return m_upgraded; }

    // One masked text frame (clients must mask).
    void sendText(const std::string& text) {
        std::string frame;
        frame += static_cast<char>(0x81);
        if (text.size() < 126) {
            frame += static_cast<char>(0x80 | text.size());
        } else {
            frame += static_cast<char>(0x80 | 126);
            frame += static_cast<char>((text.size() >> 8) & 0xff);
            frame += static_cast<char>(text.size() & 0xff);
        }
        const char mask[4] = {0x12, 0x34, 0x56, 0x78};
        frame.append(mask, 4);
        for (std::size_t i = 0; i < text.size(); ++i) {
            frame += static_cast<char>(text[i] ^ mask[i % 4]);
        }
        ::send(m_fd, frame.data(), frame.size(), MSG_NOSIGNAL);
    }

    // Reads (and discards) until the engine closes the connection; false at the deadline.
    bool drainUntilClosed(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        char buffer[65536];
        while (std::chrono::steady_clock::now() < deadline) {
            if (!waitReadable(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()))) {
                return false;
            }
            const auto n = ::recv(m_fd, buffer, sizeof buffer, 0);
            if (n <= 0) {
                return true;
            }
        }
        return false;
    }

private:
    bool waitReadable(std::chrono::milliseconds timeout) {
        pollfd p{m_fd, POLLIN, 0};
        return ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(timeout.count(), 0))) == 1;
    }

    int m_fd = -1;
    bool m_upgraded = false;
};

// Decodes a result with the shared codec and encodes it again: the engine's JSON must survive.
template <class T>
bool roundTrips(const nlohmann::json& json, std::string& why) {
    T value;
    model::Diagnostics diagnostics;
    if (!protocol::fromJson(json, value, diagnostics)) {
        why = diagnostics.empty() ? "?" : diagnostics.items()[0].pointer + ": " + diagnostics.items()[0].message;
        return false;
    }
    if (protocol::toJson(value) != json) {
        why = "re-encoded differently:\n" + protocol::toJson(value).dump() + "\nvs\n" + json.dump();
        return false;
    }
    return true;
}

std::uint64_t sumRequests(const std::vector<protocol::StatsFrame>& frames) {
    std::uint64_t total = 0;
    for (const auto& frame : frames) {
        total += frame.total.requests;
    }
    return total;
}

} // namespace

class TestAdminApi : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() { spdlog::default_logger()->sinks().push_back(captureSink()); }

    void helloAndReadsRoundTripThroughTheCodec() {
        FakeBackend a("a"), b("b");
        TestGateway gateway(gatewayYaml({&a, &b}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), gateway.adminToken()), admin.error().c_str());

        const auto hello = admin.result("hello", {{"client", "tst_admin_api"}});
        QVERIFY2(!hello.is_null(), admin.error().c_str());
        QCOMPARE(hello["protocolVersion"].get<int>(), protocol::kProtocolVersion);
        QCOMPARE(hello["configVersion"].get<std::uint64_t>(), gateway.engine().configVersion());
        QVERIFY(!hello["engineVersion"].get<std::string>().empty());
        QVERIFY(hello["capabilities"].size() >= 5);

        std::string why;
        QVERIFY2(roundTrips<protocol::HelloResult>(hello, why), why.c_str());
        const auto info = admin.result("engine.info");
        QVERIFY2(roundTrips<protocol::EngineInfo>(info, why), why.c_str());
        QCOMPARE(info["pid"].get<std::int64_t>(), static_cast<std::int64_t>(::getpid()));
        QCOMPARE(info["workers"].get<int>(), 1);

        const auto config = admin.result("config.get");
        QVERIFY2(roundTrips<protocol::ConfigGetResult>(config, why), why.c_str());
        protocol::ConfigGetResult decoded;
        model::Diagnostics diagnostics;
        QVERIFY(protocol::fromJson(config, decoded, diagnostics));
        QVERIFY(decoded.config == gateway.engine().config());
        // Fields this version does not know are kept and served back.
        QCOMPARE(config["config"]["pools"][0]["x-ticket"].get<std::string>(), std::string("OPS-12"));
        QCOMPARE(config["config"]["routes"][0]["x-owner"].get<std::string>(), std::string("team-a"));

        for (int i = 0; i < 4; ++i) {
            QCOMPARE(fetch(gateway.port(), "/api/x")->status, 200);
        }
        // A request counts as active until its last byte is written, a moment after the client
        // has read it.
        nlohmann::json pools;
        auto settled = [&] {
            pools = admin.result("pools.list");
            for (const auto& instance : pools["pools"][0]["instances"]) {
                if (instance["live"]["activeRequests"] != 0) {
                    return false;
                }
            }
            return true;
        };
        QTRY_VERIFY_WITH_TIMEOUT(settled(), 10000);
        QVERIFY2(roundTrips<protocol::PoolsListResult>(pools, why), why.c_str());
        QCOMPARE(pools["pools"].size(), std::size_t(1));
        const auto& instances = pools["pools"][0]["instances"];
        QCOMPARE(instances.size(), std::size_t(2));
        std::uint64_t requests = 0;
        for (const auto& instance : instances) {
            const auto& live = instance.at("live");
            QCOMPARE(live.at("breaker").get<std::string>(), std::string("closed"));
            QVERIFY(live.at("healthy").get<bool>());
            QCOMPARE(live.at("activeRequests").get<std::int64_t>(), std::int64_t(0));
            QCOMPARE(live.at("slowStart").get<double>(), 1.0);
            requests += live.at("requests").get<std::uint64_t>();
        }
        QCOMPARE(requests, std::uint64_t(4));
        QVERIFY2(roundTrips<protocol::RoutesListResult>(admin.result("routes.list"), why), why.c_str());
        QVERIFY2(roundTrips<std::vector<protocol::AuditRecord>>(admin.result("history"), why), why.c_str());
        QVERIFY2(roundTrips<std::vector<protocol::EventRecord>>(admin.result("events.recent"), why), why.c_str());
        QVERIFY(!admin.result("subscribe", {{"topics", {"stats"}}}).is_null());
        QVERIFY2(admin.waitNotification("stats"), admin.error().c_str()); // frames come once a second
        const auto history = admin.result("stats.history");
        QVERIFY(!history["frames"].empty());
        QVERIFY2(roundTrips<std::vector<protocol::StatsFrame>>(history, why), why.c_str());
    }

    void badMessagesGetJsonRpcErrorsAndNeverHurtTheEngine() {
        FakeBackend a("a");
        TestGateway gateway(gatewayYaml({&a}, "admin: {max_message_bytes: 4096}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), gateway.adminToken()), admin.error().c_str());

        auto expectError = [&](const std::string& raw, int code) -> std::optional<protocol::RpcError> {
            admin.sendText(raw);
            const auto response = admin.nextResponse();
            if (!response || !response->error || response->error->code != code) {
                qWarning("for %s: expected error %d, got %s", raw.c_str(), code,
                         response ? (response->error ? std::to_string(response->error->code).c_str() : "a result")
                                  : admin.error().c_str());
                return std::nullopt;
            }
            return response->error;
        };
        QVERIFY(expectError("{not json", rpc::kParseError));
        QVERIFY(expectError("[1,2]", rpc::kInvalidRequest));
        QVERIFY(expectError(R"({"jsonrpc":"1.0","id":1,"method":"hello"})", rpc::kInvalidRequest));
        QVERIFY(expectError(R"({"jsonrpc":"2.0","id":{},"method":"hello"})", rpc::kInvalidRequest));
        QVERIFY(expectError(R"({"jsonrpc":"2.0","id":2,"method":7})", rpc::kInvalidRequest));
        QVERIFY(expectError(R"({"jsonrpc":"2.0","id":3,"method":"no.such"})", rpc::kMethodNotFound));
        QVERIFY(expectError(R"({"jsonrpc":"2.0","id":4,"method":"hello","params":[1]})", rpc::kInvalidParams));
        QVERIFY(expectError(R"({"jsonrpc":"2.0","id":5,"method":"history","params":{"limit":"ten"}})",
                            rpc::kInvalidParams));
        const auto wrongType = expectError(
            R"({"jsonrpc":"2.0","id":6,"method":"instance.setWeight","params":{"expectedVersion":1,"pool":"p","id":"a","weight":"heavy"}})",
            rpc::kInvalidParams);
        QVERIFY(wrongType);
        QVERIFY2(wrongType->message.find("weight") != std::string::npos, wrongType->message.c_str());
        QVERIFY(expectError(R"({"jsonrpc":"2.0","id":7,"method":"instance.setWeight","params":{"pool":"p","id":"a","weight":2}})",
                            rpc::kInvalidParams)); // no expectedVersion
        QVERIFY(expectError(R"({"jsonrpc":"2.0","id":8,"method":"pool.put","params":{"expectedVersion":1,"pool":{"name":5}}})",
                            rpc::kValidationFailed));
        QVERIFY(expectError(R"({"jsonrpc":"2.0","id":9,"method":"transaction","params":{"expectedVersion":1,"operations":{}}})",
                            rpc::kInvalidParams));
        QVERIFY(expectError(R"({"jsonrpc":"2.0","id":11,"method":"transaction","params":{"expectedVersion":1,"operations":[],"dryRun":true}})",
                            rpc::kInvalidParams)); // an option this engine does not know is not ignored
        QVERIFY(expectError(R"({"jsonrpc":"2.0","id":12,"method":"pools.list","params":{"pool":"p"}})", rpc::kInvalidParams));
        const auto tooLarge = expectError(protocol::makeRequest(10, "hello", {{"client", std::string(8000, 'x')}}),
                                          rpc::kTooLarge);
        QVERIFY(tooLarge);
        QVERIFY2(tooLarge->message.find("4096") != std::string::npos, tooLarge->message.c_str());
        // A notification (no id) gets no answer, even for an unknown method; the next call does.
        admin.sendText(R"({"jsonrpc":"2.0","method":"no.such"})");
        admin.sendBinary("\x01\x02");
        const auto after = admin.call("hello");
        QVERIFY2(after && after->result, admin.error().c_str());
        // Nothing was changed, and traffic was never affected.
        QCOMPARE(gateway.engine().configVersion(), std::uint64_t(1));
        QCOMPARE(fetch(gateway.port(), "/api/x")->status, 200);
        QVERIFY(admin.connected());
    }

    void tokensGuardTheApiAndStayOutOfTheLog() {
        FakeBackend a("a");
        LogCapture log;
        TestGateway gateway(gatewayYaml({&a}));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        const std::string token = gateway.adminToken();
        QCOMPARE(token.size(), std::size_t(64)); // 256 random bits, hex
        const QFileInfo tokenFile(QString::fromStdString(gateway.engine().config().admin.tokenFile));
        QCOMPARE(tokenFile.permissions() & (QFileDevice::ReadGroup | QFileDevice::ReadOther | QFileDevice::WriteGroup |
                                            QFileDevice::WriteOther),
                 QFileDevice::Permissions());

        auto upgrade = [&](const std::string& authorization) {
            TestClient client(gateway.adminPort(), 10s);
            std::vector<std::pair<std::string, std::string>> headers{
                {"Upgrade", "websocket"},
                {"Connection", "Upgrade"},
                {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                {"Sec-WebSocket-Version", "13"}};
            if (!authorization.empty()) {
                headers.emplace_back("Authorization", authorization);
            }
            const auto response = client.request("GET", "/admin", headers);
            return response ? response->status : 0;
        };
        QCOMPARE(upgrade(""), 401);
        const std::string wrong = std::string(token.size() - 1, 'f') + "0";
        QCOMPARE(upgrade("Bearer " + wrong), 401);
        QCOMPARE(upgrade("Bearer " + token.substr(0, 32)), 401);
        QCOMPARE(upgrade("Basic " + token), 401);
        QCOMPARE(upgrade("Bearer " + token), 101);

        WsAdminClient refused;
        QVERIFY(!refused.connect(gateway.adminPort(), wrong));
        WsAdminClient accepted;
        QVERIFY2(accepted.connect(gateway.adminPort(), token), accepted.error().c_str());

        QCOMPARE(getWithToken(gateway.adminPort(), "/metrics", "")->status, 401);
        QCOMPARE(getWithToken(gateway.adminPort(), "/health", wrong)->status, 401);
        QCOMPARE(getWithToken(gateway.adminPort(), "/metrics", token)->status, 200);
        QCOMPARE(getWithToken(gateway.adminPort(), "/nothing", token)->status, 404);

        const auto text = log.text();
        QVERIFY2(text.find("refused") != std::string::npos, text.c_str());
        QVERIFY2(text.find(token) == std::string::npos, "the token was logged");
        QVERIFY2(text.find(wrong) == std::string::npos, "a presented token was logged");
    }

    void publicPathsAndRemoteBindingAreExplicit() {
        FakeBackend a("a");
        {
            TestGateway gateway(gatewayYaml({&a}, "admin: {public_paths: [/metrics, /ready]}\n"));
            QVERIFY2(gateway.ok(), gateway.error().c_str());
            QCOMPARE(getWithToken(gateway.adminPort(), "/metrics", "")->status, 200);
            QCOMPARE(getWithToken(gateway.adminPort(), "/ready", "")->status, 200);
            QCOMPARE(getWithToken(gateway.adminPort(), "/health", "")->status, 401);
        }
        {
            TestGateway refused(gatewayYaml({&a}, "admin: {address: \"0.0.0.0:0\"}\n"));
            QVERIFY(!refused.ok());
            QVERIFY2(refused.error().find("admin.address") != std::string::npos &&
                         refused.error().find("allow_remote") != std::string::npos,
                     refused.error().c_str());
        }
        LogCapture log;
        TestGateway remote(gatewayYaml({&a}, "admin: {address: \"0.0.0.0:0\", allow_remote: true}\n"));
        QVERIFY2(remote.ok(), remote.error().c_str());
        QVERIFY2(log.text().find("not loopback") != std::string::npos, log.text().c_str());
        QCOMPARE(getWithToken(remote.adminPort(), "/ready", remote.adminToken())->status, 200);
    }

    void changesNeedTheCurrentVersionAndAreAtomic() {
        FakeBackend a("a"), b("b");
        TestGateway gateway(gatewayYaml({&a, &b}), {1, nullptr, 0, std::nullopt}, true);
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), gateway.adminToken()), admin.error().c_str());

        auto weight = [&](std::uint64_t expected, std::uint32_t w) {
            auto params = protocol::encodeOperationParams(protocol::setWeight("p", "a", w));
            params["expectedVersion"] = expected;
            return admin.call("instance.setWeight", params);
        };
        const auto first = weight(1, 3);
        QVERIFY2(first && first->result, admin.error().c_str());
        QCOMPARE((*first->result)["version"].get<std::uint64_t>(), std::uint64_t(2));
        std::string why;
        QVERIFY2(roundTrips<protocol::ChangeResult>(*first->result, why), why.c_str());
        QCOMPARE(gateway.engine().config().pools[0].instances[0].weight, 3u);

        const auto stale = weight(1, 5);
        QVERIFY(stale && stale->error);
        QCOMPARE(stale->error->code, rpc::kConflict);
        QCOMPARE(stale->error->data["currentVersion"].get<std::uint64_t>(), std::uint64_t(2));
        QCOMPARE(gateway.engine().config().pools[0].instances[0].weight, 3u);

        // validate: every error, nothing applied.
        const std::vector<protocol::ConfigOperation> bad{
            protocol::setWeight("p", "a", 7), protocol::setWeight("p", "nope", 1),
            protocol::patchPool("p", {{"strategy", "fastest"}})};
        protocol::ChangeRequest request{2, bad};
        auto params = protocol::toJson(request);
        params.erase("expectedVersion");
        const auto validation = admin.result("validate", params);
        QVERIFY2(roundTrips<protocol::ValidateResult>(validation, why), why.c_str());
        QCOMPARE(validation["valid"].get<bool>(), false);
        QCOMPARE(validation["errors"].size(), std::size_t(2));
        QVERIFY2(validation["errors"][0]["path"].get<std::string>().rfind("/operations/1", 0) == 0, validation.dump().c_str());
        QVERIFY2(validation["errors"][1]["path"].get<std::string>().rfind("/operations/2", 0) == 0, validation.dump().c_str());
        const auto good = admin.result("validate", {{"operations", nlohmann::json::array({protocol::encodeOperation(
                                                                        protocol::setWeight("p", "b", 4))})}});
        QCOMPARE(good["valid"].get<bool>(), true);
        QCOMPARE(good["diff"], (nlohmann::json::array({{{"op", "replace"}, {"path", "/pools/0/instances/1/weight"}, {"value", 4}}})));
        QCOMPARE(gateway.engine().configVersion(), std::uint64_t(2));

        // A transaction with one bad operation changes nothing.
        const auto failed = admin.call("transaction", protocol::toJson(request));
        QVERIFY(failed && failed->error);
        QCOMPARE(failed->error->code, rpc::kValidationFailed);
        QCOMPARE(failed->error->data["errors"].size(), std::size_t(2));
        QCOMPARE(gateway.engine().configVersion(), std::uint64_t(2));
        QCOMPARE(gateway.engine().config().pools[0].instances[0].weight, 3u);

        // A good one applies all of it as one version, with one audit record.
        protocol::ChangeRequest both{2, {protocol::setWeight("p", "a", 9), protocol::setState("p", "b", model::InstanceState::Draining)}};
        const auto applied = admin.result("transaction", protocol::toJson(both));
        QVERIFY2(!applied.is_null(), admin.error().c_str());
        QCOMPARE(applied["version"].get<std::uint64_t>(), std::uint64_t(3));
        QCOMPARE(applied["diff"].size(), std::size_t(2));
        const auto live = gateway.engine().config();
        QCOMPARE(live.pools[0].instances[0].weight, 9u);
        QVERIFY(live.pools[0].instances[1].state == model::InstanceState::Draining);

        const auto history = admin.result("history", {{"limit", 10}});
        QCOMPARE(history["records"].size(), std::size_t(3)); // start, setWeight, transaction
        const auto& last = history["records"].back();
        QCOMPARE(last["version"].get<std::uint64_t>(), std::uint64_t(3));
        QVERIFY2(last["client"].get<std::string>().rfind("admin 127.0.0.1:", 0) == 0, last.dump().c_str());
        QVERIFY2(last["summary"].get<std::string>().find("set weight of p/a to 9") != std::string::npos, last.dump().c_str());
        QCOMPARE(last["diff"], applied["diff"]);
        QVERIFY(last.at("time").get<std::int64_t>() > 0);

        // Removing what does not exist, and pools still in use by routes, are refused clearly.
        protocol::ConfigOperation removePool;
        removePool.kind = protocol::ConfigOperation::Kind::RemovePool;
        removePool.pool = "p";
        auto remove = protocol::encodeOperationParams(removePool);
        remove["expectedVersion"] = 3;
        const auto inUse = admin.call("pool.remove", remove);
        QVERIFY(inUse && inUse->error);
        QCOMPARE(inUse->error->code, rpc::kValidationFailed);
    }

    void unknownFieldsSurviveReadModifyWriteAndTheFile() {
        FakeBackend a("a"), b("b");
        TestGateway gateway(gatewayYaml({&a}, "", "    strategy: random\n"), {1, nullptr, 0, std::nullopt}, true);
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), gateway.adminToken()), admin.error().c_str());

        // Read the pool, change it as a newer console would (with a field this engine does not
        // know on the instance too), and put it back.
        auto config = admin.result("config.get");
        auto pool = config["config"]["pools"][0];
        pool["strategy"] = "round_robin";
        pool["instances"].push_back({{"id", "b"}, {"address", b.address()}, {"weight", 2}, {"x-zone", "eu-1"}});
        const auto put = admin.result("pool.put", {{"expectedVersion", config["version"]}, {"pool", pool}});
        QVERIFY2(!put.is_null(), admin.error().c_str());

        const auto after = admin.result("config.get")["config"];
        QCOMPARE(after["pools"][0]["x-ticket"].get<std::string>(), std::string("OPS-12"));
        QCOMPARE(after["pools"][0]["instances"][1]["x-zone"].get<std::string>(), std::string("eu-1"));
        QCOMPARE(after["routes"][0]["x-owner"].get<std::string>(), std::string("team-a"));
        QCOMPARE(after["pools"][0]["strategy"].get<std::string>(), std::string("round_robin"));

        const auto reread = engine::config::loadConfigFile(gateway.configPath());
        QVERIFY2(reread.ok(), reread.errorText().c_str());
        QVERIFY(reread.loaded->config == gateway.engine().config());
        QCOMPARE(reread.loaded->config.pools[0].extra["x-ticket"].get<std::string>(), std::string("OPS-12"));
        QCOMPARE(reread.loaded->config.pools[0].instances[1].extra["x-zone"].get<std::string>(), std::string("eu-1"));
        // Both instances now take traffic.
        std::set<std::string> seen;
        for (int i = 0; i < 20 && seen.size() < 2; ++i) {
            seen.insert(fetch(gateway.port(), "/api/x")->body);
        }
        QCOMPARE(seen, (std::set<std::string>{"a", "b"}));
    }

    void twoHundredChangesUnderLoadDropNothing() {
        FakeBackend a("a"), b("b"), c("c"), d("d");
        TestGateway gateway(gatewayYaml({&a, &b, &c}), {2, nullptr, 0, std::nullopt}, true);
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), gateway.adminToken()), admin.error().c_str());
        KeepAliveLoad load(gateway.port(), KeepAliveLoad::Options{4, 120s, 1'000'000, "/api/load"});
        QVERIFY2(load.waitForOk(200, 20s), load.lastError().c_str());

        const std::vector<std::string> strategies{"least_connections", "random", "power_of_two", "weighted_round_robin",
                                                  "least_ewma_latency", "round_robin"};
        bool dPresent = false;
        bool bDraining = false;
        std::uint32_t aWeight = 1;
        std::uint32_t cWeight = 1;
        auto next = [](std::uint32_t w) { return w % 9 + 1; }; // always a different weight
        std::uint64_t version = gateway.engine().configVersion();
        int conflicts = 0;
        for (int i = 0; i < 200; ++i) {
            std::vector<protocol::ConfigOperation> ops;
            switch (i % 5) {
            case 0:
                ops.push_back(protocol::setWeight("p", "a", aWeight = next(aWeight)));
                break;
            case 1:
                ops.push_back(dPresent ? protocol::removeInstance("p", "d")
                                       : protocol::putInstance("p", model::InstanceConfig{"d", d.address(), 1,
                                                                                          model::InstanceState::Enabled, {}}));
                dPresent = !dPresent;
                break;
            case 2:
                ops.push_back(protocol::patchPool("p", {{"strategy", strategies[(i / 5) % strategies.size()]}}));
                break;
            case 3:
                ops.push_back(protocol::setState("p", "b", bDraining ? model::InstanceState::Enabled
                                                                     : model::InstanceState::Draining));
                bDraining = !bDraining;
                break;
            default:
                ops.push_back(protocol::setWeight("p", "c", cWeight = next(cWeight)));
                ops.push_back(protocol::setWeight("p", "a", aWeight = next(aWeight)));
                break;
            }
            if (i % 40 == 20) {
                // Someone else's stale view is refused and changes nothing.
                const auto stale = admin.call("transaction", protocol::toJson(protocol::ChangeRequest{version - 1, ops}));
                QVERIFY(stale && stale->error);
                QCOMPARE(stale->error->code, rpc::kConflict);
                QCOMPARE(stale->error->data["currentVersion"].get<std::uint64_t>(), version);
                ++conflicts;
            }
            const auto result = admin.call("transaction", protocol::toJson(protocol::ChangeRequest{version, ops}));
            QVERIFY2(result && result->result, result && result->error ? result->error->message.c_str() : admin.error().c_str());
            QCOMPARE((*result->result)["version"].get<std::uint64_t>(), version + 1);
            version += 1;

            // The file always parses and always equals the live config.
            const auto onDisk = engine::config::loadConfigFile(gateway.configPath());
            QVERIFY2(onDisk.ok(), onDisk.errorText().c_str());
            QVERIFY2(onDisk.loaded->config == gateway.engine().config(), qPrintable(QString("after change %1").arg(i)));
            if (i % 20 == 0) {
                QVERIFY2(load.waitForMore(20, 20s), load.lastError().c_str()); // traffic keeps flowing
            }
        }
        QVERIFY2(load.waitForMore(100, 20s), load.lastError().c_str());
        // Still exactly the four client connections the load opened at the start.
        QCOMPARE(gateway.engine().engineInfo().activeConnections, std::int64_t(4));
        load.stop();
        qInfo("%llu requests during 200 admin changes (%d stale attempts refused)",
              static_cast<unsigned long long>(load.ok()), conflicts);
        QCOMPARE(load.failures(), std::uint64_t(0));
        QCOMPARE(conflicts, 5);
        QVERIFY(a.requestsReceived() > 0 && b.requestsReceived() > 0 && c.requestsReceived() > 0 &&
                d.requestsReceived() > 0);
        QCOMPARE(admin.result("history", {{"limit", 1000}})["records"].size(), std::size_t(201));
    }

    void statsCountEveryRequestAndMatchOurLatencies() {
        // Each request asks the backend for a delay, so latencies spread over many buckets.
        auto delayed = [](const ReceivedRequest& request) {
            Reply reply;
            const auto at = request.target.find("d=");
            reply.delay = std::chrono::milliseconds(at == std::string::npos ? 0 : std::stoi(request.target.substr(at + 2)));
            reply.body = "ok";
            return reply;
        };
        FakeBackend a("a", delayed), b("b", delayed);
        TestGateway gateway(gatewayYaml({&a, &b}), {2, nullptr, 0, std::nullopt});
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), gateway.adminToken()), admin.error().c_str());
        const auto started = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
        QVERIFY(!admin.result("subscribe", {{"topics", {"stats"}}}).is_null());

        constexpr int kThreads = 8;
        constexpr int kPerThread = 30;
        constexpr int kUnrouted = 5;
        std::vector<std::vector<std::uint64_t>> latencies(kThreads);
        std::atomic<int> failures{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                TestClient client(gateway.port(), 10s);
                for (int i = 0; i < kPerThread; ++i) {
                    const int delay = 20 + (t * kPerThread + i) * 7 % 41; // 20..60 ms
                    const auto begin = std::chrono::steady_clock::now();
                    const auto response = client.get("/api/x?d=" + std::to_string(delay));
                    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - begin);
                    if (!response || response->status != 200) {
                        ++failures;
                        return;
                    }
                    latencies[t].push_back(static_cast<std::uint64_t>(micros.count()));
                }
            });
        }
        for (auto& thread : threads) {
            thread.join();
        }
        QCOMPARE(failures.load(), 0);
        for (int i = 0; i < kUnrouted; ++i) {
            QCOMPARE(fetch(gateway.port(), "/elsewhere")->status, 404);
        }
        const std::uint64_t routed = kThreads * kPerThread;
        const std::uint64_t total = routed + kUnrouted;

        // stats.history (what a late console reads) adds up to exactly what was sent.
        std::vector<protocol::StatsFrame> frames;
        const auto deadline = std::chrono::steady_clock::now() + 15s;
        while (sumRequests(frames) < total && std::chrono::steady_clock::now() < deadline) {
            admin.waitNotification("stats", {}, 2s); // the next second's frame
            model::Diagnostics diagnostics;
            frames.clear();
            QVERIFY(protocol::fromJson(admin.result("stats.history", {{"since", started - 1000}}), frames, diagnostics));
        }
        QCOMPARE(sumRequests(frames), total);

        protocol::TrafficStats sum;
        protocol::TrafficStats route;
        protocol::TrafficStats pool;
        std::map<std::string, std::uint64_t> byInstance;
        for (const auto& frame : frames) {
            sum.merge(frame.total);
            if (frame.routes.count("api") != 0) {
                route.merge(frame.routes.at("api"));
            }
            if (frame.pools.count("p") != 0) {
                pool.merge(frame.pools.at("p"));
            }
            for (const auto& instance : frame.instances) {
                byInstance[instance.id] += instance.requests;
            }
        }
        QCOMPARE(sum.responses[1], routed);
        QCOMPARE(sum.responses[3], std::uint64_t(kUnrouted));
        QCOMPARE(sum.errors["no_route"], std::uint64_t(kUnrouted));
        QCOMPARE(route.requests, routed);
        QCOMPARE(pool.requests, routed);
        QCOMPARE(byInstance["a"], a.requestsReceived());
        QCOMPARE(byInstance["b"], b.requestsReceived());
        QCOMPARE(byInstance["a"] + byInstance["b"], routed);
        QCOMPARE(route.bytesOut, routed * 2); // "ok"
        QCOMPARE(route.latency.count(), routed);
        QCOMPARE(route.upstream.count(), routed);

        // Percentiles from the merged histogram lie between two bounds that hold however busy the
        // machine is: every request took at least the delay the backend was asked for (known
        // exactly), and at most what the test's clients measured around it (they also see loopback
        // and scheduling time); one bucket of slack for the percentile's position in its bucket.
        std::vector<std::uint64_t> ours;
        for (const auto& l : latencies) {
            ours.insert(ours.end(), l.begin(), l.end());
        }
        std::sort(ours.begin(), ours.end());
        std::vector<std::uint64_t> asked;
        for (int n = 0; n < kThreads * kPerThread; ++n) {
            asked.push_back(static_cast<std::uint64_t>(20 + n * 7 % 41) * 1000);
        }
        std::sort(asked.begin(), asked.end());
        for (const double q : {0.5, 0.9, 0.99, 1.0}) {
            const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(ours.size())));
            const auto upper = protocol::LatencyHistogram::bucketOf(ours[rank - 1]);
            const auto lower = protocol::LatencyHistogram::bucketOf(asked[rank - 1]);
            const auto measured = protocol::LatencyHistogram::bucketOf(route.latency.percentile(q) - 1);
            const auto upstream = protocol::LatencyHistogram::bucketOf(route.upstream.percentile(q) - 1);
            qInfo("p%g: asked bucket %zu, ours %llu us (bucket %zu), engine bucket %zu, upstream bucket %zu", q * 100,
                  lower, static_cast<unsigned long long>(ours[rank - 1]), upper, measured, upstream);
            QVERIFY2(measured + 1 >= lower && measured <= upper + 1,
                     qPrintable(QString("p%1: engine bucket %2 outside [%3, %4]").arg(q * 100).arg(measured).arg(lower).arg(upper)));
            QVERIFY(upstream + 1 >= lower && upstream <= measured);
        }

        // The live notifications carried the same totals as the history.
        std::uint64_t notified = 0;
        admin.result("unsubscribe", {{"topics", {"stats"}}});
        for (const auto& frame : frames) {
            notified += frame.total.requests;
        }
        QCOMPARE(notified, total);
    }

    void metricsParseStrictlyAndCount() {
        FakeBackend a("a"), b("b");
        TestGateway gateway(gatewayYaml({&a, &b}), {1, nullptr, 0, std::nullopt});
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        const std::string token = gateway.adminToken();
        for (int i = 0; i < 10; ++i) {
            QCOMPARE(fetch(gateway.port(), "/api/x")->status, 200);
        }
        for (int i = 0; i < 3; ++i) {
            QCOMPARE(fetch(gateway.port(), "/elsewhere")->status, 404);
        }
        // A request is counted once its response is written, which can be just after the client
        // has read it: scrape until the last of the 13 is in (or the deadline passes).
        std::optional<Response> response;
        PromParse parsed;
        const auto settled = [&parsed] {
            const auto* unrouted = parsed.sample("proxy_load_balancer_errors_total", {{"service", ""}, {"type", "no_route"}});
            const auto* count = parsed.sample("proxy_request_duration_seconds_count", {{"service", "p"}});
            return unrouted != nullptr && unrouted->value >= 3.0 && count != nullptr && count->value >= 10.0;
        };
        for (const auto deadline = std::chrono::steady_clock::now() + 5s;
             !settled() && std::chrono::steady_clock::now() < deadline;) {
            response = getWithToken(gateway.adminPort(), "/metrics", token);
            QVERIFY(response);
            parsed = parsePrometheusText(response->body);
        }
        QCOMPARE(response->status, 200);
        QVERIFY(response->header("Content-Type").rfind("text/plain; version=0.0.4", 0) == 0);
        std::string errors;
        for (const auto& e : parsed.errors) {
            errors += e + "\n";
        }
        QVERIFY2(parsed.errors.empty(), errors.c_str());

        for (const char* name : {"proxy_requests_total", "proxy_request_duration_seconds", "proxy_instances_available",
                                 "proxy_circuit_breaker_state", "proxy_retry_attempts_total",
                                 "proxy_load_balancer_errors_total", "proxy_instance_healthy", "proxy_active_connections"}) {
            QVERIFY2(parsed.family(name) != nullptr, name);
        }
        QCOMPARE(parsed.family("proxy_request_duration_seconds")->type, std::string("histogram"));
        const auto* aCount = parsed.sample("proxy_requests_total",
                                           {{"service", "p"}, {"method", "GET"}, {"status", "200"}, {"instance", "a"}});
        const auto* bCount = parsed.sample("proxy_requests_total",
                                           {{"service", "p"}, {"method", "GET"}, {"status", "200"}, {"instance", "b"}});
        QVERIFY(aCount && bCount);
        QCOMPARE(aCount->value, static_cast<double>(a.requestsReceived()));
        QCOMPARE(aCount->value + bCount->value, 10.0);
        const auto* count = parsed.sample("proxy_request_duration_seconds_count", {{"service", "p"}});
        QVERIFY(count);
        QCOMPARE(count->value, 10.0);
        QCOMPARE(parsed.sample("proxy_instances_available", {{"service", "p"}})->value, 2.0);
        QCOMPARE(parsed.sample("proxy_circuit_breaker_state", {{"service", "p"}, {"instance", "a"}})->value, 0.0);
        const auto* unrouted = parsed.sample("proxy_load_balancer_errors_total", {{"service", ""}, {"type", "no_route"}});
        QVERIFY(unrouted);
        QCOMPARE(unrouted->value, 3.0);

        // The shipped Grafana dashboard and scrape example use only what the engine exports.
        std::ifstream dashboardFile(std::string(GAETWAE_SOURCE_DIR) + "/resources/monitoring/grafana-dashboard.json");
        const auto dashboard = nlohmann::json::parse(dashboardFile, nullptr, false);
        QVERIFY(dashboard.is_object() && !dashboard["panels"].empty());
        const std::regex metric("proxy_[a-z_]+");
        int references = 0;
        for (const auto& panel : dashboard["panels"]) {
            for (const auto& target : panel["targets"]) {
                const auto expr = target["expr"].get<std::string>();
                for (auto it = std::sregex_iterator(expr.begin(), expr.end(), metric); it != std::sregex_iterator(); ++it) {
                    std::string name = it->str();
                    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
                        const std::string s(suffix);
                        if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0 &&
                            parsed.family(name.substr(0, name.size() - s.size())) != nullptr) {
                            name = name.substr(0, name.size() - s.size());
                        }
                    }
                    QVERIFY2(parsed.family(name) != nullptr, name.c_str());
                    ++references;
                }
            }
        }
        QVERIFY(references >= 13);
        std::ifstream scrapeFile(std::string(GAETWAE_SOURCE_DIR) + "/resources/monitoring/prometheus.yml");
        const std::string scrapeText((std::istreambuf_iterator<char>(scrapeFile)), std::istreambuf_iterator<char>());
        const auto scrape = engine::config::parseYaml(scrapeText, "prometheus.yml");
        QVERIFY(scrape.document);
        const auto& job = scrape.document->root["scrape_configs"][0];
        QCOMPARE(job["metrics_path"].get<std::string>(), std::string("/metrics"));
        QCOMPARE(job["authorization"]["type"].get<std::string>(), std::string("Bearer"));
        QCOMPARE(job["static_configs"][0]["targets"][0].get<std::string>(), model::AdminConfig().address);
    }

    void theStrictParserCatchesMistakes() {
        // The checker above must be able to fail: each of these is a real format error.
        const std::vector<std::string> broken{
            "x_total 1\n",                                                             // no HELP/TYPE
            "# HELP x_total h\n# TYPE x_total counter\nx_total{a=\"1} 1\n",           // unterminated label
            "# HELP x_total h\n# TYPE x_total counter\nx_total{a=\"\\q\"} 1\n",       // bad escape
            "# HELP x h\n# TYPE x counter\nx 1\n",                                     // counter without _total
            "# HELP g h\n# TYPE g gauge\ng one\n",                                     // bad value
            "# HELP g h\n# TYPE g gauge\ng 1\n# HELP k h\n# TYPE k gauge\nk 1\ng 2\n", // family split
            "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
            "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", // no +Inf
            "# HELP g h\n# TYPE g gauge\ng 1",                                         // no final newline
            "# HELP g h\n# TYPE g gauge\ng{0a=\"x\"} 1\n",                             // bad label name
            "# HELP g h\n# TYPE g gauge\ng 1\ng 2\n",                                  // duplicate series
        };
        for (const auto& text : broken) {
            QVERIFY2(!parsePrometheusText(text).errors.empty(), text.c_str());
        }
        const auto good = parsePrometheusText(
            "# HELP h a \\\\ help\\n\n# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1.5\n"
            "h_count 2\n# HELP g h\n# TYPE g gauge\ng{a=\"q\\\"\\n\\\\\"} -Inf\n");
        QVERIFY2(good.errors.empty(), good.errors.empty() ? "" : good.errors[0].c_str());
        QCOMPARE(good.sample("g", {{"a", "q\"\n\\"}})->value, -INFINITY);
    }

    void healthAndReadinessFollowTheInstances() {
        FakeBackend a("a");
        TestGateway gateway(gatewayYaml({&a}), {1, nullptr, 0, std::nullopt});
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        const std::string token = gateway.adminToken();
        auto health = getWithToken(gateway.adminPort(), "/health", token);
        QCOMPARE(health->status, 200);
        QCOMPARE(health->json()["status"].get<std::string>(), std::string("ok"));
        QCOMPARE(health->json()["pools"][0]["available"].get<int>(), 1);
        QCOMPARE(getWithToken(gateway.adminPort(), "/ready", token)->status, 200);

        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), token), admin.error().c_str());
        auto params = protocol::encodeOperationParams(protocol::setState("p", "a", model::InstanceState::Disabled));
        params["expectedVersion"] = gateway.engine().configVersion();
        QVERIFY2(!admin.result("instance.setState", params).is_null(), admin.error().c_str());
        health = getWithToken(gateway.adminPort(), "/health", token);
        QCOMPARE(health->status, 503);
        QCOMPARE(health->json()["pools"][0]["status"].get<std::string>(), std::string("down"));
        QCOMPARE(health->json()["pools"][0]["instances"][0]["state"].get<std::string>(), std::string("disabled"));
        QCOMPARE(getWithToken(gateway.adminPort(), "/ready", token)->status, 200); // up, just nothing to route to
        QCOMPARE(fetch(gateway.port(), "/api/x")->status, 503);
        TestClient headClient(gateway.adminPort());
        headClient.sendRaw("HEAD /ready HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\n\r\n");
        const auto head = headClient.readResponse(true);
        QVERIFY(head && head->status == 200 && head->body.empty());
    }

    void readinessTurnsOffWhileDraining() {
        FakeBackend a("a", [](const ReceivedRequest&) {
            Reply reply;
            reply.action = Reply::Action::WaitForRelease;
            return reply;
        });
        auto gateway = std::make_unique<TestGateway>(gatewayYaml({&a}), engine::core::Engine::Options{1, nullptr, 0, std::nullopt});
        QVERIFY2(gateway->ok(), gateway->error().c_str());
        const std::string token = gateway->adminToken();
        const auto adminPort = gateway->adminPort();
        std::optional<Response> inFlight;
        std::thread client([&] { inFlight = fetch(gateway->port(), "/api/slow", 20s); });
        QVERIFY(a.waitForRequests(1, 10s));
        std::thread stopper([&] { gateway->engine().shutdown(std::chrono::milliseconds(15000)); });
        // While the request finishes, the admin port says "not ready" (load balancers in front
        // stop sending) and health reports the drain.
        bool notReady = false;
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (!notReady && std::chrono::steady_clock::now() < deadline) {
            const auto ready = getWithToken(adminPort, "/ready", token);
            notReady = ready && ready->status == 503;
        }
        QVERIFY(notReady);
        const auto health = getWithToken(adminPort, "/health", token);
        QVERIFY(health && health->status == 503 && health->json()["draining"] == true);
        a.release();
        client.join();
        stopper.join();
        QVERIFY(inFlight && inFlight->status == 200);
    }

    void eventsReachSubscribers() {
        FakeBackend a("a"), b("b");
        TestGateway gateway(gatewayYaml({&a, &b}, "decision_log: {sample_rate: 1.0}\n"), {1, nullptr, 0, std::nullopt});
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        WsAdminClient admin;
        QVERIFY2(admin.connect(gateway.adminPort(), gateway.adminToken()), admin.error().c_str());
        const auto topics = admin.result("subscribe", {{"topics", {"events", "decisions"}}});
        QCOMPARE(topics["topics"], (nlohmann::json{"events", "decisions"}));

        auto params = protocol::encodeOperationParams(protocol::setState("p", "b", model::InstanceState::Draining));
        params["expectedVersion"] = gateway.engine().configVersion();
        QVERIFY(!admin.result("instance.setState", params).is_null());
        const auto config = admin.waitNotification("event", [](const nlohmann::json& e) { return e["kind"] == "config"; });
        QVERIFY2(config, admin.error().c_str());
        QCOMPARE((*config).params["to"].get<std::string>(), std::string("2"));
        const auto drain = admin.waitNotification("event", [](const nlohmann::json& e) {
            return e["kind"] == "drain" && e["instance"] == "b";
        });
        QVERIFY2(drain, admin.error().c_str());
        std::string why;
        QVERIFY2(roundTrips<protocol::EventRecord>(drain->params, why), why.c_str());

        QCOMPARE(fetch(gateway.port(), "/api/x")->status, 200);
        const auto decision = admin.waitNotification("event", [](const nlohmann::json& e) { return e["kind"] == "decision"; });
        QVERIFY2(decision, admin.error().c_str());
        QCOMPARE(decision->params["instance"].get<std::string>(), std::string("a")); // b is draining
        QVERIFY(!decision->params["data"].empty());

        // Unsubscribed: decisions stop, and the connection still answers.
        admin.result("unsubscribe", {{"topics", {"decisions"}}});
        QCOMPARE(fetch(gateway.port(), "/api/x")->status, 200);
        QVERIFY(admin.call("hello"));
    }

    void slowAndSilentClientsAreDroppedNotWaitedFor() {
        FakeBackend a("a");
        TestGateway gateway(gatewayYaml({&a}, "admin: {send_queue_limit: 16, ping_interval: 1s}\n"
                                              "decision_log: {sample_rate: 1.0}\n"),
                            {1, nullptr, 0, std::nullopt});
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        LogCapture log;
        RawWebSocket stuck(gateway.adminPort(), gateway.adminToken());
        QVERIFY(stuck.upgraded());
        stuck.sendText(protocol::makeRequest(1, "subscribe", {{"topics", {"events", "decisions"}}}));

        // It never reads: decision events pile up until the engine drops it. Traffic never waits.
        KeepAliveLoad load(gateway.port(), KeepAliveLoad::Options{2, 60s, 1'000'000, "/api/x"});
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (log.text().find("admin: dropping") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
            QVERIFY2(load.waitForMore(200, 10s), load.lastError().c_str());
        }
        QVERIFY2(log.text().find("admin: dropping") != std::string::npos, "the stuck client was never dropped");
        QVERIFY(stuck.drainUntilClosed(10s));
        QVERIFY2(load.waitForMore(100, 10s), load.lastError().c_str());
        load.stop();
        QCOMPARE(load.failures(), std::uint64_t(0));

        // A client that answers pings stays; one that is silent past the idle timeout goes.
        WsAdminClient alive;
        QVERIFY2(alive.connect(gateway.adminPort(), gateway.adminToken()), alive.error().c_str());
        RawWebSocket silent(gateway.adminPort(), gateway.adminToken());
        QVERIFY(silent.upgraded());
        // Wait on another thread so this one keeps answering the engine's pings for `alive`.
        auto closed = std::async(std::launch::async, [&] { return silent.drainUntilClosed(10s); });
        QTRY_VERIFY_WITH_TIMEOUT(closed.wait_for(0s) == std::future_status::ready, 15000);
        QVERIFY2(closed.get(), "an unresponsive client was kept past its ping timeout");
        const auto more = std::chrono::steady_clock::now() + 2500ms; // past another idle timeout
        QTRY_VERIFY_WITH_TIMEOUT(std::chrono::steady_clock::now() > more, 5000);
        QVERIFY(alive.connected());
        QVERIFY(alive.call("hello"));
    }
};

QTEST_GUILESS_MAIN(TestAdminApi)
#include "tst_admin_api.moc"
