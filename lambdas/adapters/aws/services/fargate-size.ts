/** A Fargate task size: CPU units (1024 = 1 vCPU) and memory in MiB. */
export interface FargateSize {
  readonly cpu: number;
  readonly memoryMb: number;
}

/** Fargate's Linux task sizes: per CPU, the memory it allows (from, to, step), in MiB. */
const SIZES: readonly { cpu: number; from: number; to: number; step: number }[] = [
  // 512, 1024 or 2048 (not 1536).
  { cpu: 256, from: 512, to: 1024, step: 512 },
  { cpu: 256, from: 2048, to: 2048, step: 1024 },
  { cpu: 512, from: 1024, to: 4096, step: 1024 },
  { cpu: 1024, from: 2048, to: 8192, step: 1024 },
  { cpu: 2048, from: 4096, to: 16384, step: 1024 },
  { cpu: 4096, from: 8192, to: 30720, step: 1024 },
  { cpu: 8192, from: 16384, to: 61440, step: 4096 },
  { cpu: 16384, from: 32768, to: 122880, step: 8192 },
];

/**
 * The smallest Fargate task that has at least `memoryMb` (a block's memory setting, as for a
 * Lambda function): the fewest CPU units that allow it, and its memory rounded up to the next size
 * Fargate sells. 256 CPU units allow 512, 1024 and 2048 MiB only, so 1536 becomes 2048.
 *
 * @example fargateSize(512) // { cpu: 256, memoryMb: 512 }; fargateSize(3000) // { cpu: 512, memoryMb: 3072 }
 */
export function fargateSize(memoryMb: number): FargateSize {
  if (!Number.isInteger(memoryMb) || memoryMb < 1)
    throw new Error(`a custom service's memoryMb must be a whole number of MiB, got ${memoryMb}.`);
  for (const size of SIZES) {
    if (memoryMb > size.to) continue;
    const steps = Math.max(0, Math.ceil((memoryMb - size.from) / size.step));
    return { cpu: size.cpu, memoryMb: size.from + steps * size.step };
  }
  throw new Error(`a custom service's memoryMb of ${memoryMb} is over Fargate's largest task (122880 MiB).`);
}
