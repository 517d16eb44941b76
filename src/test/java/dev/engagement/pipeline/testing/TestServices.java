package dev.engagement.pipeline.testing;

import dev.engagement.pipeline.config.ConfigLoader;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.local.EmbeddedKafka;
import dev.engagement.pipeline.local.LocalPostgres;
import dev.engagement.pipeline.local.LocalRedis;
import dev.engagement.pipeline.local.Ports;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Real services for integration tests, on loopback: one private PostgreSQL (logical WAL) and one
 * private Redis per test JVM, and a fresh in-JVM Kafka broker per test class. Nothing here relies
 * on anything started by hand.
 */
public final class TestServices {
    private static final Path ROOT = Path.of(System.getProperty("pipeline.it.dir", "target/it")).toAbsolutePath();
    private static final AtomicInteger SEQ = new AtomicInteger();
    private static LocalPostgres postgres;
    private static LocalRedis redis;

    private TestServices() {
    }

    public static synchronized LocalPostgres postgres() {
        if (postgres == null) {
            postgres = LocalPostgres.start(fresh("postgres"), Ports.free(), false);
            Runtime.getRuntime().addShutdownHook(new Thread(postgres::close));
        }
        return postgres;
    }

    public static synchronized LocalRedis redis() {
        if (redis == null) {
            redis = LocalRedis.start(fresh("redis"), Ports.free());
            Runtime.getRuntime().addShutdownHook(new Thread(redis::close));
        }
        return redis;
    }

    public static EmbeddedKafka kafka() {
        return EmbeddedKafka.start(fresh("kafka"), 0);
    }

    /** A new, empty directory under target/it. */
    public static Path fresh(String name) {
        Path dir = ROOT.resolve(name + "-" + ProcessHandle.current().pid() + "-" + SEQ.incrementAndGet());
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir;
    }

    /**
     * Settings for one test: its own database, slot and data directory, on the shared services.
     * The shared Redis is emptied: its state belongs to one pipeline at a time.
     */
    public static Map<String, String> env(String database, EmbeddedKafka kafka) {
        flushRedis();
        Map<String, String> env = new HashMap<>();
        env.put("POSTGRES_HOST", postgres().host());
        env.put("POSTGRES_PORT", Integer.toString(postgres().port()));
        env.put("POSTGRES_DB", database);
        env.put("POSTGRES_USER", "postgres");
        env.put("SOURCE_SLOT_NAME", "slot_" + database);
        env.put("SOURCE_PUBLICATION", "pub_" + database);
        env.put("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
        env.put("REDIS_URL", redis().url());
        Path data = fresh("data-" + database);
        env.put("DATA_DIR", data.toString());
        env.put("DUCKDB_PATH", data.resolve("warehouse.duckdb").toString());
        env.put("HTTP_PORT", Integer.toString(Ports.free()));
        return env;
    }

    public static void flushRedis() {
        io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create(redis().url());
        try (var connection = client.connect()) {
            connection.sync().flushall();
        } finally {
            client.shutdown();
        }
    }

    public static PipelineConfig config(Map<String, String> env) {
        return ConfigLoader.load(env);
    }
}
