package dev.engagement.pipeline.local;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.Feature;
import org.apache.kafka.server.common.MetadataVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * A single-node KRaft broker (combined broker and controller) running inside this JVM, from the
 * Kafka server artifacts: no download, no Docker. For development, demos and tests.
 */
public final class EmbeddedKafka implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);

    private final KafkaRaftServer server;
    private final int port;

    private EmbeddedKafka(KafkaRaftServer server, int port) {
        this.server = server;
        this.port = port;
    }

    /**
     * A SASL_SSL listener beside the plain one, as managed Kafka offers: TLS with the key store,
     * SASL/PLAIN with these users (name to password). Advertised as {@code localhost}, the name its
     * certificate must carry.
     */
    public record Secured(int port, Path keyStore, String keyStorePassword, Map<String, String> users) {
    }

    /** Starts a broker on {@code port} (0: any free port) with its log in {@code dataDir}. */
    public static EmbeddedKafka start(Path dataDir, int port) {
        return start(dataDir, port, null);
    }

    /** As {@link #start(Path, int)}, with a SASL_SSL listener too when {@code secured} is given. */
    public static EmbeddedKafka start(Path dataDir, int port, Secured secured) {
        int brokerPort = port == 0 ? Ports.free() : port;
        int controllerPort = Ports.free();
        Path logDir = dataDir.toAbsolutePath().resolve("log");
        Properties props = new Properties();
        props.put("process.roles", "broker,controller");
        props.put("node.id", "1");
        props.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        props.put("listeners", "PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
        props.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort);
        props.put("controller.listener.names", "CONTROLLER");
        props.put("inter.broker.listener.name", "PLAINTEXT");
        props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        if (secured != null) {
            props.put("listeners", props.get("listeners") + ",SASL_SSL://127.0.0.1:" + secured.port());
            props.put("advertised.listeners", props.get("advertised.listeners") + ",SASL_SSL://localhost:"
                    + secured.port());
            props.put("listener.security.protocol.map", props.get("listener.security.protocol.map")
                    + ",SASL_SSL:SASL_SSL");
            props.put("sasl.enabled.mechanisms", "PLAIN");
            StringBuilder jaas = new StringBuilder("org.apache.kafka.common.security.plain.PlainLoginModule required");
            secured.users().forEach((user, password) -> jaas.append(" user_").append(user).append("=\"")
                    .append(password).append('"'));
            props.put("listener.name.sasl_ssl.plain.sasl.jaas.config", jaas.append(';').toString());
            props.put("ssl.keystore.location", secured.keyStore().toAbsolutePath().toString());
            props.put("ssl.keystore.type", "PKCS12");
            props.put("ssl.keystore.password", secured.keyStorePassword());
            props.put("ssl.key.password", secured.keyStorePassword());
        }
        props.put("log.dirs", logDir.toString());
        props.put("num.partitions", "6");
        props.put("default.replication.factor", "1");
        props.put("min.insync.replicas", "1");
        props.put("offsets.topic.replication.factor", "1");
        props.put("offsets.topic.num.partitions", "6");
        props.put("transaction.state.log.replication.factor", "1");
        props.put("transaction.state.log.min.isr", "1");
        props.put("transaction.state.log.num.partitions", "6");
        props.put("share.coordinator.state.topic.replication.factor", "1");
        props.put("share.coordinator.state.topic.min.isr", "1");
        props.put("group.initial.rebalance.delay.ms", "0");
        // abort the open transactions of dead producers promptly (default: checked every 10 s)
        props.put("transaction.abort.timed.out.transaction.cleanup.interval.ms", "1000");
        props.put("group.min.session.timeout.ms", "2000");
        props.put("auto.create.topics.enable", "false");
        props.put("message.max.bytes", Integer.toString(dev.engagement.pipeline.topic.Topics.MAX_MESSAGE_BYTES + 1024));
        props.put("log.retention.hours", "168");
        props.put("log.segment.bytes", Integer.toString(256 * 1024 * 1024));

        try {
            Files.createDirectories(logDir);
            KafkaConfig config = KafkaConfig.fromProps(props, false);
            if (!Files.exists(logDir.resolve("meta.properties"))) {
                new Formatter()
                        .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                        .setNodeId(1)
                        .setClusterId(Uuid.randomUuid().toString())
                        .setDirectories(List.of(logDir.toString()))
                        .setMetadataLogDirectory(logDir.toString())
                        .setReleaseVersion(MetadataVersion.latestProduction())
                        .setSupportedFeatures(Feature.PRODUCTION_FEATURES)
                        .setUnstableFeatureVersionsEnabled(false)
                        .setIgnoreFormatted(true)
                        .setControllerListenerName("CONTROLLER")
                        .run();
            }
            KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
            server.startup();
            EmbeddedKafka kafka = new EmbeddedKafka(server, brokerPort);
            kafka.awaitReady(Duration.ofSeconds(60));
            LOG.info("embedded Kafka broker is up on {}", kafka.bootstrapServers());
            return kafka;
        } catch (Exception e) {
            throw new IllegalStateException("cannot start the embedded Kafka broker: " + e.getMessage(), e);
        }
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    private void awaitReady(Duration timeout) throws InterruptedException {
        Instant deadline = Instant.now().plus(timeout);
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000, AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000))) {
            while (true) {
                try {
                    if (!admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).isEmpty()) {
                        return;
                    }
                } catch (Exception e) {
                    if (Instant.now().isAfter(deadline)) {
                        throw new IllegalStateException("broker not ready after " + timeout.toSeconds() + " s", e);
                    }
                }
                Thread.sleep(50);
            }
        }
    }

    @Override
    public void close() {
        server.shutdown();
        server.awaitShutdown();
    }

    /** Blocks until the broker shuts down (for the foreground {@code kafka} command). */
    public void awaitShutdown() {
        server.awaitShutdown();
    }
}
