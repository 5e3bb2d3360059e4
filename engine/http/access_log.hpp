#pragma once

#include "shared/model/config.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
namespace details {
class thread_pool;
}
} // namespace spdlog

namespace gaetwae::engine::http {

// One line per request, written by a background thread so a slow disk never stalls a worker.
struct AccessRecord {
    std::string_view clientIp;
    std::string_view method;
    std::string_view path; // without the query unless the config includes it
    int version = 11;
    int status = 0;
    std::uint64_t bytesIn = 0;  // request body bytes
    std::uint64_t bytesOut = 0; // response body bytes
    std::string_view route;
    std::string_view pool;
    std::string_view instance;
    std::string_view requestId;
    std::string_view error; // gateway error code when the gateway answered itself
    std::string_view consumer; // authenticated consumer on routes with auth (never a credential)
    double totalMs = 0;
    double upstreamMs = -1; // -1 when no upstream was involved
};

class AccessLog {
public:
    // Opens the configured destination; returns nullptr and sets `error` when it cannot.
    static std::shared_ptr<AccessLog> open(const model::AccessLogConfig& config, std::string& error);
    ~AccessLog();

    bool enabled() const { return m_enabled; }
    bool includeQuery() const { return m_includeQuery; }
    void write(const AccessRecord& record);
    void flush();

private:
    AccessLog() = default;

    bool m_enabled = false;
    bool m_includeQuery = false;
    model::AccessLogFormat m_format = model::AccessLogFormat::Text;
    std::shared_ptr<spdlog::details::thread_pool> m_pool;
    std::shared_ptr<spdlog::logger> m_logger;
};

} // namespace gaetwae::engine::http
