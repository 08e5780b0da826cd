import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { signIn, startAdminUiStack, type AdminUiStack } from './helpers/admin-ui.js';
const TOKEN = 'ui-probe-e2e-admin-token-0123456';
describe('probe', () => {
  let stack: AdminUiStack;
  beforeAll(async () => {
    stack = await startAdminUiStack('admin-ui-probe', TOKEN);
    await stack.page.goto(`${stack.ui}/`);
    await signIn(stack.page, TOKEN);
  }, 180_000);
  afterAll(async () => { await stack?.stop(); });
  it('dumps', async () => {
    const page = stack.page;
    await page.addInitScript(() => {
      const log: string[] = ((window as any).__log = []);
      const sa = Element.prototype.setAttribute;
      Element.prototype.setAttribute = function (n: string, v: string) {
        if (/style/i.test(n)) log.push('setAttribute style=' + v + ' on ' + this.outerHTML.slice(0, 200) + '\n' + new Error().stack);
        return sa.call(this, n, v);
      };
      for (const m of ['appendChild', 'insertBefore'] as const) {
        const o = (Node.prototype as any)[m];
        (Node.prototype as any)[m] = function (node: Node, ...rest: unknown[]) {
          if ((node as Element).getAttribute?.('style') !== null && (node as Element).getAttribute?.('style') !== undefined && !(node as Element).isConnected) log.push(m + ' attr-el ' + (node as Element).outerHTML.slice(0, 300));
          if (node.nodeName === 'STYLE') log.push(m + ' STYLE ' + node.textContent + '\n' + new Error().stack);
          if (node instanceof Element && node.querySelector?.('style')) log.push(m + ' subtree ' + node.outerHTML.slice(0, 400) + '\n' + new Error().stack);
          return o.call(this, node, ...rest);
        };
      }
    });
    await page.reload();
    await page.evaluate(() => {
      (window as any).__v = [];
      document.addEventListener('securitypolicyviolation', (e) => (window as any).__v.push({ d: e.violatedDirective, s: e.sample, src: e.sourceFile + ':' + e.lineNumber + ':' + e.columnNumber, el: String((e.target as Element)?.outerHTML ?? (e.target as Node)?.nodeName).slice(0, 500) }));
    });
    await stack.admin('POST', '/consumers', { username: 'carol' });
    await page.goto(`${stack.ui}/#/consumer-groups`);
    await page.getByRole('button', { name: 'New consumer group' }).click();
    await page.waitForTimeout(4000);
    await page.getByTestId('consumer-group-form-name').fill('gold');
    await page.waitForTimeout(1000);
    writeFileSync('/tmp/kc-cg.html', await page.locator('.kong-form').innerHTML());
    await page.screenshot({ path: '/tmp/kc-cg.png', fullPage: true });
    writeFileSync('/tmp/kc-cg-console.txt', stack.consoleErrors.join('\n') + '\n---\n' + JSON.stringify(await page.evaluate(() => (window as any).__v), null, 1) + '\n---\n' + (await page.evaluate(() => (window as any).__log.join('\n=====\n'))));
  }, 120_000);
});
