package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;
import org.junit.jupiter.params.ParameterizedTest;
import dev.engagement.pipeline.testing.Seeds;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Scenario 2: the process dies exactly between a write and its commit, at named fault points:
 * inside the warehouse's transaction before COMMIT, after the Redis script but before the Kafka
 * commit, after the API accepted a batch but before its offset moved, and after the Debezium source
 * (SOURCE=debezium) wrote a batch to Kafka but before Debezium could store its position.
 */
class CrashBetweenWriteAndCommitIT {

    /** Five fixed seeds per crash point; ./pipeline test runs the first of each, --all-seeds every one. */
    static final long[] SEEDS = {1001, 2002, 3003, 4004, 5005};

    static Stream<Arguments> points() {
        String[][] points = {
                {"warehouse.before-commit@6", "warehouse_commit"},
                {"redis.after-write@6", "redis_commit"},
                {"http.after-delivery@6", "http_commit"},
                {"http.after-settle@6", "http_settled"},
                {"source.after-send@120", "source_commit"}};
        return Seeds.pick(SEEDS, 1).boxed().flatMap(seed -> Stream.of(points)
                .map(p -> Arguments.of(p[0], p[1], seed)));
    }

    @ParameterizedTest(name = "{0} seed {2}")
    @MethodSource("points")
    void countsEachEventOnceWhenKilledBetweenWriteAndCommit(String point, String name, long seed) throws Exception {
        // the source point is the Debezium source's: the native one has its own crash scenario (21)
        Map<String, String> env = point.startsWith("source") ? Map.of("SOURCE", "debezium") : Map.of();
        try (Scenario s = Scenario.create(name, seed, env)) {
            s.startLoad(300, 2);
            PipelineProcess doomed = s.start(Map.of("PIPELINE_TEST_FAULT", point + ":halt"));
            assertThat(doomed.waitFor(120)).as(doomed.output()).isEqualTo(137);
            assertThat(doomed.output()).contains("fault point " + point.substring(0, point.indexOf('@')));
            long before = s.redisEvents();
            Instant restart = Instant.now();
            s.start();
            Duration flow = s.awaitFlow(restart, before, Duration.ofSeconds(60));
            s.awaitHealthy(s.port(), Duration.ofSeconds(60));
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(120));
            s.report("faults", "halt at " + point + " (as kill -9), then restart");
            s.report("restart_to_flow_ms", flow.toMillis());
            if (point.startsWith("http.after-delivery")) {
                double redelivered = s.metric(s.port(), "pipeline_http_redeliveries_total", null);
                s.report("redelivery_metric", redelivered);
                assertThat(redelivered).as("the batch in flight at the crash is sent again and counted").isPositive();
                assertThat(s.receiver.repeats().get("new_key")).as("resent with the same Idempotency-Key").isZero();
            }
            if (point.startsWith("source")) {
                double dropped = s.metric(s.port(), "pipeline_source_repeats_total", null);
                s.report("source_repeats_dropped", dropped);
                // on a slow start the pass falls inside the snapshot, which the restart takes again from
                // scratch: nothing is sent twice then, and only the oracle and the CDC topic can be checked
                boolean streamed = doomed.output().contains("change data capture is now streaming changes");
                s.report("fault_in", streamed ? "streaming" : "snapshot");
                if (streamed) {
                    assertThat(dropped).as("changes Debezium sent again were recognised").isPositive();
                }
                assertThat(s.cdcRepeats()).as("each streamed change once in the CDC topic").isZero();
            }
        }
    }
}
