package dev.engagement.pipeline.model;

import dev.engagement.pipeline.testing.Cdc;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CodecTest {

    @Test
    void readsTheChangeEnvelope() throws Exception {
        CdcEvent<EngagementRow> e = CdcCodec.readEvent(Cdc.insert(Cdc.eventRow(42, "c-1", "pause", 900_000,
                "2025-08-10T14:30:20Z")));
        assertThat(e.op()).isEqualTo(ChangeOp.CREATE);
        assertThat(e.sourceTsMs()).isEqualTo(1_723_300_220_000L);
        assertThat(e.after()).isEqualTo(new EngagementRow(42L, "c-1", "7f1b9a54-2f6e-4c1e-9d7b-0c1f3a2b4c5d", "pause",
                "2025-08-10T14:30:20Z", 900_000L, "mobile"));
    }

    @Test
    void rejectsWhatIsNotAChangeRecord() {
        assertThatThrownBy(() -> CdcCodec.readEvent("{".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(MalformedRecordException.class).hasMessageStartingWith("not JSON");
        assertThatThrownBy(() -> CdcCodec.readEvent("{\"op\":\"x\",\"after\":{}}".getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("unknown change operation");
        assertThatThrownBy(() -> CdcCodec.readEvent("{\"op\":\"c\"}".getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("neither");
        assertThatThrownBy(() -> CdcCodec.readEvent(
                "{\"op\":\"c\",\"after\":{\"id\":1,\"duration_ms\":\"long\"}}".getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("duration_ms");
    }

    @Test
    void aRawPayloadOfAnyDepthOrSizeNeverMakesAValidEventMalformed() throws Exception {
        for (int depth : new int[] {400, 600, 5_000, 100_000}) {
            String deep = "[".repeat(depth) + "1" + "]".repeat(depth);
            CdcEvent<EngagementRow> e = CdcCodec.readEvent(("{\"op\":\"c\",\"after\":{\"id\":7,\"raw_payload\":" + deep
                    + ",\"content_id\":\"c\",\"duration_ms\":5}}").getBytes(StandardCharsets.UTF_8));
            assertThat(e.row().id()).as("depth " + depth).isEqualTo(7);
            assertThat(e.row().durationMs()).isEqualTo(5);
        }
        String big = "{\"blob\":\"" + "x".repeat(25 * 1024 * 1024) + "\"}";
        CdcEvent<EngagementRow> e = CdcCodec.readEvent(("{\"op\":\"c\",\"after\":{\"id\":8,\"raw_payload\":" + big
                + ",\"content_id\":\"c\"}}").getBytes(StandardCharsets.UTF_8));
        assertThat(e.row().id()).as("a 25 MB string").isEqualTo(8);
    }

    @Test
    void enrichedEventsRoundTripExactly() throws Exception {
        EnrichedEvent e = new EnrichedEvent(42, "c-1", "Intro \"quoted\"\n", "video", 1800, "u-1", EventType.PAUSE,
                "2025-08-10T14:30:20Z", 900_001L, new BigDecimal("50.00"), "mobile", "2025-08-10T14:30:25Z");
        EnrichedEvent back = EnrichedEvent.parse(e.toJson());
        assertThat(back.engagementMs()).isEqualTo(900_001L);
        assertThat(back.engagementPercentage()).isEqualByComparingTo("50");
        assertThat(back.contentTitle()).isEqualTo("Intro \"quoted\"\n");
        assertThat(new String(e.toJson(), StandardCharsets.UTF_8)).contains("\"engagement_seconds\":900.001")
                .contains("\"engagement_percentage\":50.0");
    }

    @Test
    void secondsAreExactDecimalsOfMilliseconds() {
        assertThat(Decimals.seconds(900_000)).isEqualTo("900.0");
        assertThat(Decimals.seconds(1)).isEqualTo("0.001");
        assertThat(Decimals.seconds(0)).isEqualTo("0.0");
        assertThat(Decimals.seconds(Long.MAX_VALUE)).isEqualTo("9223372036854775.807");
        assertThat(Decimals.secondsToMillis("900.5")).isEqualTo(900_500);
        assertThat(Decimals.percentage(1000, 3)).isEqualByComparingTo("33.33");
        assertThat(Decimals.percentage(5, 1000)).isEqualByComparingTo("0.00");
        assertThat(Decimals.percentage(5_000, 1000)).isEqualByComparingTo("0.50");
    }
}
