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

    private EnvelopeWriter() {
    }

    static byte[] write(Struct envelope) {
        return Json.write(g -> {
            g.writeStartObject();
            g.writeStringField("op", envelope.getString("op"));
            Long ts = envelope.getInt64("ts_ms");
            if (ts != null) {
                g.writeNumberField("ts_ms", ts);
            }
            Struct source = envelope.getStruct("source");
            if (source != null) {
                g.writeObjectFieldStart("source");
                for (String name : SOURCE_FIELDS) {
                    Field f = source.schema().field(name);
                    if (f != null) {
                        g.writeFieldName(name);
                        value(g, f.schema(), source.get(f));
                    }
                }
                g.writeEndObject();
            }
            g.writeFieldName("before");
            value(g, envelope.schema().field("before").schema(), envelope.get("before"));
            g.writeFieldName("after");
            value(g, envelope.schema().field("after").schema(), envelope.get("after"));
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
            case STRING -> g.writeString((String) value);
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
