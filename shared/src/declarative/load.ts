import { readFile } from 'node:fs/promises';
import type { GatehouseConfig } from '../config/model.js';
import { DeclarativeErrors } from './errors.js';
import { parseDeclarative } from './parse.js';
import { toConfig, type ToConfigOptions } from './resolve.js';

export type LoadDeclarativeOptions = Omit<ToConfigOptions, 'filename'>;

/**
 * Reads, parses and resolves a declarative file (what the DB-less data plane serves). Throws a
 * GatehouseError naming the file and the path of every problem: GH_ERR_DECLARATIVE_UNREADABLE,
 * GH_ERR_DECLARATIVE_SYNTAX, GH_ERR_DECLARATIVE_INVALID or GH_ERR_DECLARATIVE_UNSUPPORTED.
 */
export async function loadDeclarativeFile(
  path: string,
  options: LoadDeclarativeOptions = {},
): Promise<GatehouseConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw DeclarativeErrors.unreadable(`cannot read declarative config ${path}: ${(e as Error).message}`, e);
  }
  const doc = parseDeclarative(text, { filename: path });
  return toConfig(doc, { ...options, filename: path }).config;
}
