package dev.engagement.pipeline.config;

/**
 * Every setting the pipeline reads, with its default and meaning: the single source of the
 * README's settings table and of {@code --help}.
 */
public enum Setting {
    POSTGRES_HOST("localhost", "PostgreSQL host (needs wal_level=logical)"),
    POSTGRES_PORT("5432", "PostgreSQL port"),
    POSTGRES_DB("engagement", "database holding content and engagement_events"),
    POSTGRES_USER("postgres", "user with REPLICATION and CREATE rights"),
    POSTGRES_PASSWORD("", "password (secret)", true),
    POSTGRES_SSLMODE("disable", "TLS to PostgreSQL, for the JDBC and the replication connections: disable, require (encrypted, the server not verified) or verify-full (encrypted, the server's certificate checked against POSTGRES_SSLROOTCERT and the host name)"),
    POSTGRES_SSLROOTCERT("", "PEM file of the CA that signed PostgreSQL's certificate (verify-full)"),
    KAFKA_BOOTSTRAP_SERVERS("localhost:9092", "Kafka brokers, host:port[,host:port]"),
    KAFKA_PARTITIONS("6", "partitions of the pipeline's topics when it creates them"),
    KAFKA_REPLICATION_FACTOR("1", "replication factor of the pipeline's topics"),
    KAFKA_COMPRESSION("lz4", "compression of the records the pipeline writes to Kafka: lz4, zstd, snappy, gzip or none (docs/PERFORMANCE.md compares lz4 and none with the broker on the same host)"),
    KAFKA_CLIENT_CONFIG("", "path to a Kafka client properties file (security.protocol, sasl.*, ssl.*), applied to every Kafka client the pipeline makes; its secrets are never printed"),
    REDIS_URL("redis://localhost:6379", "Redis URL, redis[s]://[[user]:password@]host:port[/db]; rediss:// for TLS, user for a Redis ACL user (secret if it has a password)", true),
    REDIS_CA_CERT("", "PEM file of the CA that signed Redis's certificate (rediss://); the JDK's trusted CAs when empty"),
    REDIS_CLUSTER_NODES("", "Redis Cluster seed nodes host:port[,host:port]; when set, the aggregates live on that cluster (same key names; REDIS_URL then gives only the scheme, user and password for every node)"),
    WAREHOUSE("duckdb", "analytics warehouse: duckdb (a local file) or bigquery (the Storage Write API, exactly once)"),
    DUCKDB_PATH("data/warehouse.duckdb", "DuckDB database file"),
    DUCKDB_MEMORY_LIMIT_MIB("256", "most memory DuckDB may hold, in MiB (its memory_limit; past it, it spills to disk beside the file): part of the process's memory budget (README: Memory)"),
    GOOGLE_CLOUD_PROJECT("", "BigQuery project (WAREHOUSE=bigquery)"),
    BIGQUERY_DATASET("", "BigQuery dataset, created at start when missing (WAREHOUSE=bigquery)"),
    BIGQUERY_TABLE("engagement_events_enriched", "BigQuery table, created at start when missing: partitioned by DATE(event_ts), clustered by user_id, content_id"),
    BIGQUERY_LOCATION("US", "location of the dataset when the pipeline creates it, and of query jobs"),
    GOOGLE_APPLICATION_CREDENTIALS("", "service account key file for BigQuery; empty: Application Default Credentials (the file's content is never printed)"),
    BIGQUERY_ENDPOINT("https://bigquery.googleapis.com", "BigQuery REST endpoint (datasets, tables, queries); http:// only for an emulator or the fake"),
    BIGQUERY_APPEND_MAX_BYTES("9000000", "largest Storage Write append request the sink sends, in bytes (the service takes at most 10 MB); a batch is split into requests under it"),
    BIGQUERY_WRITE_ENDPOINT("bigquerystorage.googleapis.com:443", "Storage Write API endpoint, host:port (TLS) or http://host:port (plaintext, emulator or fake only)"),
    EXTERNAL_API_URL("", "endpoint the http sink POSTs batches to; required by the http component"),
    EXTERNAL_API_TOKEN("", "bearer token for the external API (secret)", true),
    HTTP_SINK_BATCH_SIZE("2000", "events per POST to the external API"),
    HTTP_SINK_LINGER("50ms", "how long the http sink waits to fill a batch"),
    HTTP_SINK_REQUEST_TIMEOUT("10s", "time-out of one POST"),
    HTTP_SINK_CONNECT_TIMEOUT("5s", "time-out of opening a connection to the external API"),
    HTTP_SINK_MAX_ATTEMPTS("8", "attempts per batch before it goes to sink.http.dlq"),
    HTTP_SINK_MAX_RETRY_TIME("5m", "time a batch may spend in attempts and back-off (breaker pauses excluded) before sink.http.dlq"),
    HTTP_SINK_GZIP("false", "gzip request bodies (Content-Encoding: gzip)"),
    HTTP_SINK_BREAKER_FAILURE_RATE("50", "percent of failed or timed-out POSTs (of the last 20) that opens the circuit breaker"),
    HTTP_SINK_SLOW_CALL("5s", "a POST slower than this counts as slow; 80 % slow calls also open the breaker"),
    HTTP_SINK_BREAKER_OPEN_FOR("10s", "how long the open breaker waits before half-open probes"),
    HTTP_PORT("8080", "port of /health, /metrics, /api and the dashboard"),
    HTTP_BIND("0.0.0.0", "address the HTTP server listens on (127.0.0.1: this host only)"),
    ADMIN_TOKEN("", "bearer token for POST /api/warehouse/query; when set, every caller must present it (else loopback callers only) (secret)", true),
    WAREHOUSE_QUERY_TIMEOUT("30s", "longest a warehouse query may run before it is cancelled"),
    WAREHOUSE_QUERY_MAX_ROWS("10000", "most rows a warehouse query returns (more: the result says it was cut)"),
    WAREHOUSE_QUERY_MAX_BYTES("65536", "largest SQL text POST /api/warehouse/query accepts, in bytes"),
    LOG_LEVEL("INFO", "TRACE, DEBUG, INFO, WARN or ERROR"),
    DATA_DIR("data", "local state: processor stores, local services"),
    CONTENT_GRACE_PERIOD("30s", "how long an event waits for its content row before it is unknown_content"),
    QUALITY_BUCKET("1m", "the data-quality watch's bucket, whole seconds: baselines are per bucket, and the rate, shares and means it judges are over the last bucket's worth of seconds (README: Data quality)"),
    QUALITY_BASELINE_BUCKETS("10", "span of the data-quality baselines, in buckets (exponentially weighted); anomalies are judged once half of it is in"),
    STALL_AFTER("30s", "a stage whose input waits (more than one record a partition, or the source not capturing) while its position does not move for this long, or that restarted 3 times within it, is stalled: /health unhealthy, pipeline_stage_stalled 1 (README: Stalled)"),
    RANK_MINUTE_TTL("24h", "lifetime of the per-minute rank:engagement:{minute} sorted sets"),
    SOURCE("native", "change data capture: native (the pipeline's own pgoutput reader, exactly once into Kafka) or debezium (the Debezium engine, at least once, repeats dropped)"),
    SOURCE_SLOT_NAME("engagement_pipeline", "PostgreSQL logical replication slot"),
    SOURCE_PUBLICATION("engagement_pipeline", "PostgreSQL publication of the two tables"),
    INSTANCE_ID("", "stable id of this process in its Kafka groups, so that a restart rejoins them at once (static membership); when empty, one is generated on first start and kept in DATA_DIR/instance-id (one process per DATA_DIR)");

    private final String defaultValue;
    private final String description;
    private final boolean secret;

    Setting(String defaultValue, String description) {
        this(defaultValue, description, false);
    }

    Setting(String defaultValue, String description, boolean secret) {
        this.defaultValue = defaultValue;
        this.description = description;
        this.secret = secret;
    }

    public String defaultValue() {
        return defaultValue;
    }

    public String description() {
        return description;
    }

    public boolean secret() {
        return secret;
    }
}
