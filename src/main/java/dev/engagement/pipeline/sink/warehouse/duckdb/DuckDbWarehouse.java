package dev.engagement.pipeline.sink.warehouse.duckdb;

import dev.engagement.pipeline.fault.FaultPoints;
import dev.engagement.pipeline.model.EnrichedEvent;
import dev.engagement.pipeline.model.Timestamps;
import dev.engagement.pipeline.sink.ForeignStateException;
import dev.engagement.pipeline.sink.RewindException;
import dev.engagement.pipeline.sink.SinkBatch;
import dev.engagement.pipeline.sink.SinkRecord;
import dev.engagement.pipeline.sink.warehouse.Warehouse;
import org.apache.kafka.common.TopicPartition;
import org.duckdb.DuckDBAppender;
import org.duckdb.DuckDBConnection;

import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The warehouse in a local DuckDB file. Each batch is one transaction: rows go through the appender
 * into a temporary staging table, then {@code INSERT OR IGNORE} into the table (event_id is its
 * primary key: a row per event, never two), and the Kafka positions are updated beside them, after
 * checking that the stored positions are where the batch starts (a file restored from an older copy
 * is read again from its own positions). DuckDB lets one process write a file, which also fences
 * any second writer; the file's own id ({@code pipeline_store}) names its consumer group.
 */
public final class DuckDbWarehouse implements Warehouse, dev.engagement.pipeline.sink.TransactionalSink {
    /** The warehouse table (also what the bench's DuckDB limit appends to). */
    public static final String DDL = """
            CREATE TABLE IF NOT EXISTS engagement_events_enriched (
                event_id               BIGINT PRIMARY KEY,
                content_id             VARCHAR NOT NULL,
                content_title          VARCHAR,
                content_type           VARCHAR,
                content_length_seconds INTEGER,
                user_id                VARCHAR,
                event_type             VARCHAR NOT NULL,
                event_ts               TIMESTAMPTZ NOT NULL,
                engagement_seconds     DECIMAL(18,3),
                engagement_percentage  DECIMAL(18,2),
                device                 VARCHAR,
                processed_at           TIMESTAMPTZ
            )""";
    static final String OFFSETS_DDL = """
            CREATE TABLE IF NOT EXISTS pipeline_offsets (
                topic           VARCHAR NOT NULL,
                kafka_partition INTEGER NOT NULL,
                next_offset     BIGINT NOT NULL,
                PRIMARY KEY (topic, kafka_partition)
            )""";

    private final DuckDBConnection connection;
    /** Only ever duplicated, into one connection per query: readers share nothing with the writer. */
    private final DuckDBConnection readers;
    private final Path file;
    private volatile String status = "connected";

    /** Opens (creating if needed) the warehouse file for writing. */
    public DuckDbWarehouse(Path file) throws SQLException {
        this(file, false);
    }

    /** DuckDB's memory_limit when none is given: the default of DUCKDB_MEMORY_LIMIT_MIB. */
    static final int DEFAULT_MEMORY_MIB = 256;

    public DuckDbWarehouse(Path file, boolean readOnly) throws SQLException {
        this(file, readOnly, DEFAULT_MEMORY_MIB);
    }

    /**
     * @param readOnly open for queries only (another process may not write the file meanwhile, and
     *                 this one cannot)
     * @param memoryMib DuckDB's memory_limit: left to itself it takes up to 80 % of the machine's
     *                 memory, and the process's resident set follows the data
     */
    public DuckDbWarehouse(Path file, boolean readOnly, int memoryMib) throws SQLException {
        if (!readOnly) {
            try {
                if (file.toAbsolutePath().getParent() != null) {
                    Files.createDirectories(file.toAbsolutePath().getParent());
                }
            } catch (java.io.IOException e) {
                throw new SQLException("cannot create the directory of " + file, e);
            }
        }
        this.file = file;
        java.util.Properties props = new java.util.Properties();
        // the warehouse reads and writes its own file only: SQL that reaches for other files is refused
        props.setProperty("enable_external_access", "false");
        props.setProperty("memory_limit", memoryMib + "MiB");
        if (readOnly) {
            props.setProperty("duckdb.read_only", "true");
        }
        this.connection = (DuckDBConnection) DriverManager.getConnection("jdbc:duckdb:" + file.toAbsolutePath(), props);
        if (!readOnly) {
            try (Statement s = connection.createStatement()) {
                s.execute(DDL);
                s.execute(OFFSETS_DDL);
                s.execute("CREATE TABLE IF NOT EXISTS pipeline_source (topic_id VARCHAR NOT NULL)");
                s.execute("CREATE TABLE IF NOT EXISTS pipeline_store (id VARCHAR NOT NULL)");
                s.execute("INSERT INTO pipeline_store SELECT '" + java.util.UUID.randomUUID().toString().replace("-", "")
                        .substring(0, 12) + "' WHERE NOT EXISTS (SELECT 1 FROM pipeline_store)");
                s.execute("CREATE TEMP TABLE IF NOT EXISTS staging AS SELECT * FROM " + TABLE + " LIMIT 0");
            }
        }
        connection.setAutoCommit(false);
        connection.commit();
        this.readers = connection.duplicate();
    }

    @Override
    public String name() {
        return "warehouse";
    }

    @Override
    public synchronized String storeId() throws SQLException {
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery("SELECT id FROM pipeline_store")) {
            String id = rs.next() ? rs.getString(1) : null;
            connection.commit();
            if (id == null) {
                throw new SQLException("the warehouse " + file + " has no pipeline_store row");
            }
            return id;
        }
    }

    @Override
    public synchronized Map<TopicPartition, OptionalLong> claim(Collection<TopicPartition> partitions, String sourceId)
            throws SQLException, ForeignStateException {
        try (Statement s = connection.createStatement();
             ResultSet rs = s.executeQuery("SELECT topic_id FROM pipeline_source")) {
            if (rs.next()) {
                if (!rs.getString(1).equals(sourceId)) {
                    connection.rollback();
                    throw new ForeignStateException("the warehouse " + file + " was built from another "
                            + "engagement.enriched topic (topic id " + rs.getString(1) + ", now " + sourceId + "); "
                            + "its rows and positions do not apply here. Point DUCKDB_PATH at a new file, or drop "
                            + "its tables to rebuild them from Kafka");
                }
            } else {
                s.execute("INSERT INTO pipeline_source VALUES ('" + sourceId.replace("'", "''") + "')");
            }
        }
        Map<TopicPartition, OptionalLong> out = new LinkedHashMap<>();
        try (PreparedStatement q = connection.prepareStatement(
                "SELECT next_offset FROM pipeline_offsets WHERE topic = ? AND kafka_partition = ?")) {
            for (TopicPartition tp : partitions) {
                q.setString(1, tp.topic());
                q.setInt(2, tp.partition());
                try (ResultSet rs = q.executeQuery()) {
                    out.put(tp, rs.next() ? OptionalLong.of(rs.getLong(1)) : OptionalLong.empty());
                }
            }
        }
        connection.commit();
        return out;
    }

    @Override
    public synchronized WriteResult write(SinkBatch sinkBatch) throws SQLException, RewindException {
        List<SinkRecord> batch = sinkBatch.records();
        Map<TopicPartition, Long> nextOffsets = sinkBatch.next();
        try {
            requireAt(sinkBatch.start());
            Set<Long> seen = new HashSet<>();
            try (DuckDBAppender appender = connection.createAppender("temp", "main", "staging")) {
                for (SinkRecord r : batch) {
                    if (seen.add(r.event().eventId())) {
                        append(appender, r.event());
                    }
                }
            }
            int inserted;
            try (Statement s = connection.createStatement()) {
                inserted = s.executeUpdate("INSERT OR IGNORE INTO " + TABLE + " SELECT * FROM staging");
                s.execute("DELETE FROM staging");
            }
            try (PreparedStatement ps = connection.prepareStatement(
                    "INSERT OR REPLACE INTO pipeline_offsets VALUES (?, ?, ?)")) {
                for (Map.Entry<TopicPartition, Long> e : nextOffsets.entrySet()) {
                    ps.setString(1, e.getKey().topic());
                    ps.setInt(2, e.getKey().partition());
                    ps.setLong(3, e.getValue());
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            FaultPoints.pass("warehouse.before-commit");
            connection.commit();
            status = "connected";
            return new WriteResult(inserted, batch.size() - inserted);
        } catch (SQLException | RuntimeException | RewindException e) {
            if (!(e instanceof RewindException)) {
                status = "failing: " + e.getMessage();
            }
            try {
                connection.rollback();
            } catch (SQLException rollback) {
                e.addSuppressed(rollback);
            }
            throw e;
        }
    }

    /** Refuses a batch that does not start where the stored positions stand (0: nothing stored). */
    private void requireAt(Map<TopicPartition, Long> start) throws SQLException, RewindException {
        Map<TopicPartition, Long> behind = new HashMap<>();
        try (PreparedStatement q = connection.prepareStatement(
                "SELECT next_offset FROM pipeline_offsets WHERE topic = ? AND kafka_partition = ?")) {
            for (Map.Entry<TopicPartition, Long> e : start.entrySet()) {
                q.setString(1, e.getKey().topic());
                q.setInt(2, e.getKey().partition());
                try (ResultSet rs = q.executeQuery()) {
                    long stored = rs.next() ? rs.getLong(1) : 0;
                    if (stored != e.getValue()) {
                        behind.put(e.getKey(), stored);
                    }
                }
            }
        }
        if (!behind.isEmpty()) {
            throw new RewindException(behind, start);
        }
    }

    /** One event as one appender row. Package-visible for its JMH benchmark. */
    static void append(DuckDBAppender a, EnrichedEvent e) throws SQLException {
        a.beginRow();
        a.append(e.eventId());
        a.append(e.contentId());
        a.append(e.contentTitle());
        a.append(e.contentType());
        if (e.contentLengthSeconds() == null) {
            a.appendNull();
        } else {
            a.append(e.contentLengthSeconds().intValue());
        }
        a.append(e.userId());
        a.append(e.eventType().wire());
        a.appendEpochMicros(Timestamps.epochMicros(Timestamps.parse(e.eventTs())));
        if (e.engagementMs() == null) {
            a.appendNull();
        } else {
            a.append(BigDecimal.valueOf(e.engagementMs(), 3));
        }
        if (e.engagementPercentage() == null) {
            a.appendNull();
        } else {
            a.append(e.engagementPercentage().setScale(2, java.math.RoundingMode.UNNECESSARY));
        }
        a.append(e.device());
        if (e.processedAt() == null) {
            a.appendNull();
        } else {
            a.appendEpochMicros(Timestamps.epochMicros(Timestamps.parse(e.processedAt())));
        }
        a.endRow();
    }

    /**
     * One SELECT for a person, on a connection of its own (readers never wait for the writer, and
     * the writer never waits for them), in a transaction DuckDB itself keeps read-only. The
     * statement is checked by DuckDB's parser first: exactly one statement, and a SELECT.
     */
    @Override
    public QueryResult select(String sql, QueryLimits limits) throws SQLException, RefusedQueryException {
        try (DuckDBConnection reader = newReader()) {
            requireOneSelect(reader, sql);
            reader.setAutoCommit(true);
            try (Statement begin = reader.createStatement()) {
                begin.execute("BEGIN TRANSACTION READ ONLY");
            }
            try (PreparedStatement q = reader.prepareStatement(sql)) {
                java.util.concurrent.ScheduledFuture<?> cancel = CANCELLER.schedule(() -> {
                    try {
                        q.cancel();
                    } catch (SQLException e) {
                        // the query ended meanwhile
                    }
                }, limits.timeout().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
                try (ResultSet rs = q.executeQuery()) {
                    return read(rs, limits.maxRows());
                } catch (SQLException e) {
                    if (cancel.isDone() && !cancel.isCancelled()) {
                        throw new RefusedQueryException("the query ran longer than " + limits.timeout().toMillis()
                                + " ms and was cancelled (WAREHOUSE_QUERY_TIMEOUT)");
                    }
                    throw e;
                } finally {
                    cancel.cancel(false);
                }
            } finally {
                try (Statement end = reader.createStatement()) {
                    end.execute("ROLLBACK");
                } catch (SQLException e) {
                    // the connection is closed right after
                }
            }
        }
    }

    /** A fresh connection to the same database, for one query. */
    private DuckDBConnection newReader() throws SQLException {
        synchronized (readers) {
            return readers.duplicate();
        }
    }

    private static final java.util.concurrent.ScheduledExecutorService CANCELLER =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
                    dev.engagement.pipeline.Threads.daemon("warehouse-query-timeout"));

    /** DuckDB's own parser says what the text is: only SELECT statements serialize, and we want one. */
    private static void requireOneSelect(DuckDBConnection c, String sql) throws SQLException, RefusedQueryException {
        String parsed;
        try (PreparedStatement p = c.prepareStatement("SELECT json_serialize_sql(?::VARCHAR)")) {
            p.setString(1, sql);
            try (ResultSet rs = p.executeQuery()) {
                rs.next();
                parsed = rs.getString(1);
            }
        }
        try {
            var tree = dev.engagement.pipeline.model.Json.MAPPER.readTree(parsed);
            if (tree.path("error").asBoolean(false)) {
                throw new RefusedQueryException("only a single SELECT is allowed here: "
                        + tree.path("error_message").asText("not a SELECT"));
            }
            int statements = tree.path("statements").size();
            if (statements != 1) {
                throw new RefusedQueryException("exactly one statement is allowed here, but there were " + statements);
            }
        } catch (java.io.IOException e) {
            throw new RefusedQueryException("the statement could not be checked: " + e.getMessage());
        }
    }

    private static QueryResult read(ResultSet rs, int maxRows) throws SQLException {
        ResultSetMetaData md = rs.getMetaData();
        List<String> columns = new ArrayList<>();
        for (int i = 1; i <= md.getColumnCount(); i++) {
            columns.add(md.getColumnLabel(i));
        }
        List<List<Object>> rows = new ArrayList<>();
        boolean truncated = false;
        while (rs.next()) {
            if (rows.size() == maxRows) {
                truncated = true;
                break;
            }
            List<Object> row = new ArrayList<>(columns.size());
            for (int i = 1; i <= columns.size(); i++) {
                row.add(rs.getObject(i));
            }
            rows.add(row);
        }
        return new QueryResult(columns, rows, truncated);
    }

    @Override
    public String status() {
        return status;
    }

    @Override
    public synchronized void close() {
        try {
            readers.close();
            connection.close();
        } catch (SQLException e) {
            status = "closed with error: " + e.getMessage();
        }
    }
}
