package org.netvm.xenstore.server.internal;

/** Told (under the store lock) when a domain is introduced or released, e.g. to add or remove its socket. */
interface DomainListener {

    DomainListener NONE = new DomainListener() {
        @Override
        public void introduced(int domid) {
        }

        @Override
        public void released(int domid) {
        }
    };

    void introduced(int domid);

    void released(int domid);
}
