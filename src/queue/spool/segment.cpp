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
  at_eof_ = n >= 0 && length_ < want;
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

DecodeResult SegmentBuffer::FindRecord(std::uint64_t damaged, std::uint64_t& found) {
  for (std::uint64_t at = damaged + 1;; ++at) {
    // The candidate's header must be in the buffer; refill from it when it is not.
    if (at < start_ || at + kHeaderBytes > start_ + length_) {
      if (!(at_eof_ && at >= start_ && at <= start_ + length_) && !Fill(at, kHeaderBytes))
        return DecodeResult::kIncomplete;
      if (at + kHeaderBytes > start_ + length_) {  // fewer than a header's bytes left
        found = start_ + length_;
        return DecodeResult::kEnd;
      }
    }
    const std::uint32_t length = GetU32(buffer_.data() + (at - start_));
    if (length == 0 || length > kMaxRecordBytes) continue;
    if (at + kHeaderBytes + length > start_ + length_) {
      if (at_eof_) continue;  // would end past the end of the file
      if (!Fill(at, kHeaderBytes + length)) return DecodeResult::kIncomplete;
      if (at + kHeaderBytes + length > start_ + length_) continue;
    }
    const char* record = buffer_.data() + (at - start_);
    if (Checksum(record, std::string_view(record + kHeaderBytes, length)) == GetU32(record + 4)) {
      found = at;
      return DecodeResult::kRecord;
    }
  }
}

}  // namespace oceanus::queue::spool
