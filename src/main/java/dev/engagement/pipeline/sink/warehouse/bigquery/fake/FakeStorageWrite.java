package dev.engagement.pipeline.sink.warehouse.bigquery.fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.cloud.bigquery.storage.v1.AppendRowsRequest;
import com.google.cloud.bigquery.storage.v1.AppendRowsResponse;
import com.google.cloud.bigquery.storage.v1.BigQueryWriteGrpc;
import com.google.cloud.bigquery.storage.v1.CreateWriteStreamRequest;
import com.google.cloud.bigquery.storage.v1.FinalizeWriteStreamRequest;
import com.google.cloud.bigquery.storage.v1.FinalizeWriteStreamResponse;
import com.google.cloud.bigquery.storage.v1.GetWriteStreamRequest;
import com.google.cloud.bigquery.storage.v1.StorageError;
import com.google.cloud.bigquery.storage.v1.WriteStream;
import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos;
import com.google.protobuf.Descriptors;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Int64Value;
import com.google.protobuf.Timestamp;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.StreamObserver;
import org.duckdb.DuckDBAppender;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** The FAKE's Storage Write service (see {@link FakeBigQuery}): COMMITTED streams with exact offset semantics. */
final class FakeStorageWrite extends BigQueryWriteGrpc.BigQueryWriteImplBase {
    private final FakeBigQuery bq;

    FakeStorageWrite(FakeBigQuery bq) {
        this.bq = bq;
    }

    /** "projects/p/datasets/d/tables/t[/streams/s]" -> "d.t", or null when it names no table of this project. */
    private String tableKey(String name) {
        String[] p = name.split("/");
        if (p.length < 6 || !p[0].equals("projects") || !p[1].equals(bq.project) || !p[2].equals("datasets")
                || !p[4].equals("tables")) {
            return null;
        }
        return p[3] + "." + p[5];
    }

    @Override
    public void createWriteStream(CreateWriteStreamRequest request, StreamObserver<WriteStream> out) {
        String table = tableKey(request.getParent());
        if (table == null || !bq.tables.containsKey(table)) {
            out.onError(Status.NOT_FOUND.withDescription("Not found: Table " + request.getParent()).asRuntimeException());
            return;
        }
        WriteStream.Type type = request.getWriteStream().getType();
        if (type != WriteStream.Type.COMMITTED) {
            out.onError(Status.INVALID_ARGUMENT.withDescription("this fake serves COMMITTED streams only, not " + type)
                    .asRuntimeException());
            return;
        }
        String name = request.getParent() + "/streams/" + UUID.randomUUID().toString().replace("-", "");
        FakeBigQuery.Stream s = new FakeBigQuery.Stream(name, table, type);
        bq.streams.put(name, s);
        out.onNext(describe(s));
        out.onCompleted();
    }

    private static WriteStream describe(FakeBigQuery.Stream s) {
        return WriteStream.newBuilder().setName(s.name).setType(s.type)
                .setCreateTime(Timestamp.newBuilder().setSeconds(s.created.getEpochSecond())).build();
    }

    @Override
    public void getWriteStream(GetWriteStreamRequest request, StreamObserver<WriteStream> out) {
        FakeBigQuery.Stream s = bq.streams.get(request.getName());
        if (s == null) {
            out.onError(storageError(Status.Code.NOT_FOUND, StorageError.StorageErrorCode.STREAM_NOT_FOUND,
                    request.getName(), "Requested stream " + request.getName() + " not found"));
            return;
        }
        out.onNext(describe(s));
        out.onCompleted();
    }

    @Override
    public void finalizeWriteStream(FinalizeWriteStreamRequest request, StreamObserver<FinalizeWriteStreamResponse> out) {
        long rows;
        synchronized (bq) {
            FakeBigQuery.Stream s = bq.streams.get(request.getName());
            if (s == null) {
                out.onError(storageError(Status.Code.NOT_FOUND, StorageError.StorageErrorCode.STREAM_NOT_FOUND,
                        request.getName(), "Requested stream " + request.getName() + " not found"));
                return;
            }
            s.finalized = true;
            rows = s.rows;
        }
        out.onNext(FinalizeWriteStreamResponse.newBuilder().setRowCount(rows).build());
        out.onCompleted();
    }

    private static RuntimeException storageError(Status.Code code, StorageError.StorageErrorCode storage, String entity,
                                                 String message) {
        return StatusProto.toStatusRuntimeException(rpcStatus(code, storage, entity, message));
    }

    private static com.google.rpc.Status rpcStatus(Status.Code code, StorageError.StorageErrorCode storage, String entity,
                                                   String message) {
        com.google.rpc.Status.Builder b = com.google.rpc.Status.newBuilder().setCode(code.value()).setMessage(message);
        if (storage != null) {
            b.addDetails(Any.pack(StorageError.newBuilder().setCode(storage).setEntity(entity).setErrorMessage(message).build()));
        }
        return b.build();
    }

    @Override
    public StreamObserver<AppendRowsRequest> appendRows(StreamObserver<AppendRowsResponse> out) {
        return new StreamObserver<>() {
            private String stream;
            private Descriptors.Descriptor schema;
            private boolean done;

            @Override
            public void onNext(AppendRowsRequest request) {
                if (done) {
                    return;
                }
                bq.appends.incrementAndGet();
                var failing = bq.failing();
                if (failing.isPresent()) {
                    done = true;
                    out.onError(Status.fromCode(failing.get()).withDescription(failing.get() == Status.Code.RESOURCE_EXHAUSTED
                            ? "Exceeds 'AppendRows throughput' quota (injected by the fake)"
                            : "The service is currently unavailable (injected by the fake)").asRuntimeException());
                    return;
                }
                if (stream == null) {
                    if (request.getWriteStream().isEmpty() || !request.getProtoRows().hasWriterSchema()) {
                        reply(Status.Code.INVALID_ARGUMENT, null, "", "the first request of a connection needs "
                                + "write_stream and writer_schema");
                        return;
                    }
                    stream = request.getWriteStream();
                } else if (!request.getWriteStream().isEmpty() && !request.getWriteStream().equals(stream)) {
                    reply(Status.Code.INVALID_ARGUMENT, null, "", "this fake takes one stream per connection");
                    return;
                }
                if (request.getProtoRows().hasWriterSchema()) {
                    try {
                        schema = descriptor(request.getProtoRows().getWriterSchema().getProtoDescriptor());
                    } catch (Descriptors.DescriptorValidationException e) {
                        reply(Status.Code.INVALID_ARGUMENT, null, "", "invalid writer schema: " + e.getMessage());
                        return;
                    }
                }
                if (request.getSerializedSize() > FakeBigQuery.MAX_REQUEST_BYTES) {
                    reply(Status.Code.INVALID_ARGUMENT, null, "", "AppendRows request too large: "
                            + request.getSerializedSize() + " limit " + FakeBigQuery.MAX_REQUEST_BYTES);
                    return;
                }
                AppendRowsResponse response;
                boolean lose;
                synchronized (bq) {
                    response = apply(request);
                    lose = !response.hasError() && bq.answersToLose.getAndUpdate(n -> Math.max(0, n - 1)) > 0;
                }
                if (lose) {
                    done = true;
                    out.onError(Status.UNAVAILABLE.withDescription("connection reset (answer lost, injected by the fake)")
                            .asRuntimeException());
                    return;
                }
                out.onNext(response);
                if (response.hasError()) {
                    done = true;
                    out.onCompleted();
                }
            }

            private void reply(Status.Code code, StorageError.StorageErrorCode storage, String entity, String message) {
                out.onNext(AppendRowsResponse.newBuilder().setError(rpcStatus(code, storage, entity, message)).build());
                done = true;
                out.onCompleted();
            }

            private AppendRowsResponse apply(AppendRowsRequest request) {
                FakeBigQuery.Stream s = bq.streams.get(stream);
                if (s == null) {
                    return error(Status.Code.NOT_FOUND, StorageError.StorageErrorCode.STREAM_NOT_FOUND, stream,
                            "Requested stream " + stream + " not found");
                }
                if (s.finalized) {
                    return error(Status.Code.INVALID_ARGUMENT, StorageError.StorageErrorCode.STREAM_FINALIZED, stream,
                            "Stream is finalized: " + stream);
                }
                long offset = request.hasOffset() ? request.getOffset().getValue() : s.rows;
                if (offset < s.rows) {
                    return error(Status.Code.ALREADY_EXISTS, StorageError.StorageErrorCode.OFFSET_ALREADY_EXISTS, stream,
                            "The offset is within stream, expected offset " + s.rows + ", received " + offset);
                }
                if (offset > s.rows) {
                    return error(Status.Code.OUT_OF_RANGE, StorageError.StorageErrorCode.OFFSET_OUT_OF_RANGE, stream,
                            "The offset is beyond stream, expected offset " + s.rows + ", received " + offset);
                }
                List<ByteString> rows = request.getProtoRows().getRows().getSerializedRowsList();
                try {
                    insert(s.table, rows);
                } catch (IllegalArgumentException e) {
                    return error(Status.Code.INVALID_ARGUMENT, null, stream, e.getMessage());
                } catch (Exception e) {
                    return error(Status.Code.INTERNAL, null, stream, "the fake could not store the rows: " + e.getMessage());
                }
                s.rows += rows.size();
                return AppendRowsResponse.newBuilder().setWriteStream(stream).setAppendResult(
                        AppendRowsResponse.AppendResult.newBuilder().setOffset(Int64Value.of(offset))).build();
            }

            private AppendRowsResponse error(Status.Code code, StorageError.StorageErrorCode storage, String entity,
                                             String message) {
                return AppendRowsResponse.newBuilder().setError(rpcStatus(code, storage, entity, message)).build();
            }

            /** Decodes every row first (an append is all or nothing), then adds them to the table. */
            private void insert(String table, List<ByteString> rows) throws Exception {
                JsonNode fields = bq.tables.get(table).path("schema").path("fields");
                List<Object[]> decoded = new ArrayList<>(rows.size());
                for (int r = 0; r < rows.size(); r++) {
                    DynamicMessage m = DynamicMessage.parseFrom(schema, rows.get(r));
                    Object[] values = new Object[fields.size()];
                    for (int i = 0; i < fields.size(); i++) {
                        JsonNode f = fields.get(i);
                        Descriptors.FieldDescriptor fd = field(f.path("name").asText());
                        if (fd == null || !m.hasField(fd)) {
                            if ("REQUIRED".equals(f.path("mode").asText())) {
                                throw new IllegalArgumentException("row " + r + ": required field "
                                        + f.path("name").asText() + " is missing");
                            }
                            continue;
                        }
                        values[i] = m.getField(fd);
                    }
                    decoded.add(values);
                }
                String[] t = table.split("\\.");
                try (DuckDBAppender a = bq.db.createAppender(t[0], t[1])) {
                    for (Object[] values : decoded) {
                        a.beginRow();
                        for (int i = 0; i < values.length; i++) {
                            appendValue(a, fields.get(i).path("type").asText(), values[i]);
                        }
                        a.endRow();
                    }
                }
            }

            private Descriptors.FieldDescriptor field(String name) {
                for (Descriptors.FieldDescriptor fd : schema.getFields()) {
                    if (fd.getName().equalsIgnoreCase(name)) {
                        return fd;
                    }
                }
                return null;
            }

            @Override
            public void onError(Throwable t) {
                done = true;
            }

            @Override
            public void onCompleted() {
                if (!done) {
                    done = true;
                    out.onCompleted();
                }
            }
        };
    }

    private static void appendValue(DuckDBAppender a, String type, Object v) throws java.sql.SQLException {
        if (v == null) {
            a.appendNull();
            return;
        }
        switch (type) {
            case "INTEGER", "INT64" -> a.append(((Number) v).longValue());
            case "FLOAT", "FLOAT64" -> a.append(((Number) v).doubleValue());
            case "BOOLEAN", "BOOL" -> a.append((Boolean) v);
            case "NUMERIC" -> a.append(new BigDecimal(v.toString()).setScale(9, RoundingMode.UNNECESSARY));
            case "TIMESTAMP" -> a.appendEpochMicros(((Number) v).longValue());
            default -> a.append(v.toString());
        }
    }

    private static Descriptors.Descriptor descriptor(DescriptorProtos.DescriptorProto d)
            throws Descriptors.DescriptorValidationException {
        DescriptorProtos.FileDescriptorProto file = DescriptorProtos.FileDescriptorProto.newBuilder()
                .setName("writer_schema.proto").addMessageType(d).build();
        return Descriptors.FileDescriptor.buildFrom(file, new Descriptors.FileDescriptor[0]).findMessageTypeByName(d.getName());
    }
}
