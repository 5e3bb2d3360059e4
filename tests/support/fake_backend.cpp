#include "tests/support/fake_backend.hpp"

#include "engine/net/asio.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>

namespace gaetwae::test {

using namespace gaetwae::engine;
namespace bhttp = boost::beast::http;

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// Deterministic pseudo-random bytes (xorshift) so a receiver can verify what it got.
void fillGenerated(std::uint64_t offset, char* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t x = (offset + i) * 0x9e3779b97f4a7c15ULL;
        x ^= x >> 29;
        out[i] = static_cast<char>('a' + (x % 26));
    }
}

constexpr std::size_t kMaxStoredBody = 1024 * 1024;

} // namespace

std::uint64_t fnv1a(std::uint64_t hash, std::string_view data) {
    for (const char c : data) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 1099511628211ULL;
    }
    return hash;
}

std::uint64_t generatedBodyHash(std::uint64_t bytes) {
    std::uint64_t hash = kFnvOffset;
    std::vector<char> chunk(64 * 1024);
    for (std::uint64_t offset = 0; offset < bytes;) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), bytes - offset));
        fillGenerated(offset, chunk.data(), n);
        hash = fnv1a(hash, std::string_view(chunk.data(), n));
        offset += n;
    }
    return hash;
}

std::string ReceivedRequest::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (iequals(k, name)) {
            return v;
        }
    }
    return {};
}

std::size_t ReceivedRequest::headerCount(std::string_view name) const {
    return static_cast<std::size_t>(
        std::count_if(headers.begin(), headers.end(), [&](const auto& h) { return iequals(h.first, name); }));
}

struct FakeBackend::Impl {
    explicit Impl(FakeBackend& owner)
        : owner(owner)
        , acceptor(io)
        , releaseTimer(io) {
        releaseTimer.expires_at(SteadyTimer::time_point::max());
    }

    FakeBackend& owner;
    asio::io_context io;
    Acceptor acceptor;
    SteadyTimer releaseTimer; // cancelled by release(): an event every waiter sees
    bool released = false;
    std::vector<std::weak_ptr<Socket>> sockets;
    std::thread thread;

    Task<void> acceptLoop() {
        for (;;) {
            error_code ec;
            auto socket = std::make_shared<Socket>(io);
            co_await acceptor.async_accept(*socket, noThrow(ec));
            if (ec) {
                co_return;
            }
            socket->set_option(tcp::no_delay(true), ec); // head and body go out as separate writes
            sockets.push_back(socket);
            const auto ordinal = ++owner.m_connections;
            asio::co_spawn(io, serve(socket, ordinal), asio::detached);
        }
    }

    Task<void> waitForRelease() {
        if (released) {
            co_return;
        }
        error_code ec;
        co_await releaseTimer.async_wait(noThrow(ec));
    }

    Task<void> serve(std::shared_ptr<Socket> socket, std::uint64_t ordinal) {
        boost::beast::flat_buffer buffer;
        std::uint64_t index = 0;
        std::vector<char> scratch(64 * 1024);
        for (;;) {
            error_code ec;
            bhttp::request_parser<bhttp::buffer_body> parser;
            parser.body_limit(std::numeric_limits<std::uint64_t>::max());
            parser.header_limit(1024 * 1024);
            co_await bhttp::async_read_header(*socket, buffer, parser, noThrow(ec));
            if (ec) {
                co_return;
            }
            ReceivedRequest request;
            request.arrivedAt = std::chrono::steady_clock::now();
            const auto& head = parser.get();
            request.method = std::string(head.method_string());
            request.target = std::string(head.target());
            request.version = head.version();
            for (const auto& field : head) {
                request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
            }
            request.connection = ordinal;
            request.indexOnConnection = ++index;
            request.bodyHash = kFnvOffset;
            if (head[bhttp::field::expect] == "100-continue") {
                bhttp::response<bhttp::empty_body> interim(bhttp::status::continue_, 11);
                co_await bhttp::async_write(*socket, interim, noThrow(ec));
            }
            while (!parser.is_done()) {
                parser.get().body().data = scratch.data();
                parser.get().body().size = scratch.size();
                co_await bhttp::async_read(*socket, buffer, parser, noThrow(ec));
                if (ec == bhttp::error::need_buffer) {
                    ec = {};
                }
                if (ec) {
                    co_return;
                }
                const std::size_t n = scratch.size() - parser.get().body().size;
                const std::string_view piece(scratch.data(), n);
                request.bodyBytes += n;
                request.bodyHash = fnv1a(request.bodyHash, piece);
                if (request.body.size() < kMaxStoredBody) {
                    request.body.append(piece.substr(0, kMaxStoredBody - request.body.size()));
                }
            }
            const bool keepAlive = parser.keep_alive();
            Handler handler;
            {
                std::lock_guard lock(owner.m_mutex);
                handler = owner.m_handler;
                owner.m_received.push_back(request);
            }
            ++owner.m_requests;
            owner.m_changed.notify_all();

            Reply reply;
            if (handler) {
                reply = handler(request);
            } else {
                reply.headers.emplace_back("Server", owner.m_name);
                reply.body = owner.m_name;
            }
            if (reply.delay.count() > 0) {
                SteadyTimer timer(io);
                timer.expires_after(reply.delay);
                error_code ignored;
                co_await timer.async_wait(noThrow(ignored));
            }
            if (reply.action == Reply::Action::Hang) {
                co_await waitForRelease();
                co_return;
            }
            if (reply.action == Reply::Action::WaitForRelease) {
                co_await waitForRelease();
            }
            if (reply.action == Reply::Action::CloseBeforeHead) {
                socket->close(ec);
                co_return;
            }
            if (reply.action == Reply::Action::RawBytes) {
                co_await asio::async_write(*socket, asio::buffer(reply.raw), noThrow(ec));
                if (reply.closeAfter || ec) {
                    socket->shutdown(Socket::shutdown_send, ec);
                    co_return;
                }
                continue;
            }
            if (!co_await respond(*socket, request, reply, keepAlive)) {
                co_return;
            }
        }
    }

    // Returns false when the connection is finished.
    Task<bool> respond(Socket& socket, const ReceivedRequest& request, const Reply& reply, bool keepAlive) {
        const bool head = request.method == "HEAD";
        const bool bodiless = reply.status == 204 || reply.status == 304;
        const std::uint64_t total = reply.generatedBytes > 0 ? reply.generatedBytes : reply.body.size();
        std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " Reason\r\n";
        for (const auto& [k, v] : reply.headers) {
            out += k + ": " + v + "\r\n";
        }
        bool close = reply.closeAfter || !keepAlive || reply.framing == Reply::Framing::UntilClose;
        if (!bodiless) {
            if (reply.framing == Reply::Framing::ContentLength) {
                out += "Content-Length: " + std::to_string(total) + "\r\n";
            } else if (reply.framing == Reply::Framing::Chunked) {
                out += "Transfer-Encoding: chunked\r\n";
            }
        }
        if (close && reply.framing != Reply::Framing::UntilClose) {
            out += "Connection: close\r\n";
        }
        out += "\r\n";
        // A small complete body goes out with the head in one write, as real servers do, so a
        // backend stopped between two writes never cuts such a response in half.
        const bool whole = !head && !bodiless && reply.generatedBytes == 0 &&
                           reply.framing == Reply::Framing::ContentLength &&
                           reply.action != Reply::Action::CloseMidBody && reply.body.size() <= 64 * 1024;
        if (whole) {
            out += reply.body;
        }
        error_code ec;
        co_await asio::async_write(socket, asio::buffer(out), noThrow(ec));
        if (ec) {
            co_return false;
        }
        if (!head && !bodiless && !whole) {
            const std::uint64_t limit =
                reply.action == Reply::Action::CloseMidBody ? total / 2 : total;
            std::vector<char> chunk(64 * 1024);
            for (std::uint64_t offset = 0; offset < limit;) {
                const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), limit - offset));
                if (reply.generatedBytes > 0) {
                    fillGenerated(offset, chunk.data(), n);
                } else {
                    std::copy_n(reply.body.data() + offset, n, chunk.data());
                }
                std::string frame;
                if (reply.framing == Reply::Framing::Chunked) {
                    char size[32];
                    std::snprintf(size, sizeof size, "%zx\r\n", n);
                    frame = size;
                }
                std::array<asio::const_buffer, 3> pieces{asio::buffer(frame), asio::buffer(chunk.data(), n),
                                                         asio::buffer(reply.framing == Reply::Framing::Chunked
                                                                          ? std::string_view("\r\n")
                                                                          : std::string_view())};
                co_await asio::async_write(socket, pieces, noThrow(ec));
                if (ec) {
                    co_return false;
                }
                offset += n;
            }
            if (reply.action == Reply::Action::CloseMidBody) {
                socket.close(ec);
                co_return false;
            }
            if (reply.framing == Reply::Framing::Chunked) {
                co_await asio::async_write(socket, asio::buffer(std::string_view("0\r\n\r\n")), noThrow(ec));
            }
        }
        if (close) {
            socket.shutdown(Socket::shutdown_send, ec);
            co_return false;
        }
        co_return true;
    }
};

FakeBackend::FakeBackend(std::string name, Handler handler, std::uint16_t port)
    : m_name(std::move(name))
    , m_handler(std::move(handler))
    , m_impl(std::make_unique<Impl>(*this)) {
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
    m_impl->acceptor.open(endpoint.protocol());
    m_impl->acceptor.set_option(Acceptor::reuse_address(true));
    m_impl->acceptor.bind(endpoint);
    m_impl->acceptor.listen();
    m_port = m_impl->acceptor.local_endpoint().port();
    asio::co_spawn(m_impl->io, m_impl->acceptLoop(), asio::detached);
    m_impl->thread = std::thread([this] { m_impl->io.run(); });
}

FakeBackend::~FakeBackend() {
    stop();
    m_impl->thread.join();
}

void FakeBackend::setHandler(Handler handler) {
    std::lock_guard lock(m_mutex);
    m_handler = std::move(handler);
}

void FakeBackend::release() {
    asio::post(m_impl->io, [this] {
        m_impl->released = true;
        m_impl->releaseTimer.cancel();
    });
}

void FakeBackend::stop() {
    asio::post(m_impl->io, [this] {
        error_code ignored;
        m_impl->acceptor.close(ignored);
        for (auto& weak : m_impl->sockets) {
            if (auto socket = weak.lock()) {
                socket->close(ignored);
            }
        }
        m_impl->released = true;
        m_impl->releaseTimer.cancel();
    });
}

std::vector<ReceivedRequest> FakeBackend::received() const {
    std::lock_guard lock(m_mutex);
    return m_received;
}

bool FakeBackend::waitForRequests(std::uint64_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, timeout, [&] { return m_received.size() >= count; });
}

std::uint16_t closedPort() {
    asio::io_context io;
    Acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return acceptor.local_endpoint().port(); // closed when `acceptor` goes out of scope
}

} // namespace gaetwae::test
