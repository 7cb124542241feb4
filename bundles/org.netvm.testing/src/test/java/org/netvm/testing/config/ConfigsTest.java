package org.netvm.testing.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

class ConfigsTest {
    @interface Config {
        String name() default "netvm";

        int port() default 0;

        long retryMillis() default 2000;

        boolean enabled() default false;

        String[] prefixes() default {"a", "b"};

        TimeUnit unit() default TimeUnit.SECONDS;

        int max_size() default 10;

        String required();
    }

    @Test
    void defaultsComeFromTheAnnotation() {
        Config c = Configs.of(Config.class, "required", "x");
        assertEquals("netvm", c.name());
        assertEquals(0, c.port());
        assertEquals(2000, c.retryMillis());
        assertArrayEquals(new String[] {"a", "b"}, c.prefixes());
        assertEquals(TimeUnit.SECONDS, c.unit());
        assertEquals(Config.class, c.annotationType());
    }

    @Test
    void valuesAreConvertedAsDsWould() {
        Config c = Configs.of(Config.class, Map.of("required", "x", "port", "8080", "retryMillis", 5, "enabled", "true",
                "prefixes", List.of("p"), "unit", "MILLISECONDS", "max.size", 3));
        assertEquals(8080, c.port());
        assertEquals(5L, c.retryMillis());
        assertEquals(true, c.enabled());
        assertArrayEquals(new String[] {"p"}, c.prefixes());
        assertEquals(TimeUnit.MILLISECONDS, c.unit());
        assertEquals(3, c.max_size());
        assertArrayEquals(new String[] {"one"}, Configs.of(Config.class, "required", "x", "prefixes", "one").prefixes());
    }

    @Test
    void typosAndMissingRequiredElementsFailAtOnce() {
        assertThrows(IllegalArgumentException.class, () -> Configs.of(Config.class, "required", "x", "prot", 1));
        assertThrows(IllegalArgumentException.class, () -> Configs.of(Config.class));
        assertThrows(IllegalArgumentException.class, () -> Configs.of(Config.class, "required", "x", "port", "eighty"));
    }

    @Test
    void propertyNamesFollowDeclarativeServices() {
        assertEquals("a.b", Configs.propertyName("a_b"));
        assertEquals("a_b", Configs.propertyName("a__b"));
        assertEquals("a-b", Configs.propertyName("a$_$b"));
        assertEquals("a$b", Configs.propertyName("a$$b"));
        assertEquals("ab", Configs.propertyName("a$b"));
    }
}
