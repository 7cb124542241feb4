package org.netvm.dataplane.internal;

import org.osgi.service.log.Logger;

/** The few log calls the dataplane makes; messages are plain text (never format strings). */
interface Log {
    void info(String message);

    void warn(String message);

    void error(String message);

    /** Logs through an OSGi {@link Logger}, passing the message as an argument so braces survive. */
    static Log of(Logger logger) {
        return new Log() {
            @Override
            public void info(String message) {
                logger.info("{}", message);
            }

            @Override
            public void warn(String message) {
                logger.warn("{}", message);
            }

            @Override
            public void error(String message) {
                logger.error("{}", message);
            }
        };
    }
}
