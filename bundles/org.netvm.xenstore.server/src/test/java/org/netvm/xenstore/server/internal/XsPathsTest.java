package org.netvm.xenstore.server.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class XsPathsTest {

    @Test
    void validNodenames() {
        assertTrue(XsPaths.isValidNodename("/", 2048));
        assertTrue(XsPaths.isValidNodename("/a-b/c_d/@e/0", 2048));
        assertFalse(XsPaths.isValidNodename("a", 2048));
        assertFalse(XsPaths.isValidNodename("/a/", 2048));
        assertFalse(XsPaths.isValidNodename("/a//b", 2048));
        assertFalse(XsPaths.isValidNodename("/a.b", 2048));
        assertFalse(XsPaths.isValidNodename("/a b", 2048));
        assertTrue(XsPaths.isValidNodename("/" + "x".repeat(2047), 2048));
        assertFalse(XsPaths.isValidNodename("/" + "x".repeat(2048), 2048));
        assertTrue(XsPaths.isValidNodename("/local/domain/12345/" + "x".repeat(2048), 2048));
        assertFalse(XsPaths.isValidNodename("/local/domain/123456/" + "x".repeat(2048), 2048));
    }

    @Test
    void parentsAndChildren() {
        assertEquals("/", XsPaths.parent("/a"));
        assertEquals("/", XsPaths.parent("/"));
        assertEquals("/a/b", XsPaths.parent("/a/b/c"));
        assertEquals("c", XsPaths.basename("/a/b/c"));
        assertTrue(XsPaths.isChild("/a/b", "/a"));
        assertTrue(XsPaths.isChild("/a", "/a"));
        assertFalse(XsPaths.isChild("/ab", "/a"));
        assertTrue(XsPaths.isChild("/anything", "/"));
        assertEquals("/local/domain/3/x", XsPaths.canonicalize("/local/domain/3", "x"));
        assertEquals("@x", XsPaths.canonicalize("/local/domain/3", "@x"));
    }

    @Test
    void numbersParseAsInC() {
        assertEquals(16, XsPaths.strtol("0x10", 0).value());
        assertEquals(8, XsPaths.strtol("010", 0).value());
        assertFalse(XsPaths.strtol("5x", 0).complete());
        assertFalse(XsPaths.strtol("x", 0).complete());
        assertEquals(-1, XsPaths.atoi("-1"));
        assertEquals(0, XsPaths.atoi("abc"));
        assertEquals(12, XsPaths.atoi(" 12abc"));
    }
}
