package org.netvm.backend.iptables.internal;

import java.util.Collections;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * One owned ipset as {@code ipset save} shows it.
 *
 * @param header   type and family, e.g. {@code hash:net,iface family inet}
 * @param elements elements as {@code ipset save} prints them ({@code 10.137.0.5},
 *                 {@code 10.137.0.5,vif3.0})
 */
record SetState(String header, SortedSet<String> elements) {
    SetState {
        elements = Collections.unmodifiableSortedSet(new TreeSet<>(elements));
    }
}
