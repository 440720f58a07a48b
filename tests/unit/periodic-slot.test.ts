import { describe, expect, it } from 'vitest';
import { periodicSlotOf } from '../../shared/sync/requests.js';

describe('periodicSlotOf: the schedule occurrence a tick belongs to', () => {
  it.each([
    ['0 */15 * * * *', '2031-03-04T10:15:00.000Z', '2031-03-04T10:15:00.000Z'],
    ['0 */15 * * * *', '2031-03-04T10:15:00.900Z', '2031-03-04T10:15:00.000Z'],
    ['0 */15 * * * *', '2031-03-04T10:29:30.000Z', '2031-03-04T10:15:00.000Z'],
    // A timer that fires a little early belongs to the coming occurrence.
    ['0 */15 * * * *', '2031-03-04T10:29:57.000Z', '2031-03-04T10:30:00.000Z'],
    ['0 */15 * * * *', '2031-03-04T10:14:59.990Z', '2031-03-04T10:15:00.000Z'],
    ['0 0 * * * *', '2031-03-04T10:59:00.000Z', '2031-03-04T10:00:00.000Z'],
    ['0 0 0 1 1 *', '2031-03-04T10:59:00.000Z', '2031-01-01T00:00:00.000Z'],
  ])('%s at %s → %s', (schedule, now, slot) => {
    expect(periodicSlotOf(schedule, new Date(now))).toBe(slot);
  });
});
