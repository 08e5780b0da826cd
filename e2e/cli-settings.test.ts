/**
 * The CLI validates its settings at start and names the bad one; production mode refuses to
 * start without a signing key; `keys generate` writes a usable key pair.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGatehouse, tempDir } from './helpers/processes.js';

describe('gatehouse CLI', () => {
  it('prints help for every command', async () => {
    for (const args of [
      ['--help'],
      ['cp', '--help'],
      ['dp', '--help'],
      ['dev', '--help'],
      ['keys', 'generate', '--help'],
      ['certs', 'generate', '--help'],
    ]) {
      const p = runGatehouse('help', args);
      expect(await p.exited, args.join(' ')).toBe(0);
      expect(p.output).toMatch(/Usage: gatehouse/);
    }
  });

  it('names a bad flag and a bad environment variable', async () => {
    const p = runGatehouse('cp', ['cp', '--admin-listen', 'nowhere'], { GATEHOUSE_LOG_LEVEL: 'loud' });
    expect(await p.exited).toBe(2);
    expect(p.output).toContain('--admin-listen');
    expect(p.output).toContain('GATEHOUSE_LOG_LEVEL');
  });

  it('refuses to start a control plane without a signing key outside dev mode', async () => {
    const dir = tempDir('nokey');
    const p = runGatehouse('cp', [
      'cp',
      '--data-dir',
      dir,
      '--admin-listen',
      '127.0.0.1:0',
      '--cluster-listen',
      '127.0.0.1:0',
    ]);
    expect(await p.exited).toBe(1);
    expect(p.output).toContain('no snapshot signing key');
    expect(p.output).toContain('gatehouse keys generate');
  });

  it('requires trusted keys for a data plane', async () => {
    const p = runGatehouse('dp', ['dp']);
    expect(await p.exited).toBe(2);
    expect(p.output).toContain('--trusted-keys');
  });

  it('names a bad NATS URL (flag or NATS_URL) without echoing its credentials', async () => {
    const flag = runGatehouse('dp', [
      'dp',
      '--config',
      'unused.yaml',
      '--nats-url',
      'http://u:secret@h:4222',
    ]);
    expect(await flag.exited).toBe(2);
    expect(flag.output).toContain('invalid setting --nats-url (NATS_URL)');
    expect(flag.output).toContain('nats:// or tls://');
    expect(flag.output).not.toContain('secret');
    const env = runGatehouse('dp', ['dp', '--config', 'unused.yaml'], { NATS_URL: 'nats://a:4222,' });
    expect(await env.exited).toBe(2);
    expect(env.output).toContain('empty server in the list');
  });

  it('writes a signing key pair with keys generate and refuses to overwrite it', async () => {
    const dir = tempDir('keys');
    const p = runGatehouse('keys', ['keys', 'generate', '--dir', dir]);
    expect(await p.exited).toBe(0);
    const priv = JSON.parse(readFileSync(join(dir, 'snapshot-signing.key.json'), 'utf8'));
    const pub = JSON.parse(readFileSync(join(dir, 'snapshot-signing.jwks.json'), 'utf8'));
    expect(priv).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    expect(typeof priv.d).toBe('string');
    expect(pub.keys[0].kid).toBe(priv.kid);
    expect(pub.keys[0].d).toBeUndefined();
    const again = runGatehouse('keys', ['keys', 'generate', '--dir', dir]);
    expect(await again.exited).toBe(1);
    expect(again.output).toContain('--force');
    expect(existsSync(join(dir, 'snapshot-signing.key.json'))).toBe(true);
  });

  it('refuses an unknown subcommand or a stray argument to keys and certs, writing nothing', async () => {
    const dir = tempDir('stray');
    for (const [args, says] of [
      [['keys', 'make'], 'unknown keys command "make"'],
      [['certs'], 'missing certs command'],
      [['keys', 'generate', '--dir', dir, 'extra'], 'unexpected argument "extra"'],
      [['certs', 'generate', '--dir', dir, 'extra'], 'unexpected argument "extra"'],
    ] as const) {
      const p = runGatehouse('stray', [...args]);
      expect(await p.exited, args.join(' ')).toBe(2);
      expect(p.output).toContain(says);
    }
    expect(existsSync(join(dir, 'snapshot-signing.key.json'))).toBe(false);
    expect(existsSync(join(dir, 'ca.crt'))).toBe(false);
  });
});
