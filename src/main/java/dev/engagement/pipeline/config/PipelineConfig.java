package dev.engagement.pipeline.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The whole configuration, immutable, validated once at start-up ({@link ConfigLoader}). */
public record PipelineConfig(Postgres postgres, Kafka kafka, Redis redis, Warehouse warehouse,
                             ExternalApi externalApi, Processor processor, Http http, String logLevel,
                             Path dataDir, Optional<String> instanceId) {

    /** TLS to PostgreSQL, with libpq's meanings. */
    public enum SslMode {
        DISABLE, REQUIRE, VERIFY_FULL;

        public String wire() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    public record Postgres(String host, int port, String database, String user, Secret password, String slotName,
                           String publication, SslMode sslMode, Optional<Path> sslRootCert, SourceKind source) {
        public String jdbcUrl() {
            return jdbcUrl(database);
        }

        public String jdbcUrl(String db) {
            return "jdbc:postgresql://" + host + ":" + port + "/" + db;
        }

        /** Where, without who: the user name stays out of logs and /health. */
        @Override
        public String toString() {
            return host + ":" + port + "/" + database;
        }
    }

    /**
     * @param clientConfig the properties of KAFKA_CLIENT_CONFIG (security.protocol, sasl.*, ssl.*), for
     *                     every client; empty when not set
     */
    public record Kafka(String bootstrapServers, int partitions, short replicationFactor,
                        Map<String, String> clientConfig, String compression) {
        /** The compression types Kafka's producer knows. */
        public static final java.util.List<String> COMPRESSIONS = java.util.List.of("lz4", "zstd", "snappy", "gzip", "none");

        public Kafka {
            clientConfig = Map.copyOf(clientConfig);
        }

        @Override
        public String toString() {
            return bootstrapServers + (clientConfig.containsKey("security.protocol")
                    ? " (" + clientConfig.get("security.protocol") + ")" : "");
        }
    }

    /** The HTTP server: where it listens, who may query the warehouse, and within which limits. */
    public record Http(String bind, int port, Secret adminToken, Duration queryTimeout, int queryMaxRows,
                       int queryMaxBytes) {
    }

    public record Redis(Secret url, List<String> clusterNodes, Duration minuteTtl, Optional<Path> caCert) {
        public boolean cluster() {
            return !clusterNodes.isEmpty();
        }

        /** Where Redis is, without its password. */
        public String display() {
            if (cluster()) {
                return "cluster " + String.join(",", clusterNodes);
            }
            URI uri = URI.create(url.reveal());
            return uri.getScheme() + "://" + uri.getHost() + ":" + (uri.getPort() < 0 ? 6379 : uri.getPort())
                    + (uri.getPath() == null ? "" : uri.getPath());
        }

        @Override
        public String toString() {
            return display();
        }
    }

    public enum WarehouseKind { DUCKDB, BIGQUERY }

    /** Which change data capture runs: the pipeline's own pgoutput reader or the Debezium engine. */
    public enum SourceKind { NATIVE, DEBEZIUM }

    public record Warehouse(WarehouseKind kind, Path duckdbPath, String googleCloudProject, String bigQueryDataset,
                            String bigQueryTable, String bigQueryLocation, Optional<Path> credentialsFile,
                            URI bigQueryEndpoint, String bigQueryWriteEndpoint, int appendMaxBytes,
                            int duckdbMemoryMib) {
        /** {@code project.dataset.table}, as BigQuery names it. */
        public String bigQueryTableName() {
            return googleCloudProject + "." + bigQueryDataset + "." + bigQueryTable;
        }

        /** Both endpoints are plaintext (an emulator or the fake): no Google credentials are used. */
        public boolean bigQueryPlaintext() {
            return "http".equals(bigQueryEndpoint.getScheme()) && bigQueryWriteEndpoint.startsWith("http://");
        }
    }

    public record ExternalApi(Optional<URI> url, Secret token, int batchSize, Duration linger,
                              Duration requestTimeout, Duration connectTimeout, int maxAttempts, Duration maxRetryTime,
                              boolean gzip, int breakerFailureRate, Duration slowCall, Duration breakerOpenFor) {
    }

    /**
     * @param qualityBucket          the data-quality watch's bucket (a minute by default): its baselines are per bucket
     * @param qualityBaselineBuckets the span of those baselines, in buckets
     * @param stallAfter             how long a stage may not move while its input waits before it is stalled
     */
    public record Processor(Duration contentGracePeriod, Duration qualityBucket, int qualityBaselineBuckets,
                            Duration stallAfter) {
    }

    /** What the chosen components need beyond what every setting checks on its own. */
    public List<String> problemsFor(Set<Component> components) {
        List<String> problems = new ArrayList<>();
        if (components.contains(Component.HTTP) && externalApi.url().isEmpty()) {
            problems.add("EXTERNAL_API_URL is required by the http component (or leave http out of --components)");
        }
        if (components.contains(Component.WAREHOUSE) && warehouse.kind() == WarehouseKind.BIGQUERY) {
            if (warehouse.googleCloudProject().isEmpty()) {
                problems.add("GOOGLE_CLOUD_PROJECT is required when WAREHOUSE=bigquery");
            }
            if (warehouse.bigQueryDataset().isEmpty()) {
                problems.add("BIGQUERY_DATASET is required when WAREHOUSE=bigquery");
            }
        }
        return problems;
    }

    public void requireFor(Set<Component> components) {
        List<String> problems = problemsFor(components);
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
    }

    /** The same settings with this instance id (the stable default when INSTANCE_ID is not set). */
    public PipelineConfig withInstanceId(String id) {
        return new PipelineConfig(postgres, kafka, redis, warehouse, externalApi, processor, http, logLevel, dataDir,
                Optional.of(id));
    }

    public int httpPort() {
        return http.port();
    }

    public Path stateDir() {
        return dataDir.resolve("state");
    }
}
