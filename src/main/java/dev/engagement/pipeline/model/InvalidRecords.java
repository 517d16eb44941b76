package dev.engagement.pipeline.model;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import dev.engagement.pipeline.topic.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;

/**
 * Builds the {@code engagement.invalid} record: the original row (or, for bytes that are not a
 * change record at all, the original bytes in base64) with a reason and where it came from. A row
 * too large to embed (it would not fit in a record itself) keeps its id and a truncated copy.
 */
public final class InvalidRecords {
    /** Larger originals are not embedded whole: with the wrapper they would outgrow a record. */
    static final int EMBED_LIMIT = 4 * 1024 * 1024;
    private static final int COPY_CHARS = 4096;

    private InvalidRecords() {
    }

    /** For a captured row: the row itself when the bytes are a change record, else the raw bytes. */
    public static byte[] value(InvalidReason reason, String detail, String topic, int partition, long offset,
                               byte[] original, Instant detectedAt) {
        if (original != null && original.length > EMBED_LIMIT) {
            return truncated(reason, detail, topic, partition, offset, original, detectedAt);
        }
        return build(reason, detail, topic, partition, offset, original, detectedAt, tryTree(original));
    }

    /**
     * For a change too large for Kafka's record limit, which never reached its CDC topic: its id, its
     * size and the first characters of its envelope.
     */
    public static byte[] tooLarge(String topic, byte[] envelope, int limit, Instant detectedAt) {
        return truncated(InvalidReason.TOO_LARGE, "the change is " + envelope.length + " bytes, over the "
                + limit + "-byte record limit; it was not written to " + topic, topic, -1, -1, envelope, detectedAt);
    }

    private static byte[] truncated(InvalidReason reason, String detail, String topic, int partition, long offset,
                                    byte[] original, Instant detectedAt) {
        Object[] idAndOp = idAndOp(original);
        String text = new String(original, 0, Math.min(original.length, COPY_CHARS * 4), StandardCharsets.UTF_8);
        return Json.write(g -> {
            g.writeStartObject();
            g.writeStringField("reason", reason.wire());
            g.writeStringField("detail", detail);
            g.writeStringField("source_topic", topic);
            g.writeNumberField("source_partition", partition);
            g.writeNumberField("source_offset", offset);
            g.writeStringField("op", (String) idAndOp[1]);
            g.writeObjectFieldStart("row");
            if (idAndOp[0] instanceof Long id) {
                g.writeNumberField("id", id);
            } else {
                g.writeStringField("id", (String) idAndOp[0]);
            }
            g.writeEndObject();
            g.writeNumberField("original_bytes", original.length);
            g.writeStringField("truncated_copy", text.length() > COPY_CHARS ? text.substring(0, COPY_CHARS) : text);
            g.writeStringField("detected_at", detectedAt.toString());
            g.writeEndObject();
        });
    }

    /** The row's id (after, else before) and the op of an envelope, streamed: no tree of a large value. */
    private static Object[] idAndOp(byte[] envelope) {
        Object id = null;
        String op = null;
        try (JsonParser p = Json.parser(envelope)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return new Object[] {null, null};
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String f = p.currentName();
                JsonToken t = p.nextToken();
                if ("op".equals(f) && t == JsonToken.VALUE_STRING) {
                    op = p.getText();
                } else if (("after".equals(f) || "before".equals(f) && id == null) && t == JsonToken.START_OBJECT) {
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String rf = p.currentName();
                        JsonToken rt = p.nextToken();
                        if ("id".equals(rf) && rt == JsonToken.VALUE_NUMBER_INT) {
                            id = p.getLongValue();
                        } else if ("id".equals(rf) && rt == JsonToken.VALUE_STRING) {
                            id = p.getText();
                        } else {
                            p.skipChildren();
                        }
                    }
                } else {
                    p.skipChildren();
                }
            }
        } catch (java.io.IOException e) {
            // not JSON to the end: what was read is all there is
        }
        return new Object[] {id, op};
    }

    /** For bytes that are not what their topic promises: the original bytes only. */
    public static byte[] raw(InvalidReason reason, String detail, String topic, int partition, long offset,
                             byte[] original, Instant detectedAt) {
        return build(reason, detail, topic, partition, offset, original, detectedAt, null);
    }

    private static byte[] build(InvalidReason reason, String detail, String topic, int partition, long offset,
                                byte[] original, Instant detectedAt, JsonNode envelope) {
        return Json.write(g -> {
            g.writeStartObject();
            g.writeStringField("reason", reason.wire());
            g.writeStringField("detail", detail);
            g.writeStringField("source_topic", topic);
            g.writeNumberField("source_partition", partition);
            g.writeNumberField("source_offset", offset);
            if (envelope != null && envelope.isObject() && (envelope.has("after") || envelope.has("before"))) {
                JsonNode op = envelope.get("op");
                g.writeStringField("op", op == null || !op.isTextual() ? null : op.asText());
                JsonNode row = envelope.hasNonNull("after") ? envelope.get("after") : envelope.get("before");
                g.writeFieldName("row");
                Json.MAPPER.writeTree(g, row);
            } else {
                g.writeStringField("raw_base64", original == null ? null : Base64.getEncoder().encodeToString(original));
                String text = utf8(original);
                if (text != null) {
                    g.writeStringField("raw_text", text.length() > 4096 ? text.substring(0, 4096) : text);
                }
            }
            g.writeStringField("detected_at", detectedAt.toString());
            g.writeEndObject();
        });
    }

    public static org.apache.kafka.common.header.Headers headers(InvalidReason reason, String topic, int partition,
                                                                  long offset) {
        RecordHeaders headers = new RecordHeaders();
        headers.add(Headers.REASON, Headers.utf8(reason.wire()));
        headers.add(Headers.TOPIC, Headers.utf8(topic));
        headers.add(Headers.PARTITION, Headers.utf8(partition));
        headers.add(Headers.OFFSET, Headers.utf8(offset));
        return headers;
    }

    private static JsonNode tryTree(byte[] bytes) {
        if (bytes == null) {
            return null;
        }
        try {
            return Json.MAPPER.readTree(bytes);
        } catch (Exception e) {
            return null;
        }
    }

    private static String utf8(byte[] bytes) {
        if (bytes == null) {
            return null;
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
