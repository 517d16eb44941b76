package dev.engagement.pipeline.source;

import io.debezium.engine.RecordChangeEvent;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class CompleteGroupsTest {

    private static RecordChangeEvent<SourceRecord> at(long lsn) {
        SourceRecord r = new SourceRecord(Map.of("server", "pipeline"), Map.of("lsn", lsn, "txId", 7L), "t", null, null);
        return () -> r;
    }

    private static RecordChangeEvent<SourceRecord> snapshotRead(long lsn) {
        SourceRecord r = new SourceRecord(Map.of("server", "pipeline"), Map.of("lsn", lsn, "snapshot", true), "t", null, null);
        return () -> r;
    }

    private static List<RecordChangeEvent<SourceRecord>> batch(long... lsns) {
        List<RecordChangeEvent<SourceRecord>> out = new ArrayList<>();
        for (long l : lsns) {
            out.add(at(l));
        }
        return out;
    }

    @Test
    void leavesTheTrailingGroupOfRowsThatShareAnLsnUnmarked() {
        assertThat(DebeziumSource.completeGroups(batch(10, 20, 30, 30, 30))).isEqualTo(2);
        assertThat(DebeziumSource.completeGroups(batch(10, 20, 30))).isEqualTo(2);
        assertThat(DebeziumSource.completeGroups(batch(30, 30, 30))).as("a batch inside one COPY").isZero();
        assertThat(DebeziumSource.completeGroups(batch())).isZero();
    }

    @Test
    void snapshotReadsAreAlwaysMarked() {
        assertThat(DebeziumSource.completeGroups(List.of(snapshotRead(5), snapshotRead(5), snapshotRead(5)))).isEqualTo(3);
    }
}
