package dev.engagement.pipeline.model;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The one place JSON machinery is configured. Hot paths use the streaming API through
 * {@link #FACTORY}; the tree model ({@link #MAPPER}) is for cold paths (dead letters, the HTTP API).
 */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper();
    public static final JsonFactory FACTORY = MAPPER.getFactory();

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
