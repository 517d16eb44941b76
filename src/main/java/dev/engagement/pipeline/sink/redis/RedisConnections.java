package dev.engagement.pipeline.sink.redis;

import dev.engagement.pipeline.config.PipelineConfig;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.SslOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Lettuce client settings for the pipeline: fail fast while Redis is away, reconnect on their own;
 * TLS for rediss:// (the server's certificate checked against REDIS_CA_CERT, or the JDK's CAs, and
 * its host name), an ACL user from the URL; a cluster from its seed nodes.
 */
public final class RedisConnections {
    private RedisConnections() {
    }

    /** A client of the standalone Redis at REDIS_URL. */
    public static RedisClient client(PipelineConfig.Redis redis) {
        if (redis.cluster()) {
            throw new IllegalStateException("REDIS_CLUSTER_NODES is set: use clusterClient (or LazyRedis)");
        }
        RedisClient client = RedisClient.create(RedisURI.create(redis.url().reveal()));
        client.setOptions(ClientOptions.builder()
                .sslOptions(ssl(redis))
                .autoReconnect(true)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .socketOptions(socket())
                .timeoutOptions(TimeoutOptions.enabled(Duration.ofSeconds(10)))
                .build());
        return client;
    }

    /**
     * A client of the Redis Cluster seeded by REDIS_CLUSTER_NODES: the scheme, user and password
     * of REDIS_URL apply to every node (rediss:// for TLS). The topology is refreshed every 5 s and
     * at once on MOVED, ASK or repeated reconnects, so a resharding or a failover is followed. A
     * command to a node whose connection is (re)connecting waits for it, up to the command time-out
     * (the cluster client opens node connections on first use: rejecting would fail the first
     * commands to each node).
     */
    @SuppressWarnings("deprecation") // the adaptive triggers' builder methods are deprecated without a replacement yet
    public static RedisClusterClient clusterClient(PipelineConfig.Redis redis) {
        RedisURI base = RedisURI.create(redis.url().reveal());
        List<RedisURI> seeds = new ArrayList<>();
        for (String node : redis.clusterNodes()) {
            int colon = node.lastIndexOf(':');
            seeds.add(RedisURI.builder().withHost(node.substring(0, colon))
                    .withPort(Integer.parseInt(node.substring(colon + 1)))
                    .withSsl(base).withAuthentication(base).build());
        }
        RedisClusterClient client = RedisClusterClient.create(seeds);
        client.setOptions(ClusterClientOptions.builder()
                .sslOptions(ssl(redis))
                .autoReconnect(true)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.ACCEPT_COMMANDS)
                .socketOptions(socket())
                .timeoutOptions(TimeoutOptions.enabled(Duration.ofSeconds(10)))
                .maxRedirects(8)
                .validateClusterNodeMembership(false)
                .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
                        .enablePeriodicRefresh(Duration.ofSeconds(5))
                        .enableAllAdaptiveRefreshTriggers()
                        .adaptiveRefreshTriggersTimeout(Duration.ofSeconds(1))
                        .build())
                .build());
        return client;
    }

    private static SslOptions ssl(PipelineConfig.Redis redis) {
        SslOptions.Builder ssl = SslOptions.builder().jdkSslProvider();
        redis.caCert().ifPresent(ca -> ssl.trustManager(ca.toFile()));
        return ssl.build();
    }

    private static SocketOptions socket() {
        return SocketOptions.builder().connectTimeout(Duration.ofSeconds(2)).tcpNoDelay(true).build();
    }
}
