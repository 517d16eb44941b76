package dev.engagement.pipeline.config;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class MemoryTest {
    private static final long OTHERWISE = 123;

    @Test
    void readsTheHeapMaximumInEveryUnit() {
        assertThat(Memory.heapMaxBytes(List.of("-Xmx896m"), OTHERWISE)).isEqualTo(896L << 20);
        assertThat(Memory.heapMaxBytes(List.of("-Xmx2G"), OTHERWISE)).isEqualTo(2L << 30);
        assertThat(Memory.heapMaxBytes(List.of("-Xmx65536k"), OTHERWISE)).isEqualTo(64L << 20);
        assertThat(Memory.heapMaxBytes(List.of("-Xmx1048576"), OTHERWISE)).isEqualTo(1L << 20);
    }

    @Test
    void theLastMaximumWinsAsInTheJvm() {
        assertThat(Memory.heapMaxBytes(List.of("-Xmx896m", "-XX:+UseParallelGC", "-Xmx2g"), OTHERWISE))
                .as("the launcher's default, then the user's own").isEqualTo(2L << 30);
    }

    @Test
    void withoutAReadableMaximumTheCollectorsFigure() {
        assertThat(Memory.heapMaxBytes(List.of("-XX:MaxRAMPercentage=50"), OTHERWISE)).isEqualTo(OTHERWISE);
        assertThat(Memory.heapMaxBytes(List.of("-Xmxlots"), OTHERWISE)).isEqualTo(OTHERWISE);
    }

    @Test
    void theBudgetIsHeapDuckDbAndTheNativeShare() {
        assertThat(Memory.budgetMib(896L << 20, 256)).isEqualTo(896 + 256 + Memory.NATIVE_MIB);
    }
}
