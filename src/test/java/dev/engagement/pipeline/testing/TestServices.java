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

    /**
     * Drops a finished test's replication slot: the shared PostgreSQL has a bounded number of them
     * (and each one holds WAL), so a long run of seeds would otherwise run out.
     */
    public static void dropSlot(String slot) {
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20))
                .pollInterval(java.time.Duration.ofMillis(200)).until(() -> {
            try (java.sql.Connection c = dev.engagement.pipeline.db.Database.connect(superuser());
                 java.sql.PreparedStatement s = c.prepareStatement("SELECT active_pid FROM pg_replication_slots WHERE slot_name = ?")) {
                s.setString(1, slot);
                try (java.sql.ResultSet rs = s.executeQuery()) {
                    if (!rs.next()) {
                        return true;
                    }
                    Object pid = rs.getObject(1);
                    try (java.sql.Statement q = c.createStatement()) {
                        // the pipeline has stopped; a walsender still attached is a leftover of it
                        q.execute(pid == null ? "SELECT pg_drop_replication_slot('" + slot.replace("'", "''") + "')"
                                : "SELECT pg_terminate_backend(" + pid + ")");
                    }
                    return pid == null;
                }
            }
        });
    }

    public static void flushRedis() {
        io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create(redis().url());
        try (var connection = client.connect()) {
            connection.sync().flushall();
        } finally {
            client.shutdown();
        }
    }

    /** The shared PostgreSQL as its superuser, on its maintenance database: for setting up roles. */
    public static PipelineConfig.Postgres superuser() {
        return ConfigLoader.load(Map.of("POSTGRES_HOST", postgres().host(), "POSTGRES_PORT",
                Integer.toString(postgres().port()), "POSTGRES_USER", "postgres", "POSTGRES_DB", "postgres")).postgres();
    }

    public static PipelineConfig config(Map<String, String> env) {
        return ConfigLoader.load(env);
    }
}
