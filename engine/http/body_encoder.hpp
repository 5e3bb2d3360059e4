#pragma once

#include "shared/model/transform_config.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace gaetwae::engine::http {

// A streaming content coder for response bodies (gzip through zlib, br through libbrotli).
// Output is appended to the caller's string; memory stays bounded by the coder's window (brotli
// runs with a 256 KiB window) plus one piece's output. A coder failure (no memory for its
// state) is reported as false, not thrown: the response must then be cut.
class BodyEncoder {
public:
    virtual ~BodyEncoder() = default;

    // nullptr when the coder cannot be set up. `level`: 1..9.
    static std::unique_ptr<BodyEncoder> create(model::CompressionAlgorithm algorithm, int level);

    // Compresses `input`; output may be held back until flush() or finish().
    virtual bool write(std::string_view input, std::string& out) = 0;
    // Emits everything written so far in decodable form, so a streamed response (SSE, long
    // polling) reaches the client piece by piece.
    virtual bool flush(std::string& out) = 0;
    // Ends the stream (trailer, checksum). No write() after it.
    virtual bool finish(std::string& out) = 0;

    model::CompressionAlgorithm algorithm() const { return m_algorithm; }

private:
    model::CompressionAlgorithm m_algorithm = model::CompressionAlgorithm::Gzip; // set by create()
};

} // namespace gaetwae::engine::http
