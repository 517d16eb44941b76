package dev.engagement.pipeline.source.pg;

/**
 * The CDC topics' envelope ({@link dev.engagement.pipeline.model.CdcEvent}), written straight into
 * a reused buffer: {@code {"op":…,"ts_ms":…,"source":{"lsn":…,"txId":…,"ts_ms":…,"snapshot":…,
 * "table":…},"before":…,"after":…}}, the fields and order the Debezium source writes.
 */
final class Envelopes {
    private Envelopes() {
    }

    /** Everything up to {@code "before":}; the caller writes before, then {@link #after}, then {@link #end}. */
    static void head(JsonBytes out, char op, long nowMs, long lsn, long txId, long tsMs, String snapshot, Relation rel) {
        out.reset();
        out.ascii("{\"op\":\"").ascii(op).ascii("\",\"ts_ms\":").number(nowMs)
                .ascii(",\"source\":{\"lsn\":").number(lsn).ascii(",\"txId\":");
        if (txId < 0) {
            out.ascii("null");
        } else {
            out.number(txId);
        }
        out.ascii(",\"ts_ms\":").number(tsMs).ascii(",\"snapshot\":\"").ascii(snapshot)
                .ascii("\",\"table\":").string(rel.name()).ascii("},\"before\":");
    }

    static void after(JsonBytes out) {
        out.ascii(",\"after\":");
    }

    static void end(JsonBytes out) {
        out.ascii('}');
    }
}
