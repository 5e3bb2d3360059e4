#include "engine/policy/redis_client.hpp"

#include "engine/policy/shared_limit_script.hpp"
#include "shared/model/address.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <netdb.h>

#include <algorithm>
#include <cstring>
#include <fstream>

namespace gaetwae::engine::policy {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kFirstBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::seconds(2);
constexpr std::size_t kReadChunk = 16 * 1024;
// Commands waiting for a reply on one connection. Within a command timeout a healthy Redis
// answers far more; beyond it new commands fail at once instead of queueing without bound.
constexpr std::size_t kMaxPending = 10'000;

RedisReply convert(const redisReply& r) {
    RedisReply out;
    switch (r.type) {
    case REDIS_REPLY_INTEGER:
        out.kind = RedisReply::Kind::Integer;
        out.integer = r.integer;
        break;
    case REDIS_REPLY_STRING:
        out.kind = RedisReply::Kind::String;
        out.text.assign(r.str, r.len);
        break;
    case REDIS_REPLY_STATUS:
        out.kind = RedisReply::Kind::Status;
        out.text.assign(r.str, r.len);
        break;
    case REDIS_REPLY_ERROR:
        out.kind = RedisReply::Kind::Error;
        out.text.assign(r.str, r.len);
        break;
    case REDIS_REPLY_ARRAY:
        out.kind = RedisReply::Kind::Array;
        out.elements.reserve(r.elements);
        for (std::size_t i = 0; i < r.elements; ++i) {
            out.elements.push_back(convert(*r.element[i]));
        }
        break;
    default:
        out.kind = RedisReply::Kind::Nil;
        break;
    }
    return out;
}

RedisResult failure(std::string_view why) {
    RedisResult result;
    result.failure = std::string(why);
    return result;
}

} // namespace

// ---- RedisStatus

void RedisStatus::clientUp(std::string_view address) {
    std::lock_guard lock(m_mutex);
    ++m_clients;
    m_connected.store(m_clients, std::memory_order_relaxed);
    if (!m_announced || !m_announcedUp) {
        announce(true, address, {});
    }
}

void RedisStatus::clientDown(std::string_view address, std::string_view reason, bool expected) {
    std::lock_guard lock(m_mutex);
    m_clients = std::max(0, m_clients - 1);
    m_connected.store(m_clients, std::memory_order_relaxed);
    if (m_clients == 0 && m_announcedUp) {
        announce(false, address, reason, expected);
    }
}

void RedisStatus::connectFailed(std::string_view address, std::string_view reason) {
    std::lock_guard lock(m_mutex);
    if (!m_announced) {
        announce(false, address, reason);
    }
}

void RedisStatus::announce(bool up, std::string_view address, std::string_view reason, bool expected) {
    m_announced = true;
    m_announcedUp = up;
    if (up) {
        spdlog::info("redis {} is up: distributed limits are shared again", address);
    } else if (expected) {
        spdlog::info("redis {}: disconnected ({})", address, reason);
    } else {
        spdlog::warn("redis {} is down ({}): distributed limits follow their on_error", address, reason);
    }
    if (m_events == nullptr) {
        return;
    }
    core::EngineEvent event;
    event.kind = core::EngineEvent::Kind::Redis;
    event.instance = std::string(address);
    event.from = up ? "down" : "up";
    event.to = up ? "up" : "down";
    event.detail = std::string(reason);
    m_events->publish(std::move(event));
}

// ---- target

std::shared_ptr<const RedisTarget> resolveRedisTarget(const model::RedisConfig& config,
                                                      std::shared_ptr<RedisStatus> status,
                                                      model::Diagnostics& diagnostics) {
    auto target = std::make_shared<RedisTarget>();
    target->config = config;
    target->status = std::move(status);
    std::string error;
    const auto address = model::parseHostPort(config.address, &error);
    if (!address) {
        diagnostics.error("/redis/address", error);
        return nullptr;
    }
    error_code ec;
    const auto literal = asio::ip::make_address(address->host, ec);
    if (!ec) {
        target->endpoint = tcp::endpoint(literal, address->port);
    } else {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* result = nullptr;
        const int rc = ::getaddrinfo(address->host.c_str(), nullptr, &hints, &result);
        if (rc != 0 || result == nullptr) {
            diagnostics.error("/redis/address",
                              "cannot resolve host '" + address->host + "': " + ::gai_strerror(rc));
            return nullptr;
        }
        std::memcpy(target->endpoint.data(), result->ai_addr, result->ai_addrlen);
        ::freeaddrinfo(result);
        target->endpoint.port(address->port);
    }
    if (!config.passwordFile.empty()) {
        std::ifstream in(config.passwordFile);
        if (!in || !std::getline(in, target->password) || target->password.empty()) {
            diagnostics.error("/redis/password_file",
                              "cannot read a password from '" + config.passwordFile + "' (its first line)");
            return nullptr;
        }
        if (!target->password.empty() && target->password.back() == '\r') {
            target->password.pop_back();
        }
    }
    return target;
}

// ---- client

RedisClient::RedisClient(asio::io_context& io, std::shared_ptr<const RedisTarget> target, std::string script)
    : m_io(io)
    , m_target(std::move(target))
    , m_script(std::move(script))
    , m_address(m_target->config.address)
    , m_socket(io)
    , m_timer(io)
    , m_deadline(io) {}

RedisClient::~RedisClient() {
    if (m_reader != nullptr) {
        redisReaderFree(m_reader);
    }
}

void RedisClient::start() {
    asio::co_spawn(m_io, run(shared_from_this()), asio::detached);
}

void RedisClient::stop(std::string_view reason) {
    if (m_state == State::Stopped) {
        return;
    }
    const bool wasUp = m_state == State::Up;
    m_state = State::Stopped;
    ++m_generation;
    error_code ignored;
    m_socket.close(ignored);
    m_timer.cancel();
    m_deadline.cancel();
    if (wasUp) {
        m_target->status->clientDown(m_address, reason, true);
    }
    auto pending = std::move(m_pending);
    m_pending.clear();
    for (auto& p : pending) {
        p.done->complete(failure("the redis client stopped"));
    }
}

void RedisClient::submitScript(std::vector<std::string> keys, std::vector<std::string> args,
                               std::unique_ptr<Completion> done) {
    if (m_state != State::Up) {
        // No waiting for a connection: the limit's on_error decides at once.
        done->complete(failure("not connected"));
        return;
    }
    if (m_pending.size() >= kMaxPending) {
        m_target->status->countError();
        done->complete(failure("too many commands waiting"));
        return;
    }
    Pending pending;
    pending.done = std::move(done);
    pending.deadline = Clock::now() + m_target->config.commandTimeout;
    pending.keyCount = std::to_string(keys.size());
    pending.keys = std::move(keys);
    pending.args = std::move(args);
    pending.script = true;
    std::vector<std::string_view> argv;
    appendScriptCommand(true, pending, argv);
    send(std::move(argv), std::move(pending));
}

void RedisClient::appendScriptCommand(bool bySha, const Pending& pending,
                                      std::vector<std::string_view>& argv) const {
    static const std::string kEvalSha = "EVALSHA";
    static const std::string kEval = "EVAL";
    argv.reserve(3 + pending.keys.size() + pending.args.size());
    argv.push_back(bySha ? kEvalSha : kEval);
    argv.push_back(bySha ? std::string_view(m_sha) : std::string_view(m_script));
    argv.push_back(pending.keyCount);
    for (const auto& key : pending.keys) {
        argv.push_back(key);
    }
    for (const auto& arg : pending.args) {
        argv.push_back(arg);
    }
}

void RedisClient::send(std::vector<std::string_view> argv, Pending&& pending) {
    std::vector<const char*> pointers;
    std::vector<std::size_t> lengths;
    pointers.reserve(argv.size());
    lengths.reserve(argv.size());
    for (const auto& arg : argv) {
        pointers.push_back(arg.data());
        lengths.push_back(arg.size());
    }
    char* command = nullptr;
    const int length =
        redisFormatCommandArgv(&command, static_cast<int>(argv.size()), pointers.data(), lengths.data());
    if (length < 0 || command == nullptr) {
        pending.done->complete(failure("cannot format the command"));
        return;
    }
    m_out.append(command, static_cast<std::size_t>(length));
    redisFreeCommand(command);
    const bool wasEmpty = m_pending.empty();
    m_pending.push_back(std::move(pending));
    if (wasEmpty) {
        m_deadline.cancel(); // re-arm for this command
    }
    if (!m_writeActive) {
        m_writeActive = true;
        asio::co_spawn(m_io, writeLoop(shared_from_this(), m_generation), asio::detached);
    }
}

Task<void> RedisClient::run(std::shared_ptr<RedisClient> self) {
    auto backoff = std::chrono::milliseconds(0);
    while (m_state != State::Stopped) {
        if (backoff.count() > 0) {
            error_code ignored;
            m_timer.expires_after(backoff);
            co_await m_timer.async_wait(noThrow(ignored));
            if (m_state == State::Stopped) {
                co_return;
            }
        }
        backoff = backoff.count() == 0 ? std::chrono::duration_cast<std::chrono::milliseconds>(kFirstBackoff)
                                       : std::min<std::chrono::milliseconds>(backoff * 2, kMaxBackoff);

        // ---- connect, bounded by connect_timeout
        m_state = State::Connecting;
        const std::uint64_t generation = ++m_generation;
        m_socket = Socket(m_io);
        m_timer.expires_after(m_target->config.connectTimeout);
        m_timer.async_wait([this, self, generation](const error_code& ec) {
            if (!ec && m_generation == generation && m_state == State::Connecting) {
                error_code ignored;
                m_socket.close(ignored);
            }
        });
        error_code ec;
        co_await m_socket.async_connect(m_target->endpoint, noThrow(ec));
        m_timer.cancel();
        if (m_state == State::Stopped || m_generation != generation) {
            co_return;
        }
        if (ec) {
            m_target->status->countError();
            m_target->status->connectFailed(m_address, ec == asio::error::operation_aborted
                                                           ? std::string("connect timed out")
                                                           : ec.message());
            m_state = State::Down;
            continue;
        }
        m_socket.set_option(tcp::no_delay(true), ec);

        // ---- handshake, pipelined: AUTH, SELECT, SCRIPT LOAD; up once the script is loaded
        if (m_reader != nullptr) {
            redisReaderFree(m_reader);
        }
        m_reader = redisReaderCreate();
        m_out.clear();
        m_state = State::Handshake;
        const auto deadline = Clock::now() + m_target->config.connectTimeout;
        auto expectOk = [this](std::string what) {
            return makeCompletion([this, what = std::move(what)](RedisResult result) {
                if (result.ok && result.reply.kind == RedisReply::Kind::Error) {
                    // The message may quote the command but never the password.
                    fail(what + " failed: " + result.reply.text);
                }
            });
        };
        if (!m_target->password.empty()) {
            Pending auth;
            auth.done = expectOk("AUTH");
            auth.deadline = deadline;
            send({"AUTH", m_target->password}, std::move(auth));
        }
        if (m_target->config.db != 0) {
            const std::string db = std::to_string(m_target->config.db);
            Pending select;
            select.done = expectOk("SELECT");
            select.deadline = deadline;
            send({"SELECT", db}, std::move(select));
        }
        Pending load;
        load.deadline = deadline;
        load.done = makeCompletion([this](RedisResult result) {
            if (!result.ok) {
                return;
            }
            if (result.reply.kind != RedisReply::Kind::String) {
                fail("SCRIPT LOAD failed: " + result.reply.text);
                return;
            }
            m_sha = result.reply.text;
            m_state = State::Up;
            m_target->status->clientUp(m_address);
        });
        send({"SCRIPT", "LOAD", m_script}, std::move(load));
        asio::co_spawn(m_io, deadlineLoop(self, generation), asio::detached);
        co_await readLoop(generation);
        if (m_state == State::Stopped) {
            co_return;
        }
        if (m_generation == generation) {
            fail("connection closed");
        }
        // A connection that came up starts the next one without delay; repeated failures back off.
        if (m_sha.empty()) {
            continue;
        }
        m_sha.clear();
        backoff = std::chrono::milliseconds(0);
    }
}

Task<void> RedisClient::readLoop(std::uint64_t generation) {
    std::vector<char> buffer(kReadChunk);
    for (;;) {
        error_code ec;
        const std::size_t n = co_await m_socket.async_read_some(asio::buffer(buffer), noThrow(ec));
        if (ec || m_generation != generation) {
            if (ec && m_generation == generation && m_state != State::Stopped) {
                fail(ec == asio::error::eof ? "connection closed by redis" : ec.message());
            }
            co_return;
        }
        if (redisReaderFeed(m_reader, buffer.data(), n) != REDIS_OK) {
            fail("protocol error");
            co_return;
        }
        for (;;) {
            void* raw = nullptr;
            if (redisReaderGetReply(m_reader, &raw) != REDIS_OK) {
                fail("protocol error");
                co_return;
            }
            if (raw == nullptr) {
                break;
            }
            RedisReply reply = convert(*static_cast<redisReply*>(raw));
            freeReplyObject(raw);
            onReply(std::move(reply));
            if (m_generation != generation) {
                co_return; // a handshake reply ended the connection
            }
        }
    }
}

void RedisClient::onReply(RedisReply reply) {
    if (m_pending.empty()) {
        fail("unexpected reply");
        return;
    }
    Pending pending = std::move(m_pending.front());
    m_pending.pop_front();
    if (pending.script && reply.kind == RedisReply::Kind::Error && reply.text.starts_with("NOSCRIPT")) {
        // The server lost the script: EVAL sends it whole (and caches it again for EVALSHA).
        pending.script = false;
        std::vector<std::string_view> argv;
        appendScriptCommand(false, pending, argv);
        send(std::move(argv), std::move(pending));
        return;
    }
    if (reply.kind == RedisReply::Kind::Error) {
        m_target->status->countError();
    }
    RedisResult result;
    result.ok = true;
    result.reply = std::move(reply);
    pending.done->complete(std::move(result));
}

// `self` keeps the client alive while the loop is suspended (also in deadlineLoop).
Task<void> RedisClient::writeLoop([[maybe_unused]] std::shared_ptr<RedisClient> self,
                                  std::uint64_t generation) {
    while (!m_out.empty() && m_generation == generation) {
        m_writing.clear();
        m_writing.swap(m_out);
        error_code ec;
        co_await asio::async_write(m_socket, asio::buffer(m_writing), noThrow(ec));
        if (m_generation != generation) {
            break;
        }
        if (ec) {
            fail(ec.message());
            break;
        }
    }
    if (m_generation == generation) {
        m_writeActive = false;
    }
}

Task<void> RedisClient::deadlineLoop([[maybe_unused]] std::shared_ptr<RedisClient> self,
                                     std::uint64_t generation) {
    while (m_generation == generation) {
        if (m_pending.empty()) {
            m_deadline.expires_at(Clock::time_point::max());
        } else {
            m_deadline.expires_at(m_pending.front().deadline);
        }
        error_code ignored;
        co_await m_deadline.async_wait(noThrow(ignored));
        if (m_generation != generation) {
            co_return;
        }
        if (!m_pending.empty() && m_pending.front().deadline <= Clock::now()) {
            fail(m_state == State::Up ? "command timed out" : "handshake timed out");
            co_return;
        }
    }
}

void RedisClient::fail(std::string_view reason) {
    if (m_state == State::Stopped) {
        return;
    }
    const bool wasUp = m_state == State::Up;
    ++m_generation;
    m_state = State::Down;
    m_writeActive = false;
    m_out.clear();
    error_code ignored;
    m_socket.close(ignored);
    m_deadline.cancel();
    m_target->status->countError();
    if (wasUp) {
        m_target->status->clientDown(m_address, reason);
    } else {
        m_target->status->connectFailed(m_address, reason);
    }
    auto pending = std::move(m_pending);
    m_pending.clear();
    for (auto& p : pending) {
        p.done->complete(failure(reason));
    }
}

std::shared_ptr<RedisClient> followRedisTarget(std::shared_ptr<RedisClient> current, asio::io_context& io,
                                               const std::shared_ptr<const RedisTarget>& target) {
    if (current && target && current->target().sameServer(*target)) {
        return current;
    }
    if (current) {
        current->stop("another redis: configuration");
    }
    if (!target) {
        return nullptr;
    }
    auto client = std::make_shared<RedisClient>(io, target, std::string(sharedLimitScript()));
    client->start();
    return client;
}

} // namespace gaetwae::engine::policy
