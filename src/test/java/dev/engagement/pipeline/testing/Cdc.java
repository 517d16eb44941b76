package dev.engagement.pipeline.testing;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.engagement.pipeline.model.Json;

import java.nio.charset.StandardCharsets;

/** Builds change records in the CDC topics' envelope, for tests. */
public final class Cdc {
    private Cdc() {
    }

    public static ObjectNode contentRow(String id, String title, String type, Integer lengthSeconds) {
        ObjectNode row = Json.MAPPER.createObjectNode();
        row.put("id", id);
        row.put("slug", "slug-" + id);
        row.put("title", title);
        row.put("content_type", type);
        if (lengthSeconds == null) {
            row.putNull("length_seconds");
        } else {
            row.put("length_seconds", lengthSeconds);
        }
        row.put("publish_ts", "2025-08-01T00:00:00Z");
        return row;
    }

    public static ObjectNode eventRow(long id, String contentId, String type, Integer durationMs, String eventTs) {
        ObjectNode row = Json.MAPPER.createObjectNode();
        row.put("id", id);
        if (contentId == null) {
            row.putNull("content_id");
        } else {
            row.put("content_id", contentId);
        }
        row.put("user_id", "7f1b9a54-2f6e-4c1e-9d7b-0c1f3a2b4c5d");
        row.put("event_type", type);
        row.put("event_ts", eventTs);
        if (durationMs == null) {
            row.putNull("duration_ms");
        } else {
            row.put("duration_ms", durationMs);
        }
        row.put("device", "mobile");
        row.put("raw_payload", "{\"source\":\"test\"}");
        return row;
    }

    public static byte[] envelope(String op, ObjectNode before, ObjectNode after, long sourceTsMs) {
        ObjectNode env = Json.MAPPER.createObjectNode();
        env.put("op", op);
        env.put("ts_ms", sourceTsMs + 5);
        ObjectNode source = env.putObject("source");
        source.put("lsn", 1000L);
        source.put("txId", 7L);
        source.put("ts_ms", sourceTsMs);
        source.put("snapshot", "false");
        env.set("before", before);
        env.set("after", after);
        return env.toString().getBytes(StandardCharsets.UTF_8);
    }

    public static byte[] insert(ObjectNode row) {
        return envelope("c", null, row, 1_723_300_220_000L);
    }
}
