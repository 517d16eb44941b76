package dev.engagement.pipeline.server;

/** One line of /health: how a service this process depends on is doing. */
public interface ServiceCheck {

    /** The key under "services": kafka, postgres, redis, warehouse or external_api. */
    String service();

    Result check();

    /**
     * @param state    connected, degraded, disconnected, or not_used (this process does not use it)
     * @param critical whether this process cannot do its job without the service
     */
    record Result(String state, String detail, boolean critical) {
        public static Result connected(String detail) {
            return new Result("connected", detail, false);
        }

        public static Result notUsed(String detail) {
            return new Result("not_used", detail, false);
        }

        public boolean ok() {
            return "connected".equals(state) || "not_used".equals(state);
        }
    }
}
