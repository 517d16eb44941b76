package dev.engagement.pipeline.process;

import dev.engagement.pipeline.model.ContentRow;
import dev.engagement.pipeline.model.Decimals;
import dev.engagement.pipeline.model.EnrichedEvent;
import dev.engagement.pipeline.model.EngagementRow;
import dev.engagement.pipeline.model.Timestamps;

import java.math.BigDecimal;
import java.time.Instant;

/** Joins a valid event with its content row and computes engagement. Pure. */
public final class Enricher {
    private Enricher() {
    }

    public static EnrichedEvent enrich(Validation.Valid valid, ContentRow content, Instant processedAt) {
        EngagementRow row = valid.row();
        Long ms = row.durationMs();
        Integer length = content.lengthSeconds();
        BigDecimal percentage = ms == null || length == null || length <= 0 ? null : Decimals.percentage(ms, length);
        return new EnrichedEvent(row.id(), row.contentId(), content.title(), content.contentType(), length,
                row.userId(), valid.type(), Timestamps.iso(valid.eventTs()), ms, percentage, row.device(),
                Timestamps.iso(processedAt));
    }
}
