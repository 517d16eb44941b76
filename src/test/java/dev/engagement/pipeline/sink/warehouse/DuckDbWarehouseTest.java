package dev.engagement.pipeline.sink.warehouse;

import dev.engagement.pipeline.model.EventType;
import dev.engagement.pipeline.sink.SinkRecord;
import dev.engagement.pipeline.sink.TransactionalSink;
import dev.engagement.pipeline.sink.warehouse.duckdb.DuckDbWarehouse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

import static dev.engagement.pipeline.testing.Events.P0;
import static dev.engagement.pipeline.testing.Events.P1;
import static dev.engagement.pipeline.testing.Events.batch;
import static dev.engagement.pipeline.testing.Events.event;
import static dev.engagement.pipeline.testing.Events.record;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DuckDbWarehouseTest {
    private static final Instant TS = Instant.parse("2025-08-10T14:30:20.123456Z");

    @Test
    void keepsOneRowPerEventIdAndItsPositionAcrossReopening(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("w.duckdb");
        try (DuckDbWarehouse w = new DuckDbWarehouse(file)) {
            assertThat(w.claim(List.of(P0, P1), "topic-a")).containsEntry(P0, OptionalLong.empty());
            TransactionalSink.WriteResult first = w.write(batch(P0, 0,
                    record(P0, 0, event(1, "a", EventType.PLAY, 1500L, TS)),
                    record(P0, 1, event(2, "a", EventType.CLICK, null, TS)),
                    record(P0, 2, event(1, "a", EventType.PLAY, 1500L, TS))));
            assertThat(first).isEqualTo(new TransactionalSink.WriteResult(2, 1));
            TransactionalSink.WriteResult again = w.write(batch(P1, 0,
                    record(P1, 0, event(2, "a", EventType.CLICK, null, TS)),
                    record(P1, 1, event(3, "b", EventType.FINISH, 1000L, TS))));
            assertThat(again).isEqualTo(new TransactionalSink.WriteResult(1, 1));
        }
        try (DuckDbWarehouse w = new DuckDbWarehouse(file)) {
            assertThat(w.claim(List.of(P0, P1), "topic-a")).containsEntry(P0, OptionalLong.of(3)).containsEntry(P1, OptionalLong.of(2));
            var rows = select(w, "SELECT event_id, engagement_seconds, engagement_percentage, event_ts = TIMESTAMPTZ "
                    + "'2025-08-10 14:30:20.123456+00' FROM engagement_events_enriched ORDER BY event_id").rows();
            assertThat(rows).hasSize(3);
            assertThat(rows.get(0).get(1).toString()).isEqualTo("1.500");
            assertThat(rows.get(0).get(3)).isEqualTo(true);
            assertThat(rows.get(1).get(1)).isNull();
        }
    }

    @Test
    void refusesAWarehouseBuiltFromAnotherTopic(@TempDir Path dir) throws Exception {
        try (DuckDbWarehouse w = new DuckDbWarehouse(dir.resolve("w.duckdb"))) {
            w.claim(List.of(P0), "topic-a");
        }
        try (DuckDbWarehouse w = new DuckDbWarehouse(dir.resolve("w.duckdb"))) {
            assertThatThrownBy(() -> w.claim(List.of(P0), "topic-b"))
                    .isInstanceOf(dev.engagement.pipeline.sink.ForeignStateException.class)
                    .hasMessageContaining("topic-a");
            assertThat(w.claim(List.of(P0), "topic-a")).containsEntry(P0, OptionalLong.empty());
        }
    }

    @Test
    void aFailedBatchLeavesNeitherRowsNorPosition(@TempDir Path dir) throws Exception {
        try (DuckDbWarehouse w = new DuckDbWarehouse(dir.resolve("w.duckdb"))) {
            List<SinkRecord> bad = List.of(record(P0, 0, event(1, "a", EventType.PLAY, 1000L, TS)),
                    record(P0, 1, new dev.engagement.pipeline.model.EnrichedEvent(2, "a", "t", "video", 10, "u",
                            EventType.PLAY, "not a timestamp", 1L, null, "tv", null)));
            assertThatThrownBy(() -> w.write(batch(bad, Map.of(P0, 0L), Map.of(P0, 2L))))
                    .isInstanceOf(RuntimeException.class);
            assertThat(select(w, "SELECT count(*) FROM engagement_events_enriched").rows().get(0).get(0)).isEqualTo(0L);
            assertThat(w.claim(List.of(P0), "topic-a")).containsEntry(P0, OptionalLong.empty());
            assertThat(w.write(batch(P0, 0, record(P0, 0, event(1, "a", EventType.PLAY, 1000L, TS)))).applied())
                    .isEqualTo(1);
        }
    }

    private static Warehouse.QueryResult select(DuckDbWarehouse w, String sql) throws Exception {
        return w.select(sql, Warehouse.QueryLimits.GENEROUS);
    }

    /** Every way a person's SQL could try to change the warehouse, read another file or the settings. */
    static final List<String> WRITE_ATTEMPTS = List.of(
            "DELETE FROM engagement_events_enriched; COMMIT; SELECT 1",
            "DELETE FROM engagement_events_enriched",
            "UPDATE pipeline_offsets SET next_offset = 0",
            "INSERT INTO pipeline_source VALUES ('other')",
            "DROP TABLE engagement_events_enriched",
            "COMMIT; UPDATE pipeline_offsets SET next_offset = 0; SELECT 1",
            "ATTACH '/tmp/attacker.duckdb' AS attacker",
            "COPY engagement_events_enriched TO '/tmp/stolen.csv'",
            "EXPORT DATABASE '/tmp/stolen'",
            "SET threads = 1",
            "PRAGMA memory_limit = '1MB'",
            "SET enable_external_access = true",
            "CALL checkpoint()",
            "INSTALL httpfs",
            "SELECT * FROM read_text('/etc/hostname')",
            "SELECT * FROM read_csv('/etc/passwd')",
            "SELECT * FROM query('DELETE FROM engagement_events_enriched')",
            "SELECT 1; SELECT 2",
            "BEGIN TRANSACTION");

    @Test
    void peoplesQueriesChangeNothingAndReachNoOtherFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("w.duckdb");
        try (DuckDbWarehouse w = new DuckDbWarehouse(file)) {
            w.claim(List.of(P0), "topic-a");
            w.write(batch(P0, 0, record(P0, 0, event(1, "a", EventType.PLAY, 1000L, TS)),
                    record(P0, 1, event(2, "b", EventType.PAUSE, 2500L, TS))));
        }
        byte[] before = java.security.MessageDigest.getInstance("SHA-256").digest(java.nio.file.Files.readAllBytes(file));
        try (DuckDbWarehouse w = new DuckDbWarehouse(file)) {
            String digest = digest(w);
            for (String attempt : WRITE_ATTEMPTS) {
                assertThatThrownBy(() -> select(w, attempt)).as(attempt).isInstanceOf(Exception.class);
                assertThat(digest(w)).as("after " + attempt).isEqualTo(digest);
            }
            assertThat(select(w, "SELECT count(*) FROM engagement_events_enriched").rows().get(0).get(0)).isEqualTo(2L);
        }
        byte[] after = java.security.MessageDigest.getInstance("SHA-256").digest(java.nio.file.Files.readAllBytes(file));
        assertThat(after).as("the file, byte for byte").isEqualTo(before);
        assertThat(dir.resolve("stolen.csv")).doesNotExist();
        assertThat(Path.of("/tmp/stolen.csv")).doesNotExist();
    }

    @Test
    void aQueryIsCutAtItsRowLimitAndCancelledAtItsTimeLimit(@TempDir Path dir) throws Exception {
        try (DuckDbWarehouse w = new DuckDbWarehouse(dir.resolve("w.duckdb"))) {
            Warehouse.QueryResult cut = w.select("SELECT * FROM range(100)", new Warehouse.QueryLimits(
                    java.time.Duration.ofSeconds(10), 7));
            assertThat(cut.rows()).hasSize(7);
            assertThat(cut.truncated()).isTrue();
            assertThat(cut.toJson().get("truncated").asBoolean()).isTrue();
            assertThatThrownBy(() -> w.select("SELECT count(*) FROM range(100000000000) a",
                    new Warehouse.QueryLimits(java.time.Duration.ofMillis(300), 10)))
                    .isInstanceOf(Warehouse.RefusedQueryException.class).hasMessageContaining("cancelled");
        }
    }

    @Test
    void aSlowQueryDoesNotHoldTheWriterUp(@TempDir Path dir) throws Exception {
        try (DuckDbWarehouse w = new DuckDbWarehouse(dir.resolve("w.duckdb"))) {
            w.claim(List.of(P0), "topic-a");
            var started = new java.util.concurrent.atomic.AtomicBoolean();
            var slow = java.util.concurrent.CompletableFuture.runAsync(() -> {
                try {
                    started.set(true);
                    w.select("SELECT count(*) FROM range(100000000000) a",
                            new Warehouse.QueryLimits(java.time.Duration.ofSeconds(5), 10));
                } catch (Exception e) {
                    // cancelled at its limit
                }
            });
            org.awaitility.Awaitility.await().until(started::get);
            long t = System.nanoTime();
            w.write(batch(P0, 0, record(P0, 0, event(1, "a", EventType.PLAY, 1000L, TS))));
            assertThat((System.nanoTime() - t) / 1_000_000).as("ms for a write while a query runs").isLessThan(2000);
            assertThat(slow).as("the query was still running").isNotDone();
            slow.get(30, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    /** Every table's rows, hashed: equal digests, the same warehouse. */
    private static String digest(DuckDbWarehouse w) throws Exception {
        StringBuilder all = new StringBuilder();
        for (String table : List.of("engagement_events_enriched", "pipeline_offsets", "pipeline_source", "pipeline_store")) {
            all.append(select(w, "SELECT coalesce(md5(string_agg(t::VARCHAR, '|' ORDER BY t::VARCHAR)), '') FROM "
                    + table + " t").rows().get(0).get(0));
        }
        return all.toString();
    }

    @Test
    void refusesABatchThatDoesNotStartWhereTheFileStandsAndSaysWhereItIs(@TempDir Path dir) throws Exception {
        try (DuckDbWarehouse w = new DuckDbWarehouse(dir.resolve("w.duckdb"))) {
            w.claim(List.of(P0), "topic-a");
            w.write(batch(P0, 0, record(P0, 0, event(1, "a", EventType.PLAY, 1000L, TS))));
            // a file restored from a copy taken at offset 1, while the writer had gone on to offset 5
            assertThatThrownBy(() -> w.write(batch(P0, 5, record(P0, 5, event(6, "a", EventType.PLAY, 1000L, TS)))))
                    .isInstanceOfSatisfying(dev.engagement.pipeline.sink.RewindException.class,
                            e -> assertThat(e.stored()).containsEntry(P0, 1L));
            assertThat(select(w, "SELECT count(*) FROM engagement_events_enriched").rows().get(0).get(0)).isEqualTo(1L);
            assertThat(w.claim(List.of(P0), "topic-a")).containsEntry(P0, OptionalLong.of(1));
        }
    }

    @Test
    void keepsItsStoreIdentityAcrossReopening(@TempDir Path dir) throws Exception {
        String id;
        try (DuckDbWarehouse w = new DuckDbWarehouse(dir.resolve("w.duckdb"))) {
            id = w.storeId();
        }
        try (DuckDbWarehouse w = new DuckDbWarehouse(dir.resolve("w.duckdb"));
             DuckDbWarehouse other = new DuckDbWarehouse(dir.resolve("other.duckdb"))) {
            assertThat(w.storeId()).isEqualTo(id).matches("[0-9a-f]{12}");
            assertThat(other.storeId()).as("another file is another store").isNotEqualTo(id);
        }
    }
}
