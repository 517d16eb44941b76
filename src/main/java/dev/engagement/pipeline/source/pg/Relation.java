package dev.engagement.pipeline.source.pg;

import dev.engagement.pipeline.db.Schema;
import dev.engagement.pipeline.topic.Topics;

import java.util.List;

/**
 * A table as pgoutput describes it (a Relation message) or as the snapshot reads it from the
 * catalog: its columns with their type oids, and where its changes go. A Relation message that
 * follows an ALTER TABLE replaces the old description, so an added column is captured from the
 * next change on, without a restart.
 *
 * @param topic     the CDC topic of its changes; null for a table whose rows are not data (the heartbeat)
 * @param keyColumn the column whose value is the record key (content: id, events: content_id), or -1
 */
public record Relation(int id, String namespace, String name, List<String> columns, int[] types, String topic,
                       int keyColumn) {

    public static Relation of(int id, String namespace, String name, List<String> columns, int[] types) {
        String topic = null;
        String key = null;
        if ("public".equals(namespace) && "content".equals(name)) {
            topic = Topics.CDC_CONTENT;
            key = "id";
        } else if ("public".equals(namespace) && "engagement_events".equals(name)) {
            topic = Topics.CDC_EVENTS;
            key = "content_id";
        }
        return new Relation(id, namespace, name, List.copyOf(columns), types.clone(), topic,
                key == null ? -1 : columns.indexOf(key));
    }

    public boolean heartbeat() {
        return "public".equals(namespace) && Schema.HEARTBEAT_TABLE.equals(name);
    }

    public boolean isContent() {
        return Topics.CDC_CONTENT.equals(topic);
    }

    public String qualifiedName() {
        return namespace + "." + name;
    }
}
