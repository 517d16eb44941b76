package dev.engagement.pipeline.quality;

import dev.engagement.pipeline.model.InvalidReason;
import dev.engagement.pipeline.testing.MutableClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/** The data-quality watch on generated traffic, second by second on a clock moved by hand. */
class QualityWatchTest {
    private static final int BUCKET = 10;
    private static final List<String> TYPES = List.of("video", "article", "podcast");

    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-05T10:00:00Z"));
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private Random random = new Random(14);
    /** How long ago the events fed now were committed. */
    private long age = 300;
    private QualityWatch watch;
    private final List<String> contents = new ArrayList<>();
    /** Every anomaly seen active at any tick. */
    private final List<Anomaly> seen = new ArrayList<>();

    @BeforeEach
    void setUp() {
        watch = new QualityWatch(Duration.ofSeconds(BUCKET), 10, registry, clock);
        for (int i = 0; i < 40; i++) {
            contents.add(String.format("00000000-0000-0000-0000-%012d", i));
        }
    }

    /** A second of traffic like the generator's: {@code rate} events, a share invalid, engagement up to 100 %. */
    private void second(int rate, double invalidShare, Consumer<Integer> extra) {
        int n = poisson(rate);
        for (int i = 0; i < n; i++) {
            if (random.nextDouble() < invalidShare) {
                watch.invalid(random.nextBoolean() ? InvalidReason.NEGATIVE_DURATION : InvalidReason.MISSING_CONTENT_ID, age);
                continue;
            }
            String content = contents.get(random.nextInt(contents.size()));
            String type = TYPES.get(Math.floorMod(content.hashCode(), TYPES.size()));
            int length = 600;
            watch.valid(content, type, (long) (random.nextDouble() * length * 1000), length, age);
        }
        if (extra != null) {
            extra.accept(n);
        }
        clock.advance(Duration.ofSeconds(1));
        watch.tick();
        seen.addAll(watch.active());
    }

    private void steady(int seconds) {
        for (int i = 0; i < seconds; i++) {
            second(60, 0.01, null);
        }
    }

    private int poisson(double mean) {
        double l = Math.exp(-mean / 4);
        int k = 0;
        for (int part = 0; part < 4; part++) { // sum of four Poisson(mean/4), so exp() does not underflow
            double p = 1;
            do {
                k++;
                p *= random.nextDouble();
            } while (p > l);
            k--;
        }
        return k;
    }

    private double gauge(String kind) {
        return registry.get("pipeline.quality.anomalies").tag("kind", kind).gauge().value();
    }

    private void warm() {
        steady(BUCKET * (watch.warmupBuckets() + 2));
        assertThat(registry.get("pipeline.quality.baseline.buckets").gauge().value())
                .isGreaterThanOrEqualTo(watch.warmupBuckets());
    }

    @Test
    void steadyTrafficRaisesNothing() {
        QualityWatch measured = watch;
        for (long seed : new long[] {15, 16, 17, 18, 19, 20, 21}) {
            random = new Random(seed);
            watch = new QualityWatch(Duration.ofSeconds(BUCKET), 10, new SimpleMeterRegistry(), clock);
            steady(BUCKET * 40);
            assertThat(seen).as("seed " + seed).isEmpty();
        }
        random = new Random(14);
        watch = measured;
        steady(BUCKET * 40);
        assertThat(seen).isEmpty();
        assertThat(registry.get("pipeline.quality.event.rate.baseline").gauge().value()).isBetween(50.0, 70.0);
        assertThat(registry.get("pipeline.quality.invalid.ratio.baseline").tag("reason", "negative_duration").gauge()
                .value()).isBetween(0.0, 0.02);
    }

    @Test
    void aDropInTheRateIsRaisedWithinABucketAndEndsWhenTheRateComesBack() {
        warm();
        int raisedAfter = -1;
        for (int i = 0; i < BUCKET; i++) {
            second(6, 0.01, null);
            if (raisedAfter < 0 && gauge("rate_drop") == 1) {
                raisedAfter = i + 1;
            }
        }
        assertThat(raisedAfter).as("seconds until the drop was raised").isBetween(1, BUCKET);
        assertThat(watch.active()).extracting(Anomaly::kind).containsExactly(AnomalyKind.RATE_DROP);
        assertThat(registry.get("pipeline.quality.anomalies.raised").tag("kind", "rate_drop").counter().count())
                .isEqualTo(1);
        steady(BUCKET);
        assertThat(gauge("rate_drop")).isZero();
        assertThat(watch.marks()).extracting(QualityWatch.Mark::kind, QualityWatch.Mark::raised)
                .startsWith(org.assertj.core.groups.Tuple.tuple(AnomalyKind.RATE_DROP, true))
                .contains(org.assertj.core.groups.Tuple.tuple(AnomalyKind.RATE_DROP, false));
    }

    @Test
    void aSpikeInTheRateIsRaised() {
        warm();
        for (int i = 0; i < BUCKET; i++) {
            second(400, 0.01, null);
        }
        assertThat(gauge("rate_spike")).isEqualTo(1);
        assertThat(watch.active().get(0).detail()).contains("median second");
        assertThat(gauge("rate_drop")).isZero();
    }

    @Test
    void aBurstOfInvalidEventsRaisesTheirReasonOnly() {
        warm();
        for (int i = 0; i < 5; i++) {
            second(60, 0.01, n -> {
                for (int j = 0; j < 10; j++) {
                    watch.invalid(InvalidReason.BAD_EVENT_TYPE, age);
                }
            });
        }
        assertThat(watch.active()).extracting(Anomaly::key).containsExactly("invalid_ratio:bad_event_type");
        assertThat(watch.active().get(0).detail()).contains("bad_event_type").contains("baseline of 0.0 %");
    }

    @Test
    void engagementOver100AndAShiftOfOneContentTypeAreRaised() {
        warm();
        for (int i = 0; i < BUCKET; i++) {
            second(60, 0.01, n -> {
                for (int j = 0; j < 20; j++) {
                    watch.valid(contents.get(0), "video", 900_000L, 600, age); // 150 %
                }
            });
        }
        assertThat(watch.active()).extracting(Anomaly::key)
                .contains("engagement_over_100", "engagement_shift:video")
                .doesNotContain("engagement_shift:article", "engagement_shift:podcast");
    }

    @Test
    void aContentWhoseEventsStopIsNamed() {
        String quiet = contents.remove(7);
        for (int i = 0; i < BUCKET * (watch.warmupBuckets() + 2); i++) {
            second(60, 0.01, n -> {
                for (int j = 0; j < 2; j++) {
                    watch.valid(quiet, "video", 1000L, 600, age);
                }
            });
        }
        assertThat(seen).isEmpty();
        steady(BUCKET + 1); // the content gets nothing now
        assertThat(watch.active()).extracting(Anomaly::key).containsExactly("content_stopped:" + quiet);
        assertThat(gauge("content_stopped")).isEqualTo(1);
    }

    @Test
    void trafficThatStartsAfterSilenceOrCatchesUpInABurstIsNotASpike() {
        for (int i = 0; i < BUCKET * 8; i++) {
            second(0, 0, null);
        }
        steady(BUCKET * 12);
        assertThat(seen).isEmpty();
        for (int i = 0; i < 25; i++) {
            second(0, 0.01, null); // the processor paused (a drop, as it saw the events) ...
        }
        second(1500, 0.01, null); // ... and catches up within a second
        steady(BUCKET * 2);
        assertThat(seen).extracting(Anomaly::kind).as("a catch-up is not a spike")
                .doesNotContain(AnomalyKind.RATE_SPIKE).contains(AnomalyKind.RATE_DROP);
    }

    @Test
    void aLongCatchUpOfOldEventsIsNotASpike() {
        steady(BUCKET * 12);
        age = 20_000; // the processor works through a backlog of events committed 20 s ago, at four times the rate
        for (int i = 0; i < BUCKET * 2; i++) {
            second(240, 0.01, null);
        }
        assertThat(seen).isEmpty();
        assertThat(watch.readings().get("age_seconds")).isEqualTo(20.0);
        age = 300; // the same rate of fresh events is a spike
        for (int i = 0; i < BUCKET; i++) {
            second(240, 0.01, null);
        }
        assertThat(seen).extracting(Anomaly::kind).contains(AnomalyKind.RATE_SPIKE);
        assertThat(registry.get("pipeline.quality.event.rate.baseline").gauge().value()).isBetween(40.0, 70.0);
    }

    @Test
    void nothingIsJudgedWhileTheBaselinesWarmUpOrAfterTheyStartAgain() {
        steady(BUCKET * 3);
        for (int i = 0; i < BUCKET * 2; i++) {
            second(0, 0, null);
        }
        assertThat(seen).as("too early to judge a drop").isEmpty();
        warm();
        watch.reset("test");
        for (int i = 0; i < BUCKET * 2; i++) {
            second(5, 0.5, null);
        }
        assertThat(seen).as("after a reset, warming up again").isEmpty();
        assertThat(registry.get("pipeline.quality.event.rate.baseline").gauge().value()).isNaN();
    }
}
