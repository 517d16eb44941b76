package dev.engagement.pipeline.cli;

import dev.engagement.pipeline.config.ConfigException;
import dev.engagement.pipeline.config.SecretMasker;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code ./pipeline}: every command. Wiring only; the work happens in the stages. */
@Command(name = "pipeline", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Moves engagement events from PostgreSQL to Redis, a warehouse and an external API, "
                + "in real time, exactly once.%nSettings come from the environment and an optional .env file.",
        subcommands = {DemoCommand.class, RunCommand.class, DbCommand.class, GenerateCommand.class,
                BackfillCommand.class, AcceptGapCommand.class, DlqCommand.class, BenchCommand.class, WarehouseCommand.class, KafkaCommand.class, TestCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    static final int CONFIG_ERROR = 78;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    public static int execute(String... args) {
        return execute(new java.io.PrintWriter(System.out, true), new java.io.PrintWriter(System.err, true), args);
    }

    static int execute(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out);
        cli.setErr(err);
        cli.setParameterExceptionHandler((e, a) -> {
            CommandLine cmd = e.getCommandLine();
            cmd.getErr().println("error: " + e.getMessage() + " (see '" + cmd.getCommandSpec().qualifiedName()
                    + " --help')");
            return CommandLine.ExitCode.USAGE;
        });
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof ConfigException config) {
                cmd.getErr().println("error: " + config.getMessage());
                return CONFIG_ERROR;
            }
            cmd.getErr().println("error: " + SecretMasker.scrub(describe(e)));
            return 1;
        });
        return cli.execute(args);
    }

    static String describe(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && (t.getMessage() == null || t instanceof java.util.concurrent.ExecutionException)) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"engagement-pipeline " + (v == null ? "development build" : v)};
        }
    }
}
