package dev.engagement.pipeline.sink;

import dev.engagement.pipeline.model.EnrichedEvent;
import dev.engagement.pipeline.model.MalformedRecordException;
import io.micrometer.core.instrument.Counter;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What every sink does with a record of {@code engagement.enriched}: read it, or skip what is not an event. */
public final class EnrichedRecords {
    private static final Logger LOG = LoggerFactory.getLogger(EnrichedRecords.class);

    private EnrichedRecords() {
    }

    /**
     * The enriched event, or null when the record is not one: then it is counted and logged, and the
     * sink skips it (the processor dead-letters such records to engagement.invalid, once).
     */
    public static EnrichedEvent parseOrSkip(ConsumerRecord<String, byte[]> r, String sink, Counter malformed) {
        try {
            return EnrichedEvent.parse(r.value());
        } catch (MalformedRecordException e) {
            malformed.increment();
            LOG.warn("{} sink: skipping a record that is not an enriched event at {}-{}@{} (the processor "
                    + "dead-letters it to engagement.invalid): {}", sink, r.topic(), r.partition(), r.offset(),
                    e.getMessage());
            return null;
        }
    }
}
