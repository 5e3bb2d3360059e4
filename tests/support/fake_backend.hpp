#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace gaetwae::test {

// A request as the backend received it.
struct ReceivedRequest {
    std::string method;
    std::string target;
    int version = 11;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;            // first 1 MiB only
    std::uint64_t bodyBytes = 0; // all of it
    std::uint64_t bodyHash = 0;  // FNV-1a over all of it
    std::uint64_t connection = 0; // ordinal of the TCP connection it arrived on (1-based)
    std::uint64_t indexOnConnection = 0; // 1 for the first request of a connection
    std::chrono::steady_clock::time_point arrivedAt; // when its head had been read

    std::string header(std::string_view name) const; // first value, case-insensitive; "" if none
    std::size_t headerCount(std::string_view name) const;
};

// What the backend does with a request.
struct Reply {
    enum class Action {
        Respond,           // send the response described below
        Hang,              // never answer; keep the connection open until release() or stop
        WaitForRelease,    // answer normally, but only after release()
        CloseBeforeHead,   // close the connection without sending anything
        CloseMidBody,      // send the head and half the body, then close
        RawBytes,          // write `raw` verbatim (garbage, odd framings), then close if closeAfter
    };
    enum class Framing { ContentLength, Chunked, UntilClose };

    Action action = Action::Respond;
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::uint64_t generatedBytes = 0; // when > 0: stream this many pseudo-random bytes as the body
    Framing framing = Framing::ContentLength;
    bool closeAfter = false;
    std::string raw;
    std::chrono::milliseconds delay{0}; // wait this long before answering (without blocking others)
};

// The FNV-1a hash of `generatedBytes` pseudo-random bytes, as FakeBackend produces them.
std::uint64_t generatedBodyHash(std::uint64_t bytes);
std::uint64_t fnv1a(std::uint64_t hash, std::string_view data);
inline constexpr std::uint64_t kFnvOffset = 14695981039346656037ULL;

// An HTTP/1.1 backend on 127.0.0.1 (port 0) with its own thread. By default every request gets
// 200 with `Server: <name>` and the body `<name>`. Request bodies are streamed, hashed and
// counted, never stored whole, so gigabyte uploads are fine.
class FakeBackend {
public:
    using Handler = std::function<Reply(const ReceivedRequest&)>;

    // `port` 0 picks a free one; a fixed port brings a stopped backend back at its old address.
    explicit FakeBackend(std::string name, Handler handler = {}, std::uint16_t port = 0);
    ~FakeBackend();
    FakeBackend(const FakeBackend&) = delete;
    FakeBackend& operator=(const FakeBackend&) = delete;

    const std::string& name() const { return m_name; }
    std::uint16_t port() const { return m_port; }
    std::string address() const { return "127.0.0.1:" + std::to_string(m_port); }

    void setHandler(Handler handler);
    // Lets Hang/WaitForRelease requests proceed (Hang ones are then closed).
    void release();
    // Closes the listener and every connection.
    void stop();

    std::uint64_t connectionsAccepted() const { return m_connections.load(); }
    std::uint64_t requestsReceived() const { return m_requests.load(); }
    std::vector<ReceivedRequest> received() const;
    // Waits until at least `count` requests arrived; false on timeout.
    bool waitForRequests(std::uint64_t count, std::chrono::milliseconds timeout) const;

private:
    struct Impl;
    std::string m_name;
    std::uint16_t m_port = 0;
    std::atomic<std::uint64_t> m_connections{0};
    std::atomic<std::uint64_t> m_requests{0};
    mutable std::mutex m_mutex;
    mutable std::condition_variable m_changed;
    std::vector<ReceivedRequest> m_received;
    Handler m_handler;
    std::unique_ptr<Impl> m_impl;

    friend struct Impl;
};

// A port on 127.0.0.1 that refuses connections (bound, then closed).
std::uint16_t closedPort();

} // namespace gaetwae::test
