// Fuzzes spool recovery (queue::Spool, its reader and spool::SegmentBuffer): the input is written
// as a sealed segment file (docs/spool_format.md) into a fresh spool directory, and the spool is
// opened and read to the end, three ways: (a) one segment read in one go; (b) the input as two
// consecutive segments of one writer, read one entry at a time, acknowledging each and
// re-opening the spool from its cursor every time for the first reads; (c) the records placed
// behind a valid filler record, so that they straddle the reader's 256 KiB buffer boundary.
// Invariants: no crash, hang or leak; every entry returned is a record whose CRC is valid; and
// the entries are exactly those of the recovery rules, in order — whole records in turn; at
// any damage (bad magic, impossible length, checksum mismatch, a record running past the end)
// reading resumes at the next whole record whose CRC holds, and the bytes skipped are set
// aside in <segment>.corrupt (checked byte for byte in (a)); a torn tail with nothing valid
// after it dropped — nothing returned twice across acknowledgements and re-opens.
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "app/config.h"
#include "fuzz_check.h"
#include "queue/spool/segment.h"
#include "queue/spool/spool.h"

namespace {

namespace fs = std::filesystem;
using oceanus::queue::Spool;
using oceanus::queue::spool::kHeaderBytes;
using oceanus::queue::spool::kMaxRecordBytes;
using oceanus::queue::spool::kSegmentMagic;

std::uint32_t GetU32(std::string_view b, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + i])) << (8 * i);
  return v;
}

// The record at `at` when it is whole and its checksum holds (written independently of
// segment.cpp, from the format description).
bool ValidRecordAt(std::string_view seg, std::size_t at, std::string_view* payload) {
  if (at > seg.size() || seg.size() - at < kHeaderBytes) return false;
  const std::uint32_t length = GetU32(seg, at);
  if (length == 0 || length > kMaxRecordBytes || seg.size() - at - kHeaderBytes < length)
    return false;
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(seg.data() + at), 4);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(seg.data() + at + kHeaderBytes), length);
  if (static_cast<std::uint32_t>(crc) != GetU32(seg, at + 4)) return false;
  if (payload != nullptr) *payload = seg.substr(at + kHeaderBytes, length);
  return true;
}

// The first offset at or after `from` where a whole record with a valid checksum starts, or
// the segment's size when there is none.
std::size_t NextValid(std::string_view seg, std::size_t from) {
  for (std::size_t at = from; at < seg.size(); ++at)
    if (ValidRecordAt(seg, at, nullptr)) return at;
  return seg.size();
}

// What recovery does with a sealed segment (docs/spool_format.md, "Reading and recovery"):
// the offsets of the records it returns, in order, and the bytes it sets aside in
// <segment>.corrupt. Damage (a bad header, an impossible length, a checksum mismatch, a
// record that runs past the end) costs the bytes up to the next whole record whose checksum
// holds, which are set aside; a record cut short with nothing valid after it is a torn tail,
// dropped.
struct Recovery {
  std::vector<std::size_t> records;
  std::string set_aside;
};

Recovery Expected(std::string_view seg) {
  Recovery out;
  if (seg.size() < kSegmentMagic.size()) {
    out.set_aside = seg;
    return out;
  }
  std::size_t at = kSegmentMagic.size();
  if (seg.substr(0, kSegmentMagic.size()) != kSegmentMagic) {
    at = NextValid(seg, kSegmentMagic.size());
    out.set_aside = seg.substr(0, at);
  }
  while (at < seg.size()) {
    std::string_view payload;
    if (ValidRecordAt(seg, at, &payload)) {
      out.records.push_back(at);
      at += kHeaderBytes + payload.size();
      continue;
    }
    const std::size_t next = NextValid(seg, at + 1);
    const bool cut_short = seg.size() - at < kHeaderBytes ||
                           (GetU32(seg, at) != 0 && GetU32(seg, at) <= kMaxRecordBytes &&
                            seg.size() - at - kHeaderBytes < GetU32(seg, at));
    if (!(cut_short && next == seg.size())) out.set_aside += seg.substr(at, next - at);
    at = next;
  }
  return out;
}

// A fresh directory per run, on tmpfs when there is one: recovery fsyncs what it sets aside.
class Scratch {
 public:
  Scratch() {
    std::error_code ec;
    fs::path base = fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0
                        ? fs::path("/dev/shm")
                        : fs::temp_directory_path();
    path_ = base /
            ("oceanus-fuzz-spool-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(path_, ec);
    fs::create_directories(path_ / "s", ec);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  void WriteSegment(unsigned writer, std::uint64_t seq, std::string_view bytes) const {
    char name[48];
    std::snprintf(name, sizeof name, "w%03u-%010llu.seg", writer,
                  static_cast<unsigned long long>(seq));
    std::ofstream out(path_ / "s" / name, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    FUZZ_CHECK(out.good(), "cannot write a segment under %s", path_.c_str());
  }

 private:
  static inline unsigned counter_ = 0;
  fs::path path_;
};

std::unique_ptr<Spool> OpenSpool(const Scratch& dir) {
  oceanus::queue::QueueConfig config;
  auto spool = Spool::Open(dir.path().string(), {"s"}, {"load"}, config);
  FUZZ_CHECK(spool.ok(), "open: %s", spool.status().ToString().c_str());
  return std::move(spool).value();
}

// Reads everything; `max_entries` per call; acknowledging (and, for the first `reopens`
// calls, re-opening the spool) after each.
std::vector<std::string> ReadAll(const Scratch& dir, std::size_t max_entries, bool ack,
                                 int reopens) {
  std::vector<std::string> got;
  auto spool = OpenSpool(dir);
  auto reader = spool->OpenReader(0, "load");
  FUZZ_CHECK(reader.ok(), "reader: %s", reader.status().ToString().c_str());
  std::unique_ptr<oceanus::queue::QueueReader> r = std::move(reader).value();
  for (int calls = 0;; ++calls) {
    FUZZ_CHECK(calls < 100000, "reading does not end");
    auto batch = r->Read(max_entries, 1 << 20, std::chrono::milliseconds(0));
    FUZZ_CHECK(batch.ok(), "read: %s", batch.status().ToString().c_str());
    if (batch->empty()) break;
    FUZZ_CHECK(batch->size() <= max_entries, "more entries than asked for");
    for (const auto& e : *batch) got.push_back(e.payload);
    if (!ack) continue;
    const auto acked = r->Ack(batch->back().id);
    FUZZ_CHECK(acked.ok(), "ack: %s", acked.ToString().c_str());
    if (calls < reopens) {
      r.reset();
      spool.reset();
      spool = OpenSpool(dir);
      auto again = spool->OpenReader(0, "load");
      FUZZ_CHECK(again.ok(), "reader: %s", again.status().ToString().c_str());
      r = std::move(again).value();
    }
  }
  return got;
}

// `got` must be the records at `offsets` of `segments` (one after the other), each of them a
// whole record whose CRC holds.
void CheckSame(const std::vector<std::string>& got, std::string_view seg,
               const std::vector<std::size_t>& offsets, int segments, const char* how) {
  FUZZ_CHECK(got.size() == offsets.size() * segments, "%s: %zu entries, expected %zu", how,
             got.size(), offsets.size() * segments);
  for (std::size_t i = 0; i < got.size(); ++i) {
    std::string_view payload;
    FUZZ_CHECK(ValidRecordAt(seg, offsets[i % offsets.size()], &payload) && got[i] == payload,
               "%s: entry %zu is not the CRC-valid record expected there", how, i);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  SilenceLogsOnce();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const Recovery recovery = Expected(input);
  const std::vector<std::size_t>& expected = recovery.records;

  {  // (a) one sealed segment, read in one go; the damaged bytes, and only they, set aside.
    Scratch dir;
    dir.WriteSegment(0, 1, input);
    CheckSame(ReadAll(dir, 100000, /*ack=*/false, 0), input, expected, 1, "one read");
    std::ifstream corrupt(dir.path() / "s" / "w000-0000000001.seg.corrupt", std::ios::binary);
    const std::string set_aside{std::istreambuf_iterator<char>(corrupt),
                                std::istreambuf_iterator<char>()};
    FUZZ_CHECK(set_aside == recovery.set_aside, "set aside %zu bytes, expected %zu",
               set_aside.size(), recovery.set_aside.size());
  }
  {  // (b) two segments of one series, one entry per read, acknowledged and re-opened.
    Scratch dir;
    dir.WriteSegment(0, 1, input);
    dir.WriteSegment(0, 2, input);
    CheckSame(ReadAll(dir, 1, /*ack=*/true, 8), input, expected, 2, "acknowledged one by one");
  }
  if (input.size() >= kSegmentMagic.size() &&
      input.compare(0, kSegmentMagic.size(), kSegmentMagic) == 0) {
    // (c) a filler record first, so that the input's records cross the 256 KiB buffer edge.
    constexpr std::size_t kBuffer = 256 * 1024;
    static const std::string kFiller(kBuffer, 'f');
    const std::size_t shift = size > 8 ? data[8] : 0;
    std::string seg(kSegmentMagic);
    oceanus::queue::spool::EncodeRecord(
        seg, std::string_view(kFiller).substr(0, kBuffer - 2 * kHeaderBytes - seg.size() - shift));
    const std::size_t moved = seg.size() - kSegmentMagic.size();
    seg.append(input.substr(kSegmentMagic.size()));
    std::vector<std::size_t> want = {kSegmentMagic.size()};
    for (std::size_t at : expected) want.push_back(at + moved);
    FUZZ_CHECK(Expected(seg).records == want, "harness: the filler changed what the input holds");
    Scratch dir;
    dir.WriteSegment(0, 1, seg);
    CheckSame(ReadAll(dir, 1000, /*ack=*/false, 0), seg, want, 1, "across the buffer edge");
  }
  return 0;
}
