package org.netvm.runtime.internal;

import java.io.IOException;
import java.io.PrintStream;
import java.util.Collections;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.netvm.control.ControlCommand;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * {@code netvm config show}: the agent's effective configuration and where each value came from
 * ({@link ConfigShow}). {@code netvm config check} needs no agent: the CLI does it.
 */
@Component(service = ControlCommand.class, property = ControlCommand.NAME + "=config")
public final class ConfigCommand implements ControlCommand {

    private final BundleContext context;
    private final ConfigurationAdmin cm;

    @Activate
    public ConfigCommand(BundleContext context, @Reference ConfigurationAdmin cm) {
        this.context = context;
        this.cm = cm;
    }

    @Override
    public String summary() {
        return "config show: effective configuration and where each value came from; config check [FILE] (no agent needed)";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) {
        if (!args.equals(List.of("show"))) {
            err.println("usage: netvm config show    (netvm config check [FILE] runs without the agent)");
            return 2;
        }
        try {
            out.print(ConfigShow.render(Boot.metatype(context), configurations(), StartValues.file(), StartValues.launcher()));
            return 0;
        } catch (IOException | InvalidSyntaxException e) {
            err.println("netvm config show: cannot read the configurations: " + e.getMessage());
            return 1;
        }
    }

    private Map<String, Map<String, Object>> configurations() throws IOException, InvalidSyntaxException {
        Map<String, Map<String, Object>> out = new HashMap<>();
        Configuration[] all = cm.listConfigurations(null);
        for (Configuration c : all == null ? new Configuration[0] : all) {
            Dictionary<String, Object> props = c.getProperties();
            if (props == null || c.getFactoryPid() != null) {
                continue;
            }
            Map<String, Object> m = new HashMap<>();
            for (String k : Collections.list(props.keys())) {
                m.put(k, props.get(k));
            }
            out.put(c.getPid(), m);
        }
        return out;
    }
}
