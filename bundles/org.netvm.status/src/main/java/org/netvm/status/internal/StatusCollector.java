package org.netvm.status.internal;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import org.netvm.dataplane.Dataplane;
import org.netvm.firewall.FirewallStatus;
import org.netvm.vif.VifRegistry;
import org.netvm.xenstore.XenStore;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/**
 * Takes {@link StatusReport} snapshots from whichever of the xenstore connection, the dataplane, the
 * vif registry and the firewall are registered: each is optional and dynamic, so status keeps answering (and says
 * what is missing) while a source is down or restarting.
 */
@Component(service = StatusCollector.class)
public final class StatusCollector {

    @Reference(service = XenStore.class, cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile Map.Entry<Map<String, Object>, XenStore> xenstore;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile Dataplane dataplane;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile VifRegistry vifs;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile FirewallStatus firewall;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile DnsUpstreams dns;

    /** The reconcilers' progress (org.netvm.util's Reconciler publishes it; see {@link Liveness}). */
    @Reference(service = Supplier.class, target = "(netvm.reconciler=*)", cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile List<Supplier<?>> reconcilers;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ServiceComponentRuntime scr;

    private final Clock clock = Clock.systemUTC();

    /** Each reconciler's progress now; one that does not answer with a map is left out. */
    List<Map<String, ?>> progress() {
        List<Supplier<?>> all = reconcilers;
        if (all == null) {
            return List.of();
        }
        List<Map<String, ?>> out = new java.util.ArrayList<>();
        for (Supplier<?> s : all) {
            try {
                if (s.get() instanceof Map<?, ?> m) {
                    Map<String, Object> copy = new java.util.HashMap<>();
                    m.forEach((k, v) -> copy.put(String.valueOf(k), v));
                    out.add(copy);
                }
            } catch (RuntimeException e) {
                // a reconciler going away while asked: nothing to report for it
            }
        }
        return out;
    }

    StatusReport report() {
        Map.Entry<Map<String, Object>, XenStore> xs = xenstore;
        StatusReport r = StatusReport.collect(clock.instant(), xs == null ? null : xs.getValue(),
                xs == null ? null : xs.getKey(), dataplane, vifs, firewall, dns == null ? null : dns.last(), progress());
        return r.withConfigProblems(failedComponents(scr));
    }

    /**
     * Components that refused their configuration: DS says FAILED_ACTIVATION (the component threw
     * while activating, e.g. a backend given a table prefix it rejects). One line each, the
     * component's name and the first line of its failure.
     */
    static List<String> failedComponents(ServiceComponentRuntime scr) {
        List<String> out = new ArrayList<>();
        if (scr == null) {
            return out;
        }
        for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs()) {
            for (ComponentConfigurationDTO c : scr.getComponentConfigurationDTOs(d)) {
                if (c.state == ComponentConfigurationDTO.FAILED_ACTIVATION) {
                    out.add(d.name + " (PID " + String.join(", ", d.configurationPid) + "): " + rootCause(c.failure));
                }
            }
        }
        return out;
    }

    /**
     * The root cause's message from DS's failure text (a stack trace, whose first line is usually a
     * reflective wrapper): the last {@code Caused by: Type: message} line, without its type.
     */
    static String rootCause(String failure) {
        if (failure == null || failure.isBlank()) {
            return "failed to activate";
        }
        String line = failure.lines().findFirst().orElse("").strip();
        for (String l : failure.lines().toList()) {
            if (l.startsWith("Caused by: ")) {
                line = l.substring("Caused by: ".length()).strip();
            }
        }
        return line.replaceFirst("^[A-Za-z0-9_.$]+(Exception|Error): ", "");
    }
}
