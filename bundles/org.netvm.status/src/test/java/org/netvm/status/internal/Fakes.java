package org.netvm.status.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.netvm.dataplane.Dataplane;
import org.netvm.testing.dataplane.FakeDataplane;
import org.netvm.testing.xenstore.FakeXenStore;
import org.netvm.vif.VifRegistry;
import org.netvm.vif.VifState;
import org.netvm.xenstore.XenStore;

/** Services with fields a test sets, and a healthy netvm to start from. */
final class Fakes {

    static final Instant T0 = Instant.parse("2026-11-27T12:00:00Z");

    private Fakes() {
    }

    static final Map<String, Object> XS_PROPS = Map.of(XenStore.TRANSPORT, "unix", XenStore.ADDRESS,
            "/run/netvm/xenstored/socket");

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

        Rig() {
            xs.statistics(new XenStore.Statistics(1234, 1));
            dataplane.status(new Dataplane.Status("nftables", "nftables", null, List.of("iptables", "nftables"), true,
                    T0.minusSeconds(5), Duration.ofMillis(3), 12, 0, 1, null, 3, 0, 2));
            dataplane.backendStatistics(List.of(new Dataplane.BackendStatistics("nftables", 12, 0,
                    new Dataplane.Histogram(List.of(0.001, 0.01), List.of(2L, 11L), 12, 0.04))));
        }

        StatusReport report() {
            return StatusReport.collect(T0, xs, XS_PROPS, dataplane, vifs, firewall);
        }

        void failVif4() {
            vifs.vifs.set(1, new VifState("vif4.0", 4, 0, VifState.Desired.ONLINE, VifState.Actual.FAILED, null, null,
                    null, null, "vif4.0: ip: not an IPv4 address: \"10.137.0.256\"\n", T0, 0));
        }
    }
}
