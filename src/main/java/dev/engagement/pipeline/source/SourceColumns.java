package dev.engagement.pipeline.source;

import dev.engagement.pipeline.source.pg.Relation;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The columns of the captured tables that the pipeline reads, and the types it can read them as.
 * A column it does not know (an {@code ALTER TABLE ... ADD COLUMN}) is carried in the change
 * envelope and ignored downstream. A column it needs that is gone or of another type would turn
 * every later row into a wrong or {@code malformed} event: the sources check each description of a
 * table (at start from the catalog, and each pgoutput Relation message or Debezium schema after an
 * ALTER TABLE) and stop capturing with an error that names the column, before any such row is written.
 */
public final class SourceColumns {
    /** What the pipeline reads a column as. */
    public enum Kind {
        ID("uuid or text"), TEXT("text"), INTEGER("an integer (smallint, integer or bigint)"),
        TIMESTAMPTZ("timestamp with time zone");

        private final String words;

        Kind(String words) {
            this.words = words;
        }
    }

    /** A column as a table describes it: what the pipeline can read it as (null: nothing), and its type's name. */
    public record Column(Kind kind, String typeName) {
    }

    private static final Map<String, Map<String, Kind>> NEEDED = Map.of(
            "content", ordered("id", Kind.ID, "title", Kind.TEXT, "content_type", Kind.TEXT,
                    "length_seconds", Kind.INTEGER),
            "engagement_events", ordered("id", Kind.INTEGER, "content_id", Kind.ID, "user_id", Kind.ID,
                    "event_type", Kind.TEXT, "event_ts", Kind.TIMESTAMPTZ, "duration_ms", Kind.INTEGER,
                    "device", Kind.TEXT));

    private SourceColumns() {
    }

    /** The needed columns of {@code table} that {@code columns} lacks or has as another type; empty when all is well. */
    public static List<String> problems(String table, Map<String, Column> columns) {
        Map<String, Kind> needed = NEEDED.get(table);
        List<String> problems = new ArrayList<>();
        if (needed == null) {
            return problems;
        }
        needed.forEach((name, kind) -> {
            Column actual = columns.get(name);
            if (actual == null) {
                problems.add(table + "." + name + " is missing (dropped or renamed): the pipeline needs it as "
                        + kind.words);
            } else if (actual.kind() != kind && !(kind == Kind.ID && actual.kind() == Kind.TEXT)) {
                problems.add(table + "." + name + " is " + actual.typeName() + ": the pipeline needs it as " + kind.words);
            }
        });
        return problems;
    }

    /** The problems of a table as pgoutput or the catalog describes it. */
    public static List<String> problems(Relation relation) {
        if (!"public".equals(relation.namespace())) {
            return List.of();
        }
        Map<String, Column> columns = new LinkedHashMap<>();
        for (int i = 0; i < relation.columns().size(); i++) {
            columns.put(relation.columns().get(i), ofOid(relation.types()[i]));
        }
        return problems(relation.name(), columns);
    }

    /** The problems of a table as a Debezium row schema (the envelope's {@code after}) describes it. */
    public static List<String> problems(String table, Schema row) {
        Map<String, Column> columns = new LinkedHashMap<>();
        for (Field f : row.fields()) {
            columns.put(f.name(), ofConnect(f.schema()));
        }
        return problems(table, columns);
    }

    /** One sentence for the log and /health. */
    public static String message(String table, List<String> problems) {
        return "the captured table public." + table + " no longer has what the pipeline needs: "
                + String.join("; ", problems) + ". Nothing more is captured until it has (rows written meanwhile are "
                + "not turned into wrong events); restore the column, then see \"Schema changes\" in the README";
    }

    static Column ofOid(int oid) {
        return switch (oid) {
            case 20 -> new Column(Kind.INTEGER, "bigint");
            case 21 -> new Column(Kind.INTEGER, "smallint");
            case 23 -> new Column(Kind.INTEGER, "integer");
            case 25 -> new Column(Kind.TEXT, "text");
            case 1042 -> new Column(Kind.TEXT, "character");
            case 1043 -> new Column(Kind.TEXT, "character varying");
            case 2950 -> new Column(Kind.ID, "uuid");
            case 1184 -> new Column(Kind.TIMESTAMPTZ, "timestamp with time zone");
            case 1114 -> new Column(null, "timestamp without time zone");
            case 1700 -> new Column(null, "numeric");
            case 700 -> new Column(null, "real");
            case 701 -> new Column(null, "double precision");
            case 16 -> new Column(null, "boolean");
            case 114 -> new Column(null, "json");
            case 3802 -> new Column(null, "jsonb");
            case 1082 -> new Column(null, "date");
            default -> new Column(null, "a type of oid " + oid);
        };
    }

    static Column ofConnect(Schema s) {
        String name = s.name();
        return switch (s.type()) {
            case INT16, INT32, INT64 -> name == null ? new Column(Kind.INTEGER, s.type().getName())
                    : new Column(null, name);
            case STRING -> name == null ? new Column(Kind.TEXT, "text")
                    : switch (name) {
                        case "io.debezium.data.Uuid" -> new Column(Kind.ID, "uuid");
                        case "io.debezium.time.ZonedTimestamp" -> new Column(Kind.TIMESTAMPTZ, "timestamp with time zone");
                        default -> new Column(null, name);
                    };
            default -> new Column(null, name == null ? s.type().getName() : name);
        };
    }

    private static Map<String, Kind> ordered(Object... pairs) {
        Map<String, Kind> m = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            m.put((String) pairs[i], (Kind) pairs[i + 1]);
        }
        return m;
    }
}
