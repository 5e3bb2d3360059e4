#pragma once

// One place for the Asio/Beast includes and namespace aliases the engine uses.
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace gaetwae::engine {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

template <class T = void>
using Task = asio::awaitable<T>;

// Completion token for the data plane: errors land in `ec` instead of being thrown.
inline auto noThrow(error_code& ec) {
    return asio::redirect_error(asio::use_awaitable, ec);
}

} // namespace gaetwae::engine
