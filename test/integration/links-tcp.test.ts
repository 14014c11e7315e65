import { transportConformance } from '../conformance/transport.js';

transportConformance('tcp', () => 'tcp://127.0.0.1:0');
transportConformance('tcp4', () => 'tcp4://127.0.0.1:0');
transportConformance('tcp6', () => 'tcp6://[::1]:0');
