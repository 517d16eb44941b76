package dev.engagement.pipeline.testing;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.ArgumentsProvider;
import org.junit.jupiter.params.provider.ArgumentsSource;
import org.junit.jupiter.params.support.AnnotationConsumer;
import org.junit.jupiter.params.support.ParameterDeclarations;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.stream.Stream;

/**
 * A fault scenario run once per seed: its five fixed seeds are listed here, on the test, and
 * {@link Seeds} picks which of them run (the first {@link #quick()} by default, all five with
 * {@code ./pipeline test --all-seeds}). The test method takes the seed as its one argument.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@ParameterizedTest(name = "seed {0}")
@ArgumentsSource(FaultSeeds.Provider.class)
public @interface FaultSeeds {
    /** The scenario's five fixed seeds. */
    long[] value();

    /** How many of them {@code ./pipeline test} runs. */
    int quick();

    final class Provider implements ArgumentsProvider, AnnotationConsumer<FaultSeeds> {
        private FaultSeeds seeds;

        @Override
        public void accept(FaultSeeds annotation) {
            this.seeds = annotation;
        }

        @Override
        public Stream<? extends Arguments> provideArguments(ParameterDeclarations parameters, ExtensionContext context) {
            return Seeds.pick(seeds.value(), seeds.quick()).mapToObj(Arguments::of);
        }
    }
}
