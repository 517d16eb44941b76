package dev.engagement.pipeline.sink.warehouse.bigquery;

import com.google.protobuf.ByteString;
import dev.engagement.pipeline.config.ConfigLoader;
import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.model.EnrichedEvent;
import dev.engagement.pipeline.model.EventType;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.sink.SinkBatch;
import dev.engagement.pipeline.sink.SinkRecord;
import dev.engagement.pipeline.sink.warehouse.Warehouse;
import dev.engagement.pipeline.sink.warehouse.bigquery.fake.FakeBigQuery;
import dev.engagement.pipeline.sink.warehouse.duckdb.DuckDbWarehouse;
import dev.engagement.pipeline.testing.PipelineProcess;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every query of docs/ANALYTICS.md, read from that file, run on a known set of events: on DuckDB,
 * on the BigQuery fake, and through {@code ./pipeline warehouse query} on both. The expected rows
 * come from the events themselves, computed here in Java (the percentiles are fixed by how the
 * events were chosen: flat around each quantile, so every definition of it agrees).
 */
class AnalyticsQueriesIT {
    private static final Pattern BLOCK = Pattern.compile("```sql\\n-- (\\w+) \\((duckdb|bigquery|both)\\)\\n(.*?)```",
            Pattern.DOTALL);
    private static final Map<String, String> DUCKDB = new LinkedHashMap<>();
    private static final Map<String, String> BIGQUERY = new LinkedHashMap<>();
    private static final TopicPartition P0 = new TopicPartition("engagement.enriched", 0);

    record E(long id, String content, String type, String user, EventType event, String ts, Long ms, String device) {
        EnrichedEvent enriched() {
            return new EnrichedEvent(id, content, "Title " + content, type, 600, user, event, ts, ms,
                    ms == null ? null : BigDecimal.valueOf(ms).divide(BigDecimal.valueOf(6000), 2, RoundingMode.HALF_UP),
                    device, "2026-12-02T12:00:00Z");
        }

        Instant instant() {
            return Instant.parse(ts);
        }

        BigDecimal seconds() {
            return ms == null ? null : BigDecimal.valueOf(ms, 3);
        }
    }

    static final List<E> EVENTS = List.of(
            new E(1, "c1", "video", "u1", EventType.PLAY, "2026-11-30T10:05:00Z", 10_000L, "web"),
            new E(2, "c1", "video", "u1", EventType.FINISH, "2026-11-30T10:20:00Z", 90_000L, "web"),
            new E(3, "c2", "video", "u2", EventType.PLAY, "2026-11-30T10:10:00Z", 3_000L, "mobile"),
            new E(4, "c1", "video", "u2", EventType.PLAY, "2026-11-30T10:30:00Z", 3_000L, "mobile"),
            new E(5, "c3", "podcast", "u3", EventType.PLAY, "2026-11-30T10:40:00Z", 3_000L, "tv"),
            new E(6, "c2", "video", "u3", EventType.PAUSE, "2026-11-30T10:50:00Z", 3_000L, "web"),
            new E(7, "c3", "podcast", "u1", EventType.PLAY, "2026-11-30T11:00:00Z", 3_000L, "web"),
            new E(8, "c3", "podcast", "u1", EventType.FINISH, "2026-11-30T11:30:00Z", 9_000L, "web"),
            new E(9, "c2", "video", "u4", EventType.PLAY, "2026-11-30T11:15:00Z", 3_000L, "mobile"),
            new E(10, "c2", "video", "u4", EventType.CLICK, "2026-11-30T11:20:00Z", null, "mobile"),
            new E(11, "c1", "video", "u1", EventType.PLAY, "2026-12-01T09:00:00Z", 3_000L, "web"),
            new E(12, "c1", "video", "u2", EventType.FINISH, "2026-12-01T09:30:00Z", 90_000L, "mobile"),
            new E(13, "c2", "video", "u5", EventType.FINISH, "2026-12-01T09:45:00Z", 90_000L, "tv"),
            new E(14, "c3", "podcast", "u1", EventType.PLAY, "2026-12-02T08:00:00Z", 9_000L, "web"),
            new E(15, "c3", "podcast", "u5", EventType.FINISH, "2026-12-02T08:10:00Z", 9_000L, "tv"));

    @BeforeAll
    static void readTheDocs() throws Exception {
        Matcher m = BLOCK.matcher(Files.readString(Path.of("docs/ANALYTICS.md")));
        while (m.find()) {
            String sql = m.group(3).strip();
            switch (m.group(2)) {
                case "duckdb" -> DUCKDB.put(m.group(1), sql);
                case "bigquery" -> BIGQUERY.put(m.group(1), sql);
                default -> {
                    DUCKDB.put(m.group(1), sql);
                    BIGQUERY.put(m.group(1), sql);
                }
            }
        }
        assertThat(DUCKDB.keySet()).containsExactly("trending_by_hour", "completion_by_type", "cohort_retention",
                "device_mix", "engagement_percentiles");
        assertThat(BIGQUERY.keySet()).containsExactlyElementsOf(DUCKDB.keySet());
    }

    @Test
    void everyDocumentedQueryAnswersRightOnDuckDb(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("warehouse.duckdb");
        try (DuckDbWarehouse w = new DuckDbWarehouse(file)) {
            assertThat(w.claim(List.of(P0), "topic")).containsEntry(P0, OptionalLong.empty());
            List<SinkRecord> records = new ArrayList<>();
            for (int i = 0; i < EVENTS.size(); i++) {
                EnrichedEvent e = EVENTS.get(i).enriched();
                records.add(new SinkRecord(P0, i, 0, e.contentId(), e.toJson(), e));
            }
            w.write(new SinkBatch(records, Map.of(P0, 0L), Map.of(P0, (long) EVENTS.size())));
            for (var q : DUCKDB.entrySet()) {
                assertThat(normal(w.select(q.getValue(), Warehouse.QueryLimits.GENEROUS))).as(q.getKey())
                        .isEqualTo(expected(q.getKey()));
            }
        }
        Map<String, String> env = Map.of("DUCKDB_PATH", file.toString(), "DATA_DIR", dir.resolve("data").toString());
        for (var q : DUCKDB.entrySet()) {
            assertThat(normal(cli(env, dir, q.getValue()))).as("warehouse query: " + q.getKey()).isEqualTo(expected(q.getKey()));
        }
    }

    @Test
    void everyDocumentedQueryAnswersRightOnTheBigQueryFake(@TempDir Path dir) throws Exception {
        try (FakeBigQuery fake = FakeBigQuery.start("analytics-project")) {
            Map<String, String> env = new HashMap<>(fake.settings("analytics"));
            env.put("DATA_DIR", dir.resolve("data").toString());
            checkBigQuery(env, dir);
        }
    }

    /** Writes the events to the table {@code env} names and checks every documented query on it, in-process and by the CLI. */
    static void checkBigQuery(Map<String, String> env, Path dir) throws Exception {
        {
            PipelineConfig.Warehouse config = ConfigLoader.load(env).warehouse();
            GoogleAuth auth = GoogleAuth.of(config);
            new BigQueryRest(config, auth).ensureTable();
            try (StorageWrite write = new StorageWrite(config, auth)) {
                String stream = write.createStream();
                List<ByteString> rows = new ArrayList<>();
                byte[] buffer = new byte[4096];
                for (E e : EVENTS) {
                    rows.add(BigQueryTable.row(e.enriched(), buffer));
                }
                try (StorageWrite.Connection c = write.connect(stream)) {
                    assertThat(c.append(0, rows, Duration.ofSeconds(10))).isEqualTo(new StorageWrite.Appended(0));
                }
            }
            BigQueryWarehouse w = new BigQueryWarehouse(config);
            for (var q : BIGQUERY.entrySet()) {
                assertThat(normal(w.select(q.getValue(), Warehouse.QueryLimits.GENEROUS))).as(q.getKey())
                        .isEqualTo(expected(q.getKey()));
            }
            for (var q : BIGQUERY.entrySet()) {
                assertThat(normal(cli(env, dir, q.getValue()))).as("warehouse query: " + q.getKey())
                        .isEqualTo(expected(q.getKey()));
            }
        }
    }

    private static Warehouse.QueryResult cli(Map<String, String> env, Path dir, String sql) throws Exception {
        try (PipelineProcess p = PipelineProcess.start(env, dir, "warehouse", "query", "--format", "json", sql)) {
            assertThat(p.waitFor(60)).as(p.output()).isZero();
            String json = p.output().lines().filter(l -> l.startsWith("{\"columns\"")).reduce((a, b) -> b).orElseThrow();
            return Warehouse.QueryResult.fromJson(Json.MAPPER.readTree(json));
        }
    }

    /** Rows as comparable text: numbers without trailing zeros, timestamps as instants, dates as dates. */
    static List<List<String>> normal(Warehouse.QueryResult r) {
        List<List<String>> out = new ArrayList<>();
        for (List<Object> row : r.rows()) {
            List<String> n = new ArrayList<>();
            for (Object v : row) {
                n.add(normal(v));
            }
            out.add(n);
        }
        return out;
    }

    private static String normal(Object v) {
        if (v == null) {
            return null;
        }
        if (v instanceof Number) {
            BigDecimal d = new BigDecimal(v.toString());
            return d.signum() == 0 ? "0" : d.stripTrailingZeros().toPlainString();
        }
        String s = v.toString();
        if (s.matches("-?\\d+(\\.\\d+)?")) {
            return normal(new BigDecimal(s));
        }
        try {
            return OffsetDateTime.parse(s.replace(' ', 'T')).toInstant().toString();
        } catch (Exception notATimestamp) {
            return s;
        }
    }

    private static List<List<String>> expected(String query) {
        List<List<Object>> rows = switch (query) {
            case "trending_by_hour" -> trending();
            case "completion_by_type" -> completion();
            case "cohort_retention" -> cohorts();
            case "device_mix" -> devices();
            case "engagement_percentiles" -> List.of(
                    List.of("podcast", new BigDecimal("9"), new BigDecimal("9"), new BigDecimal("9")),
                    List.of("video", new BigDecimal("3"), new BigDecimal("90"), new BigDecimal("90")));
            default -> throw new IllegalArgumentException(query);
        };
        return normal(new Warehouse.QueryResult(List.of(), rows));
    }

    private static List<List<Object>> trending() {
        Map<Instant, Map<String, List<E>>> byHour = new TreeMap<>();
        for (E e : EVENTS) {
            byHour.computeIfAbsent(e.instant().truncatedTo(ChronoUnit.HOURS), h -> new TreeMap<>())
                    .computeIfAbsent(e.content(), c -> new ArrayList<>()).add(e);
        }
        List<List<Object>> out = new ArrayList<>();
        byHour.forEach((hour, contents) -> contents.entrySet().stream()
                .sorted(Comparator.<Map.Entry<String, List<E>>>comparingInt(x -> -x.getValue().size())
                        .thenComparing(Map.Entry::getKey))
                .limit(3)
                .forEach(x -> out.add(java.util.Arrays.asList(hour.toString(), x.getKey(), (long) x.getValue().size(),
                        sum(x.getValue())))));
        return out;
    }

    private static BigDecimal sum(List<E> events) {
        return events.stream().map(E::seconds).filter(Objects::nonNull).reduce(BigDecimal::add).orElse(null);
    }

    private static List<List<Object>> completion() {
        Map<String, long[]> byType = new TreeMap<>();
        for (E e : EVENTS) {
            long[] c = byType.computeIfAbsent(e.type(), t -> new long[2]);
            c[0] += e.event() == EventType.PLAY ? 1 : 0;
            c[1] += e.event() == EventType.FINISH ? 1 : 0;
        }
        List<List<Object>> out = new ArrayList<>();
        byType.forEach((type, c) -> out.add(java.util.Arrays.asList(type, c[0], c[1], c[0] == 0 ? null
                : BigDecimal.valueOf(100.0 * c[1] / c[0]).setScale(1, RoundingMode.HALF_UP))));
        return out;
    }

    private static List<List<Object>> cohorts() {
        Map<String, java.util.TreeSet<LocalDate>> days = new TreeMap<>();
        for (E e : EVENTS) {
            days.computeIfAbsent(e.user(), u -> new java.util.TreeSet<>()).add(LocalDate.ofInstant(e.instant(), ZoneOffset.UTC));
        }
        Map<LocalDate, Map<Long, Long>> counts = new TreeMap<>();
        days.forEach((user, ds) -> ds.forEach(d -> counts.computeIfAbsent(ds.first(), c -> new TreeMap<>())
                .merge(ChronoUnit.DAYS.between(ds.first(), d), 1L, Long::sum)));
        List<List<Object>> out = new ArrayList<>();
        counts.forEach((cohort, byDay) -> byDay.forEach((n, users) -> out.add(List.of(cohort.toString(), n, users))));
        return out;
    }

    private static List<List<Object>> devices() {
        Map<String, Long> byDevice = new TreeMap<>();
        EVENTS.forEach(e -> byDevice.merge(e.device(), 1L, Long::sum));
        List<List<Object>> out = new ArrayList<>();
        byDevice.entrySet().stream()
                .sorted(Comparator.<Map.Entry<String, Long>>comparingLong(x -> -x.getValue()).thenComparing(Map.Entry::getKey))
                .forEach(x -> out.add(List.of(x.getKey(), x.getValue(), BigDecimal.valueOf(100.0 * x.getValue()
                        / EVENTS.size()).setScale(1, RoundingMode.HALF_UP))));
        return out;
    }
}
