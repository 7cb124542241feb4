package org.netvm.vif.internal;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

import org.netvm.xenstore.Watch;
import org.netvm.xenstore.WatchListener;
import org.netvm.xenstore.XenStore;
import org.netvm.xenstore.XenStoreError;
import org.netvm.xenstore.XenStoreException;

/**
 * The xenstore input: watch callbacks only record (which vif or domain is dirty, the gateway, or
 * "read everything"); on the reconciler thread, {@link #update} re-reads what was recorded into a
 * cache of raw values ({@link XsEntry}, hostile until {@link VifSpec} validates them).
 */
final class XenstoreInput {
    private static final System.Logger LOG = System.getLogger(VifReconciler.class.getName());

    static final String GATEWAY_KEY = "qubes-netvm-gateway";
    static final String GATEWAY6_KEY = "qubes-netvm-gateway6";
    static final String DNS1_KEY = "qubes-netvm-primary-dns";
    static final String DNS2_KEY = "qubes-netvm-secondary-dns";
    /** Keys below a vif's directory that answer a hotplug call; a change of one is no reason for a pass. */
    static final Set<String> ANSWER_KEYS = Set.of("hotplug-status", "hotplug-error");
    /** Qubes' virtual DNS addresses when the keys are absent. */
    static final String DNS1_DEFAULT = "10.139.1.1";
    static final String DNS2_DEFAULT = "10.139.1.2";

    private final XenStore xs;
    private final String base;
    private final VifEvents events;

    // ---- reconciler thread
    private final List<Watch> watches = new ArrayList<>();
    private final Map<String, XsEntry> entries = new HashMap<>();
    private String gatewayRaw;
    private String gateway6Raw;
    private String dns1Raw;
    private String dns2Raw;

    XenstoreInput(XenStore xs, String base, VifEvents events) {
        this.xs = xs;
        this.base = base;
        this.events = events;
    }

    // ---- recording

    /** Registers the watches if they are missing (again after a failure). */
    void subscribe() {
        if (!watches.isEmpty()) {
            return;
        }
        try {
            watches.add(xs.watch(base, listener(this::changed)));
            for (String key : List.of(GATEWAY_KEY, GATEWAY6_KEY, DNS1_KEY, DNS2_KEY)) {
                watches.add(xs.watch(key, listener(path -> events.gatewayChanged())));
            }
        } catch (XenStoreException e) {
            LOG.log(Level.WARNING, "cannot watch " + base + " (retrying): " + e.getMessage());
            close();
        }
    }

    private WatchListener listener(java.util.function.Consumer<String> changed) {
        return new WatchListener() {
            @Override
            public void changed(String path) {
                changed.accept(path);
            }

            @Override
            public void resync() {
                events.requestFull();
            }
        };
    }

    void close() {
        watches.forEach(Watch::close);
        watches.clear();
    }

    /** A watch event below the base path: marks the vif (or the domain, or everything) dirty. */
    void changed(String path) {
        String rest = null;
        if (path != null) {
            int at = path.equals(base) || path.startsWith(base + "/") ? 0 : path.indexOf("/" + base + "/");
            if (at == 0) {
                rest = path.length() > base.length() ? path.substring(base.length() + 1) : "";
            } else if (at > 0) {
                rest = path.substring(at + base.length() + 2);
            }
        }
        String[] p = rest == null || rest.isEmpty() ? new String[0] : rest.split("/", 3);
        if (p.length == 0 || !VifName.isId(p[0])) {
            events.requestFull();
        } else if (p.length == 1) {
            events.domainChanged(p[0]);
        } else if (p.length == 3 && ANSWER_KEYS.contains(p[2])) {
            return; // the hotplug call's answer (netvm's own write, or the script's): not an input of the vif
        } else {
            Optional<VifName> vif = VifName.of(p[0], p[1]);
            if (vif.isPresent()) {
                events.vifChanged(vif.get().name());
            } else {
                events.domainChanged(p[0]);
            }
        }
    }

    // ---- the cache (reconciler thread)

    Map<String, XsEntry> entries() {
        return entries;
    }

    String gateway() {
        return gatewayRaw;
    }

    String gateway6() {
        return gateway6Raw;
    }

    /**
     * The netvm's own addresses named in xenstore, raw (gateway, gateway6, DNS1, DNS2 with Qubes'
     * defaults), each with what it is: no guest may have one of them.
     */
    Map<String, String> reservedRaw() {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        out.put(dns1Raw == null ? DNS1_DEFAULT : dns1Raw, "DNS1 (" + DNS1_KEY + ")");
        out.put(dns2Raw == null ? DNS2_DEFAULT : dns2Raw, "DNS2 (" + DNS2_KEY + ")");
        if (gateway6Raw != null) {
            out.put(gateway6Raw, "the netvm's gateway6 (" + GATEWAY6_KEY + ")");
        }
        if (gatewayRaw != null) {
            out.put(gatewayRaw, "the netvm's gateway (" + GATEWAY_KEY + ")");
        }
        return out;
    }

    /**
     * Re-reads what a pass needs and adds the vifs it touched to {@code work}: all of xenstore when
     * {@code scan}; else the gateway if recorded, the dirty domains and vifs, and the vifs hotplug
     * calls wait for. Returns true if the gateway keys changed.
     */
    boolean update(VifEvents.Drained d, boolean full, boolean scan, List<String> waited, Set<String> work)
            throws XenStoreException {
        if (full) {
            work.addAll(entries.keySet());
        }
        boolean gatewayChanged = false;
        if (scan) {
            scanAll();
            readGateway();
        } else {
            if (d.gateway()) {
                gatewayChanged = readGateway();
            }
            for (String domid : d.domids()) {
                Set<String> touched = scanDomain(domid);
                if (!full) {
                    work.addAll(touched);
                }
            }
            for (String name : d.names()) {
                refresh(VifName.parse(name).orElseThrow());
            }
            for (String vif : waited) {
                if (!d.names().contains(vif)) {
                    refresh(VifName.parse(vif).orElseThrow());
                }
            }
        }
        if (full) {
            work.addAll(entries.keySet());
        }
        return gatewayChanged;
    }

    private void scanAll() throws XenStoreException {
        Map<String, XsEntry> found = scanned();
        entries.clear();
        entries.putAll(found);
    }

    /**
     * Every vif's entry, read whole with pipelined requests (one listing of the base, the domains'
     * listings together, then every vif's keys together): a few batches instead of a round trip per
     * node. Any thread: the cache is not touched.
     */
    Map<String, XsEntry> scanned() throws XenStoreException {
        List<String> domids = new ArrayList<>();
        for (String domid : directory(base)) {
            if (validDomid(domid)) {
                domids.add(domid);
            }
        }
        List<Optional<List<String>>> listings = xs.directoryAll(domids.stream().map(d -> base + "/" + d).toList());
        List<VifName> vifs = new ArrayList<>();
        for (int i = 0; i < domids.size(); i++) {
            vifs.addAll(vifsOf(domids.get(i), listings.get(i).orElse(List.of())));
        }
        Map<String, XsEntry> found = new HashMap<>();
        readVifs(vifs).forEach(e -> found.put(e.vif().name(), e));
        return found;
    }

    /**
     * Takes a whole re-read made off this thread ({@link #scanned}), except for the vifs in {@code fresher}
     * (read since; a change after that read is a watch event still recorded), and reads the gateway keys.
     */
    void adoptScan(Map<String, XsEntry> found, Set<String> fresher) throws XenStoreException {
        entries.keySet().removeIf(n -> !fresher.contains(n));
        found.forEach((n, e) -> {
            if (!fresher.contains(n)) {
                entries.put(n, e);
            }
        });
        readGateway();
    }

    /** Re-reads one domain's directory; returns the names touched (present before or now). */
    private Set<String> scanDomain(String domid) throws XenStoreException {
        Set<String> touched = new HashSet<>();
        for (Iterator<XsEntry> it = entries.values().iterator(); it.hasNext(); ) {
            XsEntry e = it.next();
            if (Integer.toString(e.vif().domid()).equals(domid)) {
                touched.add(e.vif().name());
                it.remove();
            }
        }
        for (XsEntry e : readDomain(domid)) {
            entries.put(e.vif().name(), e);
            touched.add(e.vif().name());
        }
        return touched;
    }

    private List<XsEntry> readDomain(String domid) throws XenStoreException {
        if (!validDomid(domid)) {
            return List.of();
        }
        return readVifs(vifsOf(domid, directory(base + "/" + domid)));
    }

    private boolean validDomid(String domid) {
        if (!VifName.isId(domid)) {
            LOG.log(Level.WARNING, "ignoring " + base + "/" + VifSpec.quote(domid) + ": not a domid");
            return false;
        }
        return true;
    }

    /** The vifs of a domain's listing (children that are not device ids are ignored, with a warning). */
    private List<VifName> vifsOf(String domid, List<String> devids) {
        List<VifName> out = new ArrayList<>(devids.size());
        for (String devid : devids) {
            Optional<VifName> vif = VifName.of(domid, devid);
            if (vif.isEmpty()) {
                LOG.log(Level.WARNING, "ignoring " + base + "/" + domid + "/" + VifSpec.quote(devid)
                        + ": not a device id");
                continue;
            }
            out.add(vif.get());
        }
        return out;
    }

    /**
     * The entries of {@code vifs} as {@link #read} makes them, with the requests pipelined: every
     * {@code ip} and {@code mac} together, then the directory of the vifs that have neither.
     */
    private List<XsEntry> readVifs(List<VifName> vifs) throws XenStoreException {
        List<String> paths = new ArrayList<>(2 * vifs.size());
        for (VifName vif : vifs) {
            String dir = vif.xenbusPath(base);
            paths.add(dir + "/ip");
            paths.add(dir + "/mac");
        }
        List<Optional<String>> values = xs.readAll(paths);
        List<VifName> neither = new ArrayList<>();
        for (int i = 0; i < vifs.size(); i++) {
            if (values.get(2 * i).isEmpty() && values.get(2 * i + 1).isEmpty()) {
                neither.add(vifs.get(i));
            }
        }
        List<Optional<String>> dirs = xs.readAll(neither.stream().map(v -> v.xenbusPath(base)).toList());
        Set<VifName> present = new HashSet<>();
        for (int i = 0; i < neither.size(); i++) {
            if (dirs.get(i).isPresent()) {
                present.add(neither.get(i));
            }
        }
        List<XsEntry> out = new ArrayList<>(vifs.size());
        for (int i = 0; i < vifs.size(); i++) {
            String ip = values.get(2 * i).orElse(null);
            String mac = values.get(2 * i + 1).orElse(null);
            if (ip != null || mac != null || present.contains(vifs.get(i))) {
                out.add(new XsEntry(vifs.get(i), ip, mac));
            }
        }
        return out;
    }

    private List<String> directory(String path) throws XenStoreException {
        try {
            return xs.directory(path);
        } catch (XenStoreException e) {
            if (e.error() == XenStoreError.ENOENT) {
                return List.of();
            }
            throw e;
        }
    }

    /**
     * The vif's entry: its directory's {@code ip} and {@code mac}; absent when the directory is. One
     * round trip (the two reads pipelined) when either key is there (the directory then exists), a
     * second only when neither is.
     */
    Optional<XsEntry> read(VifName vif) throws XenStoreException {
        String dir = vif.xenbusPath(base);
        List<Optional<String>> values = xs.readAll(List.of(dir + "/ip", dir + "/mac"));
        String ip = values.get(0).orElse(null);
        String mac = values.get(1).orElse(null);
        if (ip == null && mac == null && xs.readIfExists(dir).isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new XsEntry(vif, ip, mac));
    }

    private void refresh(VifName vif) throws XenStoreException {
        Optional<XsEntry> e = read(vif);
        if (e.isPresent()) {
            entries.put(vif.name(), e.get());
        } else {
            entries.remove(vif.name());
        }
    }

    /** Reads the gateway and DNS keys; true if they changed. */
    private boolean readGateway() throws XenStoreException {
        String gw = xs.readIfExists(GATEWAY_KEY).orElse(null);
        String gw6 = xs.readIfExists(GATEWAY6_KEY).orElse(null);
        String dns1 = xs.readIfExists(DNS1_KEY).orElse(null);
        String dns2 = xs.readIfExists(DNS2_KEY).orElse(null);
        boolean changed = !Objects.equals(gw, gatewayRaw) || !Objects.equals(gw6, gateway6Raw)
                || !Objects.equals(dns1, dns1Raw) || !Objects.equals(dns2, dns2Raw);
        gatewayRaw = gw;
        gateway6Raw = gw6;
        dns1Raw = dns1;
        dns2Raw = dns2;
        return changed;
    }
}
