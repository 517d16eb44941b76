package dev.engagement.pipeline.sink.redis;

import dev.engagement.pipeline.config.PipelineConfig;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;

/**
 * A Redis connection opened on first use and re-opened after a failed attempt, so a Redis that is
 * down when the pipeline starts delays its work instead of preventing its start.
 */
public final class LazyRedis implements AutoCloseable {
    private final RedisClient client;
    private StatefulRedisConnection<String, String> connection;

    public LazyRedis(PipelineConfig.Redis config) {
        this.client = RedisConnections.client(config);
    }

    public synchronized RedisCommands<String, String> sync() {
        if (connection == null || !connection.isOpen()) {
            connection = client.connect();
        }
        return connection.sync();
    }

    @Override
    public synchronized void close() {
        if (connection != null) {
            connection.close();
        }
        client.shutdown();
    }
}
