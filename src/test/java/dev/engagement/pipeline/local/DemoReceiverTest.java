package dev.engagement.pipeline.local;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

class DemoReceiverTest {
    private static final String BODY = "[{\"event_id\":1},{\"event_id\":2},{\"event_id\":3}]";

    @Test
    void countsEventsOfPlainAndGzippedBatchesAndRefusesAWrongToken() throws Exception {
        try (DemoReceiver receiver = new DemoReceiver("demo-secret")) {
            HttpClient http = HttpClient.newHttpClient();
            byte[] plain = BODY.getBytes(StandardCharsets.UTF_8);
            assertThat(post(http, receiver, plain, false, "demo-secret")).isEqualTo(200);
            assertThat(post(http, receiver, gzip(plain), true, "demo-secret")).isEqualTo(200);
            assertThat(post(http, receiver, plain, false, "wrong")).isEqualTo(401);
            assertThat(receiver.events()).isEqualTo(6);
            assertThat(receiver.batches()).isEqualTo(2);
        }
    }

    private static int post(HttpClient http, DemoReceiver receiver, byte[] body, boolean gzip, String token)
            throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(receiver.url()))
                .header("Authorization", "Bearer " + token)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (gzip) {
            r.header("Content-Encoding", "gzip");
        }
        return http.send(r.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private static byte[] gzip(byte[] body) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(out)) {
            z.write(body);
        }
        return out.toByteArray();
    }
}
