package org.netvm.vif.internal;

import java.lang.System.Logger.Level;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.netvm.kernel.Kernel;
import org.netvm.kernel.KernelException;
import org.netvm.kernel.Link;
import org.netvm.kernel.LinkEvent;
import org.netvm.kernel.LinkListener;
import org.netvm.kernel.Subscription;

/**
 * The link input: link events only record the vif as dirty (lost events ask for a full pass); on
 * the reconciler thread, {@link #read} refreshes the cache of vif devices.
 */
final class LinkInput {
    private static final System.Logger LOG = System.getLogger(VifReconciler.class.getName());

    /** Up to this many vifs in a pass, their kernel objects are read per device instead of dumped whole. */
    static final int PER_DEVICE_LIMIT = 32;

    private final Kernel kernel;
    private final VifEvents events;

    /**
     * Vifs the reconciler brings (or brought) up with group 2, by name: the device (ifindex) it programs.
     * Written by the reconciler thread, read by the event thread.
     */
    private final Map<String, Integer> programmed = new ConcurrentHashMap<>();

    // ---- reconciler thread (read by the event thread: replaced whole after a dump, a few vifs' reads
    // change it in place; a concurrent map, so a lookup sees the value before or after)
    private Subscription subscription;
    private volatile Map<String, Link> links = new ConcurrentHashMap<>();

    // ---- reconciler thread: which devices can hold kernel objects (see fresh)
    /** The highest vif ifindex of the last whole link dump (none yet: every device may hold objects). */
    private int dumpedIndex = Integer.MAX_VALUE;
    /** Devices above {@link #dumpedIndex} the reconciler started programming. */
    private final Set<Integer> touched = new HashSet<>();

    LinkInput(Kernel kernel, VifEvents events) {
        this.kernel = kernel;
        this.events = events;
    }

    /** Subscribes to link events if that is missing (again after a failure). */
    void subscribe() {
        if (subscription != null) {
            return;
        }
        try {
            subscription = kernel.subscribeLinks(new LinkListener() {
                @Override
                public void linkChanged(LinkEvent event) {
                    LinkInput.this.changed(event);
                }

                @Override
                public void eventsLost() {
                    events.requestFull();
                }
            });
        } catch (KernelException e) {
            LOG.log(Level.WARNING, "cannot subscribe to link events (relying on resyncs): " + e.getMessage());
        }
    }

    void close() {
        if (subscription != null) {
            subscription.close();
            subscription = null;
        }
    }

    /**
     * Records the vif as dirty, unless the event only echoes what the reconciler knows: the device as
     * the last pass read it, or as the reconciler programs it (its own link-up, the sysctl writes before
     * it). With 1 000 vifs coming up at start, those echoes would otherwise cost a pass over all of
     * them right after the first one (xenstore re-read, kernel read-back); the periodic check still
     * reads every device.
     */
    void changed(LinkEvent event) {
        String name = event.link().name();
        if (VifName.parse(name).isPresent() && !echo(event)) {
            events.vifChanged(name);
        }
    }

    private boolean echo(LinkEvent event) {
        if (event.kind() != LinkEvent.Kind.NEW) {
            return false;
        }
        Link l = event.link();
        Link known = links.get(l.name());
        if (known != null && known.index() == l.index() && known.up() == l.up() && known.group() == l.group()) {
            return true;
        }
        Integer index = programmed.get(l.name());
        return index != null && index == l.index() && l.up() && l.group() == AntiSpoof.VIF_GROUP;
    }

    /** The reconciler is bringing {@code name} (device {@code index}) up with group 2 or has done so. */
    void programming(String name, int index) {
        programmed.put(name, index);
        if (index > dumpedIndex) {
            touched.add(index);
        }
    }

    /**
     * True if the device {@code name} was created after the last whole read and this agent has not
     * programmed it: it holds no route, neighbour or address of netvm's, and its reads can be skipped.
     * Ifindexes grow in a namespace (a wrap only makes a device look older); a previous agent's devices
     * existed at the first whole read; a device moved in from another namespace left its addresses,
     * routes and neighbours behind. Objects another program put on a new vif within moments of its
     * creation are seen by the next periodic check.
     */
    boolean fresh(String name) {
        Link l = links.get(name);
        return l != null && l.index() > dumpedIndex && !touched.contains(l.index());
    }

    private void dumped(Map<String, Link> all) {
        int highest = dumpedIndex == Integer.MAX_VALUE ? 0 : dumpedIndex;
        for (Link l : all.values()) {
            highest = Math.max(highest, l.index());
        }
        int now = highest;
        dumpedIndex = now;
        touched.removeIf(i -> i <= now);
    }

    /** The reconciler did not (or no longer) program {@code name}. */
    void notProgrammed(String name) {
        programmed.remove(name);
    }

    /** The vif devices as last read. */
    Map<String, Link> links() {
        return links;
    }

    /** Re-reads every vif device ({@code full} or many vifs) or only those in {@code work}. */
    void read(Set<String> work, boolean full) throws KernelException {
        if (full || work.size() > PER_DEVICE_LIMIT) {
            Map<String, Link> all = vifLinks(kernel);
            dumped(all);
            links = new ConcurrentHashMap<>(all);
            return;
        }
        // a few vifs changed: read only their links (a dump of every link costs ~1 ms per 100); read
        // all before changing any, so that a failed read leaves the map as it was
        Map<String, Optional<Link>> read = new HashMap<>();
        for (String name : work) {
            read.put(name, kernel.link(name));
        }
        read.forEach((name, l) -> {
            if (l.isPresent()) {
                links.put(name, l.get());
            } else {
                links.remove(name);
            }
        });
    }

    /** Every vif device, by name (a link dump; any thread). */
    static Map<String, Link> vifLinks(Kernel kernel) throws KernelException {
        Map<String, Link> now = new HashMap<>();
        for (Link l : kernel.links()) {
            if (VifName.parse(l.name()).isPresent()) {
                now.put(l.name(), l);
            }
        }
        return now;
    }

    /**
     * Takes a dump of every vif device made off this thread ({@link #vifLinks}), except for the vifs in
     * {@code fresher}: they were read since, and a change after that read is an event still recorded.
     */
    void adopt(Map<String, Link> dumped, Set<String> fresher) {
        dumped(dumped);
        Map<String, Link> now = new HashMap<>(dumped);
        for (String name : fresher) {
            Link l = links.get(name);
            if (l != null) {
                now.put(name, l);
            } else {
                now.remove(name);
            }
        }
        links = new ConcurrentHashMap<>(now);
    }
}
