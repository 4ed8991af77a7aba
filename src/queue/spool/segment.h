// Spool segment framing: encoding a record and decoding one from a file position.
// The format and the recovery rules are described in docs/spool_format.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace oceanus::queue::spool {

inline constexpr std::string_view kSegmentMagic = "OCNSPL01";
inline constexpr std::size_t kHeaderBytes = 8;  // u32 length + u32 crc
inline constexpr std::uint32_t kMaxRecordBytes = 16u << 20;

// Appends header + payload to `out`.
void EncodeRecord(std::string& out, std::string_view payload);

enum class DecodeResult {
  kRecord,      // `payload` holds the record; the next one starts at `next_offset`
  kIncomplete,  // the bytes end inside this record (or exactly at `offset`: kEnd)
  kEnd,         // no bytes at `offset`
  kBadCrc,      // length plausible, checksum wrong; the record would end at `next_offset`
  kBadLength,   // length impossible (zero or over the maximum)
};

// Decodes the record at the start of `bytes`; on kRecord, `payload` views into `bytes` and
// `size` is the record's whole size (header included). kBadCrc also sets `size`.
DecodeResult DecodeRecord(std::string_view bytes, std::string_view& payload, std::size_t& size);

// Reads a segment through a buffer: one pread fills up to 256 KiB, and records are decoded
// from memory. A position outside the buffer, or a record that runs past its end, refills it
// from that position (so an active segment that grew is seen on the next call).
class SegmentBuffer {
 public:
  explicit SegmentBuffer(int fd) : fd_(fd) {}
  DecodeResult Next(std::uint64_t offset, std::string_view& payload, std::uint64_t& next_offset);

  // Resynchronisation after damage at `damaged`: finds the first offset after it at which a
  // whole record with a valid checksum starts (docs/spool_format.md says why that is
  // unambiguous). kRecord: `found` is that offset. kEnd: there is none before the end of the
  // file, and `found` is the file's size. kIncomplete: the file could not be read.
  // The scan moves byte by byte through the buffer; only a candidate whose length is possible
  // and whose record ends inside the file costs a checksum.
  DecodeResult FindRecord(std::uint64_t damaged, std::uint64_t& found);

 private:
  bool Fill(std::uint64_t offset, std::size_t at_least);
  int fd_;
  std::string buffer_;
  std::uint64_t start_ = 0;  // file offset of buffer_[0]
  std::size_t length_ = 0;   // valid bytes in buffer_
  bool at_eof_ = false;      // the last fill reached the end of the file
};

}  // namespace oceanus::queue::spool
