package dev.engagement.pipeline.source;

import dev.engagement.pipeline.source.pg.Relation;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class SourceColumnsTest {
    private static final List<String> EVENTS = List.of("id", "content_id", "user_id", "event_type", "event_ts",
            "duration_ms", "device", "raw_payload");
    private static final int[] EVENT_TYPES = {20, 2950, 2950, 25, 1184, 23, 25, 3802};

    @Test
    void theDesignsTablesAndAddedColumnsPass() {
        assertThat(SourceColumns.problems(Relation.of(1, "public", "engagement_events", EVENTS, EVENT_TYPES))).isEmpty();
        List<String> more = new java.util.ArrayList<>(EVENTS);
        more.add("campaign");
        int[] types = java.util.Arrays.copyOf(EVENT_TYPES, EVENT_TYPES.length + 1);
        types[types.length - 1] = 1700;
        assertThat(SourceColumns.problems(Relation.of(1, "public", "engagement_events", more, types))).isEmpty();
        assertThat(SourceColumns.problems(Relation.of(2, "public", "content",
                List.of("id", "slug", "title", "content_type", "length_seconds", "publish_ts"),
                new int[] {2950, 25, 1043, 25, 21, 1184}))).as("varchar and smallint read as well").isEmpty();
        assertThat(SourceColumns.problems(Relation.of(3, "public", "pipeline_heartbeat", List.of("id"), new int[] {23})))
                .isEmpty();
    }

    @Test
    void aDroppedOrRetypedNeededColumnIsNamed() {
        int[] retyped = EVENT_TYPES.clone();
        retyped[5] = 1700;
        assertThat(SourceColumns.problems(Relation.of(1, "public", "engagement_events", EVENTS, retyped)))
                .containsExactly("engagement_events.duration_ms is numeric: the pipeline needs it as an integer "
                        + "(smallint, integer or bigint)");
        assertThat(SourceColumns.problems(Relation.of(1, "public", "engagement_events",
                EVENTS.subList(0, 7), java.util.Arrays.copyOf(EVENT_TYPES, 7)))).isEmpty();
        assertThat(SourceColumns.problems(Relation.of(1, "public", "engagement_events",
                List.of("id", "content_id", "user_id", "event_type", "event_ts", "device"),
                new int[] {20, 25, 2950, 25, 1114, 25})))
                .containsExactly("engagement_events.event_ts is timestamp without time zone: the pipeline needs it as "
                        + "timestamp with time zone", "engagement_events.duration_ms is missing (dropped or renamed): the "
                        + "pipeline needs it as an integer (smallint, integer or bigint)");
    }

    @Test
    void debeziumRowSchemasAreReadTheSameWay() {
        var row = SchemaBuilder.struct()
                .field("id", SchemaBuilder.int64().build())
                .field("content_id", SchemaBuilder.string().name("io.debezium.data.Uuid").optional().build())
                .field("event_type", SchemaBuilder.string().optional().build())
                .field("event_ts", SchemaBuilder.string().name("io.debezium.time.ZonedTimestamp").build())
                .field("duration_ms", SchemaBuilder.string().optional().build())
                .field("device", SchemaBuilder.string().optional().build())
                .build();
        assertThat(SourceColumns.problems("engagement_events", row)).containsExactly(
                "engagement_events.user_id is missing (dropped or renamed): the pipeline needs it as uuid or text",
                "engagement_events.duration_ms is text: the pipeline needs it as an integer (smallint, integer or bigint)");
    }
}
