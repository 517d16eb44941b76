package dev.engagement.pipeline.sink.http;

import dev.engagement.pipeline.sink.SinkRecord;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * How a batch ended: records the API took, records that go to the dead-letter topic, and, when the
 * breaker stopped the work, the not yet settled tail to send again later (same boundaries, same key).
 */
record Settlement(List<SinkRecord> delivered, List<DeadLetter> deadLetters,
                  Optional<Batch> held) {

    /** A record the API refused for good, or that ran out of attempts, and why. */
    record DeadLetter(SinkRecord record, String reason, int status, String detail, int attempts,
                      Instant firstAttempt, Instant lastAttempt) {
    }

    static Settlement delivered(Batch b) {
        return new Settlement(b.records, List.of(), Optional.empty());
    }

    static Settlement held(Batch b) {
        return new Settlement(List.of(), List.of(), Optional.of(b));
    }

    static Settlement deadLettered(Batch b, String reason, ApiClient.Outcome last, Instant now) {
        List<DeadLetter> out = new ArrayList<>(b.size());
        for (SinkRecord r : b.records) {
            out.add(new DeadLetter(r, reason, last.status(), last.describe(), b.attempts, b.firstAttempt, now));
        }
        return new Settlement(List.of(), out, Optional.empty());
    }

    /** This settlement followed by the next part of the same batch. */
    Settlement then(Settlement next) {
        List<SinkRecord> d = new ArrayList<>(delivered);
        d.addAll(next.delivered);
        List<DeadLetter> dl = new ArrayList<>(deadLetters);
        dl.addAll(next.deadLetters);
        return new Settlement(d, dl, next.held);
    }

    /** This settlement, with {@code rest} (never attempted) added to the held tail. */
    Settlement holding(Batch rest) {
        if (held.isEmpty()) {
            return new Settlement(delivered, deadLetters, Optional.of(rest));
        }
        List<SinkRecord> tail = new ArrayList<>(held.get().records);
        tail.addAll(rest.records);
        return new Settlement(delivered, deadLetters, Optional.of(new Batch(rest.partition, tail)));
    }
}
