package dev.kiln.monitor.devices;

/**
 * Whether an instance gets the network ring (docs/kiln-abi.md 4), and who moves its frames
 * between the ring and the taps.
 */
public enum NetRingService {
    /** No ring: the guest keeps to the NET_READ/NET_WRITE hypercalls (hvt spec 5). */
    OFF,
    /**
     * The default: the vCPU's own thread serves the ring inside POLL (docs/kiln-abi.md 4.5), when
     * the guest has nothing left to do. No thread of its own, nothing spinning; an exit serves a
     * whole batch. On two cores, with the load generator beside it, httpreply served 85,900 req/s
     * this way against 64,800 with the I/O thread (medians of three alternated runs, 2026-12-06).
     */
    AT_POLL,
    /**
     * An I/O thread of the instance's own moves frames while the guest runs, woken by the doorbell:
     * for a host with cores to spare, where the guest computes while its frames move.
     */
    IO_THREAD
}
