package dev.engagement.pipeline.sink.warehouse.bigquery;

import com.google.api.gax.core.FixedCredentialsProvider;
import com.google.api.gax.core.NoCredentialsProvider;
import com.google.api.gax.grpc.GrpcCallContext;
import com.google.api.gax.retrying.RetrySettings;
import com.google.api.gax.rpc.ClientStream;
import com.google.api.gax.rpc.ResponseObserver;
import com.google.api.gax.rpc.StreamController;
import com.google.cloud.bigquery.storage.v1.AppendRowsRequest;
import com.google.cloud.bigquery.storage.v1.AppendRowsResponse;
import com.google.cloud.bigquery.storage.v1.BigQueryWriteClient;
import com.google.cloud.bigquery.storage.v1.BigQueryWriteSettings;
import com.google.cloud.bigquery.storage.v1.CreateWriteStreamRequest;
import com.google.cloud.bigquery.storage.v1.Exceptions;
import com.google.cloud.bigquery.storage.v1.ProtoRows;
import com.google.cloud.bigquery.storage.v1.ProtoSchema;
import com.google.cloud.bigquery.storage.v1.WriteStream;
import com.google.protobuf.ByteString;
import com.google.protobuf.Int64Value;
import dev.engagement.pipeline.config.PipelineConfig;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Storage Write API (v1, gRPC) as the sink uses it: application-created COMMITTED streams,
 * appends at explicit offsets on one bidirectional connection per stream, one request in flight,
 * and every answer classified into an {@link Outcome} the sink can act on exactly.
 */
final class StorageWrite implements AutoCloseable {
    private static final Pattern EXPECTED = Pattern.compile("expected offset (\\d+)");

    private final BigQueryWriteClient client;
    private final String table;
    private final ProtoSchema schema = BigQueryTable.protoSchema();

    StorageWrite(PipelineConfig.Warehouse config, GoogleAuth auth) throws IOException {
        String endpoint = config.bigQueryWriteEndpoint();
        boolean plaintext = endpoint.startsWith("http://");
        String hostPort = plaintext ? endpoint.substring("http://".length()) : endpoint;
        BigQueryWriteSettings.Builder b = BigQueryWriteSettings.newBuilder().setEndpoint(hostPort);
        var channel = BigQueryWriteSettings.defaultGrpcTransportProviderBuilder().setEndpoint(hostPort);
        if (plaintext) {
            channel.setChannelConfigurator(c -> c.usePlaintext());
            b.setCredentialsProvider(NoCredentialsProvider.create());
        } else {
            b.setCredentialsProvider(FixedCredentialsProvider.create(auth.credentials().orElseThrow()));
        }
        b.setTransportChannelProvider(channel.build());
        // the sink has its own back-off and shows why it waits: the library's retries stay short
        RetrySettings unary = RetrySettings.newBuilder()
                .setInitialRetryDelayDuration(Duration.ofMillis(100)).setRetryDelayMultiplier(2)
                .setMaxRetryDelayDuration(Duration.ofSeconds(2))
                .setInitialRpcTimeoutDuration(Duration.ofSeconds(20)).setRpcTimeoutMultiplier(1)
                .setMaxRpcTimeoutDuration(Duration.ofSeconds(20)).setTotalTimeoutDuration(Duration.ofSeconds(30))
                .build();
        b.createWriteStreamSettings().setRetrySettings(unary);
        b.finalizeWriteStreamSettings().setRetrySettings(unary);
        b.getWriteStreamSettings().setRetrySettings(unary);
        this.client = BigQueryWriteClient.create(b.build());
        this.table = "projects/" + config.googleCloudProject() + "/datasets/" + config.bigQueryDataset()
                + "/tables/" + config.bigQueryTable();
    }

    /** What an append (or a finalize) came to. */
    sealed interface Outcome {
    }

    /** The rows are in, from {@code offset}. */
    record Appended(long offset) implements Outcome {
    }

    /** The offset is below the stream's end: rows up to {@code expected} (if known, else -1) are there. */
    record AlreadyExists(long expected, String message) implements Outcome {
    }

    /** The offset is beyond the stream's end, which is {@code expected} (if known, else -1). */
    record OutOfRange(long expected, String message) implements Outcome {
    }

    /** The stream takes no more rows (finalized, by us at a claim or by someone else). */
    record Finalized(String message) implements Outcome {
    }

    /** The stream does not exist (any more). */
    record NotFound(String message) implements Outcome {
    }

    /** The service refused for now, or the answer was lost: the request may or may not have been applied. */
    record Transient(String code, String message) implements Outcome {
    }

    /** The service refused the request for good (schema, permission, size). */
    record Refused(String code, String message) implements Outcome {
    }

    String createStream() throws OutcomeException {
        try {
            return client.createWriteStream(CreateWriteStreamRequest.newBuilder().setParent(table)
                    .setWriteStream(WriteStream.newBuilder().setType(WriteStream.Type.COMMITTED)).build()).getName();
        } catch (RuntimeException e) {
            throw new OutcomeException(classify(e));
        }
    }

    /** Finalizes a stream (no more appends, by anyone) and returns its row count. */
    long finalizeStream(String stream) throws OutcomeException {
        try {
            return client.finalizeWriteStream(stream).getRowCount();
        } catch (RuntimeException e) {
            throw new OutcomeException(classify(e));
        }
    }

    /** A call that did not succeed, with what it came to. */
    static final class OutcomeException extends Exception {
        final Outcome outcome;

        OutcomeException(Outcome outcome) {
            super(outcome.toString());
            this.outcome = outcome;
        }
    }

    Connection connect(String stream) {
        return new Connection(stream);
    }

    /** One bidirectional AppendRows call for one stream; broken after any error (then open another). */
    final class Connection implements AutoCloseable {
        private final String stream;
        private final LinkedBlockingQueue<Object> answers = new LinkedBlockingQueue<>();
        private final ClientStream<AppendRowsRequest> requests;
        private volatile boolean broken;
        private boolean schemaSent;

        private Connection(String stream) {
            this.stream = stream;
            GrpcCallContext ctx = GrpcCallContext.createDefault()
                    .withExtraHeaders(Map.of("x-goog-request-params", List.of("write_stream=" + stream)));
            this.requests = client.appendRowsCallable().splitCall(new ResponseObserver<>() {
                @Override
                public void onStart(StreamController controller) {
                }

                @Override
                public void onResponse(AppendRowsResponse response) {
                    answers.add(response);
                }

                @Override
                public void onError(Throwable t) {
                    broken = true;
                    answers.add(t);
                }

                @Override
                public void onComplete() {
                    broken = true;
                    answers.add(new StatusRuntimeException(Status.UNAVAILABLE.withDescription("the service closed the connection")));
                }
            }, ctx);
        }

        boolean broken() {
            return broken;
        }

        /** Appends {@code rows} at {@code offset} and waits for the answer, at most {@code timeout}. */
        Outcome append(long offset, List<ByteString> rows, Duration timeout) throws InterruptedException {
            if (broken) {
                return new Transient("UNAVAILABLE", "the connection is closed");
            }
            com.google.cloud.bigquery.storage.v1.AppendRowsRequest.ProtoData.Builder data =
                    com.google.cloud.bigquery.storage.v1.AppendRowsRequest.ProtoData.newBuilder()
                            .setRows(ProtoRows.newBuilder().addAllSerializedRows(rows));
            AppendRowsRequest.Builder r = AppendRowsRequest.newBuilder().setOffset(Int64Value.of(offset));
            if (!schemaSent) {
                r.setWriteStream(stream);
                data.setWriterSchema(schema);
            }
            r.setProtoRows(data);
            try {
                requests.send(r.build());
            } catch (RuntimeException e) {
                broken = true;
                return classify(e);
            }
            schemaSent = true;
            Object answer = answers.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (answer == null) {
                broken = true;
                close();
                return new Transient("DEADLINE_EXCEEDED", "no answer within " + timeout.toMillis() + " ms");
            }
            if (answer instanceof Throwable t) {
                broken = true;
                return classify(t);
            }
            AppendRowsResponse response = (AppendRowsResponse) answer;
            if (response.hasError()) {
                broken = true;
                close();
                return classify(response.getError());
            }
            return new Appended(response.getAppendResult().hasOffset() ? response.getAppendResult().getOffset().getValue()
                    : offset);
        }

        @Override
        public void close() {
            broken = true;
            try {
                requests.closeSend();
            } catch (RuntimeException e) {
                // already gone
            }
        }
    }

    static Outcome classify(Throwable t) {
        com.google.rpc.Status status = StatusProto.fromThrowable(t);
        if (status != null) {
            return classify(status);
        }
        Throwable c = t;
        while (c != null) {
            if (c instanceof com.google.api.gax.rpc.ApiException api) {
                return byCode(api.getStatusCode().getCode().name(), api.getMessage());
            }
            if (c instanceof StatusRuntimeException s) {
                return byCode(s.getStatus().getCode().name(), s.getStatus().getDescription());
            }
            c = c.getCause();
        }
        return new Transient("UNKNOWN", String.valueOf(t.getMessage()));
    }

    static Outcome classify(com.google.rpc.Status status) {
        Exceptions.StorageException e = Exceptions.toStorageException(status, null);
        String message = status.getMessage();
        if (e instanceof Exceptions.OffsetAlreadyExists a) {
            return new AlreadyExists(expected(a.getExpectedOffset(), message), message);
        }
        if (e instanceof Exceptions.OffsetOutOfRange o) {
            return new OutOfRange(expected(o.getExpectedOffset(), message), message);
        }
        if (e instanceof Exceptions.StreamFinalizedException) {
            return new Finalized(message);
        }
        if (e instanceof Exceptions.StreamNotFound) {
            return new NotFound(message);
        }
        return byCode(Status.fromCodeValue(status.getCode()).getCode().name(), message);
    }

    private static long expected(long parsed, String message) {
        if (parsed >= 0) {
            return parsed;
        }
        Matcher m = EXPECTED.matcher(message == null ? "" : message);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    private static Outcome byCode(String code, String message) {
        return switch (code) {
            case "ALREADY_EXISTS" -> new AlreadyExists(expected(-1, message), message);
            case "OUT_OF_RANGE" -> new OutOfRange(expected(-1, message), message);
            case "NOT_FOUND" -> new NotFound(message);
            case "RESOURCE_EXHAUSTED", "UNAVAILABLE", "DEADLINE_EXCEEDED", "ABORTED", "INTERNAL", "CANCELLED",
                 "UNKNOWN" -> new Transient(code, message);
            default -> new Refused(code, message);
        };
    }

    @Override
    public void close() {
        client.close();
        try {
            client.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
