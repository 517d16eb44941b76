package dev.engagement.pipeline.bench;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.model.EnrichedEvent;
import dev.engagement.pipeline.model.EventType;
import dev.engagement.pipeline.sink.warehouse.duckdb.DuckDbWarehouse;
import dev.engagement.pipeline.topic.KafkaClients;
import io.lettuce.core.LettuceFutures;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.duckdb.DuckDBAppender;
import org.duckdb.DuckDBConnection;

import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * What this machine's services take, each on its own, with nothing of the pipeline around them: the
 * broker (records the size of the real enriched ones produced with the pipeline's producer settings,
 * then consumed read_committed), Redis (one pipelined HINCRBY per event) and DuckDB (the appender
 * into a table of the warehouse's columns). Each sink's and the broker's figure in the report is a
 * ratio of one of these.
 */
final class Limits {
    private final PipelineConfig config;
    private final Path dir;
    private final PrintStream out;

    Limits(PipelineConfig config, Path dir, PrintStream out) {
        this.config = config;
        this.dir = dir;
        this.out = out;
    }

    Map<String, Object> run(long kafkaRecords, long redisEvents, long duckdbRows) throws Exception {
        out.println("limits: the broker, Redis and DuckDB, each on its own...");
        Map<String, Object> r = new LinkedHashMap<>();
        r.putAll(kafka(kafkaRecords));
        r.put("redis_pipelined_hincrby_per_s", redis(redisEvents));
        r.put("duckdb_appender_rows_per_s", duckdb(duckdbRows));
        out.println("  " + r);
        return r;
    }

    static EnrichedEvent sample(long id) {
        return new EnrichedEvent(id, new UUID(id * 31, id).toString(), "Introduction to Stream Processing", "video",
                1800, new UUID(id, id * 17).toString(), EventType.PAUSE, "2026-12-04T02:41:21.123456Z", 900_123L,
                new BigDecimal("50.01"), "mobile", "2026-12-04T02:41:21.223Z");
    }

    private Map<String, Object> kafka(long n) throws Exception {
        String topic = "bench.limit." + System.nanoTime();
        try (Admin admin = Admin.create(KafkaClients.admin(config))) {
            admin.createTopics(List.of(new NewTopic(topic, config.kafka().partitions(), config.kafka().replicationFactor())))
                    .all().get(30, TimeUnit.SECONDS);
        }
        byte[][] values = new byte[1000][];
        String[] keys = new String[values.length];
        for (int i = 0; i < values.length; i++) {
            EnrichedEvent e = sample(i);
            values[i] = e.toJson();
            keys[i] = e.contentId();
        }
        long t0 = System.nanoTime();
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(KafkaClients.producer(config, "bench-limit"))) {
            for (long i = 0; i < n; i++) {
                int k = (int) (i % values.length);
                producer.send(new ProducerRecord<>(topic, keys[k], values[k]));
            }
            producer.flush();
        }
        double produce = n / ((System.nanoTime() - t0) / 1e9);
        long t1 = System.nanoTime();
        long read = 0;
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(KafkaClients.reader(config, "bench-limit-reader"))) {
            var parts = KafkaClients.partitions(consumer, topic);
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
            while (read < n && System.nanoTime() < deadline) {
                ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(200));
                read += records.count();
            }
        }
        double consume = read / ((System.nanoTime() - t1) / 1e9);
        try (Admin admin = Admin.create(KafkaClients.admin(config))) {
            admin.deleteTopics(Set.of(topic)).all().get(30, TimeUnit.SECONDS);
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("kafka_produce_records_per_s", Math.round(produce));
        r.put("kafka_consume_records_per_s", Math.round(consume));
        r.put("kafka_record_bytes", values[0].length);
        return r;
    }

    private long redis(long n) {
        RedisClient client = RedisClient.create(config.redis().url().reveal());
        try (var c = client.connect()) {
            var async = c.async();
            c.setAutoFlushCommands(false);
            long t0 = System.nanoTime();
            List<RedisFuture<?>> pending = new ArrayList<>(1000);
            for (long i = 0; i < n; i++) {
                pending.add(async.hincrby("bench:limit:" + (i % 1000), "events", 1));
                if (pending.size() == 1000) {
                    c.flushCommands();
                    LettuceFutures.awaitAll(Duration.ofSeconds(30), pending.toArray(new RedisFuture<?>[0]));
                    pending.clear();
                }
            }
            c.flushCommands();
            LettuceFutures.awaitAll(Duration.ofSeconds(30), pending.toArray(new RedisFuture<?>[0]));
            long rate = Math.round(n / ((System.nanoTime() - t0) / 1e9));
            c.setAutoFlushCommands(true);
            for (int i = 0; i < 1000; i++) {
                c.sync().del("bench:limit:" + i);
            }
            return rate;
        } finally {
            client.shutdown();
        }
    }

    private long duckdb(long n) throws Exception {
        Files.createDirectories(dir);
        Path file = dir.resolve("limit-" + System.nanoTime() + ".duckdb");
        try (DuckDBConnection c = (DuckDBConnection) DriverManager.getConnection("jdbc:duckdb:" + file)) {
            try (Statement s = c.createStatement()) {
                s.execute(DuckDbWarehouse.DDL); // the warehouse's own table: the same columns and key
            }
            EnrichedEvent e = sample(1);
            long micros = System.currentTimeMillis() * 1000;
            BigDecimal seconds = BigDecimal.valueOf(e.engagementMs(), 3);
            long t0 = System.nanoTime();
            c.setAutoCommit(false);
            for (long done = 0; done < n; ) {
                long batch = Math.min(10_000, n - done);
                try (DuckDBAppender a = c.createAppender(DuckDBConnection.DEFAULT_SCHEMA, DuckDbWarehouse.TABLE)) {
                    for (long i = 0; i < batch; i++) {
                        a.beginRow();
                        a.append(done + i);
                        a.append(e.contentId());
                        a.append(e.contentTitle());
                        a.append(e.contentType());
                        a.append(e.contentLengthSeconds().intValue());
                        a.append(e.userId());
                        a.append(e.eventType().wire());
                        a.appendEpochMicros(micros);
                        a.append(seconds);
                        a.append(e.engagementPercentage());
                        a.append(e.device());
                        a.appendEpochMicros(micros);
                        a.endRow();
                    }
                }
                c.commit();
                done += batch;
            }
            return Math.round(n / ((System.nanoTime() - t0) / 1e9));
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(Path.of(file + ".wal"));
        }
    }
}
