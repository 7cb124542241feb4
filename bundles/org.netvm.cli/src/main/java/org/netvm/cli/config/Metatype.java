package org.netvm.cli.config;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.jar.JarEntry;
import java.util.jar.JarInputStream;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;

import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;

/**
 * The configuration schema of a set of bundles: the OSGi metatype documents
 * ({@code OSGI-INF/metatype/*.xml}) that bnd generates from the components' typed configuration
 * annotations, read straight from the jars, without a Metatype service. Keyed by PID.
 */
public final class Metatype {

    /** One attribute (AD). {@code cardinality} 0 is a single value; otherwise a list. */
    public record Attribute(String id, String type, int cardinality, String min, String max, List<String> defaults,
            List<String> options, String description) {
    }

    /** The configuration of one PID (an OCD designated for it), and the bundle it came from. */
    public record Pid(String pid, String name, String description, List<Attribute> attributes, String bundle) {
        public Attribute attribute(String id) {
            return attributes.stream().filter(a -> a.id().equals(id)).findFirst().orElse(null);
        }
    }

    private final Map<String, Pid> pids = new TreeMap<>();
    private int bundles;
    /** One parser for every document (a factory and a parser per document cost ~2 ms each at start). */
    private DocumentBuilder builder;

    public Map<String, Pid> pids() {
        return Collections.unmodifiableMap(pids);
    }

    /** How many bundles contributed at least one metatype document. */
    public int bundles() {
        return bundles;
    }

    /**
     * Adds the metatype of a jar: its own {@code OSGI-INF/metatype/*.xml} and those of the jars it
     * holds under {@code jar/} (an exported bnd runtime such as {@code netvm.jar}).
     */
    public void addJar(Path jar) throws IOException {
        try (InputStream in = Files.newInputStream(jar)) {
            addJar(in, jar.getFileName().toString(), 0);
        }
    }

    private void addJar(InputStream in, String name, int depth) throws IOException {
        JarInputStream jin = new JarInputStream(in);
        boolean any = false;
        for (JarEntry e; (e = jin.getNextJarEntry()) != null; ) {
            String n = e.getName();
            if (n.startsWith("OSGI-INF/metatype/") && n.endsWith(".xml")) {
                addXml(jin.readAllBytes(), name);
                any = true;
            } else if (depth == 0 && n.startsWith("jar/") && n.endsWith(".jar")) {
                addJar(new ByteArrayInputStream(jin.readAllBytes()), n.substring(4), 1);
            }
        }
        if (any) {
            bundles++;
        }
    }

    /** Counts one more bundle (for callers that add a bundle's documents one by one). */
    public void countBundle() {
        bundles++;
    }

    /** Adds one metatype document; {@code bundle} names where it came from. */
    public void addXml(byte[] xml, String bundle) throws IOException {
        Document doc;
        try {
            if (builder == null) {
                DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
                f.setNamespaceAware(false);
                f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
                f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
                builder = f.newDocumentBuilder();
            }
            builder.reset();
            builder.setErrorHandler(null);
            doc = builder.parse(new ByteArrayInputStream(xml));
        } catch (ParserConfigurationException | SAXException e) {
            throw new IOException("bad metatype document in " + bundle + ": " + e.getMessage(), e);
        }
        Map<String, Element> ocds = new TreeMap<>();
        for (Element ocd : elements(doc.getDocumentElement(), "OCD")) {
            ocds.put(ocd.getAttribute("id"), ocd);
        }
        for (Element d : elements(doc.getDocumentElement(), "Designate")) {
            String pid = d.getAttribute("pid").isEmpty() ? d.getAttribute("factoryPid") : d.getAttribute("pid");
            for (Element o : elements(d, "Object")) {
                Element ocd = ocds.get(o.getAttribute("ocdref"));
                if (ocd != null && !pid.isEmpty()) {
                    pids.put(pid, pid(pid, ocd, bundle));
                }
            }
        }
    }

    private static Pid pid(String pid, Element ocd, String bundle) {
        List<Attribute> ads = new ArrayList<>();
        for (Element ad : elements(ocd, "AD")) {
            String card = ad.getAttribute("cardinality");
            List<String> options = new ArrayList<>();
            for (Element o : elements(ad, "Option")) {
                options.add(o.getAttribute("value"));
            }
            ads.add(new Attribute(ad.getAttribute("id"), ad.getAttribute("type"),
                    card.isEmpty() ? 0 : Integer.parseInt(card), ad.getAttribute("min"), ad.getAttribute("max"),
                    ad.hasAttribute("default") ? splitDefault(ad.getAttribute("default")) : List.of(), List.copyOf(options),
                    ad.getAttribute("description")));
        }
        return new Pid(pid, ocd.getAttribute("name"), ocd.getAttribute("description"), List.copyOf(ads), bundle);
    }

    /** A metatype default: values separated by ',', with '\' escaping ',', ' ' and '\'. */
    static List<String> splitDefault(String text) {
        List<String> out = new ArrayList<>();
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\\' && i + 1 < text.length()) {
                b.append(text.charAt(++i));
            } else if (c == ',') {
                out.add(b.toString());
                b.setLength(0);
            } else {
                b.append(c);
            }
        }
        out.add(b.toString());
        return List.copyOf(out);
    }

    private static List<Element> elements(Element parent, String name) {
        List<Element> out = new ArrayList<>();
        NodeList nodes = parent.getChildNodes();
        for (int i = 0; i < nodes.getLength(); i++) {
            if (nodes.item(i) instanceof Element e && (e.getTagName().equals(name) || e.getTagName().endsWith(":" + name))) {
                out.add(e);
            }
        }
        return out;
    }
}
