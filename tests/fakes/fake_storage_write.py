"""A local stand-in for the BigQuery Storage Write API (google.cloud.bigquery.storage.v1,
service BigQueryWrite) over gRPC, sharing the tables of fake_google.py's REST BigQuery.

The message classes are generated at start with `protoc --python_out` from oceanus's own
src/sink/bigquery/proto/ (no grpc_tools needed: the service is a generic handler). It
implements, as Google documents them:
  - CreateWriteStream (COMMITTED, PENDING, BUFFERED), GetWriteStream, FinalizeWriteStream
    (idempotent: a finalised stream answers its row count again), BatchCommitWriteStreams
    (PENDING rows become visible), FlushRows (BUFFERED rows up to an offset become visible),
    and the implicit `_default` stream of every table;
  - AppendRows, bidirectional, one response per request. The first request names the stream
    and carries the writer schema (a DescriptorProto); rows are decoded with it (proto2: an
    unset field is NULL) and checked against the table's schema. With an offset: below the
    stream's end → ALREADY_EXISTS (StorageError OFFSET_ALREADY_EXISTS), beyond it →
    OUT_OF_RANGE (OFFSET_OUT_OF_RANGE); an offset on `_default` → INVALID_ARGUMENT. A
    descriptor field the table lacks → INVALID_ARGUMENT, SCHEMA_MISMATCH_EXTRA_FIELDS; a row
    without a REQUIRED column → row_errors (FIELDS_ERROR) and nothing of the request stored;
    a finalised stream → INVALID_ARGUMENT, STREAM_FINALIZED; an unknown one → NOT_FOUND,
    STREAM_NOT_FOUND. These come in the response's `error` (a google.rpc.Status with the
    StorageError packed in its details) and the call stays open; a request of 10 MB or more
    is refused the same way.
  - every call needs `authorization: Bearer <token>` with a token fake_google.py issued and
    that has not expired (UNAUTHENTICATED otherwise); AppendRows needs the routing header
    `x-goog-request-params: write_stream=<name>` (INVALID_ARGUMENT otherwise).
Rows are stored as insertAll rows are (column → value, TIMESTAMP as "YYYY-MM-DD HH:MM:SS.ffffff"
UTC), and never de-duplicated by eid: a row appended twice is there twice.

Failure injection, POST /_inject on fake_google.py's port with "target": "storage_write":
  {"fail_next": N, "code": "UNAVAILABLE"}   the next N append requests abort their call with
                                            that status (also RESOURCE_EXHAUSTED, INTERNAL,
                                            ABORTED), nothing stored
  {"outage_seconds": S}                     every call fails UNAVAILABLE for S seconds
  {"drop_streams": true}                    every AppendRows call open now is aborted
                                            (UNAVAILABLE), as a broken connection
  {"store_then_hang": N}                    the next N appends are stored and never answered:
                                            the call waits until the client gives up
  {"reject_eids": [...]}                    rows with those eids get a row error every time
  {"expire_streams": true}                  every stream but _default disappears (its rows stay)
  {"clear": true}                           no more injections
GET /_storage_write: {"streams": {name: {"type", "rows", "finalized", "table"}}, "calls": {...},
"request_bytes", "rows_appended"}.
"""
import datetime
import importlib
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from concurrent import futures

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIR = os.path.join(HERE, "..", "..", "src", "sink", "bigquery", "proto")
SERVICE = "google.cloud.bigquery.storage.v1.BigQueryWrite"
MAX_REQUEST = 10 * 1000 * 1000


def generate():
    """The message modules, generated from the sink's own .proto files."""
    out = tempfile.mkdtemp(prefix="fake-storage-write-")
    subprocess.run(["protoc", f"-I{PROTO_DIR}", "-I/usr/include", f"--python_out={out}",
                    "storage_write.proto", "google/rpc/status.proto"], check=True)
    sys.path.insert(0, out)
    # The generated google/rpc package must be found beside the installed google.protobuf.
    import google
    google.__path__.append(os.path.join(out, "google"))
    rpc = importlib.import_module("google.rpc.status_pb2")
    return importlib.import_module("storage_write_pb2"), rpc


pb, rpc_status = generate()
StorageError = pb.StorageError
PROTO_TYPES = {
    "STRING": {descriptor_pb2.FieldDescriptorProto.TYPE_STRING, descriptor_pb2.FieldDescriptorProto.TYPE_BYTES},
    "INTEGER": {descriptor_pb2.FieldDescriptorProto.TYPE_INT64, descriptor_pb2.FieldDescriptorProto.TYPE_INT32},
    "FLOAT": {descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE, descriptor_pb2.FieldDescriptorProto.TYPE_FLOAT},
    "BOOLEAN": {descriptor_pb2.FieldDescriptorProto.TYPE_BOOL},
    "TIMESTAMP": {descriptor_pb2.FieldDescriptorProto.TYPE_INT64},
}
CODES = {"UNAVAILABLE": grpc.StatusCode.UNAVAILABLE, "RESOURCE_EXHAUSTED": grpc.StatusCode.RESOURCE_EXHAUSTED,
         "INTERNAL": grpc.StatusCode.INTERNAL, "ABORTED": grpc.StatusCode.ABORTED}


class Refused(Exception):
    """A per-request error: goes in the response's `error` field."""

    def __init__(self, code, message, storage_code=None):
        super().__init__(message)
        self.code, self.message, self.storage_code = code, message, storage_code


class Aborted(Exception):
    """Ends the whole call with a status."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def timestamp_text(micros):
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=micros)
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")


class StorageWrite:
    def __init__(self, state):
        self.state = state  # fake_google.State: tokens, tables, lock
        self.streams = {}   # name -> {"table", "type", "rows": [...], "finalized", "visible"}
        self.faults = {}
        self.open_calls = {}  # id -> {"drop": bool}, the AppendRows calls open now
        self.calls = {k: 0 for k in ("CreateWriteStream", "AppendRows", "append_requests", "GetWriteStream",
                                     "FinalizeWriteStream", "BatchCommitWriteStreams", "FlushRows",
                                     "already_exists", "out_of_range", "row_errors", "unauthenticated",
                                     "routing_missing", "injected")}
        self.request_bytes = 0
        self.rows_appended = 0

    # --- the REST side ------------------------------------------------------------------
    def inject(self, body):
        with self.state.lock:
            if body.get("clear"):
                self.faults = {}
            if "fail_next" in body:
                self.faults["fail_next"] = (body["fail_next"], CODES[body.get("code", "UNAVAILABLE")])
            if "outage_seconds" in body:
                self.faults["outage_until"] = time.time() + body["outage_seconds"]
            if "store_then_hang" in body:
                self.faults["store_then_hang"] = body["store_then_hang"]
            if "reject_eids" in body:
                self.faults["reject_eids"] = set(body["reject_eids"])
            if body.get("expire_streams"):
                for name in [n for n in self.streams if not n.endswith("/_default")]:
                    del self.streams[name]
            if body.get("drop_streams"):
                for call in self.open_calls.values():
                    call["drop"] = True

    def dump(self):
        with self.state.lock:
            return {"streams": {n: {"type": pb.WriteStream.Type.Name(s["type"]), "rows": len(s["rows"]),
                                    "finalized": s["finalized"], "table": s["table"]}
                                for n, s in self.streams.items()},
                    "calls": dict(self.calls), "request_bytes": self.request_bytes,
                    "rows_appended": self.rows_appended}

    # --- checks shared by every call ------------------------------------------------------
    def check_call(self, context):
        metadata = dict(context.invocation_metadata())
        auth = metadata.get("authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
        with self.state.lock:
            if self.state.tokens.get(token, 0) < time.time():
                self.calls["unauthenticated"] += 1
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "Request had invalid authentication credentials.")
            if time.time() < self.faults.get("outage_until", 0):
                self.calls["injected"] += 1
                context.abort(grpc.StatusCode.UNAVAILABLE, "injected outage")
        return metadata

    def table_of(self, path):
        """The REST fake's table of projects/P/datasets/D/tables/T[/streams/S]; under the lock."""
        parts = path.split("/")
        if len(parts) < 6 or parts[0] != "projects" or parts[2] != "datasets" or parts[4] != "tables":
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, f"malformed name {path}")
        table = self.state.tables.get(parts[5])
        if table is None:
            raise Refused(grpc.StatusCode.NOT_FOUND, f"Table {parts[5]} not found", StorageError.TABLE_NOT_FOUND)
        return parts[5], table

    def stream(self, name):
        """Under the lock. The _default stream of a table exists while the table does."""
        if name.endswith("/streams/_default") and name not in self.streams:
            table, _ = self.table_of(name)
            self.streams[name] = {"table": table, "type": pb.WriteStream.COMMITTED, "rows": [],
                                  "finalized": False, "visible": 0, "default": True}
        s = self.streams.get(name)
        if s is None:
            raise Refused(grpc.StatusCode.NOT_FOUND, f"Stream {name} not found", StorageError.STREAM_NOT_FOUND)
        return s

    # --- unary calls ---------------------------------------------------------------------
    def unary(self, name, work):
        def handler(request, context):
            self.check_call(context)
            with self.state.lock:
                self.calls[name] += 1
                try:
                    return work(request)
                except Refused as e:
                    context.abort_with_status(status_of(e))
        return handler

    def create(self, request):
        self.table_of(request.parent)
        if request.write_stream.type == pb.WriteStream.TYPE_UNSPECIFIED:
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, "Write stream type must be COMMITTED, PENDING or BUFFERED")
        name = f"{request.parent}/streams/{uuid.uuid4().hex}"
        table, _ = self.table_of(request.parent)
        self.streams[name] = {"table": table, "type": request.write_stream.type, "rows": [],
                              "finalized": False, "visible": 0, "default": False}
        return self.resource(name)

    def resource(self, name):
        s = self.streams[name]
        out = pb.WriteStream(name=name, type=s["type"], write_mode=pb.WriteStream.INSERT)
        out.create_time.GetCurrentTime()
        return out

    def get(self, request):
        self.stream(request.name)
        return self.resource(request.name)

    def finalize(self, request):
        s = self.stream(request.name)
        if s.get("default"):
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, "Finalize is not supported on the _default stream")
        s["finalized"] = True
        return pb.FinalizeWriteStreamResponse(row_count=len(s["rows"]))

    def commit(self, request):
        streams = [self.stream(n) for n in request.write_streams]
        errors = [StorageError(code=StorageError.INVALID_STREAM_STATE, entity=n, error_message="not finalized")
                  for n, s in zip(request.write_streams, streams) if not s["finalized"] or s["type"] != pb.WriteStream.PENDING]
        if errors:
            return pb.BatchCommitWriteStreamsResponse(stream_errors=errors)
        for s in streams:
            self.publish(s, len(s["rows"]))
        out = pb.BatchCommitWriteStreamsResponse()
        out.commit_time.GetCurrentTime()
        return out

    def flush(self, request):
        s = self.stream(request.write_stream)
        if s["type"] != pb.WriteStream.BUFFERED:
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, "FlushRows is for BUFFERED streams")
        upto = min(request.offset.value + 1, len(s["rows"]))
        self.publish(s, upto)
        return pb.FlushRowsResponse(offset=upto - 1)

    def publish(self, s, upto):
        """Makes the stream's rows up to `upto` visible in the table. Under the lock."""
        table = self.state.tables.get(s["table"])
        if table is not None:
            table["rows"].extend(s["rows"][s["visible"]:upto])
        s["visible"] = max(s["visible"], upto)

    # --- AppendRows ----------------------------------------------------------------------
    def append_rows(self, requests, context):
        metadata = self.check_call(context)
        call = {"drop": False}
        with self.state.lock:
            self.calls["AppendRows"] += 1
            self.open_calls[id(call)] = call
        try:
            first = None
            for request in requests:
                if call["drop"]:
                    context.abort(grpc.StatusCode.UNAVAILABLE, "injected: connection dropped")
                first = first or request
                try:
                    response, hang = self.append(first, request, metadata)
                except Aborted as e:
                    context.abort(e.code, e.message)
                except Refused as e:
                    response, hang = pb.AppendRowsResponse(error=status_of(e).proto,
                                                           write_stream=first.write_stream), False
                    response.row_errors.extend(getattr(e, "errors", []))
                if hang:
                    while context.is_active():
                        time.sleep(0.05)
                    return
                yield response
        finally:
            with self.state.lock:
                self.open_calls.pop(id(call), None)

    def append(self, first, request, metadata):
        routing = urllib.parse.unquote(metadata.get("x-goog-request-params", ""))
        size = request.ByteSize()
        with self.state.lock:
            self.calls["append_requests"] += 1
            self.request_bytes += size
            if f"write_stream={first.write_stream}" not in routing.split("&"):
                self.calls["routing_missing"] += 1
                raise Aborted(grpc.StatusCode.INVALID_ARGUMENT,
                              "the routing header x-goog-request-params: write_stream=<name> is missing or wrong")
            fail = self.faults.get("fail_next", (0, None))
            if fail[0] > 0:
                self.faults["fail_next"] = (fail[0] - 1, fail[1])
                self.calls["injected"] += 1
                raise Aborted(fail[1], "injected failure")
            if size >= MAX_REQUEST:
                raise Refused(grpc.StatusCode.INVALID_ARGUMENT, f"AppendRows request too large: {size}")
            s = self.stream(first.write_stream)
            rows = self.decode(first, request, s)
            response = self.store(s, request, rows, first.write_stream)
            hang = self.faults.get("store_then_hang", 0) > 0
            if hang:
                self.faults["store_then_hang"] -= 1
                self.calls["injected"] += 1
            return response, hang

    def decode(self, first, request, s):
        """The request's rows as table rows; Refused for what refuses the whole request."""
        if s["finalized"]:
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, f"Stream is finalized: {first.write_stream}",
                          StorageError.STREAM_FINALIZED)
        table_name, table = self.table_of(first.write_stream)
        schema = {f["name"]: f for f in table["schema"]}
        desc = first.proto_rows.writer_schema.proto_descriptor
        for f in desc.field:
            if f.name not in schema:
                raise Refused(grpc.StatusCode.INVALID_ARGUMENT,
                              f"Input schema has more fields than BigQuery schema, extra fields: '{f.name}'",
                              StorageError.SCHEMA_MISMATCH_EXTRA_FIELDS)
            if f.type not in PROTO_TYPES.get(schema[f.name]["type"], set()):
                raise Refused(grpc.StatusCode.INVALID_ARGUMENT,
                              f"The proto field {f.name} does not have a matching type with the BigQuery field")
        message = message_class(desc)
        rows, errors = [], []
        reject = self.faults.get("reject_eids", set())
        for i, data in enumerate(request.proto_rows.rows.serialized_rows):
            m = message()
            try:
                m.ParseFromString(data)
            except Exception:  # noqa: BLE001 - any undecodable row is a row error
                errors.append(pb.RowError(index=i, code=pb.RowError.FIELDS_ERROR, message="cannot decode the row"))
                continue
            row = {}
            for f in desc.field:
                if m.HasField(f.name):
                    v = getattr(m, f.name)
                    row[f.name] = timestamp_text(v) if schema[f.name]["type"] == "TIMESTAMP" else v
            missing = [n for n, c in schema.items() if c.get("mode") == "REQUIRED" and n not in row]
            if missing:
                errors.append(pb.RowError(index=i, code=pb.RowError.FIELDS_ERROR,
                                          message=f"Field {missing[0]} is required but missing"))
            elif row.get("eid") in reject:
                errors.append(pb.RowError(index=i, code=pb.RowError.FIELDS_ERROR, message="fake: rejected eid"))
            rows.append(row)
        if errors:
            self.calls["row_errors"] += 1
            raise RowErrors(errors)
        return rows

    def store(self, s, request, rows, name):
        if request.HasField("offset"):
            if s.get("default"):
                raise Refused(grpc.StatusCode.INVALID_ARGUMENT, "offset is not allowed on the _default stream")
            at = request.offset.value
            if at < len(s["rows"]):
                self.calls["already_exists"] += 1
                raise Refused(grpc.StatusCode.ALREADY_EXISTS, f"The offset is within stream, expected offset "
                              f"{len(s['rows'])}, received {at}", StorageError.OFFSET_ALREADY_EXISTS)
            if at > len(s["rows"]):
                self.calls["out_of_range"] += 1
                raise Refused(grpc.StatusCode.OUT_OF_RANGE, f"The offset is beyond stream, expected offset "
                              f"{len(s['rows'])}, received {at}", StorageError.OFFSET_OUT_OF_RANGE)
        at = len(s["rows"])
        s["rows"].extend(rows)
        self.rows_appended += len(rows)
        if s["type"] == pb.WriteStream.COMMITTED:
            self.publish(s, len(s["rows"]))
        out = pb.AppendRowsResponse(write_stream=name)
        out.append_result.SetInParent()
        if not s.get("default"):
            out.append_result.offset.value = at
        return out

    # --- the server ------------------------------------------------------------------------
    def serve(self):
        handlers = {
            "CreateWriteStream": grpc.unary_unary_rpc_method_handler(
                self.unary("CreateWriteStream", self.create), pb.CreateWriteStreamRequest.FromString,
                pb.WriteStream.SerializeToString),
            "GetWriteStream": grpc.unary_unary_rpc_method_handler(
                self.unary("GetWriteStream", self.get), pb.GetWriteStreamRequest.FromString,
                pb.WriteStream.SerializeToString),
            "FinalizeWriteStream": grpc.unary_unary_rpc_method_handler(
                self.unary("FinalizeWriteStream", self.finalize), pb.FinalizeWriteStreamRequest.FromString,
                pb.FinalizeWriteStreamResponse.SerializeToString),
            "BatchCommitWriteStreams": grpc.unary_unary_rpc_method_handler(
                self.unary("BatchCommitWriteStreams", self.commit), pb.BatchCommitWriteStreamsRequest.FromString,
                pb.BatchCommitWriteStreamsResponse.SerializeToString),
            "FlushRows": grpc.unary_unary_rpc_method_handler(
                self.unary("FlushRows", self.flush), pb.FlushRowsRequest.FromString,
                pb.FlushRowsResponse.SerializeToString),
            "AppendRows": grpc.stream_stream_rpc_method_handler(
                self.append_rows, pb.AppendRowsRequest.FromString, pb.AppendRowsResponse.SerializeToString),
        }
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
        # Local credentials, as the client uses for a loopback endpoint (plaintext; call
        # credentials allowed).
        port = server.add_secure_port("127.0.0.1:0", grpc.local_server_credentials(grpc.LocalConnectionType.LOCAL_TCP))
        server.start()
        return server, port


class RowErrors(Refused):
    def __init__(self, errors):
        super().__init__(grpc.StatusCode.INVALID_ARGUMENT, f"{len(errors)} row(s) have errors")
        self.errors = errors


class _Status(grpc.Status):
    def __init__(self, proto):
        self.proto = proto
        self.code = next(c for c in grpc.StatusCode if c.value[0] == proto.code)
        self.details = proto.message
        self.trailing_metadata = (("grpc-status-details-bin", proto.SerializeToString()),)


def status_of(e):
    proto = rpc_status.Status(code=e.code.value[0], message=e.message)
    if e.storage_code is not None:
        proto.details.add().Pack(StorageError(code=e.storage_code, error_message=e.message))
    return _Status(proto)


_classes = {}
_classes_lock = threading.Lock()


def message_class(desc):
    """The message class of a writer schema (cached by its serialized form)."""
    key = desc.SerializeToString()
    with _classes_lock:
        if key not in _classes:
            pool = descriptor_pool.DescriptorPool()
            f = descriptor_pb2.FileDescriptorProto(name=f"writer_{len(_classes)}.proto", package="writer")
            f.message_type.add().CopyFrom(desc)
            pool.Add(f)
            d = pool.FindMessageTypeByName(f"writer.{desc.name}")
            _classes[key] = message_factory.MessageFactory(pool).GetPrototype(d)
        return _classes[key]
