package dev.engagement.pipeline.telemetry;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class StageProgressTest {
    private final StageProgress progress = new StageProgress(Duration.ofSeconds(30));

    private static StageProgress.Sample at(long position, long waiting, long restarts) {
        return new StageProgress.Sample(position, waiting, restarts);
    }

    @Test
    void aStageWhoseInputWaitsWhileItsPositionStandsStillIsStalledAfterTheLimit() {
        assertThat(progress.observe("redis", at(100, 50, 0), 0)).isEmpty();
        assertThat(progress.observe("redis", at(100, 80, 0), 29_000)).isEmpty();
        assertThat(progress.observe("redis", at(100, 90, 0), 30_000)).hasValueSatisfying(why ->
                assertThat(why).contains("90 waiting").contains("30 s"));
    }

    @Test
    void aStageThatMovesOrHasNothingToDoIsNeverStalled() {
        long t = 0;
        for (int i = 0; i < 20; i++, t += 5_000) {
            assertThat(progress.observe("processor", at(i * 10L, 1000, 0), t)).as("moving").isEmpty();
            assertThat(progress.observe("http", at(7, 0, 0), t)).as("idle").isEmpty();
        }
    }

    @Test
    void movingAgainClearsAStall() {
        progress.observe("warehouse", at(1, 5, 0), 0);
        assertThat(progress.observe("warehouse", at(1, 5, 0), 40_000)).isPresent();
        assertThat(progress.observe("warehouse", at(2, 5, 0), 45_000)).isEmpty();
        assertThat(progress.observe("warehouse", at(2, 5, 0), 60_000)).isEmpty();
    }

    @Test
    void threeRestartsWithinTheLimitAreACrashLoopEvenIfItMovesBetweenThem() {
        assertThat(progress.observe("processor", at(0, 10, 0), 0)).isEmpty();
        assertThat(progress.observe("processor", at(5, 10, 2), 5_000)).isEmpty();
        assertThat(progress.observe("processor", at(9, 10, 3), 10_000)).hasValueSatisfying(why ->
                assertThat(why).contains("restarted 3 times"));
        // no more restarts: once they age out of the window it is judged by its progress again
        assertThat(progress.observe("processor", at(20, 10, 3), 41_000)).isEmpty();
    }

    @Test
    void restartsFarApartAreNotALoop() {
        for (int i = 0; i < 6; i++) {
            assertThat(progress.observe("redis", at(i, 3, i), i * 31_000L)).isEmpty();
        }
    }
}
