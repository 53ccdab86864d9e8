import { createBus } from '@agentgate/bus';
import { tempDir } from '@agentgate/testkit';
import { maskingSuite } from './suite.js';

// The one-process runner's transport: one in-process bus with streams persisted under a temp dir.
maskingSuite('in-process bus', async () => {
  const dir = tempDir('masking-inproc');
  const bus = await createBus({ dataDir: dir.path });
  return {
    bus,
    brokerBus: bus,
    async close() {
      await bus.close();
      dir.cleanup();
    },
  };
});
