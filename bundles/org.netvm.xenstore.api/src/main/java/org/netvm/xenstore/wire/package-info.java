/**
 * The xenstore wire protocol (xs_wire.h), shared by the client and the embedded daemon: a 16-byte
 * little-endian header (type, request id, transaction id, payload length) followed by at most
 * {@link org.netvm.xenstore.wire.Message#MAX_PAYLOAD} bytes of NUL-separated fields.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.netvm.xenstore.wire;
