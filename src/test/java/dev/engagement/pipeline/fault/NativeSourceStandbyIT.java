package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.local.Ports;
import dev.engagement.pipeline.testing.FaultSeeds;
import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 22: two processes run the native source against one slot, the rest of the pipeline in a
 * third. The one that holds the slot captures, the other reports standby on /health. kill -9 of the
 * active one, twice, events flowing all along: each time the standby takes over capture within 10 s
 * (a new process takes the standby's place), the CDC topic holds every committed event once and the
 * oracle is exact.
 */
class NativeSourceStandbyIT {
    @FaultSeeds(value = {22001, 22002, 22003, 22004, 22005}, quick = 1)
    void aStandbyTakesOverCaptureWithinTenSecondsOfAKill(long seed) throws Exception {
        try (Scenario s = Scenario.create("native_standby", seed)) {
            s.startLoad(300, 2);
            s.start(Map.of(), "run", "--components", "processor,redis,warehouse,http,api");
            s.awaitHealthy(s.port(), Duration.ofSeconds(90));
            Source active = source(s, "a");
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> active.health(s).contains("streaming"));
            Source standby = source(s, "b");
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() ->
                    standby.health(s).contains("change data capture: standby: another process holds slot"));
            List<Long> takeoverMs = new ArrayList<>();
            Source killed = active;
            Source next = standby;
            for (int kill = 1; kill <= 2; kill++) {
                long base = s.redisEvents();
                long more = 200 + s.random.nextInt(800);
                await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() >= base + more);
                killed.process.kill9();
                Instant at = Instant.now();
                Source taking = next;
                await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() ->
                        taking.process.output().contains("change data capture is streaming from"));
                takeoverMs.add(Duration.between(at, Instant.now()).toMillis());
                long before = s.redisEvents();
                s.awaitFlow(at, before, Duration.ofSeconds(30));
                killed = taking;
                next = source(s, kill == 1 ? "c" : "d");
                Source waiting = next;
                await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() ->
                        waiting.health(s).contains("standby"));
            }
            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(120));
            assertThat(s.cdcDuplicates()).as("every committed event once on the CDC topic, snapshot reads included").isZero();
            s.report("faults", "2 x kill -9 of the capturing source process, a standby beside it each time");
            s.report("takeover_ms", takeoverMs);
            assertThat(takeoverMs).allSatisfy(ms -> assertThat(ms).as("kill to the standby streaming").isLessThan(10_000));
        }
    }

    private record Source(PipelineProcess process, int port) {
        String health(Scenario s) throws Exception {
            return s.get(port, "/health").body();
        }
    }

    private static Source source(Scenario s, String name) throws Exception {
        int port = Ports.free();
        PipelineProcess p = s.start(Map.of("HTTP_PORT", Integer.toString(port), "INSTANCE_ID", "source-" + name,
                "DATA_DIR", s.dir.resolve("data-source-" + name).toString()), "run", "--components", "source,api");
        return new Source(p, port);
    }
}
