package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.local.Ports;
import dev.engagement.pipeline.process.StreamProcessor;
import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.FaultSeeds;
import dev.engagement.pipeline.topic.KafkaClients;
import dev.engagement.pipeline.topic.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 16: the Redis and warehouse sinks are away while the rest runs on, and the records
 * they have not applied expire from engagement.enriched (retention, here deleteRecords). On their
 * return nothing is skipped quietly: the partitions stop, /health is unhealthy and names the
 * missing offsets, the gap metric counts them, and Redis does not move. An operator accepts the
 * gap (./pipeline accept-gap), the sinks resume, a backfill refills what was lost, and the oracle
 * is exact; the external API, which had every event, receives none of the backfill.
 */
class RetentionGapIT {
    @FaultSeeds(value = {17001, 17002, 17003, 17004, 17005}, quick = 1)
    void sinksAwayLongerThanRetentionStopLoudlyUntilTheGapIsAcceptedAndRefilled(long seed) throws Exception {
        try (Scenario s = Scenario.create("retention_gap", seed)) {
            s.startLoad(300, 2);
            PipelineProcess all = s.start();
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            long first = 500 + s.random.nextInt(500);
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() >= first);
            assertThat(all.terminate(60)).isIn(0, 143);

            int restPort = Ports.free();
            s.start(Map.of("HTTP_PORT", Integer.toString(restPort), "INSTANCE_ID", "rest",
                    "DATA_DIR", s.dir.resolve("data-rest").toString()), "run", "--components", "source,processor,http,api");
            long redisWhileAway = s.redisEvents();
            await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() ->
                    s.metric(restPort, "pipeline_sink_events_total", "sink=\"http\"") > 600);
            long expired = expireAll(s);

            PipelineProcess sinks = s.start(Map.of(), "run", "--components", "redis,warehouse,api");
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().untilAsserted(() -> {
                var health = s.get(s.port(), "/health");
                assertThat(health.statusCode()).isEqualTo(503);
                assertThat(health.body()).contains("\"status\":\"unhealthy\"")
                        .contains("records expired from engagement.enriched before this sink applied them");
                assertThat(s.metric(s.port(), "pipeline_sink_gap_records", "sink=\"redis\"")).isPositive();
                assertThat(s.metric(s.port(), "pipeline_sink_gap_records", "sink=\"warehouse\"")).isPositive();
            });
            assertThat(sinks.output()).contains("redis sink stops partition").contains("expired from the topic");
            await().during(Duration.ofSeconds(5)).atMost(Duration.ofSeconds(10))
                    .until(() -> s.redisEvents() == redisWhileAway); // nothing applied around the gap

            for (String stage : new String[] {"redis", "warehouse"}) {
                PipelineProcess accept = s.start(Map.of(), "accept-gap", "--stage", stage);
                assertThat(accept.waitFor(60)).as(accept.output()).isZero();
                assertThat(accept.output()).contains("is accepted as lost to the " + stage + " stage");
            }
            s.awaitHealthy(s.port(), Duration.ofSeconds(60));
            assertThat(sinks.output()).contains("redis sink: gap on partition").contains("accepted by an operator");
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() > redisWhileAway);

            long deliveredBeforeBackfill = s.receiver.deliveredEventCount();
            PipelineProcess backfill = s.start(Map.of(), "backfill");
            assertThat(backfill.waitFor(120)).as(backfill.output()).isZero();
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(180));
            assertThat(s.receiver.repeats()).as("the API had every event: the backfill sends it none again")
                    .containsEntry("new_key", 0L).containsEntry("same_key", 0L);
            s.report("faults", "redis and warehouse sinks away while " + expired + " records of engagement.enriched "
                    + "expired; gap reported, accepted, refilled by backfill");
            s.report("expired_records", expired);
            s.report("api_deliveries_during_backfill", s.receiver.deliveredEventCount() - deliveredBeforeBackfill);
        }
    }

    /**
     * Deletes what retention would: every record of engagement.enriched so far that the running
     * processor has read past (it reads the topic too, for foreign records); returns how many.
     */
    private static long expireAll(Scenario s) throws Exception {
        try (Admin admin = Admin.create(KafkaClients.admin(s.config))) {
            // the processor's reading of the topic may lag on a busy machine: wait until it has read past
            // where the away sinks stand on every partition, so that each has a gap to make
            var read = new java.util.concurrent.atomic.AtomicReference<Map<TopicPartition, OffsetAndMetadata>>();
            await().atMost(Duration.ofSeconds(90)).until(() -> {
                read.set(admin.listConsumerGroupOffsets(StreamProcessor.APPLICATION_ID)
                        .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS));
                Map<String, String> redis = redisPositions(s);
                for (int p = 0; p < s.config.kafka().partitions(); p++) {
                    OffsetAndMetadata at = read.get().get(new TopicPartition(Topics.ENRICHED, p));
                    long stored = Long.parseLong(redis.getOrDefault(Topics.ENRICHED + ":" + p, "0"));
                    if (at == null || at.offset() <= stored) {
                        return false;
                    }
                }
                return true;
            });
            Map<TopicPartition, OffsetAndMetadata> processor = read.get();
            Map<TopicPartition, RecordsToDelete> delete = new HashMap<>();
            long total = 0;
            for (int p = 0; p < s.config.kafka().partitions(); p++) {
                TopicPartition tp = new TopicPartition(Topics.ENRICHED, p);
                OffsetAndMetadata at = processor.get(tp);
                long upTo = at == null ? 0 : at.offset();
                delete.put(tp, RecordsToDelete.beforeOffset(upTo));
                total += upTo;
            }
            admin.deleteRecords(delete).all().get(30, TimeUnit.SECONDS);
            return total;
        }
    }

    /** The Redis sink's stored positions (field engagement.enriched:p). */
    private static Map<String, String> redisPositions(Scenario s) {
        try (var redis = new dev.engagement.pipeline.sink.redis.LazyRedis(s.config.redis())) {
            return redis.sync().hgetall("pipeline:redis:offsets");
        }
    }
}
