package dev.engagement.pipeline.sink.http;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.local.EmbeddedKafka;
import dev.engagement.pipeline.model.EventType;
import dev.engagement.pipeline.sink.KafkaAccess;
import dev.engagement.pipeline.sink.SinkRuntime;
import dev.engagement.pipeline.testing.ApiReceiver;
import dev.engagement.pipeline.testing.Events;
import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.TestServices;
import dev.engagement.pipeline.testing.TopicReader;
import dev.engagement.pipeline.topic.KafkaClients;
import dev.engagement.pipeline.topic.TopicAdmin;
import dev.engagement.pipeline.topic.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The http sink on a real broker against a real HTTP server that has bad days. */
class HttpSinkIT {
    private static final String TOKEN = "sink-it-token-77f3";
    private static EmbeddedKafka kafka;
    private static ApiReceiver receiver;
    private static Map<String, String> env;
    private static PipelineConfig config;
    private static final AtomicLong nextId = new AtomicLong(1);

    @BeforeAll
    static void services() throws Exception {
        kafka = TestServices.kafka();
        receiver = new ApiReceiver();
        env = new HashMap<>(TestServices.env("http_it", kafka));
        env.put("EXTERNAL_API_URL", receiver.url());
        env.put("EXTERNAL_API_TOKEN", TOKEN);
        env.put("HTTP_SINK_BATCH_SIZE", "50");
        env.put("HTTP_SINK_LINGER", "20ms");
        env.put("HTTP_SINK_REQUEST_TIMEOUT", "2s");
        env.put("HTTP_SINK_BREAKER_OPEN_FOR", "3s");
        config = TestServices.config(env);
        TopicAdmin.ensureTopics(config);
    }

    @AfterAll
    static void stop() {
        receiver.close();
        kafka.close();
    }

    private static Set<Long> produce(KafkaProducer<String, byte[]> producer, int n) {
        Set<Long> ids = new TreeSet<>();
        for (int i = 0; i < n; i++) {
            long id = nextId.getAndIncrement();
            String content = "content-" + (id % 7);
            producer.send(new ProducerRecord<>(Topics.ENRICHED, content,
                    Events.event(id, content, EventType.PLAY, id * 10, Instant.now()).toJson()));
            ids.add(id);
        }
        producer.flush();
        return ids;
    }

    @Test
    void aSixtySecondOutageLosesNothingFillsNoDeadLettersAndTheBreakerOpensAndCloses() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Set<Long> sent = java.util.concurrent.ConcurrentHashMap.newKeySet();
        AtomicBoolean flowing = new AtomicBoolean(true);
        long firstId = nextId.get();
        int deadLettersBefore = TopicReader.readAll(config, Topics.HTTP_DLQ).size();
        HttpSink sink = new HttpSink(config, registry);
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(KafkaClients.producer(config, "it"));
             KafkaAccess kafka = new KafkaAccess(config);
             SinkRuntime runtime = new SinkRuntime(sink, kafka, registry, Clock.systemUTC())) {
            runtime.start();
            sent.addAll(produce(producer, 100));
            await().atMost(Duration.ofSeconds(30)).until(() -> receiver.deliveredEventIds().containsAll(sent));

            receiver.respond(r -> ApiReceiver.Reply.status(503));
            Thread producerThread = new Thread(() -> {
                while (flowing.get()) {
                    sent.addAll(produce(producer, 20));
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            producerThread.start();
            Instant outage = Instant.now();
            await().atMost(Duration.ofSeconds(30)).until(() -> sink.breaker().open());
            assertThat(runtime.status()).startsWith("breaker OPEN").contains("503").contains("events waiting");
            await().atMost(Duration.ofSeconds(65)).pollInterval(Duration.ofMillis(200))
                    .until(() -> !Instant.now().isBefore(outage.plusSeconds(60))); // the outage lasts 60 s
            long callsDuringOutage = receiver.requests().stream().filter(r -> r.answered() == 503).count();
            receiver.respond(r -> ApiReceiver.Reply.status(200));
            flowing.set(false);
            producerThread.join();

            await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                    assertThat(receiver.deliveredEventIds()).containsAll(sent));
            assertThat(receiver.deliveredEventIds().stream().filter(id -> id >= firstId)).hasSameSizeAs(sent);
            // batches go out in parallel, yet each content id's events arrive in the order they were produced
            Map<String, java.util.List<Long>> arrival = new HashMap<>();
            for (ApiReceiver.Request r : receiver.requests()) {
                if (r.answered() == 200) {
                    r.events.stream().filter(e -> e.get("event_id").asLong() >= firstId).forEach(e -> arrival
                            .computeIfAbsent(e.get("content_id").asText(), k -> new java.util.ArrayList<>())
                            .add(e.get("event_id").asLong()));
                }
            }
            assertThat(arrival).hasSize(7).allSatisfy((content, ids) -> assertThat(ids).isSorted());
            assertThat(TopicReader.readAll(config, Topics.HTTP_DLQ)).as("an outage fills no dead-letter topic")
                    .hasSize(deadLettersBefore);
            assertThat(registry.get("pipeline.http.breaker.transitions").tag("from", "closed").tag("to", "open")
                    .counter().count()).isPositive();
            assertThat(registry.get("pipeline.http.breaker.transitions").tag("from", "half_open").tag("to", "closed")
                    .counter().count()).isPositive();
            assertThat(callsDuringOutage).as("the breaker stops hammering: calls in a 60 s outage")
                    .isLessThan(60);
            await().atMost(Duration.ofSeconds(10)).until(() -> "connected".equals(runtime.status()));
        }
    }

    @Test
    void refusedEventsGoToTheDeadLetterTopicAndReplayDeliversThemOnce() throws Exception {
        Path dir = TestServices.fresh("dlq-replay");
        Set<Long> refused = new TreeSet<>();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(KafkaClients.producer(config, "it"));
             KafkaAccess kafka = new KafkaAccess(config);
             SinkRuntime runtime = new SinkRuntime(new HttpSink(config, registry), kafka, registry, Clock.systemUTC())) {
            runtime.start();
            Set<Long> ids = produce(producer, 0);
            long first = nextId.get();
            refused.addAll(Set.of(first + 3, first + 17, first + 18, first + 60));
            receiver.respond(r -> r.events.stream().anyMatch(e -> refused.contains(e.get("event_id").asLong()))
                    ? ApiReceiver.Reply.status(422) : ApiReceiver.Reply.status(200));
            ids.addAll(produce(producer, 80));
            Set<Long> accepted = new TreeSet<>(ids);
            accepted.removeAll(refused);
            await().atMost(Duration.ofSeconds(90)).until(() -> receiver.deliveredEventIds().containsAll(accepted)
                    && TopicReader.readAll(config, Topics.HTTP_DLQ).size() == refused.size());
            assertThat(receiver.deliveredEventIds()).doesNotContainAnyElementsOf(refused);
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(
                    registry.get("pipeline.http.dlq.size").gauge().value()).isEqualTo(refused.size()));
        }

        try (PipelineProcess list = PipelineProcess.start(env, dir, "dlq", "list", "--reason", "rejected",
                "--since", "1h")) {
            assertThat(list.waitFor(60)).isZero();
            assertThat(list.output()).contains("(" + refused.size() + " dead letters)").contains("422");
            refused.forEach(id -> assertThat(list.output()).contains(" " + id + " "));
        }
        receiver.respond(r -> ApiReceiver.Reply.status(200));
        long before = receiver.requests().size();
        try (PipelineProcess dry = PipelineProcess.start(env, dir, "dlq", "replay", "--dry-run")) {
            assertThat(dry.waitFor(60)).isZero();
            assertThat(dry.output()).contains("would replay " + refused.size() + " events");
        }
        String later = Instant.now().plusSeconds(3600).toString();
        try (PipelineProcess none = PipelineProcess.start(env, dir, "dlq", "replay", "--dry-run", "--since", later)) {
            assertThat(none.waitFor(60)).isZero();
            assertThat(none.output()).as("nothing dead-lettered after --since").contains("would replay 0 events");
        }
        assertThat(receiver.requests()).as("a dry run sends nothing").hasSize((int) before);
        try (PipelineProcess replay = PipelineProcess.start(env, dir, "dlq", "replay")) {
            assertThat(replay.waitFor(60)).as(replay.output()).isZero();
            assertThat(replay.output()).contains("replayed " + refused.size() + " events")
                    .contains(refused.size() + " delivered, 0 refused again").doesNotContain(TOKEN);
        }
        assertThat(receiver.deliveredEventIds()).containsAll(refused);
        long afterFirst = receiver.deliveredEventCount();
        try (PipelineProcess again = PipelineProcess.start(env, dir, "dlq", "replay")) {
            assertThat(again.waitFor(60)).isZero();
            assertThat(again.output()).contains("replayed 0 events");
        }
        assertThat(receiver.deliveredEventCount()).as("a second replay sends nothing twice").isEqualTo(afterFirst);
    }
}
