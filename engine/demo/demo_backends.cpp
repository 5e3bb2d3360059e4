#include "engine/demo/demo_backends.hpp"

#include "shared/model/address.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <charconv>
#include <future>

namespace gaetwae::engine::demo {

namespace bhttp = boost::beast::http;

namespace {

constexpr std::uint64_t kMaxBytes = 64 * 1024 * 1024;

std::optional<std::uint64_t> numberAfter(std::string_view path, std::string_view prefix) {
    if (!path.starts_with(prefix)) {
        return std::nullopt;
    }
    path.remove_prefix(prefix.size());
    path = path.substr(0, path.find('?'));
    std::uint64_t value = 0;
    const auto [ptr, ec] = std::from_chars(path.data(), path.data() + path.size(), value);
    if (ec != std::errc{} || ptr != path.data() + path.size()) {
        return std::nullopt;
    }
    return value;
}

} // namespace

struct DemoBackends::Backend : std::enable_shared_from_this<Backend> {
    Backend(asio::io_context& io, std::string id)
        : acceptor(io)
        , id(std::move(id)) {}

    Acceptor acceptor;
    std::string id;
    std::string address;

    Task<void> acceptLoop() {
        auto self = shared_from_this();
        for (;;) {
            error_code ec;
            Socket socket(acceptor.get_executor());
            co_await acceptor.async_accept(socket, noThrow(ec));
            if (ec) {
                if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
                    co_return;
                }
                continue;
            }
            asio::co_spawn(acceptor.get_executor(), serve(std::move(socket)), asio::detached);
        }
    }

    Task<void> serve(Socket socket) {
        auto self = shared_from_this();
        boost::beast::flat_buffer buffer;
        SteadyTimer timer(socket.get_executor());
        for (;;) {
            error_code ec;
            bhttp::request_parser<bhttp::string_body> parser;
            parser.body_limit(1024 * 1024);
            co_await bhttp::async_read(socket, buffer, parser, noThrow(ec));
            if (ec) {
                co_return;
            }
            auto& request = parser.get();
            bhttp::response<bhttp::string_body> response;
            response.version(11);
            response.set(bhttp::field::server, "gaetwae-demo");
            response.set("X-Instance", id);
            const std::string_view path(request.target().data(), request.target().size());
            response.result(bhttp::status::ok);
            if (const auto ms = numberAfter(path, "/delay/")) {
                timer.expires_after(std::chrono::milliseconds(std::min<std::uint64_t>(*ms, 60'000)));
                co_await timer.async_wait(noThrow(ec));
            }
            if (const auto status = numberAfter(path, "/status/"); status && *status >= 200 && *status <= 599) {
                response.result(static_cast<unsigned>(*status));
            }
            if (const auto bytes = numberAfter(path, "/bytes/")) {
                response.set(bhttp::field::content_type, "application/octet-stream");
                response.body().assign(std::min(*bytes, kMaxBytes), 'x');
            } else if (path.starts_with("/echo")) {
                response.set(bhttp::field::content_type, request[bhttp::field::content_type]);
                response.body() = std::move(request.body());
            } else {
                nlohmann::json body = {
                    {"instance", id},
                    {"method", std::string(request.method_string())},
                    {"path", std::string(path)},
                    {"host", std::string(request[bhttp::field::host])},
                    {"requestId", std::string(request["X-Request-ID"])},
                    {"forwardedFor", std::string(request["X-Forwarded-For"])},
                };
                response.set(bhttp::field::content_type, "application/json");
                response.body() = body.dump() + "\n";
            }
            response.keep_alive(request.keep_alive());
            response.prepare_payload();
            co_await bhttp::async_write(socket, response, noThrow(ec));
            if (ec || !response.keep_alive()) {
                error_code ignored;
                socket.shutdown(Socket::shutdown_send, ignored);
                co_return;
            }
        }
    }
};

DemoBackends::DemoBackends(asio::io_context& io)
    : m_io(io) {}

DemoBackends::~DemoBackends() {
    stop();
}

std::vector<std::string> DemoBackends::start(const model::GatewayConfig& config) {
    // Acceptors are created on the control thread that owns them: inline when called there
    // (SIGHUP and config events are handled on it), else posted and waited for.
    std::promise<std::vector<std::string>> result;
    auto run = [&] {
        std::vector<std::string> started;
        for (const auto& pool : config.pools) {
            for (const auto& instance : pool.instances) {
                const auto address = model::parseHostPort(instance.address);
                if (!address || !model::isLoopbackHost(address->host)) {
                    continue;
                }
                const bool served = std::any_of(m_backends.begin(), m_backends.end(),
                                                [&](const auto& b) { return b->address == instance.address; });
                if (served) {
                    continue;
                }
                auto backend = std::make_shared<Backend>(m_io, instance.id);
                backend->address = instance.address;
                error_code ec;
                const auto ip = asio::ip::make_address(address->host == "localhost" ? "127.0.0.1" : address->host, ec);
                const tcp::endpoint endpoint(ip, address->port);
                backend->acceptor.open(endpoint.protocol(), ec);
                if (!ec) {
                    backend->acceptor.set_option(Acceptor::reuse_address(true), ec);
                    backend->acceptor.bind(endpoint, ec);
                }
                if (!ec) {
                    backend->acceptor.listen(asio::socket_base::max_listen_connections, ec);
                }
                if (ec) {
                    spdlog::warn("demo backend {} not started on {}: {}", instance.id, instance.address, ec.message());
                    continue;
                }
                asio::co_spawn(m_io, backend->acceptLoop(), asio::detached);
                started.push_back(instance.id + " on " + instance.address);
                m_backends.push_back(std::move(backend));
            }
        }
        result.set_value(std::move(started));
    };
    if (m_io.get_executor().running_in_this_thread()) {
        run();
    } else {
        asio::post(m_io, run);
    }
    return result.get_future().get();
}

void DemoBackends::stop() {
    for (auto& backend : m_backends) {
        error_code ignored;
        backend->acceptor.close(ignored);
    }
    m_backends.clear();
}

} // namespace gaetwae::engine::demo
