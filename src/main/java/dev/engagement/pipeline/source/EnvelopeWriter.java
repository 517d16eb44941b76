package dev.engagement.pipeline.source;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.engagement.pipeline.model.Json;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Struct;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

/**
 * Writes a Debezium change-event Struct as the CDC topics' JSON envelope: Debezium's shape with a
 * lean {@code source} block, written straight from the Struct with the streaming generator (no
 * intermediate tree, no schema in the message). See {@link dev.engagement.pipeline.model.CdcEvent}.
 */
final class EnvelopeWriter {
    private static final List<String> SOURCE_FIELDS = List.of("lsn", "txId", "ts_ms", "snapshot", "table");
    /** Debezium's logical type for json/jsonb columns: valid JSON text, embedded as JSON, not as a string. */
    private static final String JSON_TYPE = "io.debezium.data.Json";
    /** The fields of each envelope schema, looked up once per schema rather than by name per record. */
    private static final Map<Schema, Layout> LAYOUTS = new java.util.concurrent.ConcurrentHashMap<>();

    private EnvelopeWriter() {
    }

    private record Layout(Field op, Field tsMs, Field source, List<Field> sourceFields, Field before, Field after) {
        static Layout of(Schema envelope) {
            Schema src = envelope.field("source").schema();
            List<Field> sf = SOURCE_FIELDS.stream().map(src::field).filter(java.util.Objects::nonNull).toList();
            return new Layout(envelope.field("op"), envelope.field("ts_ms"), envelope.field("source"), sf,
                    envelope.field("before"), envelope.field("after"));
        }
    }

    static byte[] write(Struct envelope) {
        Layout l = LAYOUTS.computeIfAbsent(envelope.schema(), Layout::of);
        return Json.write(g -> {
            g.writeStartObject();
            g.writeStringField("op", (String) envelope.get(l.op()));
            Object ts = l.tsMs() == null ? null : envelope.get(l.tsMs());
            if (ts != null) {
                g.writeNumberField("ts_ms", (Long) ts);
            }
            Struct source = (Struct) envelope.get(l.source());
            if (source != null) {
                g.writeObjectFieldStart("source");
                for (Field f : l.sourceFields()) {
                    g.writeFieldName(f.name());
                    value(g, f.schema(), source.get(f));
                }
                g.writeEndObject();
            }
            g.writeFieldName("before");
            value(g, l.before().schema(), envelope.get(l.before()));
            g.writeFieldName("after");
            value(g, l.after().schema(), envelope.get(l.after()));
            g.writeEndObject();
        });
    }

    static void value(JsonGenerator g, Schema schema, Object value) throws IOException {
        if (value == null) {
            g.writeNull();
            return;
        }
        switch (schema.type()) {
            case INT8, INT16, INT32 -> g.writeNumber(((Number) value).intValue());
            case INT64 -> g.writeNumber(((Number) value).longValue());
            case FLOAT32 -> g.writeNumber(((Number) value).floatValue());
            case FLOAT64 -> g.writeNumber(((Number) value).doubleValue());
            case BOOLEAN -> g.writeBoolean((Boolean) value);
            case STRING -> {
                if (JSON_TYPE.equals(schema.name())) {
                    g.writeRawValue((String) value);
                } else {
                    g.writeString((String) value);
                }
            }
            case BYTES -> g.writeBinary(value instanceof ByteBuffer b ? toArray(b) : (byte[]) value);
            case STRUCT -> {
                Struct s = (Struct) value;
                g.writeStartObject();
                for (Field f : s.schema().fields()) {
                    g.writeFieldName(f.name());
                    value(g, f.schema(), s.get(f));
                }
                g.writeEndObject();
            }
            case ARRAY -> {
                g.writeStartArray();
                for (Object item : (List<?>) value) {
                    value(g, schema.valueSchema(), item);
                }
                g.writeEndArray();
            }
            case MAP -> {
                g.writeStartObject();
                for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
                    g.writeFieldName(String.valueOf(e.getKey()));
                    value(g, schema.valueSchema(), e.getValue());
                }
                g.writeEndObject();
            }
            default -> g.writeString(String.valueOf(value));
        }
    }

    private static byte[] toArray(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }
}
