package org.netvm.xenstore.server.internal;

import java.io.IOException;
import java.nio.file.Path;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Runs the embedded xenstored when (and only when) it is configured: the launcher configures pid
 * {@value #PID} in embedded mode, i.e. on a machine without Xen.
 */
@Component(name = XenstoredComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, immediate = true,
        service = {})
@Designate(ocd = XenstoredComponent.Config.class)
public final class XenstoredComponent {

    static final String PID = "org.netvm.xenstore.server";

    @ObjectClassDefinition(name = "netvm embedded xenstored",
            description = "An in-memory xenstored on Unix sockets, for running netvm without Xen")
    public @interface Config {
        @AttributeDefinition(description = "The privileged (dom0) socket")
        String socketPath() default "/run/xenstored/socket";

        @AttributeDefinition(description = "Directory for domain-<id>.sock of introduced domains; empty: none")
        String domainSocketDir() default "";

        @AttributeDefinition(description = "Octal mode of the sockets, e.g. 0666; C xenstored makes them 0600")
        String socketMode() default "0600";

        @AttributeDefinition(description = "Nodes a guest domain may own (ENOSPC)")
        int quotaMaxEntries() default 1000;

        @AttributeDefinition(description = "Size of one node record: value, permissions, child names (ENOSPC)")
        int quotaMaxEntrySize() default 2048;

        @AttributeDefinition(description = "Watches of a guest domain (E2BIG)")
        int quotaMaxWatches() default 128;

        @AttributeDefinition(description = "Open transactions of a guest domain, over all its connections (ENOSPC)")
        int quotaMaxTransactions() default 10;

        @AttributeDefinition(description = "Entries in one permission list of a guest (ENOSPC)")
        int quotaMaxPermsPerNode() default 5;

        @AttributeDefinition(description = "Nodes one guest transaction may touch (ENOSPC)")
        int quotaMaxTransactionNodes() default 1024;

        @AttributeDefinition(description = "Path length after /local/domain/<id>/ (EINVAL)")
        int quotaMaxPathLength() default 2048;

        @AttributeDefinition(description = "Connections of a guest domain to its socket; more are closed at once")
        int quotaMaxConnections() default 16;

        @AttributeDefinition(description = "Replies of a guest domain queued but not written (C's outstanding); "
                + "at the limit its requests are not read")
        int quotaMaxOutstanding() default 20;

        @AttributeDefinition(description = "Bytes of a guest domain's queued replies and events and open transactions "
                + "(C's memory quota): at the limit its requests are not read, transactions get ENOMEM, an event "
                + "that does not fit closes its connection")
        long quotaMemory() default 2_621_440;

        @AttributeDefinition(description = "Bytes above which a guest domain's memory is logged (C's quota-soft memory)")
        long quotaMemorySoft() default 2_097_152;
    }

    private final EmbeddedXenstored xenstored;

    @Activate
    public XenstoredComponent(Config config) throws IOException {
        this.xenstored = EmbeddedXenstored.start(Path.of(config.socketPath()), options(config));
        System.getLogger(XenstoredComponent.class.getName()).log(System.Logger.Level.INFO,
                "embedded xenstored serving; try: XENSTORED_PATH={0} xenstore-ls /", config.socketPath());
    }

    static Options options(Config c) {
        Quotas q = new Quotas(c.quotaMaxEntries(), c.quotaMaxEntrySize(), c.quotaMaxWatches(),
                c.quotaMaxTransactions(), c.quotaMaxPermsPerNode(), c.quotaMaxTransactionNodes(),
                c.quotaMaxPathLength(), c.quotaMaxConnections(), c.quotaMaxOutstanding(), c.quotaMemory(),
                c.quotaMemorySoft());
        String dir = c.domainSocketDir();
        return new Options(dir == null || dir.isBlank() ? null : Path.of(dir), c.socketMode(), q);
    }

    @Deactivate
    void deactivate() {
        xenstored.close();
    }
}
