# engagement-pipeline: the shaded jar on a JRE, run as a non-root user.
#   docker build -t engagement-pipeline .
#   docker run --env-file .env -p 8080:8080 engagement-pipeline run --components source,api
# Every setting is an environment variable (README, "Settings"); DATA_DIR must be a persistent
# volume for the processor (its state stores) and for the DuckDB warehouse.

FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY .mvn .mvn
COPY mvnw pom.xml ./
RUN ./mvnw -q -B dependency:go-offline -DskipTests || true
COPY src src
RUN ./mvnw -q -B -DskipTests package

FROM eclipse-temurin:17-jre
RUN groupadd --system --gid 10001 pipeline \
 && useradd --system --uid 10001 --gid pipeline --home-dir /var/lib/engagement --no-create-home pipeline \
 && mkdir -p /var/lib/engagement /opt/engagement \
 && chown pipeline:pipeline /var/lib/engagement
COPY --from=build /src/target/engagement-pipeline.jar /opt/engagement/engagement-pipeline.jar
USER 10001:10001
WORKDIR /var/lib/engagement
ENV DATA_DIR=/var/lib/engagement \
    DUCKDB_PATH=/var/lib/engagement/warehouse.duckdb \
    HTTP_PORT=8080
EXPOSE 8080
VOLUME ["/var/lib/engagement"]
# the parallel collector (docs/PERFORMANCE.md); the heap is half the container's memory limit, the rest is
# for DuckDB (DUCKDB_MEMORY_LIMIT_MIB) and the JVM's native memory (README: Memory)
ENTRYPOINT ["java", "-XX:+UseParallelGC", "-XX:MaxRAMPercentage=50", "-XX:+ExitOnOutOfMemoryError", \
            "-Dsun.net.httpserver.nodelay=true", "-jar", "/opt/engagement/engagement-pipeline.jar"]
CMD ["run"]
