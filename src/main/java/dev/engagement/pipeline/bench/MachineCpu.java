package dev.engagement.pipeline.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU used by the whole machine over an interval, from /proc/stat: PostgreSQL, Redis, the broker
 * and the pipeline all count, since on this machine they share the cores. (Each process's own CPU
 * comes from {@link Procfs}.)
 */
final class MachineCpu {
    private final long[] machineStart;

    MachineCpu() {
        machineStart = machine();
    }

    record Usage(double machineCores, int cores) {
    }

    Usage stop() {
        long[] end = machine();
        long busy = (end[0] - machineStart[0]);
        long all = (end[1] - machineStart[1]);
        int cores = Runtime.getRuntime().availableProcessors();
        return new Usage(all == 0 ? 0 : cores * (double) busy / all, cores);
    }

    /** {busy jiffies, total jiffies} from the aggregate cpu line of /proc/stat. */
    private static long[] machine() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long total = 0;
            for (int i = 1; i < f.length; i++) {
                total += Long.parseLong(f[i]);
            }
            long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
            return new long[] {total - idle, total};
        } catch (IOException | RuntimeException e) {
            return new long[] {0, 0};
        }
    }
}
