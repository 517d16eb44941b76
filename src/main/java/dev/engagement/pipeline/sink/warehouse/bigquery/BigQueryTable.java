package dev.engagement.pipeline.sink.warehouse.bigquery;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.cloud.bigquery.storage.v1.ProtoSchema;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import dev.engagement.pipeline.model.EnrichedEvent;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.model.Timestamps;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;

/**
 * The BigQuery table of enriched events: its columns (the enriched record, as in DuckDB), how it is
 * created (partitioned by {@code DATE(event_ts)}, clustered by {@code user_id, content_id}), and
 * the proto rows the Storage Write API takes, encoded by hand: field {@code n} is column {@code n},
 * TIMESTAMP as int64 microseconds, NUMERIC as its decimal text, a null column an absent field.
 */
public final class BigQueryTable {
    /** One column: name, BigQuery type, mode, and its proto field. */
    public record Column(String name, String type, boolean required, FieldDescriptorProto.Type proto) {
    }

    public static final List<Column> COLUMNS = List.of(
            new Column("event_id", "INTEGER", true, FieldDescriptorProto.Type.TYPE_INT64),
            new Column("content_id", "STRING", true, FieldDescriptorProto.Type.TYPE_STRING),
            new Column("content_title", "STRING", false, FieldDescriptorProto.Type.TYPE_STRING),
            new Column("content_type", "STRING", false, FieldDescriptorProto.Type.TYPE_STRING),
            new Column("content_length_seconds", "INTEGER", false, FieldDescriptorProto.Type.TYPE_INT64),
            new Column("user_id", "STRING", false, FieldDescriptorProto.Type.TYPE_STRING),
            new Column("event_type", "STRING", true, FieldDescriptorProto.Type.TYPE_STRING),
            new Column("event_ts", "TIMESTAMP", true, FieldDescriptorProto.Type.TYPE_INT64),
            new Column("engagement_seconds", "NUMERIC", false, FieldDescriptorProto.Type.TYPE_STRING),
            new Column("engagement_percentage", "NUMERIC", false, FieldDescriptorProto.Type.TYPE_STRING),
            new Column("device", "STRING", false, FieldDescriptorProto.Type.TYPE_STRING),
            new Column("processed_at", "TIMESTAMP", false, FieldDescriptorProto.Type.TYPE_INT64));

    public static final String PROTO_NAME = "EngagementRow";

    private BigQueryTable() {
    }

    /** The writer schema sent with the first append of a connection. */
    public static ProtoSchema protoSchema() {
        DescriptorProto.Builder d = DescriptorProto.newBuilder().setName(PROTO_NAME);
        for (int i = 0; i < COLUMNS.size(); i++) {
            Column c = COLUMNS.get(i);
            d.addField(FieldDescriptorProto.newBuilder().setName(c.name()).setNumber(i + 1)
                    .setType(c.proto()).setLabel(FieldDescriptorProto.Label.LABEL_OPTIONAL));
        }
        return ProtoSchema.newBuilder().setProtoDescriptor(d).build();
    }

    /** The table resource for tables.insert. */
    public static ObjectNode resource(String project, String dataset, String table) {
        ObjectNode t = Json.MAPPER.createObjectNode();
        ObjectNode ref = t.putObject("tableReference");
        ref.put("projectId", project).put("datasetId", dataset).put("tableId", table);
        t.set("schema", schema());
        t.putObject("timePartitioning").put("type", "DAY").put("field", "event_ts");
        t.putObject("clustering").putArray("fields").add("user_id").add("content_id");
        t.put("description", "engagement-pipeline: one row per valid engagement event, written exactly once");
        return t;
    }

    public static ObjectNode schema() {
        ObjectNode schema = Json.MAPPER.createObjectNode();
        ArrayNode fields = schema.putArray("fields");
        for (Column c : COLUMNS) {
            fields.addObject().put("name", c.name()).put("type", c.type()).put("mode", c.required() ? "REQUIRED" : "NULLABLE");
        }
        return schema;
    }

    /**
     * What is wrong with an existing table for this sink, each problem a line; empty when it fits.
     * The columns must be these, of these types (BigQuery's legacy and standard names both count).
     */
    public static List<String> problems(JsonNode table) {
        List<String> out = new ArrayList<>();
        JsonNode fields = table.path("schema").path("fields");
        java.util.Map<String, String> have = new java.util.LinkedHashMap<>();
        fields.forEach(f -> have.put(f.path("name").asText(), standard(f.path("type").asText())));
        for (Column c : COLUMNS) {
            String type = have.remove(c.name());
            if (type == null) {
                out.add("column " + c.name() + " " + c.type() + " is missing");
            } else if (!type.equals(standard(c.type()))) {
                out.add("column " + c.name() + " is " + type + ", not " + c.type());
            }
        }
        have.keySet().forEach(n -> out.add("column " + n + " is not one the pipeline writes"));
        return out;
    }

    private static String standard(String type) {
        return switch (type) {
            case "INT64" -> "INTEGER";
            case "FLOAT64" -> "FLOAT";
            case "BOOL" -> "BOOLEAN";
            case "BIGNUMERIC" -> "BIGNUMERIC";
            default -> type;
        };
    }

    /** One event as a serialized proto row; reuses {@code buffer} (one per writing thread). */
    public static ByteString row(EnrichedEvent e, byte[] buffer) throws IOException {
        CodedOutputStream out = CodedOutputStream.newInstance(buffer);
        out.writeInt64(1, e.eventId());
        out.writeString(2, e.contentId());
        string(out, 3, e.contentTitle());
        string(out, 4, e.contentType());
        if (e.contentLengthSeconds() != null) {
            out.writeInt64(5, e.contentLengthSeconds());
        }
        string(out, 6, e.userId());
        out.writeString(7, e.eventType().wire());
        out.writeInt64(8, Timestamps.epochMicros(Timestamps.parse(e.eventTs())));
        if (e.engagementMs() != null) {
            out.writeString(9, BigDecimal.valueOf(e.engagementMs(), 3).toPlainString());
        }
        if (e.engagementPercentage() != null) {
            out.writeString(10, e.engagementPercentage().setScale(2, RoundingMode.UNNECESSARY).toPlainString());
        }
        string(out, 11, e.device());
        if (e.processedAt() != null) {
            out.writeInt64(12, Timestamps.epochMicros(Timestamps.parse(e.processedAt())));
        }
        return ByteString.copyFrom(buffer, 0, out.getTotalBytesWritten());
    }

    /** Upper bound of a row's encoded size, to size the buffer. */
    public static int maxRowBytes(EnrichedEvent e) {
        int text = len(e.contentId()) + len(e.contentTitle()) + len(e.contentType()) + len(e.userId()) + len(e.device());
        return 256 + 3 * text;
    }

    private static int len(String s) {
        return s == null ? 0 : s.length();
    }

    private static void string(CodedOutputStream out, int field, String v) throws IOException {
        if (v != null) {
            out.writeString(field, v);
        }
    }
}
