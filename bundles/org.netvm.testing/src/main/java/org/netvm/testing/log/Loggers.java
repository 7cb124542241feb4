package org.netvm.testing.log;

import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Locale;

import org.osgi.service.log.Logger;

/**
 * OSGi {@link Logger}s for unit tests that build components with {@code new}. The test needs
 * {@code org.osgi.service.log} on its class path (a component that takes a Logger has it already).
 */
public final class Loggers {
    private Loggers() {
    }

    /**
     * A logger that adds one line per call to {@code lines}: {@code "LEVEL message"} with the level in
     * capitals ({@code ERROR}, {@code WARN}, {@code INFO}, {@code DEBUG}, {@code TRACE}, {@code AUDIT})
     * and the message format as given ({@code {}} left as they are, arguments dropped). Every level is
     * enabled. Use a thread-safe list when the code logs from its own threads.
     */
    public static Logger recording(List<String> lines) {
        return logger(lines);
    }

    /** A logger that drops everything (every level enabled, so guarded code still runs). */
    public static Logger quiet() {
        return logger(null);
    }

    private static Logger logger(List<String> lines) {
        return (Logger) Proxy.newProxyInstance(Loggers.class.getClassLoader(), new Class<?>[] {Logger.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getName" -> "test";
                    case "isTraceEnabled", "isDebugEnabled", "isInfoEnabled", "isWarnEnabled", "isErrorEnabled" -> true;
                    case "toString" -> lines == null ? "quiet test logger" : "recording test logger";
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> {
                        if (lines != null && args != null && args.length > 0 && args[0] instanceof String s) {
                            lines.add(method.getName().toUpperCase(Locale.ROOT) + " " + s);
                        }
                        yield null;
                    }
                });
    }
}
