package dev.engagement.pipeline.sink.redis;

import dev.engagement.pipeline.config.PipelineConfig;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;

/**
 * A Redis connection opened on first use and re-opened after a failed attempt, so a Redis that is
 * down when the pipeline starts delays its work instead of preventing its start. A standalone
 * Redis (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES): the commands are the same, the
 * cluster client routes each by its key's slot and follows MOVED and ASK.
 */
public final class LazyRedis implements AutoCloseable {
    private final AbstractRedisClient client;
    private StatefulConnection<String, String> connection;

    public LazyRedis(PipelineConfig.Redis config) {
        this.client = config.cluster() ? RedisConnections.clusterClient(config) : RedisConnections.client(config);
    }

    public boolean cluster() {
        return client instanceof RedisClusterClient;
    }

    private StatefulConnection<String, String> connection() {
        if (connection == null || !connection.isOpen()) {
            connection = client instanceof RedisClusterClient c ? c.connect() : ((RedisClient) client).connect();
        }
        return connection;
    }

    public synchronized RedisClusterCommands<String, String> sync() {
        return connection() instanceof StatefulRedisClusterConnection<String, String> c ? c.sync()
                : ((StatefulRedisConnection<String, String>) connection()).sync();
    }

    public synchronized RedisClusterAsyncCommands<String, String> async() {
        return connection() instanceof StatefulRedisClusterConnection<String, String> c ? c.async()
                : ((StatefulRedisConnection<String, String>) connection()).async();
    }

    /** The cluster connection (its topology, its per-node connections); only in cluster mode. */
    public synchronized StatefulRedisClusterConnection<String, String> clusterConnection() {
        return (StatefulRedisClusterConnection<String, String>) connection();
    }

    /**
     * The keys matching {@code pattern}: KEYS on one Redis; on a cluster, KEYS on each master that
     * serves slots (a failed master, whose replica took its slots, is not asked). For tests and tools,
     * not for a hot path.
     */
    public synchronized java.util.List<String> keys(String pattern) {
        if (!cluster()) {
            return sync().keys(pattern);
        }
        java.util.List<String> out = new java.util.ArrayList<>();
        for (var node : servingMasters()) {
            out.addAll(clusterConnection().getConnection(node.getNodeId()).sync().keys(pattern));
        }
        return out;
    }

    /** The masters that serve slots now (a failed master whose replica took over serves none). */
    public synchronized java.util.List<io.lettuce.core.cluster.models.partitions.RedisClusterNode> servingMasters() {
        return clusterConnection().getPartitions().stream()
                .filter(n -> n.is(io.lettuce.core.cluster.models.partitions.RedisClusterNode.NodeFlag.UPSTREAM))
                .filter(n -> !n.getSlots().isEmpty())
                .toList();
    }

    @Override
    public synchronized void close() {
        if (connection != null) {
            connection.close();
        }
        client.shutdown();
    }
}
