package dev.engagement.pipeline.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU used over an interval: by the whole machine (from /proc/stat: PostgreSQL, Redis and this
 * JVM all count, since on this machine they share the cores) and by this JVM alone.
 */
final class MachineCpu {
    private final long[] machineStart;
    private final long jvmStartNanos;
    private final long wallStartNanos = System.nanoTime();

    MachineCpu() {
        machineStart = machine();
        jvmStartNanos = jvmCpuNanos();
    }

    record Usage(double machineCores, double jvmCores, int cores) {
    }

    Usage stop() {
        long[] end = machine();
        double wall = (System.nanoTime() - wallStartNanos) / 1e9;
        long busy = (end[0] - machineStart[0]);
        long all = (end[1] - machineStart[1]);
        int cores = Runtime.getRuntime().availableProcessors();
        double machineCores = all == 0 ? 0 : cores * (double) busy / all;
        double jvm = (jvmCpuNanos() - jvmStartNanos) / 1e9 / wall;
        return new Usage(machineCores, jvm, cores);
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

    private static long jvmCpuNanos() {
        var os = ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getProcessCpuTime() : 0;
    }
}
