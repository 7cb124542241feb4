package org.netvm.xenstore.server.internal;

import java.util.ArrayList;
import java.util.List;

import org.netvm.xenstore.Permission;

/**
 * One stored node, immutable, laid out as C xenstored's TDB record: value, permission list (first
 * entry = owner and default access), child names in creation order, generation counter.
 */
record Node(byte[] value, List<Permission> perms, List<String> children, long generation) {

    /** Generation of a node that does not exist (C: NO_GENERATION). */
    static final long NO_GENERATION = -1L;

    Node {
        perms = List.copyOf(perms);
        children = List.copyOf(children);
    }

    Node withValue(byte[] v) {
        return new Node(v, perms, children, generation);
    }

    Node withPerms(List<Permission> p) {
        return new Node(value, p, children, generation);
    }

    Node withGeneration(long g) {
        return new Node(value, perms, children, g);
    }

    Node withChild(String name) {
        List<String> c = new ArrayList<>(children.size() + 1);
        c.addAll(children);
        c.add(name);
        return new Node(value, perms, c, generation);
    }

    Node withoutChild(String name) {
        List<String> c = new ArrayList<>(children);
        c.remove(name);
        return new Node(value, perms, c, generation);
    }

    int owner() {
        return perms.get(0).domid();
    }

    /** Bytes of the children list on the wire (each name NUL-terminated), C's childlen. Names are Latin-1, one char per byte. */
    int childLength() {
        int n = 0;
        for (String c : children) {
            n += c.length() + 1;
        }
        return n;
    }

    /**
     * The size C xenstored's TDB record would have (24-byte header, 8 bytes per permission, value,
     * children), which its entry-size quota is compared with.
     */
    int recordSize() {
        return 24 + 8 * perms.size() + value.length + childLength();
    }
}
