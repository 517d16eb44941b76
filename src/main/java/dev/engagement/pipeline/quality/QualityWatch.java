package dev.engagement.pipeline.quality;

import dev.engagement.pipeline.Threads;
import dev.engagement.pipeline.model.InvalidReason;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

import static net.logstash.logback.argument.StructuredArguments.v;

/**
 * Watches the events the processor sees against per-bucket baselines (a bucket is a minute by
 * default) and turns a deviation into an {@link Anomaly}: a metric, a log line, a mark on the
 * dashboard and, through {@code ops/prometheus-alerts.yml}, an alert.
 *
 * <p>What is watched, each over the last bucket's worth of seconds (a sliding window) against the
 * baseline of whole buckets: the event rate (valid and invalid), the share of invalid events per
 * reason, the share of events with an engagement percentage over 100, the mean engagement
 * percentage per content type, and each content's events. The thresholds are constants here and in
 * the README; the baselines are exponentially weighted (a span of {@code baselineBuckets}), so a
 * lasting change becomes the new normal and its anomaly ends by itself. Nothing is judged before
 * half a span of whole buckets is in the baselines, and everything starts again when the processor's
 * partitions change (its share of the events changes with them).
 *
 * <p>The recording methods are on the processor's hot path: adders and one map update per event;
 * the rest runs once a second on a thread of its own.
 */
public final class QualityWatch implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(QualityWatch.class);
    static final double DROP_FRACTION = 0.5;
    static final double SPIKE_FACTOR = 3;
    static final double SIGMAS = 4;
    static final double RATIO_POINTS = 0.05;
    static final double SHIFT_FRACTION = 0.25;
    static final double SHIFT_POINTS = 5;
    /** A rate baseline under one event a second is too thin to judge. */
    static final double MIN_RATE = 1;
    /** Fewer events in the window than this say nothing about a share. */
    static final int MIN_WINDOW_EVENTS = 50;
    /** A share is judged only with at least this many events of its kind in the window. */
    static final int MIN_RATIO_EVENTS = 10;
    static final int MIN_TYPE_EVENTS = 30;
    static final int MIN_CONTENT_PER_BUCKET = 10;
    /** Events older than this on average (or a quarter of the window, if more): the processor is behind. */
    static final long MIN_BEHIND_MS = 5_000;
    static final int MAX_CONTENTS = 50_000;
    static final int MAX_TYPES = 50;
    private static final int MARKS_KEPT = 200;
    private static final InvalidReason[] REASONS = InvalidReason.values();

    private final Clock clock;
    private final int windowSeconds;
    private final int span;
    private final int warmup;
    private volatile Acc acc = new Acc();
    private ScheduledExecutorService timer;

    // below: the ticking thread's state (every method that touches it is synchronized)
    private long lastSecond = -1;
    private long bucketIndex;
    private boolean partialBucket;
    private boolean bucketBehind;
    private final Deque<Second> seconds = new ArrayDeque<>();
    private final Counts window = new Counts();
    private final Counts bucket = new Counts();
    private Baseline rate;
    private final Map<InvalidReason, Baseline> invalidRatio = new EnumMap<>(InvalidReason.class);
    private Baseline over100;
    private final Map<String, Baseline> typeMeans = new HashMap<>();
    private final Map<String, ContentTrack> contents = new HashMap<>();
    private int folded;
    private final Map<String, Anomaly> active = new LinkedHashMap<>();
    private final Deque<Mark> marks = new ArrayDeque<>();

    // read by the meters and the telemetry, written by the ticking thread
    private final Map<String, Double> readings = new ConcurrentHashMap<>();
    private final Map<AnomalyKind, Integer> activeCounts = new ConcurrentHashMap<>();
    private final Map<AnomalyKind, Counter> raised = new EnumMap<>(AnomalyKind.class);
    private final MeterRegistry registry;

    public QualityWatch(Duration bucket, int baselineBuckets, MeterRegistry registry, Clock clock) {
        if (bucket.toSeconds() < 1 || baselineBuckets < 2) {
            throw new IllegalArgumentException("a bucket of at least 1 s and a span of at least 2 buckets, but was "
                    + bucket + " and " + baselineBuckets);
        }
        this.clock = clock;
        this.windowSeconds = (int) bucket.toSeconds();
        this.span = baselineBuckets;
        this.warmup = Math.max(2, (baselineBuckets + 1) / 2);
        this.registry = registry;
        resetBaselines();
        for (AnomalyKind kind : AnomalyKind.values()) {
            activeCounts.put(kind, 0);
            Gauge.builder("pipeline.quality.anomalies", activeCounts, m -> m.get(kind)).tag("kind", kind.wire())
                    .description("Data-quality anomalies active now, by kind (README: Data quality)").register(registry);
            raised.put(kind, Counter.builder("pipeline.quality.anomalies.raised").tag("kind", kind.wire())
                    .description("Data-quality anomalies raised, by kind").register(registry));
        }
        reading("pipeline.quality.event.rate", "rate", "Events per second the processor saw over the last bucket's "
                + "worth of seconds");
        reading("pipeline.quality.event.rate.baseline", "rate_baseline", "Baseline of the event rate, events per second "
                + "(NaN while the baseline warms up)");
        reading("pipeline.quality.engagement.over100.ratio", "over100", "Share of events with engagement_percentage "
                + "over 100 in the window");
        reading("pipeline.quality.engagement.over100.ratio.baseline", "over100_baseline", "Baseline of that share");
        Gauge.builder("pipeline.quality.baseline.buckets", this, w -> w.readings.getOrDefault("folded", 0.0))
                .description("Whole buckets in the baselines; anomalies are judged from " + warmup).register(registry);
        for (InvalidReason reason : REASONS) {
            if (reason == InvalidReason.TOO_LARGE) {
                continue; // never reaches the processor
            }
            Gauge.builder("pipeline.quality.invalid.ratio", readings, r -> r.getOrDefault("invalid:" + reason.wire(), 0.0))
                    .tag("reason", reason.wire()).description("Share of invalid events of a reason in the window")
                    .register(registry);
            Gauge.builder("pipeline.quality.invalid.ratio.baseline", readings,
                            r -> r.getOrDefault("invalid_baseline:" + reason.wire(), Double.NaN))
                    .tag("reason", reason.wire()).description("Baseline of that share").register(registry);
        }
    }

    private void reading(String name, String key, String description) {
        Gauge.builder(name, readings, r -> r.getOrDefault(key, Double.NaN)).description(description).register(registry);
    }

    /** Ticks once a second until closed. */
    public synchronized void start() {
        if (timer == null) {
            timer = Executors.newSingleThreadScheduledExecutor(Threads.daemon("quality-watch"));
            timer.scheduleAtFixedRate(this::safeTick, 1, 1, TimeUnit.SECONDS);
        }
    }

    private void safeTick() {
        try {
            tick();
        } catch (RuntimeException e) {
            LOG.warn("data quality watch: {}", e.toString());
        }
    }

    // ---- the hot path ----

    /**
     * A valid event. {@code engagementMs} and {@code lengthSeconds} may be null; {@code ageMs} is
     * how long ago its row was committed in PostgreSQL.
     */
    public void valid(String contentId, String contentType, Long engagementMs, Integer lengthSeconds, long ageMs) {
        Acc a = acc;
        a.valid.increment();
        a.ageMs.add(Math.max(0, ageMs));
        TypeAcc t = a.types.get(contentType == null ? "" : contentType);
        if (t == null) {
            t = a.types.computeIfAbsent(contentType == null ? "" : contentType, k -> new TypeAcc());
        }
        if (engagementMs != null && lengthSeconds != null && lengthSeconds > 0) {
            double pct = engagementMs / (10.0 * lengthSeconds);
            t.n.increment();
            t.sum.add(pct);
            if (pct > 100) {
                t.over.increment();
            }
        }
        LongAdder c = a.contents.get(contentId);
        if (c == null) {
            c = a.contents.computeIfAbsent(contentId, k -> new LongAdder());
        }
        c.increment();
    }

    public void invalid(InvalidReason reason, long ageMs) {
        Acc a = acc;
        a.invalid[reason.ordinal()].increment();
        a.ageMs.add(Math.max(0, ageMs));
    }

    // ---- once a second ----

    /** Folds the last second into the window and the baselines, then judges. */
    public synchronized void tick() {
        Acc a = acc;
        acc = new Acc();
        long now = clock.millis();
        long sec = Math.floorDiv(now, 1000L);
        Second s = a.toSecond(sec);
        if (lastSecond < 0) {
            lastSecond = sec - 1;
            bucketIndex = Math.floorDiv(sec, windowSeconds);
            partialBucket = sec % windowSeconds != 0;
        }
        if (sec <= lastSecond) {
            s = new Second(lastSecond, s.counts); // ticked twice in one second: it counts for the last one
            push(s);
        } else {
            for (long t = lastSecond + 1; t < sec; t++) {
                push(new Second(t, new Counts()));
            }
            push(s);
            lastSecond = sec;
        }
        judge(now);
    }

    private void push(Second s) {
        long idx = Math.floorDiv(s.at, windowSeconds);
        if (idx != bucketIndex) {
            closeBucket();
            bucketIndex = idx;
        }
        bucket.add(s.counts, 1);
        window.add(s.counts, 1);
        seconds.addLast(s);
        while (!seconds.isEmpty() && seconds.peekFirst().at <= s.at - windowSeconds) {
            window.add(seconds.removeFirst().counts, -1);
        }
        s.counts.contents.forEach((id, n) -> {
            ContentTrack track = contents.get(id);
            if (track == null && contents.size() < MAX_CONTENTS) {
                track = new ContentTrack(span);
                contents.put(id, track);
            }
            if (track != null) {
                track.bucketCount += n;
                track.lastSeen = s.at;
            }
        });
        s.counts.contents.clear(); // kept in the tracks; the window needs only the other counts
    }

    private void closeBucket() {
        if (partialBucket) {
            partialBucket = false; // the watch started inside it: it would read as a drop
            bucket.clear();
            contents.values().forEach(c -> c.bucketCount = 0);
            return;
        }
        long total = bucket.total();
        if (total == 0 && rate.samples() == 0) {
            // no traffic yet: a baseline of silence would judge the first traffic a spike
            bucket.clear();
            contents.values().forEach(c -> c.bucketCount = 0);
            folded++;
            readings.put("folded", (double) folded);
            return;
        }
        if (!bucketBehind) { // a bucket the processor spent catching up says nothing of the source's rate
            rate.fold(total, active.containsKey(AnomalyKind.RATE_DROP.wire()) || active.containsKey(AnomalyKind.RATE_SPIKE.wire()));
        }
        bucketBehind = false;
        if (total > 0) {
            for (InvalidReason r : REASONS) {
                invalidRatio.get(r).fold(bucket.invalid[r.ordinal()] / (double) total,
                        isActive(AnomalyKind.INVALID_RATIO, r.wire()));
            }
        }
        if (bucket.withPct() > 0) {
            over100.fold(bucket.over() / (double) bucket.withPct(), isActive(AnomalyKind.ENGAGEMENT_OVER_100, ""));
        }
        bucket.types.forEach((type, t) -> {
            if (t[0] >= 5 && (typeMeans.containsKey(type) || typeMeans.size() < MAX_TYPES)) {
                typeMeans.computeIfAbsent(type, k -> newTypeBaseline(k)).fold(t[1] / t[0],
                        isActive(AnomalyKind.ENGAGEMENT_SHIFT, typeSubject(type)));
            }
        });
        for (Iterator<Map.Entry<String, ContentTrack>> it = contents.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, ContentTrack> e = it.next();
            ContentTrack c = e.getValue();
            c.baseline.fold(c.bucketCount, isActive(AnomalyKind.CONTENT_STOPPED, e.getKey()));
            c.bucketCount = 0;
            if (c.baseline.samples() > span && c.baseline.mean() < 0.5 && c.lastSeen < lastSecond - (long) span * windowSeconds) {
                it.remove(); // quiet for a whole span: forget it
            }
        }
        bucket.clear();
        folded++;
        readings.put("folded", (double) folded);
    }

    private boolean isActive(AnomalyKind kind, String subject) {
        return active.containsKey(subject.isEmpty() ? kind.wire() : kind.wire() + ":" + subject);
    }

    private static String typeSubject(String type) {
        return type.isEmpty() ? "none" : type;
    }

    private Baseline newTypeBaseline(String type) {
        String tag = typeSubject(type);
        Gauge.builder("pipeline.quality.engagement.percentage", readings, r -> r.getOrDefault("type:" + type, Double.NaN))
                .tag("content_type", tag).description("Mean engagement_percentage of a content type in the window")
                .register(registry);
        Gauge.builder("pipeline.quality.engagement.percentage.baseline", readings,
                        r -> r.getOrDefault("type_baseline:" + type, Double.NaN))
                .tag("content_type", tag).description("Baseline of that mean").register(registry);
        return new Baseline(span);
    }

    private void judge(long now) {
        // judged once half a span of buckets with traffic is in the baselines
        boolean warm = folded >= warmup && rate.samples() >= warmup;
        long total = window.total();
        readings.put("rate", total / (double) windowSeconds);
        readings.put("rate_baseline", warm ? rate.mean() / windowSeconds : Double.NaN);
        Map<String, Anomaly> found = new LinkedHashMap<>();
        // events that reach the processor long after their commit mean it is catching up: what it
        // sees then is its own pace, not how many events there are, so the rate is not judged
        double meanAgeMs = total == 0 ? 0 : window.ageMs / (double) total;
        readings.put("age_seconds", meanAgeMs / 1000);
        boolean behind = meanAgeMs > Math.max(MIN_BEHIND_MS, windowSeconds * 1000L / 4);
        bucketBehind |= behind;
        if (warm && !behind && rate.mean() >= MIN_RATE * windowSeconds) {
            // the median second, not the sum: a stage catching up after a pause delivers a burst
            // within a second or two, which is not a change in how many events there are
            double typical = medianSecond() * windowSeconds;
            double m = rate.mean();
            double sd = Math.max(rate.sd(), Math.sqrt(m));
            if (typical < m * DROP_FRACTION && typical < m - SIGMAS * sd) {
                add(found, AnomalyKind.RATE_DROP, "", now, String.format(Locale.ROOT,
                        "%.1f events/s in the median second of the last %d s against a baseline of %.1f (alarm below %.1f)",
                        typical / windowSeconds, windowSeconds, m / windowSeconds,
                        Math.min(m * DROP_FRACTION, m - SIGMAS * sd) / windowSeconds));
            } else if (typical > m * SPIKE_FACTOR && typical > m + SIGMAS * sd) {
                add(found, AnomalyKind.RATE_SPIKE, "", now, String.format(Locale.ROOT,
                        "%.1f events/s in the median second of the last %d s against a baseline of %.1f (alarm above %.1f)",
                        typical / windowSeconds, windowSeconds, m / windowSeconds,
                        Math.max(m * SPIKE_FACTOR, m + SIGMAS * sd) / windowSeconds));
            }
        }
        for (InvalidReason r : REASONS) {
            long k = window.invalid[r.ordinal()];
            Baseline b = invalidRatio.get(r);
            readings.put("invalid:" + r.wire(), total == 0 ? 0 : k / (double) total);
            readings.put("invalid_baseline:" + r.wire(), warm ? b.mean() : Double.NaN);
            if (warm && total >= MIN_WINDOW_EVENTS && k >= MIN_RATIO_EVENTS) {
                ratio(found, AnomalyKind.INVALID_RATIO, r.wire(), k, total, b, now, "invalid events of reason " + r.wire());
            }
        }
        long withPct = window.withPct();
        long over = window.over();
        readings.put("over100", withPct == 0 ? 0 : over / (double) withPct);
        readings.put("over100_baseline", warm ? over100.mean() : Double.NaN);
        if (warm && withPct >= MIN_WINDOW_EVENTS && over >= MIN_RATIO_EVENTS) {
            ratio(found, AnomalyKind.ENGAGEMENT_OVER_100, "", over, withPct, over100, now,
                    "events with engagement_percentage over 100");
        }
        typeMeans.forEach((type, b) -> {
            double[] t = window.types.get(type);
            boolean judged = warm && b.samples() >= warmup;
            readings.put("type:" + type, t == null || t[0] == 0 ? Double.NaN : t[1] / t[0]);
            readings.put("type_baseline:" + type, judged ? b.mean() : Double.NaN);
            if (judged && t != null && t[0] >= MIN_TYPE_EVENTS) {
                double mean = t[1] / t[0];
                double limit = Math.max(SIGMAS * b.sd(), Math.max(SHIFT_FRACTION * b.mean(), SHIFT_POINTS));
                if (Math.abs(mean - b.mean()) > limit) {
                    add(found, AnomalyKind.ENGAGEMENT_SHIFT, typeSubject(type), now, String.format(Locale.ROOT,
                            "mean engagement_percentage of content type '%s' is %.1f over %d events against a baseline "
                                    + "of %.1f (alarm beyond ±%.1f)", type, mean, (long) t[0], b.mean(), limit));
                }
            }
        });
        if (warm) {
            // a content is expected its baseline's events scaled by how the whole rate moved: when
            // every content slows down, that is the rate's anomaly, not each content's
            double scale = rate.mean() <= 0 ? 1 : Math.min(1, total / rate.mean());
            contents.forEach((id, c) -> {
                if (c.baseline.samples() >= warmup && c.baseline.mean() * scale >= MIN_CONTENT_PER_BUCKET
                        && lastSecond - c.lastSeen >= windowSeconds) {
                    add(found, AnomalyKind.CONTENT_STOPPED, id, now, String.format(Locale.ROOT,
                            "content %s had no event for %d s against a baseline of %.1f events per %d s",
                            id, lastSecond - c.lastSeen, c.baseline.mean(), windowSeconds));
                }
            });
        }
        settle(found, now);
    }

    /** Events in the median second of the window (seconds that ticked twice count once each). */
    private double medianSecond() {
        long[] counts = new long[seconds.size()];
        int i = 0;
        for (Second sec : seconds) {
            counts[i++] = sec.counts.total();
        }
        java.util.Arrays.sort(counts);
        if (counts.length == 0) {
            return 0;
        }
        int mid = counts.length / 2;
        return counts.length % 2 == 1 ? counts[mid] : (counts[mid - 1] + counts[mid]) / 2.0;
    }

    private void ratio(Map<String, Anomaly> found, AnomalyKind kind, String subject, long k, long n, Baseline b,
                       long now, String what) {
        double share = k / (double) n;
        double p = b.mean();
        double noise = Math.max(b.sd(), Math.sqrt(Math.max(p, 1.0 / n) * (1 - p) / n));
        double limit = p + Math.max(SIGMAS * noise, RATIO_POINTS);
        if (share > limit) {
            add(found, kind, subject, now, String.format(Locale.ROOT,
                    "%s are %.1f %% of the last %d events against a baseline of %.1f %% (alarm above %.1f %%)",
                    what, 100 * share, n, 100 * p, 100 * limit));
        }
    }

    private void add(Map<String, Anomaly> found, AnomalyKind kind, String subject, long now, String detail) {
        Anomaly a = new Anomaly(kind, subject, detail, now);
        found.put(a.key(), a);
    }

    /** Raises what is new, keeps what goes on (with its start and a fresh detail), ends what is gone. */
    private void settle(Map<String, Anomaly> found, long now) {
        for (Iterator<Map.Entry<String, Anomaly>> it = active.entrySet().iterator(); it.hasNext(); ) {
            Anomaly was = it.next().getValue();
            if (!found.containsKey(was.key())) {
                it.remove();
                mark(new Mark(now, was.kind(), was.subject(), false, "ended after "
                        + Duration.ofMillis(now - was.sinceMs()).toSeconds() + " s"));
                if (was.kind() == AnomalyKind.CONTENT_STOPPED) {
                    LOG.info("data quality: {} ended after {} s", v("anomaly", was.kind().wire()),
                            (now - was.sinceMs()) / 1000, v("content_id", was.subject()));
                } else {
                    LOG.info("data quality: {} {} ended after {} s", v("anomaly", was.kind().wire()), was.subject(),
                            (now - was.sinceMs()) / 1000);
                }
            }
        }
        found.forEach((key, a) -> {
            Anomaly was = active.get(key);
            if (was != null) {
                active.put(key, new Anomaly(a.kind(), a.subject(), a.detail(), was.sinceMs()));
                return;
            }
            active.put(key, a);
            raised.get(a.kind()).increment();
            mark(new Mark(now, a.kind(), a.subject(), true, a.detail()));
            if (a.kind() == AnomalyKind.CONTENT_STOPPED) {
                LOG.warn("data quality anomaly {}: {}", v("anomaly", a.kind().wire()), a.detail(),
                        v("content_id", a.subject()));
            } else {
                LOG.warn("data quality anomaly {}: {}", v("anomaly", a.kind().wire()), a.detail());
            }
        });
        Map<AnomalyKind, Integer> counts = new EnumMap<>(AnomalyKind.class);
        for (AnomalyKind kind : AnomalyKind.values()) {
            counts.put(kind, 0);
        }
        active.values().forEach(a -> counts.merge(a.kind(), 1, Integer::sum));
        activeCounts.putAll(counts);
    }

    private void mark(Mark m) {
        marks.addLast(m);
        while (marks.size() > MARKS_KEPT) {
            marks.removeFirst();
        }
    }

    /**
     * Starts over: the processor's partitions changed, so its share of the events did. Active
     * anomalies end without a mark; nothing is judged until the baselines are warm again.
     */
    public synchronized void reset(String why) {
        if (lastSecond >= 0) {
            LOG.info("data quality: baselines start again ({}); anomalies are judged after {} whole buckets of {} s",
                    why, warmup, windowSeconds);
        }
        acc = new Acc();
        lastSecond = -1;
        seconds.clear();
        window.clear();
        bucket.clear();
        resetBaselines();
        contents.clear();
        bucketBehind = false;
        folded = 0;
        readings.put("folded", 0.0);
        active.clear();
        AnomalyKind[] kinds = AnomalyKind.values();
        for (AnomalyKind kind : kinds) {
            activeCounts.put(kind, 0);
        }
    }

    private void resetBaselines() {
        rate = new Baseline(span);
        over100 = new Baseline(span);
        for (InvalidReason r : REASONS) {
            invalidRatio.put(r, new Baseline(span));
        }
        typeMeans.clear();
    }

    /** The anomalies active now. */
    public synchronized List<Anomaly> active() {
        return new ArrayList<>(active.values());
    }

    /** Anomalies raised and ended, oldest first (the last 200). */
    public synchronized List<Mark> marks() {
        return new ArrayList<>(marks);
    }

    /** What the watch reads now: the rate and its baseline (events/s), the shares and means, by name. */
    public Map<String, Double> readings() {
        return Map.copyOf(readings);
    }

    public int warmupBuckets() {
        return warmup;
    }

    @Override
    public synchronized void close() {
        if (timer != null) {
            timer.shutdownNow();
            timer = null;
        }
    }

    /** An anomaly raised ({@code raised}) or ended at {@code atMs}. */
    public record Mark(long atMs, AnomalyKind kind, String subject, boolean raised, String detail) {
    }

    /** One content's events per bucket. */
    private static final class ContentTrack {
        final Baseline baseline;
        long bucketCount;
        long lastSeen;

        ContentTrack(int span) {
            baseline = new Baseline(span);
        }
    }

    private record Second(long at, Counts counts) {
    }

    /** Counts of some seconds: valid, invalid by reason, per content type (n, sum of percentages, over 100), per content. */
    private static final class Counts {
        long valid;
        long ageMs;
        final long[] invalid = new long[REASONS.length];
        final Map<String, double[]> types = new HashMap<>();
        final Map<String, Long> contents = new HashMap<>();

        long total() {
            long t = valid;
            for (long i : invalid) {
                t += i;
            }
            return t;
        }

        long withPct() {
            long n = 0;
            for (double[] t : types.values()) {
                n += (long) t[0];
            }
            return n;
        }

        long over() {
            long n = 0;
            for (double[] t : types.values()) {
                n += (long) t[2];
            }
            return n;
        }

        /** Adds (sign 1) or takes away (sign -1) other counts; contents are tracked elsewhere. */
        void add(Counts o, int sign) {
            valid += sign * o.valid;
            ageMs += sign * o.ageMs;
            for (int i = 0; i < invalid.length; i++) {
                invalid[i] += sign * o.invalid[i];
            }
            o.types.forEach((type, t) -> {
                double[] mine = types.computeIfAbsent(type, k -> new double[3]);
                for (int i = 0; i < 3; i++) {
                    mine[i] += sign * t[i];
                }
                if (mine[0] <= 0 && mine[2] <= 0 && Math.abs(mine[1]) < 1e-6) {
                    types.remove(type);
                }
            });
        }

        void clear() {
            valid = 0;
            ageMs = 0;
            java.util.Arrays.fill(invalid, 0);
            types.clear();
            contents.clear();
        }
    }

    /** What the hot path adds to within one second. */
    private static final class Acc {
        final LongAdder valid = new LongAdder();
        final LongAdder ageMs = new LongAdder();
        final LongAdder[] invalid = new LongAdder[REASONS.length];
        final Map<String, TypeAcc> types = new ConcurrentHashMap<>();
        final Map<String, LongAdder> contents = new ConcurrentHashMap<>();

        Acc() {
            for (int i = 0; i < invalid.length; i++) {
                invalid[i] = new LongAdder();
            }
        }

        Second toSecond(long at) {
            Counts c = new Counts();
            c.valid = valid.sum();
            c.ageMs = ageMs.sum();
            for (int i = 0; i < invalid.length; i++) {
                c.invalid[i] = invalid[i].sum();
            }
            types.forEach((type, t) -> c.types.put(type, new double[] {t.n.sum(), t.sum.sum(), t.over.sum()}));
            contents.forEach((id, n) -> c.contents.put(id, n.sum()));
            return new Second(at, c);
        }
    }

    private static final class TypeAcc {
        final LongAdder n = new LongAdder();
        final DoubleAdder sum = new DoubleAdder();
        final LongAdder over = new LongAdder();
    }
}
