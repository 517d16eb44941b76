package dev.engagement.pipeline.source;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Database;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/** What change data capture needs from PostgreSQL, checked before it starts, every gap named at once. */
public final class SourceChecks {
    private SourceChecks() {
    }

    public static void requireReady(PipelineConfig.Postgres pg) throws SQLException {
        List<String> problems = new ArrayList<>();
        try (Connection c = Database.connect(pg)) {
            String wal = Database.walLevel(c);
            if (!"logical".equals(wal)) {
                problems.add("PostgreSQL " + pg + " has wal_level=" + wal + "; change data capture needs logical "
                        + "(ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL)");
            }
            for (String table : List.of("content", "engagement_events")) {
                try (Statement s = c.createStatement();
                     ResultSet rs = s.executeQuery("SELECT to_regclass('public." + table + "')")) {
                    rs.next();
                    if (rs.getString(1) == null) {
                        problems.add("table public." + table + " does not exist in " + pg + "; run ./pipeline db init");
                    }
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalStateException(String.join("; ", problems));
        }
    }
}
