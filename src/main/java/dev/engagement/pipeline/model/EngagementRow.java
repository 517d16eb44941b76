package dev.engagement.pipeline.model;

/**
 * A row of {@code engagement_events}, as captured from PostgreSQL, with what enrichment uses
 * (raw_payload stays in the record's bytes). Every field may be null here: deciding what is
 * acceptable is the validator's job, not the parser's.
 */
public record EngagementRow(Long id, String contentId, String userId, String eventType, String eventTs,
                            Long durationMs, String device) {
}
