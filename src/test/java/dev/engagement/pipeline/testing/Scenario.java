package dev.engagement.pipeline.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Schema;
import dev.engagement.pipeline.generate.EventGenerator;
import dev.engagement.pipeline.local.EmbeddedKafka;
import dev.engagement.pipeline.local.Ports;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.sink.warehouse.Warehouse;
import dev.engagement.pipeline.topic.TopicAdmin;
import dev.engagement.pipeline.topic.Topics;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * One fault-injection scenario: its own database, broker and API receiver, the pipeline run as the
 * shipped jar in a separate process (so it can be killed for real), a seeded load, and the common
 * oracle at the end. What it measured is written to target/reliability/ for docs/RELIABILITY.md.
 */
public final class Scenario implements AutoCloseable {
    public final String name;
    public final long seed;
    public final Random random;
    public final ApiReceiver receiver;
    public final Path dir;
    public final Map<String, String> env;
    public final PipelineConfig config;
    private final AutoCloseable broker;
    private final List<PipelineProcess> processes = new ArrayList<>();
    private final Map<String, Object> report = new LinkedHashMap<>();
    private final HttpClient http = HttpClient.newHttpClient();
    private Thread load;
    private final long startedNanos = System.nanoTime();

    private Scenario(String scenario, long seed, Supplier<String> bootstrap, AutoCloseable broker,
                     Map<String, String> extra) throws Exception {
        this.seed = seed;
        this.name = scenario + "_" + Long.toString(seed, 36);
        this.random = new Random(seed);
        System.out.printf("[%s] fault seed = %d (reproduce with -Dfault.seed=%d)%n", name, seed, seed);
        this.broker = broker;
        this.receiver = new ApiReceiver();
        this.dir = TestServices.fresh("scenario-" + name);
        Map<String, String> e = new HashMap<>();
        e.put("POSTGRES_HOST", TestServices.postgres().host());
        e.put("POSTGRES_PORT", Integer.toString(TestServices.postgres().port()));
        e.put("POSTGRES_DB", name);
        e.put("POSTGRES_USER", "postgres");
        e.put("SOURCE_SLOT_NAME", "slot_" + name);
        e.put("SOURCE_PUBLICATION", "pub_" + name);
        e.put("KAFKA_BOOTSTRAP_SERVERS", bootstrap.get());
        e.put("REDIS_URL", TestServices.redis().url());
        e.put("DATA_DIR", dir.resolve("data").toString());
        e.put("DUCKDB_PATH", dir.resolve("data/warehouse.duckdb").toString());
        e.put("WAREHOUSE_QUERY_MAX_ROWS", "10000000"); // the oracle reads every event id
        e.put("HTTP_PORT", Integer.toString(Ports.free()));
        e.put("EXTERNAL_API_URL", receiver.url());
        e.put("EXTERNAL_API_TOKEN", "scenario-token-" + Long.toHexString(seed));
        e.put("HTTP_SINK_REQUEST_TIMEOUT", "2s");
        e.put("HTTP_SINK_BREAKER_OPEN_FOR", "2s");
        e.put("LOG_LEVEL", "INFO");
        e.putAll(extra);
        this.env = e;
        this.config = TestServices.config(e);
        TestServices.flushRedis();
        Schema.init(config.postgres());
        TopicAdmin.ensureTopics(config);
        report.put("scenario", scenario);
        report.put("seed", seed);
    }

    /** A scenario on a fresh in-JVM broker, its randomness from {@code seed}. */
    public static Scenario create(String name, long seed) throws Exception {
        return create(name, seed, Map.of());
    }

    public static Scenario create(String name, long seed, Map<String, String> extra) throws Exception {
        EmbeddedKafka kafka = TestServices.kafka();
        return new Scenario(name, seed, kafka::bootstrapServers, kafka, extra);
    }

    /** A scenario on a broker someone else runs (e.g. a separate process the test kills). */
    public static Scenario onBroker(String name, long seed, String bootstrap, Map<String, String> extra)
            throws Exception {
        return new Scenario(name, seed, () -> bootstrap, () -> { }, extra);
    }

    /** Starts the pipeline as a separate process: {@code run} with these settings on top of the scenario's. */
    public PipelineProcess start(Map<String, String> overrides, String... args) throws IOException {
        Map<String, String> e = new HashMap<>(env);
        e.putAll(overrides);
        String[] command = args.length == 0 ? new String[] {"run"} : args;
        PipelineProcess p = PipelineProcess.start(e, dir, command);
        processes.add(p);
        return p;
    }

    public PipelineProcess start() throws IOException {
        return start(Map.of());
    }

    public int port() {
        return Integer.parseInt(env.get("HTTP_PORT"));
    }

    public void awaitHealthy(int port, Duration within) {
        await().atMost(within).pollInterval(Duration.ofMillis(200)).ignoreExceptions().untilAsserted(() ->
                assertThat(get(port, "/health").statusCode()).isEqualTo(200));
    }

    public HttpResponse<String> get(int port, String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A counter or gauge from the pipeline's /metrics, summed over label sets; 0 if absent. */
    public double metric(int port, String name, String labelFilter) throws IOException, InterruptedException {
        double sum = 0;
        for (String line : get(port, "/metrics").body().split("\n")) {
            if (line.startsWith(name) && (line.charAt(name.length()) == '{' || line.charAt(name.length()) == ' ')
                    && (labelFilter == null || line.contains(labelFilter))) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    /** Writes {@code count} events at once before the pipeline's first start, for its snapshot to copy. */
    public void seedEvents(long count) throws Exception {
        EventGenerator generator = new EventGenerator(config.postgres(), seed);
        generator.ensureContent(40);
        generator.bulk(count, 10_000, n -> { });
    }

    /**
     * No event reached the API after a later event (higher id) of its content: the sinks see each
     * content's events in commit order. First deliveries only; at-least-once repeats may come any time.
     */
    public void assertOrderPerContent() {
        List<String> late = receiver.outOfOrder();
        report.put("api_out_of_order", late.size());
        assertThat(late.stream().limit(10).toList())
                .as("%d events reached the API after a later event of their content", late.size()).isEmpty();
    }

    /** Inserts events at {@code rate} per second from a seeded generator until {@link #stopLoad()}. */
    public void startLoad(int rate, double invalidPercent) throws Exception {
        EventGenerator generator = new EventGenerator(config.postgres(), seed);
        generator.ensureContent(40);
        load = new Thread(() -> {
            try {
                generator.run(rate, 0, null, invalidPercent, n -> { });
            } catch (Exception e) {
                if (!Thread.currentThread().isInterrupted()) {
                    e.printStackTrace();
                }
            }
        }, "scenario-load");
        load.start();
    }

    public void stopLoad() throws InterruptedException {
        if (load != null) {
            load.interrupt();
            load.join(30_000);
            load = null;
        }
    }

    /** Redis stats:global events, or -1 while Redis does not answer. */
    public long redisEvents() {
        try (var c = new dev.engagement.pipeline.sink.redis.LazyRedis(config.redis())) {
            String v = c.sync().hget("stats:global", "events");
            return v == null ? 0 : Long.parseLong(v);
        } catch (RuntimeException e) {
            return -1;
        }
    }

    /** Keeps a fault in place until {@code length} has passed since it began. */
    public void holdFor(Duration length, Instant since) {
        await().atMost(length.plusSeconds(5)).pollInterval(Duration.ofMillis(100))
                .until(() -> !Instant.now().isBefore(since.plus(length)));
    }

    /** Time from {@code since} until Redis counts more events than it did then: the flow is back. */
    public Duration awaitFlow(Instant since, long before, Duration within) {
        await().atMost(within).pollInterval(Duration.ofMillis(100)).until(() -> redisEvents() > before);
        return Duration.between(since, Instant.now());
    }

    /** The warehouse, read through the running pipeline that holds the DuckDB file. */
    public Oracle.WarehouseSql warehouseVia(int port) {
        return sql -> {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/api/warehouse/query")).POST(HttpRequest.BodyPublishers.ofString(sql)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IllegalStateException("warehouse query: " + r.statusCode() + " " + r.body());
            }
            return Warehouse.QueryResult.fromJson(Json.MAPPER.readTree(r.body()));
        };
    }

    /**
     * The common oracle: Redis equals SQL exactly; the warehouse has one row per valid event id and
     * no other; every valid event id reached the API or sits in sink.http.dlq; nothing that is not
     * a valid row (a rolled-back one, say) reached any sink.
     */
    public Oracle.Truth awaitExact(int warehousePort, Duration within) {
        try {
            return awaitExactly(warehousePort, within);
        } catch (AssertionError | org.awaitility.core.ConditionTimeoutException e) {
            explainMissing(warehousePort);
            throw e;
        }
    }

    /** On failure: which valid events are missing from the warehouse, and how far each got. */
    private void explainMissing(int warehousePort) {
        try {
            Oracle.Truth truth = new Oracle(config).truth();
            Set<Long> inWarehouse = new TreeSet<>();
            for (List<Object> r : warehouseVia(warehousePort).query("SELECT event_id FROM " + Warehouse.TABLE).rows()) {
                inWarehouse.add(((Number) r.get(0)).longValue());
            }
            Set<Long> missing = new TreeSet<>(truth.validIds());
            missing.removeAll(inWarehouse);
            Map<Long, List<String>> cdc = new HashMap<>();
            for (var r : TopicReader.readAll(config, Topics.CDC_EVENTS)) {
                JsonNode n = Json.MAPPER.readTree(r.value());
                long id = n.path("after").path("id").asLong(-1);
                if (missing.contains(id)) {
                    cdc.computeIfAbsent(id, k -> new ArrayList<>()).add("p" + r.partition() + "@" + r.offset()
                            + " lsn=" + n.path("source").path("lsn") + " ts=" + Instant.ofEpochMilli(r.timestamp()));
                }
            }
            Set<Long> enriched = new TreeSet<>();
            for (var r : TopicReader.readAll(config, Topics.ENRICHED)) {
                long id = Json.MAPPER.readTree(r.value()).path("event_id").asLong(-1);
                if (missing.contains(id)) {
                    enriched.add(id);
                }
            }
            Map<Long, String> invalid = new HashMap<>();
            for (var r : TopicReader.readAll(config, Topics.INVALID)) {
                JsonNode n = Json.MAPPER.readTree(r.value());
                long id = n.path("row").path("id").asLong(-1);
                if (missing.contains(id)) {
                    invalid.put(id, n.path("reason").asText() + " (" + n.path("detail").asText() + ") at "
                            + n.path("detected_at").asText());
                }
            }
            System.out.println("[" + name + "] missing from the warehouse: " + Oracle.head(missing));
            for (Long id : missing.stream().limit(10).toList()) {
                System.out.println("[" + name + "]   event " + id + ": in CDC topic " + cdc.getOrDefault(id, List.of())
                        + ", enriched " + enriched.contains(id) + ", invalid " + invalid.get(id));
            }
        } catch (Exception e) {
            System.out.println("[" + name + "] could not explain: " + e);
        }
    }

    /** How long the oracle must keep holding once it first matched: late repeats would break it. */
    static final Duration HOLDS_FOR = Duration.ofSeconds(10);

    private Oracle.Truth awaitExactly(int warehousePort, Duration within) {
        Oracle oracle = new Oracle(config);
        Oracle.Truth[] last = new Oracle.Truth[1];
        Runnable exact = () -> {
            try {
                Oracle.Truth truth = oracle.truth();
                last[0] = truth;
                assertThat(oracle.redisMismatches(truth)).as("Redis vs SQL").isEmpty();
                assertThat(Oracle.warehouseMismatches(truth, warehouseVia(warehousePort))).as("warehouse vs SQL").isEmpty();
                Set<Long> atApi = new TreeSet<>(receiver.deliveredEventIds());
                atApi.addAll(deadLetteredIds());
                Set<Long> missing = new TreeSet<>(truth.validIds());
                missing.removeAll(atApi);
                assertThat(missing).as("valid events neither delivered to the API nor dead-lettered").isEmpty();
                Set<Long> foreign = new TreeSet<>(receiver.deliveredEventIds());
                foreign.removeAll(truth.validIds());
                assertThat(foreign).as("events at the API that are not valid rows").isEmpty();
                assertThat(receiver.repeats().get("new_key")).as("events at the API again under a new key").isZero();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        };
        await().atMost(within).pollInterval(Duration.ofMillis(500)).untilAsserted(exact::run);
        Instant matched = Instant.now();
        await().during(HOLDS_FOR).atMost(HOLDS_FOR.plusSeconds(30)).pollInterval(Duration.ofMillis(1000))
                .untilAsserted(exact::run);
        long cdc = cdcRepeats();
        assertThat(cdc).as("streamed changes in the CDC topic more than once").isEqualTo(expectedCdcRepeats);
        report.put("valid_events", last[0].validIds().size());
        report.put("invalid_rows", last[0].invalidIds().size());
        report.put("api_redeliveries", receiver.deliveredEventCount() - receiver.deliveredEventIds().size());
        report.put("api_repeats", receiver.repeats());
        report.put("cdc_repeats", cdc);
        report.put("oracle_held_s", Duration.between(matched, Instant.now()).toSeconds());
        return last[0];
    }

    private long expectedCdcRepeats;

    /** A scenario whose fault makes the CDC topics hold streamed changes twice says how many, exactly. */
    public void expectCdcRepeats(long n) {
        expectedCdcRepeats = n;
    }

    /** Streamed event changes written to the CDC topic more than once (snapshot reads excluded). */
    public long cdcRepeats() {
        return cdcRepeats(false);
    }

    /**
     * Events written to the CDC topic more than once, snapshot reads counted with streamed changes:
     * for a source that promises each committed row once (no backfill in the scenario).
     */
    public long cdcDuplicates() {
        return cdcRepeats(true);
    }

    private long cdcRepeats(boolean withReads) {
        Map<Long, String> seen = new java.util.HashMap<>();
        long repeats = 0;
        for (var r : TopicReader.readAll(config, Topics.CDC_EVENTS)) {
            try {
                JsonNode n = Json.MAPPER.readTree(r.value());
                long id = n.path("after").path("id").asLong();
                String where = "p" + r.partition() + "@" + r.offset() + " ts=" + Instant.ofEpochMilli(r.timestamp())
                        + " lsn=" + n.path("source").path("lsn") + " tx=" + n.path("source").path("txId")
                        + " op=" + n.path("op").asText() + " after=" + n.path("after");
                String op = n.path("op").asText();
                if (!"c".equals(op) && !(withReads && "r".equals(op))) {
                    continue; // snapshot and backfill reads are not streamed changes
                }
                if (seen.containsKey(id)) {
                    if (repeats++ < 8) {
                        System.out.println("CDC REPEAT id=" + id + " first " + seen.get(id) + " again " + where);
                    }
                } else {
                    seen.put(id, where);
                }
            } catch (IOException e) {
                // not a change record: the processor reports it as malformed
            }
        }
        return repeats;
    }

    public Set<Long> deadLetteredIds() {
        Set<Long> ids = new TreeSet<>();
        TopicReader.readAll(config, Topics.HTTP_DLQ).forEach(r -> {
            try {
                ids.add(Json.MAPPER.readTree(r.value()).get("event_id").asLong());
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        return ids;
    }

    public void report(String key, Object value) {
        report.put(key, value);
    }

    public void assertNoSecretsIn(String text) {
        assertThat(text).doesNotContain(env.get("EXTERNAL_API_TOKEN"));
    }

    @Override
    public void close() throws IOException {
        try {
            stopLoad();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (PipelineProcess p : processes) {
            p.close();
            assertNoSecretsIn(p.output());
        }
        receiver.close();
        TestServices.dropSlot(env.get("SOURCE_SLOT_NAME"));
        try {
            broker.close();
        } catch (Exception e) {
            throw new IOException(e);
        }
        report.put("test_seconds", Math.round((System.nanoTime() - startedNanos) / 1e9));
        Path out = Path.of("target/reliability");
        Files.createDirectories(out);
        Files.writeString(out.resolve(name + ".json"), Json.MAPPER.writeValueAsString(report), StandardCharsets.UTF_8);
    }
}
