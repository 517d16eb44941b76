package dev.engagement.pipeline.sink.redis;

import dev.engagement.pipeline.config.ConfigLoader;
import dev.engagement.pipeline.model.EnrichedEvent;
import dev.engagement.pipeline.model.EventType;
import dev.engagement.pipeline.sink.SinkBatch;
import dev.engagement.pipeline.sink.SinkRecord;
import io.lettuce.core.cluster.SlotHash;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** The split of a batch by hash slot, without a cluster: every part's keys lie in the part's slot. */
class RedisClusterSinkTest {
    @Test
    void everySlotHasATagThatHashesToIt() {
        for (int slot = 0; slot < SlotHash.SLOT_COUNT; slot++) {
            assertThat(SlotHash.getSlot(RedisClusterSink.meta(slot))).isEqualTo(slot);
        }
    }

    @Test
    void everyPartOfABatchKeepsItsKeysInOneSlot() throws Exception {
        Instant now = Instant.parse("2026-12-04T18:00:00Z");
        var config = ConfigLoader.load(Map.of("REDIS_CLUSTER_NODES", "127.0.0.1:1")).redis();
        try (RedisClusterSink sink = new RedisClusterSink(config, Clock.fixed(now, ZoneOffset.UTC))) {
            TopicPartition p0 = new TopicPartition("engagement.enriched", 0);
            TopicPartition p1 = new TopicPartition("engagement.enriched", 1);
            List<SinkRecord> records = new ArrayList<>();
            java.util.Random random = new java.util.Random(7);
            for (int i = 0; i < 500; i++) {
                String content = new UUID(random.nextLong(), random.nextInt(40)).toString();
                Instant ts = now.minusSeconds(random.nextInt(7200));
                records.add(new SinkRecord(i % 2 == 0 ? p0 : p1, i, 0, content, new byte[0], new EnrichedEvent(
                        (1L << 40) + i * 7919L, content, "t", "video", 600, null, EventType.values()[i % 4],
                        ts.toString(), (long) (i * 37), null, "tv", now.toString())));
            }
            sink.expectNothingFor(List.of(p0, p1));
            var plan = sink.plan(new SinkBatch(records, Map.of(p0, 0L, p1, 1L), Map.of(p0, 500L, p1, 500L)), now);
            assertThat(plan.slots).hasSizeGreaterThan(10);
            List<RedisClusterSink.Part> parts = new ArrayList<>(plan.slots.values());
            parts.add(plan.rank);
            parts.add(plan.stats);
            for (RedisClusterSink.Part part : parts) {
                for (String key : part.keyArray()) {
                    assertThat(SlotHash.getSlot(key)).as(key).isEqualTo(part.slot);
                }
            }
            for (RedisClusterSink.Part part : plan.slots.values()) {
                for (String key : part.keyArray()) {
                    assertThat(key).matches("content:.*|pipeline:(redis:slot|seen|minute-ms):\\{.*");
                }
            }
        }
    }
}
