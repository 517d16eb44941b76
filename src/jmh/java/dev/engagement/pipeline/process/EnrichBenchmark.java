package dev.engagement.pipeline.process;

import dev.engagement.pipeline.jmh.PerEventBenchmark;
import dev.engagement.pipeline.jmh.Records;
import dev.engagement.pipeline.model.CdcCodec;
import dev.engagement.pipeline.model.ContentRow;
import dev.engagement.pipeline.model.MalformedRecordException;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Setup;

import java.time.Instant;

/** The processor's work per event: the CDC envelope parsed, validated, enriched and written as JSON. */
public class EnrichBenchmark extends PerEventBenchmark {
    private byte[][] events;
    private ContentRow content;
    private int i;

    @Setup
    public void setUp() {
        events = Records.cdcEvents(1024);
        content = new ContentRow(Records.contentId(0), "intro", "Introduction to Stream Processing", "video", 1800,
                "2026-01-01T00:00:00Z");
    }

    @Benchmark
    public byte[] validateAndEnrich() throws MalformedRecordException {
        byte[] cdc = events[i++ & 1023];
        Validation v = Validator.validate(CdcCodec.readEvent(cdc));
        return Enricher.enrich((Validation.Valid) v, content, Instant.EPOCH).toJson();
    }

    @Benchmark
    public Object parseCdcOnly() throws MalformedRecordException {
        return CdcCodec.readEvent(events[i++ & 1023]);
    }
}
