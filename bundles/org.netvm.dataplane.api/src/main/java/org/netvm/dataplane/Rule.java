package org.netvm.dataplane;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;

/**
 * One rule: placed into a chain (by reference), with matches that must all hold, an optional counter
 * and a verdict.
 *
 * <p>Placement: within a chain, merged rules are ordered by {@link #order()} first (lower first; use
 * {@link #FIRST}, {@link #DEFAULT}, {@link #LAST} or any value between), then by the contribution's
 * priority, its owner id, and the rule's position in its contribution. So a contributor that owns a
 * chain can put a final catch-all rule at {@link #LAST} and others can add rules before it.
 *
 * @param chain   the chain the rule goes into (declared by any contribution of the same plan)
 * @param order   ordering key within the chain
 * @param matches conditions, in rendering order
 * @param counter whether the rule counts packets and bytes
 * @param verdict what to do with matching packets
 */
public record Rule(ChainRef chain, int order, List<Match> matches, boolean counter, Verdict verdict) {

    public static final int FIRST = -1000;
    public static final int DEFAULT = 0;
    public static final int LAST = 1000;

    public Rule {
        Objects.requireNonNull(chain, "chain");
        Objects.requireNonNull(verdict, "verdict");
        if (order < FIRST || order > LAST) {
            throw new IllegalArgumentException("rule order out of range " + FIRST + ".." + LAST + ": " + order);
        }
        matches = List.copyOf(Objects.requireNonNull(matches, "matches"));
        if (verdict instanceof Verdict.Reject r && r.type() == Verdict.RejectType.TCP_RESET
                && matches.stream().noneMatch(Rule::isPositiveTcp)) {
            throw new IllegalArgumentException("reject with tcp reset needs a tcp match in the rule");
        }
        for (Match m : matches) {
            if (m instanceof Match.IcmpType t && !chain.family().carries(t.ipVersion())) {
                throw new IllegalArgumentException(t.protocol().keyword() + " type in a rule of family "
                        + chain.family().keyword());
            }
            if (m instanceof Match.IcmpType t && matches.stream().anyMatch(x -> x instanceof Match.Address a
                    && a.prefix().version() != t.ipVersion())) {
                throw new IllegalArgumentException("rule in " + chain + " mixes IPv4 and IPv6 ("
                        + t.protocol().keyword() + " type and an address of the other version)");
            }
        }
        if (verdict instanceof Verdict.Dnat d && d.port() != 0
                && matches.stream().noneMatch(Rule::isPositiveTcpOrUdp)) {
            throw new IllegalArgumentException("dnat to a port needs a tcp or udp match in the rule");
        }
    }

    private static boolean isPositiveTcp(Match m) {
        return m instanceof Match.L4 l && !l.negated() && l.protocol() == Match.Protocol.TCP
                || m instanceof Match.Port p && p.protocol() == Match.Protocol.TCP;
    }

    private static boolean isPositiveTcpOrUdp(Match m) {
        return m instanceof Match.L4 l && !l.negated()
                && (l.protocol() == Match.Protocol.TCP || l.protocol() == Match.Protocol.UDP)
                || m instanceof Match.Port;
    }

    /** Starts a rule in {@code chain}. */
    public static Builder in(ChainRef chain) {
        return new Builder(chain);
    }

    /** Starts a rule in chain {@code name} of {@code family}. */
    public static Builder in(Family family, String name) {
        return new Builder(new ChainRef(family, name));
    }

    /** Collects matches; a verdict method finishes the rule. Not thread safe; use once. */
    public static final class Builder {
        private final ChainRef chain;
        private final List<Match> matches = new ArrayList<>();
        private int order = DEFAULT;
        private boolean counter;

        private Builder(ChainRef chain) {
            this.chain = Objects.requireNonNull(chain, "chain");
        }

        public Builder order(int order) {
            this.order = order;
            return this;
        }

        public Builder counter() {
            this.counter = true;
            return this;
        }

        public Builder match(Match match) {
            matches.add(Objects.requireNonNull(match, "match"));
            return this;
        }

        /** Adds the negation of {@code match}. */
        public Builder not(Match match) {
            return match(match.not());
        }

        public Builder iifname(String name) {
            return match(Match.iifname(name));
        }

        public Builder oifname(String name) {
            return match(Match.oifname(name));
        }

        public Builder iifgroup(int group) {
            return match(Match.iifgroup(group));
        }

        public Builder oifgroup(int group) {
            return match(Match.oifgroup(group));
        }

        public Builder saddr(String prefix) {
            return match(Match.saddr(prefix));
        }

        public Builder daddr(String prefix) {
            return match(Match.daddr(prefix));
        }

        public Builder protocol(Match.Protocol protocol) {
            return match(Match.protocol(protocol));
        }

        public Builder dport(Match.Protocol protocol, int port) {
            return match(Match.dport(protocol, port));
        }

        /** Destination port range {@code first-last} of TCP or UDP. @since 1.2 */
        public Builder dport(Match.Protocol protocol, int first, int last) {
            return match(Match.dport(protocol, first, last));
        }

        /** ICMP or ICMPv6 type. @since 1.2 */
        public Builder icmpType(Match.Protocol protocol, int type) {
            return match(Match.icmpType(protocol, type));
        }

        public Builder sport(Match.Protocol protocol, int port) {
            return match(Match.sport(protocol, port));
        }

        public Builder ct(Match.CtState first, Match.CtState... more) {
            return match(new Match.Conntrack(EnumSet.of(first, more), false));
        }

        public Builder inSet(Match.SetKey key, String set) {
            return match(Match.inSet(key, set));
        }

        public Rule verdict(Verdict verdict) {
            return new Rule(chain, order, matches, counter, verdict);
        }

        public Rule accept() {
            return verdict(Verdict.ACCEPT);
        }

        public Rule drop() {
            return verdict(Verdict.DROP);
        }

        public Rule reject(Verdict.RejectType type) {
            return verdict(Verdict.reject(type));
        }

        public Rule jump(String target) {
            return verdict(Verdict.jump(target));
        }

        public Rule goTo(String target) {
            return verdict(Verdict.goTo(target));
        }

        public Rule returns() {
            return verdict(Verdict.RETURN);
        }

        public Rule dnat(String address) {
            return verdict(Verdict.dnat(address));
        }

        public Rule dnat(String address, int port) {
            return verdict(Verdict.dnat(address, port));
        }

        public Rule masquerade() {
            return verdict(Verdict.MASQUERADE);
        }
    }
}
