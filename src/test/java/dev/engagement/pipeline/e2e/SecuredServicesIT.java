package dev.engagement.pipeline.e2e;

import dev.engagement.pipeline.local.EmbeddedKafka;
import dev.engagement.pipeline.local.LocalPostgres;
import dev.engagement.pipeline.local.LocalRedis;
import dev.engagement.pipeline.local.Ports;
import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.TestServices;
import dev.engagement.pipeline.testing.Tls;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The pipeline end to end over secured services, as production runs them: a broker that only
 * speaks SASL_SSL, a PostgreSQL that only takes TLS connections (checked with verify-full), a
 * Redis that only speaks TLS and knows an ACL user and no default user. The test makes its own CA
 * and certificates. The oracle is exact; verify-full against a name the certificate does not carry
 * fails at start with a clear error; no secret shows in logs, /health or /metrics.
 */
class SecuredServicesIT {
    private static final String STORE_PASSWORD = "store-canary-51d";
    private static final String KAFKA_PASSWORD = "kafka-canary-8b2e";
    private static final String REDIS_PASSWORD = "redis-canary-3f7a";

    @Test
    void thePipelineRunsOverSaslSslTlsAndAnAclUserWithTheExactOracle() throws Exception {
        Path dir = TestServices.fresh("secured");
        Tls tls = Tls.authority(dir.resolve("tls"), STORE_PASSWORD);
        Tls.Server localhost = tls.server("localhost", "localhost"); // this name only: not 127.0.0.1
        int kafkaPort = Ports.free();
        int redisPort = Ports.free();
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"), 0, new EmbeddedKafka.Secured(kafkaPort,
                localhost.keyStore(), STORE_PASSWORD, Map.of("pipeline", KAFKA_PASSWORD)));
             LocalPostgres pg = LocalPostgres.start(dir.resolve("pg"), Ports.free(), false,
                     new LocalPostgres.Tls(localhost.cert(), localhost.key()));
             LocalRedis redis = LocalRedis.start(dir.resolve("redis"), redisPort, List.of("--port", "0",
                     "--tls-port", Integer.toString(redisPort), "--tls-cert-file", localhost.cert().toString(),
                     "--tls-key-file", localhost.key().toString(), "--tls-ca-cert-file", tls.caCert.toString(),
                     "--tls-auth-clients", "no", "--user", "default", "off",
                     "--user", "pipeline", "on", ">" + REDIS_PASSWORD,
                     // the narrow grant the README gives: the pipeline's keys, reads, writes, scripts
                     "~content:*", "~rank:*", "~stats:global", "~pipeline:*",
                     "+@read", "+@write", "+@scripting", "+info", "+ping"))) {
            assertThat(redis.port()).isEqualTo(redisPort);
            assertThat(kafka.port()).as("the plain listener, for the broker itself").isNotEqualTo(kafkaPort);
            Path client = dir.resolve("client.properties");
            Files.writeString(client, String.join("\n",
                    "security.protocol=SASL_SSL",
                    "sasl.mechanism=PLAIN",
                    "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required "
                            + "username=\"pipeline\" password=\"" + KAFKA_PASSWORD + "\";",
                    "ssl.truststore.type=PEM",
                    "ssl.truststore.location=" + tls.caCert.toAbsolutePath(), ""));
            Map<String, String> secured = new HashMap<>(Map.of(
                    "KAFKA_CLIENT_CONFIG", client.toString(),
                    "POSTGRES_HOST", "localhost",
                    "POSTGRES_PORT", Integer.toString(pg.port()),
                    "POSTGRES_SSLMODE", "verify-full",
                    "POSTGRES_SSLROOTCERT", tls.caCert.toString(),
                    "REDIS_URL", "rediss://pipeline:" + REDIS_PASSWORD + "@localhost:" + redisPort,
                    "REDIS_CA_CERT", tls.caCert.toString()));
            try (Scenario s = Scenario.onBroker("secured", 21001, "localhost:" + kafkaPort, secured)) {
                s.startLoad(200, 2);
                PipelineProcess pipeline = s.start();
                s.awaitHealthy(s.port(), Duration.ofSeconds(120));
                s.stopLoad();
                s.awaitExact(s.port(), Duration.ofSeconds(120));

                PipelineProcess wrongName = s.start(Map.of("POSTGRES_HOST", "127.0.0.1",
                        "HTTP_PORT", Integer.toString(Ports.free()), "DATA_DIR", s.dir.resolve("data-wrong").toString()),
                        "run", "--components", "source");
                assertThat(wrongName.waitFor(90)).isNotZero();
                assertThat(wrongName.output()).contains("TLS to PostgreSQL 127.0.0.1:" + pg.port())
                        .contains("POSTGRES_SSLMODE=verify-full").contains("name the host 127.0.0.1");

                String exposed = pipeline.output() + wrongName.output() + s.get(s.port(), "/health").body()
                        + s.get(s.port(), "/metrics").body();
                for (String secret : List.of(KAFKA_PASSWORD, REDIS_PASSWORD, STORE_PASSWORD)) {
                    assertThat(exposed).as("a secret").doesNotContain(secret);
                }
                assertThat(s.get(s.port(), "/health").body()).contains("SASL_SSL").contains("rediss://localhost");
                s.report("faults", "none: SASL_SSL broker, PostgreSQL with ssl=on (verify-full), Redis TLS with an ACL user");
            }
        }
    }
}
