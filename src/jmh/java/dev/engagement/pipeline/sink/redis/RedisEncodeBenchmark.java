package dev.engagement.pipeline.sink.redis;

import dev.engagement.pipeline.jmh.PerEventBenchmark;
import dev.engagement.pipeline.jmh.Records;
import dev.engagement.pipeline.model.EnrichedEvent;
import dev.engagement.pipeline.sink.SinkBatch;
import org.apache.kafka.common.TopicPartition;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Setup;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Each sink's shared first step (the enriched record parsed once) and the Redis sink's own encode
 * path: a batch of 500 turned into the apply script's arguments. Per event.
 */
public class RedisEncodeBenchmark extends PerEventBenchmark {
    private SinkBatch batch;
    private byte[][] values;
    private final Map<TopicPartition, String> epochs = Map.of(Records.PARTITION, "1");
    private final Instant now = Instant.parse("2026-12-04T02:41:30Z");

    @Setup
    public void setUp() throws Exception {
        batch = Records.batch();
        values = Records.enriched(Records.BATCH);
    }

    @Benchmark
    @OperationsPerInvocation(Records.BATCH)
    public int parseEnriched() throws Exception {
        int n = 0;
        for (byte[] v : values) {
            n += EnrichedEvent.parse(v).contentId().length();
        }
        return n;
    }

    @Benchmark
    @OperationsPerInvocation(Records.BATCH)
    public List<String> redisArguments() throws Exception {
        return RedisSink.encode(batch, epochs, now, 3600, new HashMap<>());
    }
}
