package dev.engagement.pipeline.source.pg;

import java.nio.charset.StandardCharsets;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Arrays;

/**
 * A reused byte buffer that JSON is written into straight from PostgreSQL's UTF-8 text: no String
 * per value, no generator per record. Only {@link #toBytes()} allocates (the record's own array).
 */
final class JsonBytes {
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private byte[] buf = new byte[4096];
    private int len;

    void reset() {
        len = 0;
    }

    int length() {
        return len;
    }

    byte[] toBytes() {
        return Arrays.copyOf(buf, len);
    }

    private void ensure(int more) {
        if (len + more > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + more));
        }
    }

    JsonBytes ascii(String s) {
        int n = s.length();
        ensure(n);
        for (int i = 0; i < n; i++) {
            buf[len++] = (byte) s.charAt(i);
        }
        return this;
    }

    JsonBytes ascii(char c) {
        ensure(1);
        buf[len++] = (byte) c;
        return this;
    }

    /** Bytes that are already JSON (a number's digits, jsonb text). */
    JsonBytes raw(byte[] src, int off, int n) {
        ensure(n);
        System.arraycopy(src, off, buf, len, n);
        len += n;
        return this;
    }

    /** Bytes as they are: the envelope's fixed parts. */
    JsonBytes bytes(byte[] src) {
        return raw(src, 0, src.length);
    }

    /** A long's decimal digits, written in place (no String). */
    JsonBytes number(long v) {
        if (v == Long.MIN_VALUE) {
            return ascii(Long.toString(v));
        }
        ensure(20);
        if (v < 0) {
            buf[len++] = '-';
            v = -v;
        }
        int start = len;
        do {
            buf[len++] = (byte) ('0' + v % 10);
            v /= 10;
        } while (v != 0);
        for (int i = start, j = len - 1; i < j; i++, j--) {
            byte t = buf[i];
            buf[i] = buf[j];
            buf[j] = t;
        }
        return this;
    }

    /**
     * {@code "name":}: field names are the pipeline's own or PostgreSQL identifiers, escaped all the
     * same. A relation's names are the same String objects row after row: each is encoded once.
     */
    JsonBytes field(String name) {
        return bytes(encoded(fields, name, true));
    }

    /** {@code "text"}, encoded once per String object, for the names repeated in every record (a table's). */
    JsonBytes name(String text) {
        return bytes(encoded(names, text, false));
    }

    private static byte[] encoded(Map<String, byte[]> cache, String text, boolean colon) {
        byte[] b = cache.get(text);
        if (b == null) {
            b = quoted(text, colon);
            if (cache.size() >= 4096) {
                cache.clear(); // names made per row ("column_7" for a column not described): no unbounded growth
            }
            cache.put(text, b);
        }
        return b;
    }

    private final Map<String, byte[]> fields = new IdentityHashMap<>();
    private final Map<String, byte[]> names = new IdentityHashMap<>();

    private static byte[] quoted(String text, boolean colon) {
        JsonBytes one = new JsonBytes();
        one.string(text);
        if (colon) {
            one.ascii(':');
        }
        return one.toBytes();
    }

    JsonBytes string(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return string(b, 0, b.length);
    }

    /** A JSON string of UTF-8 bytes: quotes, backslashes and control characters escaped, the rest as is. */
    JsonBytes string(byte[] src, int off, int n) {
        ensure(n + 2);
        buf[len++] = '"';
        int end = off + n;
        int run = off; // the start of the bytes that need no escape, copied in one go
        for (int i = off; i < end; i++) {
            byte b = src[i];
            if (b >= 0x20 && b != '"' && b != '\\' || b < 0) {
                continue;
            }
            raw(src, run, i - run);
            run = i + 1;
            ensure(end - i + 6);
            buf[len++] = '\\';
            switch (b) {
                case '"' -> buf[len++] = '"';
                case '\\' -> buf[len++] = '\\';
                case '\n' -> buf[len++] = 'n';
                case '\r' -> buf[len++] = 'r';
                case '\t' -> buf[len++] = 't';
                case '\b' -> buf[len++] = 'b';
                case '\f' -> buf[len++] = 'f';
                default -> {
                    buf[len++] = 'u';
                    buf[len++] = '0';
                    buf[len++] = '0';
                    buf[len++] = HEX[(b >> 4) & 0xF];
                    buf[len++] = HEX[b & 0xF];
                }
            }
        }
        raw(src, run, end - run);
        ensure(1);
        buf[len++] = '"';
        return this;
    }
}
