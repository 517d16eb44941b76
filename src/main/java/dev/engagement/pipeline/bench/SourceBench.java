package dev.engagement.pipeline.bench;

import dev.engagement.pipeline.Progress;
import dev.engagement.pipeline.config.ConfigLoader;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Database;
import dev.engagement.pipeline.db.Schema;
import dev.engagement.pipeline.generate.EventGenerator;
import dev.engagement.pipeline.local.EmbeddedKafka;
import dev.engagement.pipeline.topic.KafkaClients;
import dev.engagement.pipeline.topic.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import org.postgresql.PGConnection;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The source alone, PostgreSQL to Kafka, on the same rows of a database of its own. The limit is
 * PostgreSQL's own {@code pg_recvlogical}: the walsender decoding pgoutput into /dev/null. Each
 * reader has its slot made before the rows are inserted, and reads them afterwards, in turn:
 * pg_recvlogical, the native source, the Debezium source, each in a process of its own so that the
 * CPU it reports is its own (the machine's is reported too: the walsender works for each). Then the
 * snapshot: each source on a new slot copies the same table, against a plain
 * {@code COPY ... TO STDOUT} of it.
 */
final class SourceBench {
    private static final String DB = "bench_source";
    private static final String RECV_SLOT = "bench_recv";
    private static final Pattern SNAPSHOT_DONE = Pattern.compile("snapshot done: (\\d+) content rows and (\\d+) events in (\\d+) ms");

    private final Map<String, String> env;
    private final Path dir;
    private final long rows;
    private final PrintStream out;
    private final PipelineConfig config;

    SourceBench(Map<String, String> services, Path dir, long rows, PrintStream out) {
        this.env = new HashMap<>(services);
        this.env.put("POSTGRES_DB", DB);
        this.dir = dir;
        this.rows = rows;
        this.out = out;
        this.config = ConfigLoader.load(env);
    }

    Map<String, Object> run() throws Exception {
        PipelineConfig.Postgres pg = config.postgres();
        Schema.init(pg);
        try (Connection c = Database.connect(pg); Statement s = c.createStatement()) {
            Schema.ensurePublication(c, pg.publication());
            s.execute("TRUNCATE engagement_events");
        }
        EventGenerator generator = new EventGenerator(pg, 7);
        generator.ensureContent(1000);
        out.printf("source: %,d rows, PostgreSQL -> Kafka, each reader in turn on the same rows...%n", rows);
        PgRecvlogical.createSlot(pg, RECV_SLOT, dir.resolve("pg_recvlogical.log"));
        try (EmbeddedKafka nativeKafka = EmbeddedKafka.start(dir.resolve("kafka-native"), 0);
             EmbeddedKafka debeziumKafka = EmbeddedKafka.start(dir.resolve("kafka-debezium"), 0);
             EmbeddedKafka debeziumSnapshotKafka = EmbeddedKafka.start(dir.resolve("kafka-debezium-snapshot"), 0)) {
            brokers.put("native", nativeKafka.bootstrapServers());
            brokers.put("bench_debezium", debeziumKafka.bootstrapServers());
            brokers.put("bench_debezium_snapshot", debeziumSnapshotKafka.bootstrapServers());
            return measure(generator, pg);
        }
    }

    /** Each reader on a broker of its own where it must be: Debezium keeps one position per broker. */
    private final Map<String, String> brokers = new HashMap<>();

    private Map<String, Object> measure(EventGenerator generator, PipelineConfig.Postgres pg) throws Exception {
        startAndStop("native", "bench_native");
        startAndStop("debezium", "bench_debezium");
        generator.bulk(rows, 10_000, n -> { });
        String endLsn = Database.currentWalLsn(pg);

        Map<String, Object> streaming = new LinkedHashMap<>();
        PgRecvlogical.Read recv = PgRecvlogical.readTo(pg, RECV_SLOT, endLsn, dir.resolve("pg_recvlogical.log"));
        streaming.put("pg_recvlogical", figure(recv.perSecond(rows), recv.cores(), recv.machineCores()));
        streaming.put("native", streamThrough("native", "bench_native"));
        streaming.put("debezium", streamThrough("debezium", "bench_debezium"));
        double limit = rate(streaming, "pg_recvlogical");
        double nativeRate = rate(streaming, "native");
        double debezium = rate(streaming, "debezium");
        streaming.put("native_to_pg_recvlogical", round2(nativeRate / limit));
        streaming.put("native_to_debezium", round2(nativeRate / debezium));
        streaming.put("debezium_to_pg_recvlogical", round2(debezium / limit));

        Map<String, Object> snapshot = new LinkedHashMap<>();
        long total;
        try (Connection c = Database.connect(pg); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                "SELECT (SELECT count(*) FROM content) + (SELECT count(*) FROM engagement_events)")) {
            rs.next();
            total = rs.getLong(1);
        }
        long c0 = System.nanoTime();
        copyOut("content");
        copyOut("engagement_events");
        double copyRate = total / ((System.nanoTime() - c0) / 1e9);
        snapshot.put("copy_to_stdout", Map.of("rows_per_s", Math.round(copyRate)));
        snapshot.put("native", snapshotThrough("native", "bench_native_snapshot", total));
        snapshot.put("debezium", snapshotThrough("debezium", "bench_debezium_snapshot", total));
        snapshot.put("native_to_copy", round2(rate(snapshot, "native") / copyRate));
        snapshot.put("native_to_debezium", round2(rate(snapshot, "native") / rate(snapshot, "debezium")));
        dropSlots();

        out.printf("  streaming, rows/s (reader's cores): pg_recvlogical %s, native %s, debezium %s%n",
                describe(streaming, "pg_recvlogical"), describe(streaming, "native"), describe(streaming, "debezium"));
        out.printf("  native = %.2f x pg_recvlogical, %.2f x Debezium%n", streaming.get("native_to_pg_recvlogical"),
                streaming.get("native_to_debezium"));
        out.printf("  snapshot, rows/s: COPY TO STDOUT %,.0f, native %s, debezium %s; native = %.2f x COPY%n", copyRate,
                describe(snapshot, "native"), describe(snapshot, "debezium"), snapshot.get("native_to_copy"));
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("rows", rows);
        r.put("streaming", streaming);
        r.put("snapshot", snapshot);
        return r;
    }

    /** A first start on an empty events table: the slot is made, the content copied; then stopped. */
    private void startAndStop(String source, String slot) throws Exception {
        Reader reader = start(source, slot);
        try {
            reader.await(() -> reader.count("content") >= 1000, Duration.ofMinutes(2));
            if ("debezium".equals(source)) { // it stores its position after the rows, on its own timer
                reader.await(() -> positionStored(brokers.get(slot)), Duration.ofMinutes(2));
            }
        } finally {
            reader.stop();
        }
    }

    /** The rows inserted while it was away, read from its slot: from its first row to its last. */
    private Map<String, Object> streamThrough(String source, String slot) throws Exception {
        Reader reader = start(source, slot);
        try {
            reader.await(() -> reader.count("engagement_events") > 0, Duration.ofMinutes(2));
            MachineCpu machine = new MachineCpu();
            long c0 = reader.count("engagement_events");
            long cpu0 = reader.cpuNanos();
            long t0 = System.nanoTime();
            try (Progress bar = Progress.of("bench source, " + source + " streaming", "rows", rows)) {
                reader.await(() -> {
                    bar.accept(reader.count("engagement_events"));
                    return reader.count("engagement_events") >= rows;
                }, Duration.ofMinutes(30));
            }
            long t1 = System.nanoTime();
            if (reader.count("content") > 0) {
                throw new IllegalStateException(source + " took a snapshot again instead of streaming from its slot; see "
                        + reader.log());
            }
            double seconds = (t1 - t0) / 1e9;
            return figure((rows - c0) / seconds, (reader.cpuNanos() - cpu0) / 1e9 / seconds, machine.stop().machineCores());
        } finally {
            reader.stop();
        }
    }

    /**
     * A new slot: the whole table copied in its snapshot, timed from the snapshot's start (the native
     * source logs it; Debezium's first row marks it) to the last row counted.
     */
    private Map<String, Object> snapshotThrough(String source, String slot, long total) throws Exception {
        Reader reader = start(source, slot);
        try {
            boolean isNative = "native".equals(source);
            reader.await(() -> isNative ? reader.logContains("copying the tables in its snapshot")
                    : reader.count("content") + reader.count("engagement_events") > 0, Duration.ofMinutes(2));
            MachineCpu machine = new MachineCpu();
            long c0 = isNative ? 0 : reader.count("content") + reader.count("engagement_events");
            long cpu0 = reader.cpuNanos();
            long t0 = System.nanoTime();
            try (Progress bar = Progress.of("bench source, " + source + " snapshot", "rows", total)) {
                reader.await(() -> {
                    long n = reader.count("content") + reader.count("engagement_events");
                    bar.accept(n);
                    return n >= total;
                }, Duration.ofMinutes(30));
            }
            long t1 = System.nanoTime();
            double seconds = (t1 - t0) / 1e9;
            Map<String, Object> f = figure((total - c0) / seconds, (reader.cpuNanos() - cpu0) / 1e9 / seconds,
                    machine.stop().machineCores());
            // the native source counts its snapshot when its one Kafka transaction commits; its log has the time
            Matcher m = SNAPSHOT_DONE.matcher(Files.readString(reader.log()));
            if (isNative && m.find()) {
                f.put("log_rows_per_s", Math.round((Long.parseLong(m.group(1)) + Long.parseLong(m.group(2)))
                        / (Long.parseLong(m.group(3)) / 1000.0)));
            }
            return f;
        } finally {
            reader.stop();
        }
    }

    private Reader start(String source, String slot) throws IOException {
        Map<String, String> e = new HashMap<>(env);
        e.put("SOURCE", source);
        e.put("SOURCE_SLOT_NAME", slot);
        e.put("KAFKA_BOOTSTRAP_SERVERS", brokers.getOrDefault(source, brokers.get(slot)));
        e.put("INSTANCE_ID", "bench-" + slot.replace('_', '-'));
        Path work = dir.resolve("source-" + slot);
        e.put("DATA_DIR", work.resolve("data").toString());
        List<String> jvm = new ArrayList<>(ChildPipeline.JVM_OPTIONS);
        if (System.getProperty("source.linger") != null) {
            jvm.add("-Dsource.linger=" + System.getProperty("source.linger"));
        }
        if (Boolean.getBoolean("bench.profile")) { // a flight recording of each source process, for docs/PERFORMANCE.md
            jvm.add("-XX:StartFlightRecording=filename=" + work.resolve("source.jfr") + ",settings=profile");
        }
        return new Reader(ChildPipeline.start(e, "source,api", work, jvm));
    }

    /** A source process, counted by table from its /metrics. */
    private record Reader(ChildPipeline process) {
        Path log() {
            return process.log;
        }

        boolean logContains(String text) {
            return process.logContains(text);
        }

        long count(String table) {
            return (long) process.metrics().sum("pipeline_source_records_total", "table", table);
        }

        void await(java.util.function.BooleanSupplier done, Duration within) throws Exception {
            process.await(done, within, () -> process.metrics().byLabel("pipeline_source_records_total", "table").toString());
        }

        long cpuNanos() {
            return process.cpuNanos();
        }

        void stop() {
            process.close();
        }
    }

    /** Whether Debezium has stored a capture position on this broker. */
    private boolean positionStored(String bootstrap) {
        Map<String, String> e = new HashMap<>(env);
        e.put("KAFKA_BOOTSTRAP_SERVERS", bootstrap);
        try (Admin admin = Admin.create(KafkaClients.admin(ConfigLoader.load(e)))) {
            TopicPartition tp = new TopicPartition(Topics.SOURCE_OFFSETS, 0);
            return admin.listOffsets(Map.of(tp, OffsetSpec.latest())).all().get(10, TimeUnit.SECONDS).get(tp).offset() > 0;
        } catch (Exception ex) {
            return false;
        }
    }

    private void copyOut(String table) throws Exception {
        try (Connection c = Database.connect(config.postgres())) {
            c.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY " + table + " TO STDOUT", OutputStream.nullOutputStream());
        }
    }

    private void dropSlots() throws Exception {
        try (Connection c = Database.connect(config.postgres()); Statement s = c.createStatement()) {
            s.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '" + DB
                    + "' AND NOT active");
        }
    }

    private static Map<String, Object> figure(double rowsPerS, double readerCores, double machineCores) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("rows_per_s", Math.round(rowsPerS));
        f.put("reader_cores", round2(readerCores));
        f.put("machine_cores_busy", round2(machineCores));
        return f;
    }

    @SuppressWarnings("unchecked")
    private static double rate(Map<String, Object> m, String key) {
        return ((Number) ((Map<String, Object>) m.get(key)).get("rows_per_s")).doubleValue();
    }

    @SuppressWarnings("unchecked")
    private static String describe(Map<String, Object> m, String key) {
        Map<String, Object> f = (Map<String, Object>) m.get(key);
        return String.format("%,d (%s)", ((Number) f.get("rows_per_s")).longValue(), f.get("reader_cores"));
    }

    private static double round2(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
