#pragma once

#include "engine/net/asio.hpp"

#include <boost/asio/ssl/stream.hpp>

#include <memory>

namespace gaetwae::engine::net {

// A connection that is either plain TCP or TLS over TCP, with the member functions the session,
// the upstream pool and tunnels call on a socket (async_read_some, async_write_some,
// get_executor, close, cancel ...), so they work on both. A plain connection pays one
// predictable branch per operation; TLS state is allocated only when enableTls() is called.
// Not movable: the TLS layer refers to the socket member.
class Stream {
public:
    using executor_type = Executor;
    using lowest_layer_type = Socket;
    using TlsLayer = asio::ssl::stream<Socket&>;

    explicit Stream(asio::io_context& io)
        : m_socket(io) {}
    explicit Stream(Socket socket)
        : m_socket(std::move(socket)) {}
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    // Wraps the connected socket in TLS with `context` (which must outlive the stream); the
    // handshake comes next.
    void enableTls(asio::ssl::context& context) { m_tls = std::make_unique<TlsLayer>(m_socket, context); }
    bool tls() const { return m_tls != nullptr; }
    // The OpenSSL connection (TLS only).
    SSL* tlsHandle() { return m_tls->native_handle(); }

    executor_type get_executor() { return m_socket.get_executor(); }
    Socket& lowest_layer() { return m_socket; }
    const Socket& lowest_layer() const { return m_socket; }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        if (m_tls) {
            return m_tls->async_read_some(buffers, std::forward<Token>(token));
        }
        return m_socket.async_read_some(buffers, std::forward<Token>(token));
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        if (m_tls) {
            return m_tls->async_write_some(buffers, std::forward<Token>(token));
        }
        return m_socket.async_write_some(buffers, std::forward<Token>(token));
    }

    template <class Token>
    auto async_connect(const tcp::endpoint& endpoint, Token&& token) {
        return m_socket.async_connect(endpoint, std::forward<Token>(token));
    }

    // TLS only.
    template <class Token>
    auto async_handshake(asio::ssl::stream_base::handshake_type type, Token&& token) {
        return m_tls->async_handshake(type, std::forward<Token>(token));
    }
    // TLS only: sends close_notify and waits for the peer's (bound it with a deadline).
    template <class Token>
    auto async_shutdown(Token&& token) {
        return m_tls->async_shutdown(std::forward<Token>(token));
    }

    bool is_open() const { return m_socket.is_open(); }
    void close(error_code& ec) { m_socket.close(ec); }
    void cancel(error_code& ec) { m_socket.cancel(ec); }
    void shutdown(Socket::shutdown_type what, error_code& ec) { m_socket.shutdown(what, ec); }
    template <class Option>
    void set_option(const Option& option, error_code& ec) {
        m_socket.set_option(option, ec);
    }
    tcp::endpoint remote_endpoint(error_code& ec) const { return m_socket.remote_endpoint(ec); }
    Socket::native_handle_type native_handle() { return m_socket.native_handle(); }

private:
    Socket m_socket;
    std::unique_ptr<TlsLayer> m_tls;
};

} // namespace gaetwae::engine::net
