package org.netvm.dns.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;

import org.netvm.dns.NameserverSource;
import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** The built-in {@link NameserverSource} ({@link FileNameservers}), ranked below every other source. */
@Component(service = NameserverSource.class, configurationPid = SystemNameservers.PID,
        property = {Constants.SERVICE_RANKING + ":Integer=" + NameserverSource.BUILTIN_RANKING,
            NameserverSource.NAME + "=system"})
@Designate(ocd = SystemNameservers.Config.class)
public final class SystemNameservers implements NameserverSource {
    static final String PID = "org.netvm.dns.system";

    @ObjectClassDefinition(id = PID, name = "netvm built-in nameserver source",
            description = "Upstream nameservers from systemd-resolved's file while it exists, else resolv.conf")
    public @interface Config {
        @AttributeDefinition(description = "The resolv.conf file")
        String resolvConf() default "/etc/resolv.conf";

        @AttributeDefinition(description = "systemd-resolved's list of upstream servers; empty to ignore resolved")
        String resolvedConf() default "/run/systemd/resolve/resolv.conf";

        @AttributeDefinition(description = "Re-read at least this often, in milliseconds, whatever the events "
                + "and file attributes say; a read of a small file, no process")
        long pollMillis() default 100;

        @AttributeDefinition(description = "Compare the file's identity, size and modification time this often, "
                + "in milliseconds (one stat): changes that raise no inotify event (a file bind-mounted over "
                + "resolv.conf and edited in place, as in containers and ip netns exec) are seen within this time")
        long statMillis() default 5;

        @AttributeDefinition(description = "After a change event, wait this long for more before reading, in milliseconds")
        long debounceMillis() default 2;
    }

    private final FileNameservers files;

    @Activate
    public SystemNameservers(@Reference(service = LoggerFactory.class) Logger log, Config config) throws IOException {
        files = new FileNameservers(Path.of(config.resolvConf()),
                config.resolvedConf().isEmpty() ? null : Path.of(config.resolvedConf()), config.pollMillis(),
                config.debounceMillis(), config.statMillis(), log);
    }

    @Deactivate
    void deactivate() {
        files.close();
    }

    @Override
    public List<InetAddress> nameservers() {
        return files.nameservers();
    }

    @Override
    public Subscription subscribe(Listener listener) {
        return files.subscribe(listener);
    }
}
