package org.netvm.backend.iptables.internal;

import java.util.ArrayList;
import java.util.List;
import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.Hook;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.Match.CtState;
import org.netvm.dataplane.Match.Protocol;
import org.netvm.dataplane.Match.SetKey;
import org.netvm.dataplane.NamedSet;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Policy;
import org.netvm.dataplane.Priority;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetRef;
import org.netvm.dataplane.SetType;
import org.netvm.dataplane.Verdict.RejectType;

/** Test plans shaped like a Qubes netvm (qubes-behaviour.md sections 4 and 5). */
final class Plans {
    static final SetRef ALLOWED = SetRef.of(Family.INET, "allowed");
    static final SetRef ALLOWED6 = SetRef.of(Family.INET, "allowed6");
    static final SetRef DOWNSTREAM = SetRef.of(Family.INET, "downstream");
    static final ChainRef INPUT = ChainRef.of(Family.INET, "input");

    private Plans() {
    }

    /** A guest: its vif and IPv4 address. */
    record Guest(String vif, String address) {
    }

    /** The base policy (anti-spoof, input, forward, masquerade). */
    static Contribution basePolicy() {
        ChainRef pre = ChainRef.of(Family.INET, "antispoof-hook");
        ChainRef antispoof = ChainRef.of(Family.INET, "antispoof");
        ChainRef forward = ChainRef.of(Family.INET, "forward");
        ChainRef post = ChainRef.of(Family.IP, "postrouting");
        return Contribution.builder("base-policy")
                .set(NamedSet.of(Family.INET, "allowed", SetType.IFNAME_IPV4_ADDR))
                .set(NamedSet.of(Family.INET, "allowed6", SetType.IFNAME_IPV6_ADDR))
                .set(NamedSet.of(Family.INET, "downstream", SetType.IPV4_ADDR))
                .chain(Chain.filter(Family.INET, pre.name(), Hook.PREROUTING, Priority.RAW, Policy.ACCEPT))
                .chain(Chain.regular(Family.INET, antispoof.name()))
                .chain(Chain.filter(Family.INET, "input", Hook.INPUT, Priority.FILTER, Policy.DROP))
                .chain(Chain.filter(Family.INET, "forward", Hook.FORWARD, Priority.FILTER, Policy.ACCEPT))
                .chain(Chain.userOwned(Family.INET, "custom-input"))
                .chain(Chain.userOwned(Family.INET, "custom-forward"))
                .chain(Chain.nat(Family.IP, post.name(), Hook.POSTROUTING, Priority.SRCNAT))
                .rule(Rule.in(pre).iifgroup(2).goTo(antispoof.name()))
                .rule(Rule.in(pre).inSet(SetKey.SOURCE_ADDRESS, "downstream").counter().drop())
                .rule(Rule.in(antispoof).inSet(SetKey.IIFNAME_SOURCE_ADDRESS, "allowed").accept())
                .rule(Rule.in(antispoof).inSet(SetKey.IIFNAME_SOURCE_ADDRESS, "allowed6").accept())
                .rule(Rule.in(antispoof).counter().drop())
                .rule(Rule.in(INPUT).ct(CtState.INVALID).drop())
                .rule(Rule.in(INPUT).ct(CtState.ESTABLISHED, CtState.RELATED).accept())
                .rule(Rule.in(INPUT).iifname("lo").accept())
                .rule(Rule.in(INPUT).iifgroup(2).dport(Protocol.UDP, 68).drop())
                .rule(Rule.in(INPUT).iifgroup(2).protocol(Protocol.ICMP).accept())
                .rule(Rule.in(INPUT).iifgroup(2).protocol(Protocol.ICMPV6).accept())
                .rule(Rule.in(INPUT).jump("custom-input"))
                .rule(Rule.in(INPUT).order(Rule.LAST).iifgroup(2).reject(RejectType.HOST_PROHIBITED))
                .rule(Rule.in(forward).ct(CtState.INVALID).drop())
                .rule(Rule.in(forward).ct(CtState.ESTABLISHED, CtState.RELATED).accept())
                .rule(Rule.in(forward).jump("custom-forward"))
                .rule(Rule.in(forward).oifgroup(2).drop())
                .rule(Rule.in(post).oifgroup(2).accept())
                .rule(Rule.in(post).oifname("lo").accept())
                .rule(Rule.in(post).not(Match.oifname("vif*")).masquerade())
                .build();
    }

    /** One guest's contribution: its anti-spoof elements. */
    static Contribution guest(Guest g) {
        return Contribution.builder("vif/" + g.vif())
                .element(ALLOWED, SetElement.of(g.vif(), g.address()))
                .element(DOWNSTREAM, SetElement.of(g.address()))
                .build();
    }

    static Plan base(Guest... guests) {
        List<Contribution> all = new ArrayList<>();
        all.add(basePolicy());
        for (Guest g : guests) {
            all.add(guest(g));
        }
        return Plan.merge(all);
    }

    /** {@code n} guests vif{i}.0 with addresses 10.137.x.y. */
    static Plan baseWithGuests(int n) {
        List<Contribution> all = new ArrayList<>();
        all.add(basePolicy());
        for (int i = 0; i < n; i++) {
            all.add(guest(guestNo(i)));
        }
        return Plan.merge(all);
    }

    static Guest guestNo(int i) {
        return new Guest("vif" + (i + 10) + ".0", "10.137." + (i / 250) + "." + (i % 250 + 2));
    }

    /** qubes-setup-dnat-to-ns: DNS1/DNS2 mapped onto the upstream list cycled; none: drop. */
    static Contribution dns(String... upstreams) {
        ChainRef chain = ChainRef.of(Family.IP, "dnat-dns");
        Contribution.Builder b = Contribution.builder("dns")
                .chain(Chain.nat(Family.IP, chain.name(), Hook.PREROUTING, Priority.DSTNAT));
        String[] vdns = {"10.139.1.1", "10.139.1.2"};
        for (int i = 0; i < vdns.length; i++) {
            for (Protocol p : List.of(Protocol.UDP, Protocol.TCP)) {
                Rule.Builder r = Rule.in(chain).daddr(vdns[i]).dport(p, 53);
                b.rule(upstreams.length == 0 ? r.drop() : r.dnat(upstreams[i % upstreams.length]));
            }
        }
        return b.build();
    }

    /**
     * Issue 10: an input chain (policy accept) rejecting, admin-prohibited, pings from 10.137.0.5, ICMPv6
     * echo requests and tcp 79-81; other ICMP types and port 82 pass.
     */
    static Plan firewall() {
        return Plan.merge(Contribution.builder("fw")
                .chain(Chain.filter(Family.INET, "input", Hook.INPUT, Priority.FILTER, Policy.ACCEPT))
                .rule(Rule.in(INPUT).icmpType(Protocol.ICMP, 0).accept())
                .rule(Rule.in(INPUT).saddr("10.137.0.5").protocol(Protocol.ICMP).icmpType(Protocol.ICMP, 8)
                        .counter().reject(RejectType.ADMIN_PROHIBITED))
                .rule(Rule.in(INPUT).icmpType(Protocol.ICMPV6, 128).reject(RejectType.ADMIN_PROHIBITED))
                .rule(Rule.in(INPUT).dport(Protocol.TCP, 79, 81).reject(RejectType.ADMIN_PROHIBITED))
                .rule(Rule.in(INPUT).daddr("10.137.0.0/24").match(Match.icmpType(Protocol.ICMP, 3).not()).accept())
                .build());
    }

    /**
     * Key sets (one guest's merged firewall runs, written out as rules by iptables): the input chain
     * rejects, admin-prohibited, what the sets hold for source 10.137.0.5. Variant 0: tcp 79-81 to 10.137.0.1,
     * udp 53 anywhere, icmp to 10.137.0.0/24, anything from fd99::5 to fd98::/16; variant 1: tcp 82 only.
     */
    static Plan keySets(int variant) {
        org.netvm.dataplane.IpAddress guest = org.netvm.dataplane.IpAddress.of("10.137.0.5");
        Contribution.Builder c = Contribution.builder("firewall/5")
                .chain(Chain.filter(Family.INET, "input", Hook.INPUT, Priority.FILTER, Policy.ACCEPT));
        NamedSet ports = NamedSet.of(Family.INET, "fwk-0-4p-x-5", SetType.IPV4_SRC_DST_PROTO_PORT);
        c.set(ports).rule(Rule.in(INPUT).inSet(SetKey.SOURCE_DESTINATION_PROTOCOL_PORT, ports.name()).counter()
                .reject(RejectType.ADMIN_PROHIBITED));
        if (variant == 0) {
            NamedSet any = NamedSet.of(Family.INET, "fwk-0-4-x-5", SetType.IPV4_SRC_DST_PROTO);
            NamedSet six = NamedSet.of(Family.INET, "fwk-0-6-x-5", SetType.IPV6_SRC_DST_PROTO);
            c.element(ports.ref(), SetElement.key(guest, org.netvm.dataplane.IpPrefix.parse("10.137.0.1"),
                    Protocol.TCP, 79, 81))
                    .element(ports.ref(), SetElement.key(guest, org.netvm.dataplane.IpPrefix.parse("0.0.0.0/0"),
                            Protocol.UDP, 53, 53))
                    .set(any).element(any.ref(), SetElement.key(guest,
                            org.netvm.dataplane.IpPrefix.parse("10.137.0.0/24"), Protocol.ICMP))
                    .rule(Rule.in(INPUT).inSet(SetKey.SOURCE_DESTINATION_PROTOCOL, any.name())
                            .reject(RejectType.ADMIN_PROHIBITED))
                    .set(six).element(six.ref(), SetElement.key(org.netvm.dataplane.IpAddress.of("fd99::5"),
                            org.netvm.dataplane.IpPrefix.parse("fd98::/16"), null))
                    .rule(Rule.in(INPUT).inSet(SetKey.SOURCE_DESTINATION_PROTOCOL, six.name())
                            .reject(RejectType.ADMIN_PROHIBITED));
        } else {
            c.element(ports.ref(), SetElement.key(guest, org.netvm.dataplane.IpPrefix.parse("10.137.0.1"),
                    Protocol.TCP, 82, 82));
        }
        return Plan.merge(c.build());
    }
}
