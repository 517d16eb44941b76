package dev.engagement.pipeline.source;

import dev.engagement.pipeline.Pipeline;
import dev.engagement.pipeline.config.Component;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Schema;
import dev.engagement.pipeline.metrics.Meters;
import dev.engagement.pipeline.local.EmbeddedKafka;
import dev.engagement.pipeline.testing.ApiReceiver;
import dev.engagement.pipeline.testing.Oracle;
import dev.engagement.pipeline.testing.Sql;
import dev.engagement.pipeline.testing.TestServices;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Rows that exist only in PostgreSQL reach every sink through a backfill, and a second backfill counts nothing twice. */
class BackfillIT {

    @Test
    void backfillFillsEmptySinksExactlyAndIsIdempotent() throws Exception {
        try (EmbeddedKafka kafka = TestServices.kafka(); ApiReceiver receiver = new ApiReceiver()) {
            Map<String, String> env = new HashMap<>(TestServices.env("backfill_it", kafka));
            env.put("EXTERNAL_API_URL", receiver.url());
            PipelineConfig config = TestServices.config(env);
            Schema.init(config.postgres());
            long firstEvent;
            try (Sql sql = new Sql(config.postgres())) {
                UUID video = sql.content("Backfilled", "video", 600);
                UUID letter = sql.content("Letter", "newsletter", null);
                firstEvent = sql.event(video, "play", 1000);
                for (int i = 0; i < 300; i++) {
                    sql.event(i % 2 == 0 ? video : letter, i % 4 == 0 ? "click" : "pause", i % 4 == 0 ? null : 10 * i + 1);
                }
                sql.event(video, "play", -5);        // stays invalid on the way through a backfill too
            }
            Oracle oracle = new Oracle(config);
            PrometheusMeterRegistry registry = dev.engagement.pipeline.metrics.KafkaMeters.registry();
            try (Pipeline pipeline = Pipeline.start(config, EnumSet.of(Component.PROCESSOR, Component.REDIS,
                    Component.WAREHOUSE, Component.HTTP), registry)) {
                Backfill.Result first = new Backfill(config).run(null, null, n -> { });
                assertThat(first.content()).isEqualTo(2);
                assertThat(first.events()).isEqualTo(302);
                await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                    Oracle.Truth truth = oracle.truth();
                    assertThat(oracle.redisMismatches(truth)).isEmpty();
                    assertThat(Oracle.warehouseMismatches(truth, pipeline.warehouse().orElseThrow())).isEmpty();
                    assertThat(receiver.deliveredEventIds()).isEqualTo(truth.validIds());
                });

                long delivered = receiver.deliveredEventCount();
                Backfill.Result range = new Backfill(config).run(firstEvent, firstEvent + 99, n -> { });
                assertThat(range.events()).isEqualTo(100);
                // 75 of the 100 are valid: every sink recognises them, none applies or sends them again
                await().atMost(Duration.ofSeconds(60)).until(() ->
                        Meters.count(registry, "pipeline.sink.duplicates", "sink", "http") >= 75
                                && Meters.count(registry, "pipeline.sink.duplicates", "sink", "redis") >= 75
                                && Meters.count(registry, "pipeline.sink.duplicates", "sink", "warehouse") >= 75);
                assertThat(receiver.deliveredEventCount()).as("the API gets none of them again").isEqualTo(delivered);
                Oracle.Truth truth = oracle.truth();
                assertThat(oracle.redisMismatches(truth)).as("a second backfill counts nothing twice").isEmpty();
                assertThat(Oracle.warehouseMismatches(truth, pipeline.warehouse().orElseThrow())).isEmpty();
            }
        }
    }
}
