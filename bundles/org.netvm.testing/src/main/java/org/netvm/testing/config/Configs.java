package org.netvm.testing.config;

import java.lang.annotation.Annotation;
import java.lang.reflect.Array;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A DS configuration annotation instance for unit tests, built from a map: what Declarative Services
 * hands a component, without a 40-line anonymous class.
 *
 * <pre>{@code
 * KernelComponent.Config c = Configs.of(KernelComponent.Config.class, "netns", ns.name());
 * DnsComponent.Config d = Configs.of(DnsComponent.Config.class);          // every default
 * }</pre>
 *
 * A key is the element's property name as DS derives it ({@code max_size} is {@code max.size},
 * {@code a$_$b} is {@code a-b}) or the element's own name. Elements not given take the annotation's
 * default. Values are converted as DS would: numbers and strings to the element's primitive, enum or
 * String type; a single value or a collection to an array. An unknown key, or a missing element
 * without a default, fails at once.
 */
public final class Configs {
    private Configs() {
    }

    /** {@code of(type, "key1", value1, "key2", value2, ...)}. */
    public static <A extends Annotation> A of(Class<A> type, Object... keysAndValues) {
        if (keysAndValues.length % 2 != 0) {
            throw new IllegalArgumentException("keys and values come in pairs");
        }
        Map<String, Object> m = new HashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return of(type, m);
    }

    /** An instance of {@code type} whose elements answer from {@code values}, else their defaults. */
    public static <A extends Annotation> A of(Class<A> type, Map<String, ?> values) {
        if (!type.isAnnotation()) {
            throw new IllegalArgumentException(type + " is not an annotation type");
        }
        Map<String, Object> answers = new TreeMap<>();
        Set<String> used = new java.util.HashSet<>();
        for (Method m : type.getDeclaredMethods()) {
            String key = values.containsKey(propertyName(m.getName())) ? propertyName(m.getName()) : m.getName();
            Object v = values.get(key);
            if (v != null) {
                used.add(key);
                answers.put(m.getName(), convert(v, m.getReturnType(), m));
            } else if (m.getDefaultValue() != null) {
                answers.put(m.getName(), m.getDefaultValue());
            } else {
                throw new IllegalArgumentException(type.getSimpleName() + "." + m.getName() + " has no default: give it");
            }
        }
        for (String k : values.keySet()) {
            if (!used.contains(k) && values.get(k) != null) {
                throw new IllegalArgumentException(type.getSimpleName() + " has no element for key " + k);
            }
        }
        String text = "@" + type.getName() + answers;
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type},
                (proxy, method, args) -> switch (method.getName()) {
                    case "annotationType" -> type;
                    case "toString" -> text;
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> copy(answers.get(method.getName()));
                }));
    }

    /** The DS property name of an element (OSGi Compendium 112.8.2.2). */
    static String propertyName(String element) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < element.length(); i++) {
            char c = element.charAt(i);
            boolean next = i + 1 < element.length();
            if (c == '$' && element.startsWith("$_$", i)) {
                b.append('-');
                i += 2;
            } else if (c == '$' && next && element.charAt(i + 1) == '$') {
                b.append('$');
                i++;
            } else if (c == '$') {
                continue;
            } else if (c == '_' && next && element.charAt(i + 1) == '_') {
                b.append('_');
                i++;
            } else {
                b.append(c == '_' ? '.' : c);
            }
        }
        return b.toString();
    }

    private static Object copy(Object v) {
        if (v != null && v.getClass().isArray()) {
            int n = Array.getLength(v);
            Object c = Array.newInstance(v.getClass().getComponentType(), n);
            System.arraycopy(v, 0, c, 0, n);
            return c;
        }
        return v;
    }

    private static Object convert(Object v, Class<?> to, Method m) {
        if (to.isArray()) {
            List<?> items = v instanceof Collection<?> c ? List.copyOf(c)
                    : v.getClass().isArray() ? arrayToList(v) : List.of(v);
            Object a = Array.newInstance(to.getComponentType(), items.size());
            for (int i = 0; i < items.size(); i++) {
                Array.set(a, i, convert(items.get(i), to.getComponentType(), m));
            }
            return a;
        }
        String s = String.valueOf(v).trim();
        try {
            return switch (to.getName()) {
                case "java.lang.String" -> String.valueOf(v);
                case "boolean" -> v instanceof Boolean b ? b : Boolean.parseBoolean(s);
                case "int" -> v instanceof Number n ? n.intValue() : Integer.parseInt(s);
                case "long" -> v instanceof Number n ? n.longValue() : Long.parseLong(s);
                case "double" -> v instanceof Number n ? n.doubleValue() : Double.parseDouble(s);
                case "float" -> v instanceof Number n ? n.floatValue() : Float.parseFloat(s);
                case "short" -> v instanceof Number n ? n.shortValue() : Short.parseShort(s);
                case "byte" -> v instanceof Number n ? n.byteValue() : Byte.parseByte(s);
                case "char" -> s.charAt(0);
                default -> enumOrSame(v, to, s);
            };
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(m.getName() + ": cannot make a " + to.getSimpleName() + " of " + v, e);
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object enumOrSame(Object v, Class<?> to, String s) {
        if (to.isInstance(v)) {
            return v;
        }
        if (to.isEnum()) {
            return Enum.valueOf((Class<? extends Enum>) to, s);
        }
        throw new IllegalArgumentException("unsupported element type " + to);
    }

    private static List<Object> arrayToList(Object array) {
        Object[] out = new Object[Array.getLength(array)];
        for (int i = 0; i < out.length; i++) {
            out[i] = Array.get(array, i);
        }
        return List.of(out);
    }
}
