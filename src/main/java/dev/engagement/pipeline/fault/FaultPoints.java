package dev.engagement.pipeline.fault;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Named places where the fault-injection tests stop this process at an exact moment, e.g. between a
 * sink's write and its commit. Inert unless the environment variable {@code PIPELINE_TEST_FAULT}
 * names one: {@code <point>@<n>:halt} ends the process on the n-th pass (as kill -9 would: no
 * shutdown hooks, nothing flushed), {@code <point>@<n>:stop} freezes it (SIGSTOP to itself) until
 * someone sends SIGCONT, {@code <point>@<n>:crash} kills the thread that passes it (an
 * {@link InjectedCrash} thrown from there, as an unexpected error would), {@code <point>@<n>:hang}
 * blocks the thread that passes it until it is interrupted (a stage that waits forever on a call).
 */
public final class FaultPoints {
    private static final Logger LOG = LoggerFactory.getLogger(FaultPoints.class);
    private static final String SPEC = System.getenv("PIPELINE_TEST_FAULT");
    private static final String POINT;
    private static final int AT;
    private static final String ACTION;
    private static final AtomicInteger PASSES = new AtomicInteger();

    static {
        String point = null;
        int at = 0;
        String action = null;
        if (SPEC != null && SPEC.matches("[a-z.\\-]+@\\d+:(halt|stop|crash|hang)")) {
            point = SPEC.substring(0, SPEC.indexOf('@'));
            at = Integer.parseInt(SPEC.substring(SPEC.indexOf('@') + 1, SPEC.indexOf(':')));
            action = SPEC.substring(SPEC.indexOf(':') + 1);
        }
        POINT = point;
        AT = at;
        ACTION = action;
    }

    private FaultPoints() {
    }

    public static void pass(String point) {
        if (POINT == null || !POINT.equals(point) || PASSES.incrementAndGet() != AT) {
            return;
        }
        if ("crash".equals(ACTION)) {
            LOG.warn("fault point {} reached for the {} time: crashing thread {}", point, AT, Thread.currentThread().getName());
            throw new InjectedCrash("fault point " + point + " crashed this thread");
        }
        if ("hang".equals(ACTION)) {
            LOG.warn("fault point {} reached for the {} time: thread {} hangs", point, AT, Thread.currentThread().getName());
            try {
                new java.util.concurrent.CountDownLatch(1).await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return;
        }
        if ("halt".equals(ACTION)) {
            LOG.warn("fault point {} reached for the {} time: halting", point, AT);
            Runtime.getRuntime().halt(137);
        }
        LOG.warn("fault point {} reached for the {} time: stopping this process until SIGCONT", point, AT);
        try {
            new ProcessBuilder("kill", "-STOP", Long.toString(ProcessHandle.current().pid())).start().waitFor();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The error a {@code crash} fault point throws: nothing catches it on purpose but a supervisor. */
    public static final class InjectedCrash extends Error {
        InjectedCrash(String message) {
            super(message);
        }
    }
}
