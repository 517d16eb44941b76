package dev.engagement.pipeline.process;

import dev.engagement.pipeline.model.EngagementRow;
import dev.engagement.pipeline.model.EventType;
import dev.engagement.pipeline.model.InvalidReason;

import java.time.Instant;

/** The validator's decision about one captured event row; the processor does the I/O. */
public sealed interface Validation {

    record Valid(EngagementRow row, EventType type, Instant eventTs) implements Validation {
    }

    record Invalid(InvalidReason reason, String detail) implements Validation {
    }
}
