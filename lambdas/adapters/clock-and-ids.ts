import { randomBytes } from 'node:crypto';
import type { Clock, IdGenerator } from '../ports/clock';

export const systemClock: Clock = { now: () => new Date() };

let lastMs = 0;
let sequence = 0;

/** Random ids from node:crypto; time-ordered ids are `<ms, base36, 9 chars><seq><random>`. */
export const randomIds: IdGenerator = {
  randomId: () => randomBytes(16).toString('hex'),
  timeOrderedId: () => {
    const ms = Date.now();
    sequence = ms === lastMs ? sequence + 1 : 0;
    lastMs = ms;
    return ms.toString(36).padStart(9, '0') + sequence.toString(36).padStart(3, '0') + randomBytes(6).toString('hex');
  },
};
