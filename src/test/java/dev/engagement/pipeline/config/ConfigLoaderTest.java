package dev.engagement.pipeline.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigLoaderTest {

    @Test
    void defaultsDescribeALocalSetup() {
        PipelineConfig c = ConfigLoader.load(Map.of());
        assertThat(c.postgres().host()).isEqualTo("localhost");
        assertThat(c.postgres().port()).isEqualTo(5432);
        assertThat(c.kafka().bootstrapServers()).isEqualTo("localhost:9092");
        assertThat(c.kafka().partitions()).isEqualTo(6);
        assertThat(c.warehouse().kind()).isEqualTo(PipelineConfig.WarehouseKind.DUCKDB);
        assertThat(c.httpPort()).isEqualTo(8080);
        assertThat(c.processor().contentGracePeriod()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.redis().minuteTtl()).isEqualTo(Duration.ofHours(24));
        assertThat(c.externalApi().url()).isEmpty();
        assertThat(c.kafka().compression()).isEqualTo("lz4");
        assertThat(ConfigLoader.load(Map.of("KAFKA_COMPRESSION", "NONE")).kafka().compression()).isEqualTo("none");
    }

    @Test
    void reportsEveryProblemAtOnceEachNamingItsVariable() {
        assertThatThrownBy(() -> ConfigLoader.load(Map.of(
                "POSTGRES_PORT", "abc",
                "HTTP_PORT", "70000",
                "WAREHOUSE", "mysql",
                "KAFKA_BOOTSTRAP_SERVERS", "no-port",
                "LOG_LEVEL", "LOUD",
                "CONTENT_GRACE_PERIOD", "soon",
                "EXTERNAL_API_URL", "ftp://example.com",
                "KAFKA_COMPRESSION", "brotli")))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.problems()).hasSize(8);
                    assertThat(e.getMessage()).contains("8 problems")
                            .contains("KAFKA_COMPRESSION must be one of lz4, zstd, snappy, gzip, none, but was 'brotli'")
                            .contains("POSTGRES_PORT must be an integer between 1 and 65535, but was 'abc'")
                            .contains("HTTP_PORT must be between 1 and 65535, but was '70000'")
                            .contains("WAREHOUSE must be one of duckdb, bigquery, but was 'mysql'")
                            .contains("KAFKA_BOOTSTRAP_SERVERS").contains("LOG_LEVEL").contains("CONTENT_GRACE_PERIOD")
                            .contains("EXTERNAL_API_URL");
                });
    }

    @Test
    void neverEchoesASecretInAnError() {
        String token = "tok en-with-space-s3cr3t";
        assertThatThrownBy(() -> ConfigLoader.load(Map.of("EXTERNAL_API_TOKEN", token,
                "REDIS_URL", "http://:hunter2secret@redis:6379")))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.problems()).hasSize(2);
                    assertThat(e.getMessage()).contains("EXTERNAL_API_TOKEN").contains("REDIS_URL")
                            .doesNotContain("s3cr3t").doesNotContain("hunter2secret");
                });
    }

    @Test
    void secretsPrintHidden() {
        PipelineConfig c = ConfigLoader.load(Map.of("POSTGRES_PASSWORD", "pw-123456", "EXTERNAL_API_TOKEN", "tok-123456",
                "REDIS_URL", "redis://:redispw99@cache:6380/2"));
        assertThat(c.toString()).doesNotContain("pw-123456").doesNotContain("tok-123456").doesNotContain("redispw99");
        assertThat(c.redis().display()).isEqualTo("redis://cache:6380/2");
        assertThat(c.externalApi().token().toString()).isEqualTo("[hidden]");
    }

    @Test
    void componentsAddTheirOwnRequirements() {
        PipelineConfig c = ConfigLoader.load(Map.of("WAREHOUSE", "bigquery"));
        assertThat(c.problemsFor(Set.of(Component.HTTP, Component.WAREHOUSE))).containsExactly(
                "EXTERNAL_API_URL is required by the http component (or leave http out of --components)",
                "GOOGLE_CLOUD_PROJECT is required when WAREHOUSE=bigquery",
                "BIGQUERY_DATASET is required when WAREHOUSE=bigquery");
        assertThat(c.problemsFor(Set.of(Component.REDIS))).isEmpty();
    }

    @Test
    void environmentOverridesTheDotEnvFile(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve(".env"), """
                # comment
                export POSTGRES_HOST=db.internal
                HTTP_PORT="9090"
                LOG_LEVEL='debug'
                """);
        Map<String, String> fromFile = ConfigLoader.readDotEnv(dir.resolve(".env"));
        assertThat(fromFile).containsEntry("POSTGRES_HOST", "db.internal").containsEntry("HTTP_PORT", "9090")
                .containsEntry("LOG_LEVEL", "debug");
        PipelineConfig c = ConfigLoader.load(fromFile);
        assertThat(c.logLevel()).isEqualTo("DEBUG");
        Map<String, String> merged = ConfigLoader.environment(dir);
        assertThat(merged).containsEntry("POSTGRES_HOST", System.getenv().getOrDefault("POSTGRES_HOST", "db.internal"));
    }

    @Test
    void parsesHumanDurations() {
        assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(Durations.parse("30s")).isEqualTo(Duration.ofSeconds(30));
        assertThat(Durations.parse("5m")).isEqualTo(Duration.ofMinutes(5));
        assertThat(Durations.parse("24h")).isEqualTo(Duration.ofHours(24));
        assertThat(Durations.parse("7d")).isEqualTo(Duration.ofDays(7));
        assertThat(Durations.format(Duration.ofMinutes(10))).isEqualTo("10m");
        assertThatThrownBy(() -> Durations.parse("1 hour")).isInstanceOf(IllegalArgumentException.class);
    }
}
