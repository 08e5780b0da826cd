/**
 * Test support: the bookstore test service (proto/gatehouse/testing/bookstore.proto) as the
 * base64 FileDescriptorSet a user would configure, built from the generated descriptors with
 * their imports (what `protoc --include_imports --descriptor_set_out` gives).
 */
import { create, toBinary, type DescFile } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { file_gatehouse_testing_bookstore } from './proto/gen/gatehouse/testing/bookstore_pb.js';

export * from './proto/gen/gatehouse/testing/bookstore_pb.js';

/** The files of `root` and everything it imports, dependencies first. */
function withImports(root: DescFile): DescFile[] {
  const out: DescFile[] = [];
  const visit = (f: DescFile): void => {
    if (out.includes(f)) return;
    for (const d of f.dependencies) visit(d);
    out.push(f);
  };
  visit(root);
  return out;
}

export function bookstoreDescriptorSet(): string {
  const set = create(FileDescriptorSetSchema, {
    file: withImports(file_gatehouse_testing_bookstore).map((f) => f.proto),
  });
  return Buffer.from(toBinary(FileDescriptorSetSchema, set)).toString('base64');
}
