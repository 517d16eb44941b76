package dev.engagement.pipeline.process;

import dev.engagement.pipeline.model.EnrichedEvent;
import dev.engagement.pipeline.model.InvalidReason;
import dev.engagement.pipeline.model.InvalidRecords;
import dev.engagement.pipeline.model.MalformedRecordException;
import io.micrometer.core.instrument.Counter;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

import java.time.Instant;

/**
 * Dead-letters records on {@code engagement.enriched} that are not enriched events (something other
 * than the processor wrote them). It runs inside the processor's exactly-once application, so each
 * such record reaches {@code engagement.invalid} once; the sinks, which cannot write to Kafka
 * atomically with their own stores, just skip what this guard reports.
 */
final class EnrichedGuard implements Processor<String, byte[], String, byte[]> {
    private final Counter deadLettered;
    private ProcessorContext<String, byte[]> context;

    EnrichedGuard(Counter deadLettered) {
        this.deadLettered = deadLettered;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
        this.context = context;
    }

    @Override
    public void process(Record<String, byte[]> record) {
        try {
            EnrichedEvent.parse(record.value());
        } catch (MalformedRecordException e) {
            RecordMetadata meta = context.recordMetadata().orElseThrow();
            Instant now = Instant.ofEpochMilli(context.currentSystemTimeMs());
            context.forward(new Record<>(record.key(),
                    InvalidRecords.raw(InvalidReason.MALFORMED, e.getMessage(), meta.topic(), meta.partition(),
                            meta.offset(), record.value(), now), record.timestamp(),
                    InvalidRecords.headers(InvalidReason.MALFORMED, meta.topic(), meta.partition(), meta.offset())));
            deadLettered.increment();
        }
    }
}
