package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.local.Ports;
import dev.engagement.pipeline.sink.warehouse.bigquery.fake.FakeBigQuery;
import dev.engagement.pipeline.testing.FaultSeeds;
import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;
import io.grpc.Status;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The BigQuery warehouse sink against the in-process FAKE of BigQuery's wire API (it outlives the
 * pipeline processes it serves): halted before an append, after an append before its Kafka commit,
 * and between two requests of one batch; a frozen instance whose partitions another took over; the
 * service refusing (RESOURCE_EXHAUSTED, UNAVAILABLE) for 20 s each, losing answers, and streams
 * finalized or dropped under the sink. Each ends with rows in the table = distinct event ids =
 * valid rows, exactly.
 */
public class BigQueryIT {

    /** The halts, in the order one scenario goes through them; requests are cut at 4 KB, so a batch is many appends. */
    public static final List<String> HALTS = List.of("warehouse.before-write@6", "warehouse.after-write@6",
            "warehouse.between-requests@20");

    private static Map<String, String> settings(FakeBigQuery fake, String dataset, Map<String, String> more) {
        Map<String, String> e = new HashMap<>(fake.settings(dataset));
        e.putAll(more);
        return e;
    }

    @FaultSeeds(value = {10_001, 10_002, 10_003, 10_004, 10_005}, quick = 1)
    void writesEachEventOnceWhenHaltedAroundAnAppend(long seed) throws Exception {
        try (FakeBigQuery fake = FakeBigQuery.start("fake-project")) {
            haltAround(HALTS, "bq_halts", seed, settings(fake, "bq_halts", Map.of("BIGQUERY_APPEND_MAX_BYTES", "4096")),
                    () -> count(fake, "bq_halts"));
        }
    }

    /** Rows in the table, however the test reaches it. */
    @FunctionalInterface
    public interface Rows {
        long count() throws Exception;
    }

    /**
     * Halts the pipeline at each of {@code points} in turn (as kill -9), restarting it after each,
     * then lets it run and checks the oracle: on the fake, or on a real project ({@code BigQueryRealIT}).
     */
    public static void haltAround(List<String> points, String name, long seed, Map<String, String> settings, Rows rows)
            throws Exception {
        try (Scenario s = Scenario.create(name, seed, settings)) {
            s.startLoad(300, 2);
            List<Long> flows = new java.util.ArrayList<>();
            String previous = null;
            for (String point : points) {
                PipelineProcess doomed = s.start(Map.of("PIPELINE_TEST_FAULT", point + ":halt"));
                assertThat(doomed.waitFor(120)).as(doomed.output()).isEqualTo(137);
                assertThat(doomed.output()).contains("fault point " + point.substring(0, point.indexOf('@')));
                afterHalt(previous, doomed);
                previous = point;
            }
            long rowsAtHalt = rows.count();
            Instant restart = Instant.now();
            PipelineProcess again = s.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> rows.count() > rowsAtHalt);
            flows.add(Duration.between(restart, Instant.now()).toMillis());
            afterHalt(previous, again);
            s.awaitHealthy(s.port(), Duration.ofSeconds(60));
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(120)); // rows = distinct ids = valid rows
            s.report("faults", "halts (as kill -9) at " + String.join(", then ", points)
                    + " with WAREHOUSE=bigquery, a restart after each");
            s.report("restart_to_rows_ms", flows.get(0));
        }
    }

    /** After a halt past an append, the next process counts the rows written without a commit instead of writing them again. */
    private static void afterHalt(String point, PipelineProcess next) {
        if (point != null && !point.startsWith("warehouse.before-write")) {
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(next.output())
                    .as("rows appended but not committed were counted, not written again")
                    .contains("were written to BigQuery after the last commit"));
        }
    }

    @FaultSeeds(value = {10_101, 10_102, 10_103, 10_104, 10_105}, quick = 1)
    void aFrozenInstanceWhosePartitionsWereTakenOverWritesNothingTwice(long seed) throws Exception {
        try (FakeBigQuery fake = FakeBigQuery.start("fake-project");
             Scenario s = Scenario.create("bq_rebalance", seed, settings(fake, "bq_rebalance", Map.of()))) {
            s.startLoad(300, 2);
            s.start(Map.of("INSTANCE_ID", "source", "HTTP_PORT", Integer.toString(Ports.free())),
                    "run", "--components", "source,processor,redis,http");
            int portA = s.port();
            int portB = Ports.free();
            Path dataB = s.dir.resolve("data-b");
            Files.createDirectories(dataB);
            PipelineProcess b = s.start(Map.of("INSTANCE_ID", "b", "HTTP_PORT", Integer.toString(portB),
                    "DATA_DIR", dataB.toString()), "run", "--components", "warehouse,api");
            await().atMost(Duration.ofSeconds(90)).until(() -> b.output().contains("warehouse sink owns partitions"));
            int writes = 8 + s.random.nextInt(10);
            PipelineProcess a = s.start(Map.of("INSTANCE_ID", "a",
                    "PIPELINE_TEST_FAULT", "warehouse.before-write@" + writes + ":stop"), "run", "--components", "warehouse,api");
            await().atMost(Duration.ofSeconds(120)).until(() -> a.stopped());
            Instant frozen = Instant.now();
            // A's session times out and B takes A's partitions: it finalizes their streams first
            await().atMost(Duration.ofSeconds(60)).until(() ->
                    b.output().split("warehouse sink owns partitions", -1).length > 3); // alone, with A, A's too
            Duration takeover = Duration.between(frozen, Instant.now());
            a.signal("CONT");
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().untilAsserted(() ->
                    assertThat(s.metric(portA, "pipeline_sink_fenced_total", "sink=\"warehouse\"")).isPositive());
            s.awaitHealthy(portA, Duration.ofSeconds(90));
            s.awaitHealthy(portB, Duration.ofSeconds(90));
            s.stopLoad();
            s.awaitExact(portB, Duration.ofSeconds(120));
            assertThat(a.alive()).isTrue();
            s.report("faults", "SIGSTOP of one of two BigQuery writers with a batch in hand past its session time-out; "
                    + "the other takes its partitions and finalizes their streams; SIGCONT: its writes are refused");
            s.report("freeze_to_takeover_ms", takeover.toMillis());
            s.report("fenced_batches", s.metric(portA, "pipeline_sink_fenced_total", "sink=\"warehouse\""));
        }
    }

    @FaultSeeds(value = {10_201, 10_202, 10_203, 10_204, 10_205}, quick = 1)
    void badDaysOfTheServiceLoseNothingAndWriteNothingTwice(long seed) throws Exception {
        try (FakeBigQuery fake = FakeBigQuery.start("fake-project");
             Scenario s = Scenario.create("bq_bad_days", seed, settings(fake, "bq_bad_days", Map.of()))) {
            s.startLoad(300, 2);
            PipelineProcess p = s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            await().atMost(Duration.ofSeconds(60)).until(() -> count(fake, "bq_bad_days") > 500);
            for (Status.Code code : List.of(Status.Code.RESOURCE_EXHAUSTED, Status.Code.UNAVAILABLE)) {
                fake.failAppends(code, Duration.ofSeconds(20));
                Instant began = Instant.now();
                await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                    var health = s.get(s.port(), "/health");
                    assertThat(health.statusCode()).isEqualTo(503);
                    assertThat(health.body()).contains(code.name());
                });
                long during = count(fake, "bq_bad_days");
                s.holdFor(Duration.ofSeconds(20), began);
                await().atMost(Duration.ofSeconds(60)).until(() -> count(fake, "bq_bad_days") > during);
                s.awaitHealthy(s.port(), Duration.ofSeconds(60));
            }
            // answers lost after the rows went in; a stream finalized and one dropped under the sink
            fake.loseAnswers(3);
            await().atMost(Duration.ofSeconds(30)).until(() -> p.output().contains("already; appending the rest"));
            // every lost answer settled (its resend answered) before a stream goes away under the sink: a
            // stream gone while an answer is unknown is the documented limit, not this scenario
            await().atMost(Duration.ofSeconds(30)).until(() -> fake.answersToLose() == 0);
            int settled = fake.appendsSeen();
            await().atMost(Duration.ofSeconds(30)).until(() -> fake.appendsSeen() > settled + 20);
            String finalized = fake.openStreams().get(0);
            fake.finalizeStream(finalized);
            await().atMost(Duration.ofSeconds(30)).until(() -> p.output().contains("replacing write stream " + finalized));
            String dropped = fake.openStreams().get(0);
            fake.deleteStream(dropped);
            long beforeDrop = count(fake, "bq_bad_days");
            await().atMost(Duration.ofSeconds(30)).until(() -> count(fake, "bq_bad_days") > beforeDrop + 100);
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(120));
            assertThat(fake.sql("SELECT count(*) - count(DISTINCT event_id) FROM bq_bad_days.engagement_events_enriched"))
                    .containsExactly(List.of(0L));
            s.report("faults", "RESOURCE_EXHAUSTED for 20 s, UNAVAILABLE for 20 s, 3 answers lost after the append, "
                    + "a stream finalized and a stream dropped under the sink, while events flow");
            s.report("failed_writes_retried", s.metric(s.port(), "pipeline_sink_failures_total", "sink=\"warehouse\""));
        }
    }

    private static long count(FakeBigQuery fake, String dataset) throws Exception {
        try {
            return ((Number) fake.sql("SELECT count(*) FROM " + dataset + ".engagement_events_enriched").get(0).get(0))
                    .longValue();
        } catch (java.sql.SQLException e) {
            return 0; // the table is not made yet
        }
    }

}
