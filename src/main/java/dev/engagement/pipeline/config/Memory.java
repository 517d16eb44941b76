package dev.engagement.pipeline.config;

/**
 * The memory budget of one pipeline process: the heap (-Xmx), what DuckDB may hold
 * (DUCKDB_MEMORY_LIMIT_MIB, when the process runs the DuckDB warehouse), and a fixed share for
 * what the JVM holds outside the heap (classes, compiled code, thread stacks, the Kafka and Redis
 * clients' direct buffers, malloc). No buffer of the pipeline grows with the data: a source
 * transaction streams into a Kafka transaction through the producer's bounded buffer, consumers
 * fetch bounded batches, the HTTP sink pauses a partition past 16 MiB queued, so a transaction or a
 * backlog of any size stays within it (README: Memory; measured by the bench's big_transaction
 * phase and BigTransactionIT).
 */
public final class Memory {
    /** The JVM's share outside the heap and DuckDB, in MiB. */
    public static final long NATIVE_MIB = 384;

    private Memory() {
    }

    /** The heap's maximum as set (-Xmx), in bytes; the collector's own figure when none was set. */
    public static long heapMaxBytes() {
        return heapMaxBytes(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments(),
                Runtime.getRuntime().maxMemory());
    }

    /**
     * The heap's maximum {@code jvmArgs} set, in bytes: the last {@code -Xmx}, as the JVM takes it (a
     * launcher's default followed by the user's own), or {@code otherwise} when none can be read.
     */
    static long heapMaxBytes(java.util.List<String> jvmArgs, long otherwise) {
        long max = otherwise;
        for (String arg : jvmArgs) {
            if (arg.startsWith("-Xmx")) {
                String v = arg.substring(4).toLowerCase(java.util.Locale.ROOT);
                long unit = v.endsWith("g") ? 1L << 30 : v.endsWith("m") ? 1L << 20 : v.endsWith("k") ? 1L << 10 : 1;
                try {
                    max = Long.parseLong(unit == 1 ? v : v.substring(0, v.length() - 1)) * unit;
                } catch (NumberFormatException e) {
                    max = otherwise;
                }
            }
        }
        return max;
    }

    /** The budget in MiB for a heap of {@code heapMaxBytes} and DuckDB limited to {@code duckdbMib} (0: none). */
    public static long budgetMib(long heapMaxBytes, long duckdbMib) {
        return heapMaxBytes / (1024 * 1024) + duckdbMib + NATIVE_MIB;
    }
}
