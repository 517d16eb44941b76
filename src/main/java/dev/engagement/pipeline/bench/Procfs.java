package dev.engagement.pipeline.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** What Linux's /proc says of a process: CPU so far, peak resident set. */
public final class Procfs {
    private Procfs() {
    }

    /** User and system CPU of a process so far, in nanoseconds (0 once it is gone). */
    static long cpuNanos(long pid) {
        try {
            return cpuNanosOfStat(Files.readString(Path.of("/proc", Long.toString(pid), "stat")));
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** CPU so far of every process whose command name is {@code comm} (all of PostgreSQL's, say), in nanoseconds. */
    static long cpuNanosOfAll(String comm) {
        long total = 0;
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : (Iterable<Path>) procs::iterator) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    if (Files.readString(p.resolve("comm")).strip().equals(comm)) {
                        total += cpuNanos(Long.parseLong(name));
                    }
                } catch (IOException e) {
                    // ended meanwhile
                }
            }
        } catch (IOException e) {
            return 0;
        }
        return total;
    }

    /**
     * CPU so far of a process's threads, in nanoseconds, summed by thread name without its trailing
     * number ("GC Thread#0" and "#1" count as one, "C1" and "C2 CompilerThread" stay apart; Linux
     * keeps 15 characters of a name).
     */
    static java.util.Map<String, Long> cpuNanosByThread(long pid) {
        java.util.Map<String, Long> byName = new java.util.TreeMap<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path t : (Iterable<Path>) tasks::iterator) {
                try {
                    String stat = Files.readString(t.resolve("stat"));
                    String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
                            .replaceAll("([-#_ ]?[0-9]+)+$", "").replaceAll("[-_ |]+$", "");
                    byName.merge(name, cpuNanosOfStat(stat), Long::sum);
                } catch (IOException | RuntimeException e) {
                    // the thread ended meanwhile
                }
            }
        } catch (IOException e) {
            return byName;
        }
        return byName;
    }

    /** User and system CPU in a process's or a thread's {@code stat} line, in nanoseconds. */
    private static long cpuNanosOfStat(String stat) {
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime
        return ticks * 10_000_000L; // USER_HZ is 100 on Linux
    }

    /** A process's peak resident set (VmHWM), in MiB. */
    public static long peakRssMib(long pid) {
        return statusMib(pid, "VmHWM:");
    }

    /** A process's resident set now (VmRSS), in MiB. */
    static long rssMib(long pid) {
        return statusMib(pid, "VmRSS:");
    }

    private static long statusMib(long pid, String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith(field)) {
                    return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return 0;
    }
}
