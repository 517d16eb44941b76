package dev.engagement.pipeline.cli;

import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

@Command(name = "test", mixinStandardHelpOptions = true,
        description = {"Runs the whole test suite, services included (./pipeline test).",
                "Unit tests, then integration and fault tests on a private PostgreSQL, a private Redis and "
                        + "in-JVM Kafka brokers. The ./pipeline launcher runs it from the source tree as "
                        + "./mvnw verify; .ci/run calls exactly this."})
final class TestCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("error: the test suite runs from the source tree: ./pipeline test");
        return 1;
    }
}
