package dev.engagement.pipeline.source.pg;

/**
 * The CDC topics' envelope ({@link dev.engagement.pipeline.model.CdcEvent}), written straight into
 * a reused buffer: {@code {"op":…,"ts_ms":…,"source":{"lsn":…,"txId":…,"ts_ms":…,"snapshot":…,
 * "table":…},"before":…,"after":…}}, the fields and order the Debezium source writes.
 */
final class Envelopes {
    private Envelopes() {
    }

    private static final byte[] OP = ascii("{\"op\":\"");
    private static final byte[] TS = ascii("\",\"ts_ms\":");
    private static final byte[] LSN = ascii(",\"source\":{\"lsn\":");
    private static final byte[] TX = ascii(",\"txId\":");
    private static final byte[] NULL = ascii("null");
    private static final byte[] SOURCE_TS = ascii(",\"ts_ms\":");
    private static final byte[] SNAPSHOT = ascii(",\"snapshot\":\"");
    private static final byte[] TABLE = ascii("\",\"table\":");
    private static final byte[] BEFORE = ascii("},\"before\":");
    private static final byte[] AFTER = ascii(",\"after\":");

    private static byte[] ascii(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    /** Everything up to {@code "before":}; the caller writes before, then {@link #after}, then {@link #end}. */
    static void head(JsonBytes out, char op, long nowMs, long lsn, long txId, long tsMs, String snapshot, Relation rel) {
        out.reset();
        out.bytes(OP).ascii(op).bytes(TS).number(nowMs).bytes(LSN).number(lsn).bytes(TX);
        if (txId < 0) {
            out.bytes(NULL);
        } else {
            out.number(txId);
        }
        out.bytes(SOURCE_TS).number(tsMs).bytes(SNAPSHOT).ascii(snapshot).bytes(TABLE).name(rel.name()).bytes(BEFORE);
    }

    static void after(JsonBytes out) {
        out.bytes(AFTER);
    }

    static void end(JsonBytes out) {
        out.ascii('}');
    }
}
