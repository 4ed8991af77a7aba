// Segment framing: [u32 length][u32 crc32(length bytes + payload)][payload], little-endian.
// See docs/spool_format.md for why the length is under the checksum and how readers recover.
#include "queue/spool/segment.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>

namespace oceanus::queue::spool {
namespace {

void PutU32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

std::uint32_t GetU32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

std::uint32_t Checksum(const char* length_bytes, std::string_view payload) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(length_bytes), 4);
  crc =
      crc32(crc, reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(payload.size()));
  return static_cast<std::uint32_t>(crc);
}

// pread until `n` bytes or end of file; returns the number read, or -1 on error.
ssize_t ReadFully(int fd, char* buf, std::size_t n, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, buf + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    done += static_cast<std::size_t>(r);
  }
  return static_cast<ssize_t>(done);
}

}  // namespace

void EncodeRecord(std::string& out, std::string_view payload) {
  char header[kHeaderBytes];
  PutU32(header, static_cast<std::uint32_t>(payload.size()));
  PutU32(header + 4, Checksum(header, payload));
  out.append(header, kHeaderBytes);
  out.append(payload);
}

DecodeResult DecodeRecord(std::string_view bytes, std::string_view& payload, std::size_t& size) {
  if (bytes.empty()) return DecodeResult::kEnd;
  if (bytes.size() < kHeaderBytes) return DecodeResult::kIncomplete;
  const std::uint32_t length = GetU32(bytes.data());
  if (length == 0 || length > kMaxRecordBytes) return DecodeResult::kBadLength;
  if (bytes.size() < kHeaderBytes + length) return DecodeResult::kIncomplete;
  payload = bytes.substr(kHeaderBytes, length);
  size = kHeaderBytes + length;
  if (Checksum(bytes.data(), payload) != GetU32(bytes.data() + 4)) return DecodeResult::kBadCrc;
  return DecodeResult::kRecord;
}

bool SegmentBuffer::Fill(std::uint64_t offset, std::size_t at_least) {
  constexpr std::size_t kChunk = 256 * 1024;
  const std::size_t want = std::max(kChunk, at_least);
  if (buffer_.size() < want) buffer_.resize(want);
  const ssize_t n = ReadFully(fd_, buffer_.data(), want, offset);
  start_ = offset;
  length_ = n < 0 ? 0 : static_cast<std::size_t>(n);
  return n >= 0;
}

DecodeResult SegmentBuffer::Next(std::uint64_t offset, std::string_view& payload,
                                 std::uint64_t& next_offset) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool inside = offset >= start_ && offset <= start_ + length_;
    if (!inside || attempt == 1) {
      std::size_t need = kHeaderBytes;
      if (inside && offset + kHeaderBytes <= start_ + length_)
        need += GetU32(buffer_.data() + (offset - start_));  // the record we know is cut off
      if (!Fill(offset, std::min<std::size_t>(need, kHeaderBytes + kMaxRecordBytes)))
        return DecodeResult::kIncomplete;
    }
    const std::string_view bytes(buffer_.data() + (offset - start_), start_ + length_ - offset);
    std::size_t size = 0;
    const DecodeResult r = DecodeRecord(bytes, payload, size);
    if (r == DecodeResult::kRecord || r == DecodeResult::kBadCrc) next_offset = offset + size;
    // End of buffered bytes: the file may have more (it grew, or the buffer ended mid-record).
    if ((r == DecodeResult::kEnd || r == DecodeResult::kIncomplete) && attempt == 0) continue;
    return r;
  }
  return DecodeResult::kEnd;
}

DecodeResult DecodeRecordAt(int fd, std::uint64_t offset, std::string& payload,
                            std::uint64_t& next_offset) {
  char header[kHeaderBytes];
  const ssize_t got = ReadFully(fd, header, kHeaderBytes, offset);
  if (got == 0) return DecodeResult::kEnd;
  if (got < static_cast<ssize_t>(kHeaderBytes)) return DecodeResult::kIncomplete;
  const std::uint32_t length = GetU32(header);
  if (length == 0 || length > kMaxRecordBytes) return DecodeResult::kBadLength;
  payload.resize(length);
  const ssize_t body = ReadFully(fd, payload.data(), length, offset + kHeaderBytes);
  if (body < static_cast<ssize_t>(length)) return DecodeResult::kIncomplete;
  next_offset = offset + kHeaderBytes + length;
  if (Checksum(header, payload) != GetU32(header + 4)) return DecodeResult::kBadCrc;
  return DecodeResult::kRecord;
}

}  // namespace oceanus::queue::spool
