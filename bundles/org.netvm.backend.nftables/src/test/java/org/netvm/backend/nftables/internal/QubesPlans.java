package org.netvm.backend.nftables.internal;

import static org.netvm.dataplane.Match.CtState.ESTABLISHED;
import static org.netvm.dataplane.Match.CtState.INVALID;
import static org.netvm.dataplane.Match.CtState.RELATED;

import java.util.ArrayList;
import java.util.List;
import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.Hook;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.NamedSet;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Policy;
import org.netvm.dataplane.Priority;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetRef;
import org.netvm.dataplane.SetType;
import org.netvm.dataplane.Verdict;

/** The Qubes netvm behaviour (qubes-behaviour.md sections 4 and 5) as contributions. */
final class QubesPlans {
    static final SetRef ALLOWED = SetRef.of(Family.INET, "allowed");
    static final SetRef ALLOWED6 = SetRef.of(Family.INET, "allowed6");
    static final SetRef DOWNSTREAM = SetRef.of(Family.INET, "downstream");
    static final SetRef DOWNSTREAM6 = SetRef.of(Family.INET, "downstream6");
    static final ChainRef INPUT = ChainRef.of(Family.INET, "input");
    static final ChainRef FORWARD = ChainRef.of(Family.INET, "forward");
    static final ChainRef PREROUTING = ChainRef.of(Family.INET, "prerouting");
    static final ChainRef ANTISPOOF = ChainRef.of(Family.INET, "antispoof");
    static final ChainRef POSTROUTING = ChainRef.of(Family.IP, "postrouting");
    static final ChainRef DNAT_DNS = ChainRef.of(Family.IP, "dnat-dns");
    static final int VIF_GROUP = 2;

    private QubesPlans() {
    }

    /** Section 5: anti-spoof, input, forward, masquerade, empty custom chains. */
    static Contribution basePolicy() {
        return Contribution.builder("base-policy")
                .set(NamedSet.of(Family.INET, "allowed", SetType.IFNAME_IPV4_ADDR))
                .set(NamedSet.of(Family.INET, "allowed6", SetType.IFNAME_IPV6_ADDR))
                .set(NamedSet.of(Family.INET, "downstream", SetType.IPV4_ADDR))
                .set(NamedSet.of(Family.INET, "downstream6", SetType.IPV6_ADDR))
                .chain(Chain.filter(Family.INET, "prerouting", Hook.PREROUTING, Priority.RAW, Policy.ACCEPT))
                .chain(Chain.regular(Family.INET, "antispoof"))
                .chain(Chain.filter(Family.INET, "input", Hook.INPUT, Priority.FILTER, Policy.DROP))
                .chain(Chain.filter(Family.INET, "forward", Hook.FORWARD, Priority.FILTER, Policy.ACCEPT))
                .chain(Chain.userOwned(Family.INET, "custom-input"))
                .chain(Chain.userOwned(Family.INET, "custom-forward"))
                .chain(Chain.nat(Family.IP, "postrouting", Hook.POSTROUTING, Priority.SRCNAT))
                .rule(Rule.in(PREROUTING).iifgroup(VIF_GROUP).goTo("antispoof"))
                .rule(Rule.in(PREROUTING).inSet(Match.SetKey.SOURCE_ADDRESS, "downstream").counter().drop())
                .rule(Rule.in(PREROUTING).inSet(Match.SetKey.SOURCE_ADDRESS, "downstream6").counter().drop())
                .rule(Rule.in(ANTISPOOF).inSet(Match.SetKey.IIFNAME_SOURCE_ADDRESS, "allowed").accept())
                .rule(Rule.in(ANTISPOOF).inSet(Match.SetKey.IIFNAME_SOURCE_ADDRESS, "allowed6").accept())
                .rule(Rule.in(ANTISPOOF).counter().drop())
                .rule(Rule.in(INPUT).order(Rule.FIRST).jump("custom-input"))
                .rule(Rule.in(INPUT).ct(INVALID).counter().drop())
                .rule(Rule.in(INPUT).iifgroup(VIF_GROUP).dport(Match.Protocol.UDP, 68).counter().drop())
                .rule(Rule.in(INPUT).ct(ESTABLISHED, RELATED).accept())
                .rule(Rule.in(INPUT).iifgroup(VIF_GROUP).protocol(Match.Protocol.ICMP).accept())
                .rule(Rule.in(INPUT).iifgroup(VIF_GROUP).protocol(Match.Protocol.ICMPV6).accept())
                .rule(Rule.in(INPUT).iifname("lo").accept())
                .rule(Rule.in(INPUT).order(Rule.LAST).iifgroup(VIF_GROUP).counter()
                        .reject(Verdict.RejectType.HOST_PROHIBITED))
                .rule(Rule.in(FORWARD).order(Rule.FIRST).jump("custom-forward"))
                .rule(Rule.in(FORWARD).ct(INVALID).counter().drop())
                .rule(Rule.in(FORWARD).ct(ESTABLISHED, RELATED).accept())
                .rule(Rule.in(FORWARD).oifgroup(VIF_GROUP).counter().drop())
                .rule(Rule.in(POSTROUTING).oifgroup(VIF_GROUP).accept())
                .rule(Rule.in(POSTROUTING).oifname("lo").accept())
                .rule(Rule.in(POSTROUTING).masquerade())
                .build();
    }

    /** Section 3 step 4: one guest's anti-spoof elements. */
    static Contribution guest(String vif, String ip, String ip6) {
        Contribution.Builder b = Contribution.builder("vif/" + vif)
                .element(ALLOWED, SetElement.of(vif, ip))
                .element(DOWNSTREAM, SetElement.of(ip));
        if (ip6 != null) {
            b.element(ALLOWED6, SetElement.of(vif, ip6)).element(DOWNSTREAM6, SetElement.of(ip6));
        }
        return b.build();
    }

    /** Section 4: DNS1/DNS2 mapped onto the upstream list; no upstream: drop. */
    static Contribution dns(List<String> upstreams) {
        String[] virtual = {"10.139.1.1", "10.139.1.2"};
        Contribution.Builder b = Contribution.builder("dns")
                .chain(Chain.nat(Family.IP, "dnat-dns", Hook.PREROUTING, Priority.DSTNAT));
        for (int i = 0; i < virtual.length; i++) {
            for (Match.Protocol p : List.of(Match.Protocol.UDP, Match.Protocol.TCP)) {
                Rule.Builder r = Rule.in(DNAT_DNS).daddr(virtual[i]).dport(p, 53);
                b.rule(upstreams.isEmpty() ? r.drop() : r.dnat(upstreams.get(i % upstreams.size())));
            }
        }
        return b.build();
    }

    static Plan twoGuests() {
        return Plan.merge(basePolicy(), guest("vif3.0", "10.137.0.5", "fd09:24ef:4179::a89:5"),
                guest("vif4.0", "10.137.0.6", null));
    }

    /** vif3.0 gone, vif5.0 come. */
    static Plan guestChanged() {
        return Plan.merge(basePolicy(), guest("vif4.0", "10.137.0.6", null),
                guest("vif5.0", "10.137.0.7", "fd09:24ef:4179::a89:7"));
    }

    static Plan withDns(List<String> upstreams) {
        List<Contribution> all = new ArrayList<>(List.of(basePolicy(), dns(upstreams)));
        return Plan.merge(all);
    }

    /** Section 5 plus an extension counting vif3.0's forwarded packets in the user-owned custom-forward. */
    static Plan withExtensionInCustomForward() {
        ChainRef customForward = ChainRef.of(Family.INET, "custom-forward");
        Contribution ext = Contribution.builder("com.example/acct")
                .chain(Chain.regular(Family.INET, "acct"))
                .rule(Rule.in(customForward).iifname("vif3.0").counter().jump("acct"))
                .build();
        return Plan.merge(basePolicy(), guest("vif3.0", "10.137.0.5", null), ext);
    }
}
