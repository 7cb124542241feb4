/**
 * The xenstore wire protocol (xs_wire.h), shared by the client and the embedded daemon: a 16-byte
 * little-endian header (type, request id, transaction id, payload length) followed by at most
 * {@link org.netvm.xenstore.wire.Message#MAX_PAYLOAD} bytes of NUL-separated fields. The one codec
 * of netvm: the client and the embedded daemon both encode and read with
 * {@link org.netvm.xenstore.wire.Message}.
 *
 * <p>1.1: {@code Message.read}, {@code raw()}, {@code MAX_INBOUND_PAYLOAD}; a message may hold up to
 * {@code MAX_INBOUND_PAYLOAD} bytes, {@code encode()} refuses more than {@code MAX_PAYLOAD}.
 * <p>1.2: {@link org.netvm.xenstore.wire.MessageReader} (buffered reading, fewer system calls) and
 * {@code Message.encode(ByteBuffer)} (encoding into a buffer the caller reuses).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.2.0")
package org.netvm.xenstore.wire;
