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

// Reads the record at `offset` of the open file `fd` with pread.
DecodeResult DecodeRecordAt(int fd, std::uint64_t offset, std::string& payload,
                            std::uint64_t& next_offset);

}  // namespace oceanus::queue::spool
