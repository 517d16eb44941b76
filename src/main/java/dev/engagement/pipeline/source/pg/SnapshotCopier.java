package dev.engagement.pipeline.source.pg;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Database;
import dev.engagement.pipeline.fault.FaultPoints;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyOut;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Copies the captured tables as they were at one snapshot (a replication slot's exported snapshot,
 * or the reader's own for a backfill) with {@code COPY ... TO STDOUT} over two connections, each
 * table split in two halves of its Kafka key, every row written as a read ({@code op "r"}) envelope.
 *
 * <p>Events are split by content id, not by event id: the topic keeps the order of sends per key,
 * so all events of one content must come from one connection, in id order, or later events of a
 * content reach the sinks before earlier ones. {@code ORDER BY id} because a scan's order is no
 * promise (updated rows move, a concurrent scan of a large table joins in mid-table); on the
 * primary key it costs about 5 % (docs/PERFORMANCE.md, "Snapshot copy split by key").
 */
public final class SnapshotCopier {
    /** Where copied rows go. Called from the copying threads at once: must be thread-safe. */
    public interface Sender {
        void send(Relation table, String key, byte[] envelope, long tsMs);
    }

    private static final int CONNECTIONS = 2;
    /** The middle of the uuid space: splits content ids, random uuids, about evenly. */
    private static final String MIDDLE = "80000000-0000-0000-0000-000000000000";
    private final PipelineConfig.Postgres pg;

    public SnapshotCopier(PipelineConfig.Postgres pg) {
        this.pg = pg;
    }

    /** A session for copying: UTC text, a repeatable-read read-only transaction, the snapshot when one is given. */
    public static Connection open(PipelineConfig.Postgres pg, String snapshotName) throws SQLException {
        Connection c = Database.connect(pg);
        try (Statement s = c.createStatement()) {
            s.execute("SET TimeZone TO 'UTC'");
            s.execute("SET DateStyle TO 'ISO'");
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            c.setReadOnly(true);
            c.setAutoCommit(false);
            if (snapshotName != null) {
                s.execute("SET TRANSACTION SNAPSHOT '" + snapshotName.replace("'", "''") + "'");
            }
            return c;
        } catch (SQLException e) {
            c.close();
            throw e;
        }
    }

    /**
     * Copies content, then the events of [{@code fromId}, {@code toId}] (null: all), as of
     * {@code snapshotName} (null: a snapshot of their own, taken by the first connection and shared).
     *
     * @return the rows copied per table: content, engagement_events
     */
    public long[] copy(String snapshotName, long lsn, long tsMs, String snapshotMarker, Long fromId, Long toId,
                       Sender sender, java.util.function.LongConsumer progress) throws SQLException, InterruptedException {
        List<Connection> connections = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(CONNECTIONS,
                dev.engagement.pipeline.Threads.daemon("cdc-snapshot-copy"));
        try {
            Connection first = open(pg, snapshotName);
            connections.add(first);
            String shared = snapshotName;
            if (shared == null) {
                try (Statement s = first.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_export_snapshot()")) {
                    rs.next();
                    shared = rs.getString(1);
                }
            }
            for (int i = 1; i < CONNECTIONS; i++) {
                connections.add(open(pg, shared));
            }
            Relation content = describe(first, "content");
            Relation events = describe(first, "engagement_events");
            AtomicLong copied = new AtomicLong();
            long contents = run(pool, connections, content, List.of(
                    "WHERE id < '" + MIDDLE + "'", "WHERE id >= '" + MIDDLE + "'"),
                    lsn, tsMs, snapshotMarker, sender, copied, n -> { });
            long[] bounds = idBounds(first, fromId, toId);
            long eventRows = 0;
            if (bounds != null) {
                eventRows = run(pool, connections, events, eventParts(bounds[0], bounds[1]),
                        lsn, tsMs, snapshotMarker, sender, new AtomicLong(), progress);
            }
            for (Connection c : connections) {
                c.commit();
            }
            return new long[] {contents, eventRows};
        } finally {
            pool.shutdownNow();
            for (Connection c : connections) {
                try {
                    c.close();
                } catch (SQLException ignored) {
                    // the copy's outcome is already decided
                }
            }
        }
    }

    private long run(ExecutorService pool, List<Connection> connections, Relation table, List<String> clauses, long lsn,
                     long tsMs, String marker, Sender sender, AtomicLong copied, java.util.function.LongConsumer progress)
            throws SQLException, InterruptedException {
        List<Future<Long>> parts = new ArrayList<>();
        for (int i = 0; i < clauses.size(); i++) {
            Connection c = connections.get(i % connections.size());
            String part = clauses.get(i);
            parts.add(pool.submit(() -> copyRange(c, table, part, lsn, tsMs, marker, sender, copied, progress)));
        }
        long total = 0;
        for (Future<Long> part : parts) {
            try {
                total += part.get();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof SQLException sql) {
                    throw sql;
                }
                if (e.getCause() instanceof RuntimeException r) {
                    throw r;
                }
                if (e.getCause() instanceof Error err) {
                    throw err;
                }
                throw new IllegalStateException(e.getCause());
            }
        }
        return total;
    }

    /** Copies the rows {@code part} (a WHERE clause, perhaps an ORDER BY) selects. */
    private static long copyRange(Connection c, Relation table, String part, long lsn, long tsMs, String marker,
                                  Sender sender, AtomicLong copied, java.util.function.LongConsumer progress)
            throws SQLException {
        StringBuilder columns = new StringBuilder();
        for (String column : table.columns()) {
            if (!columns.isEmpty()) {
                columns.append(", ");
            }
            columns.append('"').append(column.replace("\"", "\"\"")).append('"');
        }
        String sql = "COPY (SELECT " + columns + " FROM public." + table.name() + " " + part + ") TO STDOUT";
        JsonBytes out = new JsonBytes();
        CopyText text = new CopyText();
        long rows = 0;
        CopyOut copy = c.unwrap(PGConnection.class).getCopyAPI().copyOut(sql);
        try {
            byte[] row;
            while ((row = copy.readFromCopy()) != null) {
                Envelopes.head(out, 'r', System.currentTimeMillis(), lsn, -1, tsMs, marker, table);
                out.ascii("null");
                Envelopes.after(out);
                String key = text.row(row, table, out);
                Envelopes.end(out);
                sender.send(table, key, out.toBytes(), tsMs);
                rows++;
                FaultPoints.pass("source.snapshot-row");
                long all = copied.incrementAndGet();
                if (all % 10_000 == 0) {
                    progress.accept(all);
                }
            }
        } finally {
            if (copy.isActive()) {
                copy.cancelCopy();
            }
        }
        return rows;
    }

    /**
     * The two parts of the events in [{@code fromId}, {@code toId}]: the halves of the content id space,
     * rows without a content id in the second (they are copied too: the processor reports them invalid).
     */
    public static List<String> eventParts(long fromId, long toId) {
        String ids = " AND id >= " + fromId + " AND id <= " + toId + " ORDER BY id";
        return List.of("WHERE content_id < '" + MIDDLE + "'" + ids,
                "WHERE (content_id >= '" + MIDDLE + "' OR content_id IS NULL)" + ids);
    }

    /** The table's columns and their types, from the catalog. */
    public static Relation describe(Connection c, String table) throws SQLException {
        List<String> names = new ArrayList<>();
        List<Integer> types = new ArrayList<>();
        int oid;
        try (PreparedStatement q = c.prepareStatement("SELECT a.attname, a.atttypid, a.attrelid::int FROM pg_attribute a "
                + "WHERE a.attrelid = ('public.' || ?)::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum")) {
            q.setString(1, table);
            try (ResultSet rs = q.executeQuery()) {
                oid = 0;
                while (rs.next()) {
                    names.add(rs.getString(1));
                    types.add(rs.getInt(2));
                    oid = rs.getInt(3);
                }
            }
        }
        return Relation.of(oid, "public", table, names, types.stream().mapToInt(Integer::intValue).toArray());
    }

    private static long[] idBounds(Connection c, Long fromId, Long toId) throws SQLException {
        try (PreparedStatement q = c.prepareStatement(
                "SELECT min(id), max(id) FROM engagement_events WHERE id >= ? AND id <= ?")) {
            q.setLong(1, fromId == null ? Long.MIN_VALUE : fromId);
            q.setLong(2, toId == null ? Long.MAX_VALUE : toId);
            try (ResultSet rs = q.executeQuery()) {
                rs.next();
                long min = rs.getLong(1);
                if (rs.wasNull()) {
                    return null;
                }
                return new long[] {min, rs.getLong(2)};
            }
        }
    }
}
