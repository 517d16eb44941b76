package dev.engagement.pipeline.sink.http;

import java.util.concurrent.CompletableFuture;

/** One POST of a batch to the external API, whatever its outcome. */
@FunctionalInterface
interface Api {
    CompletableFuture<ApiClient.Outcome> post(byte[] body, String idempotencyKey);
}
