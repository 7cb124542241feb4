package org.netvm.xenstore.server.internal;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The committed nodes by path and the global generation counter: what C xenstored keeps in its TDB
 * (xenstored_core.c's db layer). Transactions never write here before they commit; {@link Store}
 * reads and writes through a connection's transaction.
 */
final class Tree {

    private final Map<String, Node> nodes = new HashMap<>();
    private long generation;

    /** C's setup_structure: "/", "/tool", "/tool/xenstored", all n0; returns how many nodes it made. */
    int setUpStructure() {
        setUpNode("/", List.of("tool"));
        setUpNode("/tool", List.of("xenstored"));
        setUpNode("/tool/xenstored", List.of());
        return 3;
    }

    private void setUpNode(String name, List<String> children) {
        nodes.put(name, new Node(new byte[0], Permissions.DEFAULT_SPECIAL, children, ++generation));
    }

    /** The committed node, or null. */
    Node get(String name) {
        return nodes.get(name);
    }

    void put(String name, Node node) {
        nodes.put(name, node);
    }

    void remove(String name) {
        nodes.remove(name);
    }

    int size() {
        return nodes.size();
    }

    /** The generation last handed out. */
    long generation() {
        return generation;
    }

    /** Bumps the generation counter (every write, delete, transaction start and commit does). */
    long nextGeneration() {
        return ++generation;
    }
}
