import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { createKintoApp } from '../../../lib/kinto-app';
import type { KintoPlatformStack, KintoPlatformStackProps } from '../../../lib/platform-stack';

export interface SynthesizedPlatform {
  readonly app: App;
  readonly stack: KintoPlatformStack;
  readonly template: Template;
  /** The cloud assembly folder (bundled Lambda code is under it when `bundle` is set). */
  readonly outdir: string;
  /** Removes the temporary folders (call in afterAll). */
  dispose(): void;
}

export interface SynthOptions {
  /**
   * Bundle the Lambdas with esbuild as `cdk synth` does (a few seconds). Off, CDK skips bundling
   * (`aws:cdk:bundling-stacks: []`): the template is the same but for asset hashes.
   * @default false
   */
  readonly bundle?: boolean;
  /** @default true: a built console (a folder with index.html), so its deployment is synthesized too */
  readonly withConsole?: boolean;
  readonly stackProps?: KintoPlatformStackProps;
}

/**
 * Synthesizes the real Kinto app (the one bin/app.ts runs, with cdk-nag registered, so an
 * unacknowledged finding fails here too) into a temporary folder. aws-cdk-lib keeps a cache in
 * HOME/CDK_HOME: both point at a temporary folder while it runs, then are restored.
 */
export function synthPlatform(options: SynthOptions = {}): SynthesizedPlatform {
  const saved = { HOME: process.env.HOME, CDK_HOME: process.env.CDK_HOME };
  const home = mkdtempSync(join(tmpdir(), 'kinto-cdk-home-'));
  process.env.HOME = home;
  process.env.CDK_HOME = home;
  try {
    const outdir = mkdtempSync(join(tmpdir(), 'kinto-cdk-out-'));
    let consoleAssetsPath = join(home, 'no-console');
    if (options.withConsole ?? true) {
      consoleAssetsPath = mkdtempSync(join(tmpdir(), 'kinto-console-'));
      writeFileSync(join(consoleAssetsPath, 'index.html'), '<!doctype html><title>Kinto</title>');
    }
    const { app, stack } = createKintoApp({
      outdir,
      context: options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] },
      stackProps: { consoleAssetsPath, ...options.stackProps },
    });
    const template = Template.fromStack(stack);
    const dispose = () => {
      for (const dir of [outdir, home, consoleAssetsPath]) rmSync(dir, { recursive: true, force: true });
    };
    return { app, stack, template, outdir, dispose };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
