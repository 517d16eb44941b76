package dev.engagement.pipeline.cli;

import dev.engagement.pipeline.config.PipelineConfig;
import dev.engagement.pipeline.db.Schema;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

@Command(name = "db", mixinStandardHelpOptions = true, description = "Source database tasks.",
        subcommands = {DbCommand.Init.class})
final class DbCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand: init");
    }

    @Command(name = "init", mixinStandardHelpOptions = true,
            description = {"Creates the schema and the publication change data capture reads. Idempotent.",
                    "Creates the database if missing, the content and engagement_events tables and the publication."})
    static final class Init implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            PipelineConfig config = Cli.config();
            Schema.init(config.postgres());
            System.out.println("database " + config.postgres() + " is ready: tables content, engagement_events; "
                    + "publication " + config.postgres().publication());
            return 0;
        }
    }
}
