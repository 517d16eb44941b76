package dev.engagement.pipeline.db;

import dev.engagement.pipeline.config.PipelineConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The source schema: the design's DDL for content and engagement_events, unchanged but for IF NOT EXISTS, and the
 * publication that logical replication reads. Idempotent.
 */
public final class Schema {
    private static final Logger LOG = LoggerFactory.getLogger(Schema.class);

    public static final String CONTENT_DDL = """
            CREATE TABLE IF NOT EXISTS content (
                id              UUID PRIMARY KEY,
                slug            TEXT UNIQUE NOT NULL,
                title           TEXT NOT NULL,
                content_type    TEXT CHECK (content_type IN ('podcast', 'newsletter', 'video')),
                length_seconds  INTEGER,
                publish_ts      TIMESTAMPTZ NOT NULL
            )""";

    public static final String EVENTS_DDL = """
            CREATE TABLE IF NOT EXISTS engagement_events (
                id           BIGSERIAL PRIMARY KEY,
                content_id   UUID REFERENCES content(id),
                user_id      UUID,
                event_type   TEXT CHECK (event_type IN ('play', 'pause', 'finish', 'click')),
                event_ts     TIMESTAMPTZ NOT NULL,
                duration_ms  INTEGER,
                device       TEXT,
                raw_payload  JSONB
            )""";

    /**
     * The source writes here every few seconds so that the replication slot sees changes of its own
     * database and can advance even when content and events are idle (else WAL from other
     * databases piles up behind the slot).
     */
    public static final String HEARTBEAT_TABLE = "pipeline_heartbeat";
    /** The source's heartbeat write, the same for either source. */
    public static final String HEARTBEAT_UPSERT = "INSERT INTO " + HEARTBEAT_TABLE + " (id, ts) VALUES (1, now()) "
            + "ON CONFLICT (id) DO UPDATE SET ts = excluded.ts";
    static final String HEARTBEAT_DDL = "CREATE TABLE IF NOT EXISTS " + HEARTBEAT_TABLE
            + " (id INTEGER PRIMARY KEY, ts TIMESTAMPTZ NOT NULL)";

    private Schema() {
    }

    /** Creates the database if needed, the two tables and the publication. Fails clearly without logical WAL. */
    public static void init(PipelineConfig.Postgres pg) throws SQLException {
        if (Database.ensureDatabase(pg)) {
            LOG.info("created database {}", pg.database());
        }
        try (Connection c = Database.connect(pg); Statement s = c.createStatement()) {
            s.execute(CONTENT_DDL);
            s.execute(EVENTS_DDL);
            s.execute(HEARTBEAT_DDL);
            if (!publicationExists(c, pg.publication())) {
                s.execute("CREATE PUBLICATION " + pg.publication() + " FOR TABLE content, engagement_events, "
                        + HEARTBEAT_TABLE);
                LOG.info("created publication {}", pg.publication());
            } else if (!published(c, pg.publication(), HEARTBEAT_TABLE)) {
                s.execute("ALTER PUBLICATION " + pg.publication() + " ADD TABLE " + HEARTBEAT_TABLE);
            }
            String wal = Database.walLevel(c);
            if (!"logical".equals(wal)) {
                LOG.warn("PostgreSQL at {} has wal_level={}; change data capture needs wal_level=logical "
                        + "(ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL)", pg, wal);
            }
        }
    }

    /** Creates the publication of the captured tables when it is missing (someone dropped it, or no db init ran). */
    public static boolean ensurePublication(Connection c, String publication) throws SQLException {
        if (publicationExists(c, publication)) {
            return false;
        }
        try (Statement s = c.createStatement()) {
            s.execute("CREATE PUBLICATION " + publication + " FOR TABLE content, engagement_events, " + HEARTBEAT_TABLE);
        }
        LOG.info("created publication {}", publication);
        return true;
    }

    static boolean published(Connection c, String publication, String table) throws SQLException {
        try (PreparedStatement q = c.prepareStatement(
                "SELECT 1 FROM pg_publication_tables WHERE pubname = ? AND schemaname = 'public' AND tablename = ?")) {
            q.setString(1, publication);
            q.setString(2, table);
            try (ResultSet rs = q.executeQuery()) {
                return rs.next();
            }
        }
    }

    static boolean publicationExists(Connection c, String name) throws SQLException {
        try (PreparedStatement q = c.prepareStatement("SELECT 1 FROM pg_publication WHERE pubname = ?")) {
            q.setString(1, name);
            try (ResultSet rs = q.executeQuery()) {
                return rs.next();
            }
        }
    }
}
