import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { ErrorBoundary, LocationProvider, Route, Router, lazy } from 'preact-iso';
import { forgetAdminToken, readAdminToken, saveAdminToken } from './api/admin-token';
import { loadConsoleConfig, type ConsoleConfig } from './api/console-config';
import { connect, KintoContext, type Kinto } from './api/kinto-context';
import { Loading } from './components/empty-state';
import { Shell } from './components/shell';
import { BlockPage } from './pages/block-page';
import { EnvironmentPage } from './pages/environment-page';
import { JobsPage } from './pages/jobs-page';
import { LogsPage } from './pages/logs-page';
import { NotFoundPage } from './pages/not-found-page';
import { ProjectPage } from './pages/project-page';
import { ProjectsPage } from './pages/projects-page';
import { SignInPage } from './pages/sign-in-page';

// The charting library is the console's largest dependency: it loads with the metrics page only.
const MetricsPage = lazy(() => import('./pages/metrics-page').then((m) => m.MetricsPage));

/** The console: sign in with the admin token, then the pages, each at a URL of its own. */
export function App() {
  const [config, setConfig] = useState<ConsoleConfig>();
  const [token, setToken] = useState(readAdminToken);
  const [reason, setReason] = useState<string>();
  useEffect(() => void loadConsoleConfig().then(setConfig), []);
  const signOut = useCallback((why?: string) => {
    forgetAdminToken();
    setToken(null);
    setReason(why);
  }, []);
  const kinto = useMemo<Kinto | null>(
    () =>
      config && token
        ? { api: connect(config, token, () => signOut('The platform refused the admin token: sign in again.')), config, token, signOut }
        : null,
    [config, token, signOut],
  );
  if (!config) return <Loading what="the console" />;
  if (!kinto) {
    return (
      <SignInPage
        config={config}
        reason={reason}
        onSignedIn={(t) => {
          saveAdminToken(t);
          setReason(undefined);
          setToken(t);
        }}
      />
    );
  }
  return (
    <KintoContext.Provider value={kinto}>
      <LocationProvider>
        <Shell>
          <ErrorBoundary>
            <Router>
              <Route path="/" component={ProjectsPage} />
              <Route path="/projects/:project" component={ProjectPage} />
              <Route path="/projects/:project/blocks/:block" component={BlockPage} />
              <Route path="/projects/:project/environments/:env" component={EnvironmentPage} />
              <Route path="/projects/:project/environments/:env/jobs" component={JobsPage} />
              <Route path="/projects/:project/environments/:env/logs" component={LogsPage} />
              <Route path="/projects/:project/environments/:env/metrics" component={MetricsPage} />
              <Route default component={NotFoundPage} />
            </Router>
          </ErrorBoundary>
        </Shell>
      </LocationProvider>
    </KintoContext.Provider>
  );
}
