package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.generate.EventGenerator;
import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * One source transaction many times larger than every buffer the pipeline has (a 256 MiB heap,
 * DuckDB limited to 64 MiB, Kafka's 32 MiB producer buffers, the HTTP sink's 16 MiB a partition):
 * 300,000 events in one INSERT ... SELECT, about 200 MB of JSON on every hop. The process stays
 * within its memory budget, heap plus DuckDB plus the JVM's native share (README: Memory), and
 * every sink ends on the exact oracle.
 */
class BigTransactionIT {
    private static final long HEAP_MIB = 256;
    private static final long DUCKDB_MIB = 64;

    @Test
    void aTransactionFarLargerThanTheBuffersStaysWithinTheMemoryBudgetAndEndsExact() throws Exception {
        try (Scenario s = Scenario.create("big_transaction", 28001)) {
            PipelineProcess p = s.start(Map.of(PipelineProcess.TEST_JVM_XMX, HEAP_MIB + "m",
                    "DUCKDB_MEMORY_LIMIT_MIB", Long.toString(DUCKDB_MIB), "MALLOC_ARENA_MAX", "2"));
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            long idle = p.peakRssMib();
            EventGenerator generator = new EventGenerator(s.config.postgres(), s.seed);
            generator.ensureContent(40);
            generator.insertSelect(300_000, 300_000, n -> { });
            await().atMost(Duration.ofMinutes(4)).pollInterval(Duration.ofSeconds(1))
                    .until(() -> s.redisEvents() >= 290_000);
            s.awaitExact(s.port(), Duration.ofSeconds(180));
            long peak = p.peakRssMib();
            long budget = HEAP_MIB + DUCKDB_MIB + dev.engagement.pipeline.config.Memory.NATIVE_MIB;
            s.report("faults", "one INSERT ... SELECT of 300,000 events; heap " + HEAP_MIB + " MiB, DuckDB " + DUCKDB_MIB
                    + " MiB");
            s.report("rss_idle_mib", idle);
            s.report("rss_peak_mib", peak);
            s.report("budget_mib", budget);
            assertThat(peak).as("peak RSS (MiB) within heap + DuckDB + native budget").isPositive()
                    .isLessThanOrEqualTo(budget);
        }
    }
}
