package org.netvm.xenstore.server.internal;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.netvm.xenstore.Permission;

/**
 * A transaction as C xenstored keeps it: nothing is copied up front; the first access to a node
 * records the node and its generation, later accesses in the transaction see that copy. At commit
 * every node first accessed by reading must still have the recorded generation (else EAGAIN).
 */
final class Transaction {

    /** One accessed node (C: struct accessed_node). */
    static final class Accessed {
        /** The transaction's view: null when the node does not exist (or was deleted). */
        Node node;
        long generation;
        boolean checkGeneration;
        boolean modified;
        /** Permissions when first accessed, for watch permission checks at commit. */
        List<Permission> originalPerms;
        boolean fireWatch;
        boolean watchExact;
    }

    final int id;
    final long generation;
    final Map<String, Accessed> accessed = new LinkedHashMap<>();
    /** Change of owned-node count per domain, applied at commit. */
    final Map<Integer, Integer> entryDelta = new LinkedHashMap<>();
    boolean nodeCreated;
    boolean failed;
    /** Memory charged to the domain's account for what this transaction records. */
    long bytes;

    Transaction(int id, long generation) {
        this.id = id;
        this.generation = generation;
    }
}
