package dev.engagement.pipeline.model;

/**
 * One captured change of a row, in the envelope the source writes to the CDC topics:
 * {@code {"op":"c","ts_ms":…,"source":{"lsn":…,"txId":…,"ts_ms":…,"snapshot":"false","table":"…"},
 * "before":{…}|null,"after":{…}|null}}. It is Debezium's envelope with a lean {@code source} block.
 *
 * @param sourceTsMs commit time of the row's transaction in PostgreSQL (snapshot time for snapshot reads)
 */
public record CdcEvent<T>(ChangeOp op, T before, T after, long sourceTsMs, long lsn, boolean snapshot) {

    /** The row as it is now, or as it was for a delete. */
    public T row() {
        return after != null ? after : before;
    }
}
