import { useLocation } from 'preact-iso';

/** The pages of one environment. */
export function EnvTabs({ project, env }: { readonly project: string; readonly env: string }) {
  const { path } = useLocation();
  const base = `/projects/${project}/environments/${env}`;
  const tabs = [
    { href: base, label: 'Overview' },
    { href: `${base}/jobs`, label: 'Jobs' },
    { href: `${base}/logs`, label: 'Logs' },
    { href: `${base}/metrics`, label: 'Metrics' },
  ];
  return (
    <nav aria-label={`Environment ${env}`}>
      <ul class="tabs">
        {tabs.map((t) => (
          <li key={t.href}>
            <a href={t.href} aria-current={path === t.href ? 'page' : undefined}>
              {t.label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}
