package dev.engagement.pipeline.server;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class HealthServiceTest {
    /** A check that answers what it is given (or throws what the supplier throws). */
    private record Fixed(String service, java.util.function.Supplier<ServiceCheck.Result> answer) implements ServiceCheck {
        @Override
        public Result check() {
            return answer.get();
        }
    }

    private static HealthService.Report report(ServiceCheck.Result... results) {
        List<ServiceCheck> checks = new java.util.ArrayList<>();
        for (int i = 0; i < results.length; i++) {
            ServiceCheck.Result r = results[i];
            checks.add(new Fixed("s" + i, () -> r));
        }
        return new HealthService(checks, Optional::empty).report();
    }

    @Test
    void readyWhileEveryServiceItUsesAnswersEvenDegradedAndNotReadyOnceOneIsDisconnected() {
        ServiceCheck.Result up = ServiceCheck.Result.connected("up");
        ServiceCheck.Result unused = ServiceCheck.Result.notUsed("not here");
        ServiceCheck.Result retrying = new ServiceCheck.Result("degraded", "breaker OPEN", false);
        assertThat(report(up, unused).ready()).isTrue();
        // a retrying sink or an open breaker still does its job: ready, though /health says degraded (503)
        HealthService.Report degraded = report(up, retrying);
        assertThat(degraded.ready()).isTrue();
        assertThat(degraded.healthy()).isFalse();
        // an unreachable store, critical or not, is not ready
        assertThat(report(up, new ServiceCheck.Result("disconnected", "redis down", false)).ready()).isFalse();
        assertThat(report(up, new ServiceCheck.Result("disconnected", "kafka down", true)).ready()).isFalse();
        // a check that throws counts as disconnected
        assertThat(new HealthService(List.of(new Fixed("kafka", () -> {
            throw new IllegalStateException("boom");
        })), Optional::empty).report().ready()).isFalse();
    }
}
