import { transportConformance } from '../conformance/transport.js';
import { registerRingTransports, ringUrl } from '../helpers/ring-transport.js';

/**
 * The transport conformance suite over `RingConnection`, the worker links' byte stream over two
 * shared rings (test/helpers/ring-transport.ts): both ends in this thread (`ring://`), and with
 * a worker thread relaying each direction (`ring-thread://`).
 */

registerRingTransports();
transportConformance('ring', () => ringUrl('ring'));
transportConformance('ring-thread', () => ringUrl('ring-thread'));
