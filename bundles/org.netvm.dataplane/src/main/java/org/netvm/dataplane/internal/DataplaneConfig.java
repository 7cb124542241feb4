package org.netvm.dataplane.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Configuration of PID {@value DataplaneReconciler#PID}: the backend in charge, timings, the firewall scripts. */
@ObjectClassDefinition(name = "netvm dataplane",
        description = "Merges packet-filter contributions and keeps the chosen backend in sync")
public @interface DataplaneConfig {
    @AttributeDefinition(description = "Name of the backend in charge (its netvm.backend service property)")
    String backend() default "nftables";

    @AttributeDefinition(description = "Seconds between drift checks (1..5)", min = "1", max = "5")
    int resyncSeconds() default 5;

    @AttributeDefinition(description = "Milliseconds a change waits for more before one apply (0..1000); 0: a "
            + "pass starts at once and takes whatever was recorded by then (what comes meanwhile is the next pass's)",
            min = "0", max = "1000")
    int debounceMillis() default 0;

    @AttributeDefinition(description = "Owners whose contribution must be in the plan before anything is "
            + "written; while one is missing the kernel keeps its last state (fail closed)")
    String[] requiredOwners() default {"policy", "vif"};

    @AttributeDefinition(description = "Directory (emptied at boot) for the marker that tells a restarted "
            + "agent it switched IP forwarding on itself, in this boot and network namespace")
    String markerDir() default "/run/netvm";

    @AttributeDefinition(description = "Directory of the user's firewall scripts, run (executables, by name) "
            + "after each full apply of the ruleset; a missing directory means none")
    String scriptDir() default "/etc/netvm/firewall.d";

    @AttributeDefinition(description = "Seconds a firewall script may run before it is killed (1..600)",
            min = "1", max = "600")
    int scriptTimeoutSeconds() default 30;

    @AttributeDefinition(description = "NETVM_TABLE given to the scripts under the nftables backend "
            + "(its tablePrefix, family inet)")
    String scriptNftablesTable() default "inet netvm";

    @AttributeDefinition(description = "Prefix of the chain names given to the scripts under the iptables "
            + "backend (its chainPrefix)")
    String scriptIptablesChainPrefix() default "NETVM-";
}
