package org.netvm.vif.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;

import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.IpAddress;
import org.netvm.policy.BasePolicy;

/**
 * The seam to the dataplane for the anti-spoof set elements of each vif (one contribution per vif,
 * owner {@code vif/vifD.N}). The component adapts the Dataplane service to it; tests use a fake.
 */
interface AntiSpoof {

    /** Replaces the owner's contribution; completes when the backend applied it. */
    CompletionStage<Void> put(Contribution contribution);

    /** Withdraws the owner's contribution; completes when the backend applied it. */
    CompletionStage<Void> remove(String owner);

    /** The interface group of downstream vifs ({@code iifgroup 2} in the policy). */
    int VIF_GROUP = BasePolicy.VIF_GROUP;

    /** The owner id of a vif's contribution. */
    static String owner(String vif) {
        return "vif/" + vif;
    }

    /**
     * The contribution of one vif: {@code vifD.N . addr} in allowed(6) and {@code addr} in
     * downstream(6). A family without an address gets no element, so the policy drops it.
     */
    static Contribution contribution(VifSpec spec) {
        List<IpAddress> addresses = new ArrayList<>();
        addresses.add(IpAddress.of(VifSpec.text(spec.ipv4())));
        if (spec.ipv6() != null) {
            addresses.add(IpAddress.of(VifSpec.text(spec.ipv6())));
        }
        Contribution.Builder b = Contribution.builder(owner(spec.name()));
        BasePolicy.guestElements(spec.name(), addresses).forEach(b::elements);
        return b.build();
    }
}
