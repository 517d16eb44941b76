package dev.engagement.pipeline.process;

import com.fasterxml.jackson.databind.JsonNode;
import dev.engagement.pipeline.model.InvalidReason;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.topic.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;

/**
 * Builds the {@code engagement.invalid} record: the original row (or, for bytes that are not a
 * change record at all, the original bytes in base64) with a reason and where it came from.
 */
public final class InvalidRecords {
    private InvalidRecords() {
    }

    /** For a captured row: the row itself when the bytes are a change record, else the raw bytes. */
    public static byte[] value(InvalidReason reason, String detail, String topic, int partition, long offset,
                               byte[] original, Instant detectedAt) {
        return build(reason, detail, topic, partition, offset, original, detectedAt, tryTree(original));
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
