package dev.engagement.pipeline.source;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Database;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

/** Reads the replication slot's state from PostgreSQL: does it exist, is it usable, how far behind is it. */
public final class SlotMonitor {
    private final PipelineConfig.Postgres pg;

    public SlotMonitor(PipelineConfig.Postgres pg) {
        this.pg = pg;
    }

    /**
     * @param lagBytes WAL written since the slot's confirmed position (what the slot pins on disk)
     * @param walStatus PostgreSQL's wal_status: reserved, extended, unreserved or lost
     */
    public record Slot(boolean active, long lagBytes, String walStatus, String confirmedFlushLsn) {
        public boolean lost() {
            return "lost".equals(walStatus);
        }
    }

    public Optional<Slot> read() throws SQLException {
        try (Connection c = Database.connect(pg);
             PreparedStatement q = c.prepareStatement("SELECT active, "
                     + "coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn), 0)::bigint, "
                     + "wal_status, confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = ?")) {
            q.setString(1, pg.slotName());
            try (ResultSet rs = q.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new Slot(rs.getBoolean(1), rs.getLong(2), rs.getString(3), rs.getString(4)));
            }
        }
    }

    /**
     * Reads the slot while a source runs: its lag into {@code lag}; why capture must stop, if it must
     * (the slot was dropped while {@code streaming}, or PostgreSQL invalidated it).
     */
    Optional<String> watch(boolean streaming, java.util.concurrent.atomic.AtomicLong lag) throws SQLException {
        Optional<Slot> slot = read();
        if (slot.isEmpty()) {
            return streaming ? Optional.of("replication slot '" + pg.slotName() + "' was dropped while capturing from "
                    + pg + "; capture stops rather than skip the changes it can no longer read") : Optional.empty();
        }
        lag.set(slot.get().lagBytes());
        return slot.get().lost() ? Optional.of(lostMessage(pg.slotName())) : Optional.empty();
    }

    /** A source's status with the slot's lag added while it captures (lag -1: not read yet). */
    static ChangeSource.SourceStatus withLag(ChangeSource.SourceStatus s, long lag) {
        if (lag >= 0 && (s.state() == ChangeSource.State.STREAMING || s.state() == ChangeSource.State.SNAPSHOT)) {
            return new ChangeSource.SourceStatus(s.state(), s.detail() + "; slot lag " + human(lag), s.lastCommitTsMs());
        }
        return s;
    }

    /** Why capture stops for good when PostgreSQL invalidated the slot. */
    static String lostMessage(String slot) {
        return "replication slot '" + slot + "' was invalidated by PostgreSQL (wal_status=lost: the WAL it needed was "
                + "removed, see max_slot_wal_keep_size); the changes in that WAL cannot be captured any more. Capture "
                + "stops rather than skip them silently";
    }

    public static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        if (bytes < 1024 * 1024) {
            return String.format("%.1f KiB", bytes / 1024.0);
        }
        if (bytes < 1024L * 1024 * 1024) {
            return String.format("%.1f MiB", bytes / (1024.0 * 1024));
        }
        return String.format("%.2f GiB", bytes / (1024.0 * 1024 * 1024));
    }
}
