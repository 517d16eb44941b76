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
            var rows = w.query("SELECT event_id, engagement_seconds, engagement_percentage, event_ts = TIMESTAMPTZ "
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
            assertThat(w.query("SELECT count(*) FROM engagement_events_enriched").rows().get(0).get(0)).isEqualTo(0L);
            assertThat(w.claim(List.of(P0), "topic-a")).containsEntry(P0, OptionalLong.empty());
            assertThat(w.write(batch(P0, 0, record(P0, 0, event(1, "a", EventType.PLAY, 1000L, TS)))).applied())
                    .isEqualTo(1);
        }
    }

    @Test
    void queriesForPeopleChangeNothingAndCannotReachOtherFiles(@TempDir Path dir) throws Exception {
        try (DuckDbWarehouse w = new DuckDbWarehouse(dir.resolve("w.duckdb"))) {
            w.write(batch(P0, 0, record(P0, 0, event(1, "a", EventType.PLAY, 1000L, TS))));
            w.queryReadOnly("DELETE FROM engagement_events_enriched");
            assertThat(w.query("SELECT count(*) FROM engagement_events_enriched").rows().get(0).get(0)).isEqualTo(1L);
            assertThatThrownBy(() -> w.queryReadOnly("SELECT * FROM read_text('/etc/hostname')"))
                    .hasMessageContaining("disabled");
        }
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
            assertThat(w.query("SELECT count(*) FROM engagement_events_enriched").rows().get(0).get(0)).isEqualTo(1L);
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
