#include "engine/net/listener.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

namespace gaetwae::engine::net {

namespace {

bool resolve(const std::string& host, std::uint16_t port, sockaddr_storage& out, socklen_t& length,
             std::string& error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* result = nullptr;
    const std::string service = std::to_string(port);
    const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &result);
    if (rc != 0 || result == nullptr) {
        error = "cannot resolve '" + host + "': " + ::gai_strerror(rc);
        return false;
    }
    std::memcpy(&out, result->ai_addr, result->ai_addrlen);
    length = result->ai_addrlen;
    ::freeaddrinfo(result);
    return true;
}

} // namespace

BoundListener::BoundListener(BoundListener&& other) noexcept
    : m_fds(std::move(other.m_fds))
    , m_port(other.m_port)
    , m_v6(other.m_v6) {
    other.m_fds.clear();
}

BoundListener& BoundListener::operator=(BoundListener&& other) noexcept {
    if (this != &other) {
        closeAll();
        m_fds = std::move(other.m_fds);
        other.m_fds.clear();
        m_port = other.m_port;
        m_v6 = other.m_v6;
    }
    return *this;
}

BoundListener::~BoundListener() {
    closeAll();
}

void BoundListener::closeAll() {
    for (const int fd : m_fds) {
        if (fd >= 0) {
            ::close(fd);
        }
    }
    m_fds.clear();
}

int BoundListener::release(std::size_t i) {
    return std::exchange(m_fds[i], -1);
}

bool BoundListener::bind(const model::HostPort& address, std::size_t count, std::string& error) {
    sockaddr_storage storage{};
    socklen_t length = 0;
    if (!resolve(address.host, address.port, storage, length, error)) {
        return false;
    }
    m_v6 = storage.ss_family == AF_INET6;
    for (std::size_t i = 0; i < count; ++i) {
        const int fd = ::socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            error = std::string("socket(): ") + std::strerror(errno);
            closeAll();
            return false;
        }
        m_fds.push_back(fd);
        const int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        if (i > 0 && address.port == 0) {
            // Later workers join the port the kernel chose for the first one.
            if (m_v6) {
                reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port = htons(m_port);
            } else {
                reinterpret_cast<sockaddr_in*>(&storage)->sin_port = htons(m_port);
            }
        }
        if (::bind(fd, reinterpret_cast<const sockaddr*>(&storage), length) != 0) {
            error = "cannot bind " + model::formatHostPort(address) + ": " + std::strerror(errno);
            closeAll();
            return false;
        }
        if (::listen(fd, SOMAXCONN) != 0) {
            error = "cannot listen on " + model::formatHostPort(address) + ": " + std::strerror(errno);
            closeAll();
            return false;
        }
        if (i == 0) {
            sockaddr_storage bound{};
            socklen_t boundLength = sizeof bound;
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &boundLength);
            m_port = ntohs(m_v6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
        }
    }
    return true;
}

} // namespace gaetwae::engine::net
