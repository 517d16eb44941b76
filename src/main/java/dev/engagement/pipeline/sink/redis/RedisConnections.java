package dev.engagement.pipeline.sink.redis;

import dev.engagement.pipeline.config.PipelineConfig;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.SslOptions;
import io.lettuce.core.TimeoutOptions;

import java.time.Duration;

/**
 * Lettuce client settings for the pipeline: fail fast while Redis is away, reconnect on their own;
 * TLS for rediss:// (the server's certificate checked against REDIS_CA_CERT, or the JDK's CAs, and
 * its host name), an ACL user from the URL.
 */
public final class RedisConnections {
    private RedisConnections() {
    }

    public static RedisClient client(PipelineConfig.Redis redis) {
        if (redis.cluster()) {
            throw new IllegalStateException("REDIS_CLUSTER_NODES is set: the Redis sink applies each batch in one "
                    + "script, which needs every key on one node; point REDIS_URL at a standalone Redis or a "
                    + "single-shard endpoint");
        }
        RedisURI uri = RedisURI.create(redis.url().reveal());
        RedisClient client = RedisClient.create(uri);
        SslOptions.Builder ssl = SslOptions.builder().jdkSslProvider();
        redis.caCert().ifPresent(ca -> ssl.trustManager(ca.toFile()));
        client.setOptions(ClientOptions.builder()
                .sslOptions(ssl.build())
                .autoReconnect(true)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .socketOptions(SocketOptions.builder().connectTimeout(Duration.ofSeconds(2)).tcpNoDelay(true).build())
                .timeoutOptions(TimeoutOptions.enabled(Duration.ofSeconds(10)))
                .build());
        return client;
    }
}
