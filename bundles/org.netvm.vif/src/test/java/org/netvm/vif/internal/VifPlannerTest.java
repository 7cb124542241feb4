package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Contribution;
import org.netvm.kernel.Address;
import org.netvm.kernel.IpPrefix;
import org.netvm.kernel.Link;
import org.netvm.kernel.MacAddress;
import org.netvm.kernel.Neighbour;
import org.netvm.kernel.OperState;
import org.netvm.kernel.Route;
import org.netvm.kernel.Sysctl;
import org.netvm.vif.internal.VifReconciler.Intent;

/**
 * The pure planner, without a kernel: desired (xenstore values, intent) + observed (device, kernel
 * objects, confirmed contribution) → the plan rendered as text, compared with
 * {@code src/test/resources/golden/planner-*.txt} ({@code -Dgolden.update=true} rewrites them).
 */
class VifPlannerTest {
    private static final String GW = "10.137.0.1";
    private static final String GW6 = "fd09:24ef:4179::a89:1";
    private static final MacAddress MAC = MacAddress.parse("00:16:3e:5e:6c:00");

    private final VifPlanner planner = new VifPlanner("backend/vif");
    private final KernelObjects kernel = new KernelObjects(new HashMap<>(), new HashMap<>(), new HashMap<>(),
            new HashMap<>(), null);

    private static VifName vif(String name) {
        return VifName.parse(name).orElseThrow();
    }

    private static Link link(String name, int index, boolean up) {
        return new Link(index, name, up, up, up ? OperState.UP : OperState.DOWN, MacAddress.parse("fe:ff:ff:ff:ff:ff"),
                up ? AntiSpoof.VIF_GROUP : 0, 1500);
    }

    /** A toolstack always writes a mac; {@code null} here means the usual one. */
    private static XsEntry entry(String name, String ip, String mac) {
        return new XsEntry(vif(name), ip, mac == null ? MAC.text() : mac);
    }

    private static VifSpec spec(String name, String ip, String gw6) {
        try {
            return VifSpec.validate(vif(name), ip, MAC.text(), GW, gw6);
        } catch (VifSpec.InvalidVifException e) {
            throw new AssertionError(e);
        }
    }

    /** What the kernel holds for a vif programmed with {@code spec}. */
    private void programmed(VifSpec s) {
        String dev = s.name();
        List<Route> routes = new ArrayList<>();
        List<Neighbour> neighbours = new ArrayList<>();
        routes.add(Route.host(s.ipv4(), dev).withMetric(s.metric()));
        neighbours.add(Neighbour.permanent(s.ipv4(), s.mac(), dev));
        if (s.ipv6() != null) {
            routes.add(Route.host(s.ipv6(), dev).withMetric(s.metric()));
            neighbours.add(Neighbour.permanent(s.ipv6(), s.mac(), dev));
            kernel.sysctls().put(Sysctl.proxyNdp(dev).path(), 1);
        }
        kernel.routes().put(dev, routes);
        kernel.neighbours().put(dev, neighbours);
        List<Address> addresses = new ArrayList<>(List.of(Address.of(dev, IpPrefix.host(s.gateway()))));
        if (s.gateway6() != null) {
            addresses.add(Address.of(dev, IpPrefix.host(s.gateway6())));
        }
        kernel.addresses().put(dev, addresses);
        kernel.sysctls().put(Sysctl.proxyArp(dev).path(), 1);
        kernel.sysctls().put(Sysctl.disableIpv6(dev).path(), s.ipv6() == null ? 1 : 0);
    }

    private String plan(VifName vif, Intent intent, XsEntry entry, String gw6, Link link, Applied before,
            Contribution contributed, boolean swept) {
        VifPlan p = planner.desire(vif, intent, entry, GW, gw6, link, before);
        // a sysctl the test did not set reads as unknown (-1): the planner sets it
        planner.ops(p, kernel, contributed, swept);
        return p.render();
    }

    @Test
    void aNewIpv4VifIsProgrammedInTheOrderOfVifRouteQubes() {
        Rig.assertGolden("golden/planner-new-ipv4.txt", plan(vif("vif3.0"), null,
                entry("vif3.0", "10.137.0.5", null), null, link("vif3.0", 7, false), null, null, true));
    }

    @Test
    void aNewDualStackVifGetsProxyNdpNeighboursAndRoutesForBothFamilies() {
        Rig.assertGolden("golden/planner-new-ipv4-ipv6.txt", plan(vif("vif3.0"), Intent.ONLINE,
                entry("vif3.0", "10.137.0.5 fd09:24ef:4179::a89:5", "00:16:3e:5e:6c:05"), GW6, link("vif3.0", 7, false),
                null, null, true));
    }

    @Test
    void aProgrammedVifWithoutDriftGetsNoOperation() {
        VifSpec s = spec("vif3.0", "10.137.0.5", null);
        programmed(s);
        String text = plan(vif("vif3.0"), null, entry("vif3.0", "10.137.0.5", null), null, link("vif3.0", 7, true),
                new Applied(s, 7), AntiSpoof.contribution(s), true);
        assertEquals("vif3.0 desired=online program\n", text);
    }

    @Test
    void driftIsRepairedWithoutAPurge() {
        VifSpec s = spec("vif3.0", "10.137.0.5", null);
        programmed(s);
        kernel.routes().remove("vif3.0");
        kernel.neighbours().put("vif3.0", List.of(Neighbour.permanent(s.ipv4(), MacAddress.parse("00:16:3e:00:00:99"),
                "vif3.0")));
        kernel.sysctls().put(Sysctl.proxyArp("vif3.0").path(), 0);
        Rig.assertGolden("golden/planner-drift.txt", plan(vif("vif3.0"), null, entry("vif3.0", "10.137.0.5", null),
                null, link("vif3.0", 7, true), new Applied(s, 7), AntiSpoof.contribution(s), true));
    }

    @Test
    void aChangedAddressDeletesTheOldObjectsAndPurgesBothAddresses() {
        VifSpec old = spec("vif3.0", "10.137.0.5", null);
        programmed(old);
        Rig.assertGolden("golden/planner-address-changed.txt", plan(vif("vif3.0"), null,
                entry("vif3.0", "10.137.0.7", null), null, link("vif3.0", 7, true), new Applied(old, 7),
                AntiSpoof.contribution(old), true));
    }

    @Test
    void offlineTearsDownWithdrawsAndPurges() {
        VifSpec s = spec("vif3.0", "10.137.0.5 fd09:24ef:4179::a89:5", GW6);
        programmed(s);
        Rig.assertGolden("golden/planner-offline.txt", plan(vif("vif3.0"), Intent.OFFLINE,
                entry("vif3.0", "10.137.0.5 fd09:24ef:4179::a89:5", null), GW6, link("vif3.0", 7, true), new Applied(s, 7),
                AntiSpoof.contribution(s), true));
    }

    @Test
    void hostileValuesFailTheVifAndRemoveWhatItHad() {
        VifSpec s = spec("vif3.0", "10.137.0.5", null);
        programmed(s);
        String text = plan(vif("vif3.0"), null, entry("vif3.0", "10.137.0.5; reboot", null), null,
                link("vif3.0", 7, true), new Applied(s, 7), AntiSpoof.contribution(s), true);
        Rig.assertGolden("golden/planner-hostile.txt", text);
        assertTrue(!text.contains("replace") && !text.contains("put"), text);
    }

    @Test
    void aVifWithoutItsDeviceIsPendingAndBeforeTheFirstSweepItsElementsAreWithdrawn() {
        Rig.assertGolden("golden/planner-pending.txt", plan(vif("vif4.0"), null, entry("vif4.0", "10.137.0.6", null),
                null, null, null, null, false));
    }

    @Test
    void leftoversOfADepartedGuestAreSwept() {
        kernel.routes().put("vif9.0", List.of(Route.host(IpPrefix.parseAddress("10.137.0.9"), "vif9.0").withMetric(32743)));
        kernel.neighbours().put("vif9.0", List.of(Neighbour.permanent(IpPrefix.parseAddress("10.137.0.9"), MAC,
                "vif9.0")));
        Rig.assertGolden("golden/planner-sweep.txt", plan(vif("vif9.0"), null, null, null, link("vif9.0", 9, true),
                null, null, false));
    }

    @Test
    void issue11AnIpv4OnlyVifHasIpv6DisabledBeforeItsLinkComesUp() {
        String text = plan(vif("vif3.0"), null, entry("vif3.0", "10.137.0.5", null), GW6, link("vif3.0", 7, false),
                null, null, true);
        int off = text.indexOf("1 batch: sysctl net.ipv6.conf.vif3/0.disable_ipv6=1");
        assertTrue(off > 0 && off < text.indexOf("link set dev vif3.0 group 2 up"), text);
        assertTrue(!text.contains("fd09"), "no gateway6 on a vif with IPv6 off: " + text);
    }

    @Test
    void issue11AGuestGainingIpv6GetsIpv6BackOnItsVif() {
        VifSpec s = spec("vif3.0", "10.137.0.5", null);
        programmed(s);
        String text = plan(vif("vif3.0"), null, entry("vif3.0", "10.137.0.5 fd09:24ef:4179::a89:5", null), GW6,
                link("vif3.0", 7, true), new Applied(s, 7), AntiSpoof.contribution(s), true);
        assertTrue(text.contains("1 batch: sysctl net.ipv6.conf.vif3/0.disable_ipv6=0"), text);
        assertTrue(text.contains("address replace fd09:24ef:4179::a89:1/128 dev vif3.0"), text);
    }

    @Test
    void issue11ALinkLocalGateway6IsNotPutOnTheVif() {
        VifPlan p = planner.desire(vif("vif3.0"), null, entry("vif3.0", "10.137.0.5 fd09:24ef:4179::a89:5", null), GW,
                "fe80::1", link("vif3.0", 7, false), null);
        planner.ops(p, kernel, null, true);
        assertTrue(!p.render().contains("fe80"), p.render());
    }
}
