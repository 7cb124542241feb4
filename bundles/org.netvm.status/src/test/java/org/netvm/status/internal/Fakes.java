package org.netvm.status.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Dataplane;
import org.netvm.dataplane.Plan;
import org.netvm.vif.VifRegistry;
import org.netvm.vif.VifState;
import org.netvm.xenstore.Permission;
import org.netvm.xenstore.Transaction;
import org.netvm.xenstore.Watch;
import org.netvm.xenstore.WatchListener;
import org.netvm.xenstore.XenStore;

/** Services with fields a test sets, and a healthy netvm to start from. */
final class Fakes {

    static final Instant T0 = Instant.parse("2026-11-27T12:00:00Z");

    private Fakes() {
    }

    static final class FakeXenStore implements XenStore {
        boolean connected = true;
        XenStore.Statistics statistics = new XenStore.Statistics(1234, 1);

        @Override
        public boolean isConnected() {
            return connected;
        }

        @Override
        public Optional<Statistics> statistics() {
            return Optional.ofNullable(statistics);
        }

        @Override
        public String read(String path) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void write(String path, String value) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void mkdir(String path) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void rm(String path) {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<String> directory(String path) {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<Permission> getPermissions(String path) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void setPermissions(String path, List<Permission> permissions) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Transaction transaction() {
            throw new UnsupportedOperationException();
        }

        @Override
        public Watch watch(String path, WatchListener listener) {
            throw new UnsupportedOperationException();
        }

        @Override
        public String domainPath(int domid) {
            return "/local/domain/" + domid;
        }
    }

    static final Map<String, Object> XS_PROPS = Map.of(XenStore.TRANSPORT, "unix", XenStore.ADDRESS,
            "/run/netvm/xenstored/socket");

    static final class FakeDataplane implements Dataplane {
        Status status = new Status("nftables", "nftables", null, List.of("iptables", "nftables"), true,
                T0.minusSeconds(5), Duration.ofMillis(3), 12, 0, 1, null, 3, 0, 2);
        List<BackendStatistics> stats = List.of(new BackendStatistics("nftables", 12, 0,
                new Histogram(List.of(0.001, 0.01), List.of(2L, 11L), 12, 0.04)));

        @Override
        public CompletionStage<Void> put(Contribution contribution) {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletionStage<Void> remove(String owner) {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public Plan plan() {
            return Plan.EMPTY;
        }

        @Override
        public Status status() {
            return status;
        }

        @Override
        public List<BackendStatistics> backendStatistics() {
            return stats;
        }
    }

    static final class FakeVifRegistry implements VifRegistry {
        final List<VifState> vifs = new ArrayList<>();
        Counters counters = new Counters(true, 40, 6, 0, T0.minusSeconds(2));

        FakeVifRegistry() {
            vifs.add(new VifState("vif3.0", 3, 0, VifState.Desired.ONLINE, VifState.Actual.PROGRAMMED, "10.137.0.5",
                    null, "00:16:3e:5e:6c:00", "10.137.0.1", null, T0.minusSeconds(60), 0));
            vifs.add(new VifState("vif4.0", 4, 0, VifState.Desired.ONLINE, VifState.Actual.PENDING, "10.137.0.6",
                    "fd09:24ef:4179::a89:6", "00:16:3e:5e:6c:01", "10.137.0.1", "waiting for device vif4.0",
                    T0.minusSeconds(1), 0));
        }

        @Override
        public List<VifState> vifs() {
            return vifs;
        }

        @Override
        public Optional<VifState> vif(String name) {
            return vifs.stream().filter(v -> v.name().equals(name)).findFirst();
        }

        @Override
        public Counters counters() {
            return counters;
        }

        @Override
        public Histogram programmingSeconds() {
            return new Histogram(List.of(0.05, 1.0), List.of(1L, 2L), 2, 0.31);
        }
    }

    /** A healthy netvm: xenstore connected, nftables in sync, one guest attached, one waiting for its device. */
    static final class Rig {
        final FakeXenStore xs = new FakeXenStore();
        final FakeDataplane dataplane = new FakeDataplane();
        final FakeVifRegistry vifs = new FakeVifRegistry();
        org.netvm.firewall.FirewallStatus firewall = () -> new org.netvm.firewall.FirewallStatus.Snapshot(true, 1, List.of());

        StatusReport report() {
            return StatusReport.collect(T0, xs, XS_PROPS, dataplane, vifs, firewall);
        }

        void failVif4() {
            vifs.vifs.set(1, new VifState("vif4.0", 4, 0, VifState.Desired.ONLINE, VifState.Actual.FAILED, null, null,
                    null, null, "vif4.0: ip: not an IPv4 address: \"10.137.0.256\"\n", T0, 0));
        }
    }
}
