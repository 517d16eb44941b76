package dev.engagement.pipeline.generate;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Database;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

import java.io.IOException;
import java.io.StringReader;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.function.LongConsumer;

/**
 * Writes realistic synthetic content and engagement into PostgreSQL at a steady rate: a catalogue
 * of videos, podcasts and newsletters, a few thousand users, popularity skewed toward a few items.
 * Events go in with COPY, one statement per tick, so the generator can also drive benchmarks.
 */
public final class EventGenerator {
    private static final String[] TOPICS = {"Data Engineering", "Stream Processing", "Kafka", "PostgreSQL",
            "Change Data Capture", "Exactly-Once Delivery", "Observability", "Distributed Systems", "Data Modelling",
            "Query Engines", "Redis", "Backpressure", "Schema Evolution", "Event Sourcing", "Batch vs Streaming"};
    private static final String[] FORMS = {"Introduction to %s", "%s in Practice", "Deep Dive: %s", "%s, Explained",
            "The State of %s", "%s Pitfalls", "Scaling %s", "%s for Beginners"};
    private static final String[] DEVICES = {"mobile", "mobile", "mobile", "desktop", "desktop", "tablet", "tv"};
    private static final String COPY_EVENTS = "COPY engagement_events (content_id, user_id, event_type, event_ts, "
            + "duration_ms, device, raw_payload) FROM STDIN";
    private Duration tick = Duration.ofMillis(100);

    private final PipelineConfig.Postgres pg;
    private final Random random;
    private final List<Item> catalogue = new ArrayList<>();
    private final UUID[] users;

    public EventGenerator(PipelineConfig.Postgres pg, long seed) {
        this.pg = pg;
        this.random = new Random(seed);
        this.users = new UUID[5000];
        for (int i = 0; i < users.length; i++) {
            users[i] = new UUID(random.nextLong(), random.nextLong());
        }
    }

    private record Item(UUID id, Integer lengthSeconds) {
    }

    /** Makes sure at least {@code count} content rows exist, and loads the catalogue. Returns how many were added. */
    public int ensureContent(int count) throws SQLException {
        int added = 0;
        try (Connection c = Database.connect(pg)) {
            int existing;
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM content")) {
                rs.next();
                existing = rs.getInt(1);
            }
            if (existing < count) {
                java.util.Set<String> titles = new java.util.HashSet<>();
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO content (id, slug, title, content_type, "
                        + "length_seconds, publish_ts) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
                    for (int i = existing; i < count; i++) {
                        UUID id = UUID.randomUUID();
                        String type = i % 5 == 4 ? "newsletter" : i % 3 == 0 ? "podcast" : "video";
                        String base = String.format(FORMS[random.nextInt(FORMS.length)], TOPICS[random.nextInt(TOPICS.length)]);
                        String title = base;
                        for (int part = 2; !titles.add(title); part++) {
                            title = base + ", Part " + part;
                        }
                        Integer length = switch (type) {
                            case "video" -> 120 + random.nextInt(3480);
                            case "podcast" -> 900 + random.nextInt(4500);
                            default -> null;
                        };
                        ps.setObject(1, id);
                        ps.setString(2, slug(title) + "-" + id.toString().substring(0, 8));
                        ps.setString(3, title + (type.equals("newsletter") ? " (newsletter)" : ""));
                        ps.setString(4, type);
                        if (length == null) {
                            ps.setNull(5, java.sql.Types.INTEGER);
                        } else {
                            ps.setInt(5, length);
                        }
                        ps.setObject(6, java.time.OffsetDateTime.now().minusDays(random.nextInt(365)));
                        ps.addBatch();
                        added++;
                    }
                    ps.executeBatch();
                }
            }
            catalogue.clear();
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT id, length_seconds FROM content ORDER BY publish_ts DESC, id")) {
                while (rs.next()) {
                    int len = rs.getInt(2);
                    catalogue.add(new Item((UUID) rs.getObject(1), rs.wasNull() ? null : len));
                }
            }
        }
        if (catalogue.isEmpty()) {
            throw new IllegalStateException("no content rows to generate events for");
        }
        return added;
    }

    /**
     * Inserts events at {@code rate} per second until {@code count} are written or {@code duration}
     * has passed (whichever is given), or the thread is interrupted. {@code invalidPercent} of them
     * break a rule on purpose (negative duration or no content id). Returns how many were written.
     */
    public long run(int rate, long count, Duration duration, double invalidPercent, LongConsumer progress)
            throws SQLException, IOException {
        if (catalogue.isEmpty()) {
            ensureContent(1);
        }
        long written = 0;
        Instant start = Instant.now();
        Instant end = duration == null ? null : start.plus(duration);
        try (Connection c = Database.connect(pg)) {
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            StringBuilder rows = new StringBuilder(64 * 1024);
            while (!Thread.currentThread().isInterrupted()) {
                Instant now = Instant.now();
                if (end != null && !now.isBefore(end) || count > 0 && written >= count) {
                    break;
                }
                long due = (long) (Duration.between(start, now).toNanos() / 1e9 * rate) - written + 1;
                if (count > 0) {
                    due = Math.min(due, count - written);
                }
                if (due > 0) {
                    rows.setLength(0);
                    for (long i = 0; i < due; i++) {
                        row(rows, now, invalidPercent);
                    }
                    copy.copyIn(COPY_EVENTS, new StringReader(rows.toString()));
                    written += due;
                    progress.accept(written);
                }
                sleepUntilNextTick();
            }
        }
        return written;
    }

    private void row(StringBuilder out, Instant now, double invalidPercent) {
        Item item = catalogue.get(popular());
        boolean invalid = invalidPercent > 0 && random.nextDouble() * 100 < invalidPercent;
        boolean noContent = invalid && random.nextBoolean();
        int t = random.nextInt(100);
        String type = t < 40 ? "play" : t < 65 ? "pause" : t < 80 ? "finish" : "click";
        Integer duration;
        if ("click".equals(type)) {
            duration = null;
        } else {
            int length = item.lengthSeconds() == null ? 30 + random.nextInt(570) : item.lengthSeconds();
            duration = "finish".equals(type) ? length * 1000 : 1000 + random.nextInt(Math.max(1, length * 1000));
        }
        if (invalid && !noContent) {
            duration = -(1 + random.nextInt(5000));
        }
        out.append(noContent ? "\\N" : item.id().toString()).append('\t')
                .append(users[random.nextInt(users.length)]).append('\t')
                .append(type).append('\t')
                .append(now).append('\t')
                .append(duration == null ? "\\N" : duration.toString()).append('\t')
                .append(DEVICES[random.nextInt(DEVICES.length)]).append('\t')
                .append("{\"app\": \"web-").append(1 + random.nextInt(9)).append(".").append(random.nextInt(20))
                .append("\", \"session\": \"").append(Long.toHexString(random.nextLong())).append("\"}")
                .append('\n');
    }

    /** An index skewed toward the front of the catalogue, roughly Zipf-like. */
    private int popular() {
        double u = random.nextDouble();
        return (int) Math.min(catalogue.size() - 1, Math.floor(Math.pow(u, 3) * catalogue.size()));
    }

    /** How often rows are written at a steady rate (default 100 ms): shorter is smoother, longer is cheaper. */
    public EventGenerator tick(Duration every) {
        this.tick = every;
        return this;
    }

    /** Inserts {@code count} events as fast as PostgreSQL takes them, {@code perCopy} rows per COPY. */
    public void bulk(long count, int perCopy, LongConsumer progress) throws SQLException, IOException {
        if (catalogue.isEmpty()) {
            ensureContent(1);
        }
        try (Connection c = Database.connect(pg)) {
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            StringBuilder rows = new StringBuilder(perCopy * 200);
            long written = 0;
            while (written < count && !Thread.currentThread().isInterrupted()) {
                int n = (int) Math.min(perCopy, count - written);
                rows.setLength(0);
                Instant now = Instant.now();
                for (int i = 0; i < n; i++) {
                    row(rows, now, 0);
                }
                copy.copyIn(COPY_EVENTS, new StringReader(rows.toString()));
                written += n;
                progress.accept(written);
            }
        }
    }

    /**
     * Inserts {@code count} events as {@code perTransaction}-row {@code INSERT ... SELECT} statements,
     * one transaction each: what a batch job in the database does. The rows are a function of their
     * position (no randomness in the database), spread over the catalogue with the same skew.
     */
    public void insertSelect(long count, int perTransaction, LongConsumer progress) throws SQLException {
        if (catalogue.isEmpty()) {
            ensureContent(1);
        }
        String sql = """
                INSERT INTO engagement_events (content_id, user_id, event_type, event_ts, duration_ms, device, raw_payload)
                SELECT ids[1 + floor(power((abs(hashint8(g + ?)) % 1000000) / 1000000.0, 3) * cardinality(ids))::int],
                       md5((g + ?)::text)::uuid,
                       (ARRAY['play','play','pause','finish','click'])[1 + (g % 5)],
                       now(),
                       CASE WHEN g % 5 = 4 THEN NULL ELSE 1000 + (abs(hashint8(g)) % 100000) END,
                       (ARRAY['mobile','mobile','desktop','tablet','tv'])[1 + (abs(hashint8(g + 7)) % 5)],
                       jsonb_build_object('app', 'batch', 'row', g + ?)
                FROM generate_series(1, ?) g, (SELECT ?::uuid[] AS ids) c""";
        try (Connection c = Database.connect(pg); PreparedStatement ps = c.prepareStatement(sql)) {
            java.sql.Array ids = c.createArrayOf("uuid", catalogue.stream().map(Item::id).toArray());
            long written = 0;
            while (written < count && !Thread.currentThread().isInterrupted()) {
                int n = (int) Math.min(perTransaction, count - written);
                ps.setLong(1, written);
                ps.setLong(2, written);
                ps.setLong(3, written);
                ps.setInt(4, n);
                ps.setArray(5, ids);
                ps.executeUpdate();
                written += n;
                progress.accept(written);
            }
        }
    }

    /**
     * Inserts {@code count} events one row per transaction (an {@code INSERT} in autocommit) from
     * {@code clients} connections at once: what an application does. Rows are drawn up front, from
     * this generator's seed; returns when every client is done. With {@code waitForFlush} false the
     * sessions commit with {@code synchronous_commit=off}: each row is still a transaction of its
     * own in the WAL, but a commit does not wait for the disk, so the disk's flush rate does not
     * bound how fast they come.
     */
    public void singleRows(long count, int clients, boolean waitForFlush, LongConsumer progress) throws Exception {
        if (catalogue.isEmpty()) {
            ensureContent(1);
        }
        List<List<String[]>> perClient = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            perClient.add(new ArrayList<>());
        }
        StringBuilder row = new StringBuilder(256);
        Instant now = Instant.now();
        for (long i = 0; i < count; i++) {
            row.setLength(0);
            row(row, now, 0);
            perClient.get((int) (i % clients)).add(row.substring(0, row.length() - 1).split("\t", -1));
        }
        java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(clients,
                dev.engagement.pipeline.Threads.daemon("generator-client"));
        try {
            List<java.util.concurrent.Future<?>> done = new ArrayList<>();
            for (List<String[]> rows : perClient) {
                done.add(pool.submit(() -> {
                    try (Connection c = Database.connect(pg); PreparedStatement ps = c.prepareStatement(
                            "INSERT INTO engagement_events (content_id, user_id, event_type, event_ts, duration_ms, device, "
                                    + "raw_payload) VALUES (?::uuid, ?::uuid, ?, now(), ?::int, ?, ?::jsonb)")) {
                        c.setAutoCommit(true);
                        if (!waitForFlush) {
                            try (Statement st = c.createStatement()) {
                                st.execute("SET synchronous_commit = off");
                            }
                        }
                        for (String[] f : rows) {
                            ps.setString(1, nullable(f[0]));
                            ps.setString(2, f[1]);
                            ps.setString(3, f[2]);
                            ps.setString(4, nullable(f[4]));
                            ps.setString(5, f[5]);
                            ps.setString(6, f[6]);
                            ps.executeUpdate();
                            progress.accept(written.incrementAndGet());
                        }
                    }
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static String nullable(String copyField) {
        return "\\N".equals(copyField) ? null : copyField;
    }

    private void sleepUntilNextTick() {
        try {
            Thread.sleep(tick.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String slug(String title) {
        return title.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("(^-|-$)", "");
    }
}
