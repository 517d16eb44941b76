package dev.engagement.pipeline.sink.warehouse.bigquery.fake;

import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import org.duckdb.DuckDBConnection;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A FAKE of BigQuery, in-process, for tests and for {@code ./pipeline demo --warehouse bigquery}:
 * not BigQuery, but its wire APIs as the pipeline uses them. The Storage Write API is served over
 * gRPC with the client library's own generated service ({@code BigQueryWriteGrpc}), enforcing what
 * the real service enforces for COMMITTED streams: explicit offsets (ALREADY_EXISTS below the
 * stream's end, OUT_OF_RANGE beyond it, with the StorageError details the client library parses),
 * finalized and missing streams, the 10 MB request limit, required columns. The REST API serves
 * datasets, tables, jobs.query / getQueryResults and dry runs. Rows live in an in-memory DuckDB, so
 * queries answer for real; Standard SQL is run through {@link FakeSql}'s small translation, which
 * covers the functions docs/ANALYTICS.md uses, not all of BigQuery's.
 *
 * <p>Bad days on demand: {@link #failAppends} answers every append with a gRPC error for a while
 * (RESOURCE_EXHAUSTED, UNAVAILABLE), {@link #loseAnswers} applies appends but drops the connection
 * before answering, {@link #finalizeStream} and {@link #deleteStream} act on a stream from outside.
 */
public final class FakeBigQuery implements AutoCloseable {
    /** The Storage Write API's request limit. */
    public static final int MAX_REQUEST_BYTES = 10 * 1024 * 1024;

    final String project;
    final DuckDBConnection db;
    final Map<String, Stream> streams = new ConcurrentHashMap<>();
    /** "dataset.table" -> table resource (schema and the rest, as tables.get returns it). */
    final Map<String, com.fasterxml.jackson.databind.node.ObjectNode> tables = new ConcurrentHashMap<>();
    final Map<String, Boolean> datasets = new ConcurrentHashMap<>();
    final Map<String, List<List<Object>>> queryPages = new ConcurrentHashMap<>();
    private final Server grpc;
    private final FakeBigQueryRest rest;
    private volatile Failure failure;
    final AtomicInteger answersToLose = new AtomicInteger();
    final AtomicInteger appends = new AtomicInteger();

    private record Failure(Status.Code code, Instant until) {
    }

    /** A write stream: its table, type, rows so far, and whether it still takes rows. */
    static final class Stream {
        final String name;
        final String table;
        final com.google.cloud.bigquery.storage.v1.WriteStream.Type type;
        final Instant created = Instant.now();
        long rows;
        boolean finalized;

        Stream(String name, String table, com.google.cloud.bigquery.storage.v1.WriteStream.Type type) {
            this.name = name;
            this.table = table;
            this.type = type;
        }
    }

    private FakeBigQuery(String project, int grpcPort, int restPort) throws IOException, SQLException {
        this.project = project;
        java.util.Properties props = new java.util.Properties();
        // as the warehouse's DuckDB: no extensions fetched, so TIMESTAMPTZ is UTC (BigQuery's civil time too)
        props.setProperty("autoinstall_known_extensions", "false");
        props.setProperty("autoload_known_extensions", "false");
        this.db = (DuckDBConnection) DriverManager.getConnection("jdbc:duckdb:", props);
        try (Statement s = db.createStatement()) {
            FakeSql.macros(s);
        }
        this.grpc = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", grpcPort))
                .maxInboundMessageSize(MAX_REQUEST_BYTES * 2) // the limit is the service's answer, not the transport's
                .addService(new FakeStorageWrite(this)).build().start();
        this.rest = new FakeBigQueryRest(this, restPort);
    }

    /** Starts the fake on free ports of 127.0.0.1. */
    public static FakeBigQuery start(String project) throws IOException, SQLException {
        return new FakeBigQuery(project, 0, 0);
    }

    public static FakeBigQuery start(String project, int grpcPort, int restPort) throws IOException, SQLException {
        return new FakeBigQuery(project, grpcPort, restPort);
    }

    /** BIGQUERY_ENDPOINT for the pipeline. */
    public String restEndpoint() {
        return "http://127.0.0.1:" + rest.port();
    }

    /** BIGQUERY_WRITE_ENDPOINT for the pipeline. */
    public String writeEndpoint() {
        return "http://127.0.0.1:" + grpc.getPort();
    }

    /** The settings that point the pipeline at this fake. */
    public Map<String, String> settings(String dataset) {
        Map<String, String> e = new LinkedHashMap<>();
        e.put("WAREHOUSE", "bigquery");
        e.put("GOOGLE_CLOUD_PROJECT", project);
        e.put("BIGQUERY_DATASET", dataset);
        e.put("BIGQUERY_ENDPOINT", restEndpoint());
        e.put("BIGQUERY_WRITE_ENDPOINT", writeEndpoint());
        return e;
    }

    /** Every append is answered with {@code code} for {@code duration} from now. */
    public void failAppends(Status.Code code, Duration duration) {
        failure = new Failure(code, Instant.now().plus(duration));
    }

    Optional<Status.Code> failing() {
        Failure f = failure;
        return f != null && Instant.now().isBefore(f.until()) ? Optional.of(f.code()) : Optional.empty();
    }

    /** The next {@code n} appends are applied, but their connection breaks before the answer. */
    public void loseAnswers(int n) {
        answersToLose.set(n);
    }

    /** Lost answers still to come from {@link #loseAnswers}. */
    public int answersToLose() {
        return answersToLose.get();
    }

    /** Finalizes a stream from outside, as an operator or a second writer would. */
    public synchronized long finalizeStream(String name) {
        Stream s = streams.get(name);
        s.finalized = true;
        return s.rows;
    }

    /** Forgets a stream, as the service does with one it garbage-collected (its rows stay in the table). */
    public void deleteStream(String name) {
        streams.remove(name);
    }

    /** Streams of a table that still take rows. */
    public List<String> openStreams() {
        List<String> out = new ArrayList<>();
        streams.values().forEach(s -> {
            if (!s.finalized) {
                out.add(s.name);
            }
        });
        return out;
    }

    /** Appends answered so far (successful or not). */
    public int appendsSeen() {
        return appends.get();
    }

    /** Runs SQL (DuckDB dialect) against the fake's tables, for tests: e.g. {@code SELECT count(*) FROM ds.t}. */
    public synchronized List<List<Object>> sql(String sql) throws SQLException {
        List<List<Object>> out = new ArrayList<>();
        try (Statement s = db.createStatement(); var rs = s.executeQuery(sql)) {
            int n = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                List<Object> row = new ArrayList<>(n);
                for (int i = 1; i <= n; i++) {
                    row.add(rs.getObject(i));
                }
                out.add(row);
            }
        }
        return out;
    }

    @Override
    public void close() {
        rest.close();
        grpc.shutdownNow();
        try {
            grpc.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            db.close();
        } catch (SQLException e) {
            // closing anyway
        }
    }
}
