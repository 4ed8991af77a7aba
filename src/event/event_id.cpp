// UUIDv7 generation; see event_id.h for the layout and why it is unique.
#include "event/event_id.h"

namespace oceanus::event {

EventIdGenerator::EventIdGenerator() {
  std::random_device device;
  std::seed_seq seed{device(), device(), device(), device()};
  random_.seed(seed);
}

void EventIdGenerator::Next(std::chrono::system_clock::time_point now, char* out) {
  std::uint64_t ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
  if (ms <= last_ms_) {
    // Same millisecond (or the clock stepped back): stay on the last one and count up, so ids
    // from this generator never go backwards. When the counter runs out, borrow the next ms.
    ms = last_ms_;
    if (++counter_ > 0x0FFF) {
      ++ms;
      counter_ = 0;
    }
  } else {
    counter_ = static_cast<std::uint16_t>(random_() & 0x01FF);  // random start, headroom above
  }
  last_ms_ = ms;
  const std::uint64_t rand_b = random_();
  std::uint8_t b[16];
  for (int i = 0; i < 6; ++i) b[i] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  b[6] = static_cast<std::uint8_t>(0x70 | (counter_ >> 8));
  b[7] = static_cast<std::uint8_t>(counter_);
  b[8] = static_cast<std::uint8_t>(0x80 | ((rand_b >> 56) & 0x3F));
  for (int i = 9; i < 16; ++i) b[i] = static_cast<std::uint8_t>(rand_b >> (8 * (15 - i)));
  static constexpr char kHex[] = "0123456789abcdef";
  int o = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = kHex[b[i] >> 4];
    out[o++] = kHex[b[i] & 0xF];
  }
}

}  // namespace oceanus::event
