package dev.engagement.pipeline.source.pg;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Decodes pgoutput (logical replication protocol version 1) straight into the CDC envelope: Begin,
 * Relation, Type, Origin, Insert, Update, Delete, Truncate and Commit, read from the message bytes
 * in place; each change becomes its envelope's bytes in one pass over its tuple, no intermediate
 * objects. Not thread-safe: one decoder per replication stream.
 */
public final class PgOutputDecoder {
    /** PostgreSQL's epoch, 2000-01-01, in Unix milliseconds. */
    private static final long PG_EPOCH_MS = 946_684_800_000L;

    /** What a decoded stream is handed to. */
    public interface Handler {
        /** A transaction begins; false: skip its changes (it is already in Kafka). */
        boolean begin(long finalLsn, long commitTsMs, long xid);

        /** A change of a captured table; {@code envelope} is null for tables whose rows are not data. */
        void change(Relation relation, char op, String key, byte[] envelope, long commitTsMs);

        void commit(long commitLsn, long endLsn, long commitTsMs);

        void truncate(List<Relation> relations, long lsn);

        default void relation(Relation relation) {
        }
    }

    private final Map<Integer, Relation> relations = new HashMap<>();
    private final JsonBytes out = new JsonBytes();
    private byte[] b;
    private int pos;
    private long txLsn;
    private long txId = -1;
    private long txTsMs;
    private boolean skipping;

    /** Decodes one message that starts at {@code off}; {@code lsn} is the WAL position of its XLogData. */
    public void decode(long lsn, byte[] message, int off, int len, Handler handler, long nowMs) {
        this.b = message;
        this.pos = off;
        byte type = message[pos++];
        switch (type) {
            case 'B' -> {
                txLsn = int64();
                txTsMs = timestamp(int64());
                txId = int32() & 0xFFFFFFFFL;
                skipping = !handler.begin(txLsn, txTsMs, txId);
            }
            case 'C' -> {
                pos++; // flags
                long commitLsn = int64();
                long endLsn = int64();
                long ts = timestamp(int64());
                if (!skipping) {
                    handler.commit(commitLsn, endLsn, ts);
                }
                skipping = false;
            }
            case 'R' -> {
                int id = int32();
                String namespace = cString();
                String name = cString();
                pos++; // replica identity
                int n = int16();
                List<String> columns = new ArrayList<>(n);
                int[] types = new int[n];
                for (int i = 0; i < n; i++) {
                    pos++; // flags: part of the key
                    columns.add(cString());
                    types[i] = int32();
                    pos += 4; // type modifier
                }
                Relation r = Relation.of(id, namespace.isEmpty() ? "pg_catalog" : namespace, name, columns, types);
                relations.put(id, r);
                handler.relation(r);
            }
            case 'I', 'U', 'D' -> {
                Relation r = relation(int32());
                if (skipping) {
                    return;
                }
                if (r.topic() == null) {
                    handler.change(r, (char) type, null, null, txTsMs);
                    return;
                }
                char op = type == 'I' ? 'c' : type == 'U' ? 'u' : 'd';
                Envelopes.head(out, op, nowMs, lsn, txId, txTsMs, "false", r);
                String key = null;
                byte kind = b[pos++];
                if (type == 'I') {
                    out.ascii("null");
                    Envelopes.after(out);
                    key = tuple(r);
                } else if (type == 'D') {
                    key = tuple(r); // 'K' (the key) or 'O' (the whole old row)
                    Envelopes.after(out);
                    out.ascii("null");
                } else {
                    if (kind == 'K' || kind == 'O') {
                        tuple(r);
                        pos++; // 'N'
                    } else {
                        out.ascii("null");
                    }
                    Envelopes.after(out);
                    key = tuple(r);
                }
                Envelopes.end(out);
                handler.change(r, op, key, out.toBytes(), txTsMs);
            }
            case 'T' -> {
                int n = int32();
                pos++; // options: CASCADE, RESTART IDENTITY
                List<Relation> truncated = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    truncated.add(relation(int32()));
                }
                if (!skipping) {
                    handler.truncate(truncated, lsn);
                }
            }
            case 'Y', 'O', 'M' -> {
                // types are named by oid in Relation messages; origins and logical messages carry no rows
            }
            default -> throw new IllegalStateException("unknown pgoutput message '" + (char) type + "' at LSN "
                    + Lsn.format(lsn));
        }
    }

    /** Writes one tuple as a JSON object; returns the key column's value as text (null when null or absent). */
    private String tuple(Relation r) {
        int n = int16();
        String key = null;
        out.ascii('{');
        List<String> names = r.columns();
        int[] types = r.types();
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                out.ascii(',');
            }
            out.field(i < names.size() ? names.get(i) : "column_" + (i + 1));
            byte kind = b[pos++];
            switch (kind) {
                case 'n' -> out.ascii("null");
                case 'u' -> out.string(PgValues.UNAVAILABLE);
                case 't', 'b' -> {
                    int len = int32();
                    PgValues.write(out, i < types.length ? types[i] : 0, b, pos, len);
                    if (i == r.keyColumn()) {
                        key = new String(b, pos, len, StandardCharsets.UTF_8);
                    }
                    pos += len;
                }
                default -> throw new IllegalStateException("unknown tuple value kind '" + (char) kind + "'");
            }
        }
        out.ascii('}');
        return key;
    }

    private Relation relation(int id) {
        Relation r = relations.get(id);
        if (r == null) {
            throw new IllegalStateException("pgoutput sent a change of relation " + id + " before describing it");
        }
        return r;
    }

    private static long timestamp(long pgMicros) {
        return PG_EPOCH_MS + Math.floorDiv(pgMicros, 1000L);
    }

    private String cString() {
        int start = pos;
        while (b[pos] != 0) {
            pos++;
        }
        String s = new String(b, start, pos - start, StandardCharsets.UTF_8);
        pos++;
        return s;
    }

    private int int16() {
        int v = ((b[pos] & 0xFF) << 8) | (b[pos + 1] & 0xFF);
        pos += 2;
        return v;
    }

    private int int32() {
        int v = ((b[pos] & 0xFF) << 24) | ((b[pos + 1] & 0xFF) << 16) | ((b[pos + 2] & 0xFF) << 8) | (b[pos + 3] & 0xFF);
        pos += 4;
        return v;
    }

    private long int64() {
        long hi = int32() & 0xFFFFFFFFL;
        long lo = int32() & 0xFFFFFFFFL;
        return (hi << 32) | lo;
    }
}
