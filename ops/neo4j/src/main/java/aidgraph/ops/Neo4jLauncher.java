package aidgraph.ops;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.io.ByteUnit;

/**
 * Starts Neo4j Community with Bolt on 127.0.0.1 for AidGraph's tests and benchmarks.
 *
 * <p>Usage: {@code Neo4jLauncher [--port 7687] [--data DIR] [--pagecache 512m] [--password PW]}.
 * Auth is disabled unless {@code --password} is given (then user {@code neo4j} has that password:
 * the tests of wrong credentials use it). The data folder defaults to a fresh temp folder.
 * SIGTERM runs the shutdown hook, which stops the DBMS cleanly.
 */
public final class Neo4jLauncher {
  private Neo4jLauncher() {}

  public static void main(String[] args) throws Exception {
    int port = 7687;
    Path data = null;
    String pagecache = "512m";
    String password = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--port" -> port = Integer.parseInt(args[++i]);
        case "--data" -> data = Path.of(args[++i]);
        case "--pagecache" -> pagecache = args[++i];
        case "--password" -> password = args[++i];
        default -> {
          System.err.println("unknown argument: " + args[i]);
          System.exit(2);
        }
      }
    }
    if (data == null) {
      data = Files.createTempDirectory("aidgraph-neo4j-");
    }
    Files.createDirectories(data);

    DatabaseManagementService dbms =
        new DatabaseManagementServiceBuilder(data)
            .setConfig(BoltConnector.enabled, true)
            .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
            .setConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", port))
            .setConfig(HttpConnector.enabled, false)
            .setConfig(GraphDatabaseSettings.auth_enabled, password != null)
            .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.parse(pagecache))
            .setConfig(GraphDatabaseSettings.transaction_timeout, Duration.ofMinutes(10))
            .build();
    // Make sure the default database is up before we say we are ready.
    dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
    if (password != null) {
      dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME)
          .executeTransactionally(
              "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED",
              java.util.Map.of("password", password));
    }

    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.out.println("aidgraph-neo4j: shutting down");
                  dbms.shutdown();
                }));
    System.out.println("aidgraph-neo4j: ready on bolt://127.0.0.1:" + port + " data=" + data);
    System.out.flush();
    Thread.currentThread().join();
  }
}
