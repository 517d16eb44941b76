package dev.engagement.pipeline;

import java.util.concurrent.ThreadFactory;

/** Threads named for what they do (visible in thread dumps and logs), daemons so they never hold a JVM open. */
public final class Threads {
    private Threads() {
    }

    public static ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }
}
