package dev.engagement.pipeline.sink.http;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Takes one batch to the end, asynchronously: POST, then by the {@link RetryPolicy}'s decision
 * deliver, wait and try again, or give up into dead letters. A batch refused for good is split in
 * halves until the records at fault stand alone, so one bad record does not send its neighbours to
 * the dead-letter topic. When the breaker does not permit a call, or the call finds the API down
 * (the breaker opens, or stays open after a probe), the work stops and what is left is handed back,
 * without losing an attempt, to be sent again when the API is back.
 */
final class Deliverer {
    private final Api client;
    private final ApiBreaker breaker;
    private final RetryPolicy policy;
    private final ScheduledExecutorService timer;
    private final Clock clock;
    private final HttpMetrics metrics;

    Deliverer(Api client, ApiBreaker breaker, RetryPolicy policy, ScheduledExecutorService timer, Clock clock,
              HttpMetrics metrics) {
        this.client = client;
        this.breaker = breaker;
        this.policy = policy;
        this.timer = timer;
        this.clock = clock;
        this.metrics = metrics;
    }

    CompletableFuture<Settlement> deliver(Batch batch) {
        if (!breaker.tryAcquire()) {
            return CompletableFuture.completedFuture(Settlement.held(batch));
        }
        if (batch.firstAttempt == null) {
            batch.firstAttempt = clock.instant();
        }
        return client.post(batch.body(), batch.key()).thenCompose(outcome -> {
            breaker.record(outcome);
            metrics.request(outcome);
            if (outcome.authRefused() || outcome.retriable() && breaker.probingOrOpen()) {
                // refused credentials, a failure that opened the breaker, or a failed half-open probe:
                // it says the API is down for us, not that this batch is bad, so it costs the batch no
                // attempt and is never dead-lettered; it waits instead
                return CompletableFuture.completedFuture(Settlement.held(batch));
            }
            batch.attempts++;
            batch.spent = batch.spent.plus(outcome.took());
            RetryPolicy.Decision decision = policy.after(outcome, batch.attempts, batch.spent);
            if (decision instanceof RetryPolicy.Delivered) {
                return CompletableFuture.completedFuture(Settlement.delivered(batch));
            }
            if (decision instanceof RetryPolicy.Rejected) {
                if (batch.size() == 1) {
                    return CompletableFuture.completedFuture(
                            Settlement.deadLettered(batch, "rejected", outcome, clock.instant()));
                }
                metrics.split();
                Batch right = batch.right();
                return deliver(batch.left()).thenCompose(left -> left.held().isPresent()
                        ? CompletableFuture.completedFuture(left.holding(right))
                        : deliver(right).thenApply(left::then));
            }
            if (decision instanceof RetryPolicy.GiveUp giveUp) {
                return CompletableFuture.completedFuture(
                        Settlement.deadLettered(batch, "retries_exhausted", outcome, clock.instant()));
            }
            Duration wait = ((RetryPolicy.Retry) decision).delay();
            metrics.retry();
            batch.spent = batch.spent.plus(wait);
            CompletableFuture<Settlement> later = new CompletableFuture<>();
            Runnable again = () -> deliver(batch).whenComplete((s, e) -> {
                if (e != null) {
                    later.completeExceptionally(e);
                } else {
                    later.complete(s);
                }
            });
            timer.schedule(again, wait.toMillis(), TimeUnit.MILLISECONDS);
            return later;
        });
    }
}
