import { transportConformance } from '../conformance/transport.js';
import { listenUrl } from '../helpers/links.js';

transportConformance('unix', () => listenUrl('unix', 'conf'));
