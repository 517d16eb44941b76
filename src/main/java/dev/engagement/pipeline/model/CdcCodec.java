package dev.engagement.pipeline.model;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;

/** Reads the CDC envelope ({@link CdcEvent}) with the streaming parser: no tree per event. */
public final class CdcCodec {
    /**
     * What a change carries for a large (TOASTed) column an UPDATE did not change: PostgreSQL does
     * not log the value, and both sources write this placeholder, as Debezium does.
     */
    public static final String UNCHANGED_TOAST = "__debezium_unavailable_value";

    private CdcCodec() {
    }

    public static CdcEvent<EngagementRow> readEvent(byte[] value) throws MalformedRecordException {
        return read(value, CdcCodec::readEngagementRow);
    }

    public static CdcEvent<ContentRow> readContent(byte[] value) throws MalformedRecordException {
        return read(value, CdcCodec::readContentRow);
    }

    @FunctionalInterface
    private interface RowReader<T> {
        T read(JsonParser p) throws IOException, MalformedRecordException;
    }

    private static <T> CdcEvent<T> read(byte[] value, RowReader<T> rows) throws MalformedRecordException {
        if (value == null) {
            throw new MalformedRecordException("empty record");
        }
        try (JsonParser p = Json.parser(value)) {
            expect(p.nextToken(), JsonToken.START_OBJECT, "envelope");
            String op = null;
            T before = null;
            T after = null;
            long tsMs = 0;
            long sourceTsMs = -1;
            long lsn = -1;
            boolean snapshot = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                switch (field) {
                    case "op" -> op = text(p, t, "op");
                    case "ts_ms" -> tsMs = longValue(p, t, "ts_ms");
                    case "before" -> before = t == JsonToken.VALUE_NULL ? null : rows.read(p);
                    case "after" -> after = t == JsonToken.VALUE_NULL ? null : rows.read(p);
                    case "source" -> {
                        expect(t, JsonToken.START_OBJECT, "source");
                        while (p.nextToken() == JsonToken.FIELD_NAME) {
                            String sf = p.currentName();
                            JsonToken st = p.nextToken();
                            switch (sf) {
                                case "ts_ms" -> sourceTsMs = longValue(p, st, "source.ts_ms");
                                case "lsn" -> lsn = st == JsonToken.VALUE_NULL ? -1 : longValue(p, st, "source.lsn");
                                case "snapshot" -> snapshot = st == JsonToken.VALUE_STRING
                                        && !"false".equals(p.getText());
                                default -> p.skipChildren();
                            }
                        }
                    }
                    default -> p.skipChildren();
                }
            }
            if (op == null) {
                throw new MalformedRecordException("no 'op' in change envelope");
            }
            ChangeOp changeOp;
            try {
                changeOp = ChangeOp.ofCode(op);
            } catch (IllegalArgumentException e) {
                throw new MalformedRecordException(e.getMessage());
            }
            if (after == null && before == null) {
                throw new MalformedRecordException("change envelope has neither 'before' nor 'after'");
            }
            return new CdcEvent<>(changeOp, before, after, sourceTsMs >= 0 ? sourceTsMs : tsMs, lsn, snapshot);
        } catch (IOException e) {
            throw new MalformedRecordException("not JSON: " + firstLine(e.getMessage()), e);
        }
    }

    /** Reads an event row object; the parser stands on its START_OBJECT. */
    public static EngagementRow readEngagementRow(JsonParser p) throws IOException, MalformedRecordException {
        expect(p.currentToken(), JsonToken.START_OBJECT, "row");
        Long id = null;
        String contentId = null;
        String userId = null;
        String eventType = null;
        String eventTs = null;
        Long durationMs = null;
        String device = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken t = p.nextToken();
            switch (field) {
                case "id" -> id = nullableLong(p, t, "id");
                case "content_id" -> contentId = nullableText(p, t, "content_id");
                case "user_id" -> userId = nullableText(p, t, "user_id");
                case "event_type" -> eventType = nullableText(p, t, "event_type");
                case "event_ts" -> eventTs = nullableText(p, t, "event_ts");
                case "duration_ms" -> durationMs = nullableLong(p, t, "duration_ms");
                case "device" -> device = nullableText(p, t, "device");
                case "raw_payload" -> p.skipChildren(); // never needed to enrich; invalid rows keep the bytes
                default -> p.skipChildren();
            }
        }
        return new EngagementRow(id, contentId, userId, eventType, eventTs, durationMs, device);
    }

    /** Reads a content row object; the parser stands on its START_OBJECT. */
    public static ContentRow readContentRow(JsonParser p) throws IOException, MalformedRecordException {
        expect(p.currentToken(), JsonToken.START_OBJECT, "row");
        String id = null;
        String slug = null;
        String title = null;
        String type = null;
        Integer length = null;
        String publishTs = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken t = p.nextToken();
            switch (field) {
                case "id" -> id = nullableText(p, t, "id");
                case "slug" -> slug = nullableText(p, t, "slug");
                case "title" -> title = nullableText(p, t, "title");
                case "content_type" -> type = nullableText(p, t, "content_type");
                case "length_seconds" -> {
                    Long l = nullableLong(p, t, "length_seconds");
                    if (l != null && (l > Integer.MAX_VALUE || l < Integer.MIN_VALUE)) {
                        throw new MalformedRecordException("'length_seconds' is out of range");
                    }
                    length = l == null ? null : l.intValue();
                }
                case "publish_ts" -> publishTs = nullableText(p, t, "publish_ts");
                default -> p.skipChildren();
            }
        }
        return new ContentRow(id, slug, title, type, length, publishTs);
    }

    private static void expect(JsonToken actual, JsonToken expected, String what) throws MalformedRecordException {
        if (actual != expected) {
            throw new MalformedRecordException(what + ": expected " + expected + " but found " + actual);
        }
    }

    private static String text(JsonParser p, JsonToken t, String field) throws IOException, MalformedRecordException {
        if (t != JsonToken.VALUE_STRING) {
            throw new MalformedRecordException("'" + field + "' must be a string");
        }
        return p.getText();
    }

    private static String nullableText(JsonParser p, JsonToken t, String field) throws IOException, MalformedRecordException {
        return t == JsonToken.VALUE_NULL ? null : text(p, t, field);
    }

    private static long longValue(JsonParser p, JsonToken t, String field) throws IOException, MalformedRecordException {
        if (t != JsonToken.VALUE_NUMBER_INT) {
            throw new MalformedRecordException("'" + field + "' must be an integer");
        }
        try {
            return p.getLongValue();
        } catch (IOException e) {
            throw new MalformedRecordException("'" + field + "' is out of range");
        }
    }

    private static Long nullableLong(JsonParser p, JsonToken t, String field) throws IOException, MalformedRecordException {
        return t == JsonToken.VALUE_NULL ? null : longValue(p, t, field);
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
