#pragma once

// One place for the Asio includes, namespace aliases and I/O types the engine uses.
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>

namespace gaetwae::engine {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// The concrete io_context executor instead of the type-erased any_io_executor: every operation
// on the data path would otherwise pay for type erasure (a few percent of a proxied request).
using Executor = asio::io_context::executor_type;

template <class T = void>
using Task = asio::awaitable<T, Executor>;

using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using SteadyTimer =
    asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, Executor>;

// Completion token for coroutines: errors land in `ec` instead of being thrown (the data plane
// does not use exceptions).
inline auto noThrow(error_code& ec) {
    return asio::redirect_error(asio::use_awaitable_t<Executor>{}, ec);
}

} // namespace gaetwae::engine
