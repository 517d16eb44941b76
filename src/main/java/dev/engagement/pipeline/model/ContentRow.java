package dev.engagement.pipeline.model;

/** A row of {@code content}, as captured from PostgreSQL. Nullable fields follow the DDL. */
public record ContentRow(String id, String slug, String title, String contentType, Integer lengthSeconds,
                         String publishTs) {
}
