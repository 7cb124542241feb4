package org.netvm.testing.log;

import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Arrays;
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
        return logger(lines, false);
    }

    /**
     * Like {@link #recording}, but each {@code {}} of the format is replaced by the next argument
     * ({@code String.valueOf}): {@code info("{}", text)} records {@code "INFO " + text}.
     */
    public static Logger formatting(List<String> lines) {
        return logger(lines, true);
    }

    /** A logger that drops everything (every level enabled, so guarded code still runs). */
    public static Logger quiet() {
        return logger(null, false);
    }

    private static Logger logger(List<String> lines, boolean format) {
        return (Logger) Proxy.newProxyInstance(Loggers.class.getClassLoader(), new Class<?>[] {Logger.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getName" -> "test";
                    case "isTraceEnabled", "isDebugEnabled", "isInfoEnabled", "isWarnEnabled", "isErrorEnabled" -> true;
                    case "toString" -> lines == null ? "quiet test logger" : "recording test logger";
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> {
                        if (lines != null && args != null && args.length > 0 && args[0] instanceof String s) {
                            String text = format ? format(s, arguments(method, args)) : s;
                            lines.add(method.getName().toUpperCase(Locale.ROOT) + " " + text);
                        }
                        yield null;
                    }
                });
    }

    /** The arguments after the format, varargs spread. */
    private static Object[] arguments(Method method, Object[] args) {
        if (method.isVarArgs() && args[args.length - 1] instanceof Object[] rest) {
            Object[] all = Arrays.copyOf(args, args.length - 1 + rest.length);
            System.arraycopy(rest, 0, all, args.length - 1, rest.length);
            return Arrays.copyOfRange(all, 1, all.length);
        }
        return Arrays.copyOfRange(args, 1, args.length);
    }

    private static String format(String message, Object[] args) {
        StringBuilder b = new StringBuilder();
        int next = 0;
        int from = 0;
        for (int at = message.indexOf("{}"); at >= 0 && next < args.length; at = message.indexOf("{}", from)) {
            b.append(message, from, at).append(args[next++]);
            from = at + 2;
        }
        return b.append(message.substring(from)).toString();
    }
}
