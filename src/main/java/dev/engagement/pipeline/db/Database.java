package dev.engagement.pipeline.db;

import dev.engagement.pipeline.config.PipelineConfig;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/** JDBC connections to the source database. */
public final class Database {
    private Database() {
    }

    public static Connection connect(PipelineConfig.Postgres pg) throws SQLException {
        return connect(pg, pg.database());
    }

    public static Connection connect(PipelineConfig.Postgres pg, String database) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", pg.user());
        if (!pg.password().isEmpty()) {
            props.setProperty("password", pg.password().reveal());
        }
        props.setProperty("connectTimeout", "5");
        props.setProperty("ApplicationName", "engagement-pipeline");
        props.setProperty("reWriteBatchedInserts", "true");
        return DriverManager.getConnection(pg.jdbcUrl(database), props);
    }

    /** Creates the database when it does not exist yet (connecting to the maintenance database). */
    public static boolean ensureDatabase(PipelineConfig.Postgres pg) throws SQLException {
        try (Connection c = connect(pg, "postgres");
             PreparedStatement q = c.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
            q.setString(1, pg.database());
            try (ResultSet rs = q.executeQuery()) {
                if (rs.next()) {
                    return false;
                }
            }
            try (Statement s = c.createStatement()) {
                s.execute("CREATE DATABASE \"" + pg.database().replace("\"", "\"\"") + "\"");
            }
            return true;
        }
    }

    public static String walLevel(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW wal_level")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
