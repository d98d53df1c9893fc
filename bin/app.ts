#!/usr/bin/env -S npx tsx
/**
 * The CDK app (`cdk.json`: `npx tsx bin/app.ts`). `npx cdk deploy` creates Kinto's control
 * plane in the account and region of the caller's AWS credentials.
 */
import { createKintoApp } from '../lib/kinto-app';

createKintoApp().app.synth();
