#include "engine/admin/admin_client.hpp"

#include "engine/net/asio.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace gaetwae::engine::admin {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;

std::optional<AdminUrl> AdminUrl::parse(const std::string& text, std::string& error) {
    constexpr std::string_view scheme = "ws://";
    if (text.rfind(scheme, 0) != 0) {
        error = "expected ws://HOST:PORT/PATH, got '" + text + "'";
        return std::nullopt;
    }
    const std::string rest = text.substr(scheme.size());
    const auto slash = rest.find('/');
    const std::string authority = rest.substr(0, slash);
    AdminUrl url;
    url.path = slash == std::string::npos ? "/admin" : rest.substr(slash);
    std::string portText;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string::npos) {
            error = "unterminated IPv6 address in '" + text + "'";
            return std::nullopt;
        }
        url.host = authority.substr(1, close - 1);
        if (close + 1 < authority.size() && authority[close + 1] == ':') {
            portText = authority.substr(close + 2);
        }
    } else {
        const auto colon = authority.rfind(':');
        url.host = authority.substr(0, colon);
        if (colon != std::string::npos) {
            portText = authority.substr(colon + 1);
        }
    }
    if (url.host.empty()) {
        error = "no host in '" + text + "'";
        return std::nullopt;
    }
    if (!portText.empty()) {
        try {
            const int port = std::stoi(portText);
            if (port < 1 || port > 65535 || std::to_string(port) != portText) {
                throw std::out_of_range("port");
            }
            url.port = static_cast<std::uint16_t>(port);
        } catch (const std::exception&) {
            error = "bad port '" + portText + "' in '" + text + "'";
            return std::nullopt;
        }
    }
    return url;
}

std::string AdminUrl::toString() const {
    const bool v6 = host.find(':') != std::string::npos;
    return "ws://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + path;
}

struct AdminClient::Impl {
    asio::io_context io;
    websocket::stream<tcp::socket> ws{io};
    beast::flat_buffer buffer;
    bool open = false;

    // Runs the started operation to completion or until `timeout`; a late one is cancelled.
    bool runFor(std::optional<std::chrono::milliseconds> timeout, const bool& done) {
        io.restart();
        if (timeout) {
            const auto deadline = std::chrono::steady_clock::now() + *timeout;
            while (!done && std::chrono::steady_clock::now() < deadline) {
                io.run_one_until(deadline);
            }
        } else {
            while (!done && io.run_one() > 0) {
            }
        }
        if (done) {
            return true;
        }
        error_code ignored;
        beast::get_lowest_layer(ws).cancel(ignored);
        io.restart();
        while (!done && io.run_one() > 0) {
        }
        return false;
    }
};

AdminClient::AdminClient()
    : m_impl(std::make_unique<Impl>()) {}

AdminClient::~AdminClient() {
    close();
}

bool AdminClient::connect(const AdminUrl& url, const std::string& token, std::string& error,
                          std::chrono::milliseconds timeout) {
    auto& impl = *m_impl;
    error_code ec;
    tcp::resolver resolver(impl.io);
    const auto endpoints = resolver.resolve(url.host, std::to_string(url.port), ec);
    if (ec) {
        error = "cannot resolve " + url.host + ": " + ec.message();
        return false;
    }
    bool done = false;
    asio::async_connect(beast::get_lowest_layer(impl.ws), endpoints, [&](const error_code& e, const tcp::endpoint&) {
        ec = e;
        done = true;
    });
    if (!impl.runFor(timeout, done) || ec) {
        error = "cannot connect to " + url.toString() + ": " +
                (ec ? ec.message() : "no answer within " + std::to_string(timeout.count()) + " ms") +
                " (is gaetwaed running with the admin API enabled?)";
        return false;
    }
    beast::get_lowest_layer(impl.ws).set_option(tcp::no_delay(true), ec);
    impl.ws.set_option(websocket::stream_base::decorator([&token](websocket::request_type& request) {
        request.set(bhttp::field::authorization, "Bearer " + token);
        request.set(bhttp::field::user_agent, "gaetwaed-ctl");
    }));
    websocket::response_type response;
    done = false;
    const std::string hostHeader = url.host + ":" + std::to_string(url.port);
    impl.ws.async_handshake(response, hostHeader, url.path, [&](const error_code& e) {
        ec = e;
        done = true;
    });
    if (!impl.runFor(timeout, done) || ec) {
        if (response.result() == bhttp::status::unauthorized) {
            error = "the engine refused the admin token (401); check --token-file";
        } else if (response.result_int() != 0 && response.result() != bhttp::status::switching_protocols) {
            error = "the admin API answered " + std::to_string(response.result_int()) + " at " + url.toString();
        } else {
            error = "WebSocket handshake with " + url.toString() + " failed: " + (ec ? ec.message() : "timed out");
        }
        return false;
    }
    impl.ws.text(true);
    impl.open = true;
    return true;
}

std::optional<std::string> AdminClient::readMessage(std::optional<std::chrono::milliseconds> timeout,
                                                    std::string& error) {
    auto& impl = *m_impl;
    if (!impl.open) {
        error = "not connected";
        return std::nullopt;
    }
    impl.buffer.clear();
    error_code ec;
    bool done = false;
    impl.ws.async_read(impl.buffer, [&](const error_code& e, std::size_t) {
        ec = e;
        done = true;
    });
    if (!impl.runFor(timeout, done)) {
        error = "no answer within " + std::to_string(timeout->count()) + " ms";
        impl.open = false;
        return std::nullopt;
    }
    if (ec) {
        error = ec == websocket::error::closed ? "the engine closed the connection" : ec.message();
        impl.open = false;
        return std::nullopt;
    }
    return beast::buffers_to_string(impl.buffer.data());
}

AdminClient::Result AdminClient::call(const std::string& method, const nlohmann::json& params) {
    auto& impl = *m_impl;
    if (!impl.open) {
        return protocol::RpcError{protocol::rpc::kInternalError, "not connected", nullptr};
    }
    const std::int64_t id = m_nextId++;
    const std::string request = protocol::makeRequest(id, method, params);
    error_code ec;
    bool done = false;
    impl.ws.async_write(asio::buffer(request), [&](const error_code& e, std::size_t) {
        ec = e;
        done = true;
    });
    if (!impl.runFor(m_timeout, done) || ec) {
        impl.open = false;
        return protocol::RpcError{protocol::rpc::kInternalError,
                                  "cannot send to the engine: " + (ec ? ec.message() : std::string("timed out")), nullptr};
    }
    for (;;) {
        std::string error;
        const auto text = readMessage(m_timeout, error);
        if (!text) {
            return protocol::RpcError{protocol::rpc::kInternalError, error, nullptr};
        }
        auto incoming = protocol::parseIncoming(*text, &error);
        if (!incoming) {
            return protocol::RpcError{protocol::rpc::kInternalError, "unreadable answer: " + error, nullptr};
        }
        if (incoming->isNotification()) {
            if (m_onNotification) {
                m_onNotification(*incoming);
            }
            continue;
        }
        if (incoming->id != id && !incoming->id.is_null()) {
            continue; // an answer to an earlier request that timed out
        }
        if (incoming->error) {
            return *incoming->error;
        }
        return incoming->result.value_or(nlohmann::json());
    }
}

std::optional<protocol::RpcIncoming> AdminClient::waitNotification(std::optional<std::chrono::milliseconds> timeout) {
    for (;;) {
        std::string error;
        const auto text = readMessage(timeout, error);
        if (!text) {
            return std::nullopt;
        }
        auto incoming = protocol::parseIncoming(*text, &error);
        if (incoming && incoming->isNotification()) {
            return incoming;
        }
    }
}

void AdminClient::close() {
    auto& impl = *m_impl;
    if (!impl.open) {
        return;
    }
    impl.open = false;
    error_code ec;
    bool done = false;
    impl.ws.async_close(websocket::close_code::normal, [&](const error_code& e) {
        ec = e;
        done = true;
    });
    impl.runFor(std::chrono::seconds(2), done);
}

} // namespace gaetwae::engine::admin
