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
        return connect(pg, database, new Properties());
    }

    /**
     * A logical replication connection (walsender) to the source database, its values written in UTC
     * and ISO dates, so that the source can turn timestamps into the envelope's form without parsing.
     */
    public static Connection replication(PipelineConfig.Postgres pg) throws SQLException {
        Properties props = new Properties();
        props.setProperty("replication", "database");
        props.setProperty("assumeMinServerVersion", "10");
        props.setProperty("preferQueryMode", "simple");
        props.setProperty("options", "-c TimeZone=UTC -c DateStyle=ISO");
        props.setProperty("ApplicationName", "engagement-pipeline-source");
        return connect(pg, pg.database(), props);
    }

    private static Connection connect(PipelineConfig.Postgres pg, String database, Properties props) throws SQLException {
        props.setProperty("user", pg.user());
        if (!pg.password().isEmpty()) {
            props.setProperty("password", pg.password().reveal());
        }
        props.setProperty("connectTimeout", "5");
        props.setProperty("sslmode", pg.sslMode().wire());
        pg.sslRootCert().ifPresent(cert -> props.setProperty("sslrootcert", cert.toAbsolutePath().toString()));
        props.putIfAbsent("ApplicationName", "engagement-pipeline");
        props.setProperty("reWriteBatchedInserts", "true");
        try {
            return DriverManager.getConnection(pg.jdbcUrl(database), props);
        } catch (SQLException e) {
            throw tlsExplained(pg, e);
        }
    }

    /** A TLS failure says which setting decides it, rather than only what pgjdbc saw. */
    private static SQLException tlsExplained(PipelineConfig.Postgres pg, SQLException e) {
        String message = String.valueOf(e.getMessage());
        boolean tls = message.contains("hostname") || message.contains("certificate") || message.contains("SSL")
                || causedBy(e, javax.net.ssl.SSLException.class);
        if (!tls || pg.sslMode() == PipelineConfig.SslMode.DISABLE && !message.contains("no encryption")) {
            return e;
        }
        String why = pg.sslMode() == PipelineConfig.SslMode.VERIFY_FULL
                ? "with POSTGRES_SSLMODE=verify-full its certificate must be signed by POSTGRES_SSLROOTCERT and name "
                        + "the host " + pg.host()
                : "POSTGRES_SSLMODE=" + pg.sslMode().wire() + " does not satisfy it";
        return new SQLException("TLS to PostgreSQL " + pg + " failed: " + why + " (" + message + ")", e.getSQLState(), e);
    }

    private static boolean causedBy(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    /** Where PostgreSQL's WAL is now, as PostgreSQL writes an LSN ({@code 0/16B3748}). */
    public static String currentWalLsn(PipelineConfig.Postgres pg) throws SQLException {
        try (Connection c = connect(pg); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT pg_current_wal_lsn()::text")) {
            rs.next();
            return rs.getString(1);
        }
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
