package dev.engagement.pipeline.fault;

import dev.engagement.pipeline.testing.FaultSeeds;
import dev.engagement.pipeline.testing.LocalRedisCluster;
import dev.engagement.pipeline.testing.PipelineProcess;
import dev.engagement.pipeline.testing.Scenario;
import dev.engagement.pipeline.testing.TestServices;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scenario 25: the live aggregates on a real Redis Cluster of three masters, a replica each
 * (redis-server --cluster-enabled yes, joined by redis-cli --cluster create), under the same key
 * names. While events flow: the process halts (as kill -9) between two nodes' parts of a batch and
 * starts again; a third of one master's slots move to another (redis-cli --cluster reshard, MOVED
 * and ASK on the way); one master is killed (kill -9) and its replica takes over. The oracle is
 * exact after all of it.
 */
class RedisClusterIT {
    @FaultSeeds(value = {25001, 25002, 25003, 25004, 25005}, quick = 1)
    void aClusterSurvivesACrashBetweenNodesAReshardAndAFailover(long seed) throws Exception {
        try (LocalRedisCluster cluster = LocalRedisCluster.start(TestServices.fresh("redis-cluster"), 3, 1);
             Scenario s = Scenario.create("redis_cluster", seed, Map.of("REDIS_CLUSTER_NODES", cluster.nodes()))) {
            s.startLoad(300, 2);
            int halt = 3 + s.random.nextInt(8);
            PipelineProcess doomed = s.start(Map.of("PIPELINE_TEST_FAULT", "redis.between-nodes@" + halt + ":halt"));
            assertThat(doomed.waitFor(120)).as(doomed.output()).isEqualTo(137);
            assertThat(doomed.output()).contains("fault point redis.between-nodes");
            long before = s.redisEvents();
            Instant restart = Instant.now();
            s.start();
            Duration flow = s.awaitFlow(restart, before, Duration.ofSeconds(60));
            s.awaitHealthy(s.port(), Duration.ofSeconds(60));

            List<String[]> masters = cluster.masters();
            long beforeReshard = s.redisEvents();
            cluster.reshard(masters.get(0)[0], masters.get(1)[0], 1800, s.dir.resolve("reshard.out"));
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() > beforeReshard + 300);

            String victim = cluster.masters().get(2)[1];
            long beforeFailover = s.redisEvents();
            cluster.server(victim).kill();
            Instant killed = Instant.now();
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() ->
                    cluster.masters().size() == 3 && cluster.masters().stream().noneMatch(m -> m[1].equals(victim)));
            Duration failover = s.awaitFlow(killed, beforeFailover, Duration.ofSeconds(60));
            await().atMost(Duration.ofSeconds(60)).until(() -> s.redisEvents() > beforeFailover + 300);

            s.stopLoad();
            s.awaitExact(s.port(), Duration.ofSeconds(180));
            s.report("faults", "Redis Cluster (3 masters, 3 replicas): halt between two nodes' parts, restart; 1,800 "
                    + "slots resharded while events flow; kill -9 of a master, its replica promoted");
            s.report("restart_to_flow_ms", flow.toMillis());
            s.report("master_kill_to_flow_ms", failover.toMillis());
        }
    }
}
