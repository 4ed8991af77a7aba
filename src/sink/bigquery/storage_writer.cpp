// StorageWriter: slots in the ledger, runs of appends, and what each answer means; see the
// header for the protocol.
#include "sink/bigquery/storage_writer.h"

#include <algorithm>
#include <charconv>

#include "sink/bigquery/proto_rows.h"
#include "util/log.h"

namespace oceanus::sink {
namespace {

using Kind = AppendOutcome::Kind;

std::string SlotValue(const std::string& stream, std::int64_t offset) {
  return stream + " " + std::to_string(offset);
}

// "<stream> <offset>" into the item; false when the value is not a slot.
bool ReadSlot(const std::string& value, std::string& stream, std::int64_t& offset) {
  const std::size_t space = value.rfind(' ');
  if (space == std::string::npos || space == 0) return false;
  const char* end = value.data() + value.size();
  auto [p, ec] = std::from_chars(value.data() + space + 1, end, offset);
  if (ec != std::errc() || p != end || offset < 0) return false;
  stream = value.substr(0, space);
  return true;
}

std::vector<std::string> Bytes(std::span<const std::string> all, std::size_t begin,
                               std::size_t end) {
  return {all.begin() + begin, all.begin() + end};
}

}  // namespace

StorageWriter::StorageWriter(const BigQueryConfig& config,
                             std::unique_ptr<StorageWriteClient> client, Reensure reensure)
    : config_(config), client_(std::move(client)), reensure_(std::move(reensure)) {}

std::string StorageWriter::TablePath(const TableSpec& table) const {
  return "projects/" + config_.project + "/datasets/" + config_.dataset + "/tables/" + table.name;
}

WriteResult StorageWriter::Write(const TableSpec& table, const std::vector<Row>& rows) {
  WriteResult result;
  const std::size_t key = table.KeyIndex();
  std::vector<Item> items;
  items.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    Item item;
    item.index = i;
    std::string reason;
    if (!EncodeRow(table, rows[i], item.bytes, reason)) {
      result.rejected.push_back({i, reason});
      continue;
    }
    if (key < rows[i].size() && rows[i][key]) item.key = *rows[i][key];
    if (config_.exactly_once && item.key.find_first_of(" \t\n") != std::string::npos)
      item.key.clear();
    if (config_.exactly_once && item.key.empty()) {
      result.rejected.push_back({i, "no usable " + table.key_column + " to write it once by"});
      continue;
    }
    items.push_back(std::move(item));
  }
  if (items.empty()) return result;
  return config_.exactly_once ? WriteExactlyOnce(table, std::move(items), std::move(result))
                              : WriteAtLeastOnce(table, std::move(items), std::move(result));
}

std::vector<StorageWriter::Run> StorageWriter::Runs(const std::vector<Item>& items) const {
  std::vector<Run> runs;
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const bool joins = !runs.empty() && !items[i].alone && !items[i - 1].alone &&
                       items[i].stream == items[i - 1].stream &&
                       items[i].offset == items[i - 1].offset + 1 && items[i].offset >= 0 &&
                       bytes + items[i].bytes.size() + 16 <= config_.max_request_bytes;
    if (joins) {
      runs.back().end = i + 1;
      bytes += items[i].bytes.size() + 16;
    } else {
      runs.push_back({i, i + 1});
      bytes = items[i].bytes.size() + 16;
    }
  }
  return runs;
}

WriteResult StorageWriter::WriteAtLeastOnce(const TableSpec& table, std::vector<Item> items,
                                            WriteResult result) {
  const std::string stream = TablePath(table) + "/streams/_default";
  const auto schema = RowDescriptor(table);
  bool reensured = false;
  for (int round = 0; !items.empty(); ++round) {
    if (round > 20) {
      result.status = Status::Unavailable("AppendRows " + table.name + ": did not settle");
      return result;
    }
    std::vector<std::string> bytes;
    for (const auto& item : items) bytes.push_back(item.bytes);
    std::vector<Item> again;
    for (const Run& run : Runs(items)) {
      AppendOutcome out =
          client_->Append(stream, std::nullopt, schema, Bytes(bytes, run.begin, run.end));
      if (out.kind == Kind::kStored) continue;
      if (out.kind == Kind::kRowErrors) {
        std::vector<bool> bad(run.end - run.begin);
        for (const auto& e : out.row_errors) {
          if (e.index >= bad.size()) continue;
          bad[e.index] = true;
          result.rejected.push_back({items[run.begin + e.index].index, "BigQuery: " + e.message});
        }
        for (std::size_t i = run.begin; i < run.end; ++i)
          if (!bad[i - run.begin]) again.push_back(std::move(items[i]));
        continue;
      }
      if (out.kind == Kind::kSchemaMismatch && !reensured) {
        reensured = true;
        if (Status s = reensure_(table); !s.ok()) {
          result.status = s;
          return result;
        }
        for (std::size_t i = run.begin; i < run.end; ++i) again.push_back(std::move(items[i]));
        continue;
      }
      result.status = Status::Unavailable("AppendRows " + table.name + ": " + out.message);
      return result;
    }
    items = std::move(again);
  }
  return result;
}

WriteResult StorageWriter::WriteExactlyOnce(const TableSpec& table, std::vector<Item> items,
                                            WriteResult result) {
  if (!ledger_) {
    result.status = Status::Internal("bigquery: delivery exactly_once needs the queue's ledger");
    return result;
  }
  if (Status s = AssignSlots(table, items); !s.ok()) {
    result.status = Status::Unavailable("bigquery slots: " + s.message());
    return result;
  }
  const auto schema = RowDescriptor(table);
  bool reensured = false;
  for (int round = 0; !items.empty(); ++round) {
    if (round > 20) {
      result.status = Status::Unavailable("AppendRows " + table.name + ": did not settle");
      return result;
    }
    std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
      return std::tie(a.stream, a.offset) < std::tie(b.stream, b.offset);
    });
    std::vector<Fate> fates(items.size(), Fate::kAgain);
    if (Status s = AppendRound(table, schema, items, fates, reensured, result.rejected); !s.ok()) {
      result.status = s;
      return result;
    }
    std::vector<Item*> move;
    for (std::size_t i = 0; i < items.size(); ++i)
      if (fates[i] == Fate::kMove) move.push_back(&items[i]);
    if (Status s = MoveSlots(table, move); !s.ok()) {
      result.status = Status::Unavailable("bigquery slots: " + s.message());
      return result;
    }
    std::vector<Item> again;
    for (std::size_t i = 0; i < items.size(); ++i)
      if (fates[i] == Fate::kAgain || fates[i] == Fate::kMove) again.push_back(std::move(items[i]));
    items = std::move(again);
  }
  return result;
}

Status StorageWriter::AppendRound(const TableSpec& table,
                                  const ::google::protobuf::DescriptorProto& schema,
                                  std::vector<Item>& items, std::vector<Fate>& fates,
                                  bool& reensured, std::vector<RowError>& rejected) {
  auto settle = [&](const Run& run, std::int64_t count) {  // the stream holds `count` rows
    for (std::size_t i = run.begin; i < run.end; ++i)
      fates[i] = items[i].offset < count ? Fate::kStored : Fate::kMove;
  };
  for (const Run& run : Runs(items)) {
    const std::string stream = items[run.begin].stream;
    if (auto f = finalized_.find(stream); f != finalized_.end()) {
      settle(run, f->second);
      continue;
    }
    std::vector<std::string> bytes;
    for (std::size_t i = run.begin; i < run.end; ++i) bytes.push_back(items[i].bytes);
    AppendOutcome out = client_->Append(stream, items[run.begin].offset, schema, bytes);
    switch (out.kind) {
      case Kind::kStored:
        settle(run, items[run.end - 1].offset + 1);
        break;
      case Kind::kAlreadyExists:
        if (run.end - run.begin == 1 || LastIsStored(schema, items[run.end - 1])) {
          settle(run, items[run.end - 1].offset + 1);
        } else {  // the stream's end falls inside the run: one row at a time
          for (std::size_t i = run.begin; i < run.end; ++i) items[i].alone = true;
        }
        break;
      case Kind::kOutOfRange:
      case Kind::kStreamGone: {
        auto count = Fence(stream);
        if (!count.ok())
          return Status::Unavailable("fencing " + stream + ": " + count.status().message());
        settle(run, *count);
        break;
      }
      case Kind::kRowErrors:
        if (Status s = RowErrors(table, items, run, out, fates, rejected); !s.ok()) return s;
        break;
      case Kind::kSchemaMismatch:
        if (!reensured) {
          reensured = true;
          if (Status s = reensure_(table); !s.ok()) return s;
          break;  // the run goes again with the same slots
        }
        [[fallthrough]];
      default:
        return Status::Unavailable("AppendRows " + table.name + " (" + stream + " at " +
                                   std::to_string(items[run.begin].offset) + "): " + out.message);
    }
  }
  return Status::Ok();
}

bool StorageWriter::LastIsStored(const ::google::protobuf::DescriptorProto& schema,
                                 const Item& last) {
  // Every offset below the stream's end holds the row whose slot it is: if the last row of
  // the run is there (ALREADY_EXISTS), or is now (the end was its offset), all of it is.
  const std::vector<std::string> bytes = {last.bytes};
  const Kind kind = client_->Append(last.stream, last.offset, schema, bytes).kind;
  return kind == Kind::kAlreadyExists || kind == Kind::kStored;
}

Status StorageWriter::RowErrors(const TableSpec& table, std::vector<Item>& items, const Run& run,
                                const AppendOutcome& out, std::vector<Fate>& fates,
                                std::vector<RowError>& rejected) {
  bool any = false;
  for (const auto& e : out.row_errors) {
    if (e.index >= run.end - run.begin || fates[run.begin + e.index] == Fate::kRejected) continue;
    fates[run.begin + e.index] = Fate::kRejected;
    rejected.push_back({items[run.begin + e.index].index, "BigQuery: " + e.message});
    any = true;
  }
  if (!any) return Status::Unavailable("AppendRows " + table.name + ": " + out.message);
  // Nothing of the run is stored: its slots are a gap in the stream that nothing will fill
  // (a refused row keeps its slot, which a replay of it then finds past the end of that
  // stream). This writer's stream is left for a new one; appends past the gap get
  // OUT_OF_RANGE and are fenced.
  if (auto own = own_.find(table.name);
      own != own_.end() && own->second.name == items[run.begin].stream)
    own_.erase(own);
  for (std::size_t i = run.begin; i < run.end; ++i)
    if (fates[i] != Fate::kRejected) fates[i] = Fate::kMove;
  return Status::Ok();
}

Result<StorageWriter::OwnStream*> StorageWriter::Own(const TableSpec& table, std::size_t rows) {
  auto it = own_.find(table.name);
  const auto now = std::chrono::steady_clock::now();
  if (it != own_.end() && (it->second.next + static_cast<std::int64_t>(rows) >
                               static_cast<std::int64_t>(config_.stream_max_rows) ||
                           now - it->second.created > config_.stream_max_age)) {
    // Rotated: no more slots are given on it; appends at its slots still work until it is
    // finalised, and after that the fence tells what it holds.
    auto count = client_->Finalize(it->second.name);
    if (count.ok()) finalized_[it->second.name] = *count;
    spdlog::info("bigquery: rotated write stream of {} after {} rows", table.name, it->second.next);
    own_.erase(it);
    it = own_.end();
  }
  if (it == own_.end()) {
    auto name = client_->CreateCommittedStream(TablePath(table));
    if (!name.ok()) return name.status();
    it = own_.emplace(table.name, OwnStream{*name, 0, now}).first;
  }
  return &it->second;
}

Status StorageWriter::AssignSlots(const TableSpec& table, std::vector<Item>& items) {
  std::vector<std::string> keys;
  for (const auto& item : items) keys.push_back(item.key);
  auto known = ledger_->Get(keys);
  if (!known.ok()) return known.status();
  std::vector<Item*> fresh;
  for (std::size_t i = 0; i < items.size(); ++i)
    if (!(*known)[i] || !ReadSlot(*(*known)[i], items[i].stream, items[i].offset))
      fresh.push_back(&items[i]);
  if (fresh.empty()) return Status::Ok();
  auto own = Own(table, fresh.size());
  if (!own.ok()) return own.status();
  std::vector<std::string> fresh_keys, values;
  for (Item* item : fresh) {
    fresh_keys.push_back(item->key);
    values.push_back(SlotValue((*own)->name, (*own)->next++));
  }
  // Recorded before any append carries them; another writer's slot for the same event wins.
  auto held = ledger_->PutIfAbsent(fresh_keys, values);
  if (!held.ok()) return held.status();
  for (std::size_t i = 0; i < fresh.size(); ++i)
    if (!ReadSlot((*held)[i], fresh[i]->stream, fresh[i]->offset))
      return Status::Internal("ledger holds '" + (*held)[i] + "' for " + fresh_keys[i]);
  return Status::Ok();
}

Status StorageWriter::MoveSlots(const TableSpec& table, std::vector<Item*> items) {
  if (items.empty()) return Status::Ok();
  auto own = Own(table, items.size());
  if (!own.ok()) return own.status();
  std::vector<std::string> keys, expected, values;
  for (Item* item : items) {
    keys.push_back(item->key);
    expected.push_back(SlotValue(item->stream, item->offset));
    values.push_back(SlotValue((*own)->name, (*own)->next++));
  }
  auto held = ledger_->Replace(keys, expected, values);
  if (!held.ok()) return held.status();
  for (std::size_t i = 0; i < items.size(); ++i) {
    items[i]->alone = false;
    if (!ReadSlot((*held)[i], items[i]->stream, items[i]->offset))
      return Status::Internal("ledger lost the slot of " + keys[i]);
  }
  return Status::Ok();
}

Result<std::int64_t> StorageWriter::Fence(const std::string& stream) {
  if (auto it = finalized_.find(stream); it != finalized_.end()) return it->second;
  auto count = client_->Finalize(stream);
  if (count.status().code() == Status::Code::kNotFound) {
    spdlog::warn(
        "bigquery: write stream {} is gone; the events whose slots it held are "
        "written again and may be stored twice",
        stream);
    ++rewritten_unknown_;
    count = std::int64_t{0};
  }
  if (!count.ok()) return count.status();
  ++fenced_;
  finalized_[stream] = *count;
  for (auto it = own_.begin(); it != own_.end();)
    it = it->second.name == stream ? own_.erase(it) : std::next(it);
  return *count;
}

}  // namespace oceanus::sink
