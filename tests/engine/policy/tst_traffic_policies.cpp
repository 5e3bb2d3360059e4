// Retries, pool limits, sticky sessions, manual instance states, hashing and the decision log,
// end to end through real sockets.
#include "tests/support/event_recorder.hpp"
#include "tests/support/fake_backend.hpp"
#include "tests/support/test_client.hpp"
#include "tests/support/test_gateway.hpp"

#include <fmt/format.h>

#include <QtTest>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace gaetwae::test;
using Kind = gaetwae::engine::core::EngineEvent::Kind;

namespace {

struct Member {
    std::string id;
    std::string address;
    std::string extra; // e.g. ", state: draining"
};

std::string yamlWith(const std::vector<Member>& members, const std::string& policies, const std::string& top = "") {
    std::string yaml = "listeners: [{address: \"127.0.0.1:0\"}]\naccess_log: {enabled: false}\n" + top +
                       "routes: [{name: all, match: {path_prefix: /}, pool: p}]\n"
                       "pools:\n  - name: p\n" +
                       policies + "    instances:\n";
    for (const auto& m : members) {
        yaml += fmt::format("      - {{id: {}, address: \"{}\"{}}}\n", m.id, m.address, m.extra);
    }
    return yaml;
}

Reply status(int code, std::vector<std::pair<std::string, std::string>> headers = {}) {
    Reply reply;
    reply.status = code;
    reply.headers = std::move(headers);
    return reply;
}

std::string cookieValue(const Response& response, const std::string& name) {
    const auto line = response.header("Set-Cookie");
    if (!line.starts_with(name + "=")) {
        return {};
    }
    return line.substr(name.size() + 1, line.find(';') - name.size() - 1);
}

} // namespace

class TestTrafficPolicies : public QObject {
    Q_OBJECT

private slots:
    // ---------------------------------------------------------------- retries
    void retriesGoToAnotherInstance() {
        FakeBackend failing("failing", [](const ReceivedRequest&) { return status(503); });
        FakeBackend good("good");
        TestGateway gateway(yamlWith({{"failing", failing.address(), ""}, {"good", good.address(), ""}},
                                     "    retry: {backoff_base: 1ms, backoff_max: 2ms}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        EventRecorder events(gateway.engine().events());
        TestClient client(gateway.port());
        for (int i = 0; i < 8; ++i) {
            const auto response = client.get("/");
            QCOMPARE(response->status, 200);
            QCOMPARE(response->header("Server"), std::string("good"));
        }
        // Round robin starts every request at the failing instance until outlier detection
        // ejects it after 5 gateway failures in a row (the default); then it gets nothing.
        QCOMPARE(failing.requestsReceived(), std::uint64_t(5));
        QVERIFY(events.waitFor(isEvent(Kind::Ejection, "failing", "ejected"), 5s));
    }

    void retryAfterIsHonouredOrPassedOn() {
        std::atomic<int> calls{0};
        std::atomic<int> retryAfter{0};
        FakeBackend only("only", [&](const ReceivedRequest&) {
            if (calls++ == 0) {
                return status(503, {{"Retry-After", std::to_string(retryAfter.load())}});
            }
            return status(200);
        });
        TestGateway gateway(yamlWith({{"only", only.address(), ""}}, "    retry: {max_retry_after: 1s}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        QCOMPARE(client.get("/")->status, 200); // Retry-After: 0, retried at once
        calls = 0;
        retryAfter = 30; // longer than max_retry_after: the backend's answer goes to the client
        const auto passed = client.get("/");
        QCOMPARE(passed->status, 503);
        QCOMPARE(passed->header("Retry-After"), std::string("30"));
        QCOMPARE(calls.load(), 1);
    }

    void nonIdempotentRequestsAreOnlyRetriedWhenSafe() {
        FakeBackend failing("failing", [](const ReceivedRequest&) { return status(503); });
        FakeBackend good("good", [](const ReceivedRequest& request) {
            Reply reply;
            reply.body = request.body;
            return reply;
        });
        const std::string dead = "127.0.0.1:" + std::to_string(closedPort());
        {
            TestGateway gateway(yamlWith({{"failing", failing.address(), ""}, {"good", good.address(), ""}},
                                         "    strategy: round_robin\n"));
            QVERIFY2(gateway.ok(), gateway.error().c_str());
            TestClient client(gateway.port());
            QCOMPARE(client.request("POST", "/", {}, "order")->status, 503); // may have been acted on
            const auto keyed = client.request("POST", "/", {{"Idempotency-Key", "k-1"}}, "order-2");
            QCOMPARE(keyed->status, 200); // the client declared it safe to repeat
            QCOMPARE(keyed->body, std::string("order-2"));
        }
        {
            TestGateway gateway(yamlWith({{"dead", dead, ""}, {"good", good.address(), ""}}, "    strategy: round_robin\n"));
            QVERIFY2(gateway.ok(), gateway.error().c_str());
            TestClient client(gateway.port());
            const auto response = client.request("POST", "/", {}, "never sent to dead");
            QCOMPARE(response->status, 200); // a refused connect sent nothing: any method is retried
            QCOMPARE(response->body, std::string("never sent to dead"));
        }
    }

    void bufferedBodiesAreReplayedOnRetry() {
        FakeBackend closing("closing", [](const ReceivedRequest&) {
            Reply reply;
            reply.action = Reply::Action::CloseBeforeHead;
            return reply;
        });
        FakeBackend good("good", [](const ReceivedRequest& request) {
            Reply reply;
            reply.body = std::to_string(request.bodyBytes);
            return reply;
        });
        TestGateway gateway(yamlWith({{"closing", closing.address(), ""}, {"good", good.address(), ""}},
                                     "    retry: {buffer_body_bytes: 64KiB}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        // The body arrives in two pieces: the gateway reads it whole before the first try.
        QVERIFY(client.sendRaw("PUT /doc HTTP/1.1\r\nHost: h\r\nContent-Length: 40000\r\n\r\n" + std::string(20000, 'x')));
        QVERIFY(client.sendRaw(std::string(20000, 'y')));
        const auto response = client.readResponse();
        QVERIFY2(response, client.error().c_str());
        QCOMPARE(response->status, 200);
        QCOMPARE(response->body, std::string("40000"));
        QCOMPARE(closing.received().at(0).bodyBytes, std::uint64_t(40000));
    }

    void perTryTimeoutMovesOn() {
        FakeBackend hanging("hanging", [](const ReceivedRequest&) {
            Reply reply;
            reply.action = Reply::Action::Hang;
            return reply;
        });
        FakeBackend good("good");
        TestGateway gateway(yamlWith({{"hanging", hanging.address(), ""}, {"good", good.address(), ""}},
                                     "    retry: {per_try_timeout: 200ms}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        for (int i = 0; i < 2; ++i) {
            const auto response = client.get("/");
            QCOMPARE(response->status, 200);
            QCOMPARE(response->header("Server"), std::string("good"));
        }
        hanging.release();
    }

    void retriesStopAtTheAttemptLimit() {
        FakeBackend failing("failing", [](const ReceivedRequest&) { return status(502); });
        TestGateway gateway(yamlWith({{"failing", failing.address(), ""}},
                                     "    retry: {attempts: 3, backoff_base: 1ms, backoff_max: 1ms}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        QCOMPARE(TestClient(gateway.port()).get("/")->status, 502);
        QCOMPARE(failing.requestsReceived(), std::uint64_t(4));
    }

    // ---------------------------------------------------------------- limits
    void poolActiveRequestLimit() {
        FakeBackend held("held", [](const ReceivedRequest&) {
            Reply reply;
            reply.action = Reply::Action::WaitForRelease;
            return reply;
        });
        TestGateway gateway(yamlWith({{"held", held.address(), ""}}, "    limits: {max_active_requests: 2}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient c1(gateway.port()), c2(gateway.port()), c3(gateway.port());
        QVERIFY(c1.sendRaw("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
        QVERIFY(c2.sendRaw("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
        QVERIFY(held.waitForRequests(2, 5s));
        const auto refused = c3.get("/");
        QCOMPARE(refused->status, 503);
        QCOMPARE(refused->json()["error"].get<std::string>(), std::string("pool_overloaded"));
        held.release();
        QCOMPARE(c1.readResponse()->status, 200);
        QCOMPARE(c2.readResponse()->status, 200);
        QCOMPARE(c3.get("/")->status, 200);
    }

    // ---------------------------------------------------------------- sticky sessions
    void stickyCookieKeepsClientsAndDrainingMovesThem() {
        std::vector<std::unique_ptr<FakeBackend>> backends;
        std::vector<Member> members;
        for (int i = 0; i < 4; ++i) {
            backends.push_back(std::make_unique<FakeBackend>("s" + std::to_string(i)));
            members.push_back({backends.back()->name(), backends.back()->address(), ""});
        }
        const std::string policies = "    strategy: round_robin\n    sticky: {mode: cookie, cookie: route, ttl: 1h}\n";
        TestGateway gateway(yamlWith(members, policies), 2);
        QVERIFY2(gateway.ok(), gateway.error().c_str());

        constexpr int kClients = 100;
        constexpr int kRequests = 1000;
        struct Client {
            std::unique_ptr<TestClient> connection;
            std::string cookie;
            std::string backend;
        };
        std::vector<Client> clients(kClients);
        std::atomic<int> broken{0};
        std::mutex errorMutex;
        std::string error;
        auto run = [&](int first, int step, int requests) {
            for (int n = 0; n < requests; ++n) {
                for (int c = first; c < kClients; c += step) {
                    auto& client = clients[c];
                    if (!client.connection) {
                        client.connection = std::make_unique<TestClient>(gateway.port());
                    }
                    std::vector<std::pair<std::string, std::string>> headers;
                    if (!client.cookie.empty()) {
                        headers.emplace_back("Cookie", "theme=dark; route=" + client.cookie);
                    }
                    const auto response = client.connection->request("GET", "/", headers);
                    if (!response || response->status != 200) {
                        ++broken;
                        std::lock_guard lock(errorMutex);
                        error = client.connection->error();
                        return;
                    }
                    const auto server = response->header("Server");
                    const auto cookie = cookieValue(*response, "route");
                    if (client.cookie.empty()) {
                        client.cookie = cookie;
                        client.backend = server;
                    } else if (server != client.backend || !cookie.empty()) {
                        ++broken; // moved, or re-bound for no reason
                    }
                }
            }
        };
        std::vector<std::thread> threads;
        for (int t = 0; t < 5; ++t) {
            threads.emplace_back(run, t, 5, kRequests);
        }
        for (auto& t : threads) {
            t.join();
        }
        QVERIFY2(broken == 0, error.c_str());
        std::map<std::string, int> perBackend;
        for (const auto& client : clients) {
            QVERIFY(!client.cookie.empty());
            perBackend[client.backend]++;
        }
        QCOMPARE(perBackend.size(), size_t(4)); // new clients were spread by the strategy

        // Drain s1: its clients move (and get a new cookie); everyone else stays put.
        members[1].extra = ", state: draining";
        QCOMPARE(gateway.apply(yamlWith(members, policies)), std::string());
        int moved = 0;
        for (auto& client : clients) {
            std::vector<std::pair<std::string, std::string>> headers{{"Cookie", "route=" + client.cookie}};
            const auto response = client.connection->request("GET", "/", headers);
            QVERIFY(response && response->status == 200);
            const auto server = response->header("Server");
            if (client.backend == "s1") {
                QVERIFY(server != "s1");
                QVERIFY(!cookieValue(*response, "route").empty());
                QVERIFY(cookieValue(*response, "route") != client.cookie);
                ++moved;
            } else {
                QCOMPARE(server, client.backend);
                QVERIFY(response->header("Set-Cookie").empty());
            }
        }
        QCOMPARE(moved, perBackend["s1"]);
        const auto line = clients[0].connection->get("/")->header("Set-Cookie"); // no cookie sent
        QVERIFY(line.find("Max-Age=3600") != std::string::npos && line.find("HttpOnly") != std::string::npos);
    }

    void stickyHashOnASessionCookie() {
        FakeBackend a("a"), b("b"), c("c");
        TestGateway gateway(yamlWith({{"a", a.address(), ""}, {"b", b.address(), ""}, {"c", c.address(), ""}},
                                     "    sticky: {mode: hash, hash_on: {source: cookie, name: JSESSIONID}}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        std::map<std::string, std::string> home;
        for (int session = 0; session < 30; ++session) {
            TestClient client(gateway.port());
            const std::string cookie = "JSESSIONID=s" + std::to_string(session);
            for (int i = 0; i < 5; ++i) {
                const auto server = client.request("GET", "/", {{"Cookie", cookie}})->header("Server");
                if (home[cookie].empty()) {
                    home[cookie] = server;
                }
                QCOMPARE(server, home[cookie]);
            }
        }
        std::set<std::string> used;
        for (const auto& [cookie, server] : home) {
            used.insert(server);
        }
        QCOMPARE(used.size(), size_t(3));
    }

    // ---------------------------------------------------------------- manual states
    void disabledAndDrainingInstances() {
        FakeBackend a("a"), b("b", [](const ReceivedRequest& request) {
            Reply reply;
            reply.headers.emplace_back("Server", "b");
            if (request.target == "/slow") {
                reply.action = Reply::Action::WaitForRelease;
            }
            return reply;
        });
        const std::string policies = "    strategy: round_robin\n";
        std::vector<Member> members{{"a", a.address(), ""}, {"b", b.address(), ", state: disabled"}};
        TestGateway gateway(yamlWith(members, policies));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        EventRecorder events(gateway.engine().events());
        TestClient client(gateway.port());
        for (int i = 0; i < 4; ++i) {
            QCOMPARE(client.get("/")->header("Server"), std::string("a"));
        }
        members[1].extra = "";
        QCOMPARE(gateway.apply(yamlWith(members, policies)), std::string());
        std::set<std::string> seen;
        for (int i = 0; i < 4; ++i) {
            seen.insert(client.get("/")->header("Server"));
        }
        QCOMPARE(seen, (std::set<std::string>{"a", "b"}));

        // A request in flight on b when b starts draining finishes; new ones avoid b. To land
        // one there for sure, a is disabled for a moment.
        members[0].extra = ", state: disabled";
        QCOMPARE(gateway.apply(yamlWith(members, policies)), std::string());
        TestClient slow(gateway.port());
        const auto before = b.requestsReceived();
        QVERIFY(slow.sendRaw("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n"));
        QVERIFY(b.waitForRequests(before + 1, 5s));
        members[0].extra = "";
        members[1].extra = ", state: draining";
        QCOMPARE(gateway.apply(yamlWith(members, policies)), std::string());
        for (int i = 0; i < 4; ++i) {
            QCOMPARE(client.get("/")->header("Server"), std::string("a"));
        }
        QVERIFY(events.waitFor(isEvent(Kind::Drain, "b", "draining"), 5s));
        b.release();
        QCOMPARE(slow.readResponse()->status, 200);
        QVERIFY(events.waitFor(isEvent(Kind::Drain, "b", "drained"), 5s));
    }

    // ---------------------------------------------------------------- hashing and decisions
    void consistentHashOnAHeaderOverHttp() {
        FakeBackend a("a"), b("b"), c("c");
        TestGateway gateway(yamlWith({{"a", a.address(), ""}, {"b", b.address(), ""}, {"c", c.address(), ""}},
                                     "    strategy: consistent_hash\n    hash_on: {source: header, name: X-User}\n"
                                     "    consistent_hash: {algorithm: maglev, bounded_load: 0}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        TestClient client(gateway.port());
        std::map<std::string, std::string> home;
        for (int round = 0; round < 3; ++round) {
            for (int user = 0; user < 50; ++user) {
                const std::string id = "user-" + std::to_string(user);
                const auto server = client.request("GET", "/", {{"X-User", id}})->header("Server");
                if (round == 0) {
                    home[id] = server;
                }
                QCOMPARE(server, home[id]);
            }
        }
    }

    void decisionsAreSampledWithTheirReasons() {
        FakeBackend a("a"), b("b");
        TestGateway gateway(yamlWith({{"a", a.address(), ""}, {"b", b.address(), ", weight: 0"}},
                                     "    strategy: least_connections\n", "decision_log: {sample_rate: 1.0}\n"));
        QVERIFY2(gateway.ok(), gateway.error().c_str());
        EventRecorder events(gateway.engine().events());
        QCOMPARE(TestClient(gateway.port()).get("/")->status, 200);
        const auto decision = events.waitFor([](const auto& e) { return e.kind == Kind::Decision; }, 5s);
        QVERIFY(decision);
        QCOMPARE(decision->instance, std::string("a"));
        QCOMPARE(decision->data["strategy"].get<std::string>(), std::string("least_connections"));
        QCOMPARE(decision->data["candidates"].size(), size_t(1));
        QCOMPARE(decision->data["excluded"][0]["instance"].get<std::string>(), std::string("b"));
        QCOMPARE(decision->data["excluded"][0]["reason"].get<std::string>(), std::string("weight 0"));
    }
};

QTEST_GUILESS_MAIN(TestTrafficPolicies)
#include "tst_traffic_policies.moc"
