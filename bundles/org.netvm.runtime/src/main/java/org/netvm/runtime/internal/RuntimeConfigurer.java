package org.netvm.runtime.internal;

import java.io.IOException;
import java.util.Dictionary;
import java.util.Map;

import org.osgi.framework.BundleContext;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;

/**
 * Applies {@link LaunchOptions} to Config Admin once at start. A bad option is logged as an error
 * and nothing is configured: the runtime then serves no xenstore and programs nothing (fail closed).
 *
 * <p>The netvm runtime also holds the guest bundle, for the proxy role: its component requires the
 * configuration that {@link LaunchOptions} gives only in the guest and proxy roles.
 */
@Component(immediate = true)
public final class RuntimeConfigurer {

    @Activate
    public RuntimeConfigurer(BundleContext context, @Reference ConfigurationAdmin cm,
            @Reference(service = LoggerFactory.class) Logger log) throws IOException {
        LaunchOptions options;
        try {
            options = LaunchOptions.fromSystem(context::getProperty);
        } catch (IllegalArgumentException e) {
            log.error("bad launch option: {}; nothing configured", e.getMessage());
            return;
        }
        log.info("role {}, xenstore {}:{}{}, domid {}, control {}{}", options.role(), options.transport(),
                options.xenstorePath(), options.embedded() ? " (embedded daemon)" : "", options.domid(),
                options.controlSocket(), options.netns().isEmpty() ? "" : ", programming netns " + options.netns());
        Map<String, Map<String, Object>> launcher = new java.util.HashMap<>();
        options.configurations().forEach((pid, d) -> {
            Map<String, Object> m = new java.util.HashMap<>();
            java.util.Collections.list(d.keys()).forEach(k -> m.put(k, d.get(k)));
            launcher.put(pid, m);
        });
        StartValues.launcher(launcher);
        for (Map.Entry<String, Dictionary<String, Object>> e : options.configurations().entrySet()) {
            Configuration c = cm.getConfiguration(e.getKey(), "?");
            Dictionary<String, Object> props = c.getProperties() == null ? new java.util.Hashtable<>() : c.getProperties();
            for (String key : java.util.Collections.list(e.getValue().keys())) {
                props.put(key, e.getValue().get(key));
            }
            c.updateIfDifferent(props);
        }
    }
}
