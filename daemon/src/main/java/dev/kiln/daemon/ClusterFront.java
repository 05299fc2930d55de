package dev.kiln.daemon;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What a clustered daemon's API answers cluster-wide instead of from its own fleet (kiln-cluster
 * implements it): a create writes the desired state to the cluster's store, a list shows where
 * each instance runs, a burst is split across the hosts.
 */
public interface ClusterFront extends AutoCloseable {
    /** POST /v1/instances: the checked request fields (image, name, memory_mib, args, start). */
    JsonNode create(JsonNode request) throws Exception;

    /** GET /v1/instances. */
    JsonNode list() throws Exception;

    /** DELETE /v1/instances/{id}: the instance leaves the desired state; its host removes it. */
    JsonNode delete(String id) throws Exception;

    /** POST /v1/bursts: image, count. */
    JsonNode burst(JsonNode request) throws Exception;

    /** The daemon serves from now on, at {@code apiAddress} (host:port, or the Unix socket's path). */
    void serving(String apiAddress) throws Exception;

    @Override
    void close();

    /** Joins a cluster with the daemon's fleet, before the API serves. */
    @FunctionalInterface
    interface Join {
        ClusterFront join(LocalFleet fleet) throws Exception;
    }
}
