package dev.engagement.pipeline.sink.http;

import dev.engagement.pipeline.sink.SinkRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class BatchTest {
    private static final TopicPartition TP = new TopicPartition("engagement.enriched", 0);

    private static Batch of(String... values) {
        List<SinkRecord> records = new ArrayList<>();
        for (int i = 0; i < values.length; i++) {
            records.add(new SinkRecord(TP, i, 0, "c", values[i].getBytes(StandardCharsets.UTF_8), null));
        }
        return new Batch(TP, records);
    }

    @Test
    void splicesTheRecordsIntoOneJsonArrayOfExactlyTheirBytes() {
        assertThat(new String(of("{\"a\":1}", "{\"b\":\"é\"}", "{}").body(), StandardCharsets.UTF_8))
                .isEqualTo("[{\"a\":1},{\"b\":\"é\"},{}]");
        assertThat(new String(of("{\"a\":1}").body(), StandardCharsets.UTF_8)).isEqualTo("[{\"a\":1}]");
        assertThat(new String(of().body(), StandardCharsets.UTF_8)).isEqualTo("[]");
    }
}
