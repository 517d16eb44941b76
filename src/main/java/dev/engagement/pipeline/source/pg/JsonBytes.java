package dev.engagement.pipeline.source.pg;

import java.nio.charset.StandardCharsets;
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

    JsonBytes number(long v) {
        return ascii(Long.toString(v));
    }

    /** {@code "name":}: field names are the pipeline's own or PostgreSQL identifiers, escaped all the same. */
    JsonBytes field(String name) {
        string(name);
        return ascii(':');
    }

    JsonBytes string(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return string(b, 0, b.length);
    }

    /** A JSON string of UTF-8 bytes: quotes, backslashes and control characters escaped, the rest as is. */
    JsonBytes string(byte[] src, int off, int n) {
        ensure(n + 2);
        buf[len++] = '"';
        for (int i = off, end = off + n; i < end; i++) {
            byte b = src[i];
            if (b >= 0x20 && b != '"' && b != '\\' || b < 0) {
                if (len == buf.length) {
                    ensure(end - i + 1);
                }
                buf[len++] = b;
                continue;
            }
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
        ensure(1);
        buf[len++] = '"';
        return this;
    }
}
