package dev.engagement.pipeline.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Builds {@link PipelineConfig} from the environment, optionally preceded by a {@code .env} file.
 * Every setting is checked; every problem is collected; then all of them are reported at once.
 * Values of secret settings never appear in a message.
 */
public final class ConfigLoader {
    private static final Pattern HOST_PORT = Pattern.compile("[A-Za-z0-9._\\-\\[\\]:]+:\\d{1,5}");
    private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]{0,62}");
    private static final List<String> LOG_LEVELS = List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR");

    private final Map<String, String> values;
    private final List<String> problems = new ArrayList<>();

    private ConfigLoader(Map<String, String> values) {
        this.values = values;
    }

    /** The process environment over the {@code .env} file in {@code dir}, if there is one. */
    public static Map<String, String> environment(Path dir) {
        Map<String, String> merged = new HashMap<>(readDotEnv(dir.resolve(".env")));
        merged.putAll(System.getenv());
        return merged;
    }

    public static PipelineConfig load(Map<String, String> env) {
        return new ConfigLoader(env).build();
    }

    static Map<String, String> readDotEnv(Path file) {
        Map<String, String> out = new HashMap<>();
        if (!Files.isRegularFile(file)) {
            return out;
        }
        try {
            for (String line : Files.readAllLines(file)) {
                String l = line.strip();
                if (l.isEmpty() || l.startsWith("#")) {
                    continue;
                }
                if (l.startsWith("export ")) {
                    l = l.substring(7).strip();
                }
                int eq = l.indexOf('=');
                if (eq <= 0) {
                    continue;
                }
                String key = l.substring(0, eq).strip();
                String value = l.substring(eq + 1).strip();
                if (value.length() >= 2 && (value.startsWith("\"") && value.endsWith("\"")
                        || value.startsWith("'") && value.endsWith("'"))) {
                    value = value.substring(1, value.length() - 1);
                }
                out.put(key, value);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        return out;
    }

    private PipelineConfig build() {
        PipelineConfig.SslMode sslMode = sslMode();
        Optional<Path> rootCert = readableFile(Setting.POSTGRES_SSLROOTCERT);
        if (sslMode == PipelineConfig.SslMode.VERIFY_FULL && rootCert.isEmpty()) {
            problems.add("POSTGRES_SSLROOTCERT is required when POSTGRES_SSLMODE=verify-full: the CA that signed the "
                    + "server's certificate");
        }
        var postgres = new PipelineConfig.Postgres(
                host(Setting.POSTGRES_HOST), port(Setting.POSTGRES_PORT), required(Setting.POSTGRES_DB),
                required(Setting.POSTGRES_USER), Secret.of(raw(Setting.POSTGRES_PASSWORD)),
                identifier(Setting.SOURCE_SLOT_NAME), identifier(Setting.SOURCE_PUBLICATION), sslMode, rootCert,
                oneOf(Setting.SOURCE, PipelineConfig.SourceKind.values(), PipelineConfig.SourceKind::name,
                        PipelineConfig.SourceKind.NATIVE));
        var kafka = new PipelineConfig.Kafka(bootstrap(), intIn(Setting.KAFKA_PARTITIONS, 1, 10_000),
                (short) intIn(Setting.KAFKA_REPLICATION_FACTOR, 1, 32), kafkaClientConfig(),
                oneOf(Setting.KAFKA_COMPRESSION, PipelineConfig.Kafka.COMPRESSIONS.toArray(new String[0]), c -> c, "lz4")
                        .toLowerCase(Locale.ROOT));
        var redis = new PipelineConfig.Redis(redisUrl(), clusterNodes(),
                durationIn(Setting.RANK_MINUTE_TTL, Duration.ofMinutes(1), Duration.ofDays(366)),
                readableFile(Setting.REDIS_CA_CERT));
        PipelineConfig.WarehouseKind kind = warehouseKind();
        var warehouse = new PipelineConfig.Warehouse(kind, Path.of(required(Setting.DUCKDB_PATH)),
                raw(Setting.GOOGLE_CLOUD_PROJECT), bigQueryName(Setting.BIGQUERY_DATASET),
                bigQueryName(Setting.BIGQUERY_TABLE), raw(Setting.BIGQUERY_LOCATION),
                kind == PipelineConfig.WarehouseKind.BIGQUERY
                        ? readableFile(Setting.GOOGLE_APPLICATION_CREDENTIALS) : Optional.empty(),
                httpUri(Setting.BIGQUERY_ENDPOINT),
                writeEndpoint(), intIn(Setting.BIGQUERY_APPEND_MAX_BYTES, 1024, 10_000_000),
                intIn(Setting.DUCKDB_MEMORY_LIMIT_MIB, 32, 1_048_576));
        var api = new PipelineConfig.ExternalApi(apiUrl(), token(),
                intIn(Setting.HTTP_SINK_BATCH_SIZE, 1, 100_000),
                durationIn(Setting.HTTP_SINK_LINGER, Duration.ZERO, Duration.ofMinutes(1)),
                durationIn(Setting.HTTP_SINK_REQUEST_TIMEOUT, Duration.ofMillis(10), Duration.ofMinutes(10)),
                durationIn(Setting.HTTP_SINK_CONNECT_TIMEOUT, Duration.ofMillis(10), Duration.ofMinutes(5)),
                intIn(Setting.HTTP_SINK_MAX_ATTEMPTS, 1, 1000),
                durationIn(Setting.HTTP_SINK_MAX_RETRY_TIME, Duration.ofSeconds(1), Duration.ofDays(1)),
                bool(Setting.HTTP_SINK_GZIP),
                intIn(Setting.HTTP_SINK_BREAKER_FAILURE_RATE, 1, 100),
                durationIn(Setting.HTTP_SINK_SLOW_CALL, Duration.ofMillis(1), Duration.ofMinutes(10)),
                durationIn(Setting.HTTP_SINK_BREAKER_OPEN_FOR, Duration.ofMillis(100), Duration.ofHours(1)));
        var processor = new PipelineConfig.Processor(
                durationIn(Setting.CONTENT_GRACE_PERIOD, Duration.ZERO, Duration.ofDays(7)),
                wholeSeconds(Setting.QUALITY_BUCKET, Duration.ofSeconds(1), Duration.ofHours(1)),
                intIn(Setting.QUALITY_BASELINE_BUCKETS, 2, 1440),
                durationIn(Setting.STALL_AFTER, Duration.ofSeconds(5), Duration.ofHours(1)));
        var http = new PipelineConfig.Http(host(Setting.HTTP_BIND), port(Setting.HTTP_PORT), adminToken(),
                durationIn(Setting.WAREHOUSE_QUERY_TIMEOUT, Duration.ofMillis(100), Duration.ofMinutes(10)),
                intIn(Setting.WAREHOUSE_QUERY_MAX_ROWS, 1, 10_000_000),
                intIn(Setting.WAREHOUSE_QUERY_MAX_BYTES, 1024, 16 * 1024 * 1024));
        String logLevel = logLevel();
        Path dataDir = Path.of(required(Setting.DATA_DIR));
        String instance = raw(Setting.INSTANCE_ID);
        if (!instance.isEmpty() && !instance.matches("[A-Za-z0-9._\\-]{1,100}")) {
            problems.add("INSTANCE_ID must be 1-100 letters, digits, '.', '_' or '-', but was '" + instance + "'");
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return new PipelineConfig(postgres, kafka, redis, warehouse, api, processor, http, logLevel, dataDir,
                instance.isEmpty() ? Optional.empty() : Optional.of(instance));
    }

    private String raw(Setting s) {
        String v = values.get(s.name());
        return v == null ? s.defaultValue() : v.strip();
    }

    private String shown(Setting s, String value) {
        return s.secret() ? "" : ", but was '" + value + "'";
    }

    private String required(Setting s) {
        String v = raw(s);
        if (v.isEmpty()) {
            problems.add(s.name() + " must not be empty");
        }
        return v;
    }

    private String host(Setting s) {
        String v = required(s);
        if (!v.isEmpty() && !v.matches("[A-Za-z0-9._\\-:\\[\\]]+")) {
            problems.add(s.name() + " must be a host name or address" + shown(s, v));
        }
        return v;
    }

    private int port(Setting s) {
        return intIn(s, 1, 65535);
    }

    private int intIn(Setting s, int min, int max) {
        String v = raw(s);
        try {
            int n = Integer.parseInt(v);
            if (n < min || n > max) {
                problems.add(s.name() + " must be between " + min + " and " + max + shown(s, v));
            }
            return n;
        } catch (NumberFormatException e) {
            problems.add(s.name() + " must be an integer between " + min + " and " + max + shown(s, v));
            return min;
        }
    }

    private Duration durationIn(Setting s, Duration min, Duration max) {
        String v = raw(s);
        try {
            Duration d = Durations.parse(v);
            if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
                problems.add(s.name() + " must be between " + Durations.format(min) + " and "
                        + Durations.format(max) + shown(s, v));
            }
            return d;
        } catch (IllegalArgumentException e) {
            problems.add(s.name() + " " + e.getMessage() + shown(s, v));
            return min;
        }
    }

    /** A duration in range that is a whole number of seconds. */
    private Duration wholeSeconds(Setting s, Duration min, Duration max) {
        Duration d = durationIn(s, min, max);
        if (d.toMillis() % 1000 != 0) {
            problems.add(s.name() + " must be whole seconds" + shown(s, raw(s)));
            return min;
        }
        return d;
    }

    private boolean bool(Setting s) {
        String v = raw(s).toLowerCase(Locale.ROOT);
        if (!List.of("true", "false").contains(v)) {
            problems.add(s.name() + " must be true or false" + shown(s, raw(s)));
            return false;
        }
        return Boolean.parseBoolean(v);
    }

    private String identifier(Setting s) {
        String v = raw(s);
        if (!IDENTIFIER.matcher(v).matches()) {
            problems.add(s.name() + " must be a lower-case PostgreSQL identifier (a-z, 0-9, _)" + shown(s, v));
        }
        return v;
    }

    private String bootstrap() {
        String v = required(Setting.KAFKA_BOOTSTRAP_SERVERS);
        for (String hp : v.split(",")) {
            if (!v.isEmpty() && !HOST_PORT.matcher(hp.strip()).matches()) {
                problems.add("KAFKA_BOOTSTRAP_SERVERS must be host:port[,host:port], but was '" + v + "'");
                break;
            }
        }
        return v;
    }

    private Secret redisUrl() {
        String v = raw(Setting.REDIS_URL);
        try {
            URI uri = new URI(v);
            if (!"redis".equals(uri.getScheme()) && !"rediss".equals(uri.getScheme()) || uri.getHost() == null) {
                problems.add("REDIS_URL must look like redis[s]://[[user]:password@]host:port[/db]");
            }
        } catch (URISyntaxException e) {
            problems.add("REDIS_URL must look like redis[s]://[[user]:password@]host:port[/db]");
        }
        return Secret.of(v);
    }

    private List<String> clusterNodes() {
        String v = raw(Setting.REDIS_CLUSTER_NODES);
        if (v.isEmpty()) {
            return List.of();
        }
        List<String> nodes = Arrays.stream(v.split(",")).map(String::strip).toList();
        if (nodes.stream().anyMatch(n -> !HOST_PORT.matcher(n).matches())) {
            problems.add("REDIS_CLUSTER_NODES must be host:port[,host:port], but was '" + v + "'");
        }
        return nodes;
    }

    private PipelineConfig.WarehouseKind warehouseKind() {
        return oneOf(Setting.WAREHOUSE, PipelineConfig.WarehouseKind.values(), PipelineConfig.WarehouseKind::name,
                PipelineConfig.WarehouseKind.DUCKDB);
    }

    private String logLevel() {
        String v = raw(Setting.LOG_LEVEL).toUpperCase(Locale.ROOT);
        if (!LOG_LEVELS.contains(v)) {
            problems.add("LOG_LEVEL must be one of " + String.join(", ", LOG_LEVELS) + ", but was '"
                    + raw(Setting.LOG_LEVEL) + "'");
            return "INFO";
        }
        return v;
    }

    private <T> T oneOf(Setting s, T[] options, Function<T, String> name, T fallback) {
        String v = raw(s);
        for (T o : options) {
            if (name.apply(o).equalsIgnoreCase(v)) {
                return o;
            }
        }
        List<String> names = Arrays.stream(options).map(o -> name.apply(o).toLowerCase(Locale.ROOT)).toList();
        problems.add(s.name() + " must be one of " + String.join(", ", names) + shown(s, v));
        return fallback;
    }

    private Optional<URI> apiUrl() {
        String v = raw(Setting.EXTERNAL_API_URL);
        if (v.isEmpty()) {
            return Optional.empty();
        }
        try {
            URI uri = new URI(v);
            if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
                problems.add("EXTERNAL_API_URL must be an http:// or https:// URL, but was '" + v + "'");
            } else if (uri.getUserInfo() != null) {
                problems.add("EXTERNAL_API_URL must not carry credentials; use EXTERNAL_API_TOKEN");
            }
            return Optional.of(uri);
        } catch (URISyntaxException e) {
            problems.add("EXTERNAL_API_URL must be an http:// or https:// URL, but was '" + v + "'");
            return Optional.empty();
        }
    }

    /** A BigQuery dataset or table id: letters, digits and underscores (empty: checked where it is needed). */
    private String bigQueryName(Setting s) {
        String v = raw(s);
        if (!v.isEmpty() && !v.matches("[A-Za-z0-9_]{1,1024}")) {
            problems.add(s.name() + " must be letters, digits and underscores, but was '" + v + "'");
        }
        return v;
    }

    private URI httpUri(Setting s) {
        String v = raw(s);
        try {
            URI uri = new URI(v);
            if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null
                    || uri.getUserInfo() != null) {
                problems.add(s.name() + " must be an http:// or https:// URL without credentials, but was '" + v + "'");
            }
            return uri;
        } catch (URISyntaxException e) {
            problems.add(s.name() + " must be an http:// or https:// URL, but was '" + v + "'");
            return URI.create(s.defaultValue());
        }
    }

    private String writeEndpoint() {
        String v = raw(Setting.BIGQUERY_WRITE_ENDPOINT);
        if (!v.matches("(http://)?[A-Za-z0-9.\\-]+:\\d{1,5}")) {
            problems.add("BIGQUERY_WRITE_ENDPOINT must be host:port or http://host:port, but was '" + v + "'");
        }
        return v;
    }

    private PipelineConfig.SslMode sslMode() {
        String v = raw(Setting.POSTGRES_SSLMODE).toLowerCase(Locale.ROOT);
        for (PipelineConfig.SslMode m : PipelineConfig.SslMode.values()) {
            if (m.wire().equals(v)) {
                return m;
            }
        }
        problems.add("POSTGRES_SSLMODE must be one of disable, require, verify-full, but was '"
                + raw(Setting.POSTGRES_SSLMODE) + "'");
        return PipelineConfig.SslMode.DISABLE;
    }

    /** A file the setting names, which must exist and be readable; empty when the setting is empty. */
    private Optional<Path> readableFile(Setting s) {
        String v = raw(s);
        if (v.isEmpty()) {
            return Optional.empty();
        }
        Path p = Path.of(v);
        if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
            problems.add(s.name() + " must name a readable file, but '" + v + "' is not one");
            return Optional.empty();
        }
        return Optional.of(p);
    }

    /**
     * The Kafka client properties file: standard client settings (security.protocol, sasl.*, ssl.*)
     * for every client. The pipeline's own settings (servers, serializers, groups) are not for it.
     */
    private Map<String, String> kafkaClientConfig() {
        Optional<Path> file = readableFile(Setting.KAFKA_CLIENT_CONFIG);
        if (file.isEmpty()) {
            return Map.of();
        }
        java.util.Properties props = new java.util.Properties();
        try (var in = Files.newBufferedReader(file.get())) {
            props.load(in);
        } catch (IOException | IllegalArgumentException e) {
            problems.add("KAFKA_CLIENT_CONFIG " + file.get() + " is not a properties file: " + e.getMessage());
            return Map.of();
        }
        Map<String, String> out = new HashMap<>();
        for (String key : props.stringPropertyNames()) {
            if (OWNED_KAFKA_KEYS.contains(key)) {
                problems.add("KAFKA_CLIENT_CONFIG " + file.get() + " sets " + key + ", which the pipeline sets itself"
                        + (key.equals("bootstrap.servers") ? " (use KAFKA_BOOTSTRAP_SERVERS)" : ""));
                continue;
            }
            out.put(key, props.getProperty(key).strip());
        }
        return out;
    }

    private static final java.util.Set<String> OWNED_KAFKA_KEYS = java.util.Set.of("bootstrap.servers", "group.id",
            "group.instance.id", "client.id", "key.serializer", "value.serializer", "key.deserializer",
            "value.deserializer", "enable.auto.commit", "isolation.level", "transactional.id",
            "enable.idempotence", "auto.offset.reset");

    private Secret adminToken() {
        String v = raw(Setting.ADMIN_TOKEN);
        if (!v.isEmpty() && (v.length() < 16 || v.chars().anyMatch(c -> c <= ' ' || c == 127))) {
            problems.add("ADMIN_TOKEN must be at least 16 characters without whitespace or control characters");
        }
        return Secret.of(v);
    }

    private Secret token() {
        String v = raw(Setting.EXTERNAL_API_TOKEN);
        if (v.chars().anyMatch(c -> c <= ' ' || c == 127)) {
            problems.add("EXTERNAL_API_TOKEN must not contain whitespace or control characters");
        }
        return Secret.of(v);
    }
}
