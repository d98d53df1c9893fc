import { Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

export interface NagReport {
  /** Findings nobody acknowledged. */
  readonly findings: string[];
  /** Acknowledgements with no finding under them (they would hide a future one). */
  readonly stale: string[];
  readonly acknowledgements: { where: string; id: string; reason: string }[];
}

/** cdk-nag AwsSolutions over an app: unacknowledged findings, and acknowledgements with no finding under them. */
export function nagReport(app: App): NagReport {
  const findings = new AwsSolutionsChecks(app)
    .validateScope(app)
    .violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}: ${v.description}`);
  const acknowledgements: { where: string; id: string; reason: string }[] = [];
  for (const c of app.node.findAll()) {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [key, reason] of Object.entries(entry.data as Record<string, string>)) {
        const id = key.replace(/^annotation::/i, '');
        if (id.startsWith('AwsSolutions-')) acknowledgements.push({ where: c.node.path, id, reason });
      }
    }
  }
  const raw = new AwsSolutionsChecks(app);
  (raw as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
  const all = raw
    .validateScope(app)
    .violations.flatMap((v) => v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? '' })));
  const stale = acknowledgements
    .filter(({ where, id }) => !all.some((f) => f.rule === id && (f.path === where || f.path.startsWith(`${where}/`))))
    .map((a) => `${a.where} ${a.id}`);
  return { findings, stale, acknowledgements };
}
