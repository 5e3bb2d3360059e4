#pragma once

#include "engine/core/event_bus.hpp"
#include "engine/net/asio.hpp"
#include "shared/model/config.hpp"
#include "shared/model/diagnostics.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

struct redisReader;

namespace gaetwae::engine::policy {

// Whether the engine can reach Redis, for /metrics and the event timeline. Shared by the clients
// of all workers: Redis is "up" while at least one of them is connected, and each transition is
// logged and published once (a "redis" event), however many workers and requests notice it.
class RedisStatus {
public:
    explicit RedisStatus(core::EventBus* events)
        : m_events(events) {}

    void clientUp(std::string_view address);
    // `expected`: the client was stopped (shutdown, another server configured), not lost.
    void clientDown(std::string_view address, std::string_view reason, bool expected = false);
    // A connection attempt failed; announces "down" once if Redis never came up.
    void connectFailed(std::string_view address, std::string_view reason);

    void countError() { m_errors.fetch_add(1, std::memory_order_relaxed); }
    void countFallback(model::LimitOnError mode) {
        m_fallbacks[static_cast<std::size_t>(mode)].fetch_add(1, std::memory_order_relaxed);
    }

    bool up() const { return m_connected.load(std::memory_order_relaxed) > 0; }
    int connections() const { return m_connected.load(std::memory_order_relaxed); } // workers connected
    std::uint64_t errors() const { return m_errors.load(std::memory_order_relaxed); }
    std::uint64_t fallbacks(model::LimitOnError mode) const {
        return m_fallbacks[static_cast<std::size_t>(mode)].load(std::memory_order_relaxed);
    }

private:
    void announce(bool up, std::string_view address, std::string_view reason, bool expected = false);

    core::EventBus* m_events;
    std::mutex m_mutex; // transitions only
    int m_clients = 0;
    bool m_announced = false; // a state was announced
    bool m_announcedUp = false;
    std::atomic<int> m_connected{0};
    std::atomic<std::uint64_t> m_errors{0};
    std::atomic<std::uint64_t> m_fallbacks[3] = {};
};

// The Redis server of one config snapshot: its settings, resolved address and password.
struct RedisTarget {
    model::RedisConfig config;
    tcp::endpoint endpoint;
    std::string password; // from redis.password_file; never logged
    std::shared_ptr<RedisStatus> status;

    bool sameServer(const RedisTarget& other) const {
        return config == other.config && endpoint == other.endpoint && password == other.password;
    }
};

// Reads the password file and resolves the address (control thread, like pool instances).
// Problems become diagnostics on /redis/...; the result is nullptr then.
std::shared_ptr<const RedisTarget> resolveRedisTarget(const model::RedisConfig& config,
                                                      std::shared_ptr<RedisStatus> status,
                                                      model::Diagnostics& diagnostics);

// One parsed Redis reply (the subset our script and the handshake use).
struct RedisReply {
    enum class Kind { Nil, Integer, String, Status, Error, Array };
    Kind kind = Kind::Nil;
    std::int64_t integer = 0;
    std::string text;
    std::vector<RedisReply> elements;
};

// A command's result: a reply, or why there is none (not connected, timed out, connection lost).
struct RedisResult {
    bool ok = false;
    std::string failure;
    RedisReply reply;
};

// The Redis connection of one worker: an Asio socket on the worker's io_context, hiredis only for
// the protocol (redisFormatCommandArgv to encode, a redisReader to parse). Concurrent requests
// are pipelined on the one connection and answered in order (at most 10,000 waiting; more fail at
// once).
//
// It never blocks the worker and never makes a request wait longer than redis.command_timeout:
// while disconnected a command fails at once; when the oldest command outlives its deadline the
// connection is considered broken, every waiting command fails and a new connection is made with
// backoff (100 ms doubling to 2 s). On connect it authenticates, selects the db and loads the
// limit script (SCRIPT LOAD); evalScript() then sends EVALSHA and, should the server have lost
// the script (NOSCRIPT after a restart or SCRIPT FLUSH), resends the command once as EVAL.
// Worker thread only, apart from construction.
class RedisClient : public std::enable_shared_from_this<RedisClient> {
public:
    RedisClient(asio::io_context& io, std::shared_ptr<const RedisTarget> target, std::string script);
    ~RedisClient();
    RedisClient(const RedisClient&) = delete;
    RedisClient& operator=(const RedisClient&) = delete;

    void start();
    // Closes the connection; waiting commands fail. Idempotent.
    void stop(std::string_view reason);
    const RedisTarget& target() const { return *m_target; }
    bool connected() const { return m_state == State::Up; }

    // EVALSHA of the script with `keys` and `args`; completes with the result on the worker's
    // executor (never inline).
    template <class Token>
    auto evalScript(std::vector<std::string> keys, std::vector<std::string> args, Token&& token) {
        return asio::async_initiate<Token, void(RedisResult)>(
            [this](auto handler, std::vector<std::string> keys, std::vector<std::string> args) {
                auto executor = asio::get_associated_executor(handler, m_io.get_executor());
                submitScript(
                    std::move(keys), std::move(args),
                    makeCompletion([handler = std::move(handler), executor](RedisResult result) mutable {
                        asio::post(executor,
                                   [handler = std::move(handler), result = std::move(result)]() mutable {
                                       std::move(handler)(std::move(result));
                                   });
                    }));
            },
            token, std::move(keys), std::move(args));
    }

private:
    enum class State { Down, Connecting, Handshake, Up, Stopped };

    struct Completion {
        virtual ~Completion() = default;
        virtual void complete(RedisResult result) = 0;
    };
    template <class Fn> struct FnCompletion final : Completion {
        explicit FnCompletion(Fn fn)
            : fn(std::move(fn)) {}
        void complete(RedisResult result) override { fn(std::move(result)); }
        Fn fn;
    };
    template <class Fn> static std::unique_ptr<Completion> makeCompletion(Fn fn) {
        return std::make_unique<FnCompletion<Fn>>(std::move(fn));
    }

    struct Pending {
        std::unique_ptr<Completion> done;
        std::chrono::steady_clock::time_point deadline;
        std::string keyCount;          // EVALSHA's numkeys
        std::vector<std::string> keys; // kept for a NOSCRIPT retry
        std::vector<std::string> args;
        bool script = false; // an EVALSHA that may be retried as EVAL
    };

    void submitScript(std::vector<std::string> keys, std::vector<std::string> args,
                      std::unique_ptr<Completion> done);
    // Formats `argv` (which may point into `pending`) before taking `pending` over.
    void send(std::vector<std::string_view> argv, Pending&& pending);
    void appendScriptCommand(bool bySha, const Pending& pending, std::vector<std::string_view>& argv) const;
    Task<void> run(std::shared_ptr<RedisClient> self);
    Task<void> readLoop(std::uint64_t generation);
    Task<void> writeLoop(std::shared_ptr<RedisClient> self, std::uint64_t generation);
    Task<void> deadlineLoop(std::shared_ptr<RedisClient> self, std::uint64_t generation);
    void onReply(RedisReply reply);
    // Ends the connection (deadline missed, I/O error, protocol error): every waiting command fails.
    void fail(std::string_view reason);

    asio::io_context& m_io;
    std::shared_ptr<const RedisTarget> m_target;
    std::string m_script;
    std::string m_sha; // from SCRIPT LOAD
    std::string m_address;
    State m_state = State::Down;
    std::uint64_t m_generation = 0; // one per connection, so stale loops stop
    Socket m_socket;
    SteadyTimer m_timer;    // backoff and connect timeout
    SteadyTimer m_deadline; // the oldest command's deadline
    std::deque<Pending> m_pending;
    std::string m_out;     // formatted commands not yet handed to a write
    std::string m_writing; // the batch being written
    bool m_writeActive = false;
    redisReader* m_reader = nullptr;
};

// The client a worker uses for `target`: `current` when it serves the same server, else a new
// started one (the old one is stopped; its waiting commands fail over to on_error).
std::shared_ptr<RedisClient> followRedisTarget(std::shared_ptr<RedisClient> current, asio::io_context& io,
                                               const std::shared_ptr<const RedisTarget>& target);

} // namespace gaetwae::engine::policy
