package dev.engagement.pipeline.testing;

import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The test API counts a delivery only when its answer reached a client still waiting for it. */
class ApiReceiverTest {

    @Test
    void aBatchTheClientTimedOutOnIsNotDeliveredOneItWaitedForIs() throws Exception {
        try (ApiReceiver receiver = new ApiReceiver()) {
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            receiver.respond(r -> r.events.get(0).get("event_id").asLong() == 1
                    ? ApiReceiver.Reply.delayed(200, 3_000) : ApiReceiver.Reply.status(200));
            HttpRequest slow = HttpRequest.newBuilder(URI.create(receiver.url())).timeout(Duration.ofMillis(300))
                    .POST(HttpRequest.BodyPublishers.ofString("[{\"event_id\":1}]")).build();
            assertThatThrownBy(() -> client.send(slow, HttpResponse.BodyHandlers.discarding()))
                    .isInstanceOf(HttpTimeoutException.class);
            HttpRequest fast = HttpRequest.newBuilder(URI.create(receiver.url())).timeout(Duration.ofSeconds(5))
                    .POST(HttpRequest.BodyPublishers.ofString("[{\"event_id\":2}]")).build();
            assertThat(client.send(fast, HttpResponse.BodyHandlers.discarding()).statusCode()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(10)).until(() -> receiver.requests().get(0).answered() != 0);
            assertThat(receiver.requests().get(0).answered()).as("the client left before the answer").isEqualTo(-1);
            assertThat(receiver.deliveredEventIds()).containsExactly(2L);
        }
    }

    @Test
    void anEventAfterALaterOneOfItsContentIsOutOfOrderARepeatIsNot() throws Exception {
        try (ApiReceiver receiver = new ApiReceiver()) {
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            for (String body : new String[] {
                    "[{\"event_id\":1,\"content_id\":\"a\"},{\"event_id\":3,\"content_id\":\"a\"}]",
                    "[{\"event_id\":4,\"content_id\":\"b\"},{\"event_id\":1,\"content_id\":\"a\"}]",
                    "[{\"event_id\":5,\"content_id\":\"b\"},{\"event_id\":2,\"content_id\":\"a\"}]"}) {
                HttpRequest post = HttpRequest.newBuilder(URI.create(receiver.url())).timeout(Duration.ofSeconds(5))
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
                assertThat(client.send(post, HttpResponse.BodyHandlers.discarding()).statusCode()).isEqualTo(200);
            }
            await().atMost(Duration.ofSeconds(10)).until(() ->
                    receiver.requests().stream().allMatch(r -> r.answered() == 200));
            assertThat(receiver.outOfOrder()).containsExactly("event 2 of content a after 3");
        }
    }
}
