package dev.engagement.pipeline.process;

import dev.engagement.pipeline.model.CdcEvent;
import dev.engagement.pipeline.model.EngagementRow;
import dev.engagement.pipeline.model.EventType;
import dev.engagement.pipeline.model.InvalidReason;
import dev.engagement.pipeline.model.Timestamps;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/** The validation rules of the enriched record, as a pure function of one captured change. */
public final class Validator {
    private Validator() {
    }

    public static Validation validate(CdcEvent<EngagementRow> change) {
        if (!change.op().isInsert()) {
            // engagement_events is append-only: a changed or deleted row is reported, never applied
            return new Validation.Invalid(InvalidReason.EVENT_MUTATED,
                    "engagement_events is append-only; got op '" + change.op().code() + "'");
        }
        EngagementRow row = change.after();
        if (row == null || row.id() == null) {
            return new Validation.Invalid(InvalidReason.MALFORMED, "event row has no id");
        }
        if (row.eventTs() == null) {
            return new Validation.Invalid(InvalidReason.MALFORMED, "event row has no event_ts");
        }
        Instant eventTs;
        try {
            eventTs = Timestamps.parse(row.eventTs());
        } catch (DateTimeParseException e) {
            return new Validation.Invalid(InvalidReason.MALFORMED, "event_ts is not a timestamp: " + row.eventTs());
        }
        if (row.contentId() == null) {
            return new Validation.Invalid(InvalidReason.MISSING_CONTENT_ID, "content_id is null");
        }
        if (row.durationMs() != null && row.durationMs() < 0) {
            return new Validation.Invalid(InvalidReason.NEGATIVE_DURATION, "duration_ms is " + row.durationMs());
        }
        Optional<EventType> type = EventType.parse(row.eventType());
        if (type.isEmpty()) {
            return new Validation.Invalid(InvalidReason.BAD_EVENT_TYPE,
                    "event_type '" + row.eventType() + "' is not one of play, pause, finish, click");
        }
        return new Validation.Valid(row, type.get(), eventTs);
    }
}
