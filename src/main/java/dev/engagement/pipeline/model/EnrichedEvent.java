package dev.engagement.pipeline.model;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.math.BigDecimal;

/**
 * One valid event joined with its content, as published on {@code engagement.enriched} (its fields and formulas are in the README).
 * {@code engagementMs} is the integer truth behind {@code engagement_seconds}.
 */
public record EnrichedEvent(long eventId, String contentId, String contentTitle, String contentType,
                            Integer contentLengthSeconds, String userId, EventType eventType, String eventTs,
                            Long engagementMs, BigDecimal engagementPercentage, String device,
                            String processedAt) {

    public byte[] toJson() {
        return Json.write(this::write);
    }

    public void write(JsonGenerator g) throws IOException {
        g.writeStartObject();
        g.writeNumberField("event_id", eventId);
        g.writeStringField("content_id", contentId);
        g.writeStringField("content_title", contentTitle);
        g.writeStringField("content_type", contentType);
        g.writeFieldName("content_length_seconds");
        if (contentLengthSeconds == null) {
            g.writeNull();
        } else {
            g.writeNumber(contentLengthSeconds);
        }
        g.writeStringField("user_id", userId);
        g.writeStringField("event_type", eventType.wire());
        g.writeStringField("event_ts", eventTs);
        g.writeFieldName("engagement_seconds");
        if (engagementMs == null) {
            g.writeNull();
        } else {
            g.writeNumber(Decimals.seconds(engagementMs));
        }
        g.writeFieldName("engagement_percentage");
        if (engagementPercentage == null) {
            g.writeNull();
        } else {
            g.writeNumber(Decimals.plain(engagementPercentage));
        }
        g.writeStringField("device", device);
        g.writeStringField("processed_at", processedAt);
        g.writeEndObject();
    }

    public static EnrichedEvent parse(byte[] json) throws MalformedRecordException {
        if (json == null) {
            throw new MalformedRecordException("empty record");
        }
        try (JsonParser p = Json.parser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new MalformedRecordException("enriched record is not a JSON object");
            }
            return read(p);
        } catch (IOException e) {
            throw new MalformedRecordException("not JSON: " + e.getMessage(), e);
        }
    }

    /** Reads one object; the parser stands on its START_OBJECT. */
    public static EnrichedEvent read(JsonParser p) throws IOException, MalformedRecordException {
        Long eventId = null;
        String contentId = null;
        String title = null;
        String type = null;
        Integer length = null;
        String userId = null;
        String eventType = null;
        String eventTs = null;
        Long ms = null;
        BigDecimal pct = null;
        String device = null;
        String processedAt = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String f = p.currentName();
            JsonToken t = p.nextToken();
            boolean isNull = t == JsonToken.VALUE_NULL;
            try {
                switch (f) {
                    case "event_id" -> eventId = isNull ? null : p.getLongValue();
                    case "content_id" -> contentId = isNull ? null : p.getText();
                    case "content_title" -> title = isNull ? null : p.getText();
                    case "content_type" -> type = isNull ? null : p.getText();
                    case "content_length_seconds" -> length = isNull ? null : p.getIntValue();
                    case "user_id" -> userId = isNull ? null : p.getText();
                    case "event_type" -> eventType = isNull ? null : p.getText();
                    case "event_ts" -> eventTs = isNull ? null : p.getText();
                    case "engagement_seconds" -> ms = isNull ? null : Decimals.secondsToMillis(p.getText());
                    case "engagement_percentage" -> pct = isNull ? null : new BigDecimal(p.getText());
                    case "device" -> device = isNull ? null : p.getText();
                    case "processed_at" -> processedAt = isNull ? null : p.getText();
                    default -> p.skipChildren();
                }
            } catch (NumberFormatException | ArithmeticException e) {
                throw new MalformedRecordException("field '" + f + "' is not a valid number");
            }
        }
        if (eventId == null || contentId == null || eventTs == null) {
            throw new MalformedRecordException("enriched record lacks event_id, content_id or event_ts");
        }
        EventType typed = EventType.parse(eventType)
                .orElseThrow(() -> new MalformedRecordException("unknown event_type in enriched record"));
        return new EnrichedEvent(eventId, contentId, title, type, length, userId, typed, eventTs, ms, pct, device,
                processedAt);
    }
}
