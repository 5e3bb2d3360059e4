#include "engine/http/access_log.hpp"

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

namespace gaetwae::engine::http {

namespace {

// JSON string escaping for the few fields that come from the client.
void appendJsonString(fmt::memory_buffer& out, std::string_view text) {
    out.push_back('"');
    for (const char c : text) {
        switch (c) {
        case '"':
            out.append(std::string_view("\\\""));
            break;
        case '\\':
            out.append(std::string_view("\\\\"));
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
            } else {
                out.push_back(c);
            }
        }
    }
    out.push_back('"');
}

// ,"key":"value" (no comma before the first member).
void appendMember(fmt::memory_buffer& out, std::string_view key, std::string_view value, bool first = false) {
    if (!first) {
        out.push_back(',');
    }
    out.push_back('"');
    out.append(key);
    out.append(std::string_view("\":"));
    appendJsonString(out, value);
}

std::string_view orDash(std::string_view text) {
    return text.empty() ? std::string_view("-") : text;
}

} // namespace

std::shared_ptr<AccessLog> AccessLog::open(const model::AccessLogConfig& config, std::string& error) {
    std::shared_ptr<AccessLog> log(new AccessLog());
    log->m_enabled = config.enabled;
    log->m_includeQuery = config.includeQuery;
    log->m_format = config.format;
    if (!config.enabled) {
        return log;
    }
    try {
        spdlog::sink_ptr sink;
        if (config.path == "stdout") {
            sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
        } else if (config.path == "stderr") {
            sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
        } else {
            sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(config.path, false);
        }
        log->m_pool = std::make_shared<spdlog::details::thread_pool>(16384, 1);
        log->m_logger = std::make_shared<spdlog::async_logger>("access", sink, log->m_pool,
                                                               spdlog::async_overflow_policy::block);
        if (config.format == model::AccessLogFormat::Json) {
            log->m_logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z",%v)");
        } else {
            log->m_logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %v");
        }
        log->m_logger->set_level(spdlog::level::info);
        // Flushed once a second by the engine (and on shutdown), not per line: a write(2) per
        // request would cost more than the request.
        log->m_logger->flush_on(spdlog::level::err);
    } catch (const spdlog::spdlog_ex& e) {
        error = std::string("cannot open access log: ") + e.what();
        return nullptr;
    }
    return log;
}

AccessLog::~AccessLog() {
    if (m_logger) {
        m_logger->flush(); // queued behind the pending lines
    }
    // The pool's destructor drains its queue and joins its thread: only then may the logger and
    // its sink go (the other way round, the thread could still be writing to a freed sink).
    m_pool.reset();
    m_logger.reset();
}

void AccessLog::flush() {
    if (m_logger) {
        m_logger->flush();
    }
}

void AccessLog::write(const AccessRecord& r) {
    if (!m_enabled || !m_logger) {
        return;
    }
    fmt::memory_buffer out;
    if (m_format == model::AccessLogFormat::Json) {
        appendMember(out, "client", r.clientIp, true);
        appendMember(out, "method", r.method);
        appendMember(out, "path", r.path);
        fmt::format_to(std::back_inserter(out), ",\"protocol\":\"HTTP/1.{}\",\"status\":{},\"bytes_in\":{},\"bytes_out\":{}",
                       r.version == 10 ? 0 : 1, r.status, r.bytesIn, r.bytesOut);
        appendMember(out, "route", r.route);
        appendMember(out, "pool", r.pool);
        appendMember(out, "instance", r.instance);
        appendMember(out, "request_id", r.requestId);
        if (!r.error.empty()) {
            appendMember(out, "error", r.error);
        }
        if (!r.consumer.empty()) {
            appendMember(out, "consumer", r.consumer);
        }
        fmt::format_to(std::back_inserter(out), ",\"duration_ms\":{:.3f}", r.totalMs);
        if (r.upstreamMs >= 0) {
            fmt::format_to(std::back_inserter(out), ",\"upstream_ms\":{:.3f}", r.upstreamMs);
        }
        out.push_back('}');
    } else {
        fmt::format_to(std::back_inserter(out), "{} \"{} {} HTTP/1.{}\" {} {} {} route={} pool={} instance={} rid={}",
                       r.clientIp, r.method, r.path, r.version == 10 ? 0 : 1, r.status, r.bytesIn, r.bytesOut,
                       orDash(r.route), orDash(r.pool), orDash(r.instance), r.requestId);
        if (!r.error.empty()) {
            fmt::format_to(std::back_inserter(out), " error={}", r.error);
        }
        if (!r.consumer.empty()) {
            fmt::format_to(std::back_inserter(out), " consumer={}", r.consumer);
        }
        fmt::format_to(std::back_inserter(out), " rt={:.3f}", r.totalMs / 1000.0);
        if (r.upstreamMs >= 0) {
            fmt::format_to(std::back_inserter(out), " ut={:.3f}", r.upstreamMs / 1000.0);
        }
    }
    m_logger->info(std::string_view(out.data(), out.size()));
}

} // namespace gaetwae::engine::http
