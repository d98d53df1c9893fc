import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { createGitRepo } from '../support/git-repo';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { waitFor } from '../support/wait';
import { accessibilityProblems, collectConsoleErrors, launchChromium, screenshot } from './browser';

const P = '/v1/projects/svc';

/**
 * The console's settings of custom services (idle time, always on), kept through other changes,
 * and what its delete dialogs do with custom services' data: kept and named by default, deleted
 * when asked. Chromium against a real local platform; blocks are configured and deleted without
 * being built (what a service would have written to KINTO_DATA_DIR is simulated).
 */
describe('Console: custom services and their data', () => {
  let kinto: TestPlatform;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  const envIds: Record<string, string> = {};

  const config = async (env: string, block: string) =>
    (await kinto.api('GET', `${P}/environments/${env}/blocks/${block}/config`)).body.data;
  /** What the custom service would have written to its KINTO_DATA_DIR. */
  const writeServiceData = (env: string) => {
    const dir = join(kinto.home, 'data', envIds[env], 'cache');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'dump.rdb'), 'REDIS0011');
    return dir;
  };
  const card = (name: string) => page.locator('details', { has: page.locator('summary strong', { hasText: new RegExp(`^${name}$`) }) });
  const dialog = (name: string | RegExp) => page.getByRole('dialog', { name });
  const notice = () => page.locator('.deletion-notice');
  const keptData = () => page.locator('section', { has: page.getByRole('heading', { name: 'Kept data', level: 2 }) });
  const isFocused = (l: Locator) => l.evaluate((el) => el === (globalThis as any).document.activeElement);
  const look = async (name: string) => {
    await screenshot(page, name);
    expect(await accessibilityProblems(page)).toEqual([]);
  };
  /** Waits until a field shows `expected` (fields are filled in once their data loads). */
  const valueOf = async (field: Locator, expected: string) => {
    const deadline = Date.now() + 10_000;
    while ((await field.inputValue()) !== expected) {
      if (Date.now() > deadline) throw new Error(`field shows "${await field.inputValue()}", not "${expected}"`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const deleteEnvironment = async (env: string, deleteData: boolean) => {
    await page.goto(`${kinto.url}/projects/svc/environments/${env}`);
    await page.getByRole('button', { name: 'Delete environment' }).click();
    const confirm = dialog(`Delete environment ${env}`);
    const box = confirm.getByLabel(/^Also delete the custom services' data/);
    expect(await box.isChecked()).toBe(false);
    expect(await confirm.getByText(/the data is kept/).count()).toBe(1);
    if (deleteData) await box.check();
    await confirm.getByLabel(/^Type/).fill(env);
    if (!deleteData) await look('services-02-delete-environment');
    await confirm.getByRole('button', { name: 'Delete environment' }).click();
    await page.getByRole('heading', { name: 'svc', level: 1 }).waitFor();
    expect((await kinto.api('GET', `${P}/environments/${env}`)).status).toBe(404);
  };

  beforeAll(async () => {
    // The console the platform serves is the one these sources build (fast when it is up to date).
    execFileSync(process.execPath, ['-r', 'esbuild-register', join(__dirname, '..', '..', 'console', 'ensure-built.ts'), '--strict'], {
      stdio: 'inherit',
    });
    [kinto, browser] = await Promise.all([startTestPlatform(), launchChromium()]);
    const repo = createGitRepo({ 'public/index.html': '<h1>hi</h1>\n' });
    expect((await kinto.api('POST', '/v1/projects', { name: 'svc' })).status).toBe(201);
    const blocks = [
      { name: 'site', type: 'website', kind: 'static', source: { repo }, build: { outputDir: 'public' } },
      { name: 'cache', type: 'custom-service', source: { repo }, build: { startCommand: 'sleep 60' } },
    ];
    for (const b of blocks) expect((await kinto.api('POST', `${P}/blocks`, b)).status).toBe(201);
    for (const env of ['dev', 'test', 'prod']) envIds[env] = (await kinto.api('POST', `${P}/environments`, { name: env })).body.data.id;

    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    page.setDefaultTimeout(10_000);
    errors = collectConsoleErrors(page);
    await page.goto(kinto.url);
    await page.getByLabel('Admin token').fill(kinto.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'svc' }).waitFor();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await kinto?.stop();
  });

  it("sets a custom service's idle time and always-on from the environment page", async () => {
    await page.goto(`${kinto.url}/projects/svc/environments/dev`);
    const cache = card('cache');
    const idle = cache.getByLabel(/^Idle time \(seconds\)/);
    const alwaysOn = cache.getByLabel('Always on');
    await valueOf(idle, '300'); // the default, as the API resolves it
    expect(await alwaysOn.isChecked()).toBe(false);
    // Custom services are internal: no visibility to choose; websites have none of these settings.
    expect(await cache.getByLabel('Visibility').count()).toBe(0);
    expect(await page.getByLabel('Block to call').count()).toBe(0); // never called through the gateway
    expect(
      await card('site')
        .getByLabel(/^Idle time/)
        .count(),
    ).toBe(0);
    expect(await card('site').getByLabel('Always on').count()).toBe(0);

    await idle.fill('900');
    await alwaysOn.check();
    await cache.getByRole('button', { name: 'Save cache configuration' }).click();
    await cache.getByText(/^Saved \(revision 1\)/).waitFor();
    expect(await config('dev', 'cache')).toMatchObject({ idleTimeoutSeconds: 900, alwaysOn: true, visibility: 'internal' });
    await look('services-01-environment');
  });

  it('keeps them, and a website password, when another setting is saved', async () => {
    const site = await kinto.api('PUT', `${P}/environments/dev/blocks/site/config`, {
      basicAuth: { username: 'preview', password: 'correct horse battery' },
    });
    expect(site.status).toBe(200);
    await page.reload();
    const cache = card('cache');
    await valueOf(cache.getByLabel(/^Idle time \(seconds\)/), '900');
    expect(await cache.getByLabel('Always on').isChecked()).toBe(true);

    await cache.getByRole('button', { name: 'Add a variable' }).click();
    await cache.getByLabel('New variable name').fill('MAXMEMORY');
    await cache.getByLabel('Value of MAXMEMORY in dev').fill('64mb');
    await cache.getByLabel(/^Memory/).fill('256');
    await cache.getByRole('button', { name: 'Save cache configuration' }).click();
    await cache.getByText(/^Saved \(revision 2\)/).waitFor();
    expect(await config('dev', 'cache')).toMatchObject({
      variables: { MAXMEMORY: '64mb' },
      memoryMb: 256,
      idleTimeoutSeconds: 900,
      alwaysOn: true,
    });

    // The website's password is kept too (never typed back in), and always-on can be turned off.
    const siteCard = card('site');
    await siteCard.getByRole('button', { name: 'Add a variable' }).click();
    await siteCard.getByLabel('New variable name').fill('GREETING');
    await siteCard.getByLabel('Value of GREETING in dev').fill('hi');
    await siteCard.getByRole('button', { name: 'Save site configuration' }).click();
    await siteCard.getByText(/^Saved \(revision/).waitFor();
    expect(await config('dev', 'site')).toMatchObject({
      variables: { GREETING: 'hi' },
      basicAuth: { username: 'preview', passwordSet: true },
    });

    await cache.getByLabel('Always on').uncheck();
    await cache.getByRole('button', { name: 'Save cache configuration' }).click();
    await cache.getByText(/^Saved \(revision 3\)/).waitFor();
    expect(await config('dev', 'cache')).toMatchObject({ variables: { MAXMEMORY: '64mb' }, idleTimeoutSeconds: 900, alwaysOn: false });
  });

  it("deleting an environment keeps its custom services' data and names the folder", async () => {
    const dir = writeServiceData('dev');
    await deleteEnvironment('dev', false);
    await notice().waitFor();
    const text = await notice().textContent();
    expect(text).toContain('Environment dev deleted.');
    expect(text).toMatch(/kept where it is/);
    expect(text).toContain(`dev / cache: ${dir}`);
    expect(existsSync(join(dir, 'dump.rdb'))).toBe(true);
    // Where to delete it later: the Projects page, linked.
    expect(text).toContain('delete it later from the Kept data section of the Projects page.');
    expect(await notice().getByRole('link', { name: 'Projects page' }).getAttribute('href')).toBe('/');
    await look('services-03-data-kept');
    await notice()
      .getByRole('button', { name: /^Dismiss/ })
      .click();
    await notice().waitFor({ state: 'detached' });
  });

  it('lists the kept data on the projects page and deletes it there, the environment id typed', async () => {
    const dir = join(kinto.home, 'data', envIds.dev, 'cache');
    // Data another deleted environment left, in two blocks; one row group per environment.
    const ghost = randomBytes(16).toString('hex');
    for (const block of ['db', 'queue']) mkdirSync(join(kinto.home, 'data', ghost, block), { recursive: true });
    await page.getByRole('link', { name: 'Projects', exact: true }).click();
    await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
    await keptData().waitFor();
    expect(await keptData().textContent()).toMatch(/deleted environments' custom services left behind.*takes storage until it is deleted/);
    const group = (envId: string) => keptData().locator('tbody', { has: page.getByRole('rowheader', { name: envId }) });
    expect(await group(envIds.dev).getByRole('row').count()).toBe(1);
    expect(await group(envIds.dev).textContent()).toContain(`cache${dir}`);
    expect(await group(ghost).getByRole('row').count()).toBe(2);
    expect(await group(ghost).textContent()).toContain(`queue${join(kinto.home, 'data', ghost, 'queue')}`);
    await look('services-04-kept-data');

    // An API error is shown as the API words it: here the data went before the confirmation.
    await group(ghost)
      .getByRole('button', { name: `Delete data of environment ${ghost}` })
      .click();
    let confirm = dialog(`Delete data of environment ${ghost}`);
    expect(await confirm.textContent()).toContain('The data its custom services left (db, queue) is deleted for good');
    await confirm.getByLabel(/^Type/).fill(ghost);
    rmSync(join(kinto.home, 'data', ghost), { recursive: true });
    const logged = errors.length;
    await confirm.getByRole('button', { name: 'Delete data of environment' }).click();
    const alert = confirm.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain(`KEPT_DATA_NOT_FOUND No deleted environment ${ghost} left data here`);
    // Chromium logs the 404 itself as a failed load: that one was asked for; any other error counts.
    expect(errors.splice(logged)).toEqual([expect.stringMatching(/status of 404 \(Not Found\)$/)]);
    await look('services-05-kept-data-error');
    // Closing the dialog (Escape) shows the list as it is now.
    await page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'detached' });
    await group(ghost).waitFor({ state: 'detached' });

    // With the keyboard only: the button, the dialog's field (focused), Enter.
    const button = group(envIds.dev).getByRole('button', { name: `Delete data of environment ${envIds.dev}` });
    await button.focus();
    await page.keyboard.press('Enter');
    confirm = dialog(`Delete data of environment ${envIds.dev}`);
    const typed = confirm.getByLabel(/^Type/);
    await typed.waitFor();
    // Focus moves in an effect after the next frame: wait for it (a loaded machine paints late).
    await waitFor(() => isFocused(typed), 5000, 25, 'the typed field focused');
    const submit = confirm.getByRole('button', { name: 'Delete data of environment' });
    await page.keyboard.type(envIds.dev.slice(0, -1));
    expect(await submit.isDisabled()).toBe(true);
    await page.keyboard.type(envIds.dev.slice(-1));
    await page.keyboard.press('Enter');
    await notice().getByText(`Kept data of environment ${envIds.dev} deleted`).waitFor();
    expect(await notice().textContent()).toContain(`cache: ${dir}`);
    // The button went with its row: the notice has the focus; the section went with the last row.
    await waitFor(() => isFocused(notice()), 5000, 25, 'the notice focused');
    expect(existsSync(join(kinto.home, 'data', envIds.dev))).toBe(false);
    expect(await keptData().count()).toBe(0);
    expect((await kinto.api('GET', '/v1/kept-data')).body.data).toEqual([]);
    await look('services-06-kept-data-deleted');
    await notice()
      .getByRole('button', { name: /^Dismiss/ })
      .click();
    await notice().waitFor({ state: 'detached' });
  });

  it('deletes it too when the box is checked, and says so', async () => {
    const dir = writeServiceData('test');
    await deleteEnvironment('test', true);
    await notice().waitFor();
    const text = await notice().textContent();
    expect(text).toContain('Environment test deleted, with the data of its custom services');
    expect(text).toContain(`test / cache: ${dir}`);
    expect(text).not.toMatch(/kept/);
    expect(existsSync(dir)).toBe(false);
    // Leaving the page ends the notice.
    await page.getByRole('link', { name: 'Projects' }).click();
    await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
    expect(await notice().count()).toBe(0);
  });

  it("deleting a project names its environments' kept data on the projects page", async () => {
    const dir = writeServiceData('prod');
    await page.getByRole('link', { name: 'svc' }).click();
    await page.getByRole('button', { name: 'Delete project' }).click();
    const confirm = dialog('Delete project svc');
    expect(await confirm.getByLabel(/^Also delete the custom services' data/).isChecked()).toBe(false);
    await confirm.getByLabel(/^Type/).fill('svc');
    await confirm.getByRole('button', { name: 'Delete project' }).click();
    await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
    await notice().waitFor();
    expect(await notice().textContent()).toContain(`Project svc deleted.`);
    expect(await notice().textContent()).toContain(`prod / cache: ${dir}`);
    expect(existsSync(join(dir, 'dump.rdb'))).toBe(true);
    expect((await kinto.api('GET', P)).status).toBe(404);
    // On this page, the notice points below, where the kept data is listed.
    expect(await notice().getByRole('link', { name: 'below' }).getAttribute('href')).toBe('#kept-data');
    await keptData().getByRole('rowheader', { name: envIds.prod }).waitFor();
  });

  it('logged no error in the browser console', () => {
    expect(errors).toEqual([]);
  });
});
