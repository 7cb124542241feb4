/**
 * The kernel seam: everything netvm programs into the Linux network stack.
 *
 * <p>{@link org.netvm.kernel.Kernel} reads links, addresses, routes and neighbours and applies a
 * {@link org.netvm.kernel.Batch} of operations ({@link org.netvm.kernel.Op}) over one rtnetlink
 * socket. A batch is a plain value: build it with {@code new Batch()}, render it with
 * {@link org.netvm.kernel.Batch#render()} for logs and golden files, and hand it to a fake
 * {@code Kernel} in unit tests. Device names are checked against {@code ^[A-Za-z0-9_.-]{1,15}$}
 * (and never {@code .} or {@code ..}) when an operation is built, so hostile values never reach
 * a path or a message. {@link org.netvm.kernel.Kernel#conntrack()} lists and deletes connection
 * tracking entries by address over ctnetlink.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.2.0")
package org.netvm.kernel;
