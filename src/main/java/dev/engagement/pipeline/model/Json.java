package dev.engagement.pipeline.model;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The one place JSON machinery is configured. Hot paths use the streaming API through
 * {@link #FACTORY}, which takes any nesting depth and string length (a jsonb raw_payload may be
 * thousands deep or megabytes long; the streaming parser skips it without recursion, and Kafka's
 * record limit bounds it). The tree model ({@link #MAPPER}) is for cold paths (dead letters, the HTTP
 * API) and keeps Jackson's limits: building a tree recurses.
 */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper();
    public static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(Integer.MAX_VALUE)
                    .maxStringLength(Integer.MAX_VALUE)
                    .maxNumberLength(1000)
                    .build())
            .build();

    private Json() {
    }

    public static JsonParser parser(byte[] bytes) throws IOException {
        return FACTORY.createParser(bytes);
    }

    /** Writes one JSON document and returns its UTF-8 bytes. */
    public static byte[] write(Writer writer) {
        try (ByteArrayBuilder out = new ByteArrayBuilder(512)) {
            try (JsonGenerator gen = FACTORY.createGenerator(out)) {
                writer.write(gen);
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String writeString(Writer writer) {
        return new String(write(writer), java.nio.charset.StandardCharsets.UTF_8);
    }

    @FunctionalInterface
    public interface Writer {
        void write(JsonGenerator gen) throws IOException;
    }
}
