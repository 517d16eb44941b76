package dev.engagement.pipeline.process;

import com.fasterxml.jackson.core.JsonParser;
import dev.engagement.pipeline.model.CdcCodec;
import dev.engagement.pipeline.model.ContentRow;
import dev.engagement.pipeline.model.Json;
import dev.engagement.pipeline.model.MalformedRecordException;

import java.io.IOException;
import java.io.UncheckedIOException;

/** How the processor keeps a content row in its state store; an empty value marks a deleted row. */
final class ContentCodec {
    static final byte[] DELETED = new byte[0];

    private ContentCodec() {
    }

    static byte[] encode(ContentRow c) {
        return Json.write(g -> {
            g.writeStartObject();
            g.writeStringField("id", c.id());
            g.writeStringField("slug", c.slug());
            g.writeStringField("title", c.title());
            g.writeStringField("content_type", c.contentType());
            g.writeFieldName("length_seconds");
            if (c.lengthSeconds() == null) {
                g.writeNull();
            } else {
                g.writeNumber(c.lengthSeconds());
            }
            g.writeStringField("publish_ts", c.publishTs());
            g.writeEndObject();
        });
    }

    static ContentRow decode(byte[] bytes) {
        try (JsonParser p = Json.parser(bytes)) {
            p.nextToken();
            return CdcCodec.readContentRow(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (MalformedRecordException e) {
            throw new IllegalStateException("corrupt content store entry", e);
        }
    }
}
