package dev.engagement.pipeline.bench;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.local.LocalPostgres;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * PostgreSQL's own {@code pg_recvlogical}: the walsender decoding pgoutput into /dev/null, the
 * limit every figure of the source (and so of the pipeline) is a ratio of.
 */
final class PgRecvlogical {
    private PgRecvlogical() {
    }

    /** How long reading a slot to {@code endLsn} took, and the CPU pg_recvlogical itself used. */
    record Read(long nanos, long cpuNanos, double machineCores) {
        double perSecond(long rows) {
            return rows / (nanos / 1e9);
        }

        double cores() {
            return cpuNanos / (double) nanos;
        }
    }

    static void createSlot(PipelineConfig.Postgres pg, String slot, Path log) throws Exception {
        awaitExit(start(pg, slot, log, "--create-slot", "--plugin", "pgoutput"), log);
    }

    /** Reads {@code slot} from where it is to {@code endLsn}, with the pipeline's publication. */
    static Read readTo(PipelineConfig.Postgres pg, String slot, String endLsn, Path log) throws Exception {
        MachineCpu machine = new MachineCpu();
        long t0 = System.nanoTime();
        Process p = start(pg, slot, log, "--start", "--endpos", endLsn, "--no-loop", "-f", "/dev/null",
                "-o", "proto_version=1", "-o", "publication_names=" + pg.publication());
        long cpu = awaitExit(p, log);
        return new Read(System.nanoTime() - t0, cpu, machine.stop().machineCores());
    }

    static void dropSlot(PipelineConfig.Postgres pg, String slot, Path log) throws Exception {
        awaitExit(start(pg, slot, log, "--drop-slot"), log);
    }

    private static Process start(PipelineConfig.Postgres pg, String slot, Path log, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(LocalPostgres.binDir().resolve("pg_recvlogical").toString(),
                "-h", pg.host(), "-p", Integer.toString(pg.port()), "-U", pg.user(), "-d", pg.database(), "--slot", slot));
        command.addAll(List.of(args));
        Files.createDirectories(log.getParent());
        return new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    /** Waits for the process to end; returns the CPU it used (sampled while it ran). */
    private static long awaitExit(Process p, Path log) throws Exception {
        long cpu = 0;
        while (p.isAlive()) {
            cpu = Math.max(cpu, Procfs.cpuNanos(p.pid()));
            Thread.sleep(5);
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException("pg_recvlogical exited with " + p.exitValue() + "; see " + log);
        }
        return cpu;
    }
}
