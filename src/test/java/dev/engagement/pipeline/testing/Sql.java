package dev.engagement.pipeline.testing;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Database;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** Test-side SQL against the source database: inserting rows and computing ground truth. */
public final class Sql implements AutoCloseable {
    private final Connection connection;

    public Sql(PipelineConfig.Postgres pg) throws SQLException {
        this.connection = Database.connect(pg);
    }

    public Connection connection() {
        return connection;
    }

    public UUID content(String title, String type, Integer lengthSeconds) throws SQLException {
        UUID id = UUID.randomUUID();
        try (PreparedStatement ps = connection.prepareStatement(
                "INSERT INTO content (id, slug, title, content_type, length_seconds, publish_ts) VALUES (?,?,?,?,?,now())")) {
            ps.setObject(1, id);
            ps.setString(2, "slug-" + id);
            ps.setString(3, title);
            ps.setString(4, type);
            if (lengthSeconds == null) {
                ps.setNull(5, java.sql.Types.INTEGER);
            } else {
                ps.setInt(5, lengthSeconds);
            }
            ps.executeUpdate();
        }
        return id;
    }

    public long event(UUID contentId, String type, Integer durationMs) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(
                "INSERT INTO engagement_events (content_id, user_id, event_type, event_ts, duration_ms, device, raw_payload) "
                        + "VALUES (?,?,?,now(),?,?,?::jsonb) RETURNING id")) {
            ps.setObject(1, contentId);
            ps.setObject(2, UUID.randomUUID());
            ps.setString(3, type);
            if (durationMs == null) {
                ps.setNull(4, java.sql.Types.INTEGER);
            } else {
                ps.setInt(4, durationMs);
            }
            ps.setString(5, "mobile");
            ps.setString(6, "{\"test\":true}");
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    public void execute(String sql) throws SQLException {
        try (Statement s = connection.createStatement()) {
            s.execute(sql);
        }
    }

    public long count(String sql) throws SQLException {
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    public List<Object[]> rows(String sql) throws SQLException {
        List<Object[]> out = new ArrayList<>();
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            int n = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                Object[] row = new Object[n];
                for (int i = 0; i < n; i++) {
                    row[i] = rs.getObject(i + 1);
                }
                out.add(row);
            }
        }
        return out;
    }

    @Override
    public void close() throws SQLException {
        connection.close();
    }
}
