package dev.engagement.pipeline.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** The whole configuration, immutable, validated once at start-up ({@link ConfigLoader}). */
public record PipelineConfig(Postgres postgres, Kafka kafka, Redis redis, Warehouse warehouse,
                             ExternalApi externalApi, Processor processor, int httpPort, String logLevel,
                             Path dataDir, Optional<String> instanceId) {

    public record Postgres(String host, int port, String database, String user, Secret password, String slotName,
                           String publication) {
        public String jdbcUrl() {
            return jdbcUrl(database);
        }

        public String jdbcUrl(String db) {
            return "jdbc:postgresql://" + host + ":" + port + "/" + db;
        }

        @Override
        public String toString() {
            return user + "@" + host + ":" + port + "/" + database;
        }
    }

    public record Kafka(String bootstrapServers, int partitions, short replicationFactor) {
    }

    public record Redis(Secret url, List<String> clusterNodes, Duration minuteTtl) {
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

    public record Warehouse(WarehouseKind kind, Path duckdbPath, String googleCloudProject, String bigQueryDataset) {
    }

    public record ExternalApi(Optional<URI> url, Secret token, int batchSize, Duration linger,
                              Duration requestTimeout, Duration connectTimeout, int maxAttempts, Duration maxRetryTime,
                              boolean gzip, int breakerFailureRate, Duration slowCall, Duration breakerOpenFor) {
    }

    public record Processor(Duration contentGracePeriod) {
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
        return new PipelineConfig(postgres, kafka, redis, warehouse, externalApi, processor, httpPort, logLevel, dataDir,
                Optional.of(id));
    }

    public Path stateDir() {
        return dataDir.resolve("state");
    }
}
