#include "tests/support/test_client.hpp"

#include "tests/support/fake_backend.hpp"

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace gaetwae::test {

namespace bhttp = boost::beast::http;

namespace {

constexpr std::size_t kMaxStoredBody = 4 * 1024 * 1024;

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

int msLeft(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<std::int64_t>(0, left.count()));
}

// Independent of the engine's parser on purpose: the test checks the engine, not itself.
class ResponseReader final : public bhttp::basic_parser<false> {
public:
    ResponseReader(Response& response, const std::function<void(std::string_view)>& onBody)
        : m_response(response)
        , m_onBody(onBody) {
        body_limit(std::numeric_limits<std::uint64_t>::max());
        header_limit(1024 * 1024);
        m_response.bodyHash = kFnvOffset;
    }

private:
    void on_request_impl(bhttp::verb, std::string_view, std::string_view, int, boost::beast::error_code&) override {}
    void on_response_impl(int status, std::string_view, int, boost::beast::error_code&) override {
        m_response.status = status;
    }
    void on_field_impl(bhttp::field, std::string_view name, std::string_view value,
                       boost::beast::error_code&) override {
        m_response.headers.emplace_back(std::string(name), std::string(value));
    }
    void on_header_impl(boost::beast::error_code&) override { m_response.chunked = chunked(); }
    void on_body_init_impl(const boost::optional<std::uint64_t>&, boost::beast::error_code&) override {}
    std::size_t on_body_impl(std::string_view body, boost::beast::error_code&) override { return take(body); }
    void on_chunk_header_impl(std::uint64_t, std::string_view, boost::beast::error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, std::string_view body, boost::beast::error_code&) override {
        return take(body);
    }
    void on_finish_impl(boost::beast::error_code&) override {}

    std::size_t take(std::string_view body) {
        m_response.bodyBytes += body.size();
        m_response.bodyHash = fnv1a(m_response.bodyHash, body);
        if (m_response.body.size() < kMaxStoredBody) {
            m_response.body.append(body.substr(0, kMaxStoredBody - m_response.body.size()));
        }
        if (m_onBody) {
            m_onBody(body);
        }
        return body.size();
    }

    Response& m_response;
    const std::function<void(std::string_view)>& m_onBody;
};

} // namespace

std::string Response::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (iequals(k, name)) {
            return v;
        }
    }
    return {};
}

std::size_t Response::headerCount(std::string_view name) const {
    return static_cast<std::size_t>(
        std::count_if(headers.begin(), headers.end(), [&](const auto& h) { return iequals(h.first, name); }));
}

nlohmann::json Response::json() const {
    return nlohmann::json::parse(body, nullptr, false);
}

TestClient::TestClient(std::uint16_t port, std::chrono::milliseconds timeout)
    : m_port(port)
    , m_timeout(timeout) {
    m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(m_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        m_error = std::string("connect: ") + std::strerror(errno);
        ::close(m_fd);
        m_fd = -1;
        return;
    }
    const int one = 1;
    ::setsockopt(m_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const int flags = 1;
    ::ioctl(m_fd, FIONBIO, &flags);
}

TestClient::~TestClient() {
    close();
}

void TestClient::close() {
    if (m_fd >= 0) {
        ::close(m_fd);
        m_fd = -1;
    }
}

bool TestClient::sendRaw(std::string_view bytes) {
    const auto deadline = std::chrono::steady_clock::now() + m_timeout;
    while (!bytes.empty()) {
        if (m_fd < 0) {
            m_error = "not connected";
            return false;
        }
        const ssize_t n = ::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            m_error = std::string("send: ") + std::strerror(errno);
            return false;
        }
        pollfd p{m_fd, POLLOUT, 0};
        if (::poll(&p, 1, msLeft(deadline)) <= 0) {
            m_error = "send: timed out";
            return false;
        }
    }
    return true;
}

bool TestClient::sendGenerated(std::uint64_t total, std::uint64_t& hash, bool chunked) {
    hash = kFnvOffset;
    std::string chunk(256 * 1024, '\0');
    for (std::uint64_t offset = 0; offset < total;) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), total - offset));
        for (std::size_t i = 0; i < n; ++i) {
            std::uint64_t x = (offset + i) * 0x9e3779b97f4a7c15ULL;
            x ^= x >> 29;
            chunk[i] = static_cast<char>('a' + (x % 26));
        }
        const std::string_view piece(chunk.data(), n);
        hash = fnv1a(hash, piece);
        if (chunked) {
            char size[32];
            std::snprintf(size, sizeof size, "%zx\r\n", n);
            if (!sendRaw(size) || !sendRaw(piece) || !sendRaw("\r\n")) {
                return false;
            }
        } else if (!sendRaw(piece)) {
            return false;
        }
        offset += n;
    }
    return !chunked || sendRaw("0\r\n\r\n");
}

bool TestClient::fill() {
    const auto deadline = std::chrono::steady_clock::now() + m_timeout;
    char chunk[64 * 1024];
    for (;;) {
        if (m_fd < 0) {
            m_error = "not connected";
            return false;
        }
        const ssize_t n = ::recv(m_fd, chunk, sizeof chunk, 0);
        if (n > 0) {
            m_buffer.append(chunk, static_cast<std::size_t>(n));
            return true;
        }
        if (n == 0) {
            m_error = "connection closed by peer";
            return false;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            m_error = std::string("recv: ") + std::strerror(errno);
            return false;
        }
        pollfd p{m_fd, POLLIN, 0};
        if (::poll(&p, 1, msLeft(deadline)) <= 0) {
            m_error = "recv: timed out";
            return false;
        }
    }
}

std::optional<Response> TestClient::readResponse(bool head, const std::function<void(std::string_view)>& onBody) {
    for (;;) { // skips interim 1xx responses
        Response response;
        ResponseReader reader(response, onBody);
        if (head) {
            reader.skip(true);
        }
        reader.eager(true);
        for (;;) {
            boost::beast::error_code ec;
            if (!m_buffer.empty()) {
                const std::size_t n = reader.put(boost::asio::buffer(m_buffer), ec);
                m_buffer.erase(0, n);
                if (ec && ec != bhttp::error::need_more) {
                    m_error = "bad response: " + ec.message();
                    return std::nullopt;
                }
                if (reader.is_done()) {
                    break;
                }
            }
            if (!fill()) {
                if (m_error == "connection closed by peer" && reader.got_some() && reader.is_header_done()) {
                    reader.put_eof(ec);
                    if (!ec && reader.is_done()) {
                        break; // body delimited by close
                    }
                    m_error = "connection closed mid-response";
                }
                return std::nullopt;
            }
        }
        response.keepAlive = reader.keep_alive();
        if (response.status >= 200 || response.status == 101) {
            return response;
        }
    }
}

std::optional<std::string> TestClient::readUntil(std::string_view marker) {
    for (;;) {
        const auto pos = m_buffer.find(marker);
        if (pos != std::string::npos) {
            std::string out = m_buffer.substr(0, pos + marker.size());
            m_buffer.erase(0, pos + marker.size());
            return out;
        }
        if (!fill()) {
            return std::nullopt;
        }
    }
}

std::optional<Response> TestClient::request(std::string_view method, std::string_view target,
                                            const std::vector<std::pair<std::string, std::string>>& headers,
                                            std::string_view body) {
    std::string out;
    out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
    bool hasHost = false;
    for (const auto& [k, v] : headers) {
        hasHost = hasHost || iequals(k, "host");
        out.append(k).append(": ").append(v).append("\r\n");
    }
    if (!hasHost) {
        out.append("Host: test.local\r\n");
    }
    if (!body.empty() || method == "POST" || method == "PUT") {
        out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    }
    out.append("\r\n").append(body);
    if (!sendRaw(out)) {
        return std::nullopt;
    }
    return readResponse(method == "HEAD");
}

bool TestClient::waitForClose(std::chrono::milliseconds within) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    char chunk[4096];
    while (m_fd >= 0) {
        const ssize_t n = ::recv(m_fd, chunk, sizeof chunk, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            return true;
        }
        if (n > 0) {
            m_buffer.append(chunk, static_cast<std::size_t>(n));
            continue;
        }
        pollfd p{m_fd, POLLIN, 0};
        if (::poll(&p, 1, msLeft(deadline)) <= 0) {
            return false;
        }
    }
    return true;
}

std::optional<Response> fetch(std::uint16_t port, std::string_view target, std::chrono::milliseconds timeout) {
    TestClient client(port, timeout);
    if (!client.connected()) {
        return std::nullopt;
    }
    return client.get(target);
}

bool connectionRefused(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool refused = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 &&
                         errno == ECONNREFUSED;
    ::close(fd);
    return refused;
}

} // namespace gaetwae::test
