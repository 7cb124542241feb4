package org.netvm.cli.config;

import java.util.List;

/**
 * The configuration reference ({@code docs/configuration.md}), generated from the metatype of the
 * shipped bundles: every PID and attribute with its type, default, range or options, and description.
 */
public final class ConfigReference {

    static final String HEAD = """
            # Configuration reference

            <!-- Generated from the metatype of the shipped bundles by
                 `java -cp distribution/target/netvm-cli.jar org.netvm.cli.config.ConfigTool reference --write docs/configuration.md
                  distribution/target/netvm.jar distribution/target/netvm-guest.jar`;
                 the distribution build fails when this file is out of date. Do not edit by hand. -->

            Every PID and attribute netvm reads, as in `/etc/netvm/netvm.json` (the netvm and proxy roles) and
            `/etc/netvm/guest.json` (the guest role). The file is OSGi Configurator JSON: one member per PID,
            each an object of attributes; a number may carry its type in the key (`"resyncSeconds:Integer": 5`).
            `netvm config check [FILE]` checks a file against this schema without an agent; `netvm config show`
            prints the running agent's effective values and where each came from.

            Some PIDs are also written by the launcher from `netvm run` options (xenstore, control socket,
            netns, domid); values given there win over the file.
            """;

    private ConfigReference() {
    }

    public static String markdown(Metatype metatype) {
        StringBuilder b = new StringBuilder(HEAD);
        for (Metatype.Pid p : metatype.pids().values()) {
            b.append("\n## `").append(p.pid()).append("`\n\n");
            b.append(p.name());
            if (!p.description().isEmpty()) {
                b.append(": ").append(cell(p.description()));
            }
            b.append(" (bundle `").append(bundleName(p.bundle())).append("`)\n\n");
            b.append("| attribute | type | default | allowed | description |\n|---|---|---|---|---|\n");
            for (Metatype.Attribute a : p.attributes()) {
                b.append("| `").append(a.id()).append("` | ").append(a.type()).append(a.cardinality() == 0 ? "" : " list")
                        .append(" | ").append(defaults(a)).append(" | ").append(allowed(a)).append(" | ")
                        .append(cell(a.description())).append(" |\n");
            }
        }
        return b.toString();
    }

    private static String defaults(Metatype.Attribute a) {
        List<String> d = a.defaults();
        if (d.isEmpty()) {
            return "";
        }
        if (d.size() == 1 && d.get(0).isEmpty()) {
            return "(empty)";
        }
        return "`" + cell(String.join(", ", d)) + "`";
    }

    private static String allowed(Metatype.Attribute a) {
        if (!a.options().isEmpty()) {
            return "`" + String.join("`, `", a.options()) + "`";
        }
        if (!a.min().isEmpty() && !a.max().isEmpty()) {
            return a.min() + "..." + a.max();
        }
        if (!a.min().isEmpty()) {
            return "at least " + a.min();
        }
        if (!a.max().isEmpty()) {
            return "at most " + a.max();
        }
        return "";
    }

    /** The bundle's symbolic name from its jar name ({@code org.netvm.dns-0.2.0-SNAPSHOT.jar}): no version in the docs. */
    private static String bundleName(String jar) {
        return jar.replaceFirst("-[0-9][^/]*\\.jar$", "").replaceFirst("\\.jar$", "");
    }

    private static String cell(String s) {
        return s.replace("|", "\\|").replace("<", "&lt;").replace("\n", " ");
    }
}
