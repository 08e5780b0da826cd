/**
 * `gatehouse cp`, `gatehouse keys …`, `gatehouse certs generate`, `gatehouse config …` and
 * `gatehouse audit verify`. Each command's module loads only when that command runs: `gatehouse
 * keys rotate` on a CP's host loads the key files and jose, not the control plane
 * (cli-imports.test.ts).
 */
const [command, ...args] = process.argv.slice(2);
if (command === 'cp') await (await import('./cp-cli.js')).runCp(args);
else if (command === 'config')
  process.exitCode = await (await import('./config-cli.js')).runConfigCommand(args);
else if (command === 'audit')
  process.exitCode = await (await import('./audit/verify-cli.js')).runAuditCommand(args);
else if (command === 'keys') await (await import('./keys-cli.js')).runKeys(args);
else if (command === 'certs') await (await import('./certs-cli.js')).runCerts(args);
else {
  process.stderr.write(`gatehouse: unknown command "${command ?? ''}"\n`);
  process.exit(2);
}
