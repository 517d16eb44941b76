package dev.engagement.pipeline.process;

import dev.engagement.pipeline.model.EnrichedEvent;
import dev.engagement.pipeline.model.InvalidReason;
import dev.engagement.pipeline.model.InvalidRecords;
import dev.engagement.pipeline.model.MalformedRecordException;
import dev.engagement.pipeline.topic.Headers;
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
 *
 * <p>The processor marks its own records with the {@link Headers#ORIGIN} header, and the guard does
 * not parse those a second time (every sink parses them anyway). A foreign record that forges the
 * header is not dead-lettered: each sink still finds it malformed, counts and skips it, and nothing
 * reaches the stores. Who may write to {@code engagement.enriched} is the broker's ACLs' business.
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
        if (Headers.fromProcessor(record.headers())) {
            return;
        }
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
