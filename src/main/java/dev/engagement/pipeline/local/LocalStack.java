package dev.engagement.pipeline.local;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * Brings up what the demo needs and the settings do not point at: a private PostgreSQL with logical
 * WAL, a private Redis and an embedded Kafka broker, all under one directory, so that the demo's
 * whole state lives (and can be wiped) in one place and the machine's own services are untouched.
 */
public final class LocalStack implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LocalStack.class);

    private final Deque<AutoCloseable> started = new ArrayDeque<>();
    private final Map<String, String> overrides = new HashMap<>();

    private LocalStack() {
    }

    /**
     * @param env the settings as given (environment and .env): any service they name is used as is
     */
    public static LocalStack up(Map<String, String> env, Path dir) {
        LocalStack stack = new LocalStack();
        try {
            stack.start(env, dir);
        } catch (RuntimeException e) {
            stack.close();
            throw e;
        }
        return stack;
    }

    private void start(Map<String, String> env, Path dir) {
        if (!env.containsKey("POSTGRES_HOST")) {
            LocalPostgres.stopStale(dir.resolve("postgres"));
            int port = Ports.open("127.0.0.1", 54329) ? Ports.free() : 54329;
            LocalPostgres pg = LocalPostgres.start(dir.resolve("postgres"), port, true);
            started.push(pg);
            overrides.put("POSTGRES_HOST", pg.host());
            overrides.put("POSTGRES_PORT", Integer.toString(pg.port()));
            overrides.put("POSTGRES_USER", "postgres");
        }
        if (!env.containsKey("REDIS_URL") && !env.containsKey("REDIS_CLUSTER_NODES")) {
            LocalRedis.stopStale(dir.resolve("redis"));
            int port = Ports.open("127.0.0.1", 63799) ? Ports.free() : 63799;
            LocalRedis redis = LocalRedis.start(dir.resolve("redis"), port);
            started.push(redis);
            overrides.put("REDIS_URL", redis.url());
        }
        if (!env.containsKey("KAFKA_BOOTSTRAP_SERVERS")) {
            EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"), Ports.open("127.0.0.1", 9092) ? 0 : 9092);
            started.push(kafka);
            overrides.put("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
        }
        LOG.info("local services ready: {}", overrides);
    }

    /** The settings that point at the services started here. */
    public Map<String, String> overrides() {
        return Map.copyOf(overrides);
    }

    @Override
    public void close() {
        while (!started.isEmpty()) {
            try {
                started.pop().close();
            } catch (Exception e) {
                LOG.warn("stopping a local service: {}", e.getMessage());
            }
        }
    }
}
