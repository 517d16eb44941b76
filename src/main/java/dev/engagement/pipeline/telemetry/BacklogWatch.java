package dev.engagement.pipeline.telemetry;

import dev.engagement.pipeline.Threads;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Database;
import dev.engagement.pipeline.process.StreamProcessor;
import dev.engagement.pipeline.topic.Backlog;
import dev.engagement.pipeline.topic.Topics;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import org.apache.kafka.clients.admin.Admin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * How far behind the pipeline is, measured from outside its stages every 3 s, so that it shows
 * even when the stage that is behind is down: each consumer group's lag as the broker sees it
 * (the processor's and every sink's), the replication slot's lag as PostgreSQL sees it, and the
 * records waiting in {@code sink.http.dlq}. Runs with the api component.
 */
public final class BacklogWatch implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BacklogWatch.class);
    /** Seven requests to the brokers and a query to PostgreSQL each time: every 3 s is fresh enough for lag. */
    private static final long EVERY_S = 3;
    private static final String SLOT_SQL = "SELECT active, wal_status, "
            + "pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint FROM pg_replication_slots WHERE slot_name = ?";

    private final PipelineConfig config;
    private final Admin admin;
    private final MultiGauge groupLag;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(Threads.daemon("backlog-watch"));
    private Connection db;
    private volatile Reading last = new Reading(List.of(), null, -1, "not measured yet");

    /** The replication slot: {@code lagBytes} is WAL written since its confirmed position (-1: unknown). */
    public record Slot(String name, boolean exists, boolean active, String walStatus, long lagBytes) {
    }

    /** One measurement; {@code problem} says what could not be measured (empty when all was). */
    public record Reading(List<Backlog.GroupLag> groups, Slot slot, long deadLetters, String problem) {
    }

    public BacklogWatch(PipelineConfig config, Admin admin, MeterRegistry registry) {
        this.config = config;
        this.admin = admin;
        this.groupLag = MultiGauge.builder("pipeline.group.lag")
                .description("Records a consumer group of the pipeline has not read yet, as the broker sees it "
                        + "(groups with members; measured by the api component)").register(registry);
    }

    public void start() {
        timer.scheduleWithFixedDelay(this::measure, 2, EVERY_S, TimeUnit.SECONDS);
    }

    public Reading last() {
        return last;
    }

    static boolean pipelineGroup(String group) {
        return group.equals(StreamProcessor.APPLICATION_ID) || group.startsWith("engagement-sink-");
    }

    void measure() {
        StringBuilder problems = new StringBuilder();
        List<Backlog.GroupLag> groups = List.of();
        long dlq = -1;
        try {
            groups = Backlog.groups(admin, BacklogWatch::pipelineGroup);
            dlq = Backlog.records(admin, Topics.HTTP_DLQ);
        } catch (Exception e) {
            problems.append("Kafka: ").append(cause(e)).append(". ");
        }
        Slot slot = null;
        try {
            slot = slot();
        } catch (SQLException e) {
            problems.append("PostgreSQL: ").append(e.getMessage()).append(". ");
            closeDb();
        }
        if (!groups.isEmpty() || problems.isEmpty()) {
            groupLag.register(groups.stream().filter(Backlog.GroupLag::active)
                    .map(g -> MultiGauge.Row.of(Tags.of("group", g.group()), g.lag())).toList(), true);
        }
        Reading before = last;
        last = new Reading(groups.isEmpty() && !problems.isEmpty() ? before.groups() : groups, slot,
                dlq < 0 ? before.deadLetters() : dlq, problems.toString().trim());
    }

    private Slot slot() throws SQLException {
        if (db == null || db.isClosed()) {
            db = Database.connect(config.postgres());
        }
        try (PreparedStatement ps = db.prepareStatement(SLOT_SQL)) {
            ps.setQueryTimeout(5);
            ps.setString(1, config.postgres().slotName());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return new Slot(config.postgres().slotName(), false, false, null, -1);
                }
                long lag = rs.getLong(3);
                return new Slot(config.postgres().slotName(), true, rs.getBoolean(1), rs.getString(2),
                        rs.wasNull() ? -1 : lag);
            }
        }
    }

    private static String cause(Exception e) {
        Throwable t = e.getCause() != null ? e.getCause() : e;
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }

    private void closeDb() {
        try {
            if (db != null) {
                db.close();
            }
        } catch (SQLException e) {
            LOG.debug("closing the backlog watch's connection: {}", e.getMessage());
        }
        db = null;
    }

    @Override
    public void close() {
        timer.shutdownNow();
        try {
            timer.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeDb();
    }
}
