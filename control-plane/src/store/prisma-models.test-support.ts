/** The models of schema.prisma as text (for tests that check the registry against the columns). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface PrismaColumn {
  name: string;
  /** `String`, `Int?`, `String[]`, a model name for relations. */
  type: string;
  /** The rest of the line (`@db.Uuid`, `@default(…)`, `@relation(…)`). */
  attributes: string;
}

export interface PrismaModel {
  name: string;
  /** The table (`@@map`). */
  table: string;
  columns: PrismaColumn[];
}

/** The models of control-plane/prisma/schema.prisma: name, table and field lines. */
export function prismaModels(): PrismaModel[] {
  const text = readFileSync(fileURLToPath(new URL('../../prisma/schema.prisma', import.meta.url)), 'utf8');
  return [...text.matchAll(/^model (\w+) \{([\s\S]*?)^\}/gm)].map(([, name, body]) => {
    const columns: PrismaColumn[] = [];
    let table = name!;
    for (const line of body!.split('\n').map((l) => l.trim())) {
      const map = /^@@map\("([^"]+)"\)/.exec(line);
      if (map) table = map[1]!;
      const field = /^(\w+)\s+(\S+)(.*)$/.exec(line);
      if (field && !line.startsWith('@@') && !line.startsWith('//'))
        columns.push({ name: field[1]!, type: field[2]!, attributes: field[3]! });
    }
    return { name: name!, table, columns };
  });
}
