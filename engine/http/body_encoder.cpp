#include "engine/http/body_encoder.hpp"

#include <brotli/encode.h>
#include <zlib.h>

#include <array>

namespace gaetwae::engine::http {

namespace {

constexpr std::size_t kOutStep = 16 * 1024;

class GzipEncoder final : public BodyEncoder {
public:
    bool init(int level) {
        // windowBits 15 + 16: a gzip wrapper rather than raw zlib; memLevel 8 is zlib's default.
        m_ready = deflateInit2(&m_stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
        return m_ready;
    }
    ~GzipEncoder() override {
        if (m_ready) {
            deflateEnd(&m_stream);
        }
    }

    bool write(std::string_view input, std::string& out) override { return run(input, Z_NO_FLUSH, out); }
    bool flush(std::string& out) override { return run({}, Z_SYNC_FLUSH, out); }
    bool finish(std::string& out) override { return run({}, Z_FINISH, out); }

private:
    bool run(std::string_view input, int mode, std::string& out) {
        m_stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
        m_stream.avail_in = static_cast<uInt>(input.size());
        for (;;) {
            const std::size_t used = out.size();
            out.resize(used + kOutStep);
            m_stream.next_out = reinterpret_cast<Bytef*>(out.data() + used);
            m_stream.avail_out = static_cast<uInt>(kOutStep);
            const int rc = deflate(&m_stream, mode);
            out.resize(used + kOutStep - m_stream.avail_out);
            if (rc == Z_STREAM_END) {
                return true;
            }
            if (rc != Z_OK && rc != Z_BUF_ERROR) {
                return false;
            }
            // Done when the input is consumed and zlib had room to spare (nothing left pending).
            if (m_stream.avail_in == 0 && m_stream.avail_out != 0) {
                return mode != Z_FINISH;
            }
        }
    }

    z_stream m_stream{};
    bool m_ready = false;
};

class BrotliEncoder final : public BodyEncoder {
public:
    bool init(int level) {
        m_state = BrotliEncoderCreateInstance(nullptr, nullptr, nullptr);
        return m_state != nullptr &&
               BrotliEncoderSetParameter(m_state, BROTLI_PARAM_QUALITY, static_cast<std::uint32_t>(level)) &&
               BrotliEncoderSetParameter(m_state, BROTLI_PARAM_LGWIN, 18);
    }
    ~BrotliEncoder() override {
        if (m_state != nullptr) {
            BrotliEncoderDestroyInstance(m_state);
        }
    }

    bool write(std::string_view input, std::string& out) override {
        return run(input, BROTLI_OPERATION_PROCESS, out);
    }
    bool flush(std::string& out) override { return run({}, BROTLI_OPERATION_FLUSH, out); }
    bool finish(std::string& out) override { return run({}, BROTLI_OPERATION_FINISH, out); }

private:
    bool run(std::string_view input, BrotliEncoderOperation operation, std::string& out) {
        std::size_t availableIn = input.size();
        const auto* nextIn = reinterpret_cast<const std::uint8_t*>(input.data());
        for (;;) {
            const std::size_t used = out.size();
            out.resize(used + kOutStep);
            std::size_t availableOut = kOutStep;
            auto* nextOut = reinterpret_cast<std::uint8_t*>(out.data() + used);
            const bool ok = BrotliEncoderCompressStream(m_state, operation, &availableIn, &nextIn,
                                                        &availableOut, &nextOut, nullptr);
            out.resize(used + kOutStep - availableOut);
            if (!ok) {
                return false;
            }
            const bool drained = availableIn == 0 && !BrotliEncoderHasMoreOutput(m_state);
            if (operation == BROTLI_OPERATION_FINISH ? BrotliEncoderIsFinished(m_state) : drained) {
                return true;
            }
        }
    }

    BrotliEncoderState* m_state = nullptr;
};

} // namespace

std::unique_ptr<BodyEncoder> BodyEncoder::create(model::CompressionAlgorithm algorithm, int level) {
    std::unique_ptr<BodyEncoder> encoder;
    switch (algorithm) {
    case model::CompressionAlgorithm::Gzip: {
        auto gzip = std::make_unique<GzipEncoder>();
        if (gzip->init(level)) {
            encoder = std::move(gzip);
        }
        break;
    }
    case model::CompressionAlgorithm::Brotli: {
        auto brotli = std::make_unique<BrotliEncoder>();
        if (brotli->init(level)) {
            encoder = std::move(brotli);
        }
        break;
    }
    }
    if (encoder) {
        encoder->m_algorithm = algorithm;
    }
    return encoder;
}

} // namespace gaetwae::engine::http
