package org.netvm.policy.internal;

import static org.netvm.dataplane.Match.CtState.ESTABLISHED;
import static org.netvm.dataplane.Match.CtState.INVALID;
import static org.netvm.dataplane.Match.CtState.RELATED;
import static org.netvm.policy.BasePolicy.ALLOWED;
import static org.netvm.policy.BasePolicy.ALLOWED6;
import static org.netvm.policy.BasePolicy.CUSTOM_FORWARD;
import static org.netvm.policy.BasePolicy.CUSTOM_INPUT;
import static org.netvm.policy.BasePolicy.DOWNSTREAM;
import static org.netvm.policy.BasePolicy.DOWNSTREAM6;
import static org.netvm.policy.BasePolicy.FAMILY;
import static org.netvm.policy.BasePolicy.FORWARD;
import static org.netvm.policy.BasePolicy.INPUT;
import static org.netvm.policy.BasePolicy.VIF_GROUP;

import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.Hook;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.Match.Protocol;
import org.netvm.dataplane.Match.SetKey;
import org.netvm.dataplane.NamedSet;
import org.netvm.dataplane.Policy;
import org.netvm.dataplane.Priority;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.SetType;
import org.netvm.dataplane.Verdict.RejectType;
import org.netvm.policy.BasePolicy;

/**
 * The base policy (qubes-behaviour.md section 5, the R4.2 nftables design) as one contribution.
 * Rendered by the nftables backend it reads (family inet unless noted):
 *
 * <pre>
 * chain prerouting  { type filter hook prerouting priority raw; policy accept;
 *     [iifname != "lo" ip6 saddr ::/0 counter drop]                 (only without IPv6: ipv6=false)
 *     iifgroup 2 goto antispoof
 *     ip saddr @downstream counter drop
 *     ip6 saddr @downstream6 counter drop }
 * chain antispoof   {
 *     iifname . ip saddr @allowed accept
 *     iifname . ip6 saddr @allowed6 accept
 *     counter drop }
 * chain input       { type filter hook input priority filter; policy drop;
 *     jump custom-input
 *     ct state invalid counter drop
 *     iifgroup 2 udp dport 68 counter drop
 *     ct state established,related accept
 *     iifgroup 2 meta l4proto icmp accept
 *     iifgroup 2 meta l4proto ipv6-icmp accept
 *     iifname "lo" accept
 *     iifgroup != 2 meta l4proto ipv6-icmp accept                  (uplink NDP, RA, PMTU)
 *     iifgroup != 2 ip6 saddr fe80::/10 udp dport 546 accept         (uplink DHCPv6 client)
 *     [iifgroup != 2 meta l4proto icmp accept]                       (only with uplinkIcmp=true)
 *     ... rules of other features (order between FIRST and LAST) ...
 *     iifgroup 2 counter reject with icmpx admin-prohibited }
 * chain forward     { type filter hook forward priority filter; policy drop;
 *     jump custom-forward
 *     ct state invalid counter drop
 *     iifgroup != 2 oifgroup != 2 counter drop
 *     ct state established,related accept
 *     ... rules of other features ...
 *     oifgroup 2 counter drop
 *     iifgroup 2 oifgroup != 2 accept }
 * chain custom-input {}  chain custom-forward {}
 * ip  chain postrouting { type nat hook postrouting priority srcnat; policy accept;
 *     oifgroup 2 accept
 *     oifname "lo" accept
 *     masquerade }
 * ip6 chain postrouting { the same, unless masquerade6=false }
 * </pre>
 *
 * Deliberate differences from Qubes: forward has policy drop with an explicit vif-to-uplink accept
 * (Qubes: policy accept, so uplink-to-uplink routing passed), and what neither enters nor leaves through
 * a vif is dropped before established flows are accepted: while a guest's host route is absent (a vif
 * torn down, an agent or xenstored restart before the toolstack wrote the store again) conntrack still
 * translates the answers to the guest's flows back to its address, and routing would send them out of
 * the uplink again, with DNS1/DNS2 or the upstream as source (the chaos soak saw them, issue 15); ICMPv6 and DHCPv6 replies are accepted
 * from the uplink (needed for IPv6 there); ICMPv4 from the uplink is accepted only when configured.
 */
public final class PolicyRules {

    static final ChainRef PREROUTING = ChainRef.of(FAMILY, "prerouting");
    static final ChainRef ANTISPOOF = ChainRef.of(FAMILY, "antispoof");
    static final ChainRef POSTROUTING = ChainRef.of(Family.IP, "postrouting");
    static final ChainRef POSTROUTING6 = ChainRef.of(Family.IP6, "postrouting");

    /**
     * What may be configured about the policy.
     *
     * @param uplinkIcmp  accept new ICMPv4 (e.g. ping) from non-vif interfaces
     * @param masquerade6 masquerade IPv6 leaving through a non-vif interface as well
     * @param ipv6        the netvm routes IPv6 (Qubes: it has {@code qubes-netvm-gateway6}); false: every IPv6
     *                    packet not from {@code lo} is dropped first thing in prerouting (Qubes' IPv6-disabled
     *                    ruleset), so IPv6 is neither forwarded nor accepted
     */
    public record Options(boolean uplinkIcmp, boolean masquerade6, boolean ipv6) {
        public static final Options DEFAULT = new Options(false, true);

        /** With IPv6 (the netvm has {@code qubes-netvm-gateway6}). */
        public Options(boolean uplinkIcmp, boolean masquerade6) {
            this(uplinkIcmp, masquerade6, true);
        }
    }

    private PolicyRules() {
    }

    /** The base policy's contribution (owner {@value BasePolicy#OWNER}). */
    public static Contribution contribution(Options options) {
        Contribution.Builder b = Contribution.builder(BasePolicy.OWNER).priority(BasePolicy.PRIORITY)
                .set(NamedSet.of(FAMILY, ALLOWED.name(), SetType.IFNAME_IPV4_ADDR))
                .set(NamedSet.of(FAMILY, ALLOWED6.name(), SetType.IFNAME_IPV6_ADDR))
                .set(NamedSet.of(FAMILY, DOWNSTREAM.name(), SetType.IPV4_ADDR))
                .set(NamedSet.of(FAMILY, DOWNSTREAM6.name(), SetType.IPV6_ADDR))
                .chain(Chain.filter(FAMILY, PREROUTING.name(), Hook.PREROUTING, Priority.RAW, Policy.ACCEPT))
                .chain(Chain.regular(FAMILY, ANTISPOOF.name()))
                .chain(Chain.filter(FAMILY, INPUT.name(), Hook.INPUT, Priority.FILTER, Policy.DROP))
                .chain(Chain.filter(FAMILY, FORWARD.name(), Hook.FORWARD, Priority.FILTER, Policy.DROP))
                .chain(Chain.userOwned(FAMILY, CUSTOM_INPUT.name()))
                .chain(Chain.userOwned(FAMILY, CUSTOM_FORWARD.name()))
                .chain(Chain.nat(Family.IP, POSTROUTING.name(), Hook.POSTROUTING, Priority.SRCNAT));
        if (options.masquerade6()) {
            b.chain(Chain.nat(Family.IP6, POSTROUTING6.name(), Hook.POSTROUTING, Priority.SRCNAT));
        }

        if (!options.ipv6()) { // Qubes without gateway6: no IPv6 but loopback (ip6 saddr ::/0 = any IPv6)
            b.rule(first(PREROUTING).not(Match.iifname("lo")).saddr("::/0").counter().drop());
        }
        // anti-spoofing, before conntrack (raw priority)
        b.rule(first(PREROUTING).iifgroup(VIF_GROUP).goTo(ANTISPOOF.name()))
                .rule(first(PREROUTING).inSet(SetKey.SOURCE_ADDRESS, DOWNSTREAM.name()).counter().drop())
                .rule(first(PREROUTING).inSet(SetKey.SOURCE_ADDRESS, DOWNSTREAM6.name()).counter().drop())
                .rule(Rule.in(ANTISPOOF).inSet(SetKey.IIFNAME_SOURCE_ADDRESS, ALLOWED.name()).accept())
                .rule(Rule.in(ANTISPOOF).inSet(SetKey.IIFNAME_SOURCE_ADDRESS, ALLOWED6.name()).accept())
                .rule(last(ANTISPOOF).counter().drop());

        // input: no open ports
        b.rule(first(INPUT).jump(CUSTOM_INPUT.name()))
                .rule(first(INPUT).ct(INVALID).counter().drop())
                .rule(first(INPUT).iifgroup(VIF_GROUP).dport(Protocol.UDP, 68).counter().drop())
                .rule(first(INPUT).ct(ESTABLISHED, RELATED).accept())
                .rule(first(INPUT).iifgroup(VIF_GROUP).protocol(Protocol.ICMP).accept())
                .rule(first(INPUT).iifgroup(VIF_GROUP).protocol(Protocol.ICMPV6).accept())
                .rule(first(INPUT).iifname("lo").accept())
                .rule(first(INPUT).not(Match.iifgroup(VIF_GROUP)).protocol(Protocol.ICMPV6).accept())
                .rule(first(INPUT).not(Match.iifgroup(VIF_GROUP)).saddr("fe80::/10").dport(Protocol.UDP, 546)
                        .accept());
        if (options.uplinkIcmp()) {
            b.rule(first(INPUT).not(Match.iifgroup(VIF_GROUP)).protocol(Protocol.ICMP).accept());
        }
        b.rule(last(INPUT).iifgroup(VIF_GROUP).counter().reject(RejectType.HOST_PROHIBITED));

        // forward: guests out, nothing new in, no guest-to-guest
        b.rule(first(FORWARD).jump(CUSTOM_FORWARD.name()))
                .rule(first(FORWARD).ct(INVALID).counter().drop())
                .rule(first(FORWARD).not(Match.iifgroup(VIF_GROUP)).not(Match.oifgroup(VIF_GROUP)).counter().drop())
                .rule(first(FORWARD).ct(ESTABLISHED, RELATED).accept())
                .rule(last(FORWARD).oifgroup(VIF_GROUP).counter().drop())
                .rule(last(FORWARD).iifgroup(VIF_GROUP).not(Match.oifgroup(VIF_GROUP)).accept());

        // masquerade whatever leaves through a non-vif interface
        masquerade(b, POSTROUTING);
        if (options.masquerade6()) {
            masquerade(b, POSTROUTING6);
        }
        return b.build();
    }

    private static void masquerade(Contribution.Builder b, ChainRef chain) {
        b.rule(first(chain).oifgroup(VIF_GROUP).accept())
                .rule(first(chain).oifname("lo").accept())
                .rule(last(chain).masquerade());
    }

    private static Rule.Builder first(ChainRef chain) {
        return Rule.in(chain).order(Rule.FIRST);
    }

    private static Rule.Builder last(ChainRef chain) {
        return Rule.in(chain).order(Rule.LAST);
    }
}
