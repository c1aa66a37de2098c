// bad.ts - a use of the SDK with type errors, for tests/sdk/types.mjs's
// negative check: tsc must refuse it (so the type test can fail).

import { connect } from '../../web/porthole.js';

const cloud = connect('ws://x/ws', { reconnect: 'yes' });
const n: number = cloud.openSession('robot-1');
cloud.on('robots', (robots) => robots.toUpperCase());
