package dev.engagement.pipeline.source;

import dev.engagement.pipeline.Pipeline;
import dev.engagement.pipeline.config.Component;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Schema;
import dev.engagement.pipeline.metrics.Meters;
import dev.engagement.pipeline.source.pg.SnapshotCopier;
import dev.engagement.pipeline.local.EmbeddedKafka;
import dev.engagement.pipeline.testing.ApiReceiver;
import dev.engagement.pipeline.testing.Oracle;
import dev.engagement.pipeline.testing.Sql;
import dev.engagement.pipeline.testing.TestServices;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Rows that exist only in PostgreSQL reach every sink through a backfill, each content's events at the
 * API in id order, and a second backfill counts nothing twice.
 */
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
                // enough events for the two copying connections to overlap, so an order across them would show
                sql.execute("INSERT INTO engagement_events (content_id, event_type, event_ts, duration_ms) SELECT "
                        + "CASE WHEN g % 2 = 0 THEN '" + video + "'::uuid ELSE '" + letter + "'::uuid END, 'pause', "
                        + "now(), g FROM generate_series(1, 5000) g");
                // the edges of the copier's split by content id, and a row with none (copied, then invalid)
                String[] edges = {"7fffffff-ffff-ffff-ffff-ffffffffffff", "80000000-0000-0000-0000-000000000000"};
                for (String edge : edges) {
                    sql.execute("INSERT INTO content (id, slug, title, content_type, length_seconds, publish_ts) "
                            + "VALUES ('" + edge + "', 'edge-" + edge + "', 'Edge', 'video', 60, now())");
                    sql.event(UUID.fromString(edge), "click", null);
                }
                sql.event(null, "play", 1000);
                assertPartsHoldEveryRowOnceInIdOrder(sql);
            }
            Oracle oracle = new Oracle(config);
            PrometheusMeterRegistry registry = dev.engagement.pipeline.metrics.KafkaMeters.registry();
            try (Pipeline pipeline = Pipeline.start(config, EnumSet.of(Component.PROCESSOR, Component.REDIS,
                    Component.WAREHOUSE, Component.HTTP), registry)) {
                Backfill.Result first = new Backfill(config).run(null, null, n -> { });
                assertThat(first.content()).isEqualTo(4);
                assertThat(first.events()).isEqualTo(5305);
                await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                    Oracle.Truth truth = oracle.truth();
                    assertThat(oracle.redisMismatches(truth)).isEmpty();
                    assertThat(Oracle.warehouseMismatches(truth, pipeline.warehouse().orElseThrow())).isEmpty();
                    assertThat(receiver.deliveredEventIds()).isEqualTo(truth.validIds());
                });
                List<String> late = receiver.outOfOrder();
                assertThat(late.stream().limit(10).toList())
                        .as("%d events reached the API after a later event of their content", late.size()).isEmpty();

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

    /** The copier's two parts of the events: together every row exactly once, each part in id order. */
    private static void assertPartsHoldEveryRowOnceInIdOrder(Sql sql) throws Exception {
        List<Long> all = ids(sql, "ORDER BY id");
        List<Long> parts = new ArrayList<>();
        for (String part : SnapshotCopier.eventParts(all.get(0), all.get(all.size() - 1))) {
            List<Long> ids = ids(sql, part);
            assertThat(ids).as(part).isNotEmpty().isSorted();
            parts.addAll(ids);
        }
        assertThat(parts).containsExactlyInAnyOrderElementsOf(all);
    }

    private static List<Long> ids(Sql sql, String clause) throws Exception {
        List<Long> ids = new ArrayList<>();
        for (Object[] row : sql.rows("SELECT id FROM engagement_events " + clause)) {
            ids.add((Long) row[0]);
        }
        return ids;
    }
}
