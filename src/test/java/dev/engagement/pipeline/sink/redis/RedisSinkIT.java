package dev.engagement.pipeline.sink.redis;

import dev.engagement.pipeline.config.ConfigLoader;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.model.Decimals;
import dev.engagement.pipeline.model.EnrichedEvent;
import dev.engagement.pipeline.model.EventType;
import dev.engagement.pipeline.sink.FencedException;
import dev.engagement.pipeline.sink.SinkRecord;
import dev.engagement.pipeline.sink.TransactionalSink;
import dev.engagement.pipeline.testing.TestServices;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Random;

import static dev.engagement.pipeline.testing.Events.P0;
import static dev.engagement.pipeline.testing.Events.P1;
import static dev.engagement.pipeline.testing.Events.batch;
import static dev.engagement.pipeline.testing.Events.event;
import static dev.engagement.pipeline.testing.Events.record;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RedisSinkIT {
    /** Redis applies EXPIREAT with its own clock, so the sink's clock must be the real one. */
    private static final Instant NOW = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MINUTES).plusSeconds(45);
    private static final String SOURCE = "topic-id-1";
    private PipelineConfig.Redis config;
    private RedisClient client;
    private StatefulRedisConnection<String, String> connection;
    private RedisCommands<String, String> redis;

    @BeforeEach
    void setUp() {
        config = ConfigLoader.load(Map.of("REDIS_URL", TestServices.redis().url())).redis();
        client = RedisClient.create(TestServices.redis().url());
        connection = client.connect();
        redis = connection.sync();
        redis.flushall();
    }

    @AfterEach
    void tearDown() {
        connection.close();
        client.shutdown();
    }

    private RedisSink sink() {
        return new RedisSink(config, Clock.fixed(NOW, ZoneOffset.UTC));
    }

    @Test
    void sumsMillisecondsExactlyOverManyEventsAndCountsEachIdOnce() throws Exception {
        Random random = new Random(7);
        Map<String, Long> wantMs = new HashMap<>();
        Map<String, Long> wantEvents = new HashMap<>();
        try (RedisSink sink = sink()) {
            sink.claim(List.of(P0), SOURCE);
            long offset = 0;
            for (int batch = 0; batch < 40; batch++) {
                long start = offset;
                List<SinkRecord> records = new ArrayList<>();
                for (int i = 0; i < 500; i++) {
                    long id = batch * 500L + i + 1;
                    String content = "c" + random.nextInt(20);
                    long ms = random.nextInt(3_600_001); // any millisecond, so a float sum would drift
                    records.add(record(P0, offset++, event(id, content, EventType.PAUSE, ms, NOW.minusSeconds(30))));
                    wantMs.merge(content, ms, Long::sum);
                    wantEvents.merge(content, 1L, Long::sum);
                }
                // a redelivery of part of the previous batch rides along: it must not count
                if (batch > 0) {
                    for (int i = 0; i < 50; i++) {
                        long id = (batch - 1) * 500L + i + 1;
                        records.add(record(P0, offset++, event(id, "c0", EventType.PAUSE, 999L, NOW.minusSeconds(30))));
                    }
                }
                TransactionalSink.WriteResult r = sink.write(batch(records, Map.of(P0, start), Map.of(P0, offset)));
                assertThat(r.applied()).isEqualTo(500);
                assertThat(r.duplicates()).isEqualTo(batch > 0 ? 50 : 0);
            }
            assertThat(sink.claim(List.of(P0), SOURCE)).containsEntry(P0, OptionalLong.of(offset));
        }
        long total = 0;
        for (Map.Entry<String, Long> e : wantMs.entrySet()) {
            Map<String, String> h = redis.hgetall("content:" + e.getKey());
            assertThat(Long.parseLong(h.get("engagement_ms"))).isEqualTo(e.getValue());
            assertThat(new BigDecimal(h.get("engagement_seconds"))).isEqualByComparingTo(BigDecimal.valueOf(e.getValue(), 3));
            assertThat(Long.parseLong(h.get("events"))).isEqualTo(wantEvents.get(e.getKey()));
            assertThat(BigDecimal.valueOf(redis.zscore("rank:engagement", e.getKey())))
                    .isEqualByComparingTo(Decimals.seconds(e.getValue()));
            total += e.getValue();
        }
        Map<String, String> stats = redis.hgetall("stats:global");
        assertThat(stats).containsEntry("events", "20000").containsEntry("engagement_ms", Long.toString(total))
                .containsEntry("engagement_seconds", Decimals.seconds(total)).containsEntry("pause", "20000")
                .containsEntry("play", "0");
        String minute = "rank:engagement:" + dev.engagement.pipeline.model.Timestamps.minute(NOW.minusSeconds(30));
        assertThat(redis.zcard(minute)).isEqualTo(20);
        assertThat(redis.ttl(minute)).isPositive();
    }

    @Test
    void keepsContentMetadataAndTheLatestEventTime() throws Exception {
        try (RedisSink sink = sink()) {
            sink.claim(List.of(P0), SOURCE);
            EnrichedEvent later = event(2, "c", EventType.PLAY, 10L, Instant.parse("2025-08-10T14:30:59.5Z"));
            EnrichedEvent earlier = event(3, "c", EventType.CLICK, null, Instant.parse("2025-08-10T14:30:01Z"));
            assertThat(later.eventTs()).isEqualTo("2025-08-10T14:30:59.500Z");
            sink.write(batch(P0, 0, record(P0, 0, later), record(P0, 1, earlier)));
        }
        Map<String, String> h = redis.hgetall("content:c");
        assertThat(h).containsEntry("title", "Title c").containsEntry("type", "video").containsEntry("length_seconds", "1000")
                .containsEntry("events", "2").containsEntry("play", "1").containsEntry("click", "1")
                .containsEntry("finish", "0").containsEntry("engagement_seconds", "0.01")
                .containsEntry("last_event_ts", "2025-08-10T14:30:59.500Z");
    }

    @Test
    void perMinuteRanksOlderThanTheirLifetimeAreNotWritten() throws Exception {
        try (RedisSink sink = sink()) {
            sink.claim(List.of(P0), SOURCE);
            sink.write(batch(P0, 0, record(P0, 0, event(1, "c", EventType.PLAY, 1000L, NOW.minusSeconds(3 * 86_400)))));
        }
        assertThat(redis.keys("rank:engagement:*")).isEmpty();
        assertThat(redis.hget("content:c", "events")).isEqualTo("1");
    }

    @Test
    void refusesStateBuiltFromAnotherTopicInsteadOfSkippingEvents() throws Exception {
        try (RedisSink sink = sink()) {
            sink.claim(List.of(P0), SOURCE);
            sink.write(batch(P0, 0, record(P0, 0, event(1, "c", EventType.PLAY, 5L, NOW))));
        }
        try (RedisSink sink = sink()) {
            assertThatThrownBy(() -> sink.claim(List.of(P0), "topic-id-2"))
                    .isInstanceOf(dev.engagement.pipeline.sink.ForeignStateException.class)
                    .hasMessageContaining("topic-id-1").hasMessageContaining("topic-id-2");
        }
    }

    @Test
    void aStalledOwnerIsFencedOnceAnotherClaimsItsPartition() throws Exception {
        try (RedisSink old = sink(); RedisSink successor = sink()) {
            old.claim(List.of(P0, P1), SOURCE);
            old.write(batch(P0, 0, record(P0, 0, event(1, "c", EventType.PLAY, 5L, NOW))));

            assertThat(successor.claim(List.of(P0), SOURCE)).containsEntry(P0, OptionalLong.of(1));
            assertThatThrownBy(() -> old.write(batch(P0, 1, record(P0, 1, event(2, "c", EventType.PLAY, 7L, NOW)))))
                    .isInstanceOf(FencedException.class);
            // the partition it still owns is not affected
            old.write(batch(P1, 0, record(P1, 0, event(3, "c", EventType.PLAY, 11L, NOW))));
            successor.write(batch(P0, 1, record(P0, 1, event(2, "c", EventType.PLAY, 7L, NOW))));
        }
        assertThat(redis.hget("content:c", "engagement_ms")).isEqualTo("23");
        assertThat(redis.hget("content:c", "events")).isEqualTo("3");
    }

    @Test
    void aStaleWriteCarryingEventsTheNewOwnerHasNotAppliedIsRefusedByTheEpochNotAbsorbedByTheSeenSet()
            throws Exception {
        try (RedisSink old = sink(); RedisSink successor = sink()) {
            old.claim(List.of(P0), SOURCE);
            successor.claim(List.of(P0), SOURCE);
            // events 10 and 11 were never applied by anyone: only the epoch can refuse them
            assertThatThrownBy(() -> old.write(batch(P0, 0, record(P0, 0, event(10, "c", EventType.PLAY, 5L, NOW)),
                    record(P0, 1, event(11, "c", EventType.PLAY, 5L, NOW))))).isInstanceOf(FencedException.class);
            assertThat(redis.getbit("pipeline:seen:0", 10)).as("the refused write marked nothing as seen").isZero();
            assertThat(redis.exists("content:c", "stats:global")).isZero();
            assertThat(successor.write(batch(P0, 0, record(P0, 0, event(10, "c", EventType.PLAY, 5L, NOW)),
                    record(P0, 1, event(11, "c", EventType.PLAY, 5L, NOW)))).applied()).isEqualTo(2);
        }
    }

    @Test
    void aRedisThatWentBackInTimeRefusesTheBatchAndSaysWhereItStands() throws Exception {
        try (RedisSink sink = sink()) {
            sink.claim(List.of(P0, P1), SOURCE);
            sink.write(batch(P0, 0, record(P0, 0, event(1, "c", EventType.PLAY, 5L, NOW))));
            sink.write(batch(P1, 0, record(P1, 0, event(2, "c", EventType.PLAY, 5L, NOW))));
            // as if restored from a snapshot taken before P0 moved past offset 1: this instance thinks 3
            var rewind = org.assertj.core.api.Assertions.catchThrowableOfType(
                    dev.engagement.pipeline.sink.RewindException.class,
                    () -> sink.write(batch(List.of(record(P0, 3, event(4, "c", EventType.PLAY, 5L, NOW)),
                                    record(P1, 1, event(5, "c", EventType.PLAY, 5L, NOW))),
                            Map.of(P0, 3L, P1, 1L), Map.of(P0, 4L, P1, 2L))));
            assertThat(rewind.stored()).containsExactly(Map.entry(P0, 1L));
            assertThat(redis.hget("stats:global", "events")).as("nothing of the refused batch applied").isEqualTo("2");
            assertThat(redis.hget("pipeline:redis:offsets", "engagement.enriched:1")).isEqualTo("1");
        }
    }

    @Test
    void refusesARedisThatMayEvictKeysAndNamesThePolicy() throws Exception {
        redis.configSet("maxmemory-policy", "allkeys-lru");
        try (RedisSink sink = sink()) {
            assertThatThrownBy(sink::storeId).isInstanceOf(dev.engagement.pipeline.sink.StoreRefusedException.class)
                    .hasMessageContaining("maxmemory-policy allkeys-lru").hasMessageContaining("noeviction");
            assertThatThrownBy(() -> sink.claim(List.of(P0), SOURCE))
                    .isInstanceOf(dev.engagement.pipeline.sink.StoreRefusedException.class);
            redis.configSet("maxmemory-policy", "volatile-ttl");
            assertThat(sink.storeId()).as("volatile-* only warns").matches("[0-9a-f]{12}");
        } finally {
            redis.configSet("maxmemory-policy", "noeviction");
        }
    }

    @Test
    void idsAcrossTheWholeBigintRangeAreCountedOnceEachWithoutColliding() throws Exception {
        long[] ids = {(1L << 53), (1L << 53) + 1, (1L << 53) + 2, Long.MAX_VALUE, Long.MAX_VALUE - 1, 1L, -5L};
        try (RedisSink sink = sink()) {
            sink.claim(List.of(P0), SOURCE);
            List<SinkRecord> records = new ArrayList<>();
            for (int i = 0; i < ids.length; i++) {
                records.add(record(P0, i, event(ids[i], "big", EventType.PLAY, 10L, NOW)));
            }
            assertThat(sink.write(batch(records, Map.of(P0, 0L), Map.of(P0, (long) ids.length))).applied())
                    .as("doubles would merge 2^53 and 2^53+1").isEqualTo(ids.length);
            List<SinkRecord> again = new ArrayList<>();
            for (int i = 0; i < ids.length; i++) {
                again.add(record(P0, ids.length + i, event(ids[i], "big", EventType.PLAY, 10L, NOW)));
            }
            TransactionalSink.WriteResult second = sink.write(batch(again, Map.of(P0, (long) ids.length),
                    Map.of(P0, 2L * ids.length)));
            assertThat(second.applied()).isZero();
            assertThat(second.duplicates()).isEqualTo(ids.length);
        }
        assertThat(redis.hget("content:big", "events")).isEqualTo(String.valueOf(ids.length));
    }
}
