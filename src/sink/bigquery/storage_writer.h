// The bigquery sink's writes through the Storage Write API (sink.bigquery.api: storage_write).
//
// delivery: exactly_once — every event gets a slot, a (COMMITTED stream, offset) pair, that is
// recorded in the ledger (queue/ledger.h) under its eid before the append that carries it is
// sent; whoever writes the event again (this loader retrying, the loader that claims a dead
// loader's entries, `oceanus replay`) finds the slot and appends the event there. BigQuery
// stores an offset once: an append at an offset below the stream's end is refused with
// ALREADY_EXISTS, which means stored. Batches can be cut differently when they come again:
// the rows of a batch are appended in runs of consecutive offsets, each at its first row's
// slot. The rest (docs/bigquery.md has the table):
//  - OUT_OF_RANGE (rows before the run are missing from the stream) and a stream that is
//    finalised or gone: the stream is finalised ("fenced"), which tells how many rows it
//    holds; rows below that are stored, the others get new slots on this writer's stream;
//  - ALREADY_EXISTS for a run of several rows: its last row is appended alone; stored or
//    ALREADY_EXISTS means the whole run is there, else (the stream's end falls inside the
//    run) its rows are appended one at a time;
//  - row errors: those rows are refused (dead-letter, BigQuery's reason), the others get
//    new slots and go again at once;
//  - a schema mismatch: the table is ensured again (the sink's caller gives the callback);
//  - anything else (UNAVAILABLE, RESOURCE_EXHAUSTED, INTERNAL, a deadline, credentials): the
//    batch fails as retryable, slots kept.
// Each writer has one stream per table, created on first use and rotated (finalised, a new
// one made) past stream_max_rows rows or stream_max_age.
//
// delivery: at_least_once — appends to the table's _default stream without offsets: no
// ledger, no stream to manage; a retried batch can be stored twice.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.pb.h>

#include "sink/bigquery/bigquery_config.h"
#include "sink/bigquery/storage_write_client.h"
#include "sink/sink.h"

namespace oceanus::sink {

class StorageWriter {
 public:
  // Ensures the table again after a schema mismatch (forgetting what is cached about it).
  using Reensure = std::function<Status(const TableSpec&)>;
  StorageWriter(const BigQueryConfig& config, std::unique_ptr<StorageWriteClient> client,
                Reensure reensure);

  void UseLedger(std::shared_ptr<queue::Ledger> ledger) { ledger_ = std::move(ledger); }
  WriteResult Write(const TableSpec& table, const std::vector<Row>& rows);

  const StorageWriteClient& client() const { return *client_; }
  // Streams finalised because they could not be appended to, and events written again
  // because the stream that held their slot was gone (they may be stored twice).
  std::uint64_t fenced() const { return fenced_; }
  std::uint64_t rewritten_unknown() const { return rewritten_unknown_; }

 private:
  struct Item {          // one row to store
    std::size_t index;   // into the batch
    std::string key;     // its eid
    std::string bytes;   // encoded (proto_rows.h)
    std::string stream;  // its slot
    std::int64_t offset = -1;
    bool alone = false;  // appended in a run of its own (after ALREADY_EXISTS for a run)
  };
  enum class Fate { kStored, kAgain, kMove, kRejected };
  struct OwnStream {
    std::string name;
    std::int64_t next = 0;
    std::chrono::steady_clock::time_point created;
  };
  struct Run {
    std::size_t begin, end;  // into the items being written
  };

  WriteResult WriteAtLeastOnce(const TableSpec& table, std::vector<Item> items, WriteResult result);
  WriteResult WriteExactlyOnce(const TableSpec& table, std::vector<Item> items, WriteResult result);
  // Appends the items once each, in runs, deciding each one's fate; a failure is retryable.
  Status AppendRound(const TableSpec& table, const ::google::protobuf::DescriptorProto& schema,
                     std::vector<Item>& items, std::vector<Fate>& fates, bool& reensured,
                     std::vector<RowError>& rejected);
  // After ALREADY_EXISTS for a run of several rows: whether its last row is stored (then all
  // of it is), appending it alone at its slot.
  bool LastIsStored(const ::google::protobuf::DescriptorProto& schema, const Item& last);
  // The run got row errors: those rows are refused, the others move.
  Status RowErrors(const TableSpec& table, std::vector<Item>& items, const Run& run,
                   const AppendOutcome& out, std::vector<Fate>& fates,
                   std::vector<RowError>& rejected);
  // Gives slots to items that have none in the ledger yet (the others take theirs).
  Status AssignSlots(const TableSpec& table, std::vector<Item>& items);
  // Gives the items new slots on this writer's stream, replacing their old ones.
  Status MoveSlots(const TableSpec& table, std::vector<Item*> items);
  Result<OwnStream*> Own(const TableSpec& table, std::size_t rows);
  // Finalises `stream` once; how many rows it holds (0, logged, when it is gone).
  Result<std::int64_t> Fence(const std::string& stream);
  std::vector<Run> Runs(const std::vector<Item>& items) const;
  std::string TablePath(const TableSpec& table) const;

  const BigQueryConfig& config_;
  std::unique_ptr<StorageWriteClient> client_;
  Reensure reensure_;
  std::shared_ptr<queue::Ledger> ledger_;
  std::map<std::string, OwnStream> own_;           // by table
  std::map<std::string, std::int64_t> finalized_;  // stream → its row count
  std::uint64_t fenced_ = 0;
  std::uint64_t rewritten_unknown_ = 0;
};

}  // namespace oceanus::sink
