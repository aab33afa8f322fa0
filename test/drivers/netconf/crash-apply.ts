// A child process for the confirmed-commit test: applies a change and stops between the confirmed
// commit and the confirming commit, so the test can kill -9 it there.
//   tsx crash-apply.ts '<device json>' '<change json>'
import { deviceSchema } from '../../../src/model/device.ts';
import { applyToDevice } from '../../../src/drivers/netconf/device-ops.ts';

const device = deviceSchema.parse(JSON.parse(process.argv[2]!));
const change = JSON.parse(process.argv[3]!);
await applyToDevice(device, change, {
  confirmTimeoutS: 600,
  onStage: async (stage) => {
    if (stage !== 'commit-pending') return;
    process.stdout.write('COMMIT-PENDING\n');
    await new Promise(() => {}); // wait here until killed
  },
});
